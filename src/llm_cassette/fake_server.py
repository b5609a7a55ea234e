"""A deterministic fake OpenAI/Anthropic-compatible LLM server.

This is the real upstream used by llm-cassette's own tests, benchmarks and demo
(``llm-cassette fake-server --port N``).  It speaks just enough of both wire
protocols for the official ``openai`` and ``anthropic`` SDKs to work against it
unchanged:

* ``POST /v1/chat/completions`` -- OpenAI chat completions (text, tool calls,
  ``response_format`` JSON, and SSE streaming with ``stream_options.include_usage``),
* ``POST /v1/embeddings`` -- deterministic vectors, ``encoding_format`` float or base64,
* ``GET /v1/models`` -- a model list (Anthropic shape when an ``anthropic-version`` header is sent),
* ``POST /v1/responses`` -- a minimal, non-streamed OpenAI Responses API reply,
* ``POST /v1/messages`` -- Anthropic messages (text, tool use, and the full SSE event sequence),
* ``POST /v1/messages/count_tokens`` -- Anthropic token counting.

Every answer is a pure function of the request: the reply text is ``"Echo: <last user
text>"`` unless the text matches one of a few canned questions ("capital of France"...),
ids are derived from a sha256 of the request body, ``created`` is a constant, and token
counts are word counts.

Failure and timing behaviour is selected per request with *knobs*, given either as
``x-fake-*`` request headers or as ``+token`` suffixes of the ``model`` name (for SDK users
who cannot easily set headers); a header wins over the same knob in the model name:

=================================  ====================  ===========================================
header                             model suffix          effect
=================================  ====================  ===========================================
``x-fake-fail: 429x2``             ``+fail429x2``        first 2 matching requests answer 429, then OK
``x-fake-fail: 500``               ``+fail500``          always answer 500 (any status 400-599 works)
``x-fake-scenario: name``          ``+scenario=name``    separate fail counter for this scenario
``x-fake-retry-after-ms: 1000``    ``+retryafter1000``   ``retry-after(-ms)`` headers sent on failures
``x-fake-first-byte-delay-ms: N``  ``+slowN``            sleep N ms before the response headers
``x-fake-chunk-delay-ms: N``       ``+delayN``           sleep N ms between SSE events
``x-fake-drop-after: N``           ``+dropN``            send N SSE events, then drop the connection
``x-fake-chunks: N``               ``+chunksN``          exactly N content (or argument) delta events
``x-fake-echo-headers: 1``         ``+echo``             add ``echo_headers``/``echo_query`` to the JSON
=================================  ====================  ===========================================

Suffix tokens may also be written ``+delay=50``.  The model is always echoed back exactly
as sent, suffix included.  Fail counters are kept per app, keyed by (path, fail spec,
scenario); ``POST /_fake/reset`` (or :meth:`FakeServer.reset`) clears them.  Injected
failures carry ``retry-after: 1`` and ``retry-after-ms: 1000`` (unless overridden) and the
provider's error body (Anthropic's for ``/v1/messages``, OpenAI's elsewhere).

``drop`` counts every SSE event written, including the OpenAI role chunk, Anthropic's
``ping`` and ``data: [DONE]``; it only affects streamed answers.  The drop is real: the
body generator raises, uvicorn closes the socket without the terminating zero-length
chunk, and httpx/httpx2 raise ``RemoteProtocolError("peer closed connection without
sending complete message body (incomplete chunked read)")`` (uvicorn's traceback for it
is filtered out of the ``uvicorn.error`` log).  ``chunks`` groups the reply's words into
exactly N deltas, or pads it by repeating its words when it is shorter than N words.
``max_tokens`` / ``max_completion_tokens`` truncate text replies to that many words
(``finish_reason: "length"`` / ``stop_reason: "max_tokens"``).

``app.state.request_count`` and ``app.state.requests`` (a list of ``(method, path)``)
count every request except the ``/_fake/*`` control endpoints; ``GET /_fake/stats``
returns ``{"requests": N}``.

:class:`FakeServer` runs the app with uvicorn in a background thread (for tests) and
:func:`serve` runs it in the foreground (for the CLI).  This module needs the ``server``
extra (fastapi and uvicorn).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import re
import struct
import threading
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, cast

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = [
    "CREATED",
    "DEFAULT_EMBEDDING_DIMENSIONS",
    "MODELS",
    "FakeServer",
    "Knobs",
    "create_app",
    "parse_knobs",
    "serve",
]

#: The fixed ``created`` timestamp of every answer (2023-11-14T22:13:20Z).
CREATED = 1_700_000_000
#: Length of the embedding vectors when the request does not ask for ``dimensions``.
DEFAULT_EMBEDDING_DIMENSIONS = 8
#: Model ids listed by ``GET /v1/models``.
MODELS: tuple[str, ...] = (
    "gpt-4o-mini",
    "gpt-4o",
    "text-embedding-3-small",
    "claude-haiku-4-5",
    "claude-opus-4-6",
)

_CANNED: tuple[tuple[str, str], ...] = (
    ("capital of france", "The capital of France is Paris."),
    ("2+2", "2 + 2 = 4."),
    ("2 + 2", "2 + 2 = 4."),
    ("say hello", "Hello! How can I help you today?"),
    ("tell me a joke", "Why do programmers prefer dark mode? Because light attracts bugs."),
)
_EMPTY_REPLY = "Hello from the fake LLM server."
_DEFAULT_RETRY_AFTER_MS = 1000
_ANTHROPIC_PATHS = ("/v1/messages", "/v1/messages/count_tokens")
_ARGUMENT_FRAGMENT_CHARS = 8

JSONDict = dict[str, Any]


# --------------------------------------------------------------------------- knobs


class _KnobError(ValueError):
    """A knob header or model suffix could not be parsed (answered with a 400)."""


@dataclass
class Knobs:
    """The behaviour knobs of one request (see the module docstring)."""

    fail_status: int | None = None
    fail_times: int | None = None  # None: fail every time
    scenario: str = ""
    retry_after_ms: int = _DEFAULT_RETRY_AFTER_MS
    first_byte_delay_ms: int = 0
    chunk_delay_ms: int = 0
    drop_after: int | None = None
    chunks: int | None = None
    echo_headers: bool = False

    @property
    def fail_spec(self) -> str:
        """The canonical fail spec, e.g. ``"429x2"`` or ``"500"`` (empty when not failing)."""
        if self.fail_status is None:
            return ""
        if self.fail_times is None:
            return str(self.fail_status)
        return f"{self.fail_status}x{self.fail_times}"


_FAIL_RE = re.compile(r"^\s*([45]\d\d)\s*(?:[xX]\s*(\d+))?\s*$")
_SUFFIX_RE = re.compile(r"^(fail|slow|delay|drop|chunks|retryafter|scenario|echo)(?:=?)(.*)$", re.IGNORECASE)
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"", "0", "false", "no", "off"})


def _parse_fail(value: str, knobs: Knobs, source: str) -> None:
    match = _FAIL_RE.match(value)
    if match is None:
        raise _KnobError(f"invalid fail knob {value!r} in {source}: expected e.g. '429x2' or '500'")
    knobs.fail_status = int(match.group(1))
    knobs.fail_times = int(match.group(2)) if match.group(2) is not None else None


def _parse_int(value: str, name: str, source: str) -> int:
    try:
        number = int(value.strip())
    except ValueError:
        raise _KnobError(f"invalid {name} knob {value!r} in {source}: expected a non-negative integer") from None
    if number < 0:
        raise _KnobError(f"invalid {name} knob {value!r} in {source}: expected a non-negative integer")
    return number


def _parse_bool(value: str, name: str, source: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise _KnobError(f"invalid {name} knob {value!r} in {source}: expected 1/0/true/false")


def _apply_knob(knobs: Knobs, name: str, value: str, source: str) -> None:
    if name == "fail":
        _parse_fail(value, knobs, source)
    elif name == "scenario":
        knobs.scenario = value.strip()
    elif name == "retryafter":
        knobs.retry_after_ms = _parse_int(value, "retry-after-ms", source)
    elif name == "slow":
        knobs.first_byte_delay_ms = _parse_int(value, "first-byte-delay-ms", source)
    elif name == "delay":
        knobs.chunk_delay_ms = _parse_int(value, "chunk-delay-ms", source)
    elif name == "drop":
        knobs.drop_after = _parse_int(value, "drop-after", source)
    elif name == "chunks":
        chunks = _parse_int(value, "chunks", source)
        if chunks < 1:
            raise _KnobError(f"invalid chunks knob {value!r} in {source}: expected at least 1")
        knobs.chunks = chunks
    elif name == "echo":
        knobs.echo_headers = _parse_bool(value or "1", "echo-headers", source)


_HEADER_KNOBS: tuple[tuple[str, str], ...] = (
    ("x-fake-fail", "fail"),
    ("x-fake-scenario", "scenario"),
    ("x-fake-retry-after-ms", "retryafter"),
    ("x-fake-first-byte-delay-ms", "slow"),
    ("x-fake-chunk-delay-ms", "delay"),
    ("x-fake-drop-after", "drop"),
    ("x-fake-chunks", "chunks"),
    ("x-fake-echo-headers", "echo"),
)


def parse_knobs(headers: Mapping[str, str], model: object = None) -> Knobs:
    """Build the :class:`Knobs` of a request from its ``model`` suffix and ``x-fake-*`` headers.

    Model suffix tokens (``"gpt-4o-mini+fail429x2+delay50"``) are applied first, then the
    headers, so a header overrides the same knob given in the model name.  Unknown suffix
    tokens are ignored; malformed values raise ``ValueError``.
    """
    knobs = Knobs()
    if isinstance(model, str) and "+" in model:
        for token in model.split("+")[1:]:
            match = _SUFFIX_RE.match(token.strip())
            if match is not None:
                _apply_knob(knobs, match.group(1).lower(), match.group(2), f"model suffix +{token}")
    lowered = {key.lower(): value for key, value in headers.items()}
    for header, name in _HEADER_KNOBS:
        if header in lowered:
            _apply_knob(knobs, name, lowered[header], f"header {header}")
    return knobs


# --------------------------------------------------------------------------- app state


def _reset_state(app: FastAPI) -> None:
    app.state.request_count = 0
    app.state.requests = []
    app.state.fail_counts = {}


def _fail_counts(app: FastAPI) -> dict[tuple[str, str, str], int]:
    return cast("dict[tuple[str, str, str], int]", app.state.fail_counts)


class _CountingMiddleware:
    """Counts every HTTP request (except ``/_fake/*``) on ``app.state``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = str(scope.get("path", ""))
            if not path.startswith("/_fake/"):
                state = scope["app"].state
                state.request_count += 1
                state.requests.append((str(scope.get("method", "")), path))
        await self.app(scope, receive, send)


class _DropConnection(Exception):
    """Raised inside a streaming body to make uvicorn abort the connection mid-stream."""


def _is_drop(exc: BaseException | None, depth: int = 0) -> bool:
    if exc is None or depth > 10:
        return False
    if isinstance(exc, _DropConnection):
        return True
    inner_exceptions = getattr(exc, "exceptions", None)  # a (Base)ExceptionGroup on 3.11+
    if isinstance(inner_exceptions, Sequence) and any(
        isinstance(inner, BaseException) and _is_drop(inner, depth + 1) for inner in inner_exceptions
    ):
        return True
    return _is_drop(exc.__cause__, depth + 1) or _is_drop(exc.__context__, depth + 1)


class _DropLogFilter(logging.Filter):
    """Hides uvicorn's 'Exception in ASGI application' traceback for deliberate drops."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and _is_drop(record.exc_info[1]))


def _install_drop_log_filter() -> None:
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(existing, _DropLogFilter) for existing in logger.filters):
        logger.addFilter(_DropLogFilter())


# --------------------------------------------------------------------------- helpers


def _digest(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def _dumps(obj: object) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def _words(text: str) -> int:
    return len(text.split())


def _text_of(content: object) -> str:
    """The plain text of an OpenAI/Anthropic message content (string or list of parts)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, Mapping):
        for key in ("text", "content"):
            if key in content:
                return _text_of(content[key])
        return ""
    if isinstance(content, Sequence):
        return " ".join(text for text in (_text_of(part) for part in content) if text)
    return str(content)


def _reply_for(user_text: str) -> str:
    """The deterministic answer to a user message."""
    lowered = user_text.lower()
    for needle, answer in _CANNED:
        if needle in lowered:
            return answer
    stripped = " ".join(user_text.split())
    return f"Echo: {stripped}" if stripped else _EMPTY_REPLY


def _truncate(text: str, max_tokens: object) -> tuple[str, bool]:
    if isinstance(max_tokens, int) and not isinstance(max_tokens, bool) and max_tokens >= 0:
        words = text.split()
        if len(words) > max_tokens:
            return " ".join(words[:max_tokens]), True
    return text, False


def _word_pieces(text: str) -> list[str]:
    """Split into word-sized pieces that concatenate back to ``text`` (' world' style)."""
    pieces = re.findall(r"\s*\S+", text)
    rest = text[len("".join(pieces)) :]
    if rest:
        if pieces:
            pieces[-1] += rest
        else:
            pieces.append(rest)
    return pieces or [""]


def _content_pieces(text: str, chunks: int | None) -> list[str]:
    """Word pieces of ``text``; with ``chunks``, exactly that many (grouped, or padded by repetition)."""
    pieces = _word_pieces(text)
    if chunks is None:
        return pieces
    if len(pieces) >= chunks:
        size, extra = divmod(len(pieces), chunks)
        grouped: list[str] = []
        start = 0
        for index in range(chunks):
            end = start + size + (1 if index < extra else 0)
            grouped.append("".join(pieces[start:end]))
            start = end
        return grouped
    words = text.split() or ["fake"]
    padded = list(pieces)
    index = 0
    while len(padded) < chunks:
        padded.append(" " + words[index % len(words)])
        index += 1
    return padded


def _argument_pieces(arguments: str, chunks: int | None) -> list[str]:
    if chunks is None:
        step = _ARGUMENT_FRAGMENT_CHARS
        return [arguments[i : i + step] for i in range(0, len(arguments), step)] or [""]
    size, extra = divmod(len(arguments), chunks)
    pieces: list[str] = []
    start = 0
    for index in range(chunks):
        end = start + size + (1 if index < extra else 0)
        pieces.append(arguments[start:end])
        start = end
    return pieces


def _resolve_ref(ref: str, root: Mapping[str, Any]) -> Mapping[str, Any]:
    node: Any = root
    if not ref.startswith("#/"):
        return {}
    for part in ref[2:].split("/"):
        if not isinstance(node, Mapping) or part not in node:
            return {}
        node = node[part]
    return node if isinstance(node, Mapping) else {}


def _fill_schema(
    schema: object, text: str, root: Mapping[str, Any], *, only_required: bool = False, depth: int = 0
) -> Any:
    """A plausible value matching a JSON schema: strings get ``text``, numbers 1, arrays one item."""
    if not isinstance(schema, Mapping) or depth > 12:
        return text
    if isinstance(schema.get("$ref"), str):
        return _fill_schema(
            _resolve_ref(schema["$ref"], root), text, root, only_required=only_required, depth=depth + 1
        )
    if "const" in schema:
        return schema["const"]
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return enum[0]
    if "default" in schema and only_required:
        return schema["default"]
    for key in ("anyOf", "oneOf", "allOf"):
        options = schema.get(key)
        if isinstance(options, list) and options:
            chosen = next(
                (opt for opt in options if not (isinstance(opt, Mapping) and opt.get("type") == "null")),
                options[0],
            )
            return _fill_schema(chosen, text, root, only_required=only_required, depth=depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None and isinstance(schema.get("properties"), Mapping):
        kind = "object"
    if kind == "object":
        properties = schema.get("properties")
        if not isinstance(properties, Mapping):
            return {}
        names: list[str] = list(properties)
        required = schema.get("required")
        if only_required and isinstance(required, list):
            names = [name for name in names if name in required]
        return {
            name: _fill_schema(properties[name], text, root, only_required=only_required, depth=depth + 1)
            for name in names
        }
    if kind == "array":
        return [_fill_schema(schema.get("items", {}), text, root, only_required=only_required, depth=depth + 1)]
    if kind == "integer":
        return 1
    if kind == "number":
        return 1.0
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return text


def _tool_arguments(parameters: object, user_text: str) -> JSONDict:
    """Arguments for a tool call: the tool's required parameters filled, else ``{"query": text}``."""
    if isinstance(parameters, Mapping) and isinstance(parameters.get("properties"), Mapping):
        filled = _fill_schema(parameters, user_text, parameters, only_required=True)
        if isinstance(filled, dict):
            return filled
    return {"query": user_text}


def _echo_fields(request: Request, knobs: Knobs) -> JSONDict:
    if not knobs.echo_headers:
        return {}
    return {
        "echo_headers": {key: value for key, value in request.headers.items()},
        "echo_query": request.url.query,
    }


def _sse(data: object, event: str | None = None) -> bytes:
    prefix = f"event: {event}\n" if event is not None else ""
    payload = data if isinstance(data, str) else _dumps(data)
    return f"{prefix}data: {payload}\n\n".encode()


async def _event_stream(events: list[bytes], knobs: Knobs) -> AsyncIterator[bytes]:
    """Yield one SSE event per body chunk, honouring the chunk-delay and drop-after knobs."""
    for index, event in enumerate(events):
        if index > 0 and knobs.chunk_delay_ms:
            await asyncio.sleep(knobs.chunk_delay_ms / 1000)
        if knobs.drop_after is not None and index >= knobs.drop_after:
            raise _DropConnection(f"fake server dropped the connection after {index} events")
        yield event


def _stream_response(events: list[bytes], knobs: Knobs, headers: Mapping[str, str]) -> StreamingResponse:
    return StreamingResponse(
        _event_stream(events, knobs),
        media_type="text/event-stream; charset=utf-8",
        headers={"cache-control": "no-cache", **headers},
    )


async def _sleep_unless_disconnected(request: Request, seconds: float) -> bool:
    """Sleep, waking early when the client goes away; returns True if it did."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        remaining = deadline - loop.time()
        if remaining <= 0:
            return False
        await asyncio.sleep(min(remaining, 0.02))
        if await request.is_disconnected():
            return True


# --------------------------------------------------------------------------- errors

_OPENAI_ERRORS: dict[int, tuple[str, str | None, str]] = {
    400: ("invalid_request_error", None, "Invalid request."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
    403: ("permission_error", None, "You are not allowed to access this resource."),
    404: ("invalid_request_error", "not_found", "The requested resource does not exist."),
    409: ("invalid_request_error", "conflict", "Conflict."),
    422: ("invalid_request_error", None, "Unprocessable request."),
    429: (
        "requests",
        "rate_limit_exceeded",
        "Rate limit reached for requests (fake server). Please try again in 1s.",
    ),
    500: ("server_error", None, "The server had an error while processing your request. Sorry about that!"),
    502: ("server_error", None, "Bad gateway."),
    503: ("server_error", None, "The engine is currently overloaded, please try again later."),
    504: ("server_error", None, "Gateway timeout."),
}
_ANTHROPIC_ERRORS: dict[int, tuple[str, str]] = {
    400: ("invalid_request_error", "Invalid request."),
    401: ("authentication_error", "invalid x-api-key"),
    403: ("permission_error", "Your API key does not have permission to use the specified resource."),
    404: ("not_found_error", "The requested resource could not be found."),
    413: ("request_too_large", "Request exceeds the maximum allowed number of bytes."),
    429: ("rate_limit_error", "Number of requests has exceeded your rate limit (fake server)."),
    500: ("api_error", "Internal server error"),
    503: ("api_error", "Service unavailable"),
    529: ("overloaded_error", "Overloaded"),
}


def _is_anthropic(request: Request) -> bool:
    return request.url.path in _ANTHROPIC_PATHS or "anthropic-version" in request.headers


def _error_response(
    request: Request,
    status: int,
    message: str | None = None,
    *,
    retry_after_ms: int | None = None,
    param: str | None = None,
    extra: Mapping[str, Any] | None = None,
    request_id: str = "req_fake",
) -> JSONResponse:
    """An error with the provider's exact body shape (Anthropic for /v1/messages, else OpenAI)."""
    headers: dict[str, str] = {}
    body: JSONDict
    if _is_anthropic(request):
        kind, default = _ANTHROPIC_ERRORS.get(status, ("api_error" if status >= 500 else "invalid_request_error", ""))
        body = {
            "type": "error",
            "error": {"type": kind, "message": message or default or f"Error {status}"},
            "request_id": request_id,
        }
        headers["request-id"] = request_id
    else:
        fallback = ("server_error", None, "") if status >= 500 else ("invalid_request_error", None, "")
        kind, code, default = _OPENAI_ERRORS.get(status, fallback)
        body = {
            "error": {
                "message": message or default or f"Error {status}",
                "type": kind,
                "param": param,
                "code": code,
            }
        }
        headers["x-request-id"] = request_id
    if extra:
        body.update(extra)
    if retry_after_ms is not None:
        headers["retry-after"] = str(max(1, -(-retry_after_ms // 1000)))
        headers["retry-after-ms"] = str(retry_after_ms)
    return JSONResponse(body, status_code=status, headers=headers)


# --------------------------------------------------------------------------- request context


@dataclass
class _Ctx:
    request: Request
    body: JSONDict
    knobs: Knobs
    digest: str
    echo: JSONDict

    @property
    def model(self) -> str:
        model = self.body.get("model")
        return model if isinstance(model, str) else ""

    def ident(self, prefix: str, length: int = 24) -> str:
        return f"{prefix}{self.digest[:length]}"

    @property
    def request_id(self) -> str:
        return self.ident("req_")


Handler = Callable[[_Ctx], Response]


async def _handle(request: Request, handler: Handler, *, needs_body: bool = True) -> Response:
    """Common prelude of every endpoint: parse, apply knobs (delay, failure), then answer."""
    raw = await request.body()
    digest = _digest(raw)
    body: JSONDict = {}
    if needs_body:
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict):
            return _error_response(
                request, 400, "The request body must be a JSON object.", request_id=f"req_{digest[:24]}"
            )
        body = parsed
    try:
        knobs = parse_knobs(request.headers, body.get("model"))
    except _KnobError as exc:
        return _error_response(request, 400, str(exc), request_id=f"req_{digest[:24]}")
    ctx = _Ctx(request=request, body=body, knobs=knobs, digest=digest, echo=_echo_fields(request, knobs))
    if knobs.first_byte_delay_ms and await _sleep_unless_disconnected(request, knobs.first_byte_delay_ms / 1000):
        return Response(status_code=499)  # nobody is listening any more
    if knobs.fail_status is not None:
        fail = True
        if knobs.fail_times is not None:
            counts = _fail_counts(cast(FastAPI, request.app))
            key = (request.url.path, knobs.fail_spec, knobs.scenario)
            seen = counts.get(key, 0)
            counts[key] = seen + 1
            fail = seen < knobs.fail_times
        if fail:
            return _error_response(
                request,
                knobs.fail_status,
                retry_after_ms=knobs.retry_after_ms,
                extra=ctx.echo,
                request_id=ctx.request_id,
            )
    try:
        return handler(ctx)
    except _KnobError as exc:
        return _error_response(request, 400, str(exc), request_id=ctx.request_id)


def _bad_request(ctx: _Ctx, message: str, param: str | None = None) -> JSONResponse:
    return _error_response(ctx.request, 400, message, param=param, extra=ctx.echo, request_id=ctx.request_id)


# --------------------------------------------------------------------------- OpenAI chat


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
            return _text_of(message.get("content"))
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


def _json_reply(response_format: object, text: str) -> str | None:
    if not isinstance(response_format, Mapping):
        return None
    kind = response_format.get("type")
    if kind == "json_object":
        return _dumps({"answer": text})
    if kind == "json_schema":
        spec = response_format.get("json_schema")
        schema = spec.get("schema") if isinstance(spec, Mapping) else None
        if isinstance(schema, Mapping) and isinstance(schema.get("properties"), Mapping) and schema["properties"]:
            return _dumps(_fill_schema(schema, text, schema))
        return _dumps({"answer": text})
    return None


def _plan_chat(ctx: _Ctx, messages: Sequence[Any]) -> _ChatPlan:
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
            results.insert(0, _text_of(message.get("content")))
        text = "The tool returned: " + "; ".join(results)
    elif last_role == "user" and isinstance(tools, list):
        function = _openai_tool(tools, body.get("tool_choice"))
        if function is not None:
            arguments = _dumps(_tool_arguments(function.get("parameters"), user_text))
            return _ChatPlan(
                text=None,
                finish_reason="tool_calls",
                tool_name=str(function.get("name", "")),
                tool_arguments=arguments,
                tool_call_id=ctx.ident("call_"),
            )
        text = _reply_for(user_text)
    else:
        text = _reply_for(user_text)
    json_text = _json_reply(body.get("response_format"), text)
    if json_text is not None:
        return _ChatPlan(text=json_text, finish_reason="stop")
    max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
    text, truncated = _truncate(text, max_tokens)
    return _ChatPlan(text=text, finish_reason="length" if truncated else "stop")


def _prompt_words(messages: Sequence[Any]) -> int:
    total = 0
    for message in messages:
        if isinstance(message, Mapping):
            total += _words(_text_of(message.get("content")))
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


def _chat_completions(ctx: _Ctx) -> Response:
    messages = ctx.body.get("messages")
    if not isinstance(messages, list) or not messages:
        return _bad_request(ctx, "'messages' must be a non-empty array.", "messages")
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
        "created": CREATED,
        "model": ctx.model,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": plan.finish_reason}],
        "usage": _openai_usage(prompt_tokens, _words(completion)),
        "service_tier": "default",
        "system_fingerprint": "fp_fake",
        **ctx.echo,
    }
    return JSONResponse(response, headers=headers)


def _chat_stream(
    ctx: _Ctx, plan: _ChatPlan, completion_id: str, prompt_tokens: int, headers: Mapping[str, str]
) -> StreamingResponse:
    options = ctx.body.get("stream_options")
    include_usage = isinstance(options, Mapping) and options.get("include_usage") is True

    def chunk(delta: JSONDict, finish_reason: str | None = None) -> JSONDict:
        data: JSONDict = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": CREATED,
            "model": ctx.model,
            "service_tier": "default",
            "system_fingerprint": "fp_fake",
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
        for piece in _argument_pieces(plan.tool_arguments, ctx.knobs.chunks):
            events.append(chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}))
        completion = plan.tool_arguments
    else:
        events.append(chunk({"role": "assistant", "content": "", "refusal": None}))
        pieces = _content_pieces(plan.text, ctx.knobs.chunks)
        events.extend(chunk({"content": piece}) for piece in pieces)
        completion = "".join(pieces)
    events.append(chunk({}, plan.finish_reason))
    if include_usage:
        usage_chunk = chunk({})
        usage_chunk["choices"] = []
        usage_chunk["usage"] = _openai_usage(prompt_tokens, _words(completion))
        events.append(usage_chunk)
    events[0].update(ctx.echo)
    encoded = [_sse(event) for event in events]
    encoded.append(_sse("[DONE]"))
    return _stream_response(encoded, ctx.knobs, headers)


# --------------------------------------------------------------------------- OpenAI others


def _embedding_vector(text: str, dimensions: int) -> list[float]:
    """Deterministic floats in [-1, 1), each exactly representable as float32."""
    values: list[float] = []
    block = 0
    while len(values) < dimensions:
        digest = hashlib.sha256(f"{block}\x00{text}".encode()).digest()
        values.extend((byte - 128) / 128 for byte in digest)
        block += 1
    return values[:dimensions]


def _embeddings(ctx: _Ctx) -> Response:
    raw_input = ctx.body.get("input")
    if isinstance(raw_input, str):
        inputs = [raw_input]
    elif isinstance(raw_input, list) and raw_input:
        if all(isinstance(item, int) for item in raw_input):
            inputs = [_dumps(raw_input)]  # a single tokenized input
        else:
            inputs = [item if isinstance(item, str) else _dumps(item) for item in raw_input]
    else:
        return _bad_request(ctx, "'input' must be a string or a non-empty array.", "input")
    dimensions = ctx.body.get("dimensions", DEFAULT_EMBEDDING_DIMENSIONS)
    if not isinstance(dimensions, int) or isinstance(dimensions, bool) or not 1 <= dimensions <= 4096:
        return _bad_request(ctx, "'dimensions' must be an integer between 1 and 4096.", "dimensions")
    encoding = ctx.body.get("encoding_format", "float")
    if encoding not in ("float", "base64"):
        return _bad_request(ctx, "'encoding_format' must be 'float' or 'base64'.", "encoding_format")
    data: list[JSONDict] = []
    for index, text in enumerate(inputs):
        vector = _embedding_vector(text, dimensions)
        embedding: list[float] | str = vector
        if encoding == "base64":
            embedding = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")
        data.append({"object": "embedding", "index": index, "embedding": embedding})
    tokens = max(sum(_words(text) for text in inputs), 1)
    response: JSONDict = {
        "object": "list",
        "data": data,
        "model": ctx.model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        **ctx.echo,
    }
    return JSONResponse(response, headers={"x-request-id": ctx.request_id})


def _models(ctx: _Ctx) -> Response:
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
        return value, _words(value)
    last = ""
    total = 0
    if isinstance(value, list):
        for item in value:
            if not isinstance(item, Mapping):
                continue
            text = _text_of(item.get("content"))
            total += _words(text)
            if item.get("role", "user") == "user":
                last = text
    return last, total


def _responses(ctx: _Ctx) -> Response:
    if ctx.body.get("stream") is True:
        return _bad_request(ctx, "The fake server does not stream the Responses API.", "stream")
    user_text, input_words = _responses_input_text(ctx.body.get("input"))
    instructions = ctx.body.get("instructions")
    if isinstance(instructions, str):
        input_words += _words(instructions)
    text = _reply_for(user_text)
    text_format = ctx.body.get("text")
    if isinstance(text_format, Mapping) and isinstance(text_format.get("format"), Mapping):
        fmt = text_format["format"]
        if fmt.get("type") == "json_schema":
            wrapped = _json_reply({"type": "json_schema", "json_schema": fmt}, text)
        else:
            wrapped = _json_reply(fmt, text)
        text = wrapped if wrapped is not None else text
    input_tokens = max(input_words, 1)
    output_tokens = _words(text)
    response: JSONDict = {
        "id": ctx.ident("resp_"),
        "object": "response",
        "created_at": CREATED,
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


# --------------------------------------------------------------------------- Anthropic


def _anthropic_blocks(content: object) -> list[Mapping[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if isinstance(content, list):
        return [block for block in content if isinstance(block, Mapping)]
    return []


def _anthropic_prompt_words(body: Mapping[str, Any], messages: Sequence[Any]) -> int:
    total = _words(_text_of(body.get("system")))
    for message in messages:
        if isinstance(message, Mapping):
            total += _words(_text_of(message.get("content")))
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


def _plan_anthropic(ctx: _Ctx, messages: Sequence[Any]) -> _AnthropicPlan:
    user_text = ""
    tool_results: list[str] = []
    last = messages[-1] if messages else {}
    for message in reversed(messages):
        if isinstance(message, Mapping) and message.get("role") == "user":
            blocks = _anthropic_blocks(message.get("content"))
            user_text = " ".join(_text_of(b.get("text")) for b in blocks if b.get("type") == "text")
            if message is last:
                tool_results = [_text_of(b.get("content")) for b in blocks if b.get("type") == "tool_result"]
            break
    tools = ctx.body.get("tools")
    if tool_results:
        text = "The tool returned: " + "; ".join(tool_results)
    elif isinstance(last, Mapping) and last.get("role") == "user" and isinstance(tools, list):
        tool = _anthropic_tool(tools, ctx.body.get("tool_choice"))
        if tool is not None:
            return _AnthropicPlan(
                text=None,
                stop_reason="tool_use",
                tool_name=str(tool["name"]),
                tool_input=_tool_arguments(tool.get("input_schema"), user_text),
                tool_id=ctx.ident("toolu_"),
            )
        text = _reply_for(user_text)
    else:
        text = _reply_for(user_text)
    text, truncated = _truncate(text, ctx.body.get("max_tokens"))
    return _AnthropicPlan(text=text, stop_reason="max_tokens" if truncated else "end_turn")


def _anthropic_usage(input_tokens: int, output_tokens: int) -> JSONDict:
    return {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
    }


def _messages(ctx: _Ctx) -> Response:
    messages = ctx.body.get("messages")
    if not isinstance(messages, list) or not messages:
        return _bad_request(ctx, "messages: field required and must be a non-empty list")
    plan = _plan_anthropic(ctx, messages)
    input_tokens = _anthropic_prompt_words(ctx.body, messages)
    headers = {"request-id": ctx.request_id}
    if ctx.body.get("stream") is True:
        return _messages_stream(ctx, plan, input_tokens, headers)
    if plan.text is None:
        content: list[JSONDict] = [
            {"type": "tool_use", "id": plan.tool_id, "name": plan.tool_name, "input": plan.tool_input or {}}
        ]
        output_tokens = _words(_dumps(plan.tool_input or {}))
    else:
        content = [{"type": "text", "text": plan.text}]
        output_tokens = _words(plan.text)
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
    ctx: _Ctx, plan: _AnthropicPlan, input_tokens: int, headers: Mapping[str, str]
) -> StreamingResponse:
    events: list[bytes] = []

    def add(data: JSONDict) -> None:
        events.append(_sse(data, event=str(data["type"])))

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
        arguments = _dumps(plan.tool_input or {})
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
        for piece in _argument_pieces(arguments, ctx.knobs.chunks):
            add(
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "input_json_delta", "partial_json": piece},
                }
            )
        output_tokens = _words(arguments)
    else:
        add({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})
        add({"type": "ping"})
        pieces = _content_pieces(plan.text, ctx.knobs.chunks)
        for piece in pieces:
            add({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": piece}})
        output_tokens = _words("".join(pieces))
    add({"type": "content_block_stop", "index": 0})
    add(
        {
            "type": "message_delta",
            "delta": {"stop_reason": plan.stop_reason, "stop_sequence": None},
            "usage": {"output_tokens": output_tokens},
        }
    )
    add({"type": "message_stop"})
    return _stream_response(events, ctx.knobs, headers)


def _count_tokens(ctx: _Ctx) -> Response:
    messages = ctx.body.get("messages")
    if not isinstance(messages, list):
        return _bad_request(ctx, "messages: field required")
    body: JSONDict = {"input_tokens": _anthropic_prompt_words(ctx.body, messages), **ctx.echo}
    return JSONResponse(body, headers={"request-id": ctx.request_id})


# --------------------------------------------------------------------------- app


def create_app() -> FastAPI:
    """Build the fake server's FastAPI app (fresh counters and fail state)."""
    app = FastAPI(
        title="llm-cassette fake LLM server",
        description="Deterministic fake OpenAI/Anthropic-compatible API.",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    _reset_state(app)
    app.add_middleware(_CountingMiddleware)
    _install_drop_log_filter()

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request) -> Response:
        return await _handle(request, _chat_completions)

    @app.post("/v1/embeddings")
    async def embeddings(request: Request) -> Response:
        return await _handle(request, _embeddings)

    @app.get("/v1/models")
    async def models(request: Request) -> Response:
        return await _handle(request, _models, needs_body=False)

    @app.post("/v1/responses")
    async def responses(request: Request) -> Response:
        return await _handle(request, _responses)

    @app.post("/v1/messages")
    async def messages(request: Request) -> Response:
        return await _handle(request, _messages)

    @app.post("/v1/messages/count_tokens")
    async def count_tokens(request: Request) -> Response:
        return await _handle(request, _count_tokens)

    @app.get("/_fake/stats")
    async def stats() -> JSONDict:
        return {"requests": app.state.request_count}

    @app.post("/_fake/reset")
    async def reset() -> JSONDict:
        _reset_state(app)
        return {"requests": 0}

    return app


class FakeServer:
    """Runs :func:`create_app` with uvicorn in a background thread.

    >>> with FakeServer() as server:  # doctest: +SKIP
    ...     client = openai.OpenAI(base_url=server.base_url_openai, api_key="sk-fake")
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self._requested_port = port
        self._port: int | None = None
        self.app: FastAPI = create_app()
        self._server: Any = None
        self._thread: threading.Thread | None = None

    # -- lifecycle

    def start(self, timeout: float = 10.0) -> FakeServer:
        """Start serving and wait until the socket accepts connections; returns ``self``."""
        if self._thread is not None:
            raise RuntimeError("FakeServer is already running")
        import uvicorn

        config = uvicorn.Config(
            self.app,
            host=self.host,
            port=self._requested_port,
            log_level="warning",
            access_log=False,
            lifespan="off",
            ws="none",
            timeout_graceful_shutdown=5,
        )
        _install_drop_log_filter()
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, name="llm-cassette-fake-server", daemon=True)
        self._server = server
        self._thread = thread
        thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not thread.is_alive():
                self._server = self._thread = None
                raise RuntimeError(f"fake server failed to start on {self.host}:{self._requested_port}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("fake server did not start in time")
            time.sleep(0.005)
        self._port = int(server.servers[0].sockets[0].getsockname()[1])
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Shut down gracefully (force after ``timeout`` seconds) and join the thread."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        server.should_exit = True
        thread.join(timeout)
        if thread.is_alive():
            server.force_exit = True
            thread.join(timeout)
        self._server = self._thread = None

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- addresses

    @property
    def port(self) -> int:
        """The real bound port (``port=0`` picks a free one)."""
        if self._port is None:
            raise RuntimeError("FakeServer is not started")
        return self._port

    @property
    def url(self) -> str:
        """E.g. ``http://127.0.0.1:54321``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def base_url_openai(self) -> str:
        """``base_url`` for ``openai.OpenAI``."""
        return self.url + "/v1"

    @property
    def base_url_anthropic(self) -> str:
        """``base_url`` for ``anthropic.Anthropic``."""
        return self.url

    # -- counters

    @property
    def request_count(self) -> int:
        """Requests handled so far (all endpoints except ``/_fake/*``)."""
        return int(self.app.state.request_count)

    @property
    def requests(self) -> list[tuple[str, str]]:
        """``(method, path)`` of every request handled so far."""
        return list(cast("list[tuple[str, str]]", self.app.state.requests))

    def reset(self) -> None:
        """Zero the request counters and the ``fail=...xN`` counters."""
        _reset_state(self.app)


def serve(host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve the fake API in the foreground until interrupted (``llm-cassette fake-server``)."""
    import uvicorn

    config = uvicorn.Config(create_app(), host=host, port=port, log_level="info", lifespan="off", ws="none")
    _install_drop_log_filter()
    uvicorn.Server(config).run()
