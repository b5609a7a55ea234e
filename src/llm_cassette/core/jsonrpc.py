"""JSON-RPC 2.0 (the wire format of MCP): a request's `id` is a counter, not meaning.

Requests are matched without their ids (`BodyMatcher` drops them), so calls replay in any order;
the replayed answer must then carry the id the client actually sent, or the client waits forever
for a reply to its own id. `answer_with_sent_ids` rewrites a recorded response for the request it
answers, in JSON bodies and SSE `data:` lines alike, byte for byte except the id itself.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any

from .models import Chunk, Interaction, Request, Response

_ID = b'"id"'
# Searched for with `bytes.find`: `in` first tries the needle as an int and raises and clears a
# TypeError inside, which costs more than the search itself on every request.


def is_request(value: Any) -> bool:
    """A JSON-RPC request or notification object."""
    return isinstance(value, dict) and value.get("jsonrpc") == "2.0" and isinstance(value.get("method"), str)


def _is_response(value: Any) -> bool:
    return isinstance(value, dict) and value.get("jsonrpc") == "2.0" and "id" in value and "method" not in value


def without_ids(value: Any) -> Any:
    """A JSON-RPC request (or batch) without its ids; any other value unchanged."""
    if is_request(value):
        return {k: v for k, v in value.items() if k != "id"}
    if isinstance(value, list) and value and all(is_request(v) for v in value):
        return [without_ids(v) for v in value]
    return value


def request_ids(body: bytes) -> list[Any]:
    """The ids of a JSON-RPC request body (or batch), in order; [] for anything else."""
    if body.find(_ID) < 0:
        return []
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return []
    items = value if isinstance(value, list) else [value]
    if not all(is_request(v) for v in items):
        return []
    return [v["id"] for v in items if "id" in v]


def is_response_event(data: bytes) -> bool:
    """Whether SSE text ends with an event whose data is a JSON-RPC response (the stream's answer)."""
    events = data.replace(b"\r\n", b"\n").rstrip(b"\n").split(b"\n\n")
    lines = [line[5:].strip() for line in events[-1].split(b"\n") if line.startswith(b"data:")]
    if not lines:
        return False
    try:
        return _is_response(json.loads(b"\n".join(lines)))
    except (ValueError, UnicodeDecodeError, RecursionError):
        return False


def _with_id(value: Any, index: int | None, new_id: Any) -> Any:
    if index is None:
        return {**value, "id": new_id}
    return [({**v, "id": new_id} if i == index else v) for i, v in enumerate(value)]


def rewrite_message(text: bytes, ids: dict[str, Any]) -> bytes:
    """One JSON text with each response id found in `ids` (keyed by its recorded JSON) replaced.

    The id is replaced where it stands, so every other byte is kept; a position is taken only if
    the result parses to exactly the response with its new id (never a nested "id" field).
    """
    try:
        value = json.loads(text)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return text
    items = list(enumerate(value)) if isinstance(value, list) else [(None, value)]
    for index, item in items:
        if not _is_response(item):
            continue
        old = json.dumps(item["id"])
        if old not in ids or ids[old] == item["id"]:
            continue
        want = _with_id(value, index, ids[old])
        new = json.dumps(ids[old]).encode()
        for found in re.finditer(rb'("id"\s*:\s*)' + re.escape(old.encode()), text):
            candidate = text[: found.start(1)] + found.group(1) + new + text[found.end() :]
            if json.loads(candidate) == want:
                text = candidate
                break
        else:  # not found in place (an escaped form): the message rebuilt, compact
            text = json.dumps(want, separators=(",", ":"), ensure_ascii=False).encode()
        value = want
    return text


def _rewrite_sse(data: bytes, ids: dict[str, Any]) -> bytes:
    if _ID not in data:
        return data
    lines = data.split(b"\n")
    for i, line in enumerate(lines):
        if line.startswith(b"data:") and _ID in line:
            cr = b"\r" if line.endswith(b"\r") else b""
            payload = line[5 : len(line) - len(cr)]
            space = payload[: len(payload) - len(payload.lstrip())]
            lines[i] = b"data:" + space + rewrite_message(payload.strip(), ids) + cr
    return b"\n".join(lines)


def answer_with_sent_ids(interaction: Interaction, sent: Request) -> Interaction:
    """The recorded `interaction` answering with the JSON-RPC ids of `sent` (itself when they agree)."""
    resp = interaction.response
    if resp is None or sent.body.find(_ID) < 0:
        return interaction
    recorded_ids = request_ids(interaction.request.body)
    sent_ids = request_ids(sent.body)
    if not recorded_ids or sent_ids == recorded_ids or len(sent_ids) != len(recorded_ids):
        return interaction
    ids = {json.dumps(r): s for r, s in zip(recorded_ids, sent_ids, strict=True)}
    sse = resp.content_type == "text/event-stream"

    def rewrite(data: bytes) -> bytes:
        return _rewrite_sse(data, ids) if sse else rewrite_message(data, ids)

    new: Response
    if resp.chunks is not None:
        new = replace(resp, chunks=tuple(Chunk(rewrite(c.data), c.t) for c in resp.chunks))
    else:
        body = rewrite(resp.body)
        headers = tuple((k, str(len(body)) if k.lower() == "content-length" else v) for k, v in resp.headers)
        new = replace(resp, body=body, headers=headers)
    return replace(interaction, response=new)
