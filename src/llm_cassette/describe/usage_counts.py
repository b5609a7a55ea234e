"""Token counts from a reply's `usage` object, for the run's "tokens not spent" after every test.

Light on purpose: it needs only `json_values`, so counting the tokens of a whole JSON reply does not
import the protocol readers (`interaction`, `openai`, `anthropic`, `sse`, `view`). Streams still go
through `describe`, which assembles their usage from the events.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .json_values import as_dict, json_object

if TYPE_CHECKING:
    from ..core.models import Interaction


def usage_counts(raw: Any) -> tuple[int, int, int] | None:
    """(input, output, total) tokens of a provider's `usage` object: OpenAI's `prompt_tokens` /
    `completion_tokens` or Anthropic's `input_tokens` / `output_tokens`; the total is the
    reported one, else their sum. None when there is no usage object."""
    usage = as_dict(raw)
    if not usage:
        return None
    inp = usage.get("input_tokens", usage.get("prompt_tokens"))
    out = usage.get("output_tokens", usage.get("completion_tokens"))
    input_tokens = inp if isinstance(inp, int) else 0
    output_tokens = out if isinstance(out, int) else 0
    total = usage.get("total_tokens")
    return input_tokens, output_tokens, total if isinstance(total, int) else input_tokens + output_tokens


def reply_tokens(interaction: Interaction) -> int | None:
    """Total tokens a whole reply reports (0 for an error, a failure or no usage); None for a
    stream, whose usage only `describe` assembles from its events."""
    resp = interaction.response
    if resp is None or resp.status >= 400:
        return 0
    if resp.streamed or resp.content_type == "text/event-stream":
        return None
    counts = usage_counts(json_object(resp.body).get("usage"))
    return 0 if counts is None else total_of(*counts)


def total_of(input_tokens: int, output_tokens: int, total_tokens: int) -> int:
    """The total to count: the reported one, or the sum when the provider reports 0."""
    return total_tokens or (input_tokens + output_tokens)
