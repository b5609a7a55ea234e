"""Converting vcrpy / pytest-recording cassettes: reading them into plain data, refusing what it
cannot convert. The `llm-cassette import` command (where the files go) is `cli/import_vcr.py`.

A vcrpy cassette (format version 1, YAML or JSON) holds `interactions: [{request: {method, uri,
body, headers: {name: [values]}}, response: {status: {code, message}, headers, body: {string}}}]`,
with binary bodies as `!!binary` base64. The shapes seen in the wild are read too:

- `parsed_body` (a project serializer that stores JSON bodies parsed, as pydantic-ai's does) on
  the request or the response, instead of `body`;
- a request `body: {string: ...}` as well as a plain string, `!!binary`, or nothing;
- the httpx layout of vcrpy before 4.x (`status_code`, `content`);
- gzip / deflate (br, zstd when installed) bodies, decoded with `content-encoding` dropped.

Any key this module does not know is refused, naming the interaction and the key: a key dropped
silently is a body that replays as `''`. A project's own vcrpy serializer can be loaded instead of
the YAML/JSON reader (`load_serializer("tests/serializer.py")`, `"package.module:object"`).

vcrpy does not record timing, so every time offset is 0.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import yaml

from .core.models import CassetteData, Chunk, Headers, Interaction, Request, Response
from .core.recording import decode_content
from .core.redaction import Redactor
from .storage import read_regular_file, save
from .storage.yaml_format import READABLE_VERSIONS

VCR_SUFFIXES = (".yaml", ".yml", ".json")

_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _VcrLoader(_BaseLoader):  # type: ignore[misc]
    """A safe loader for vcrpy files: it already reads `!!binary` as bytes, and here also reads the
    few Python tags vcrpy itself accepts (plain strings and tuples from old Python 2 cassettes, and
    `BytesIO`/iterator request bodies) as plain data. No Python object is ever constructed."""


def _construct_str(loader: Any, node: yaml.Node) -> Any:
    return loader.construct_scalar(node)


def _construct_sequence(loader: Any, node: yaml.Node) -> Any:
    return loader.construct_sequence(node)


def _construct_bytesio(loader: Any, node: yaml.Node) -> bytes:
    # `!!python/object/new:_io.BytesIO {state: [content, ...]}`: only the content is read.
    mapping = loader.construct_mapping(node, deep=True)
    state = mapping.get("state") or (b"",)
    return _bytes(state[0] if state else b"", "body")


def _construct_iter(loader: Any, node: yaml.Node) -> bytes:
    # `!!python/object/apply:builtins.iter {args: [[part, ...]]}`: a body sent as an iterator.
    mapping = loader.construct_mapping(node, deep=True)
    args: Any = mapping.get("args") or ([],)
    return b"".join(_bytes(part, "body") for part in (args[0] if args else []))


_VcrLoader.add_constructor("tag:yaml.org,2002:python/str", _construct_str)
_VcrLoader.add_constructor("tag:yaml.org,2002:python/unicode", _construct_str)
_VcrLoader.add_constructor("tag:yaml.org,2002:python/tuple", _construct_sequence)
_VcrLoader.add_constructor("tag:yaml.org,2002:python/object/new:_io.BytesIO", _construct_bytesio)
_VcrLoader.add_constructor("tag:yaml.org,2002:python/object/apply:builtins.iter", _construct_iter)


class NotVcrCassette(ValueError):
    """A file that is not a vcrpy cassette (or holds something this cannot convert); the message
    names the file, and the interaction and key when one is at fault."""


class Serializer(Protocol):
    """A vcrpy serializer: `deserialize(text) -> dict` (its `serialize` is not needed here)."""

    def deserialize(self, cassette_string: str) -> Any: ...


def load_serializer(spec: str) -> Serializer:
    """The object named by `spec`: `path/to/file.py`, `package.module`, either with `:attribute`.

    A dotted module is imported with the current folder on `sys.path`, as pytest would import a
    project's test helpers from its root.
    """
    target, _, attribute = spec.partition(":")
    try:
        if target.endswith(".py") or "/" in target or "\\" in target:
            path = Path(target)
            if not path.is_file():
                raise NotVcrCassette(f"--serializer {spec}: {path} does not exist")
            module_spec = importlib.util.spec_from_file_location(f"_llm_cassette_serializer_{path.stem}", path)
            if module_spec is None or module_spec.loader is None:
                raise NotVcrCassette(f"--serializer {spec}: cannot import {path}")
            module = importlib.util.module_from_spec(module_spec)
            module_spec.loader.exec_module(module)
        else:
            if "" not in sys.path and str(Path.cwd()) not in sys.path:
                sys.path.insert(0, str(Path.cwd()))
            module = importlib.import_module(target)
    except NotVcrCassette:
        raise
    except Exception as exc:
        raise NotVcrCassette(f"--serializer {spec}: cannot import it: {type(exc).__name__}: {exc}") from None
    found: Any = module
    for name in filter(None, attribute.split(".")):
        if not hasattr(found, name):
            raise NotVcrCassette(f"--serializer {spec}: {target} has no attribute {name!r}")
        found = getattr(found, name)
    if not callable(getattr(found, "deserialize", None)):
        raise NotVcrCassette(f"--serializer {spec}: it has no deserialize(cassette_string) function")
    result: Serializer = found
    return result


def read_vcr_cassette(
    source: Path, redactor: Redactor | None = None, serializer: Serializer | None = None
) -> CassetteData:
    """Parse a vcrpy cassette file into plain data, redacted (default redaction when none is given)."""
    try:
        raw = read_regular_file(source)
    except OSError as exc:
        raise NotVcrCassette(f"{source}: cannot read: {exc.strerror or exc}") from None
    try:
        if serializer is not None:
            doc = serializer.deserialize(raw.decode("utf-8"))
        elif source.suffix == ".json":
            doc = json.loads(raw)
        else:
            doc = yaml.load(raw, Loader=_VcrLoader)
    except (ValueError, yaml.YAMLError) as exc:
        raise NotVcrCassette(f"{source}: not a vcrpy cassette: cannot parse it ({_first_line(exc)})") from None
    except Exception as exc:  # a project serializer may raise anything on a file it does not expect
        raise NotVcrCassette(f"{source}: the serializer failed: {type(exc).__name__}: {_first_line(exc)}") from None
    try:
        data = from_vcr_document(doc)
    except _Problem as exc:
        raise NotVcrCassette(f"{source}: {exc}") from None
    redactor = redactor or Redactor.build()
    return CassetteData([redactor.redact_interaction(it) for it in data.interactions])


def is_vcr_cassette(path: Path) -> bool:
    """True when `path` looks like a vcrpy cassette (used to hint at `import` on a format error).

    Shape only: a vcrpy cassette that `import` would refuse for one odd key still gets the hint.
    """
    try:
        doc = yaml.load(read_regular_file(path), Loader=_VcrLoader)
    except (OSError, ValueError, yaml.YAMLError):
        return False
    items = doc.get("interactions") if isinstance(doc, dict) else None
    return (
        isinstance(items, list)
        and bool(items)
        and all(isinstance(i, dict) and isinstance(i.get("request"), dict) and "uri" in i["request"] for i in items)
    )


IMPORT_HINT = "this is a vcrpy cassette: convert it with `llm-cassette import`"


def with_import_hint(message: str, path: Path | None) -> str:
    """`message`, pointing at `llm-cassette import` when `path` is a vcrpy cassette."""
    return f"{message} ({IMPORT_HINT})" if path is not None and is_vcr_cassette(path) else message


class _Problem(ValueError):
    pass


_DOCUMENT_KEYS = {"version", "interactions", "metadata"}
_INTERACTION_KEYS = {"request", "response"}
_REQUEST_KEYS = {"method", "uri", "body", "headers", "parsed_body"}
_RESPONSE_KEYS = {"status", "headers", "body", "parsed_body", "status_code", "content", "http_version", "url"}
_BODY_KEYS = {"string"}


def from_vcr_document(doc: Any) -> CassetteData:
    """Convert a parsed vcrpy document (not redacted). Raises ValueError saying what is wrong."""
    if not isinstance(doc, dict) or not isinstance(doc.get("interactions"), list):
        raise _Problem("not a vcrpy cassette: expected a mapping with an `interactions` list")
    version = doc.get("version", 1)
    if version != 1:
        raise _Problem(f"unsupported vcrpy format version {version!r} (this reads version 1)")
    _refuse_unknown(doc, _DOCUMENT_KEYS, "the cassette")
    interactions: list[Interaction] = []
    for index, item in enumerate(doc["interactions"]):
        where = f"interaction {index + 1}"
        if not isinstance(item, dict) or not isinstance(item.get("request"), dict):
            raise _Problem(f"{where} has no `request` mapping")
        _refuse_unknown(item, _INTERACTION_KEYS, where)
        request = item["request"]
        if "uri" not in request:
            raise _Problem(f"{where}: the request has no `uri`")
        response = item.get("response")
        if not isinstance(response, dict):
            raise _Problem(f"{where} has no `response` mapping")
        _refuse_unknown(request, _REQUEST_KEYS, f"{where}: request")
        _refuse_unknown(response, _RESPONSE_KEYS, f"{where}: response")
        try:
            interactions.append(Interaction(_request(request), _response(response)))
        except (KeyError, TypeError, ValueError) as exc:
            raise _Problem(f"{where}: {exc}") from None
    return CassetteData(interactions)


def _refuse_unknown(mapping: dict[str, Any], known: set[str], where: str) -> None:
    unknown = sorted(str(k) for k in mapping if k not in known)
    if unknown:
        raise _Problem(
            f"{where}: unknown key {', '.join(repr(k) for k in unknown)} (this reads "
            f"{', '.join(sorted(known))}); if a project serializer wrote it, pass --serializer"
        )


def _body(raw: dict[str, Any], where: str) -> bytes:
    """The body bytes from `body` (string, !!binary, {string: ...}), `content` or `parsed_body`."""
    present = [k for k in ("body", "content", "parsed_body") if raw.get(k) is not None]
    if len(present) > 1:
        raise ValueError(f"{where} has both {present[0]!r} and {present[1]!r}: which one is the body?")
    if "parsed_body" in present:
        return json.dumps(raw["parsed_body"], ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    value = raw.get("body", raw.get("content"))
    if isinstance(value, dict):
        unknown = sorted(str(k) for k in value if k not in _BODY_KEYS)
        if unknown:
            raise ValueError(f"{where} body: unknown key {', '.join(map(repr, unknown))} (this reads 'string')")
        value = value.get("string")
    return _bytes(value, f"{where} body")


def _request(raw: dict[str, Any]) -> Request:
    return Request(
        method=str(raw.get("method") or "GET").upper(),
        url=str(raw["uri"]),
        headers=_headers(raw.get("headers")),
        body=_body(raw, "the request"),
    )


def _response(raw: dict[str, Any]) -> Response:
    if "status_code" in raw:  # the httpx layout of vcrpy before 4.x: {status_code, headers, content}
        code = raw["status_code"]
    else:
        status = raw.get("status")
        code = status.get("code") if isinstance(status, dict) else status
    if isinstance(code, bool) or not isinstance(code, int):
        raise ValueError(f"the response status code must be an integer, not {code!r}")
    content = _body(raw, "the response")
    headers, chunks = decode_content(_headers(raw.get("headers")), [Chunk(content)])
    content = b"".join(c.data for c in chunks)
    probe = Response(code, headers)
    pieces = split_stream(content, probe.content_type)
    if pieces is not None:
        return Response(code, headers, chunks=tuple(Chunk(p) for p in pieces))
    return Response(code, headers, body=content)


def split_stream(content: bytes, content_type: str) -> list[bytes] | None:
    """One piece per SSE event (blank line kept with its event) or NDJSON line; None for other types.

    The pieces join back to exactly `content`.
    """
    if content_type == "text/event-stream":
        # Split after each blank line (an event's end), whatever newline style the server used.
        pieces = re.split(rb"(?<=\r\n\r\n)|(?<=\n\n)|(?<=\r\r)", content)
    elif content_type in ("application/x-ndjson", "application/jsonl"):
        pieces = content.splitlines(keepends=True)
    else:
        return None
    return [p for p in pieces if p]


def _headers(raw: Any) -> Headers:
    if raw is None:
        return ()
    if not isinstance(raw, dict):
        raise TypeError(f"headers must be a mapping, not {type(raw).__name__}")
    out: list[tuple[str, str]] = []
    for name, values in raw.items():
        for value in values if isinstance(values, list) else [values]:
            out.append((str(name).lower(), _text(value)))
    return tuple(out)


def _text(value: Any) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else str(value)


def _bytes(value: Any, what: str) -> bytes:
    if value is None:
        return b""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    raise TypeError(f"{what} must be a string or !!binary, not {type(value).__name__}")


@dataclass(frozen=True)
class Converted:
    """One converted file: where it came from, where it went, and how many interactions."""

    source: Path
    target: Path
    interactions: int
    streams: int


def convert_file(
    source: Path, target: Path, redactor: Redactor | None = None, serializer: Serializer | None = None
) -> Converted:
    """Convert one vcrpy cassette file and save the result atomically at `target`."""
    data = read_vcr_cassette(source, redactor, serializer)
    save(target, data)
    streams = sum(1 for it in data.interactions if it.response is not None and it.response.streamed)
    return Converted(source, target, len(data.interactions), streams)


def is_llm_cassette(path: Path) -> bool:
    """True when `path` is already in llm-cassette's format (so `import` skips it)."""
    try:
        doc = yaml.load(read_regular_file(path), Loader=_VcrLoader)
    except (OSError, yaml.YAMLError):
        return False
    items = doc.get("interactions") if isinstance(doc, dict) else None
    return (
        isinstance(items, list)
        and doc.get("version") in READABLE_VERSIONS
        and all(isinstance(i, dict) and isinstance(i.get("request"), dict) and "url" in i["request"] for i in items)
        and bool(items)
    )


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
