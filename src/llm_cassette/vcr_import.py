"""Convert vcrpy / pytest-recording cassettes to llm-cassette cassettes.

A vcrpy cassette (format version 1, YAML or JSON) holds `interactions: [{request: {method, uri,
body, headers: {name: [values]}}, response: {status: {code, message}, headers, body: {string}}}]`,
with binary bodies as `!!binary` base64. Converting one:

- decodes compressed bodies (gzip, deflate; br and zstd when their libraries are installed),
  dropping `content-encoding` and fixing `content-length`, so a reviewer reads the JSON;
- splits `text/event-stream` bodies into one chunk per SSE event (and NDJSON bodies into one
  chunk per line), so a streamed reply replays as a stream;
- applies the default redaction (credential headers and query keys, provider keys found in the
  environment) before anything is written, since vcrpy cassettes often hold real keys;
- writes atomically.

vcrpy does not record timing, so every time offset is 0.


The `llm-cassette import` command is `cli/import_vcr.py`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .core.models import CassetteData, Chunk, Headers, Interaction, Request, Response
from .core.recording import decode_content
from .core.redaction import Redactor
from .storage import save

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
    return _bytes(state[0] if state else b"")


def _construct_iter(loader: Any, node: yaml.Node) -> bytes:
    # `!!python/object/apply:builtins.iter {args: [[part, ...]]}`: a body sent as an iterator.
    mapping = loader.construct_mapping(node, deep=True)
    args: Any = mapping.get("args") or ([],)
    return b"".join(_bytes(part) for part in (args[0] if args else []))


_VcrLoader.add_constructor("tag:yaml.org,2002:python/str", _construct_str)
_VcrLoader.add_constructor("tag:yaml.org,2002:python/unicode", _construct_str)
_VcrLoader.add_constructor("tag:yaml.org,2002:python/tuple", _construct_sequence)
_VcrLoader.add_constructor("tag:yaml.org,2002:python/object/new:_io.BytesIO", _construct_bytesio)
_VcrLoader.add_constructor("tag:yaml.org,2002:python/object/apply:builtins.iter", _construct_iter)


class NotVcrCassette(ValueError):
    """A file that is not a vcrpy cassette; the message names the file and what is wrong."""


@dataclass(frozen=True)
class Converted:
    """One converted file: where it came from, where it went, and how many interactions."""

    source: Path
    target: Path
    interactions: int
    streams: int


def plan_targets(paths: list[Path], out: Path | None) -> Iterator[tuple[Path, Path]]:
    """(source, target) pairs: files under a folder keep their path relative to it; a file argument
    keeps its name. JSON cassettes become `.yaml`. With no `out`, each target is its source."""
    for path in paths:
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in (".yaml", ".yml"))
            pairs = [(f, f.relative_to(path)) for f in files]
        else:
            pairs = [(path, Path(path.name))]
        for source, relative in pairs:
            if out is None:
                yield source, source
            else:
                target = out / relative
                yield source, target.with_suffix(".yaml") if target.suffix == ".json" else target


def convert_file(source: Path, target: Path, redactor: Redactor | None = None) -> Converted:
    """Convert one vcrpy cassette file and save the result atomically at `target`."""
    data = read_vcr_cassette(source, redactor)
    save(target, data)
    streams = sum(1 for it in data.interactions if it.response is not None and it.response.streamed)
    return Converted(source, target, len(data.interactions), streams)


def read_vcr_cassette(source: Path, redactor: Redactor | None = None) -> CassetteData:
    """Parse a vcrpy cassette file into plain data, redacted (default redaction when none is given)."""
    try:
        raw = source.read_bytes()
    except OSError as exc:
        raise NotVcrCassette(f"{source}: cannot read: {exc.strerror or exc}") from None
    try:
        doc = json.loads(raw) if source.suffix == ".json" else yaml.load(raw, Loader=_VcrLoader)
    except (ValueError, yaml.YAMLError) as exc:
        raise NotVcrCassette(f"{source}: not a vcrpy cassette: cannot parse it ({_first_line(exc)})") from None
    try:
        data = from_vcr_document(doc)
    except _Problem as exc:
        raise NotVcrCassette(f"{source}: not a vcrpy cassette: {exc}") from None
    redactor = redactor or Redactor.build()
    return CassetteData([redactor.redact_interaction(it) for it in data.interactions])


def is_vcr_cassette(path: Path) -> bool:
    """True when `path` parses as a vcrpy cassette (used to hint at `import` on a format error)."""
    try:
        read_vcr_cassette(path)
    except NotVcrCassette:
        return False
    return True


class _Problem(ValueError):
    pass


def from_vcr_document(doc: Any) -> CassetteData:
    """Convert a parsed vcrpy document (not redacted). Raises ValueError saying what is wrong."""
    if not isinstance(doc, dict) or not isinstance(doc.get("interactions"), list):
        raise _Problem("expected a mapping with an `interactions` list")
    version = doc.get("version", 1)
    if version != 1:
        raise _Problem(f"unsupported vcrpy format version {version!r} (this reads version 1)")
    interactions: list[Interaction] = []
    for index, item in enumerate(doc["interactions"]):
        if not isinstance(item, dict) or not isinstance(item.get("request"), dict):
            raise _Problem(f"interaction {index} has no `request` mapping")
        request = item["request"]
        if "uri" not in request:
            raise _Problem(f"interaction {index}: the request has no `uri`")
        response = item.get("response")
        if not isinstance(response, dict):
            raise _Problem(f"interaction {index} has no `response` mapping")
        try:
            interactions.append(Interaction(_request(request), _response(response)))
        except (KeyError, TypeError, ValueError) as exc:
            raise _Problem(f"interaction {index}: {exc}") from None
    return CassetteData(interactions)


def _request(raw: dict[str, Any]) -> Request:
    return Request(
        method=str(raw.get("method") or "GET").upper(),
        url=str(raw["uri"]),
        headers=_headers(raw.get("headers")),
        body=_bytes(raw.get("body")),
    )


def _response(raw: dict[str, Any]) -> Response:
    if "status_code" in raw:  # the httpx layout of vcrpy before 4.x: {status_code, headers, content}
        code, content = raw["status_code"], _bytes(raw.get("content"))
    else:
        status = raw.get("status")
        code = status.get("code") if isinstance(status, dict) else status
        body = raw.get("body")
        content = _bytes(body.get("string") if isinstance(body, dict) else body)
    if isinstance(code, bool) or not isinstance(code, int):
        raise ValueError(f"the response status code must be an integer, not {code!r}")
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


def _bytes(value: Any) -> bytes:
    if value is None:
        return b""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    raise TypeError(f"a body must be a string or !!binary, not {type(value).__name__}")


def is_llm_cassette(path: Path) -> bool:
    """Whether `path` is already a cassette in this project's format (a re-run of `import` skips it)."""
    try:
        doc = yaml.load(path.read_bytes(), Loader=_VcrLoader)
    except (OSError, yaml.YAMLError):
        return False
    items = doc.get("interactions") if isinstance(doc, dict) else None
    return (
        isinstance(items, list)
        and doc.get("version") == 1
        and all(isinstance(i, dict) and isinstance(i.get("request"), dict) and "url" in i["request"] for i in items)
        and bool(items)
    )


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
