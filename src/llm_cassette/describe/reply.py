"""A reply being assembled from a whole body or from stream events, whatever the provider."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .json_values import as_dict
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
    usage = as_dict(raw)
    if not usage:
        return None
    inp = usage.get("input_tokens", usage.get("prompt_tokens"))
    out = usage.get("output_tokens", usage.get("completion_tokens"))
    input_tokens = inp if isinstance(inp, int) else 0
    output_tokens = out if isinstance(out, int) else 0
    total = usage.get("total_tokens")
    return Usage(input_tokens, output_tokens, total if isinstance(total, int) else input_tokens + output_tokens)
