"""OpenAI endpoints: chat completions (text, tools, JSON, SSE), embeddings, models, responses."""

from __future__ import annotations

import base64
import hashlib
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from fastapi.responses import JSONResponse, Response, StreamingResponse

from .context import RequestContext, bad_request
from .drift import drifted_arguments, drifted_json, reworded
from .replies import (
    CREATED,
    MODELS,
    JSONDict,
    argument_pieces,
    compact_json,
    content_pieces,
    reply_for,
    text_of,
    truncate_words,
    word_count,
)
from .schema_filler import json_reply, tool_arguments
from .streaming import sse_event, stream_response

__all__ = [
    "DEFAULT_EMBEDDING_DIMENSIONS",
    "answer_chat_completions",
    "answer_embeddings",
    "answer_models",
    "answer_responses",
]


#: Length of the embedding vectors when the request does not ask for ``dimensions``.
DEFAULT_EMBEDDING_DIMENSIONS = 8


@dataclass
class _ChatPlan:
    """What a chat completion answers: either ``text`` or a tool call."""

    text: str | None
    finish_reason: str
    tool_name: str = ""
    tool_arguments: str = ""
    tool_call_id: str = ""


def _last_user_text(messages: Sequence[Any]) -> str:
    for message in reversed(messages):
        if isinstance(message, Mapping) and message.get("role") == "user":
            return text_of(message.get("content"))
    return ""


def _openai_tool(tools: Sequence[Any], tool_choice: object) -> Mapping[str, Any] | None:
    functions = [
        tool["function"] for tool in tools if isinstance(tool, Mapping) and isinstance(tool.get("function"), Mapping)
    ]
    if not functions or tool_choice == "none":
        return None
    if isinstance(tool_choice, Mapping):
        wanted = tool_choice.get("function")
        name = wanted.get("name") if isinstance(wanted, Mapping) else tool_choice.get("name")
        for function in functions:
            if function.get("name") == name:
                return cast("Mapping[str, Any]", function)
    return cast("Mapping[str, Any]", functions[0])


def _plan_chat(ctx: RequestContext, messages: Sequence[Any]) -> _ChatPlan:
    body = ctx.body
    last = messages[-1] if messages else {}
    last_role = last.get("role") if isinstance(last, Mapping) else None
    user_text = _last_user_text(messages)
    tools = body.get("tools")
    if last_role == "tool":
        results: list[str] = []
        for message in reversed(messages):
            if not (isinstance(message, Mapping) and message.get("role") == "tool"):
                break
            results.insert(0, text_of(message.get("content")))
        text = reworded("The tool returned: " + "; ".join(results), ctx.knobs)
    elif last_role == "user" and isinstance(tools, list):
        function = _openai_tool(tools, body.get("tool_choice"))
        if function is not None:
            arguments = compact_json(
                drifted_arguments(tool_arguments(function.get("parameters"), user_text), ctx.knobs)
            )
            return _ChatPlan(
                text=None,
                finish_reason="tool_calls",
                tool_name=str(function.get("name", "")),
                tool_arguments=arguments,
                tool_call_id=ctx.ident("call_"),
            )
        text = reworded(reply_for(user_text), ctx.knobs)
    else:
        text = reworded(reply_for(user_text), ctx.knobs)
    json_text = drifted_json(json_reply(body.get("response_format"), text), ctx.knobs)
    if json_text is not None:
        return _ChatPlan(text=json_text, finish_reason="stop")
    max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
    text, truncated = truncate_words(text, max_tokens)
    return _ChatPlan(text=text, finish_reason="length" if truncated else "stop")


def _prompt_words(messages: Sequence[Any]) -> int:
    total = 0
    for message in messages:
        if isinstance(message, Mapping):
            total += word_count(text_of(message.get("content")))
    return max(total, 1)


def _openai_usage(prompt: int, completion: int) -> JSONDict:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def answer_chat_completions(ctx: RequestContext) -> Response:
    messages = ctx.body.get("messages")
    if not isinstance(messages, list) or not messages:
        return bad_request(ctx, "'messages' must be a non-empty array.", "messages")
    plan = _plan_chat(ctx, messages)
    completion_id = ctx.ident("chatcmpl-")
    prompt_tokens = _prompt_words(messages)
    headers = {"x-request-id": ctx.request_id}
    if ctx.body.get("stream") is True:
        return _chat_stream(ctx, plan, completion_id, prompt_tokens, headers)
    message: JSONDict = {"role": "assistant", "content": plan.text, "refusal": None, "annotations": []}
    if plan.text is None:
        completion = plan.tool_arguments
        message["tool_calls"] = [
            {
                "id": plan.tool_call_id,
                "type": "function",
                "function": {"name": plan.tool_name, "arguments": plan.tool_arguments},
            }
        ]
    else:
        completion = plan.text
    response: JSONDict = {
        "id": completion_id,
        "object": "chat.completion",
        "created": ctx.created,
        "model": ctx.model,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": plan.finish_reason}],
        "usage": _openai_usage(prompt_tokens, word_count(completion)),
        "service_tier": "default",
        "system_fingerprint": ctx.fingerprint,
        **ctx.echo,
    }
    return JSONResponse(response, headers=headers)


def _chat_stream(
    ctx: RequestContext, plan: _ChatPlan, completion_id: str, prompt_tokens: int, headers: Mapping[str, str]
) -> StreamingResponse:
    options = ctx.body.get("stream_options")
    include_usage = isinstance(options, Mapping) and options.get("include_usage") is True

    def chunk(delta: JSONDict, finish_reason: str | None = None) -> JSONDict:
        data: JSONDict = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": ctx.created,
            "model": ctx.model,
            "service_tier": "default",
            "system_fingerprint": ctx.fingerprint,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
        }
        if include_usage:
            data["usage"] = None
        return data

    events: list[JSONDict] = []
    if plan.text is None:
        events.append(
            chunk(
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "index": 0,
                            "id": plan.tool_call_id,
                            "type": "function",
                            "function": {"name": plan.tool_name, "arguments": ""},
                        }
                    ],
                    "refusal": None,
                }
            )
        )
        for piece in argument_pieces(plan.tool_arguments, ctx.knobs.chunks):
            events.append(chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}))
        completion = plan.tool_arguments
    else:
        events.append(chunk({"role": "assistant", "content": "", "refusal": None}))
        pieces = content_pieces(plan.text, ctx.knobs.chunks)
        events.extend(chunk({"content": piece}) for piece in pieces)
        completion = "".join(pieces)
    events.append(chunk({}, plan.finish_reason))
    if include_usage:
        usage_chunk = chunk({})
        usage_chunk["choices"] = []
        usage_chunk["usage"] = _openai_usage(prompt_tokens, word_count(completion))
        events.append(usage_chunk)
    events[0].update(ctx.echo)
    encoded = [sse_event(event) for event in events]
    encoded.append(sse_event("[DONE]"))
    return stream_response(encoded, ctx.knobs, headers)


def _embedding_vector(text: str, dimensions: int) -> list[float]:
    """Deterministic floats in [-1, 1), each exactly representable as float32."""
    values: list[float] = []
    block = 0
    while len(values) < dimensions:
        digest = hashlib.sha256(f"{block}\x00{text}".encode()).digest()
        values.extend((byte - 128) / 128 for byte in digest)
        block += 1
    return values[:dimensions]


def answer_embeddings(ctx: RequestContext) -> Response:
    raw_input = ctx.body.get("input")
    if isinstance(raw_input, str):
        inputs = [raw_input]
    elif isinstance(raw_input, list) and raw_input:
        if all(isinstance(item, int) for item in raw_input):
            inputs = [compact_json(raw_input)]  # a single tokenized input
        else:
            inputs = [item if isinstance(item, str) else compact_json(item) for item in raw_input]
    else:
        return bad_request(ctx, "'input' must be a string or a non-empty array.", "input")
    dimensions = ctx.body.get("dimensions", DEFAULT_EMBEDDING_DIMENSIONS)
    if not isinstance(dimensions, int) or isinstance(dimensions, bool) or not 1 <= dimensions <= 4096:
        return bad_request(ctx, "'dimensions' must be an integer between 1 and 4096.", "dimensions")
    encoding = ctx.body.get("encoding_format", "float")
    if encoding not in ("float", "base64"):
        return bad_request(ctx, "'encoding_format' must be 'float' or 'base64'.", "encoding_format")
    data: list[JSONDict] = []
    for index, text in enumerate(inputs):
        vector = _embedding_vector(text, dimensions)
        embedding: list[float] | str = vector
        if encoding == "base64":
            embedding = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")
        data.append({"object": "embedding", "index": index, "embedding": embedding})
    tokens = max(sum(word_count(text) for text in inputs), 1)
    response: JSONDict = {
        "object": "list",
        "data": data,
        "model": ctx.model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        **ctx.echo,
    }
    return JSONResponse(response, headers={"x-request-id": ctx.request_id})


def answer_models(ctx: RequestContext) -> Response:
    if "anthropic-version" in ctx.request.headers:
        anthropic_data = [
            {"type": "model", "id": model, "display_name": model, "created_at": "2023-11-14T22:13:20Z"}
            for model in MODELS
        ]
        body: JSONDict = {
            "data": anthropic_data,
            "has_more": False,
            "first_id": MODELS[0],
            "last_id": MODELS[-1],
            **ctx.echo,
        }
        return JSONResponse(body, headers={"request-id": ctx.request_id})
    openai_data = [{"id": model, "object": "model", "created": CREATED, "owned_by": "llm-cassette"} for model in MODELS]
    return JSONResponse({"object": "list", "data": openai_data, **ctx.echo}, headers={"x-request-id": ctx.request_id})


def _responses_input_text(value: object) -> tuple[str, int]:
    """(last user text, total words) of a Responses API ``input``."""
    if isinstance(value, str):
        return value, word_count(value)
    last = ""
    total = 0
    if isinstance(value, list):
        for item in value:
            if not isinstance(item, Mapping):
                continue
            text = text_of(item.get("content"))
            total += word_count(text)
            if item.get("role", "user") == "user":
                last = text
    return last, total


def answer_responses(ctx: RequestContext) -> Response:
    if ctx.body.get("stream") is True:
        return bad_request(ctx, "The fake server does not stream the Responses API.", "stream")
    user_text, input_words = _responses_input_text(ctx.body.get("input"))
    instructions = ctx.body.get("instructions")
    if isinstance(instructions, str):
        input_words += word_count(instructions)
    text = reworded(reply_for(user_text), ctx.knobs)
    text_format = ctx.body.get("text")
    if isinstance(text_format, Mapping) and isinstance(text_format.get("format"), Mapping):
        fmt = text_format["format"]
        if fmt.get("type") == "json_schema":
            wrapped = drifted_json(json_reply({"type": "json_schema", "json_schema": fmt}, text), ctx.knobs)
        else:
            wrapped = drifted_json(json_reply(fmt, text), ctx.knobs)
        text = wrapped if wrapped is not None else text
    input_tokens = max(input_words, 1)
    output_tokens = word_count(text)
    response: JSONDict = {
        "id": ctx.ident("resp_"),
        "object": "response",
        "created_at": ctx.created,
        "status": "completed",
        "error": None,
        "incomplete_details": None,
        "instructions": instructions if isinstance(instructions, str) else None,
        "max_output_tokens": ctx.body.get("max_output_tokens"),
        "model": ctx.model,
        "output": [
            {
                "type": "message",
                "id": ctx.ident("msg_"),
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}],
            }
        ],
        "parallel_tool_calls": True,
        "previous_response_id": ctx.body.get("previous_response_id"),
        "reasoning": {"effort": None, "summary": None},
        "store": ctx.body.get("store", True),
        "temperature": ctx.body.get("temperature", 1.0),
        "text": {"format": {"type": "text"}},
        "tool_choice": "auto",
        "tools": [],
        "top_p": ctx.body.get("top_p", 1.0),
        "truncation": "disabled",
        "usage": {
            "input_tokens": input_tokens,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": output_tokens,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": input_tokens + output_tokens,
        },
        "user": None,
        "metadata": {},
        **ctx.echo,
    }
    return JSONResponse(response, headers={"x-request-id": ctx.request_id})
