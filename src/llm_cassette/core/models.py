"""Plain data: the request, response, chunk, error and interaction a cassette holds.

Nothing here knows about YAML, httpx or pytest. Bodies are always raw bytes in memory; how they
look on disk (structured JSON, text, base64) is decided by `_format`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

Headers = tuple[tuple[str, str], ...]


def header_value(headers: Headers, name: str) -> str | None:
    """The first value of header `name` (case-insensitive), or None."""
    lname = name.lower()
    for key, value in headers:
        if key.lower() == lname:
            return value
    return None


#: `header_map` results by headers tuple (bounded: cleared when full).
_maps: dict[Headers, dict[str, str]] = {}
_MAPS_MAX = 512


def header_map(headers: Headers) -> Mapping[str, str]:
    """Lower-cased name → first value, memoised: for a request's headers looked up on every
    replay (a client sends the same set again and again). Read-only: the map is shared."""
    found = _maps.get(headers)
    if found is None:
        found = {}
        for key, value in headers:
            found.setdefault(key.lower(), value)
        if len(_maps) >= _MAPS_MAX:
            _maps.clear()
        _maps[headers] = found
    return found


@dataclass(frozen=True)
class Request:
    """One HTTP request as the application sent it (after redaction, once recorded)."""

    method: str
    url: str
    headers: Headers = ()
    body: bytes = b""

    def __init__(self, method: str, url: str, headers: Headers = (), body: bytes = b"") -> None:
        # One is built for every request sent: the fields stored straight into the instance, at
        # half the cost of the frozen dataclass's `__init__` (an `object.__setattr__` per field).
        state = self.__dict__
        state["method"] = method
        state["url"] = url
        state["headers"] = headers
        state["body"] = body

    @property
    def content_type(self) -> str:
        return (header_value(self.headers, "content-type") or "").split(";")[0].strip().lower()

    def json(self) -> Any:
        """The body parsed as JSON (raises ValueError when it is not JSON)."""
        return json.loads(self.body)

    @property
    def path(self) -> str:
        return urlsplit(self.url).path

    @property
    def query(self) -> list[tuple[str, str]]:
        return parse_qsl(urlsplit(self.url).query, keep_blank_values=True)


@dataclass(frozen=True)
class Chunk:
    """One piece of a streamed body, as the transport delivered it, `t` ms after the request."""

    data: bytes
    t: float = 0.0


@dataclass(frozen=True)
class TransportFailure:
    """A transport error (connect error, timeout, dropped connection) by exception class name.

    The class name is stack-agnostic (`ReadTimeout` exists in `httpx` and `httpx2`), so a cassette
    recorded through one stack replays through the other.
    """

    type: str
    message: str = ""
    t: float = 0.0


@dataclass(frozen=True)
class Response:
    """A recorded response: a whole `body`, or `chunks` when it was streamed.

    `error` is a transport failure that happened after the last chunk (a dropped stream);
    `cut` says the caller stopped reading there, so what follows was never seen.
    """

    status: int
    headers: Headers = ()
    body: bytes = b""
    chunks: tuple[Chunk, ...] | None = None
    error: TransportFailure | None = None
    cut: bool = False
    t: float = 0.0

    @property
    def streamed(self) -> bool:
        return self.chunks is not None

    @property
    def content(self) -> bytes:
        """The whole body, joined from the chunks when streamed."""
        if self.chunks is not None:
            return b"".join(c.data for c in self.chunks)
        return self.body

    @property
    def content_type(self) -> str:
        return (header_value(self.headers, "content-type") or "").split(";")[0].strip().lower()


@dataclass(frozen=True)
class Interaction:
    """A request and what came back: a response, or a transport failure before any response."""

    request: Request
    response: Response | None = None
    error: TransportFailure | None = None
    #: When it was recorded, as ISO 8601 UTC (`2026-12-01T10:31:07Z`); None when unknown (format 1).
    recorded_at: str | None = None

    def __post_init__(self) -> None:
        if (self.response is None) == (self.error is None):
            raise ValueError("an interaction has exactly one of `response` and `error`")


@dataclass
class CassetteData:
    """The content of one cassette file."""

    interactions: list[Interaction] = field(default_factory=list)
    #: The format version the file was read in (what `dumps` writes: `storage.FORMAT_VERSION`).
    version: int = 2
    # Match indexes built over these interactions, per match rules (see `_session`).
    index_cache: dict[object, object] = field(default_factory=dict, repr=False, compare=False)
