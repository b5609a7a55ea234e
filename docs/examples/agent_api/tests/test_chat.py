"""POST /agents/chat: replies from the model (replayed from cassettes), history, and upstream failures.

The failure tests replay `test_chat_happy_path`'s recording with a fault injected on top: the same
request, but the model times out or rate-limits instead of answering. No failure is ever recorded.
"""

from __future__ import annotations

import json

import httpx
import pytest
from agent_api import Settings
from agent_api.agents import AGENTS

from llm_cassette import Cassette, faults

pytestmark = pytest.mark.asyncio

QUESTION = "What is the capital of France?"


async def history_of(client: httpx.AsyncClient, conversation_id: int) -> list[tuple[str, str]]:
    response = await client.get(f"/conversations/{conversation_id}/history")
    assert response.status_code == 200
    return [(m["role"], m["content"]) for m in response.json()["messages"]]


@pytest.mark.llm_cassette
async def test_chat_happy_path(client: httpx.AsyncClient, conversation_id: int) -> None:
    response = await client.post("/agents/chat", json={"session_id": conversation_id, "message": QUESTION})

    assert response.status_code == 200
    assert response.json() == {
        "reply": "The capital of France is Paris.",
        "conversation_id": conversation_id,
        "tool_calls": [],
    }
    assert await history_of(client, conversation_id) == [
        ("user", QUESTION),
        ("assistant", "The capital of France is Paris."),
    ]


@pytest.mark.llm_cassette
async def test_chat_sends_the_whole_conversation(
    client: httpx.AsyncClient, conversation_id: int, llm_cassette: Cassette
) -> None:
    first = await client.post("/agents/chat", json={"session_id": conversation_id, "message": QUESTION})
    second = await client.post("/agents/chat", json={"session_id": conversation_id, "message": "And of Italy?"})
    assert first.status_code == second.status_code == 200

    # What the app sent the model the second time: system prompt, first turn, new question.
    sent = json.loads(llm_cassette.requests[1].body)["messages"]
    assert sent == [
        {"role": "system", "content": AGENTS["assistant"].system_prompt},
        {"role": "user", "content": QUESTION},
        {"role": "assistant", "content": first.json()["reply"]},
        {"role": "user", "content": "And of Italy?"},
    ]
    assert len(await history_of(client, conversation_id)) == 4


@pytest.mark.llm_cassette("test_chat_happy_path", read_only=True, faults=[faults.timeout(times=None)])
async def test_model_timeout_is_503(client: httpx.AsyncClient, conversation_id: int) -> None:
    response = await client.post("/agents/chat", json={"session_id": conversation_id, "message": QUESTION})

    assert response.status_code == 503
    assert response.json() == {"detail": "The language model did not answer in time. Try again later."}
    assert await history_of(client, conversation_id) == []  # a failed turn stores nothing


@pytest.mark.llm_cassette("test_chat_happy_path", read_only=True, faults=[faults.rate_limit(call=1, retry_after=7)])
async def test_model_rate_limit_is_429_with_retry_after(client: httpx.AsyncClient, conversation_id: int) -> None:
    response = await client.post("/agents/chat", json={"session_id": conversation_id, "message": QUESTION})

    assert response.status_code == 429
    assert response.headers["retry-after"] == "7"
    assert response.json() == {"detail": "The language model is rate limited. Try again later."}


class TestWithSdkRetries:
    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        return settings.model_copy(update={"llm_max_retries": 1})

    @pytest.mark.llm_cassette("test_chat_happy_path", read_only=True, faults=[faults.rate_limit(call=1)])
    async def test_one_rate_limit_is_absorbed_by_the_retry(
        self, client: httpx.AsyncClient, conversation_id: int, llm_cassette: Cassette
    ) -> None:
        response = await client.post("/agents/chat", json={"session_id": conversation_id, "message": QUESTION})

        assert response.status_code == 200
        assert response.json()["reply"] == "The capital of France is Paris."
        assert len(llm_cassette.requests) == 2  # the 429, then the retry answered from the recording
