"""What an interaction means as an LLM call: model, prompt, assembled reply, usage, timing, error.

`describe(interaction)` reads the recorded request and response of the wire protocols people
record most (OpenAI chat completions, Responses and embeddings, and everything OpenAI-compatible;
Anthropic messages) and returns an `LLMView`: plain data that `show`, `stats` and the HTML report
print without knowing any protocol. Streamed replies are assembled from their SSE events (text
deltas, tool-call argument fragments, the usage event), so a stream reads like the whole answer.

It never raises on odd traffic: an unknown API still gets method, URL, status, timing and errors,
with the LLM fields left empty.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal
from urllib.parse import urlsplit

from ._models import Interaction, Request, Response, header_value

Provider = Literal["openai", "anthropic", "unknown"]
"""Who speaks the protocol: `openai` covers every OpenAI-compatible server (Azure, Ollama, vLLM...)."""

Api = Literal["chat.completions", "completions", "responses", "embeddings", "messages", "other"]
"""Which endpoint family the request went to."""

ErrorKind = Literal["transport", "http", "stream", "event"]
"""`transport`: no response at all; `http`: an error status; `stream`: the connection dropped
mid-stream; `event`: an error event inside a 200 stream."""


@dataclass(frozen=True)
class ToolCall:
    """A tool (function) call, from the model's reply or from an earlier assistant turn.

    `arguments` is the JSON text as the model produced it: for a stream that was cut or dropped it
    may be incomplete, so it is kept as text rather than parsed.
    """

    name: str
    arguments: str = ""
    id: str | None = None

    def parsed_arguments(self) -> Any:
        """The arguments as JSON data, or None when they are not (yet) valid JSON."""
        try:
            return json.loads(self.arguments) if self.arguments else None
        except ValueError:
            return None


@dataclass(frozen=True)
class Message:
    """One turn of the conversation sent to the model.

    `role` is the provider's role (`system`, `developer`, `user`, `assistant`, `tool`), with
    `input` for embedding inputs. Tool results are `tool` messages carrying `tool_call_id`;
    non-text parts (images, files) appear as placeholders such as `[image]`.
    """

    role: str
    content: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None


@dataclass(frozen=True)
class Usage:
    """Token counts as the provider reported them (input = prompt, output = completion)."""

    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0


@dataclass(frozen=True)
class ErrorInfo:
    """What went wrong, in one shape for transport failures, HTTP errors and stream errors.

    `type` is the exception class name for transport and stream errors (`ReadTimeout`,
    `RemoteProtocolError`) and the provider's error type for HTTP and event errors
    (`rate_limit_error`, `server_error`), falling back to `HTTP <status>`.
    """

    kind: ErrorKind
    type: str
    message: str = ""
    status: int | None = None
    t: float | None = None

    def summary(self) -> str:
        """One line such as `HTTP 500 server_error: The server had an error`."""
        head = self.type
        if self.kind == "http" and not self.type.startswith("HTTP "):
            head = f"HTTP {self.status} {self.type}"
        return f"{head}: {self.message}" if self.message else head


@dataclass(frozen=True)
class LLMView:
    """An interaction read as an LLM call. Times are milliseconds since the request started."""

    method: str
    url: str
    provider: Provider = "unknown"
    api: Api = "other"
    status: int | None = None
    model: str | None = None
    """The model the request asked for (falls back to the one the response names)."""
    response_model: str | None = None
    """The model the response names (often a dated snapshot of `model`)."""
    messages: tuple[Message, ...] = ()
    tools: tuple[str, ...] = ()
    """Names of the tools offered to the model."""
    params: Mapping[str, Any] = field(default_factory=dict)
    """Other request parameters (temperature, max_tokens, response_format...)."""
    reply_text: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    stop_reason: str | None = None
    usage: Usage | None = None
    embeddings: int = 0
    """Number of vectors in an embeddings reply."""
    dimensions: int | None = None
    streamed: bool = False
    chunk_times: tuple[float, ...] = ()
    time_to_headers: float | None = None
    time_to_first_chunk: float | None = None
    total_ms: float | None = None
    complete: bool = True
    """False when the reply ended before its final event (a dropped or cut stream, a transport error).

    SDKs often close a stream right after its final event, so `cut` alone does not mean incomplete."""
    cut: bool = False
    """The caller stopped reading the stream; what followed was never recorded."""
    error: ErrorInfo | None = None
    body_text: str = ""
    """The response body as text for APIs this module does not understand ("" otherwise)."""

    @property
    def is_error(self) -> bool:
        return self.error is not None

    @property
    def chunk_count(self) -> int:
        return len(self.chunk_times)

    @property
    def last_user_message(self) -> str | None:
        """The text of the last `user` (or embedding `input`) message, if any."""
        for message in reversed(self.messages):
            if message.role in ("user", "input") and message.content:
                return message.content
        return None

    @property
    def system_prompt(self) -> str | None:
        for message in self.messages:
            if message.role in ("system", "developer"):
                return message.content
        return None


@dataclass(frozen=True)
class SSEEvent:
    """One server-sent event: its `event:` name (None when absent) and its joined `data:` lines."""

    event: str | None
    data: str


def describe(interaction: Interaction) -> LLMView:
    """Read one recorded interaction as an LLM call (never raises on unexpected content)."""
    req = interaction.request
    body = _json_of(req.body)
    provider, api = _classify(req, body)
    request_part = _read_request(api, body)
    base = LLMView(
        method=req.method,
        url=req.url,
        provider=provider,
        api=api,
        model=_str(body.get("model")) or None,
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


def sse_events(data: bytes) -> list[SSEEvent]:
    """Parse an SSE body into events (blank line ends an event; comments and `id:` ignored).

    A trailing event with no blank line after it (a dropped stream) is kept when it has data.
    """
    events: list[SSEEvent] = []
    name: str | None = None
    lines: list[str] = []
    text = data.decode("utf-8", "replace")
    for line in text.splitlines():
        if not line:
            if lines:
                events.append(SSEEvent(name, "\n".join(lines)))
            name, lines = None, []
            continue
        if line.startswith(":"):
            continue
        key, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if key == "event":
            name = value
        elif key == "data":
            lines.append(value)
    if lines:
        events.append(SSEEvent(name, "\n".join(lines)))
    return events


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
        messages = [_openai_message(m) for m in _list(body.get("messages"))]
    elif api == "messages":
        system = _anthropic_text(body.get("system"))
        if system:
            messages.append(Message("system", system))
        for m in _list(body.get("messages")):
            messages.extend(_anthropic_messages(m))
    elif api == "responses":
        instructions = _str(body.get("instructions"))
        if instructions:
            messages.append(Message("system", instructions))
        messages.extend(_responses_input(body.get("input")))
    elif api == "embeddings":
        raw = body.get("input")
        items = raw if isinstance(raw, list) else [raw]
        messages = [Message("input", x if isinstance(x, str) else "[tokens]") for x in items if x is not None]
    elif api == "completions":
        prompt = body.get("prompt")
        if prompt is not None:
            messages = [Message("user", prompt if isinstance(prompt, str) else json.dumps(prompt))]
    tools = tuple(name for name in (_tool_name(t) for t in _list(body.get("tools"))) if name)
    params = {k: v for k, v in body.items() if k not in _REQUEST_FIELDS}
    return {"messages": tuple(messages), "tools": tools, "params": params}


def _tool_name(tool: Any) -> str:
    tool = _dict(tool)
    return _str(tool.get("name")) or _str(_dict(tool.get("function")).get("name")) or _str(tool.get("type"))


def _openai_content(content: Any) -> str:
    if isinstance(content, str):
        return content
    parts: list[str] = []
    for part in _list(content):
        part = _dict(part)
        kind = _str(part.get("type"))
        if "text" in part and isinstance(part["text"], str):
            parts.append(part["text"])
        elif kind:
            parts.append(f"[{kind.removeprefix('input_').replace('_url', '')}]")
    return "\n".join(parts)


def _openai_message(raw: Any) -> Message:
    m = _dict(raw)
    calls = tuple(
        ToolCall(
            name=_str(_dict(c.get("function")).get("name")),
            arguments=_str(_dict(c.get("function")).get("arguments")),
            id=_str(c.get("id")) or None,
        )
        for c in map(_dict, _list(m.get("tool_calls")))
    )
    return Message(
        role=_str(m.get("role")) or "user",
        content=_openai_content(m.get("content")),
        tool_calls=calls,
        tool_call_id=_str(m.get("tool_call_id")) or None,
    )


def _anthropic_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "\n".join(_str(b.get("text")) for b in map(_dict, _list(content)) if b.get("type") == "text")


def _anthropic_messages(raw: Any) -> list[Message]:
    """One Anthropic message; its `tool_result` blocks become separate `tool` messages."""
    m = _dict(raw)
    role = _str(m.get("role")) or "user"
    content = m.get("content")
    if isinstance(content, str):
        return [Message(role, content)]
    texts: list[str] = []
    calls: list[ToolCall] = []
    results: list[Message] = []
    for block in map(_dict, _list(content)):
        kind = _str(block.get("type"))
        if kind == "text":
            texts.append(_str(block.get("text")))
        elif kind == "tool_use":
            calls.append(
                ToolCall(_str(block.get("name")), _json_text(block.get("input")), _str(block.get("id")) or None)
            )
        elif kind == "tool_result":
            inner = block.get("content")
            results.append(Message("tool", _anthropic_text(inner), tool_call_id=_str(block.get("tool_use_id")) or None))
        elif kind:
            texts.append(f"[{kind}]")
    out = results[:]
    if texts or calls or not results:
        out.append(Message(role, "\n".join(texts), tuple(calls)))
    return out


def _responses_input(raw: Any) -> list[Message]:
    if isinstance(raw, str):
        return [Message("user", raw)]
    out: list[Message] = []
    for item in map(_dict, _list(raw)):
        kind = _str(item.get("type"))
        if kind == "function_call":
            call = ToolCall(_str(item.get("name")), _str(item.get("arguments")), _str(item.get("call_id")) or None)
            out.append(Message("assistant", "", (call,)))
        elif kind == "function_call_output":
            out.append(Message("tool", _json_text(item.get("output")), tool_call_id=_str(item.get("call_id")) or None))
        elif "role" in item:
            out.append(Message(_str(item.get("role")), _openai_content(item.get("content"))))
    return out


# --- response ---------------------------------------------------------------------------------


@dataclass
class _Reply:
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
    reply = _Reply()
    if resp.status >= 400:
        reply.error = _http_error(resp.status, content)
        reply.complete = True
    elif resp.streamed or resp.content_type == "text/event-stream":
        _read_stream(base.api, resp, content, reply)
        if base.api == "other":  # no protocol to tell the final event: trust the transport
            reply.complete = not resp.cut
    else:
        body = _json_of(content)
        _read_body(base.api, body, reply)
        reply.complete = True
        if base.api == "embeddings":
            vectors = [_dict(d).get("embedding") for d in _list(body.get("data"))]
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


def _read_body(api: Api, body: dict[str, Any], reply: _Reply) -> None:
    reply.model = _str(body.get("model")) or None
    reply.usage = _usage(body.get("usage"))
    if api in ("chat.completions", "completions"):
        choice = _dict(_first(body.get("choices")))
        message = _dict(choice.get("message"))
        text = message.get("content") if message else choice.get("text")
        reply.text.append(_openai_content(text) if text is not None else "")
        for i, c in enumerate(map(_dict, _list(message.get("tool_calls")))):
            fn = _dict(c.get("function"))
            reply.calls[i] = [_str(c.get("id")), _str(fn.get("name")), _str(fn.get("arguments"))]
        reply.stop_reason = _str(choice.get("finish_reason")) or None
    elif api == "messages" or body.get("type") == "message":
        for i, block in enumerate(map(_dict, _list(body.get("content")))):
            if block.get("type") == "text":
                reply.text.append(_str(block.get("text")))
            elif block.get("type") in ("tool_use", "server_tool_use"):
                reply.calls[i] = [_str(block.get("id")), _str(block.get("name")), _json_text(block.get("input"))]
        reply.stop_reason = _str(body.get("stop_reason")) or None
    elif api == "responses":
        _read_responses_output(body, reply)


def _read_responses_output(body: dict[str, Any], reply: _Reply) -> None:
    reply.text.clear()
    reply.calls.clear()
    for i, item in enumerate(map(_dict, _list(body.get("output")))):
        kind = item.get("type")
        if kind == "message":
            for part in map(_dict, _list(item.get("content"))):
                if part.get("type") == "output_text":
                    reply.text.append(_str(part.get("text")))
                elif part.get("type") == "refusal":
                    reply.text.append(_str(part.get("refusal")))
        elif kind == "function_call":
            reply.calls[i] = [_str(item.get("call_id")), _str(item.get("name")), _str(item.get("arguments"))]
    reply.stop_reason = _str(body.get("status")) or None
    error = _dict(body.get("error"))
    if error:
        reply.error = ErrorInfo("event", _str(error.get("code")) or "error", _str(error.get("message")))


def _read_stream(api: Api, resp: Response, content: bytes, reply: _Reply) -> None:
    for payload, name in _stream_payloads(resp, content):
        if payload is None:  # OpenAI's `data: [DONE]`
            reply.complete = True
            continue
        if api == "messages" or name in _ANTHROPIC_EVENTS or payload.get("type") in _ANTHROPIC_EVENTS:
            _anthropic_event(payload, reply)
        elif api == "responses" or _str(payload.get("type")).startswith("response."):
            _responses_event(payload, reply)
        else:
            _openai_chunk(payload, reply)


_ANTHROPIC_EVENTS = frozenset(
    {"message_start", "content_block_start", "content_block_delta", "content_block_stop", "message_delta",
     "message_stop", "ping", "error"}
)  # fmt: skip


def _stream_payloads(resp: Response, content: bytes) -> Iterator[tuple[dict[str, Any] | None, str | None]]:
    """Each event's JSON payload (None for `[DONE]`), with its SSE event name."""
    if resp.content_type in ("application/x-ndjson", "application/jsonl"):
        for line in content.decode("utf-8", "replace").splitlines():
            value = _json_text_of(line)
            if isinstance(value, dict):
                yield value, None
        return
    for event in sse_events(content):
        if event.data.strip() == "[DONE]":
            yield None, event.event
            continue
        value = _json_text_of(event.data)
        if isinstance(value, dict):
            yield value, event.event


def _openai_chunk(payload: dict[str, Any], reply: _Reply) -> None:
    reply.model = reply.model or _str(payload.get("model")) or None
    if "error" in payload and isinstance(payload["error"], dict):
        error = payload["error"]
        reply.error = ErrorInfo("event", _str(error.get("type")) or "error", _str(error.get("message")))
    usage = _usage(payload.get("usage"))
    if usage is not None:
        reply.usage = usage
    for choice in map(_dict, _list(payload.get("choices"))):
        if choice.get("index", 0) != 0:
            continue
        delta = _dict(choice.get("delta"))
        text = delta.get("content") if delta else choice.get("text")
        if isinstance(text, str):
            reply.text.append(text)
        for c in map(_dict, _list(delta.get("tool_calls"))):
            index = c.get("index")
            slot = reply.call(index if isinstance(index, int) else len(reply.calls))
            fn = _dict(c.get("function"))
            slot[0] = slot[0] or _str(c.get("id"))
            slot[1] = slot[1] or _str(fn.get("name"))
            slot[2] += _str(fn.get("arguments"))
        if choice.get("finish_reason"):
            # The reply itself is whole here; a usage chunk and [DONE] may still follow.
            reply.stop_reason = _str(choice["finish_reason"])
            reply.complete = True


def _anthropic_event(payload: dict[str, Any], reply: _Reply) -> None:
    kind = payload.get("type")
    if kind == "message_start":
        message = _dict(payload.get("message"))
        reply.model = _str(message.get("model")) or reply.model
        reply.usage = _usage(message.get("usage"))
    elif kind == "content_block_start":
        block = _dict(payload.get("content_block"))
        index = payload.get("index")
        if block.get("type") in ("tool_use", "server_tool_use") and isinstance(index, int):
            slot = reply.call(index)
            slot[0], slot[1] = _str(block.get("id")), _str(block.get("name"))
            initial = block.get("input")
            if initial:  # usually {} with the arguments following as input_json_delta
                slot[2] = _json_text(initial)
        elif block.get("type") == "text":
            reply.text.append(_str(block.get("text")))
    elif kind == "content_block_delta":
        delta = _dict(payload.get("delta"))
        index = payload.get("index")
        if delta.get("type") == "text_delta":
            reply.text.append(_str(delta.get("text")))
        elif delta.get("type") == "input_json_delta" and isinstance(index, int):
            reply.call(index)[2] += _str(delta.get("partial_json"))
    elif kind == "message_delta":
        delta = _dict(payload.get("delta"))
        reply.stop_reason = _str(delta.get("stop_reason")) or reply.stop_reason
        _merge_anthropic_usage(reply, _dict(payload.get("usage")))
    elif kind == "message_stop":
        reply.complete = True
    elif kind == "error":
        error = _dict(payload.get("error"))
        reply.error = ErrorInfo("event", _str(error.get("type")) or "error", _str(error.get("message")))


def _merge_anthropic_usage(reply: _Reply, usage: dict[str, Any]) -> None:
    """`message_delta` usage is cumulative: its counts replace those from `message_start`."""
    before = reply.usage or Usage()
    inp = usage.get("input_tokens")
    out = usage.get("output_tokens")
    input_tokens = inp if isinstance(inp, int) else before.input_tokens
    output_tokens = out if isinstance(out, int) else before.output_tokens
    reply.usage = Usage(input_tokens, output_tokens, input_tokens + output_tokens)


def _responses_event(payload: dict[str, Any], reply: _Reply) -> None:
    kind = _str(payload.get("type"))
    if kind == "response.output_text.delta":
        reply.text.append(_str(payload.get("delta")))
    elif kind == "response.output_item.added":
        item = _dict(payload.get("item"))
        index = payload.get("output_index")
        if item.get("type") == "function_call" and isinstance(index, int):
            slot = reply.call(index)
            slot[0], slot[1] = _str(item.get("call_id")), _str(item.get("name"))
    elif kind == "response.function_call_arguments.delta":
        index = payload.get("output_index")
        if isinstance(index, int):
            reply.call(index)[2] += _str(payload.get("delta"))
    elif kind in ("response.created", "response.in_progress"):
        reply.model = reply.model or _str(_dict(payload.get("response")).get("model")) or None
    elif kind in ("response.completed", "response.incomplete", "response.failed"):
        # The final event carries the whole response: it is the authoritative reply.
        final = _dict(payload.get("response"))
        reply.model = _str(final.get("model")) or reply.model
        reply.usage = _usage(final.get("usage")) or reply.usage
        _read_responses_output(final, reply)
        reply.complete = True
    elif kind == "error":
        reply.error = ErrorInfo("event", _str(payload.get("code")) or "error", _str(payload.get("message")))


def _http_error(status: int, content: bytes) -> ErrorInfo:
    """The provider's error type and message from an error body, whatever its shape."""
    body = _json_of(content)
    error = body.get("error")
    if isinstance(error, dict):
        kind = _str(error.get("type")) or _str(error.get("code")) or _str(error.get("status"))
        return ErrorInfo("http", kind or f"HTTP {status}", _str(error.get("message")), status=status)
    for key in ("message", "detail", "error"):
        value = body.get(key)
        if isinstance(value, str) and value:
            return ErrorInfo("http", f"HTTP {status}", value, status=status)
    text = content.decode("utf-8", "replace").strip() if content else ""
    return ErrorInfo("http", f"HTTP {status}", text, status=status)


def _usage(raw: Any) -> Usage | None:
    usage = _dict(raw)
    if not usage:
        return None
    inp = usage.get("input_tokens", usage.get("prompt_tokens"))
    out = usage.get("output_tokens", usage.get("completion_tokens"))
    input_tokens = inp if isinstance(inp, int) else 0
    output_tokens = out if isinstance(out, int) else 0
    total = usage.get("total_tokens")
    return Usage(input_tokens, output_tokens, total if isinstance(total, int) else input_tokens + output_tokens)


def _dimensions(vector: Any) -> int | None:
    if isinstance(vector, list):
        return len(vector)
    if isinstance(vector, str):  # encoding_format=base64: little-endian float32s
        try:
            return len(base64.b64decode(vector)) // 4
        except ValueError:
            return None
    return None


# --- small JSON helpers -----------------------------------------------------------------------


def _replace(view: LLMView, **changes: Any) -> LLMView:
    return replace(view, **changes)


def _json_of(raw: bytes) -> dict[str, Any]:
    """The body as a JSON object, or {} when it is not one."""
    if not raw or raw.lstrip()[:1] != b"{":
        return {}
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return {}
    return value if isinstance(value, dict) else {}


def _json_text_of(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _json_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _first(value: Any) -> Any:
    items = _list(value)
    return items[0] if items else None


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""
