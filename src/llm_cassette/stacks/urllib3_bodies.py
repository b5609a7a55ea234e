"""The bodies of urllib3 responses the urllib3 adapter hands out: a replayed one read from
recorded chunks, and a live one teed, read by read, into its recording."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import Any

from ..core.recording import Recording
from .streams import ReplaySync

# What a urllib3 message starts with: the pool or connection it happened on (with an address in
# memory), not worth a line of diff in every re-recorded cassette.
_MESSAGE_PREFIX = re.compile(r"^(?:<[^>]*>|\w+\(host=[^)]*\)): ")


def failure_message(exc: BaseException) -> str:
    """What to record of a transport error: its own message, without the pool or connection."""
    message = getattr(exc, "_message", None)
    if isinstance(message, str):
        return message
    if exc.args and isinstance(exc.args[0], str):
        return _MESSAGE_PREFIX.sub("", exc.args[0])
    return _MESSAGE_PREFIX.sub("", str(exc))


class ChunkSource:
    """A replayed body, read by urllib3 where it reads `http.client`'s response (`HTTPResponse._fp`).

    `read(amt)` has file semantics (up to `amt` bytes, across chunks); `chunks()` yields the
    recorded chunks themselves, for `stream()` / `read_chunked()`. Timing and the recorded error
    after the last chunk come from the shared replay stream.
    """

    def __init__(self, replay: ReplaySync) -> None:
        self._chunks = iter(replay)
        self._current = b""
        self._pending: BaseException | None = None  # the recorded error, after data already read
        self.closed = False
        self.fp = self  # urllib3 allows chunked reads on a body that looks like http.client's

    def isclosed(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def _fill(self) -> bool:
        """Make the next recorded bytes current; False at the end. Raises the recorded error."""
        while not self._current:
            if self._pending is not None:
                error, self._pending = self._pending, None
                self.closed = True
                raise error
            try:
                self._current = next(self._chunks)
            except StopIteration:
                self.closed = True
                return False
            except BaseException:
                self.closed = True
                raise
        return True

    def chunks(self) -> Iterator[bytes]:
        while self._fill():
            data, self._current = self._current, b""
            yield data

    def read1(self, amt: int | None = None) -> bytes:
        if not self._fill():
            return b""
        n = len(self._current) if amt is None or amt < 0 else amt
        data, self._current = self._current[:n], self._current[n:]
        return data

    def read(self, amt: int | None = None) -> bytes:
        parts: list[bytes] = []
        want = None if amt is None or amt < 0 else amt
        while want is None or want > 0:
            try:
                if not self._fill():
                    break
            except BaseException as exc:
                if not parts:
                    raise
                # What came before the error reaches the caller first, as from a socket.
                self._pending, self.closed = exc, False
                break
            part = self.read1(want)
            parts.append(part)
            if want is not None:
                want -= len(part)
        return b"".join(parts)


class ReplayResponse:
    """Mixin for urllib3's `HTTPResponse`: a response served from a cassette, whose `stream()`
    yields the recorded chunks (split at `amt` as a socket would)."""

    _fp: ChunkSource
    decode_content: bool

    def supports_chunked_reads(self) -> bool:
        return True

    def read_chunked(self, amt: int | None = None, decode_content: bool | None = None) -> Iterator[bytes]:
        self._init_decoder()  # type: ignore[attr-defined]
        if amt == 0:
            return
        if amt is not None and amt < 0:
            amt = None
        for data in self._fp.chunks():
            while data:
                piece, data = (data[:amt], data[amt:]) if amt else (data, b"")
                decoded = self._decode(piece, decode_content=decode_content, flush_decoder=False)  # type: ignore[attr-defined]
                if decoded:
                    yield decoded
        if decode_content or (decode_content is None and self.decode_content):
            decoded = self._flush_decoder()  # type: ignore[attr-defined]
            if decoded:
                yield decoded


class TeeResponse:
    """Mixin for urllib3's `HTTPResponse`: a live response whose raw bytes also go, read by read,
    into the recording (`_raw_read` for plain reads, `_handle_chunk` for chunked ones)."""

    _llm_errors: tuple[type[BaseException], ...] = ()
    _llm_rec: Recording
    _llm_drop: tuple[int, BaseException] | None
    _llm_seen: int
    _llm_reading: bool
    length_remaining: int | None
    chunked: bool

    def _llm_tee(self, rec: Recording, drop: tuple[int, BaseException] | None) -> None:
        self._llm_rec = rec
        self._llm_drop = drop
        self._llm_seen = 0
        self._llm_reading = False

    def _llm_passed(self) -> None:
        # A `drop` fault: after so many chunks the caller sees a dropped connection, while the
        # recording underneath still gets the whole response.
        self._llm_seen += 1
        if self._llm_drop is not None and self._llm_seen > self._llm_drop[0]:
            exc = self._llm_drop[1]
            self._llm_drop = None
            self._llm_drain()
            raise exc

    def _raw_read(self, amt: int | None = None, *args: Any, **kwargs: Any) -> bytes:
        rec = self._llm_rec
        self._llm_reading = True
        try:
            data: bytes = super()._raw_read(amt, *args, **kwargs)  # type: ignore[misc]
        except self._llm_errors as exc:
            rec.fail(exc, failure_message(exc))
            raise
        finally:
            self._llm_reading = False
        if data:
            rec.add_chunk(data)
            if self.length_remaining == 0 or self.isclosed():  # type: ignore[attr-defined]
                rec.finish()  # http.client stops at the declared length without an empty read
            self._llm_passed()
        elif amt != 0:
            rec.finish()
        return data

    def _handle_chunk(self, amt: int | None) -> bytes:
        data: bytes = super()._handle_chunk(amt)  # type: ignore[misc]
        self._llm_rec.add_chunk(data)
        return data

    def read_chunked(self, amt: int | None = None, decode_content: bool | None = None) -> Iterator[bytes]:
        rec = self._llm_rec
        chunks = super().read_chunked(amt, decode_content)  # type: ignore[misc]
        while True:
            self._llm_reading = True
            try:
                data = next(chunks, None)
            except self._llm_errors as exc:
                rec.fail(exc, failure_message(exc))
                raise
            finally:
                self._llm_reading = False
            if data is None:
                break
            yield data
            self._llm_passed()
        rec.finish()

    def _llm_drain(self) -> None:
        with contextlib.suppress(*self._llm_errors):  # a transport error here is in the recording
            if self.chunked and self.supports_chunked_reads():  # type: ignore[attr-defined]
                for _ in self.read_chunked():
                    pass
            else:
                while self._raw_read(65536):
                    pass

    def close(self) -> None:
        rec = self._llm_rec
        # urllib3 closes a response itself before it raises a read error: that is no cut.
        if not rec.finished and not self._llm_reading:
            if self._llm_drop is not None:  # a `drop` fault records the whole response
                self._llm_drop = None
                self._llm_drain()
                rec.finish()
            else:
                rec.finish(cut=not rec.saw_final_event())
        super().close()  # type: ignore[misc]
