"""Error answers with each provider's exact body shape (Anthropic for ``/v1/messages``, else OpenAI)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from .replies import JSONDict

__all__ = ["error_response"]


_ANTHROPIC_PATHS = ("/v1/messages", "/v1/messages/count_tokens")


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


def error_response(
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
