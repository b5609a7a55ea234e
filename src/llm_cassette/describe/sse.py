"""Streamed bodies as events: SSE (`event:`/`data:` lines) and newline-delimited JSON."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ..core.models import Response
from .json_values import parse_json


@dataclass(frozen=True)
class SSEEvent:
    """One server-sent event: its `event:` name (None when absent) and its joined `data:` lines."""

    event: str | None
    data: str


def sse_events(data: bytes) -> list[SSEEvent]:
    """Parse an SSE body into events (blank line ends an event; comments and `id:` ignored).

    A trailing event with no blank line after it (a dropped stream) is kept when it has data.
    """
    events: list[SSEEvent] = []
    name: str | None = None
    lines: list[str] = []
    text = data.decode("utf-8", "replace")
    for line in text.splitlines():
        if not line:
            if lines:
                events.append(SSEEvent(name, "\n".join(lines)))
            name, lines = None, []
            continue
        if line.startswith(":"):
            continue
        key, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if key == "event":
            name = value
        elif key == "data":
            lines.append(value)
    if lines:
        events.append(SSEEvent(name, "\n".join(lines)))
    return events


def stream_payloads(resp: Response, content: bytes) -> Iterator[tuple[dict[str, Any] | None, str | None]]:
    """Each event's JSON payload (None for `[DONE]`), with its SSE event name."""
    if resp.content_type in ("application/x-ndjson", "application/jsonl"):
        for line in content.decode("utf-8", "replace").splitlines():
            value = parse_json(line)
            if isinstance(value, dict):
                yield value, None
        return
    for event in sse_events(content):
        if event.data.strip() == "[DONE]":
            yield None, event.event
            continue
        value = parse_json(event.data)
        if isinstance(value, dict):
            yield value, event.event
