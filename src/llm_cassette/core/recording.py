"""Building an interaction from live traffic, one chunk at a time.

The interceptor hands every chunk to a `Recording` the moment it passes to the caller; nothing is
buffered ahead of the caller. Compressed bodies are decoded here, once the recording is finished,
with the headers adjusted so that a replay is consistent.
"""

from __future__ import annotations

import hashlib
import threading
import time
import zlib
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from . import jsonrpc
from .models import Chunk, Headers, Interaction, Request, Response, TransportFailure, header_map, header_value

STREAM_CONTENT_TYPES = (
    "text/event-stream",
    "application/x-ndjson",
    "application/jsonl",
    "application/json-seq",
    "application/vnd.amazon.eventstream",  # AWS (Bedrock's converse_stream): binary frames
)


def utc_now() -> str:
    """The current time as a cassette records it: ISO 8601, UTC, to the second."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def is_stream_content_type(content_type: str) -> bool:
    return content_type in STREAM_CONTENT_TYPES


def _decoder(encoding: str) -> Callable[[bytes], bytes] | None:
    """An incremental decoder for one content-encoding, or None when it is not available."""
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompressobj(zlib.MAX_WBITS | 16).decompress
    if encoding == "deflate":
        state: dict[str, Any] = {}

        def inflate(data: bytes) -> bytes:
            # "deflate" is zlib-wrapped per the RFC, raw deflate in practice: try both, like httpx.
            obj = state.get("obj")
            if obj is None:
                try:
                    obj = zlib.decompressobj()
                    out = obj.decompress(data)
                except zlib.error:
                    obj = zlib.decompressobj(-zlib.MAX_WBITS)
                    out = obj.decompress(data)
                state["obj"] = obj
                return out
            return bytes(obj.decompress(data))

        return inflate
    if encoding == "br":
        try:
            import brotli
        except ImportError:
            return None
        return brotli.Decompressor().process  # type: ignore[no-any-return]
    if encoding == "zstd":
        try:
            import zstandard
        except ImportError:
            return None
        return zstandard.ZstdDecompressor().decompressobj().decompress  # type: ignore[no-any-return]
    if encoding == "identity":
        return lambda data: data
    return None


def decode_content(
    headers: Headers, chunks: list[Chunk], *, already_decoded: bool = False
) -> tuple[Headers, list[Chunk]]:
    """Decode `content-encoding` chunk by chunk (boundaries kept) and drop the header.

    Returns the input unchanged when an encoding has no decoder here or the data is corrupt, so
    the recording stays faithful either way. `already_decoded`: the stack decoded the chunks
    itself, only the headers are fixed.
    """
    raw_encoding = header_value(headers, "content-encoding")
    if not raw_encoding:
        return headers, chunks
    decoded = chunks
    if not already_decoded:
        encodings = [e.strip().lower() for e in raw_encoding.split(",") if e.strip()]
        try:
            for enc in reversed(encodings):
                decode = _decoder(enc)
                if decode is None:
                    return headers, chunks
                decoded = [Chunk(bytes(decode(c.data)), c.t) for c in decoded]
        except Exception:  # a corrupt body: keep it as it came
            return headers, chunks
    total = sum(len(c.data) for c in decoded)
    new_headers: list[tuple[str, str]] = []
    for k, v in headers:
        lk = k.lower()
        if lk == "content-encoding":
            continue
        if lk == "content-length":
            v = str(total)
        new_headers.append((k, v))
    return tuple(new_headers), decoded


def decode_request_body(headers: Headers, body: bytes) -> tuple[Headers, bytes]:
    """A compressed request body (`content-encoding: gzip`, ...) decoded, its headers adjusted.

    Stored decoded, a key inside the body can be redacted and the body reviewed; matching decodes
    a sent request the same way, so replay is unaffected. A body that cannot be decoded here (no
    decoder installed, corrupt data) is never stored as it came: it is replaced by a note with its
    size and digest, which still tells two such bodies apart.
    """
    if not body:
        return headers, body
    raw_encoding = header_map(headers).get("content-encoding")
    if not raw_encoding:
        return headers, body
    encodings = [e.strip().lower() for e in raw_encoding.split(",") if e.strip()]
    decoded = body
    try:
        for enc in reversed(encodings):
            decode = _decoder(enc)
            if decode is None:
                raise ValueError(f"no decoder for {enc!r}")
            decoded = bytes(decode(decoded))
    except Exception:  # no decoder, or a corrupt body: keep nothing of it
        digest = hashlib.sha256(body).hexdigest()
        note = (
            f"llm-cassette: {raw_encoding}-encoded body of {len(body)} bytes not stored "
            f"(cannot decode it here); sha256 {digest}"
        )
        return headers, note.encode()
    kept = tuple(
        (k, str(len(decoded)) if k.lower() == "content-length" else v)
        for k, v in headers
        if k.lower() != "content-encoding"
    )
    return kept, decoded


def is_final_chunk(last: bytes) -> bool:
    """Whether a stream's last chunk ends with a final event: a provider's end of stream, or the
    JSON-RPC response an MCP POST's stream was opened for."""
    tail = last[-256:].rstrip()
    if tail.endswith(b"data: [DONE]") or b"event: message_stop" in tail or b'"message_stop"' in tail:
        return True
    return b'"jsonrpc"' in last and jsonrpc.is_response_event(last)


class Recording:
    """An interaction being recorded: request now, response and chunks as they arrive."""

    def __init__(self, request: Request, started: float | None = None) -> None:
        self.request = request
        self.started = time.perf_counter() if started is None else started
        self.recorded_at = utc_now()
        self.status: int | None = None
        self.headers: Headers = ()
        self.t_headers = 0.0
        self.chunks: list[Chunk] = []
        self.failure: TransportFailure | None = None
        self.cut = False
        self.finished = False
        self.decoded = False
        self._lock = threading.Lock()

    def elapsed_ms(self) -> float:
        return (time.perf_counter() - self.started) * 1000.0

    def start_response(self, status: int, headers: Headers, *, decoded: bool = False) -> None:
        """The status and headers arrived. `decoded`: the stack hands out the body already
        decoded (aiohttp's auto_decompress) while the headers still name its encoding."""
        self.status = status
        self.headers = headers
        self.decoded = decoded
        self.t_headers = self.elapsed_ms()

    def add_chunk(self, data: bytes) -> None:
        if data:
            self.chunks.append(Chunk(bytes(data), self.elapsed_ms()))

    def fail(self, exc: BaseException, message: str | None = None) -> None:
        """Record the transport error `exc` (by class name; `message` in place of `str(exc)`)."""
        with self._lock:
            if self.finished:
                return
            text = str(exc) if message is None else message
            self.failure = TransportFailure(type(exc).__name__, text, self.elapsed_ms())
            self.finished = True

    def saw_final_event(self) -> bool:
        """Whether the stream's last chunk ends with a provider's final SSE event.

        The OpenAI SDK closes a stream right after `data: [DONE]`, before the transport reports
        its end; such a stream is complete, not cut.
        """
        return bool(self.chunks) and is_final_chunk(self.chunks[-1].data)

    def complete(self) -> bool:
        """Whether what was read is the whole body: all of its declared `content-length`, or a
        stream up to a provider's final SSE event."""
        if self.saw_final_event():
            return True
        length = header_value(self.headers, "content-length")
        try:
            return length is not None and sum(len(c.data) for c in self.chunks) >= int(length)
        except ValueError:  # a malformed length proves nothing
            return False

    def finish(self, *, cut: bool = False) -> None:
        with self._lock:
            if not self.finished:
                self.cut = cut
                self.finished = True

    @property
    def streamed(self) -> bool:
        ctype = (header_value(self.headers, "content-type") or "").split(";")[0].strip().lower()
        if is_stream_content_type(ctype):
            return True
        # A body sent in several pieces with no declared length is a stream too (chunk boundaries
        # may matter to the caller); anything else is one body.
        return header_value(self.headers, "content-length") is None and len(self.chunks) > 1

    def to_interaction(self) -> Interaction:
        """The interaction as recorded so far; an unfinished one counts as cut where it stands."""
        if self.status is None:
            failure = self.failure or TransportFailure("RemoteProtocolError", "no response was received")
            return Interaction(request=self.request, error=failure, recorded_at=self.recorded_at)
        headers, chunks = decode_content(self.headers, self.chunks, already_decoded=self.decoded)
        cut = self.cut or not self.finished
        if self.streamed:
            response = Response(
                status=self.status,
                headers=headers,
                chunks=tuple(chunks),
                error=self.failure,
                cut=cut and self.failure is None,
                t=self.t_headers,
            )
        else:
            response = Response(
                status=self.status,
                headers=headers,
                body=b"".join(c.data for c in chunks),
                error=self.failure,
                cut=cut and self.failure is None,
                t=self.t_headers,
            )
        return Interaction(request=self.request, response=response, recorded_at=self.recorded_at)
