"""The application factory. To serve the API with settings from the environment (OPENAI_API_KEY, API_TOKEN,
...): `uvicorn --factory agent_api.main:app_from_environment`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from .config import Settings
from .db import Database
from .errors import install_error_handlers
from .llm import create_llm_client
from .routes import router


def create_app(settings: Settings) -> FastAPI:
    """The API, configured by `settings`. Its lifespan creates the tables and opens the model client."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        database = Database(settings.database_url)
        await database.create_tables()
        app.state.database = database
        app.state.llm_client = create_llm_client(settings)
        try:
            yield
        finally:
            await app.state.llm_client.close()
            await database.dispose()

    app = FastAPI(title="Agent API", lifespan=lifespan)
    app.state.settings = settings
    install_error_handlers(app)
    app.include_router(router)
    return app


def app_from_environment() -> FastAPI:
    """The API with its settings read from the environment (for `uvicorn --factory`)."""
    return create_app(Settings())  # type: ignore[call-arg]  # required fields come from the environment
