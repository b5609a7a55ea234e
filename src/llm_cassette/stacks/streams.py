"""The stream layer every stack adapter builds on: tee a live body into a recording, cut it for a
`drop` fault, or replay recorded chunks (with their timing when asked, then the recorded error).

These are mixins: an adapter combines them with its stack's own stream base classes.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from ..core.models import Chunk, TransportFailure
from ..core.recording import Recording
from ..core.replay import ReplayClock


class TeeSync:
    """Passes each chunk to the caller as it arrives and appends it to the recording."""

    def __init__(
        self, inner: Any, recording: Recording, transport_error: type[BaseException], drain: bool = False
    ) -> None:
        self._inner = inner
        self._rec = recording
        self._error = transport_error
        self._drain = drain

    def __iter__(self) -> Iterator[bytes]:
        rec = self._rec
        try:
            for chunk in self._inner:
                rec.add_chunk(chunk)
                yield chunk
        except self._error as exc:
            rec.fail(exc)
            raise
        rec.finish()

    def close(self) -> None:
        rec = self._rec
        try:
            if not rec.finished:
                if self._drain:
                    # A `drop` fault: the caller saw a dropped connection, the recording gets it all.
                    try:
                        for chunk in self._inner:
                            rec.add_chunk(chunk)
                    except self._error as exc:
                        rec.fail(exc)
                    rec.finish()
                else:
                    # The caller stopped reading: keep what it read and never read on (as without
                    # the plugin; a download may never end). Whatever fails afterwards is not recorded.
                    rec.finish(cut=not rec.complete())
        finally:
            self._inner.close()


class TeeAsync:
    def __init__(
        self, inner: Any, recording: Recording, transport_error: type[BaseException], drain: bool = False
    ) -> None:
        self._inner = inner
        self._rec = recording
        self._error = transport_error
        self._drain = drain

    async def __aiter__(self) -> AsyncIterator[bytes]:
        rec = self._rec
        try:
            async for chunk in self._inner:
                rec.add_chunk(chunk)
                yield chunk
        except self._error as exc:
            rec.fail(exc)
            raise
        rec.finish()

    async def aclose(self) -> None:
        rec = self._rec
        try:
            if not rec.finished:
                if self._drain:
                    try:
                        async for chunk in self._inner:
                            rec.add_chunk(chunk)
                    except self._error as exc:
                        rec.fail(exc)
                    rec.finish()
                else:
                    rec.finish(cut=not rec.complete())
        finally:
            await self._inner.aclose()


class DropSync:
    """What a `drop` fault shows the caller while recording: the first chunks, then a dropped
    connection. The recording underneath still gets the whole response."""

    def __init__(self, tee: Any, after: int, exc: BaseException) -> None:
        self._tee = tee
        self._after = after
        self._exc = exc
        self._it: Any = None

    def __iter__(self) -> Iterator[bytes]:
        # One iterator over the tee, kept for close(): the rest of the body is read through the
        # same stream the caller started, never through a second one.
        self._it = iter(self._tee)
        for _ in range(self._after):
            chunk = next(self._it, None)
            if chunk is None:
                break
            yield chunk
        raise self._exc

    def close(self) -> None:
        try:
            if self._it is not None:
                for _ in self._it:  # the recording gets the whole response
                    pass
        except Exception:  # a transport error here is already in the recording
            pass
        finally:
            self._tee.close()


class DropAsync(DropSync):
    async def __aiter__(self) -> AsyncIterator[bytes]:
        self._it = self._tee.__aiter__()
        for _ in range(self._after):
            try:
                chunk = await self._it.__anext__()
            except StopAsyncIteration:
                break
            yield chunk
        raise self._exc

    async def aclose(self) -> None:
        try:
            if self._it is not None:
                async for _ in self._it:
                    pass
        except Exception:  # a transport error here is already in the recording
            pass
        finally:
            await self._tee.aclose()


class ReplaySync:
    """Yields recorded chunks (with their timing when asked), then raises the recorded error."""

    def __init__(
        self,
        chunks: tuple[Chunk, ...],
        error: TransportFailure | None,
        make_error: Callable[[TransportFailure], BaseException],
        clock: ReplayClock | None,
        hold_open: bool = False,
    ) -> None:
        self._hold_open = hold_open
        self._chunks = chunks
        self._error = error
        self._make_error = make_error
        self._clock = clock

    def _delay(self, chunk: Chunk) -> float:
        """Seconds to wait before `chunk` so that it arrives at its recorded (scaled) time."""
        return self._clock.wait_for(chunk.t) if self._clock is not None else 0.0

    def _end(self) -> None:
        if self._error is not None:
            raise self._make_error(self._error)

    def __iter__(self) -> Iterator[bytes]:
        timed = self._clock is not None  # default replay: as fast as possible, no clock per chunk
        for chunk in self._chunks:
            if timed and (delay := self._delay(chunk)) > 0:
                time.sleep(delay)
            yield chunk.data
        self._end()

    def close(self) -> None:
        pass


class ReplayAsync(ReplaySync):
    """`hold_open`: the recording was cut by its client (an MCP server's GET stream, any feed left
    open): after the last chunk the stream stays open, as the server kept it, until the caller
    closes it or cancels the read, instead of ending at once (a client would reconnect)."""

    _closed: Any = None

    async def __aiter__(self) -> AsyncIterator[bytes]:
        timed = self._clock is not None
        for chunk in self._chunks:
            if timed and (delay := self._delay(chunk)) > 0:
                await async_sleep(delay)
            yield chunk.data
        if self._hold_open and self._error is None:
            import anyio

            if self._closed is None:
                self._closed = anyio.Event()
            await self._closed.wait()
            return
        self._end()

    def release(self) -> None:
        """The caller is done: a stream held open ends."""
        self._hold_open = False
        if self._closed is not None:
            self._closed.set()

    async def aclose(self) -> None:
        self.release()


async def async_sleep(seconds: float) -> None:
    import anyio

    await anyio.sleep(seconds)
