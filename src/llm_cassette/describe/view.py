"""The plain data `describe` returns: an interaction read as an LLM call."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

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
        except (ValueError, RecursionError):
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
