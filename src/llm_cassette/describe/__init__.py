"""What an interaction means as an LLM call: model, prompt, assembled reply, usage, timing, error.

`describe(interaction)` reads the recorded request and response of the wire protocols people
record most (OpenAI chat completions, Responses and embeddings, and everything OpenAI-compatible;
Anthropic messages) and returns an `LLMView`: plain data that `show`, `stats` and the HTML report
print without knowing any protocol. Streamed replies are assembled from their SSE events (text
deltas, tool-call argument fragments, the usage event), so a stream reads like the whole answer.

It never raises on odd traffic: an unknown API still gets method, URL, status, timing and errors,
with the LLM fields left empty.

Modules: `view` (the data returned), `interaction` (dispatch by protocol), `openai`, `anthropic`,
`sse` (stream events), `reply` (assembling a reply), `usage_counts` (token counts of a whole
reply, light enough for every test), `pricing` (what recorded tokens cost).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..core.lazy_names import resolver

if TYPE_CHECKING:
    from .interaction import describe, usage
    from .sse import SSEEvent, sse_events
    from .view import Api, ErrorInfo, ErrorKind, LLMView, Message, Provider, ToolCall, Usage

# Resolved on first use, so the run's token count (`usage_counts`, after every replaying test)
# imports only what it reads, not every protocol's reader.
_VIEW = ("Api", "ErrorInfo", "ErrorKind", "LLMView", "Message", "Provider", "ToolCall", "Usage")
__getattr__ = resolver(
    __name__,
    {"describe": ".interaction", "usage": ".interaction", "SSEEvent": ".sse", "sse_events": ".sse"}
    | dict.fromkeys(_VIEW, ".view"),
    globals(),
)

__all__ = [
    "Api",
    "ErrorInfo",
    "ErrorKind",
    "LLMView",
    "Message",
    "Provider",
    "SSEEvent",
    "ToolCall",
    "Usage",
    "describe",
    "sse_events",
    "usage",
]
