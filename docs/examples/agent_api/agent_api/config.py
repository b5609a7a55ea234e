"""Settings, read from the environment (`OPENAI_BASE_URL`, `OPENAI_API_KEY`, ...) or passed explicitly."""

from __future__ import annotations

from fastapi import Request
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything the app needs from its environment. Field names are the environment variable names."""

    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore")

    openai_base_url: str = "https://api.openai.com/v1"
    openai_api_key: str
    database_url: str = "sqlite+aiosqlite:///./agent_api.db"
    api_token: str
    """Clients must send `Authorization: Bearer <api_token>`."""

    llm_model: str = "gpt-4o-mini"
    llm_timeout: float = 30.0
    """Seconds before a model call gives up (the API then answers 503)."""
    llm_max_retries: int = 2
    """Retries the OpenAI SDK makes on connection errors, 429 and 5xx before the API gives up."""


def get_settings(request: Request) -> Settings:
    """FastAPI dependency: the app's settings."""
    settings: Settings = request.app.state.settings
    return settings
