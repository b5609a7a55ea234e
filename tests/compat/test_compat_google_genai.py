"""google-genai against a Gemini stub on 127.0.0.1: the sync client sends through httpx2, the async
one through its own aiohttp session (whenever aiohttp is installed); both recorded then replayed.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from helpers import arecord_then_replay, record_then_replay
from llm_cassette import load
from stub_servers import GEMINI_KEY, StubServer, gemini_app

genai = pytest.importorskip("google.genai")

# google-genai subclasses aiohttp's ClientSession, which aiohttp discourages; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:Inheritance class AiohttpClientSession:DeprecationWarning")

MODEL = "gemini-2.0-flash"


@pytest.fixture(scope="module")
def gemini() -> Iterator[StubServer]:
    with StubServer(gemini_app()) as server:
        yield server


def client(server: StubServer) -> Any:
    from google.genai import types

    return genai.Client(api_key=GEMINI_KEY, http_options=types.HttpOptions(base_url=server.url))


def check(runs: Any, server: StubServer, sent: int, path: Path) -> None:
    assert runs.replayed == runs.recorded
    assert server.request_count == sent, "the replay reached the server"
    assert runs.replay.play_count == len(load(path).interactions) >= 1


def test_generate_content_sync(gemini: StubServer, tmp_path: Path) -> None:
    path = tmp_path / "g.yaml"
    before = gemini.request_count

    def call() -> Any:
        c = client(gemini)  # held: a collected genai client closes its HTTP client
        return c.models.generate_content(model=MODEL, contents="hi").text

    runs = record_then_replay(path, call)
    check(runs, gemini, before + 1, path)
    assert runs.recorded == "Echo: hi"


def test_generate_content_stream_sync(gemini: StubServer, tmp_path: Path) -> None:
    def call() -> Any:
        c = client(gemini)
        return [chunk.text for chunk in c.models.generate_content_stream(model=MODEL, contents="stream sync")]

    path = tmp_path / "g.yaml"
    before = gemini.request_count
    runs = record_then_replay(path, call)
    check(runs, gemini, before + 1, path)
    assert runs.recorded == ["Echo: ", "stream ", "sync"]
    assert "line_ends: crlf" in path.read_text(encoding="utf-8")  # Google's CRLF events, readable


@pytest.mark.asyncio
async def test_generate_content_async(gemini: StubServer, tmp_path: Path) -> None:
    async def call() -> Any:
        c = client(gemini)
        return (await c.aio.models.generate_content(model=MODEL, contents="hi async")).text

    path = tmp_path / "g.yaml"
    before = gemini.request_count
    runs = await arecord_then_replay(path, call)
    check(runs, gemini, before + 1, path)
    assert runs.recorded == "Echo: hi async"
    (it,) = load(path).interactions
    assert dict(it.request.headers)["x-goog-api-key"] == "REDACTED"


@pytest.mark.asyncio
async def test_generate_content_stream_async(gemini: StubServer, tmp_path: Path) -> None:
    async def call() -> Any:
        c = client(gemini)
        stream = await c.aio.models.generate_content_stream(model=MODEL, contents="stream async")
        return [chunk.text async for chunk in stream]

    path = tmp_path / "g.yaml"
    before = gemini.request_count
    runs = await arecord_then_replay(path, call)
    check(runs, gemini, before + 1, path)
    assert runs.recorded == ["Echo: ", "stream ", "async"]
    response = load(path).interactions[0].response
    assert response is not None and response.chunks is not None and len(response.chunks) == 3
