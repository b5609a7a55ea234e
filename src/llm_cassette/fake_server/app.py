"""The fake server's FastAPI app: routes wired to their answers, counters, control endpoints."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import Response

from .anthropic_routes import answer_count_tokens, answer_messages
from .context import handle
from .openai_routes import answer_chat_completions, answer_embeddings, answer_models, answer_responses
from .replies import JSONDict
from .state import CountingMiddleware, reset_state
from .streaming import install_drop_log_filter

__all__ = ["create_app"]


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

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request) -> Response:
        return await handle(request, answer_chat_completions)

    @app.post("/v1/embeddings")
    async def embeddings(request: Request) -> Response:
        return await handle(request, answer_embeddings)

    @app.get("/v1/models")
    async def models(request: Request) -> Response:
        return await handle(request, answer_models, needs_body=False)

    @app.post("/v1/responses")
    async def responses(request: Request) -> Response:
        return await handle(request, answer_responses)

    @app.post("/v1/messages")
    async def messages(request: Request) -> Response:
        return await handle(request, answer_messages)

    @app.post("/v1/messages/count_tokens")
    async def count_tokens(request: Request) -> Response:
        return await handle(request, answer_count_tokens)

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
