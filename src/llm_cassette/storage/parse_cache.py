"""A cross-process cache of parsed cassettes, so that a large cassette is parsed once, not per run.

Parsing YAML from Python costs about 60 ms per MB; reading back an already parsed cassette as
JSON costs a tenth of that. An entry is plain data (JSON: no pickle, no marshal, nothing that can
run code), one file per cassette path in a directory the user chose (the plugin uses pytest's cache
directory; `LLM_CASSETTE_PARSE_CACHE` names one for `use_cassette`; none means no cache).

An entry is used only when it says it is one (`magic`), was written by this cache layout for this
cassette format (`tag`), and holds the SHA-256 and size of the exact bytes just read from the
cassette. Anything else (a corrupt, truncated, foreign or stale entry, a value of the wrong type) is
ignored and the cassette is parsed as if there were no cache; the entry is then rewritten.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..core.models import CassetteData, Chunk, Interaction, Request, Response, TransportFailure

#: The cassette format this cache's entries hold (yaml_format.FORMAT_VERSION, checked equal by
#: tests/test_parse_cache.py): named here, so that setting the directory, which every pytest run
#: does at start, imports no YAML.
FORMAT_VERSION = 2

ENV = "LLM_CASSETTE_PARSE_CACHE"
MAGIC = "llm-cassette parse cache"
#: Changes whenever the layout below or what the reader makes of a cassette changes.
TAG = f"layout 2, format {FORMAT_VERSION}"
#: Small cassettes parse in well under a millisecond: an entry would cost more than it saves.
MIN_SIZE = 16 * 1024

_directory: Path | None = None


def set_directory(directory: str | os.PathLike[str] | None) -> None:
    """Where entries live from now on (None: no cache; the environment variable still applies)."""
    global _directory
    _directory = Path(directory) if directory is not None else None


def directory() -> Path | None:
    if _directory is not None:
        return _directory
    env = os.environ.get(ENV)
    return Path(env) if env else None


def parse_through(cassette: Path, raw: bytes, parse: Callable[[], CassetteData]) -> CassetteData:
    """`parse()`, or what an entry for exactly these bytes holds; a new parse is stored."""
    folder = directory()
    if folder is None or len(raw) < MIN_SIZE:
        return parse()
    sha = hashlib.sha256(raw).hexdigest()
    entry = _entry_path(folder, cassette)
    data = get(entry, raw, sha)
    if data is None:
        data = parse()
        put(entry, raw, sha, data)
    return data


def _entry_path(folder: Path, cassette: Path) -> Path:
    # One entry per cassette file (rewritten when it changes), so the cache does not grow with edits.
    name = hashlib.sha256(str(cassette.resolve()).encode("utf-8", "surrogateescape")).hexdigest()[:32]
    return folder / f"{name}.json"


def get(entry: Path, raw: bytes, sha: str) -> CassetteData | None:
    """The parsed cassette from its entry, or None when there is no entry this can trust."""
    try:
        doc = json.loads(entry.read_bytes())
        if doc["magic"] != MAGIC or doc["tag"] != TAG or doc["sha256"] != sha or doc["size"] != len(raw):
            return None
        if type(doc["version"]) is not int:
            return None
        return CassetteData(interactions=[_interaction(v) for v in doc["interactions"]], version=doc["version"])
    except Exception:  # anything unexpected in an entry means: not an entry
        return None


def put(entry: Path, raw: bytes, sha: str, data: CassetteData) -> None:
    """Store a parsed cassette; a cache that cannot be written is no cache, never an error."""
    doc = {
        "magic": MAGIC,
        "tag": TAG,
        "sha256": sha,
        "size": len(raw),
        "version": data.version,
        "interactions": [_plain_interaction(it) for it in data.interactions],
    }
    with contextlib.suppress(OSError, ValueError):
        entry.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".entry.", suffix=".tmp", dir=entry.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(doc, f, ensure_ascii=False, separators=(",", ":"))
            os.replace(tmp, entry)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise


# --- plain data both ways: bytes as latin-1 text (one code point per byte, lossless) ------------


def _b(data: bytes) -> str:
    return data.decode("latin-1")


def _plain_failure(e: TransportFailure | None) -> list[Any] | None:
    return None if e is None else [e.type, e.message, e.t]


def _plain_interaction(it: Interaction) -> list[Any]:
    req = it.request
    plain_req = [req.method, req.url, [list(h) for h in req.headers], _b(req.body)]
    resp = it.response
    plain_resp = None
    if resp is not None:
        chunks = None if resp.chunks is None else [[_b(c.data), c.t] for c in resp.chunks]
        headers = [list(h) for h in resp.headers]
        plain_resp = [resp.status, headers, _b(resp.body), chunks, _plain_failure(resp.error), resp.cut, resp.t]
    # Newer interactions may carry when they were recorded (format 2): kept when present.
    return [plain_req, plain_resp, _plain_failure(it.error), getattr(it, "recorded_at", None)]


def _str(v: Any) -> str:
    if type(v) is not str:
        raise TypeError
    return v


def _num(v: Any) -> float:
    if type(v) not in (int, float):
        raise TypeError
    return float(v)


def _bytes(v: Any) -> bytes:
    return _str(v).encode("latin-1")


def _headers(v: list[Any]) -> tuple[tuple[str, str], ...]:
    return tuple((_str(k), _str(val)) for k, val in v)


def _failure(v: Any) -> TransportFailure | None:
    if v is None:
        return None
    kind, message, t = v
    return TransportFailure(_str(kind), _str(message), _num(t))


def _interaction(v: Any) -> Interaction:
    req, resp, error, recorded_at = v
    method, url, headers, body = req
    request = Request(_str(method), _str(url), _headers(headers), _bytes(body))
    response = None
    if resp is not None:
        status, rheaders, rbody, chunks, rerror, cut, t = resp
        if type(status) is not int or type(cut) is not bool:
            raise TypeError
        response = Response(
            status=status,
            headers=_headers(rheaders),
            body=_bytes(rbody),
            chunks=None if chunks is None else tuple(Chunk(_bytes(d), _num(ct)) for d, ct in chunks),
            error=_failure(rerror),
            cut=cut,
            t=_num(t),
        )
    extra: dict[str, Any] = {} if recorded_at is None else {"recorded_at": _str(recorded_at)}
    return Interaction(request=request, response=response, error=_failure(error), **extra)
