"""The weather agent's tool, executed locally: plain functions, no app and no model."""

from __future__ import annotations

import pytest
from agent_api.agents import AGENTS, ToolCall, execute_tool, get_weather

WEATHER = AGENTS["weather"]


def test_get_weather_knows_a_few_cities() -> None:
    assert get_weather("Oslo") == "Oslo: light snow, -3 °C"
    assert get_weather(" LISBON ") == "LISBON: sunny, 24 °C"
    assert get_weather("Atlantis") == "Atlantis: no forecast available"


def test_a_tool_call_runs_the_tool() -> None:
    assert execute_tool(WEATHER, "get_weather", '{"city": "Paris"}') == ToolCall(
        "get_weather", {"city": "Paris"}, "Paris: cloudy, 15 °C"
    )


@pytest.mark.parametrize(
    ("name", "arguments", "error"),
    [
        ("get_weather", "{not json", "error: the arguments are not a JSON object: '{not json'"),
        ("get_weather", '["Paris"]', "error: the arguments are not a JSON object: '[\"Paris\"]'"),
        ("get_forecast", '{"city": "Paris"}', "error: there is no tool named 'get_forecast'"),
        ("get_weather", '{"town": "Paris"}', "error: get_weather() got an unexpected keyword argument 'town'"),
    ],
    ids=["invalid-json", "not-an-object", "unknown-tool", "wrong-argument"],
)
def test_a_bad_tool_call_becomes_an_error_the_model_can_read(name: str, arguments: str, error: str) -> None:
    # Models do send malformed calls: the agent loop passes the error back instead of failing the request.
    assert execute_tool(WEATHER, name, arguments).result == error
