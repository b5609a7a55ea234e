"""Reading a server-sent-event body back into events, the way a browser's EventSource would."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Event:
    data: str
    event: str = "message"


def parse_sse(body: str) -> list[Event]:
    """The events of an SSE body (one `data:` line per event is all the app sends)."""
    events: list[Event] = []
    for block in body.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "data" in fields:
            events.append(Event(fields["data"], fields.get("event", "message")))
    return events
