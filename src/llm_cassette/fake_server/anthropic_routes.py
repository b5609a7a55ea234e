"""Anthropic endpoints: messages (text, tool use, the full SSE event sequence) and token counting."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from fastapi.responses import JSONResponse, Response, StreamingResponse

from .context import RequestContext, bad_request
from .drift import drifted_arguments, reworded
from .replies import (
    JSONDict,
    argument_pieces,
    compact_json,
    content_pieces,
    reply_for,
    text_of,
    truncate_words,
    word_count,
)
from .schema_filler import tool_arguments
from .streaming import sse_event, stream_response

__all__ = ["answer_count_tokens", "answer_messages"]


def _anthropic_blocks(content: object) -> list[Mapping[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if isinstance(content, list):
        return [block for block in content if isinstance(block, Mapping)]
    return []


def _anthropic_prompt_words(body: Mapping[str, Any], messages: Sequence[Any]) -> int:
    total = word_count(text_of(body.get("system")))
    for message in messages:
        if isinstance(message, Mapping):
            total += word_count(text_of(message.get("content")))
    return max(total, 1)


@dataclass
class _AnthropicPlan:
    text: str | None
    stop_reason: str
    tool_name: str = ""
    tool_input: JSONDict | None = None
    tool_id: str = ""


def _anthropic_tool(tools: Sequence[Any], tool_choice: object) -> Mapping[str, Any] | None:
    candidates = [tool for tool in tools if isinstance(tool, Mapping) and isinstance(tool.get("name"), str)]
    choice_type = tool_choice.get("type") if isinstance(tool_choice, Mapping) else None
    if not candidates or choice_type == "none":
        return None
    if choice_type == "tool" and isinstance(tool_choice, Mapping):
        for tool in candidates:
            if tool.get("name") == tool_choice.get("name"):
                return cast("Mapping[str, Any]", tool)
    return cast("Mapping[str, Any]", candidates[0])


def _plan_anthropic(ctx: RequestContext, messages: Sequence[Any]) -> _AnthropicPlan:
    user_text = ""
    tool_results: list[str] = []
    last = messages[-1] if messages else {}
    for message in reversed(messages):
        if isinstance(message, Mapping) and message.get("role") == "user":
            blocks = _anthropic_blocks(message.get("content"))
            user_text = " ".join(text_of(b.get("text")) for b in blocks if b.get("type") == "text")
            if message is last:
                tool_results = [text_of(b.get("content")) for b in blocks if b.get("type") == "tool_result"]
            break
    tools = ctx.body.get("tools")
    if tool_results:
        text = reworded("The tool returned: " + "; ".join(tool_results), ctx.knobs)
    elif isinstance(last, Mapping) and last.get("role") == "user" and isinstance(tools, list):
        tool = _anthropic_tool(tools, ctx.body.get("tool_choice"))
        if tool is not None:
            return _AnthropicPlan(
                text=None,
                stop_reason="tool_use",
                tool_name=str(tool["name"]),
                tool_input=drifted_arguments(tool_arguments(tool.get("input_schema"), user_text), ctx.knobs),
                tool_id=ctx.ident("toolu_"),
            )
        text = reworded(reply_for(user_text), ctx.knobs)
    else:
        text = reworded(reply_for(user_text), ctx.knobs)
    text, truncated = truncate_words(text, ctx.body.get("max_tokens"))
    return _AnthropicPlan(text=text, stop_reason="max_tokens" if truncated else "end_turn")


def _anthropic_usage(input_tokens: int, output_tokens: int) -> JSONDict:
    return {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
    }


def answer_messages(ctx: RequestContext) -> Response:
    messages = ctx.body.get("messages")
    if not isinstance(messages, list) or not messages:
        return bad_request(ctx, "messages: field required and must be a non-empty list")
    plan = _plan_anthropic(ctx, messages)
    input_tokens = _anthropic_prompt_words(ctx.body, messages)
    headers = {"request-id": ctx.request_id}
    if ctx.body.get("stream") is True:
        return _messages_stream(ctx, plan, input_tokens, headers)
    if plan.text is None:
        content: list[JSONDict] = [
            {"type": "tool_use", "id": plan.tool_id, "name": plan.tool_name, "input": plan.tool_input or {}}
        ]
        output_tokens = word_count(compact_json(plan.tool_input or {}))
    else:
        content = [{"type": "text", "text": plan.text}]
        output_tokens = word_count(plan.text)
    response: JSONDict = {
        "id": ctx.ident("msg_"),
        "type": "message",
        "role": "assistant",
        "model": ctx.model,
        "content": content,
        "stop_reason": plan.stop_reason,
        "stop_sequence": None,
        "usage": _anthropic_usage(input_tokens, output_tokens),
        **ctx.echo,
    }
    return JSONResponse(response, headers=headers)


def _messages_stream(
    ctx: RequestContext, plan: _AnthropicPlan, input_tokens: int, headers: Mapping[str, str]
) -> StreamingResponse:
    events: list[bytes] = []

    def add(data: JSONDict) -> None:
        events.append(sse_event(data, event=str(data["type"])))

    add(
        {
            "type": "message_start",
            "message": {
                "id": ctx.ident("msg_"),
                "type": "message",
                "role": "assistant",
                "model": ctx.model,
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": _anthropic_usage(input_tokens, 1),
            },
            **ctx.echo,
        }
    )
    if plan.text is None:
        arguments = compact_json(plan.tool_input or {})
        add(
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {
                    "type": "tool_use",
                    "id": plan.tool_id,
                    "name": plan.tool_name,
                    "input": {},
                },
            }
        )
        add({"type": "ping"})
        for piece in argument_pieces(arguments, ctx.knobs.chunks):
            add(
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "input_json_delta", "partial_json": piece},
                }
            )
        output_tokens = word_count(arguments)
    else:
        add({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})
        add({"type": "ping"})
        pieces = content_pieces(plan.text, ctx.knobs.chunks)
        for piece in pieces:
            add({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": piece}})
        output_tokens = word_count("".join(pieces))
    add({"type": "content_block_stop", "index": 0})
    add(
        {
            "type": "message_delta",
            "delta": {"stop_reason": plan.stop_reason, "stop_sequence": None},
            "usage": {"output_tokens": output_tokens},
        }
    )
    add({"type": "message_stop"})
    return stream_response(events, ctx.knobs, headers)


def answer_count_tokens(ctx: RequestContext) -> Response:
    messages = ctx.body.get("messages")
    if not isinstance(messages, list):
        return bad_request(ctx, "messages: field required")
    body: JSONDict = {"input_tokens": _anthropic_prompt_words(ctx.body, messages), **ctx.echo}
    return JSONResponse(body, headers={"request-id": ctx.request_id})
