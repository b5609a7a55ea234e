"""A FastAPI app that relays an upstream LLM stream to its own client as SSE.

The test drives the app in-process (`httpx.ASGITransport`), the way users test such services; the
app's own outgoing call to the model (through `httpx2`, inside the OpenAI SDK) is what gets
recorded and replayed. The in-process call to the app is never recorded.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from fastapi import FastAPI
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from helpers import OPENAI_KEY
from llm_cassette import load, use_cassette
from llm_cassette.fake_server import FakeServer

APP_URL = "http://relay.test"


class ChatRequest(BaseModel):
    prompt: str


def create_relay_app(upstream_base_url: str) -> FastAPI:
    """POST /chat streams the model's tokens back as `data: {"token": ...}` events, then `[DONE]`."""
    app = FastAPI()

    @app.post("/chat")
    async def chat(request: ChatRequest) -> StreamingResponse:
        async def relay() -> AsyncIterator[str]:
            async with openai.AsyncOpenAI(base_url=upstream_base_url, api_key=OPENAI_KEY, max_retries=0) as client:
                stream = await client.chat.completions.create(
                    model="gpt-4o-mini+chunks6",
                    messages=[{"role": "user", "content": request.prompt}],
                    stream=True,
                )
                async for chunk in stream:
                    if chunk.choices and chunk.choices[0].delta.content:
                        yield f"data: {json.dumps({'token': chunk.choices[0].delta.content})}\n\n"
            yield "data: [DONE]\n\n"

        return StreamingResponse(relay(), media_type="text/event-stream")

    return app


async def relayed_tokens(app: FastAPI, prompt: str) -> list[str]:
    """The tokens the app's client receives, read as a stream of SSE lines."""
    tokens: list[str] = []
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=APP_URL) as client,
        client.stream("POST", "/chat", json={"prompt": prompt}) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        done = False
        async for line in response.aiter_lines():
            if not line.startswith("data: "):
                continue
            data = line[len("data: ") :]
            if data == "[DONE]":
                done = True
                continue
            tokens.append(json.loads(data)["token"])
        assert done
    return tokens


@pytest.mark.asyncio
async def test_relay_records_and_replays_only_the_upstream_call(tmp_path: Path, fake_server: FakeServer) -> None:
    cassette = tmp_path / "c.yaml"
    app = create_relay_app(fake_server.base_url_openai)
    prompt = "relay this to the browser"

    async with use_cassette(cassette, record_mode="once") as session:
        recorded = await relayed_tokens(app, prompt)
    assert session.recorded_count == 1
    assert fake_server.request_count == 1

    async with use_cassette(cassette, record_mode="none") as session:
        replayed = await relayed_tokens(app, prompt)
    assert session.play_count == 1
    assert fake_server.request_count == 1

    assert len(recorded) == 6
    assert "".join(recorded).startswith(f"Echo: {prompt}")
    assert replayed == recorded

    # Only the upstream model call is in the cassette, never the in-process call to the app.
    [it] = load(cassette).interactions
    assert it.request.url == fake_server.base_url_openai + "/chat/completions"
    assert it.response is not None and it.response.streamed
    assert APP_URL not in cassette.read_text(encoding="utf-8")
    body: Any = it.request.json()
    assert body["messages"] == [{"role": "user", "content": prompt}]


@pytest.mark.asyncio
async def test_relay_replays_each_prompt_to_its_own_client(tmp_path: Path, fake_server: FakeServer) -> None:
    import asyncio

    cassette = tmp_path / "c.yaml"
    app = create_relay_app(fake_server.base_url_openai)
    prompts = [f"browser tab {i}" for i in range(5)]

    async def all_tabs() -> list[str]:
        results = await asyncio.gather(*(relayed_tokens(app, p) for p in prompts))
        return ["".join(tokens) for tokens in results]

    async with use_cassette(cassette, record_mode="once"):
        recorded = await all_tabs()
    async with use_cassette(cassette, record_mode="none"):
        replayed = await all_tabs()

    assert fake_server.request_count == 5
    assert replayed == recorded
    for prompt, text in zip(prompts, recorded, strict=True):
        assert text.startswith(f"Echo: {prompt}")
    assert len(load(cassette).interactions) == 5
