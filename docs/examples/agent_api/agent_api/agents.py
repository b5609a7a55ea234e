"""The agents: a system prompt each, and for the "weather" agent a tool the model may call.

An agent run is the classic tool loop: call the model with the tools it may use; if it asks for
tool calls, execute them here, append their results to the conversation and call the model again,
until it answers in plain text.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from openai import AsyncOpenAI, omit
from openai.types.chat import (
    ChatCompletionFunctionToolParam,
    ChatCompletionMessageFunctionToolCallParam,
    ChatCompletionMessageParam,
)

MAX_TOOL_ROUNDS = 3


class AgentError(Exception):
    """The model did not reach an answer (the API answers 502)."""


@dataclass(frozen=True)
class Tool:
    """A function the model may call, with the JSON schema of its arguments."""

    name: str
    description: str
    parameters: dict[str, Any]
    function: Callable[..., str]

    def spec(self) -> ChatCompletionFunctionToolParam:
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": self.parameters},
        }


@dataclass(frozen=True)
class Agent:
    """An agent type: how the model is instructed, and what it may call."""

    name: str
    system_prompt: str
    tools: tuple[Tool, ...] = ()


@dataclass(frozen=True)
class ToolCall:
    """A tool call the model asked for, and what the tool returned."""

    name: str
    arguments: dict[str, Any]
    result: str


@dataclass(frozen=True)
class AgentReply:
    text: str
    tool_calls: list[ToolCall] = field(default_factory=list)


# --- the weather tool ---------------------------------------------------------------------------

# A stand-in for a weather service: deterministic, so the tests can assert on the final reply.
_FORECASTS = {
    "lisbon": "sunny, 24 °C",
    "oslo": "light snow, -3 °C",
    "paris": "cloudy, 15 °C",
}


def get_weather(city: str) -> str:
    """Today's forecast for `city`."""
    city = city.strip()
    forecast = _FORECASTS.get(city.lower())
    return f"{city}: {forecast}" if forecast else f"{city}: no forecast available"


WEATHER_TOOL = Tool(
    name="get_weather",
    description="Get today's weather forecast for a city.",
    parameters={
        "type": "object",
        "properties": {"city": {"type": "string", "description": "The city name, e.g. Lisbon"}},
        "required": ["city"],
    },
    function=get_weather,
)


# --- the agent types ----------------------------------------------------------------------------

AGENTS: dict[str, Agent] = {
    agent.name: agent
    for agent in (
        Agent("assistant", "You are a helpful assistant. Answer briefly and precisely."),
        Agent("summarizer", "You summarize the user's text in one or two sentences. Do not add facts."),
        Agent("translator", "You translate the user's text into French. Reply with the translation only."),
        Agent(
            "weather",
            "You answer questions about the weather. Always call get_weather for the city the user names.",
            tools=(WEATHER_TOOL,),
        ),
    )
}


def prompt_messages(agent: Agent, history: Sequence[tuple[str, str]]) -> list[ChatCompletionMessageParam]:
    """The system prompt, then the conversation as (role, content) pairs, oldest first."""
    messages: list[ChatCompletionMessageParam] = [{"role": "system", "content": agent.system_prompt}]
    for role, content in history:
        if role == "assistant":
            messages.append({"role": "assistant", "content": content})
        else:
            messages.append({"role": "user", "content": content})
    return messages


async def run_agent(
    client: AsyncOpenAI, model: str, agent: Agent, messages: list[ChatCompletionMessageParam]
) -> AgentReply:
    """Ask the model, executing the tool calls it makes, until it answers in text."""
    messages = list(messages)
    tools = [tool.spec() for tool in agent.tools]
    done: list[ToolCall] = []
    for _ in range(MAX_TOOL_ROUNDS):
        completion = await client.chat.completions.create(model=model, messages=messages, tools=tools or omit)
        message = completion.choices[0].message
        calls = [call for call in message.tool_calls or () if call.type == "function"]
        if not calls:
            return AgentReply(message.content or "", done)
        requested: list[ChatCompletionMessageFunctionToolCallParam] = [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.function.name, "arguments": call.function.arguments},
            }
            for call in calls
        ]
        messages.append({"role": "assistant", "content": message.content, "tool_calls": requested})
        for call in calls:
            result = execute_tool(agent, call.function.name, call.function.arguments)
            done.append(result)
            messages.append({"role": "tool", "tool_call_id": call.id, "content": result.result})
    raise AgentError(f"the model still asked for tools after {MAX_TOOL_ROUNDS} rounds")


def execute_tool(agent: Agent, name: str, raw_arguments: str) -> ToolCall:
    """Run one tool call. Bad calls become a result the model can read, not an exception."""
    tool = next((tool for tool in agent.tools if tool.name == name), None)
    try:
        arguments = json.loads(raw_arguments or "{}")
    except json.JSONDecodeError:
        arguments = None
    if not isinstance(arguments, dict):
        return ToolCall(name, {}, f"error: the arguments are not a JSON object: {raw_arguments!r}")
    if tool is None:
        return ToolCall(name, arguments, f"error: there is no tool named {name!r}")
    try:
        return ToolCall(name, arguments, tool.function(**arguments))
    except TypeError as exc:  # missing or unexpected arguments
        return ToolCall(name, arguments, f"error: {exc}")
