"""A reply being assembled from a whole body or from stream events, whatever the provider."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .usage_counts import usage_counts
from .view import ErrorInfo, ToolCall, Usage


@dataclass
class Reply:
    """A reply being assembled (from a whole body or from stream events)."""

    text: list[str] = field(default_factory=list)
    calls: dict[int, list[str]] = field(default_factory=dict)  # index → [id, name, arguments]
    usage: Usage | None = None
    stop_reason: str | None = None
    model: str | None = None
    complete: bool = False
    error: ErrorInfo | None = None

    def call(self, index: int) -> list[str]:
        return self.calls.setdefault(index, ["", "", ""])

    def tool_calls(self) -> tuple[ToolCall, ...]:
        return tuple(
            ToolCall(name, args, cid or None) for cid, name, args in (self.calls[i] for i in sorted(self.calls))
        )


def usage_of(raw: Any) -> Usage | None:
    counts = usage_counts(raw)
    return None if counts is None else Usage(*counts)
