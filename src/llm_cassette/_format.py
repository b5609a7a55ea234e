"""The cassette file format, version 1: plain data to YAML text and back, byte-exact.

A body is written as structured YAML when it is JSON that re-serialises to exactly the recorded
bytes (`json:` plus the `json_style` needed to rebuild them), as text when it is UTF-8 (block style
when multi-line), and as base64 otherwise. Streamed bodies are a list of chunks, one item per chunk
the transport delivered, each with its time offset. See docs/cassette-format.md.

Loading uses libyaml's C SafeLoader when present and never an unsafe loader; aliases are refused
(no "billion laughs"), files over a size limit are refused before parsing, and every problem is a
`CassetteFormatError` naming the file and line. Parsed files are cached by file identity.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import os
import re
import stat
import tempfile
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import yaml

from ._errors import CassetteFormatError
from ._models import CassetteData, Chunk, Headers, Interaction, Request, Response, TransportFailure

FORMAT_VERSION = 1
DEFAULT_MAX_SIZE = 200 * 1024 * 1024
MAX_SIZE_ENV = "LLM_CASSETTE_MAX_SIZE"

_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_BaseDumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _Loader(_BaseLoader):  # type: ignore[misc]
    """Safe loader that refuses aliases: a cassette never needs them, and they enable alias bombs."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        if node in self.constructed_objects:
            raise yaml.constructor.ConstructorError(
                None, None, "YAML aliases are not allowed in a cassette", node.start_mark
            )
        return super().construct_object(node, deep)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        # A duplicate key (a bad merge, a hand edit) would silently drop one of the two values.
        self.flatten_mapping(node)
        mapping: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                duplicate = key in mapping
            except TypeError:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping", node.start_mark, "found unhashable key", key_node.start_mark
                ) from None
            if duplicate:
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
            mapping[key] = self.construct_object(value_node, deep=deep)
        return mapping


# Deeper than any real cassette (a JSON body nests a few dozen levels), far below what overflows
# libyaml's recursive composer (the C stack) or Python's recursion limit.
MAX_DEPTH = 200


class _TooDeep(Exception):
    def __init__(self, line: int) -> None:
        super().__init__(line)
        self.line = line


def _check_depth(text: str | bytes) -> None:
    """Raise `_TooDeep` where `text` nests deeper than MAX_DEPTH (from events: no recursion)."""
    depth = 0
    for event in yaml.parse(text, Loader=_BaseLoader):
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                raise _TooDeep(event.start_mark.line + 1 if event.start_mark is not None else 1)
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1


def _json_depth(value: Any) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, depth)
            stack.extend((v, depth + 1) for v in (item.values() if isinstance(item, dict) else item))
    return deepest


_STR_TAG = "tag:yaml.org,2002:str"
_COLLECTION_TAGS = (None, "!", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")
_NO_KEY: Any = object()
# Plain scalar text -> its value (keys, statuses, small numbers: the same few hundred in every
# cassette). Values are immutable, the resolution depends on the text alone; bounded.
_plain_values: dict[str, Any] = {}


class _Unusual(Exception):
    """The document uses a YAML feature the fast builder leaves to PyYAML's constructor."""


def _parse(text: str | bytes) -> Any:
    """`yaml.load(text, Loader=_Loader)`, built straight from the parser's events.

    PyYAML composes a node per value (resolving every scalar in Python) and then walks the nodes
    again to construct; building from events skips the nodes and resolves each distinct plain
    scalar once: five times faster on a large cassette. Anything unusual (aliases, explicit
    collection tags, merge keys, unhashable keys, several documents) goes the PyYAML way, so the
    result and the errors are the same either way.
    """
    try:
        return _parse_events(text)
    except _Unusual:
        _check_depth(text)  # PyYAML's composer recurses: refuse what would overflow it
        return yaml.load(text, Loader=_Loader)


def _parse_events(text: str | bytes) -> Any:
    loader = _Loader(text)
    try:
        get_event = loader.get_event
        resolve = loader.resolve
        constructors = loader.yaml_constructors
        containers: list[Any] = []  # the open mappings and sequences, innermost last
        keys: list[Any] = []  # for each open container: the key awaiting its value (mappings)
        root: Any = None
        get_event()  # StreamStartEvent
        event = get_event()
        if isinstance(event, yaml.StreamEndEvent):
            return None
        while True:
            event = get_event()
            cls = event.__class__
            if cls is yaml.ScalarEvent:
                tag, text_value = event.tag, event.value
                if tag is None or tag == "!":
                    if event.implicit[0]:  # plain: its type depends on how it reads
                        value = _plain_values.get(text_value, _NO_KEY)
                        if value is _NO_KEY:
                            tag = resolve(yaml.ScalarNode, text_value, event.implicit)
                            value = _construct_scalar(loader, constructors, tag, event)
                            if len(text_value) <= 40 and len(_plain_values) < 8192:
                                _plain_values[text_value] = value
                    else:
                        value = text_value
                elif tag == _STR_TAG:
                    value = text_value
                else:
                    value = _construct_scalar(loader, constructors, tag, event)
            elif cls is yaml.MappingStartEvent or cls is yaml.SequenceStartEvent:
                if event.tag not in _COLLECTION_TAGS:
                    raise _Unusual
                if len(containers) >= MAX_DEPTH:
                    raise _TooDeep(event.start_mark.line + 1)
                containers.append({} if cls is yaml.MappingStartEvent else [])
                keys.append(_NO_KEY)
                continue
            elif cls is yaml.MappingEndEvent or cls is yaml.SequenceEndEvent:
                keys.pop()
                value = containers.pop()
            elif cls is yaml.AliasEvent:
                raise _Unusual  # refused by `_Loader`, whose error names the anchor's line
            else:  # DocumentEndEvent
                if not isinstance(get_event(), yaml.StreamEndEvent):
                    raise _Unusual  # several documents: PyYAML reports it
                return root
            if not containers:
                root = value
                continue
            parent = containers[-1]
            if parent.__class__ is list:
                parent.append(value)
            elif keys[-1] is _NO_KEY:
                if value.__class__ is dict or value.__class__ is list:
                    raise _Unusual  # unhashable key: PyYAML reports it
                if value in parent:
                    raise yaml.constructor.ConstructorError(None, None, f"duplicate key {value!r}", event.start_mark)
                keys[-1] = value
            else:
                parent[keys[-1]] = value
                keys[-1] = _NO_KEY
    finally:
        loader.dispose()


def _construct_scalar(loader: Any, constructors: dict[Any, Any], tag: str, event: Any) -> Any:
    if tag == _STR_TAG:
        return event.value
    construct = constructors.get(tag)
    if construct is None or tag == "tag:yaml.org,2002:merge":
        raise _Unusual
    node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, style=event.style)
    return construct(loader, node)


class _Dumper(_BaseDumper):  # type: ignore[misc]
    def ignore_aliases(self, data: Any) -> bool:
        return True


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


_Dumper.add_representer(str, _represent_str)


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
        kwargs = _JSON_STYLES[base]
    except KeyError:
        raise ValueError(f"unknown json_style {style!r}") from None
    text = json.dumps(value, allow_nan=False, **kwargs)
    return (text + "\n" if newline else text).encode("utf-8")


def _as_json(raw: bytes) -> tuple[Any, str] | None:
    """(value, style) when `raw` is JSON that one of our styles reproduces byte for byte."""
    if not raw or raw[:1] not in b"{[":
        return None
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    if _json_depth(value) > MAX_DEPTH - 10:  # as YAML it must load back under MAX_DEPTH: keep it text
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
    """The on-disk mapping for a body: {json, json_style?} | {text} | {base64}."""
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
        return {"text": text}
    return {"base64": base64.b64encode(raw).decode("ascii")}


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
    out: dict[str, Any] = {"request": rq}
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
        rs["chunks"] = [{"t": _ms(c.t), **body_to_yaml(c.data, allow_json=False)} for c in resp.chunks]
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
    doc = {"version": FORMAT_VERSION, "interactions": [interaction_to_yaml(i) for i in data.interactions]}
    text: str = yaml.dump(doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=4096, indent=2)
    return text


# --- loading ----------------------------------------------------------------------------------


class _Invalid(Exception):
    def __init__(self, path: Sequence[str | int], message: str) -> None:
        super().__init__(message)
        self.path = list(path)
        self.message = message


def _expect(value: Any, kind: type | tuple[type, ...], path: Sequence[str | int], what: str) -> Any:
    if isinstance(value, bool) and kind in (int, float, (int, float)):
        raise _Invalid(path, f"{what} must be a number, not {value!r}")
    if not isinstance(value, kind):
        raise _Invalid(path, f"{what} must be {_kind_name(kind)}, not {type(value).__name__} {value!r:.60}")
    return value


def _kind_name(kind: type | tuple[type, ...]) -> str:
    names = {dict: "a mapping", list: "a list", str: "a string", int: "an integer", float: "a number"}
    if isinstance(kind, tuple):
        return " or ".join(names.get(k, k.__name__) for k in kind)
    return names.get(kind, kind.__name__)


def _check_keys(m: dict[str, Any], allowed: set[str], path: list[str | int], what: str) -> None:
    for key in m:
        if key not in allowed:
            raise _Invalid([*path, key], f"unknown key {key!r} in {what} (expected one of {sorted(allowed)})")


def _headers_from(value: Any, path: list[str | int]) -> Headers:
    _expect(value, dict, path, "headers")
    out: list[tuple[str, str]] = []
    for name, v in value.items():
        if not isinstance(name, str):
            raise _Invalid(path, f"header name must be a string, not {name!r}")
        if isinstance(v, list):
            for i, item in enumerate(v):
                out.append((name, _expect(item, str, [*path, name, i], f"header {name!r}")))
        else:
            out.append((name, _expect(v, str, [*path, name], f"header {name!r}")))
    return tuple(out)


def _body_from(value: Any, path: list[str | int], *, chunk: bool = False) -> bytes:
    _expect(value, dict, path, "a body")
    keys = {"t", "text", "base64"} if chunk else {"json", "json_style", "text", "base64"}
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
        return str(_expect(value["text"], str, [*path, "text"], "text")).encode("utf-8")
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


def _response_from(value: Any, path: list[str | int]) -> Response:
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
                data=_body_from(c, [*path, "chunks", i], chunk=True),
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


def _interaction_from(value: Any, path: list[str | int]) -> Interaction:
    _expect(value, dict, path, "an interaction")
    _check_keys(value, {"request", "response", "error"}, path, "an interaction")
    if "request" not in value:
        raise _Invalid(path, "interaction is missing `request`")
    if ("response" in value) == ("error" in value):
        raise _Invalid(path, "an interaction needs exactly one of `response` and `error`")
    return Interaction(
        request=_request_from(value["request"], [*path, "request"]),
        response=_response_from(value["response"], [*path, "response"]) if "response" in value else None,
        error=_failure_from(value["error"], [*path, "error"]) if "error" in value else None,
    )


def from_document(doc: Any) -> CassetteData:
    """Validate a parsed YAML document and turn it into plain data (raises `_Invalid`)."""
    if doc is None:
        raise _Invalid([], "the file is empty")
    _expect(doc, dict, [], "the top level")
    _check_keys(doc, {"version", "interactions"}, [], "the top level")
    if "version" not in doc:
        raise _Invalid([], "missing `version` (this file may not be an llm-cassette cassette)")
    version = doc["version"]
    if version != FORMAT_VERSION:
        raise _Invalid(
            ["version"],
            f"unknown cassette format version {version!r} (this llm-cassette reads version "
            f"{FORMAT_VERSION}; upgrade llm-cassette or re-record)",
        )
    items = _expect(doc.get("interactions", []), list, ["interactions"], "interactions")
    return CassetteData(
        interactions=[_interaction_from(v, ["interactions", i]) for i, v in enumerate(items)],
        version=version,
    )


def _line_of(text: str, path: Sequence[str | int]) -> int | None:
    """1-based line of the node at `path`, found by composing the document with marks."""
    try:
        node: yaml.Node | None = yaml.compose(text, Loader=_BaseLoader)  # libyaml when present
    except (yaml.YAMLError, RecursionError):
        return None
    line = node.start_mark.line + 1 if node is not None else None
    for key in path:
        if isinstance(node, yaml.MappingNode) and isinstance(key, str):
            for k, v in node.value:
                if k.value == key:
                    line, node = k.start_mark.line + 1, v
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
            line = node.start_mark.line + 1
        else:
            return line
    if isinstance(node, yaml.ScalarNode):
        line = node.start_mark.line + 1
    return line


def max_size() -> int:
    raw = os.environ.get(MAX_SIZE_ENV)
    return int(raw) if raw else DEFAULT_MAX_SIZE


def loads(text: str | bytes, path: Path | str | None = None) -> CassetteData:
    """Parse cassette text. Raises `CassetteFormatError` with file and line."""
    try:
        doc = _parse(text)
    except _TooDeep as exc:
        raise CassetteFormatError(path, f"nested more than {MAX_DEPTH} levels deep", exc.line) from None
    except yaml.reader.ReaderError as exc:
        # Bad UTF-8 or a control character: the position is an offset into what was read.
        before = text[: exc.position]
        at = (before.count(b"\n") if isinstance(before, bytes) else before.count("\n")) + 1
        raise CassetteFormatError(path, f"invalid YAML: {exc}", at) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or str(exc)
        raise CassetteFormatError(path, f"invalid YAML: {problem}", line) from None
    except yaml.YAMLError as exc:
        raise CassetteFormatError(path, f"invalid YAML: {exc}") from None
    try:
        return from_document(doc)
    except _Invalid as exc:
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        where = ".".join(str(p) for p in exc.path)
        message = f"{exc.message} (at {where})" if where else exc.message
        raise CassetteFormatError(path, message, _line_of(text, exc.path)) from None


_cache: dict[str, tuple[tuple[int, int, int], CassetteData]] = {}
_cache_lock = threading.Lock()


def load(path: str | os.PathLike[str]) -> CassetteData:
    """Read and parse a cassette file, reusing the parsed result while the file is unchanged.

    The returned data is shared: callers must not mutate it.
    """
    path = Path(path)
    try:
        st = path.stat()
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise CassetteFormatError(path, f"cannot read: {exc}") from None
    identity = (st.st_mtime_ns, st.st_size, st.st_ino)
    key = str(path)
    with _cache_lock:
        hit = _cache.get(key)
    if hit is not None and hit[0] == identity:
        return hit[1]
    if not stat.S_ISREG(st.st_mode):
        raise CassetteFormatError(path, "not a regular file (a device, a FIFO or a folder cannot be a cassette)")
    limit = max_size()
    with open(path, "rb") as f:
        raw = f.read(limit + 1)  # st_size may not be the size (a file still growing): never read past it
    if len(raw) > limit:
        raise CassetteFormatError(path, f"file is over the {limit}-byte limit (set {MAX_SIZE_ENV} to raise it)")
    data = loads(raw, path)
    with _cache_lock:
        _cache[key] = (identity, data)
    return data


def _current_umask() -> int:
    mask = os.umask(0)  # the only way to read it; done once, at import
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def atomic_write(path: Path, text: str) -> None:
    """Write `text` to `path` so that readers see the old file or the whole new one, never a mix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp creates the file 0600: give it the cassette's mode, or a plain new file's.
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except FileNotFoundError:
            mode = 0o666 & ~_UMASK
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def save(path: str | os.PathLike[str], data: CassetteData) -> None:
    """Serialise and atomically write a cassette."""
    path = Path(path)
    text = dumps(data)
    atomic_write(path, text)
    with _cache_lock:
        _cache.pop(str(path), None)


def iter_cassette_files(paths: Sequence[Path]) -> Iterator[Path]:
    """Every `*.yaml`/`*.yml` file under the given files and folders, sorted."""
    for p in paths:
        if p.is_dir():
            yield from sorted(q for q in p.rglob("*") if q.suffix in (".yaml", ".yml") and q.is_file())
        else:
            yield p
