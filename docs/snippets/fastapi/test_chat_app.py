import json

import httpx
import pytest
from chat_app import SYSTEM_PROMPT, app
from fastapi.testclient import TestClient

from llm_cassette import faults


@pytest.fixture
def client():
    with TestClient(app) as client:  # runs the app's lifespan: the OpenAI client is created here
        yield client


@pytest.mark.llm_cassette
def test_ask(client, llm_cassette):
    response = client.post("/ask", json={"text": "What is the capital of France?"})

    assert response.status_code == 200
    assert "Paris" in response.json()["answer"]
    # Only the app's call to the model is in the cassette: the TestClient call to /ask never is.
    [upstream] = llm_cassette.requests
    assert upstream.path == "/v1/chat/completions"
    assert upstream.json()["messages"][0] == {"role": "system", "content": SYSTEM_PROMPT}


@pytest.mark.llm_cassette(faults=[faults.rate_limit(times=None)])
def test_ask_when_rate_limited(client, llm_cassette):
    response = client.post("/ask", json={"text": "What is the capital of France?"})

    assert response.status_code == 429
    assert response.json() == {"detail": "The model is busy. Try again later."}
    assert len(llm_cassette.requests) == 3  # the first try and the SDK's two retries


@pytest.mark.llm_cassette(faults=[faults.server_error(500, times=None)])
def test_ask_when_the_model_fails(client):
    response = client.post("/ask", json={"text": "What is the capital of France?"})

    assert response.status_code == 502


@pytest.mark.asyncio
@pytest.mark.llm_cassette
async def test_stream_relay():
    transport = httpx.ASGITransport(app=app)  # in-process: never recorded
    async with (
        app.router.lifespan_context(app),  # ASGITransport does not run the lifespan by itself
        httpx.AsyncClient(transport=transport, base_url="http://app.test") as client,
        client.stream("POST", "/ask/stream", json={"text": "Hello there"}) as response,
    ):
        events = [line async for line in response.aiter_lines() if line.startswith("data: ")]

    assert events[-1] == "data: [DONE]"
    tokens = [json.loads(event.removeprefix("data: "))["token"] for event in events[:-1]]
    assert "".join(tokens) == "Echo: Hello there"
