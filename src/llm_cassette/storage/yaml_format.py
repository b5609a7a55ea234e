"""The cassette file format, version 2, written: plain data to YAML text, byte-exact.

A body is written as structured YAML when it is JSON that re-serialises to exactly the recorded
bytes (`json:` plus the `json_style` needed to rebuild them), as text when it is UTF-8 (block style
when multi-line), and as base64 otherwise. Streamed bodies are a list of chunks, one item per chunk
the transport delivered, each with its time offset; a chunk of SSE events whose `data:` is JSON is
written as those events (`event`, `data`), again only when they rebuild the exact bytes. Each
interaction says when it was recorded. See docs/cassette-format.md. Reading (versions 1 and 2) is
`schema.py`; parsing `fast_loader.py`.
"""

from __future__ import annotations

import base64
import json
import re
from json.encoder import c_make_encoder, encode_basestring, encode_basestring_ascii  # type: ignore[attr-defined]
from typing import TYPE_CHECKING, Any

from ..core.models import CassetteData, Headers, Interaction, TransportFailure
from .limits import MAX_DEPTH, json_depth

if TYPE_CHECKING:
    import yaml

FORMAT_VERSION = 2
#: The versions `schema` reads; an older file is rewritten in FORMAT_VERSION when next recorded.
READABLE_VERSIONS = (1, 2)


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    # NEL and the Unicode line/paragraph separators are line breaks to a YAML reader: PyYAML's
    # pure-Python emitter writes them raw outside double quotes, and they come back as "\n".
    if "\x85" in data or "\u2028" in data or "\u2029" in data:
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style='"')
    # Multi-line text reads best as a block scalar; the emitter falls back to a quoted style
    # whenever block style could not round-trip the exact string.
    if "\n" in data and len(data) > 1:
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", data)


_dumper_class: Any = None


def yaml_dumper() -> Any:
    """The YAML dumper every cassette is written with (libyaml's emitter when present), made the
    first time one is written: reading needs this module's body codecs, not PyYAML."""
    global _dumper_class
    if _dumper_class is None:
        import yaml

        class Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
            def ignore_aliases(self, data: Any) -> bool:
                return True

        Dumper.add_representer(str, _represent_str)
        _dumper_class = Dumper
    return _dumper_class


# --- bodies -----------------------------------------------------------------------------------

_JSON_STYLES: dict[str, dict[str, Any]] = {
    "compact": {"separators": (",", ":"), "ensure_ascii": False},
    "compact-ascii": {"separators": (",", ":"), "ensure_ascii": True},
    "spaced": {"ensure_ascii": True},
    "spaced-unicode": {"ensure_ascii": False},
    "indent2": {"indent": 2, "ensure_ascii": False},
    "indent2-ascii": {"indent": 2, "ensure_ascii": True},
}
_NEWLINE = "+newline"


def json_bytes(value: Any, style: str = "compact") -> bytes:
    """Serialise `value` in a named JSON style (the inverse of how a body was recognised)."""
    newline = style.endswith(_NEWLINE)
    base = style[: -len(_NEWLINE)] if newline else style
    try:
        encode = _ENCODERS[base]
    except KeyError:
        raise ValueError(f"unknown json_style {style!r}") from None
    text: str = encode(value)
    return (text + "\n" if newline else text).encode("utf-8")


def _encoder(kwargs: dict[str, Any]) -> Any:
    """`json.dumps(value, allow_nan=False, **kwargs)` as one function, built once: the C encoder
    `JSONEncoder.encode` builds per call where it would use one. Without cycle markers, which only
    a value built from YAML aliases could need, and a cassette refuses those."""
    encoder = json.JSONEncoder(allow_nan=False, **kwargs)
    if c_make_encoder is None or encoder.indent is not None:
        return encoder.encode
    encode_string = encode_basestring_ascii if encoder.ensure_ascii else encode_basestring
    chunks = c_make_encoder(
        None, encoder.default, encode_string, None, encoder.key_separator, encoder.item_separator, False, False, False
    )
    return lambda value: "".join(chunks(value, 0))


_ENCODERS = {name: _encoder(kwargs) for name, kwargs in _JSON_STYLES.items()}


def _as_json(raw: bytes) -> tuple[Any, str] | None:
    """(value, style) when `raw` is JSON that one of our styles reproduces byte for byte."""
    if not raw or raw[:1] not in b"{[":
        return None
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    if json_depth(value) > MAX_DEPTH - 10:  # as YAML it must load back under MAX_DEPTH: keep it text
        return None
    body, suffix = (raw[:-1], _NEWLINE) if raw.endswith(b"\n") else (raw, "")
    style = next((name for name, kwargs in _JSON_STYLES.items() if _reproduces(value, kwargs, body)), None)
    # The value itself must survive YAML, which cannot carry lone surrogates or a BOM.
    if style is None or _YAML_UNSAFE.search(json.dumps(value, ensure_ascii=False)):
        return None
    return value, style + suffix


def _reproduces(value: Any, kwargs: dict[str, Any], raw: bytes) -> bool:
    try:
        return json.dumps(value, allow_nan=False, **kwargs).encode("utf-8") == raw
    except (ValueError, UnicodeEncodeError):  # NaN/Infinity; lone surrogates in a non-ASCII style
        return False


_YAML_UNSAFE = re.compile("[\ud800-\udfff\ufeff]")


def _as_text(raw: bytes) -> str | None:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    # Characters YAML cannot carry even quoted would not survive; keep those bodies as base64.
    if _YAML_UNSAFE.search(text):
        return None
    return text


def body_to_yaml(raw: bytes, *, allow_json: bool = True) -> dict[str, Any]:
    """The on-disk mapping for a body: {json, json_style?} | {text, line_ends?} | {base64}."""
    if allow_json:
        found = _as_json(raw)
        if found is not None:
            value, style = found
            out: dict[str, Any] = {"json": value}
            if style != "compact":
                out["json_style"] = style
            return out
    text = _as_text(raw)
    if text is not None:
        if "\r" in text and text.count("\r\n") == text.count("\r") == text.count("\n"):
            # Every line ends in CRLF (Google's and sse-starlette's SSE): a readable block, marked.
            return {"text": text.replace("\r\n", "\n"), "line_ends": "crlf"}
        return {"text": text}
    return {"base64": base64.b64encode(raw).decode("ascii")}


# --- streamed chunks -------------------------------------------------------------------------


def chunk_to_yaml(raw: bytes) -> dict[str, Any]:
    """A chunk's mapping (without `t`): its SSE events when they rebuild it exactly, else a body."""
    events = events_to_yaml(raw) if raw.startswith((b"data: ", b"event: ")) else None
    return events if events is not None else body_to_yaml(raw, allow_json=False)


_EVENT = re.compile(rb"(?:event: ([^\r\n:]*)\n)?data: ([^\r\n]*)\n\n")
SINGLE_LINE_STYLES = frozenset({"compact", "compact-ascii", "spaced", "spaced-unicode"})
EVENT_KEYS = frozenset({"event", "data", "json_style"})


def _event_to_yaml(name: bytes | None, data: bytes) -> dict[str, Any] | None:
    found = _as_json(data)
    if found is None or found[1] not in SINGLE_LINE_STYLES:
        return None
    value, style = found
    out: dict[str, Any] = {}
    if name is not None:
        try:
            out["event"] = name.decode("utf-8")
        except UnicodeDecodeError:
            return None
    out["data"] = value
    if style != "compact":
        out["json_style"] = style
    return out


def events_to_yaml(raw: bytes) -> dict[str, Any] | None:
    """`{event?, data, json_style?}` for a chunk of one event, `{events: [...]}` for several, else None."""
    events: list[dict[str, Any]] = []
    pos = 0
    while pos < len(raw):
        m = _EVENT.match(raw, pos)
        if m is None:
            return None
        event = _event_to_yaml(m.group(1), m.group(2))
        if event is None:
            return None
        events.append(event)
        pos = m.end()
    if not events:
        return None
    out = events[0] if len(events) == 1 else {"events": events}
    try:
        exact = events_bytes(out) == raw
    except ValueError:
        exact = False
    return out if exact else None


def event_bytes(event: dict[str, Any]) -> bytes:
    """One stored event's bytes (raises ValueError/TypeError for data that is not JSON)."""
    name = event.get("event")
    head = f"event: {name}\n".encode() if name is not None else b""
    style = event.get("json_style", "compact")
    if style not in SINGLE_LINE_STYLES:
        raise ValueError(f"json_style {style!r} cannot be used in an SSE event (one line only)")
    return head + b"data: " + json_bytes(event["data"], style) + b"\n\n"


def events_bytes(value: dict[str, Any]) -> bytes:
    """The bytes of a chunk stored as events (the inverse of `events_to_yaml`)."""
    if "events" in value:
        return b"".join(event_bytes(e) for e in value["events"])
    return event_bytes(value)


def headers_to_yaml(headers: Headers) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in headers:
        key = name.lower()
        if key in out:
            prev = out[key]
            out[key] = [*prev, value] if isinstance(prev, list) else [prev, value]
        else:
            out[key] = value
    return out


def _ms(t: float) -> float | int:
    r = round(t, 1)
    return int(r) if r == int(r) else r


def _failure_to_yaml(f: TransportFailure) -> dict[str, Any]:
    return {"type": f.type, "message": f.message, "t": _ms(f.t)}


def interaction_to_yaml(it: Interaction) -> dict[str, Any]:
    req = it.request
    rq: dict[str, Any] = {"method": req.method, "url": req.url}
    if req.headers:
        rq["headers"] = headers_to_yaml(req.headers)
    if req.body:
        rq["body"] = body_to_yaml(req.body)
    out: dict[str, Any] = {"recorded_at": it.recorded_at} if it.recorded_at else {}
    out["request"] = rq
    if it.error is not None:
        out["error"] = _failure_to_yaml(it.error)
        return out
    resp = it.response
    assert resp is not None
    rs: dict[str, Any] = {"status": resp.status}
    if resp.headers:
        rs["headers"] = headers_to_yaml(resp.headers)
    rs["t"] = _ms(resp.t)
    if resp.chunks is not None:
        rs["chunks"] = [{"t": _ms(c.t), **chunk_to_yaml(c.data)} for c in resp.chunks]
    elif resp.body:
        rs["body"] = body_to_yaml(resp.body)
    if resp.error is not None:
        rs["error"] = _failure_to_yaml(resp.error)
    if resp.cut:
        rs["cut"] = True
    out["response"] = rs
    return out


def dumps(data: CassetteData) -> str:
    """The YAML text of a cassette."""
    interactions = [interaction_to_yaml(i) for i in data.interactions]
    return dump_document({"version": FORMAT_VERSION, "interactions": interactions})


def dump_document(doc: Any, width: int = 4096) -> str:
    """Plain data as YAML text, the way every cassette is written."""
    import yaml  # imported by `yaml_dumper()`

    text: str = yaml.dump(doc, Dumper=yaml_dumper(), sort_keys=False, allow_unicode=True, width=width, indent=2)
    return text
