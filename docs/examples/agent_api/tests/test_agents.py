"""POST /agents/{agent_type}/chat: each agent's system prompt, and the weather agent's tool loop."""

from __future__ import annotations

import json

import httpx
import pytest
from agent_api.agents import AGENTS, get_weather

from llm_cassette import Cassette

pytestmark = pytest.mark.asyncio


@pytest.mark.llm_cassette
@pytest.mark.parametrize("agent_type", ["assistant", "summarizer", "translator"])
async def test_agent_replies_with_its_own_system_prompt(
    client: httpx.AsyncClient, llm_cassette: Cassette, agent_type: str
) -> None:
    response = await client.post(f"/agents/{agent_type}/chat", json={"message": "Say hello"})

    assert response.status_code == 200
    assert response.json()["reply"] == "Hello! How can I help you today?"
    # The prompt the app sent, as the cassette saw it.
    sent = json.loads(llm_cassette.requests[0].body)
    assert sent["messages"] == [
        {"role": "system", "content": AGENTS[agent_type].system_prompt},
        {"role": "user", "content": "Say hello"},
    ]
    assert "tools" not in sent

    history = await client.get(f"/conversations/{response.json()['conversation_id']}/history")
    assert history.json()["agent_type"] == agent_type
    assert len(history.json()["messages"]) == 2


@pytest.mark.llm_cassette
async def test_weather_agent_calls_get_weather_then_answers_with_its_result(
    client: httpx.AsyncClient, llm_cassette: Cassette
) -> None:
    # The fake model server passes the user's text as the tool's argument; a real model would
    # extract the city from "What's the weather in Lisbon?".
    response = await client.post("/agents/weather/chat", json={"message": "Lisbon"})

    assert response.status_code == 200
    forecast = get_weather("Lisbon")
    assert forecast == "Lisbon: sunny, 24 °C"
    assert response.json()["tool_calls"] == [
        {"name": "get_weather", "arguments": {"city": "Lisbon"}, "result": forecast}
    ]
    assert forecast in response.json()["reply"]

    # Two model calls: the first offered the tool, the second carried its result back.
    first, second = (json.loads(request.body) for request in llm_cassette.requests)
    assert [tool["function"]["name"] for tool in first["tools"]] == ["get_weather"]
    assistant_turn, tool_turn = second["messages"][-2:]
    assert assistant_turn["tool_calls"][0]["function"]["name"] == "get_weather"
    assert tool_turn == {"role": "tool", "tool_call_id": assistant_turn["tool_calls"][0]["id"], "content": forecast}


async def test_unknown_agent_type_is_404(client: httpx.AsyncClient) -> None:
    response = await client.post("/agents/oracle/chat", json={"message": "Will it work?"})

    assert response.status_code == 404
    assert response.json() == {"detail": "unknown agent type 'oracle'"}
