"""The language model, reached through the OpenAI SDK (any OpenAI-compatible server works)."""

from __future__ import annotations

from fastapi import Request
from openai import AsyncOpenAI

from .config import Settings


def create_llm_client(settings: Settings) -> AsyncOpenAI:
    """One client for the app's lifetime: it holds the connection pool. Closed by the lifespan."""
    return AsyncOpenAI(
        base_url=settings.openai_base_url,
        api_key=settings.openai_api_key,
        timeout=settings.llm_timeout,
        max_retries=settings.llm_max_retries,
    )


def get_llm_client(request: Request) -> AsyncOpenAI:
    """FastAPI dependency: the app's model client."""
    client: AsyncOpenAI = request.app.state.llm_client
    return client
