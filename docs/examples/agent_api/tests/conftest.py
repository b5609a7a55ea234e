"""Fixtures for testing the agent API in-process, with its model calls served from cassettes.

The app is driven through `httpx.ASGITransport`: those calls never leave the process and are never
recorded. What is recorded (with `--llm-record-mode=all`) and replayed (by default) is the app's own
traffic to the model, sent by the OpenAI SDK inside the app. No mock LLM class anywhere.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from agent_api import Settings, create_app
from fastapi import FastAPI

from llm_cassette.fake_server import FakeServer

from .llm_server import LLM_BASE_URL, LLM_PORT, accepts_connections, is_recording

API_TOKEN = "test-api-token"
FAKE_OPENAI_KEY = "sk-fake-agent-api-example-key"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests that inject faults run in replay only.

    They replay another test's recording with a failure on top. While recording there is nothing to
    put the failure on top of yet, and they would write their own requests into the cassette they borrow.
    """
    if not is_recording(config):
        return
    replay_only = [item for item in items if any("faults" in mark.kwargs for mark in item.iter_markers("llm_cassette"))]
    if replay_only:
        config.hook.pytest_deselected(items=replay_only)
        items[:] = [item for item in items if item not in replay_only]


@pytest.fixture(scope="session")
def llm_base_url(pytestconfig: pytest.Config) -> Iterator[str]:
    """The OpenAI base URL the app talks to.

    Replaying, nothing listens there: the cassettes answer, which proves the tests run offline.
    Recording, the bundled fake OpenAI-compatible server answers: started here, unless one is
    already running (`llm-cassette fake-server --port 8765 &`, needed to record with `-n`).
    """
    if not is_recording(pytestconfig) or accepts_connections(LLM_PORT):
        yield LLM_BASE_URL
        return
    if hasattr(pytestconfig, "workerinput"):  # one server per xdist worker would clash on the port
        pytest.fail(
            f"to record in parallel, start the model server first: llm-cassette fake-server --port {LLM_PORT} &",
            pytrace=False,
        )
    with FakeServer(port=LLM_PORT) as server:
        yield server.base_url_openai


@pytest.fixture
def settings(tmp_path: Path, llm_base_url: str) -> Settings:
    """A fresh SQLite database per test; no SDK retries, so error paths are fast and deterministic."""
    return Settings(
        openai_base_url=llm_base_url,
        openai_api_key=FAKE_OPENAI_KEY,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'agent_api.db'}",
        api_token=API_TOKEN,
        llm_max_retries=0,
        llm_timeout=10.0,
    )


@pytest_asyncio.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    app = create_app(settings)
    # ASGITransport does not run the lifespan (tables, model client): run it around the test.
    async with app.router.lifespan_context(app):
        yield app


@pytest_asyncio.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An authenticated client of the app, in-process."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://testserver",
        headers={"Authorization": f"Bearer {API_TOKEN}"},
    ) as client:
        yield client


@pytest_asyncio.fixture
async def conversation_id(client: httpx.AsyncClient) -> int:
    """A new conversation with the "assistant" agent."""
    response = await client.post("/conversations", json={"agent_type": "assistant"})
    assert response.status_code == 201
    conversation_id: int = response.json()["id"]
    return conversation_id
