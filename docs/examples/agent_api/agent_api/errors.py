"""How the model's failures reach the API's clients.

    upstream timeout        (openai.APITimeoutError) → 503, with a JSON `detail`
    upstream rate limit     (openai.RateLimitError)  → 429, `retry-after` passed through
    anything else upstream  (openai.APIError)        → 502
    the agent loop gave up  (AgentError)             → 502

The SDK has already retried (`Settings.llm_max_retries`) when these are raised.
"""

from __future__ import annotations

import openai
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from .agents import AgentError


async def _timeout(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": "The language model did not answer in time. Try again later."}, status_code=503)


async def _rate_limited(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, openai.RateLimitError)
    headers = {}
    retry_after = exc.response.headers.get("retry-after")
    if retry_after is not None:
        headers["retry-after"] = retry_after
    return JSONResponse(
        {"detail": "The language model is rate limited. Try again later."}, status_code=429, headers=headers
    )


async def _upstream_error(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": f"The language model failed ({type(exc).__name__})."}, status_code=502)


def install_error_handlers(app: FastAPI) -> None:
    # Starlette picks the handler of the most specific class in the exception's MRO.
    app.add_exception_handler(openai.APITimeoutError, _timeout)
    app.add_exception_handler(openai.RateLimitError, _rate_limited)
    app.add_exception_handler(openai.APIError, _upstream_error)
    app.add_exception_handler(AgentError, _upstream_error)
