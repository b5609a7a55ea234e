"""Plain `httpx` and `httpx2`, sync and async, whole bodies and streams, recorded then replayed."""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

import pytest

STACKS = ["httpx", "httpx2"]


@pytest.fixture(params=STACKS)
def stack(request: pytest.FixtureRequest) -> ModuleType:
    return pytest.importorskip(request.param)


def chat_body(text: str, *, stream: bool = False) -> dict[str, Any]:
    return {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}], "stream": stream}


def test_sync(roundtrip: Any, stack: ModuleType) -> None:
    url = f"{roundtrip.server.base_url_openai}/chat/completions"

    def call() -> Any:
        with stack.Client() as client:
            models = client.get(f"{roundtrip.server.base_url_openai}/models")
            reply = client.post(url, json=chat_body(f"plain {stack.__name__}"))
        return models.status_code, models.json(), reply.status_code, reply.json()

    result = roundtrip.run(call)
    assert result.value[3]["choices"][0]["message"]["content"] == f"Echo: plain {stack.__name__}"
    assert [it.request.method for it in result.recording.interactions] == ["GET", "POST"]


@pytest.mark.asyncio
async def test_async(roundtrip: Any, stack: ModuleType) -> None:
    url = f"{roundtrip.server.base_url_openai}/chat/completions"

    async def call() -> Any:
        async with stack.AsyncClient() as client:
            reply = await client.post(url, json=chat_body(f"async {stack.__name__}"))
        return reply.status_code, reply.headers["content-type"], reply.json()

    result = await roundtrip.arun(call)
    assert result.value[2]["choices"][0]["message"]["content"] == f"Echo: async {stack.__name__}"


def test_stream_sync(roundtrip: Any, stack: ModuleType) -> None:
    url = f"{roundtrip.server.base_url_openai}/chat/completions"

    def call() -> Any:
        with stack.Client() as client, client.stream("POST", url, json=chat_body("raw sse", stream=True)) as r:
            return r.status_code, list(r.iter_lines())

    result = roundtrip.run(call)
    status, lines = result.value
    assert status == 200
    assert [line for line in lines if line][-1] == "data: [DONE]"
    assert len([line for line in lines if line.startswith("data: {")]) > 2


@pytest.mark.asyncio
async def test_stream_async(roundtrip: Any, stack: ModuleType) -> None:
    url = f"{roundtrip.server.base_url_openai}/chat/completions"

    async def call() -> Any:
        async with stack.AsyncClient() as client, client.stream("POST", url, json=chat_body("raw", stream=True)) as r:
            return [chunk async for chunk in r.aiter_raw()]

    result = await roundtrip.arun(call)
    assert b"".join(result.value).rstrip().endswith(b"data: [DONE]")
    # Replayed as the same chunks: the transport's delivery, not one joined body.
    response = result.recording.interactions[0].response
    assert response is not None and response.chunks is not None
    assert [c.data for c in response.chunks] == result.value


def test_both_stacks_in_one_cassette(roundtrip: Any) -> None:
    httpx = importlib.import_module("httpx")
    httpx2 = pytest.importorskip("httpx2")
    url = f"{roundtrip.server.base_url_openai}/chat/completions"

    def call() -> Any:
        with httpx.Client() as one, httpx2.Client() as two:
            return one.post(url, json=chat_body("one")).json(), two.post(url, json=chat_body("two")).json()

    result = roundtrip.run(call)
    assert [r["choices"][0]["message"]["content"] for r in result.value] == ["Echo: one", "Echo: two"]
