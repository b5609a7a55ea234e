"""Reading a cassette: parsed YAML validated into plain data, every problem named by file and line."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from types import ModuleType
from typing import Any

from ..core.models import CassetteData, Chunk, Headers, Interaction, Request, Response, TransportFailure
from ..errors import CassetteFormatError
from . import block_reader
from .limits import MAX_DEPTH, TooDeep, excerpt, quoted
from .yaml_format import FORMAT_VERSION, READABLE_VERSIONS, events_bytes, json_bytes

# --- loading ----------------------------------------------------------------------------------


class _Invalid(Exception):
    def __init__(self, path: Sequence[str | int], message: str) -> None:
        super().__init__(message)
        self.path = list(path)
        self.message = message


def _expect(value: Any, kind: type | tuple[type, ...], path: Sequence[str | int], what: str) -> Any:
    if isinstance(value, bool) and kind in (int, float, (int, float)):
        raise _Invalid(path, f"{what} must be a number, not {excerpt(value)}")
    if not isinstance(value, kind):
        raise _Invalid(path, f"{what} must be {_kind_name(kind)}, not {excerpt(value)}")
    return value


def _kind_name(kind: type | tuple[type, ...]) -> str:
    names = {dict: "a mapping", list: "a list", str: "a string", int: "an integer", float: "a number"}
    if isinstance(kind, tuple):
        return " or ".join(names.get(k, k.__name__) for k in kind)
    return names.get(kind, kind.__name__)


def _check_keys(m: dict[str, Any], allowed: set[str], path: list[str | int], what: str) -> None:
    for key in m:
        if key not in allowed:
            raise _Invalid([*path, key], f"unknown key {quoted(key)} in {what} (expected one of {sorted(allowed)})")


def _headers_from(value: Any, path: list[str | int]) -> Headers:
    _expect(value, dict, path, "headers")
    out: list[tuple[str, str]] = []
    for name, v in value.items():
        if not isinstance(name, str):
            raise _Invalid(path, f"header name must be a string, not {excerpt(name)}")
        if isinstance(v, list):
            for i, item in enumerate(v):
                out.append((name, _expect(item, str, [*path, name, i], f"header {quoted(name)}")))
        else:
            out.append((name, _expect(v, str, [*path, name], f"header {quoted(name)}")))
    return tuple(out)


def _body_from(value: Any, path: list[str | int], *, chunk: bool = False) -> bytes:
    _expect(value, dict, path, "a body")
    keys = {"t", "text", "line_ends", "base64"} if chunk else {"json", "json_style", "text", "line_ends", "base64"}
    _check_keys(value, keys, path, "a chunk" if chunk else "a body")
    kinds = [k for k in ("json", "text", "base64") if k in value]
    if len(kinds) != 1:
        raise _Invalid(path, "a body needs exactly one of `json`, `text`, `base64`")
    kind = kinds[0]
    if kind == "json":
        style = _expect(value.get("json_style", "compact"), str, [*path, "json_style"], "json_style")
        try:
            return json_bytes(value["json"], style)
        except (ValueError, TypeError) as exc:
            raise _Invalid([*path, "json"], f"body is not valid JSON data: {exc}") from None
    if kind == "text":
        text = str(_expect(value["text"], str, [*path, "text"], "text"))
        if "line_ends" in value:
            line_ends = _expect(value["line_ends"], str, [*path, "line_ends"], "line_ends")
            if line_ends != "crlf":
                raise _Invalid([*path, "line_ends"], f"line_ends must be 'crlf', not {line_ends!r}")
            text = text.replace("\n", "\r\n")
        return text.encode("utf-8")
    raw = _expect(value["base64"], str, [*path, "base64"], "base64")
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise _Invalid([*path, "base64"], "invalid base64") from None


def _number(value: Any, path: list[str | int], what: str) -> float:
    return float(_expect(value, (int, float), path, what))


def _failure_from(value: Any, path: list[str | int]) -> TransportFailure:
    _expect(value, dict, path, "error")
    _check_keys(value, {"type", "message", "t"}, path, "error")
    if "type" not in value:
        raise _Invalid(path, "error needs a `type` (an exception class name such as ReadTimeout)")
    return TransportFailure(
        type=_expect(value["type"], str, [*path, "type"], "error type"),
        message=_expect(value.get("message", ""), str, [*path, "message"], "error message"),
        t=_number(value.get("t", 0), [*path, "t"], "t"),
    )


def _request_from(value: Any, path: list[str | int]) -> Request:
    _expect(value, dict, path, "request")
    _check_keys(value, {"method", "url", "headers", "body"}, path, "request")
    for key in ("method", "url"):
        if key not in value:
            raise _Invalid(path, f"request is missing `{key}`")
    return Request(
        method=_expect(value["method"], str, [*path, "method"], "method").upper(),
        url=_expect(value["url"], str, [*path, "url"], "url"),
        headers=_headers_from(value["headers"], [*path, "headers"]) if "headers" in value else (),
        body=_body_from(value["body"], [*path, "body"]) if "body" in value else b"",
    )


_EVENT_KEYS = {"event", "data", "json_style"}


def _chunk_from(value: Any, path: list[str | int], version: int) -> bytes:
    """A chunk's bytes: `text`/`base64` (every version), or SSE events `data`/`events` (version 2)."""
    _expect(value, dict, path, "a chunk")
    if "data" not in value and "events" not in value:
        return _body_from(value, path, chunk=True)
    if version < 2:
        key = "data" if "data" in value else "events"
        raise _Invalid([*path, key], f"a version {version} cassette cannot hold `{key}` chunks (version 2 can)")
    if "events" in value:
        _check_keys(value, {"t", "events"}, path, "a chunk of events")
        events = _expect(value["events"], list, [*path, "events"], "events")
        for i, event in enumerate(events):
            _check_event(event, [*path, "events", i], _EVENT_KEYS)
    else:
        _check_event(value, path, {"t", *_EVENT_KEYS})
    try:
        return events_bytes(value)
    except (ValueError, TypeError) as exc:
        raise _Invalid(path, f"event data is not valid JSON data: {exc}") from None


def _check_event(value: Any, path: list[str | int], allowed: set[str]) -> None:
    _expect(value, dict, path, "an event")
    _check_keys(value, allowed, path, "an event")
    if "data" not in value:
        raise _Invalid(path, "an event needs `data`")
    if "event" in value:
        _expect(value["event"], str, [*path, "event"], "event")
    if "json_style" in value:
        _expect(value["json_style"], str, [*path, "json_style"], "json_style")


def _response_from(value: Any, path: list[str | int], version: int = FORMAT_VERSION) -> Response:
    _expect(value, dict, path, "response")
    _check_keys(value, {"status", "headers", "t", "body", "chunks", "error", "cut"}, path, "response")
    if "status" not in value:
        raise _Invalid(path, "response is missing `status`")
    status = _expect(value["status"], int, [*path, "status"], "status")
    if not 100 <= status <= 999:
        raise _Invalid([*path, "status"], f"status {status} is not an HTTP status code")
    if "body" in value and "chunks" in value:
        raise _Invalid(path, "a response has `body` or `chunks`, not both")
    chunks: tuple[Chunk, ...] | None = None
    if "chunks" in value:
        items = _expect(value["chunks"], list, [*path, "chunks"], "chunks")
        chunks = tuple(
            Chunk(
                data=_chunk_from(c, [*path, "chunks", i], version),
                t=_number(c.get("t", 0), [*path, "chunks", i, "t"], "t"),
            )
            for i, c in enumerate(items)
        )
    cut = _expect(value.get("cut", False), bool, [*path, "cut"], "cut")
    return Response(
        status=status,
        headers=_headers_from(value["headers"], [*path, "headers"]) if "headers" in value else (),
        body=_body_from(value["body"], [*path, "body"]) if "body" in value else b"",
        chunks=chunks,
        error=_failure_from(value["error"], [*path, "error"]) if "error" in value else None,
        cut=cut,
        t=_number(value.get("t", 0), [*path, "t"], "t"),
    )


def _interaction_from(value: Any, path: list[str | int], version: int = FORMAT_VERSION) -> Interaction:
    _expect(value, dict, path, "an interaction")
    keys = {"request", "response", "error"} | ({"recorded_at"} if version >= 2 else set())
    _check_keys(value, keys, path, "an interaction")
    if "request" not in value:
        raise _Invalid(path, "interaction is missing `request`")
    if ("response" in value) == ("error" in value):
        raise _Invalid(path, "an interaction needs exactly one of `response` and `error`")
    return Interaction(
        request=_request_from(value["request"], [*path, "request"]),
        response=_response_from(value["response"], [*path, "response"], version) if "response" in value else None,
        error=_failure_from(value["error"], [*path, "error"]) if "error" in value else None,
        recorded_at=_recorded_at(value["recorded_at"], [*path, "recorded_at"]) if "recorded_at" in value else None,
    )


def _recorded_at(value: Any, path: list[str | int]) -> str:
    """An ISO 8601 time; YAML reads an unquoted one as a datetime, which is fine too."""
    if isinstance(value, datetime):
        stamp = value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)
        return stamp.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    text = _expect(value, str, path, "recorded_at")
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise _Invalid(
            path, f"recorded_at must be an ISO 8601 time such as 2026-12-01T10:31:07Z, not {text!r}"
        ) from None
    return str(text)


def from_document(doc: Any, *, consume: bool = False) -> CassetteData:
    """Validate a parsed YAML document and turn it into plain data (raises `_Invalid`).

    `consume`: let go of each interaction of the document once turned into data, so that a large
    cassette's document and its data are not both held whole (peak memory)."""
    if doc is None:
        raise _Invalid([], "the file is empty")
    if not isinstance(doc, dict):  # the whole file is this value: quote nothing of it
        kind = excerpt(doc).split(" '")[0]
        raise _Invalid([], f"the top level must be a mapping, not {kind} (this is not a cassette)")
    _check_keys(doc, {"version", "interactions"}, [], "the top level")
    if "version" not in doc:
        raise _Invalid([], "missing `version` (this file may not be an llm-cassette cassette)")
    version = doc["version"]
    if type(version) is not int:  # `1.0`, `"1"` and `true` are not `1`
        raise _Invalid(["version"], f"version must be the integer {FORMAT_VERSION}, not {excerpt(version)}")
    if version not in READABLE_VERSIONS:
        readable = " and ".join(str(v) for v in READABLE_VERSIONS)
        raise _Invalid(
            ["version"],
            f"unknown cassette format version {version} (this llm-cassette reads versions "
            f"{readable}; upgrade llm-cassette or re-record)",
        )
    items = _expect(doc.get("interactions", []), list, ["interactions"], "interactions")
    interactions = []
    for i, v in enumerate(items):
        try:
            interactions.append(_plain_interaction(v, version))
        except Exception:  # anything unusual, or wrong: the full checks below, and their error
            interactions.append(_interaction_from(v, ["interactions", i], version))
        if consume:
            items[i] = None
    return CassetteData(interactions=interactions, version=version)


# --- the same, fast, for what llm-cassette writes -------------------------------------------------
# `_plain_interaction` builds exactly what `_interaction_from` builds, without its error paths, for
# the common shapes; for anything else it raises (any exception) and `from_document` runs the full
# checks on that interaction, which give the error, or the same value by the longer way.

_INTERACTION_KEYS = {1: frozenset({"request", "response"}), 2: frozenset({"request", "response", "recorded_at"})}
_REQUEST_KEYS = frozenset({"method", "url", "headers", "body"})
_RESPONSE_KEYS = frozenset({"status", "headers", "t", "body", "chunks", "cut"})


class _Unusual(Exception):
    pass


def _plain_interaction(value: Any, version: int) -> Interaction:
    if value.__class__ is not dict or not value.keys() <= _INTERACTION_KEYS[version]:
        raise _Unusual
    req = value["request"]
    if req.__class__ is not dict or not req.keys() <= _REQUEST_KEYS:
        raise _Unusual
    method, url = req["method"], req["url"]
    if method.__class__ is not str or url.__class__ is not str:
        raise _Unusual
    request = Request(
        method=method.upper(),
        url=url,
        headers=_plain_headers(req["headers"]) if "headers" in req else (),
        body=_plain_body(req["body"]) if "body" in req else b"",
    )
    resp = value["response"]
    if resp.__class__ is not dict or not resp.keys() <= _RESPONSE_KEYS:
        raise _Unusual
    status, cut, t = resp["status"], resp.get("cut", False), resp.get("t", 0)
    if status.__class__ is not int or not 100 <= status <= 999 or cut.__class__ is not bool:
        raise _Unusual
    chunks = None
    if "chunks" in resp:
        if "body" in resp or resp["chunks"].__class__ is not list:
            raise _Unusual
        chunks = tuple(Chunk(data=_chunk_from(c, [], version), t=_plain_number(c.get("t", 0))) for c in resp["chunks"])
    response = Response(
        status=status,
        headers=_plain_headers(resp["headers"]) if "headers" in resp else (),
        body=_plain_body(resp["body"]) if "body" in resp else b"",
        chunks=chunks,
        error=None,
        cut=cut,
        t=_plain_number(t),
    )
    recorded_at = _recorded_at(value["recorded_at"], []) if "recorded_at" in value else None
    return Interaction(request=request, response=response, error=None, recorded_at=recorded_at)


def _plain_number(value: Any) -> float:
    if value.__class__ is not int and value.__class__ is not float:
        raise _Unusual
    return float(value)


def _plain_headers(value: Any) -> Headers:
    if value.__class__ is not dict:
        raise _Unusual
    out: list[tuple[str, str]] = []
    for name, v in value.items():
        if name.__class__ is not str:
            raise _Unusual
        if v.__class__ is str:
            out.append((name, v))
        elif v.__class__ is list and all(item.__class__ is str for item in v):
            out.extend((name, item) for item in v)
        else:
            raise _Unusual
    return tuple(out)


def _plain_body(value: Any) -> bytes:
    if value.__class__ is dict and len(value) == 1:
        if "json" in value:
            return json_bytes(value["json"])
        text = value.get("text")
        if text.__class__ is str:
            return str(text).encode("utf-8")
    return _body_from(value, [])


def line_of(text: str, path: Sequence[str | int]) -> int | None:
    """1-based line of the node at `path`, found by composing the document with marks."""
    line: int | None = _fast_loader().line_of(text, path)
    return line


def _fast_loader() -> ModuleType:
    """`fast_loader`, imported (and PyYAML with it) the first time a text needs it, then kept: this
    module's own, so that a second copy of the format (tests/test_roundtrip_fuzz.py builds one
    without libyaml) keeps the reader it was built with."""
    global _full_parser
    if _full_parser is None:
        from . import fast_loader

        _full_parser = fast_loader
    return _full_parser


_full_parser: ModuleType | None = None


def _parse(text: str | bytes) -> Any:
    """The YAML document in `text`: our writer's block YAML without PyYAML, anything else with it."""
    try:
        return block_reader.read(text)
    except block_reader.Unusual:
        return _fast_loader().parse_unusual(text)


def loads(text: str | bytes, path: Path | str | None = None) -> CassetteData:
    """Parse cassette text. Raises `CassetteFormatError` with file and line."""
    try:
        doc = _parse(text)
    except TooDeep as exc:
        raise CassetteFormatError(path, f"nested more than {MAX_DEPTH} levels deep", exc.line) from None
    except Exception as exc:
        found = _fast_loader().problem(exc, text)
        if found is None:
            raise
        raise CassetteFormatError(path, *found) from None
    try:
        return from_document(doc, consume=True)
    except _Invalid as exc:
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        where = ".".join(str(p) for p in exc.path)
        message = f"{exc.message} (at {where})" if where else exc.message
        raise CassetteFormatError(path, message, line_of(text, exc.path)) from None
