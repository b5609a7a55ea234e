"""The Anthropic messages protocol."""

from __future__ import annotations

from typing import Any

from .json_values import as_dict, as_list, as_str, json_text
from .reply import Reply, usage_of
from .view import ErrorInfo, Message, ToolCall, Usage

ANTHROPIC_EVENTS = frozenset(
    {"message_start", "content_block_start", "content_block_delta", "content_block_stop", "message_delta",
     "message_stop", "ping", "error"}
)  # fmt: skip


def anthropic_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "\n".join(as_str(b.get("text")) for b in map(as_dict, as_list(content)) if b.get("type") == "text")


def anthropic_messages(raw: Any) -> list[Message]:
    """One Anthropic message; its `tool_result` blocks become separate `tool` messages."""
    m = as_dict(raw)
    role = as_str(m.get("role")) or "user"
    content = m.get("content")
    if isinstance(content, str):
        return [Message(role, content)]
    texts: list[str] = []
    calls: list[ToolCall] = []
    results: list[Message] = []
    for block in map(as_dict, as_list(content)):
        kind = as_str(block.get("type"))
        if kind == "text":
            texts.append(as_str(block.get("text")))
        elif kind == "tool_use":
            calls.append(
                ToolCall(as_str(block.get("name")), json_text(block.get("input")), as_str(block.get("id")) or None)
            )
        elif kind == "tool_result":
            inner = block.get("content")
            results.append(
                Message("tool", anthropic_text(inner), tool_call_id=as_str(block.get("tool_use_id")) or None)
            )
        elif kind:
            texts.append(f"[{kind}]")
    out = results[:]
    if texts or calls or not results:
        out.append(Message(role, "\n".join(texts), tuple(calls)))
    return out


def read_message_body(body: dict[str, Any], reply: Reply) -> None:
    """A whole (not streamed) messages body."""
    for i, block in enumerate(map(as_dict, as_list(body.get("content")))):
        if block.get("type") == "text":
            reply.text.append(as_str(block.get("text")))
        elif block.get("type") in ("tool_use", "server_tool_use"):
            reply.calls[i] = [as_str(block.get("id")), as_str(block.get("name")), json_text(block.get("input"))]
    reply.stop_reason = as_str(body.get("stop_reason")) or None


def anthropic_event(payload: dict[str, Any], reply: Reply) -> None:
    kind = payload.get("type")
    if kind == "message_start":
        message = as_dict(payload.get("message"))
        reply.model = as_str(message.get("model")) or reply.model
        reply.usage = usage_of(message.get("usage"))
    elif kind == "content_block_start":
        block = as_dict(payload.get("content_block"))
        index = payload.get("index")
        if block.get("type") in ("tool_use", "server_tool_use") and isinstance(index, int):
            slot = reply.call(index)
            slot[0], slot[1] = as_str(block.get("id")), as_str(block.get("name"))
            initial = block.get("input")
            if initial:  # usually {} with the arguments following as input_json_delta
                slot[2] = json_text(initial)
        elif block.get("type") == "text":
            reply.text.append(as_str(block.get("text")))
    elif kind == "content_block_delta":
        delta = as_dict(payload.get("delta"))
        index = payload.get("index")
        if delta.get("type") == "text_delta":
            reply.text.append(as_str(delta.get("text")))
        elif delta.get("type") == "input_json_delta" and isinstance(index, int):
            reply.call(index)[2] += as_str(delta.get("partial_json"))
    elif kind == "message_delta":
        delta = as_dict(payload.get("delta"))
        reply.stop_reason = as_str(delta.get("stop_reason")) or reply.stop_reason
        _merge_usage(reply, as_dict(payload.get("usage")))
    elif kind == "message_stop":
        reply.complete = True
    elif kind == "error":
        error = as_dict(payload.get("error"))
        reply.error = ErrorInfo("event", as_str(error.get("type")) or "error", as_str(error.get("message")))


def _merge_usage(reply: Reply, usage: dict[str, Any]) -> None:
    """`message_delta` usage is cumulative: its counts replace those from `message_start`."""
    before = reply.usage or Usage()
    inp = usage.get("input_tokens")
    out = usage.get("output_tokens")
    input_tokens = inp if isinstance(inp, int) else before.input_tokens
    output_tokens = out if isinstance(out, int) else before.output_tokens
    reply.usage = Usage(input_tokens, output_tokens, input_tokens + output_tokens)
