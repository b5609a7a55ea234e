"""`describe(interaction)`: which protocol an interaction speaks, and its request and reply read through it."""

from __future__ import annotations

import base64
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

from ..core.models import Interaction, Request, Response, header_value
from .anthropic import ANTHROPIC_EVENTS, anthropic_event, anthropic_messages, anthropic_text, read_message_body
from .json_values import as_dict, as_list, as_str, json_object, json_text
from .openai import (
    chat_chunk,
    chat_message,
    read_chat_body,
    read_responses_output,
    responses_event,
    responses_input,
)
from .reply import Reply, usage_of
from .sse import stream_payloads
from .view import Api, ErrorInfo, LLMView, Message, Provider, Usage


def describe(interaction: Interaction) -> LLMView:
    """Read one recorded interaction as an LLM call (never raises on unexpected content)."""
    req = interaction.request
    body = json_object(req.body)
    provider, api = _classify(req, body)
    request_part = _read_request(api, body)
    base = LLMView(
        method=req.method,
        url=req.url,
        provider=provider,
        api=api,
        model=as_str(body.get("model")) or None,
        **request_part,
    )
    if interaction.error is not None:
        failure = interaction.error
        return _replace(
            base,
            error=ErrorInfo("transport", failure.type, failure.message, t=failure.t),
            total_ms=failure.t,
            complete=False,
        )
    resp = interaction.response
    assert resp is not None  # an Interaction holds exactly one of response and error
    return _with_response(base, resp)


def usage(interaction: Interaction) -> Usage | None:
    """`describe(interaction).usage`, reading only what it needs for a whole JSON reply (the
    run's token count asks for it after every replaying test)."""
    resp = interaction.response
    if resp is None or resp.status >= 400:
        return None
    if resp.streamed or resp.content_type == "text/event-stream":
        return describe(interaction).usage
    return usage_of(json_object(resp.body).get("usage"))


# --- request ----------------------------------------------------------------------------------

_REQUEST_FIELDS = frozenset(
    {"model", "messages", "system", "input", "instructions", "tools", "stream", "stream_options", "prompt"}
)


def _classify(req: Request, body: dict[str, Any]) -> tuple[Provider, Api]:
    path = urlsplit(req.url).path.rstrip("/")
    if path.endswith("/messages") and (header_value(req.headers, "anthropic-version") or "messages" in body):
        return "anthropic", "messages"
    if path.endswith("/chat/completions"):
        return "openai", "chat.completions"
    if path.endswith("/responses"):
        return "openai", "responses"
    if path.endswith("/embeddings"):
        return "openai", "embeddings"
    if path.endswith("/completions"):
        return "openai", "completions"
    if header_value(req.headers, "anthropic-version"):
        return "anthropic", "other"
    return "unknown", "other"


def _read_request(api: Api, body: dict[str, Any]) -> dict[str, Any]:
    messages: list[Message] = []
    if api == "chat.completions":
        messages = [chat_message(m) for m in as_list(body.get("messages"))]
    elif api == "messages":
        system = anthropic_text(body.get("system"))
        if system:
            messages.append(Message("system", system))
        for m in as_list(body.get("messages")):
            messages.extend(anthropic_messages(m))
    elif api == "responses":
        instructions = as_str(body.get("instructions"))
        if instructions:
            messages.append(Message("system", instructions))
        messages.extend(responses_input(body.get("input")))
    elif api == "embeddings":
        raw = body.get("input")
        items = raw if isinstance(raw, list) else [raw]
        messages = [Message("input", x if isinstance(x, str) else "[tokens]") for x in items if x is not None]
    elif api == "completions":
        prompt = body.get("prompt")
        if prompt is not None:
            messages = [Message("user", prompt if isinstance(prompt, str) else json_text(prompt))]
    tools = tuple(name for name in (_tool_name(t) for t in as_list(body.get("tools"))) if name)
    params = {k: v for k, v in body.items() if k not in _REQUEST_FIELDS}
    return {"messages": tuple(messages), "tools": tools, "params": params}


def _tool_name(tool: Any) -> str:
    tool = as_dict(tool)
    return as_str(tool.get("name")) or as_str(as_dict(tool.get("function")).get("name")) or as_str(tool.get("type"))


# --- response ---------------------------------------------------------------------------------


def _with_response(base: LLMView, resp: Response) -> LLMView:
    times = tuple(c.t for c in resp.chunks) if resp.chunks is not None else ()
    ends = [resp.t, *times[-1:]] + ([resp.error.t] if resp.error is not None else [])
    view = _replace(
        base,
        status=resp.status,
        streamed=resp.streamed,
        chunk_times=times,
        time_to_headers=resp.t,
        time_to_first_chunk=times[0] if times else None,
        total_ms=max(ends),
        cut=resp.cut,
    )
    content = resp.content
    reply = Reply()
    if resp.status >= 400:
        reply.error = _http_error(resp.status, content)
        reply.complete = True
    elif resp.streamed or resp.content_type == "text/event-stream":
        _read_stream(base.api, resp, content, reply)
        if base.api == "other":  # no protocol to tell the final event: trust the transport
            reply.complete = not resp.cut
    else:
        body = json_object(content)
        _read_body(base.api, body, reply)
        reply.complete = True
        if base.api == "embeddings":
            vectors = [as_dict(d).get("embedding") for d in as_list(body.get("data"))]
            view = _replace(view, embeddings=len(vectors), dimensions=_dimensions(vectors[0]) if vectors else None)
    if resp.error is not None:
        # A dropped connection outranks an error event only when no event explained it.
        reply.error = reply.error or ErrorInfo("stream", resp.error.type, resp.error.message, t=resp.error.t)
        reply.complete = False
    body_text = ""
    if base.provider == "unknown" and reply.error is None:
        body_text = content.decode("utf-8", "replace") if content else ""
    return _replace(
        view,
        model=view.model or reply.model,
        response_model=reply.model,
        reply_text="".join(reply.text),
        tool_calls=reply.tool_calls(),
        stop_reason=reply.stop_reason,
        usage=reply.usage,
        complete=reply.complete,
        error=reply.error,
        body_text=body_text,
    )


def _read_body(api: Api, body: dict[str, Any], reply: Reply) -> None:
    reply.model = as_str(body.get("model")) or None
    reply.usage = usage_of(body.get("usage"))
    if api in ("chat.completions", "completions"):
        read_chat_body(body, reply)
    elif api == "messages" or body.get("type") == "message":
        read_message_body(body, reply)
    elif api == "responses":
        read_responses_output(body, reply)


def _read_stream(api: Api, resp: Response, content: bytes, reply: Reply) -> None:
    for payload, name in stream_payloads(resp, content):
        if payload is None:  # OpenAI's `data: [DONE]`
            reply.complete = True
            continue
        if api == "messages" or name in ANTHROPIC_EVENTS or payload.get("type") in ANTHROPIC_EVENTS:
            anthropic_event(payload, reply)
        elif api == "responses" or as_str(payload.get("type")).startswith("response."):
            responses_event(payload, reply)
        else:
            chat_chunk(payload, reply)


def _http_error(status: int, content: bytes) -> ErrorInfo:
    """The provider's error type and message from an error body, whatever its shape."""
    body = json_object(content)
    error = body.get("error")
    if isinstance(error, dict):
        kind = as_str(error.get("type")) or as_str(error.get("code")) or as_str(error.get("status"))
        return ErrorInfo("http", kind or f"HTTP {status}", as_str(error.get("message")), status=status)
    for key in ("message", "detail", "error"):
        value = body.get(key)
        if isinstance(value, str) and value:
            return ErrorInfo("http", f"HTTP {status}", value, status=status)
    text = content.decode("utf-8", "replace").strip() if content else ""
    return ErrorInfo("http", f"HTTP {status}", text, status=status)


def _dimensions(vector: Any) -> int | None:
    if isinstance(vector, list):
        return len(vector)
    if isinstance(vector, str):  # encoding_format=base64: little-endian float32s
        try:
            return len(base64.b64decode(vector)) // 4
        except ValueError:
            return None
    return None


def _replace(view: LLMView, **changes: Any) -> LLMView:
    return replace(view, **changes)
