"""The OpenAI wire protocols (chat completions, completions, Responses; every compatible server)."""

from __future__ import annotations

from typing import Any

from .json_values import as_dict, as_list, as_str, first, json_text
from .reply import Reply, usage_of
from .view import ErrorInfo, Message, ToolCall

# --- request -----------------------------------------------------------------------------------


def openai_content(content: Any) -> str:
    if isinstance(content, str):
        return content
    parts: list[str] = []
    for part in as_list(content):
        part = as_dict(part)
        kind = as_str(part.get("type"))
        if "text" in part and isinstance(part["text"], str):
            parts.append(part["text"])
        elif kind:
            parts.append(f"[{kind.removeprefix('input_').replace('_url', '')}]")
    return "\n".join(parts)


def chat_message(raw: Any) -> Message:
    m = as_dict(raw)
    calls = tuple(
        ToolCall(
            name=as_str(as_dict(c.get("function")).get("name")),
            arguments=as_str(as_dict(c.get("function")).get("arguments")),
            id=as_str(c.get("id")) or None,
        )
        for c in map(as_dict, as_list(m.get("tool_calls")))
    )
    return Message(
        role=as_str(m.get("role")) or "user",
        content=openai_content(m.get("content")),
        tool_calls=calls,
        tool_call_id=as_str(m.get("tool_call_id")) or None,
    )


def responses_input(raw: Any) -> list[Message]:
    if isinstance(raw, str):
        return [Message("user", raw)]
    out: list[Message] = []
    for item in map(as_dict, as_list(raw)):
        kind = as_str(item.get("type"))
        if kind == "function_call":
            call = ToolCall(
                as_str(item.get("name")), as_str(item.get("arguments")), as_str(item.get("call_id")) or None
            )
            out.append(Message("assistant", "", (call,)))
        elif kind == "function_call_output":
            out.append(Message("tool", json_text(item.get("output")), tool_call_id=as_str(item.get("call_id")) or None))
        elif "role" in item:
            out.append(Message(as_str(item.get("role")), openai_content(item.get("content"))))
    return out


# --- response ---------------------------------------------------------------------------------


def read_chat_body(body: dict[str, Any], reply: Reply) -> None:
    """A whole chat completion (or legacy completion) body."""
    choice = as_dict(first(body.get("choices")))
    message = as_dict(choice.get("message"))
    text = message.get("content") if message else choice.get("text")
    reply.text.append(openai_content(text) if text is not None else "")
    for i, c in enumerate(map(as_dict, as_list(message.get("tool_calls")))):
        fn = as_dict(c.get("function"))
        reply.calls[i] = [as_str(c.get("id")), as_str(fn.get("name")), as_str(fn.get("arguments"))]
    reply.stop_reason = as_str(choice.get("finish_reason")) or None


def read_responses_output(body: dict[str, Any], reply: Reply) -> None:
    reply.text.clear()
    reply.calls.clear()
    for i, item in enumerate(map(as_dict, as_list(body.get("output")))):
        kind = item.get("type")
        if kind == "message":
            for part in map(as_dict, as_list(item.get("content"))):
                if part.get("type") == "output_text":
                    reply.text.append(as_str(part.get("text")))
                elif part.get("type") == "refusal":
                    reply.text.append(as_str(part.get("refusal")))
        elif kind == "function_call":
            reply.calls[i] = [as_str(item.get("call_id")), as_str(item.get("name")), as_str(item.get("arguments"))]
    reply.stop_reason = as_str(body.get("status")) or None
    error = as_dict(body.get("error"))
    if error:
        reply.error = ErrorInfo("event", as_str(error.get("code")) or "error", as_str(error.get("message")))


def chat_chunk(payload: dict[str, Any], reply: Reply) -> None:
    reply.model = reply.model or as_str(payload.get("model")) or None
    if "error" in payload and isinstance(payload["error"], dict):
        error = payload["error"]
        reply.error = ErrorInfo("event", as_str(error.get("type")) or "error", as_str(error.get("message")))
    usage = usage_of(payload.get("usage"))
    if usage is not None:
        reply.usage = usage
    for choice in map(as_dict, as_list(payload.get("choices"))):
        if choice.get("index", 0) != 0:
            continue
        delta = as_dict(choice.get("delta"))
        text = delta.get("content") if delta else choice.get("text")
        if isinstance(text, str):
            reply.text.append(text)
        for c in map(as_dict, as_list(delta.get("tool_calls"))):
            index = c.get("index")
            slot = reply.call(index if isinstance(index, int) else len(reply.calls))
            fn = as_dict(c.get("function"))
            slot[0] = slot[0] or as_str(c.get("id"))
            slot[1] = slot[1] or as_str(fn.get("name"))
            slot[2] += as_str(fn.get("arguments"))
        if choice.get("finish_reason"):
            # The reply itself is whole here; a usage chunk and [DONE] may still follow.
            reply.stop_reason = as_str(choice["finish_reason"])
            reply.complete = True


def responses_event(payload: dict[str, Any], reply: Reply) -> None:
    kind = as_str(payload.get("type"))
    if kind == "response.output_text.delta":
        reply.text.append(as_str(payload.get("delta")))
    elif kind == "response.output_item.added":
        item = as_dict(payload.get("item"))
        index = payload.get("output_index")
        if item.get("type") == "function_call" and isinstance(index, int):
            slot = reply.call(index)
            slot[0], slot[1] = as_str(item.get("call_id")), as_str(item.get("name"))
    elif kind == "response.function_call_arguments.delta":
        index = payload.get("output_index")
        if isinstance(index, int):
            reply.call(index)[2] += as_str(payload.get("delta"))
    elif kind in ("response.created", "response.in_progress"):
        reply.model = reply.model or as_str(as_dict(payload.get("response")).get("model")) or None
    elif kind in ("response.completed", "response.incomplete", "response.failed"):
        # The final event carries the whole response: it is the authoritative reply.
        final = as_dict(payload.get("response"))
        reply.model = as_str(final.get("model")) or reply.model
        reply.usage = usage_of(final.get("usage")) or reply.usage
        read_responses_output(final, reply)
        reply.complete = True
    elif kind == "error":
        reply.error = ErrorInfo("event", as_str(payload.get("code")) or "error", as_str(payload.get("message")))
