"""The fake server's FastAPI app: routes wired to their answers, counters, control endpoints."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request
from fastapi.responses import Response

from .anthropic_routes import answer_count_tokens, answer_messages
from .context import Handler, handle
from .openai_routes import answer_chat_completions, answer_embeddings, answer_models, answer_responses
from .replies import JSONDict
from .state import CountingMiddleware, reset_state
from .streaming import install_drop_log_filter

__all__ = ["create_app"]

#: The provider endpoints: (method, path, what answers it). A GET has no body to parse.
ROUTES: tuple[tuple[str, str, Handler], ...] = (
    ("POST", "/v1/chat/completions", answer_chat_completions),
    ("POST", "/v1/embeddings", answer_embeddings),
    ("GET", "/v1/models", answer_models),
    ("POST", "/v1/responses", answer_responses),
    ("POST", "/v1/messages", answer_messages),
    ("POST", "/v1/messages/count_tokens", answer_count_tokens),
)


def endpoint(answer: Handler, *, needs_body: bool) -> Callable[[Request], Awaitable[Response]]:
    async def route(request: Request) -> Response:
        return await handle(request, answer, needs_body=needs_body)

    route.__name__ = answer.__name__.removeprefix("answer_")
    return route


def create_app() -> FastAPI:
    """Build the fake server's FastAPI app (fresh counters and fail state)."""
    app = FastAPI(
        title="llm-cassette fake LLM server",
        description="Deterministic fake OpenAI/Anthropic-compatible API.",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    reset_state(app)
    app.add_middleware(CountingMiddleware)
    install_drop_log_filter()

    for method, path, answer in ROUTES:
        app.add_api_route(path, endpoint(answer, needs_body=method == "POST"), methods=[method])

    @app.get("/_fake/stats")
    async def stats() -> JSONDict:
        return {"requests": app.state.request_count}

    @app.post("/_fake/knobs")
    async def default_knobs(request: Request) -> JSONDict:
        knobs = await request.json()
        app.state.default_knobs = {str(k): str(v) for k, v in dict(knobs).items()}
        return {"knobs": app.state.default_knobs}

    @app.post("/_fake/reset")
    async def reset() -> JSONDict:
        reset_state(app)
        return {"requests": 0}

    return app
