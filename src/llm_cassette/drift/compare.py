"""Two recordings of one LLM call, compared as LLM calls: `same`, `reworded` or `changed`.

`compare_interactions(old, new)` reads both with `describe()` and lists what differs, by field
path (`response.tool_calls[0].arguments.city`, `request.messages[2].content`), each difference
classed on its own:

- ignored (volatile): ids, `created`, request ids, fingerprints, dates, timing, usage counts,
  every header, redacted values, the port of a loopback upstream;
- `reworded`: the assistant's text, string and number values of a structured (JSON) reply,
  provider error messages, embedding values;
- `changed`: everything a test could depend on: status, errors and cut streams, tool calls
  (names, argument keys and values), the JSON shape of a structured reply, stop reason, model,
  the stream's event types, the request the application sent.

The interaction's class is its worst difference's.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qsl, urlsplit

from ..core.models import Interaction
from ..describe import LLMView, Message, ToolCall, describe, sse_events

Verdict = Literal["same", "reworded", "changed"]
VERDICTS: tuple[Verdict, ...] = ("same", "reworded", "changed")

_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
# Keys of a JSON body that change on every call without meaning anything.
VOLATILE_KEYS = frozenset(
    {"id", "created", "created_at", "system_fingerprint", "request_id", "usage", "call_id", "tool_call_id",
     "service_tier", "date", "timestamp", "x_groq", "object_id"}
)  # fmt: skip
# SSE events that servers insert whenever they like (keep-alives).
_NOISE_EVENTS = frozenset({"ping", "keepalive", "heartbeat"})


def worst(verdicts: Iterator[Verdict] | list[Verdict]) -> Verdict:
    """The most severe of `verdicts` (`same` when there are none)."""
    return max(verdicts, key=VERDICTS.index, default="same")


@dataclass(frozen=True)
class Difference:
    """One field that differs, with what it was and what it is (both shortened for display)."""

    path: str
    verdict: Verdict
    old: str
    new: str

    def __str__(self) -> str:
        return f"{self.path}: {self.old} -> {self.new}"

    def to_json(self) -> dict[str, str]:
        return {"path": self.path, "verdict": self.verdict, "old": self.old, "new": self.new}


def compare_interactions(old: Interaction, new: Interaction) -> list[Difference]:
    """What differs between two recordings of the same call (empty: `same`)."""
    a, b = describe(old), describe(new)
    out = _Diffs()
    _compare_request(a, b, old, new, out)
    _compare_response(a, b, old, new, out)
    return out.items


def verdict_of(differences: list[Difference]) -> Verdict:
    return worst([d.verdict for d in differences])


class _Diffs:
    def __init__(self) -> None:
        self.items: list[Difference] = []

    def add(self, path: str, verdict: Verdict, old: Any, new: Any) -> None:
        self.items.append(Difference(path, verdict, short(old), short(new)))


def short(value: Any, limit: int = 60) -> str:
    """A value for a one-line summary: JSON-ish, cut to `limit` characters."""
    if isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
    elif value is None:
        text = "none"
    else:
        text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 2] + "…" + text[-1]


# --- request ----------------------------------------------------------------------------------


def url_key(url: str) -> tuple[str, str, int | None, str, tuple[tuple[str, str], ...]]:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    # A local test server listens on whatever port was free: not a difference.
    port = None if host in _LOOPBACK else parts.port
    return parts.scheme.lower(), host, port, parts.path.rstrip("/") or "/", tuple(sorted(parse_qsl(parts.query)))


def _compare_request(a: LLMView, b: LLMView, old: Interaction, new: Interaction, out: _Diffs) -> None:
    if a.method != b.method:
        out.add("request.method", "changed", a.method, b.method)
    if url_key(a.url) != url_key(b.url):
        out.add("request.url", "changed", a.url, b.url)
    if a.api == "other" or a.api != b.api:
        _compare_json_or_bytes("request.body", old.request.body, new.request.body, out, values="changed")
        return
    if a.model != b.model:
        out.add("request.model", "changed", a.model, b.model)
    _compare_messages(a.messages, b.messages, out)
    if a.tools != b.tools:
        out.add("request.tools", "changed", list(a.tools), list(b.tools))
    _compare_json("request", dict(a.params), dict(b.params), out, values="changed")


def _compare_messages(a: tuple[Message, ...], b: tuple[Message, ...], out: _Diffs) -> None:
    if len(a) != len(b):
        out.add("request.messages", "changed", f"{len(a)} messages", f"{len(b)} messages")
    for i, (ma, mb) in enumerate(zip(a, b, strict=False)):
        path = f"request.messages[{i}]"
        if ma.role != mb.role:
            out.add(f"{path}.role", "changed", ma.role, mb.role)
            continue
        if ma.content != mb.content:
            # An earlier reply sent back as history: rewording it is rewording, not a new request.
            out.add(f"{path}.content", "reworded" if ma.role == "assistant" else "changed", ma.content, mb.content)
        _compare_tool_calls(f"{path}.tool_calls", ma.tool_calls, mb.tool_calls, out)


# --- response ---------------------------------------------------------------------------------


def _compare_response(a: LLMView, b: LLMView, old: Interaction, new: Interaction, out: _Diffs) -> None:
    if (old.error is None) != (new.error is None) or a.status != b.status:
        out.add("response.status", "changed", _outcome(a), _outcome(b))
        _compare_error(a, b, out)
        return  # a different outcome: what the reply said no longer compares
    _compare_error(a, b, out)
    if a.streamed != b.streamed:
        out.add("response.streamed", "changed", a.streamed, b.streamed)
    if a.complete != b.complete:
        out.add("response.complete", "changed", a.complete, b.complete)
    if a.cut != b.cut:
        out.add("response.cut", "changed", a.cut, b.cut)
    if old.response is None or new.response is None:
        return
    if a.response_model != b.response_model:
        out.add("response.model", "changed", a.response_model, b.response_model)
    if a.stop_reason != b.stop_reason:
        out.add("response.stop_reason", "changed", a.stop_reason, b.stop_reason)
    if a.streamed and b.streamed:
        ea, eb = event_types(old), event_types(new)
        if ea != eb:
            out.add("response.events", "changed", " ".join(ea), " ".join(eb))
    _compare_tool_calls("response.tool_calls", a.tool_calls, b.tool_calls, out)
    _compare_reply_text(a.reply_text, b.reply_text, out)
    if a.embeddings != b.embeddings:
        out.add("response.embeddings", "changed", a.embeddings, b.embeddings)
    if a.dimensions != b.dimensions:
        out.add("response.dimensions", "changed", a.dimensions, b.dimensions)
    if a.api == "embeddings":
        _compare_json_or_bytes("response.body", old.response.content, new.response.content, out, values="reworded")
    elif a.provider == "unknown" and a.error is None and b.error is None:
        _compare_json_or_bytes("response.body", old.response.content, new.response.content, out, values="changed")


def _outcome(view: LLMView) -> str:
    if view.status is not None:
        return str(view.status)
    return f"{view.error.type} (no response)" if view.error is not None else "no response"


def _compare_error(a: LLMView, b: LLMView, out: _Diffs) -> None:
    ea, eb = a.error, b.error
    if ea is None and eb is None:
        return
    if ea is None or eb is None or (ea.kind, ea.type) != (eb.kind, eb.type):
        out.add("response.error", "changed", ea.summary() if ea else None, eb.summary() if eb else None)
    elif ea.message != eb.message:
        out.add("response.error.message", "reworded", ea.message, eb.message)


def event_types(it: Interaction) -> list[str]:
    """The kinds of the streamed events, repeats collapsed (`message_start content_block_delta ...`)."""
    resp = it.response
    if resp is None or resp.chunks is None:
        return []
    kinds: list[str] = []
    for event in sse_events(resp.content):
        kind = event.event
        if kind is None:
            try:
                payload = json.loads(event.data)
            except ValueError:
                payload = None
            if isinstance(payload, dict):
                kind = str(payload.get("type") or payload.get("object") or "data")
            else:
                kind = event.data.strip() if event.data.strip() == "[DONE]" else "data"
        if kind in _NOISE_EVENTS or (kinds and kinds[-1] == kind):
            continue
        kinds.append(kind)
    return kinds


def _compare_tool_calls(path: str, a: tuple[ToolCall, ...], b: tuple[ToolCall, ...], out: _Diffs) -> None:
    if len(a) != len(b):
        out.add(path, "changed", [c.name for c in a], [c.name for c in b])
    for i, (ca, cb) in enumerate(zip(a, b, strict=False)):
        if ca.name != cb.name:
            out.add(f"{path}[{i}].name", "changed", ca.name, cb.name)
            continue
        pa, pb = ca.parsed_arguments(), cb.parsed_arguments()
        if pa is not None and pb is not None:
            _compare_json(f"{path}[{i}].arguments", pa, pb, out, values="changed")
        elif ca.arguments != cb.arguments:
            out.add(f"{path}[{i}].arguments", "changed", ca.arguments, cb.arguments)


def _compare_reply_text(a: str, b: str, out: _Diffs) -> None:
    if a == b:
        return
    ja, jb = _json_value(a), _json_value(b)
    if isinstance(ja, (dict, list)) and isinstance(jb, (dict, list)):
        # A structured reply: its shape is what code parses; string and number values are wording.
        _compare_json("response.json", ja, jb, out, values="reworded")
    elif isinstance(ja, (dict, list)) or isinstance(jb, (dict, list)):
        out.add("response.text", "changed", a, b)  # JSON became prose, or the other way round
    else:
        out.add("response.text", "reworded", a, b)


# --- JSON, field by field ---------------------------------------------------------------------

_Values = Literal["reworded", "changed"]


def _compare_json(path: str, a: Any, b: Any, out: _Diffs, *, values: _Values) -> None:
    """Walk two JSON values; keys, types and list lengths are shape (`changed`), the rest `values`."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in [*a, *(k for k in b if k not in a)]:
            if key in VOLATILE_KEYS:
                continue
            sub = f"{path}.{key}"
            if key not in b:
                out.add(sub, "changed", a[key], "(absent)")
            elif key not in a:
                out.add(sub, "changed", "(absent)", b[key])
            else:
                _compare_json(sub, a[key], b[key], out, values=values)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            out.add(path, "changed", f"{len(a)} items", f"{len(b)} items")
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            _compare_json(f"{path}[{i}]", x, y, out, values=values)
    elif _kind(a) != _kind(b):
        out.add(path, "changed", a, b)
    elif a != b:
        out.add(path, values if isinstance(a, (str, int, float)) and not isinstance(a, bool) else "changed", a, b)


def _kind(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return repr(value) if value is None else "bool"
    if isinstance(value, (int, float)):
        return "number"
    return type(value).__name__


def _json_value(text: str) -> Any:
    stripped = text.strip()
    if not stripped or stripped[0] not in "{[":
        return None
    try:
        return json.loads(stripped)
    except ValueError:
        return None


def _compare_json_or_bytes(path: str, a: bytes, b: bytes, out: _Diffs, *, values: _Values) -> None:
    if a == b:
        return
    ja, jb = _json_value(a.decode("utf-8", "replace")), _json_value(b.decode("utf-8", "replace"))
    if ja is not None and jb is not None:
        _compare_json(path, ja, jb, out, values=values)
    else:
        out.add(path, values, a.decode("utf-8", "replace"), b.decode("utf-8", "replace"))
