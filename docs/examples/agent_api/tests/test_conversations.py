"""Conversations and request validation: no model call, so no cassette."""

from __future__ import annotations

import httpx
import pytest

pytestmark = pytest.mark.asyncio


async def test_new_conversation_has_an_empty_history(client: httpx.AsyncClient) -> None:
    created = await client.post("/conversations", json={"agent_type": "summarizer"})
    assert created.status_code == 201
    conversation = created.json()
    assert conversation["agent_type"] == "summarizer"

    history = await client.get(f"/conversations/{conversation['id']}/history")

    assert history.status_code == 200
    assert history.json() == {"conversation_id": conversation["id"], "agent_type": "summarizer", "messages": []}


async def test_conversations_default_to_the_assistant(client: httpx.AsyncClient) -> None:
    created = await client.post("/conversations", json={})
    assert created.status_code == 201
    assert created.json()["agent_type"] == "assistant"


async def test_history_of_an_unknown_conversation_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/conversations/999/history")
    assert response.status_code == 404
    assert response.json() == {"detail": "no conversation 999"}


@pytest.mark.parametrize("path", ["/agents/chat", "/agents/chat/stream"])
async def test_chat_in_an_unknown_conversation_is_404(client: httpx.AsyncClient, path: str) -> None:
    # Answered before any model call: were the app to call the model, nothing would answer in replay.
    response = await client.post(path, json={"session_id": 999, "message": "Hello?"})
    assert response.status_code == 404
    assert response.json() == {"detail": "no conversation 999"}


async def test_unknown_agent_type_for_a_new_conversation_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post("/conversations", json={"agent_type": "oracle"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "agent_type"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"message": "Hello?"}, "session_id"),
        ({"session_id": 1}, "message"),
        ({"session_id": 1, "message": ""}, "message"),
        ({"session_id": "first", "message": "Hello?"}, "session_id"),
    ],
    ids=["no-session", "no-message", "empty-message", "session-not-an-int"],
)
@pytest.mark.parametrize("path", ["/agents/chat", "/agents/chat/stream"])
async def test_invalid_chat_requests_are_422(
    client: httpx.AsyncClient, path: str, body: dict[str, object], field: str
) -> None:
    response = await client.post(path, json=body)
    assert response.status_code == 422
    assert [error["loc"] for error in response.json()["detail"]] == [["body", field]]
