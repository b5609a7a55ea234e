"""The `openai` SDK (3.x, over httpx2): every endpoint an LLM app uses, recorded then replayed.

Each test drives the real SDK against the fake server through `roundtrip` (see conftest.py):
recorded once, replayed with the server untouched, and the caller sees the same data both times.
"""

from __future__ import annotations

import base64
import json
import struct
from typing import Any

import openai
import pytest
from pydantic import BaseModel

from helpers import OPENAI_KEY, user

MODEL = "gpt-4o-mini"


def client(server: Any) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.base_url_openai, api_key=OPENAI_KEY, max_retries=0)


def async_client(server: Any, **kwargs: Any) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=server.base_url_openai, api_key=OPENAI_KEY, max_retries=0, **kwargs)


WEATHER_TOOL: Any = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
            "required": ["city", "unit"],
        },
    },
}


class Capital(BaseModel):
    country: str
    city: str
    population_millions: float


# --- chat completions --------------------------------------------------------------------------


def test_chat_sync(roundtrip: Any) -> None:
    def call() -> Any:
        with client(roundtrip.server) as c:
            reply = c.chat.completions.create(model=MODEL, messages=user("Capital of France?"))
        return reply.model_dump()

    result = roundtrip.run(call)
    assert result.value["choices"][0]["message"]["content"] == "The capital of France is Paris."
    assert result.urls == [f"{roundtrip.server.base_url_openai}/chat/completions"]


@pytest.mark.asyncio
async def test_chat_async(roundtrip: Any) -> None:
    async def call() -> Any:
        async with async_client(roundtrip.server) as c:
            reply = await c.chat.completions.create(model=MODEL, messages=user("hello async"))
        return reply.model_dump()

    result = await roundtrip.arun(call)
    assert result.value["choices"][0]["message"]["content"] == "Echo: hello async"


def test_chat_stream_sync(roundtrip: Any) -> None:
    def call() -> Any:
        with client(roundtrip.server) as c:
            stream = c.chat.completions.create(
                model=f"{MODEL}+chunks5",
                messages=user("five little words here"),
                stream=True,
                stream_options={"include_usage": True},
            )
            return [chunk.model_dump() for chunk in stream]

    result = roundtrip.run(call)
    text = "".join(c["choices"][0]["delta"]["content"] or "" for c in result.value if c["choices"])
    assert text == "Echo: five little words here"
    assert result.value[-1]["usage"]["completion_tokens"] > 0
    response = result.recording.interactions[0].response
    assert response is not None and response.streamed  # kept as chunks, not one body


@pytest.mark.asyncio
async def test_chat_stream_async(roundtrip: Any) -> None:
    async def call() -> Any:
        async with async_client(roundtrip.server) as c:
            stream = await c.chat.completions.create(model=MODEL, messages=user("stream async"), stream=True)
            return [chunk.model_dump() async for chunk in stream]

    result = await roundtrip.arun(call)
    text = "".join(c["choices"][0]["delta"]["content"] or "" for c in result.value if c["choices"])
    assert text == "Echo: stream async"


def test_tool_calls(roundtrip: Any) -> None:
    def call() -> Any:
        with client(roundtrip.server) as c:
            first = c.chat.completions.create(
                model=MODEL, messages=user("Weather in Oslo?"), tools=[WEATHER_TOOL], tool_choice="required"
            )
            tool_call = first.choices[0].message.tool_calls[0]
            messages = [
                *user("Weather in Oslo?"),
                first.choices[0].message.model_dump(exclude_none=True),
                {"role": "tool", "tool_call_id": tool_call.id, "content": '{"temp": 3}'},
            ]
            second = c.chat.completions.create(model=MODEL, messages=messages, tools=[WEATHER_TOOL])
        return first.model_dump(), second.model_dump()

    result = roundtrip.run(call)
    first, _ = result.value
    tool_call = first["choices"][0]["message"]["tool_calls"][0]
    assert tool_call["function"]["name"] == "get_weather"
    assert set(json.loads(tool_call["function"]["arguments"])) == {"city", "unit"}
    assert len(result.recording.interactions) == 2


def test_tool_calls_streamed(roundtrip: Any) -> None:
    def call() -> Any:
        with client(roundtrip.server) as c:
            stream = c.chat.completions.create(
                model=f"{MODEL}+chunks4",
                messages=user("Weather in Lima?"),
                tools=[WEATHER_TOOL],
                tool_choice="required",
                stream=True,
            )
            deltas = [c.choices[0].delta.tool_calls for c in stream if c.choices and c.choices[0].delta.tool_calls]
        return "".join(d[0].function.arguments or "" for d in deltas)

    result = roundtrip.run(call)
    assert set(json.loads(result.value)) == {"city", "unit"}


def test_response_format_json_schema(roundtrip: Any) -> None:
    schema = Capital.model_json_schema()
    response_format: Any = {
        "type": "json_schema",
        "json_schema": {"name": "capital", "schema": schema, "strict": True},
    }

    def call() -> Any:
        with client(roundtrip.server) as c:
            reply = c.chat.completions.create(
                model=MODEL, messages=user("Capital of France?"), response_format=response_format
            )
        return json.loads(reply.choices[0].message.content or "")

    result = roundtrip.run(call)
    assert set(result.value) == {"country", "city", "population_millions"}


def test_parse_with_pydantic_model(roundtrip: Any) -> None:
    def call() -> Any:
        with client(roundtrip.server) as c:
            reply = c.chat.completions.parse(model=MODEL, messages=user("Capital of Peru?"), response_format=Capital)
        parsed = reply.choices[0].message.parsed
        assert isinstance(parsed, Capital)
        return parsed

    result = roundtrip.run(call)
    assert isinstance(result.value.population_millions, float)


# --- embeddings ------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["float", "base64"])
def test_embeddings(roundtrip: Any, encoding: str) -> None:
    def call() -> Any:
        with client(roundtrip.server) as c:
            reply = c.embeddings.create(
                model="text-embedding-3-small", input=["first text", "second text"], encoding_format=encoding
            )
        return [item.embedding for item in reply.data]

    result = roundtrip.run(call)
    first, second = result.value
    if encoding == "base64":
        assert isinstance(first, str)
        floats = struct.unpack(f"<{len(base64.b64decode(first)) // 4}f", base64.b64decode(first))
        assert len(floats) > 0
    else:
        assert all(isinstance(x, float) for x in first)
    assert first != second


def test_embeddings_default_encoding_is_decoded_by_the_sdk(roundtrip: Any) -> None:
    # Without encoding_format the SDK asks for base64 on the wire and hands back floats.
    def call() -> Any:
        with client(roundtrip.server) as c:
            return c.embeddings.create(model="text-embedding-3-small", input="some text").data[0].embedding

    result = roundtrip.run(call)
    assert all(isinstance(x, float) for x in result.value)
    assert result.recording.interactions[0].request.json()["encoding_format"] == "base64"


# --- Responses API ---------------------------------------------------------------------------


def test_responses_api(roundtrip: Any) -> None:
    def call() -> Any:
        with client(roundtrip.server) as c:
            return c.responses.create(model=MODEL, input="Capital of France?").output_text

    result = roundtrip.run(call)
    assert result.value == "The capital of France is Paris."
    assert result.urls == [f"{roundtrip.server.base_url_openai}/responses"]


@pytest.mark.asyncio
async def test_responses_api_async(roundtrip: Any) -> None:
    async def call() -> Any:
        async with async_client(roundtrip.server) as c:
            return (await c.responses.create(model=MODEL, input="hi responses")).output_text

    result = await roundtrip.arun(call)
    assert result.value == "Echo: hi responses"


# --- the optional aiohttp backend --------------------------------------------------------------


@pytest.mark.asyncio
async def test_aiohttp_backend(roundtrip: Any) -> None:
    pytest.importorskip("aiohttp")

    async def call() -> Any:
        async with async_client(roundtrip.server, http_client=openai.DefaultAioHttpClient()) as c:
            reply = await c.chat.completions.create(model=MODEL, messages=user("over aiohttp"))
            stream = await c.chat.completions.create(
                model=f"{MODEL}+chunks3", messages=user("streamed over aiohttp"), stream=True
            )
            chunks = [chunk.model_dump() async for chunk in stream]
        return reply.choices[0].message.content, chunks

    result = await roundtrip.arun(call)
    text, chunks = result.value
    assert text == "Echo: over aiohttp"
    assert "".join(c["choices"][0]["delta"]["content"] or "" for c in chunks if c["choices"]) == (
        "Echo: streamed over aiohttp"
    )
    stream_response = result.recording.interactions[1].response
    assert stream_response is not None and stream_response.streamed
