"""SSE bodies: event encoding, the chunk-delay and drop-after knobs, and quiet deliberate drops."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping, Sequence

from fastapi.responses import StreamingResponse

from .knobs import Knobs
from .replies import compact_json

__all__ = ["DropConnection", "DropLogFilter", "install_drop_log_filter", "is_drop", "sse_event", "stream_response"]


class DropConnection(Exception):
    """Raised inside a streaming body to make uvicorn abort the connection mid-stream."""


def is_drop(exc: BaseException | None, depth: int = 0) -> bool:
    """Whether ``exc`` is, wraps or groups a :class:`DropConnection`."""
    if exc is None or depth > 10:
        return False
    if isinstance(exc, DropConnection):
        return True
    inner_exceptions = getattr(exc, "exceptions", None)  # a (Base)ExceptionGroup on 3.11+
    if isinstance(inner_exceptions, Sequence) and any(
        isinstance(inner, BaseException) and is_drop(inner, depth + 1) for inner in inner_exceptions
    ):
        return True
    return is_drop(exc.__cause__, depth + 1) or is_drop(exc.__context__, depth + 1)


class DropLogFilter(logging.Filter):
    """Hides uvicorn's 'Exception in ASGI application' traceback for deliberate drops."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and is_drop(record.exc_info[1]))


def install_drop_log_filter() -> None:
    """Add :class:`DropLogFilter` to ``uvicorn.error`` once."""
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(existing, DropLogFilter) for existing in logger.filters):
        logger.addFilter(DropLogFilter())


def sse_event(data: object, event: str | None = None) -> bytes:
    """One encoded SSE event (``event:`` line only when given)."""
    prefix = f"event: {event}\n" if event is not None else ""
    payload = data if isinstance(data, str) else compact_json(data)
    return f"{prefix}data: {payload}\n\n".encode()


async def _event_stream(events: list[bytes], knobs: Knobs) -> AsyncIterator[bytes]:
    """Yield one SSE event per body chunk, honouring the chunk-delay and drop-after knobs."""
    for index, event in enumerate(events):
        if index > 0 and knobs.chunk_delay_ms:
            await asyncio.sleep(knobs.chunk_delay_ms / 1000)
        if knobs.drop_after is not None and index >= knobs.drop_after:
            raise DropConnection(f"fake server dropped the connection after {index} events")
        yield event


def stream_response(events: list[bytes], knobs: Knobs, headers: Mapping[str, str]) -> StreamingResponse:
    """A ``text/event-stream`` answer sending ``events`` one per body chunk."""
    return StreamingResponse(
        _event_stream(events, knobs),
        media_type="text/event-stream; charset=utf-8",
        headers={"cache-control": "no-cache", **headers},
    )
