"""POST /agents/chat/stream: the model's tokens relayed as server-sent events.

A broken upstream stream (`faults.drop`, on top of the happy path's recording): the client has
already received a 200 and some tokens, so the app ends the stream with an `event: error` and no
`[DONE]`, and stores nothing. A failure before the first byte is still an HTTP status (503).
"""

from __future__ import annotations

import json

import httpx
import pytest

from llm_cassette import faults

from .sse import Event, parse_sse

pytestmark = pytest.mark.asyncio

JOKE_REQUEST = "Tell me a joke"
JOKE = "Why do programmers prefer dark mode? Because light attracts bugs."


async def stream_chat(
    client: httpx.AsyncClient, conversation_id: int, message: str
) -> tuple[httpx.Response, list[Event]]:
    async with client.stream(
        "POST", "/agents/chat/stream", json={"session_id": conversation_id, "message": message}
    ) as response:
        body = (await response.aread()).decode()
    return response, parse_sse(body)


def tokens_of(events: list[Event]) -> list[str]:
    return [json.loads(e.data)["token"] for e in events if e.event == "message" and e.data != "[DONE]"]


@pytest.mark.llm_cassette
async def test_stream_happy_path(client: httpx.AsyncClient, conversation_id: int) -> None:
    response, events = await stream_chat(client, conversation_id, JOKE_REQUEST)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    tokens = tokens_of(events)
    assert len(tokens) > 3  # relayed token by token, not as one block
    assert "".join(tokens) == JOKE
    assert events[-1] == Event("[DONE]")

    history = (await client.get(f"/conversations/{conversation_id}/history")).json()["messages"]
    assert [(m["role"], m["content"]) for m in history] == [("user", JOKE_REQUEST), ("assistant", "".join(tokens))]


@pytest.mark.llm_cassette("test_stream_happy_path", read_only=True, faults=[faults.drop(after_chunks=3)])
async def test_dropped_model_stream_ends_with_an_error_event(client: httpx.AsyncClient, conversation_id: int) -> None:
    response, events = await stream_chat(client, conversation_id, JOKE_REQUEST)

    assert response.status_code == 200  # sent with the first token, before the drop
    tokens = tokens_of(events)
    # Upstream chunks: the role chunk, then one per token; the drop came after the third.
    assert tokens == ["Why", " do"]
    assert JOKE.startswith("".join(tokens))
    assert events[-1] == Event(json.dumps({"detail": "The language model's stream broke off."}), event="error")
    assert Event("[DONE]") not in events

    history = (await client.get(f"/conversations/{conversation_id}/history")).json()["messages"]
    assert history == []  # half a reply is not stored


@pytest.mark.llm_cassette("test_stream_happy_path", read_only=True, faults=[faults.timeout()])
async def test_model_timeout_before_the_stream_starts_is_503(client: httpx.AsyncClient, conversation_id: int) -> None:
    response, _ = await stream_chat(client, conversation_id, JOKE_REQUEST)

    assert response.status_code == 503
    assert response.headers["content-type"] == "application/json"


async def test_tool_calling_agents_do_not_stream(client: httpx.AsyncClient) -> None:
    created = await client.post("/conversations", json={"agent_type": "weather"})
    response, _ = await stream_chat(client, created.json()["id"], "Lisbon")

    assert response.status_code == 409
