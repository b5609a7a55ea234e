"""The `anthropic` SDK (2.x, over httpx2): messages, streams and tool use, recorded then replayed."""

from __future__ import annotations

from typing import Any

import anthropic
import pytest

from helpers import ANTHROPIC_KEY, user

MODEL = "claude-haiku-4-5"


def client(server: Any) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=server.base_url_anthropic, api_key=ANTHROPIC_KEY, max_retries=0)


def async_client(server: Any, **kwargs: Any) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(base_url=server.base_url_anthropic, api_key=ANTHROPIC_KEY, max_retries=0, **kwargs)


WEATHER_TOOL: Any = {
    "name": "get_weather",
    "description": "Current weather in a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


def test_messages_sync(roundtrip: Any) -> None:
    def call() -> Any:
        with client(roundtrip.server) as c:
            return c.messages.create(model=MODEL, max_tokens=64, messages=user("Capital of France?")).model_dump()

    result = roundtrip.run(call)
    assert result.value["content"][0]["text"] == "The capital of France is Paris."
    assert result.urls == [f"{roundtrip.server.base_url_anthropic}/v1/messages"]


@pytest.mark.asyncio
async def test_messages_async(roundtrip: Any) -> None:
    async def call() -> Any:
        async with async_client(roundtrip.server) as c:
            reply = await c.messages.create(model=MODEL, max_tokens=64, messages=user("hello claude"))
        return reply.model_dump()

    result = await roundtrip.arun(call)
    assert result.value["content"][0]["text"] == "Echo: hello claude"


def test_messages_stream_sync(roundtrip: Any) -> None:
    def call() -> Any:
        with (
            client(roundtrip.server) as c,
            c.messages.stream(model=MODEL, max_tokens=64, messages=user("stream these words")) as stream,
        ):
            pieces = list(stream.text_stream)
            final = stream.get_final_message().model_dump()
        return pieces, final

    result = roundtrip.run(call)
    pieces, final = result.value
    assert "".join(pieces) == "Echo: stream these words"
    assert len(pieces) > 1
    assert final["stop_reason"] == "end_turn"
    response = result.recording.interactions[0].response
    assert response is not None and response.streamed


@pytest.mark.asyncio
async def test_messages_stream_async(roundtrip: Any) -> None:
    async def call() -> Any:
        async with async_client(roundtrip.server) as c:
            stream = await c.messages.create(model=MODEL, max_tokens=64, messages=user("raw events"), stream=True)
            return [event.model_dump() async for event in stream]

    result = await roundtrip.arun(call)
    types = [e["type"] for e in result.value]
    assert types[0] == "message_start" and types[-1] == "message_stop"


def test_tool_use(roundtrip: Any) -> None:
    def call() -> Any:
        with client(roundtrip.server) as c:
            first = c.messages.create(
                model=MODEL,
                max_tokens=64,
                messages=user("Weather in Oslo?"),
                tools=[WEATHER_TOOL],
                tool_choice={"type": "any"},
            )
            tool_use = next(block for block in first.content if block.type == "tool_use")
            second = c.messages.create(
                model=MODEL,
                max_tokens=64,
                tools=[WEATHER_TOOL],
                messages=[
                    *user("Weather in Oslo?"),
                    {"role": "assistant", "content": [b.model_dump() for b in first.content]},
                    {
                        "role": "user",
                        "content": [{"type": "tool_result", "tool_use_id": tool_use.id, "content": "3 degrees"}],
                    },
                ],
            )
        return first.model_dump(), second.model_dump()

    result = roundtrip.run(call)
    first, _ = result.value
    assert first["stop_reason"] == "tool_use"
    tool_use = next(block for block in first["content"] if block["type"] == "tool_use")
    assert tool_use["name"] == "get_weather" and "city" in tool_use["input"]
    assert len(result.recording.interactions) == 2


def test_tool_use_streamed(roundtrip: Any) -> None:
    def call() -> Any:
        with (
            client(roundtrip.server) as c,
            c.messages.stream(
                model=MODEL,
                max_tokens=64,
                messages=user("Weather in Lima?"),
                tools=[WEATHER_TOOL],
                tool_choice={"type": "any"},
            ) as stream,
        ):
            return stream.get_final_message().model_dump()

    result = roundtrip.run(call)
    tool_use = next(block for block in result.value["content"] if block["type"] == "tool_use")
    assert tool_use["name"] == "get_weather"


@pytest.mark.asyncio
async def test_aiohttp_backend(roundtrip: Any) -> None:
    pytest.importorskip("aiohttp")

    async def call() -> Any:
        async with async_client(roundtrip.server, http_client=anthropic.DefaultAioHttpClient()) as c:
            reply = await c.messages.create(model=MODEL, max_tokens=64, messages=user("over aiohttp"))
            async with c.messages.stream(model=MODEL, max_tokens=64, messages=user("streamed over aiohttp")) as s:
                pieces = [text async for text in s.text_stream]
        return reply.content[0].model_dump(), pieces

    result = await roundtrip.arun(call)
    block, pieces = result.value
    assert block["text"] == "Echo: over aiohttp"
    assert "".join(pieces) == "Echo: streamed over aiohttp"
    stream_response = result.recording.interactions[1].response
    assert stream_response is not None and stream_response.streamed
