"""Tests of the bundled fake OpenAI/Anthropic server, driven by the real SDKs over real sockets."""

from __future__ import annotations

import asyncio
import base64
import json
import struct
import time
from collections.abc import Iterator
from typing import Any, cast

import anthropic
import httpx
import httpx2
import openai
import pydantic
import pytest

from helpers import user
from llm_cassette.fake_server import CREATED, FakeServer, Knobs, parse_knobs

OPENAI_KEY = "sk-fake-test-key"
ANTHROPIC_KEY = "sk-ant-fake-test-key"
USER_TEXT = "one two three four five six"
WEATHER_TOOL: Any = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {
                "location": {"type": "string"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                "days": {"type": "integer"},
            },
            "required": ["location", "unit"],
        },
    },
}
ANTHROPIC_WEATHER_TOOL: Any = {
    "name": "get_weather",
    "description": "Get the weather for a city.",
    "input_schema": WEATHER_TOOL["function"]["parameters"],
}


@pytest.fixture(scope="module")
def srv() -> Iterator[FakeServer]:
    with FakeServer() as server:
        yield server


@pytest.fixture(autouse=True)
def _fresh_counters(srv: FakeServer) -> None:
    srv.reset()


@pytest.fixture
def oai(srv: FakeServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=srv.base_url_openai, api_key=OPENAI_KEY, max_retries=0) as client:
        yield client


@pytest.fixture
def ant(srv: FakeServer) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(base_url=srv.base_url_anthropic, api_key=ANTHROPIC_KEY, max_retries=0) as client:
        yield client


@pytest.fixture
def http(srv: FakeServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=srv.url, timeout=10) as client:
        yield client


def sse_data(raw: bytes) -> list[str]:
    return [event.removeprefix("data: ") for event in raw.decode().split("\n\n") if event]


# --------------------------------------------------------------------------- server runner


def test_server_binds_a_free_port_and_reports_it(srv: FakeServer) -> None:
    assert srv.port > 0
    assert srv.url == f"http://127.0.0.1:{srv.port}"
    assert srv.base_url_openai == srv.url + "/v1"
    assert srv.base_url_anthropic == srv.url


def test_second_server_context_manager_and_idempotent_stop(srv: FakeServer) -> None:
    other = FakeServer()
    with pytest.raises(RuntimeError):
        _ = other.url
    with other:
        assert other.port != srv.port
        assert httpx.get(other.url + "/_fake/stats").json() == {"requests": 0}
    other.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(other.url + "/_fake/stats")


def test_request_counting_stats_and_reset(srv: FakeServer, http: httpx.Client, oai: openai.OpenAI) -> None:
    assert srv.request_count == 0
    oai.models.list()
    http.post("/v1/embeddings", json={"model": "m", "input": "x"})
    http.get("/v1/nope")
    assert srv.request_count == 3
    assert srv.requests == [("GET", "/v1/models"), ("POST", "/v1/embeddings"), ("GET", "/v1/nope")]
    assert srv.app.state.request_count == 3
    assert http.get("/_fake/stats").json() == {"requests": 3}
    assert http.post("/_fake/reset").json() == {"requests": 0}
    assert srv.request_count == 0
    assert srv.requests == []


# --------------------------------------------------------------------------- OpenAI chat


def test_chat_non_stream_echo_shape(oai: openai.OpenAI, http: httpx.Client) -> None:
    completion = oai.chat.completions.create(model="gpt-4o-mini", messages=user("Hello   there"))
    choice = completion.choices[0]
    assert choice.message.content == "Echo: Hello there"
    assert choice.message.role == "assistant"
    assert choice.message.refusal is None
    assert choice.finish_reason == "stop"
    assert completion.id.startswith("chatcmpl-")
    assert completion.object == "chat.completion"
    assert completion.created == CREATED
    assert completion.model == "gpt-4o-mini"
    assert completion.usage is not None
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (2, 3)
    assert completion.usage.total_tokens == 5

    body = {"model": "gpt-4o-mini", "messages": user("Hello   there")}
    first, second = (http.post("/v1/chat/completions", json=body) for _ in range(2))
    assert first.json() == second.json()  # deterministic, id included
    assert first.headers["content-type"] == "application/json"
    message = first.json()["choices"][0]["message"]
    assert "refusal" in message and message["refusal"] is None


def test_chat_canned_answer_and_content_parts(oai: openai.OpenAI) -> None:
    completion = oai.chat.completions.create(
        model="gpt-4o",
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": [{"type": "text", "text": "What is the Capital of France?"}]},
        ],
    )
    assert completion.choices[0].message.content == "The capital of France is Paris."


def test_chat_max_tokens_truncates_with_finish_reason_length(oai: openai.OpenAI) -> None:
    completion = oai.chat.completions.create(model="gpt-4o-mini", messages=user(USER_TEXT), max_tokens=3)
    assert completion.choices[0].message.content == "Echo: one two"
    assert completion.choices[0].finish_reason == "length"


def test_chat_stream_sdk_with_usage(oai: openai.OpenAI) -> None:
    chunks = list(
        oai.chat.completions.create(
            model="gpt-4o-mini",
            messages=user(USER_TEXT),
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    first, *middle, final, usage_chunk = chunks
    assert first.choices[0].delta.role == "assistant"
    assert first.choices[0].delta.content == ""
    pieces = [chunk.choices[0].delta.content for chunk in middle]
    assert pieces == ["Echo:", " one", " two", " three", " four", " five", " six"]
    assert "".join(p or "" for p in pieces) == f"Echo: {USER_TEXT}"
    assert final.choices[0].finish_reason == "stop"
    assert usage_chunk.choices == []
    assert usage_chunk.usage is not None
    assert (usage_chunk.usage.prompt_tokens, usage_chunk.usage.completion_tokens) == (6, 7)
    assert all(chunk.object == "chat.completion.chunk" for chunk in chunks)
    assert len({chunk.id for chunk in chunks}) == 1


def test_chat_stream_without_usage_and_raw_sse_framing(http: httpx.Client) -> None:
    body = {"model": "gpt-4o-mini", "messages": user("hi you"), "stream": True}
    with http.stream("POST", "/v1/chat/completions", json=body) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        raw = response.read()
    assert raw.endswith(b"data: [DONE]\n\n")
    events = sse_data(raw)
    assert events[-1] == "[DONE]"
    chunks = [json.loads(event) for event in events[:-1]]
    assert [c["choices"][0]["delta"] for c in chunks] == [
        {"role": "assistant", "content": "", "refusal": None},
        {"content": "Echo:"},
        {"content": " hi"},
        {"content": " you"},
        {},
    ]
    assert [c["choices"][0]["finish_reason"] for c in chunks][-1] == "stop"
    assert all("usage" not in c for c in chunks)


def test_each_sse_event_is_flushed_on_its_own(http: httpx.Client) -> None:
    body = {"model": "gpt-4o-mini+delay30", "messages": user("a b"), "stream": True}
    with http.stream("POST", "/v1/chat/completions", json=body) as response:
        pieces = list(response.iter_raw())
    assert pieces[0].count(b"data: ") == 1
    assert len(pieces) > 1


def test_chat_tool_call_non_stream(oai: openai.OpenAI) -> None:
    completion = oai.chat.completions.create(
        model="gpt-4o-mini", messages=user("Weather in Paris?"), tools=[WEATHER_TOOL]
    )
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    assert choice.message.tool_calls is not None
    (call,) = choice.message.tool_calls
    assert call.type == "function"
    assert call.id.startswith("call_")
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"location": "Weather in Paris?", "unit": "celsius"}


def test_chat_tool_call_without_schema_properties_uses_query(oai: openai.OpenAI) -> None:
    tools: Any = [
        {"type": "function", "function": {"name": "first", "parameters": {"type": "object"}}},
        {"type": "function", "function": {"name": "second"}},
    ]
    completion = oai.chat.completions.create(
        model="gpt-4o-mini",
        messages=user("look it up"),
        tools=tools,
        tool_choice={"type": "function", "function": {"name": "second"}},
    )
    tool_calls = completion.choices[0].message.tool_calls
    assert tool_calls is not None
    assert tool_calls[0].type == "function"
    assert tool_calls[0].function.name == "second"
    assert json.loads(tool_calls[0].function.arguments) == {"query": "look it up"}


def test_chat_tool_call_streamed_and_parsed_by_sdk_helper(oai: openai.OpenAI) -> None:
    with oai.chat.completions.stream(
        model="gpt-4o-mini+chunks5", messages=user("Weather in Oslo?"), tools=[WEATHER_TOOL]
    ) as stream:
        argument_deltas = [
            event.arguments_delta
            for event in stream
            if event.type == "tool_calls.function.arguments.delta" and event.arguments_delta
        ]
        final = stream.get_final_completion()
    assert len(argument_deltas) == 5  # the first tool-call delta carries the name and empty arguments
    choice = final.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.tool_calls is not None
    call = choice.message.tool_calls[0]
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"location": "Weather in Oslo?", "unit": "celsius"}


def test_chat_tool_result_followup(oai: openai.OpenAI) -> None:
    completion = oai.chat.completions.create(
        model="gpt-4o-mini",
        messages=[
            {"role": "user", "content": "Weather in Paris?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"location": "Paris"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "18C and sunny"},
        ],
        tools=[WEATHER_TOOL],
    )
    assert completion.choices[0].finish_reason == "stop"
    assert completion.choices[0].message.content == "The tool returned: 18C and sunny"


class CityAnswer(pydantic.BaseModel):
    city: str
    population: int
    tags: list[str]


def test_chat_structured_outputs(oai: openai.OpenAI) -> None:
    parsed = oai.chat.completions.parse(
        model="gpt-4o-mini", messages=user("Capital of France?"), response_format=CityAnswer
    )
    assert parsed.choices[0].message.parsed == CityAnswer(
        city="The capital of France is Paris.", population=1, tags=["The capital of France is Paris."]
    )
    completion = oai.chat.completions.create(
        model="gpt-4o-mini", messages=user("hi"), response_format={"type": "json_object"}
    )
    assert json.loads(completion.choices[0].message.content or "") == {"answer": "Echo: hi"}


def test_bad_requests_have_openai_error_shape(oai: openai.OpenAI, http: httpx.Client) -> None:
    with pytest.raises(openai.BadRequestError) as excinfo:
        oai.chat.completions.create(model="gpt-4o-mini", messages=[])
    assert excinfo.value.status_code == 400
    response = http.post("/v1/chat/completions", content=b"not json")
    assert response.status_code == 400
    assert set(response.json()["error"]) == {"message", "type", "param", "code"}
    response = http.post(
        "/v1/chat/completions", json={"model": "m", "messages": user("x")}, headers={"x-fake-drop-after": "x"}
    )
    assert response.status_code == 400
    assert "drop-after" in response.json()["error"]["message"]


# --------------------------------------------------------------------------- embeddings, models, responses


def test_embeddings_float_and_base64(oai: openai.OpenAI, http: httpx.Client) -> None:
    floats = oai.embeddings.create(model="text-embedding-3-small", input=["alpha", "beta"], encoding_format="float")
    assert [item.index for item in floats.data] == [0, 1]
    alpha, beta = (item.embedding for item in floats.data)
    assert len(alpha) == 8 and alpha != beta
    assert all(-1 <= value < 1 for value in alpha)
    assert floats.usage.prompt_tokens == 2

    # The SDK asks for base64 when encoding_format is omitted, and decodes it transparently.
    decoded = oai.embeddings.create(model="text-embedding-3-small", input="alpha")
    assert decoded.data[0].embedding == alpha

    raw = http.post(
        "/v1/embeddings",
        json={"model": "text-embedding-3-small", "input": "alpha", "encoding_format": "base64"},
    ).json()
    encoded = raw["data"][0]["embedding"]
    assert isinstance(encoded, str)
    assert list(struct.unpack("<8f", base64.b64decode(encoded))) == alpha

    wide = oai.embeddings.create(model="text-embedding-3-small", input="alpha", dimensions=40, encoding_format="float")
    assert len(wide.data[0].embedding) == 40
    assert wide.data[0].embedding[:8] == alpha


def test_models_list_openai_and_anthropic(oai: openai.OpenAI, ant: anthropic.Anthropic) -> None:
    openai_ids = [model.id for model in oai.models.list()]
    assert "gpt-4o-mini" in openai_ids
    anthropic_ids = [model.id for model in ant.models.list()]
    assert anthropic_ids == openai_ids


def test_responses_api_output_text(oai: openai.OpenAI) -> None:
    response = oai.responses.create(model="gpt-4o-mini", input="Capital of France?", instructions="Be brief.")
    assert response.output_text == "The capital of France is Paris."
    assert response.id.startswith("resp_")
    assert response.status == "completed"
    assert response.usage is not None
    assert (response.usage.input_tokens, response.usage.output_tokens) == (5, 6)
    assert response.usage.input_tokens_details.cached_tokens == 0
    listed = oai.responses.create(
        model="gpt-4o-mini",
        input=[{"role": "user", "content": [{"type": "input_text", "text": "ping pong"}]}],
    )
    assert listed.output_text == "Echo: ping pong"


# --------------------------------------------------------------------------- Anthropic


def test_anthropic_message_non_stream(ant: anthropic.Anthropic) -> None:
    message = ant.messages.create(
        model="claude-haiku-4-5", max_tokens=100, system="Be brief.", messages=user(USER_TEXT)
    )
    assert message.id.startswith("msg_")
    assert message.type == "message"
    assert message.role == "assistant"
    assert message.model == "claude-haiku-4-5"
    assert message.stop_reason == "end_turn"
    assert message.stop_sequence is None
    assert [block.type for block in message.content] == ["text"]
    assert message.content[0].text == f"Echo: {USER_TEXT}"  # type: ignore[union-attr]
    assert (message.usage.input_tokens, message.usage.output_tokens) == (8, 7)
    assert ant.messages.count_tokens(model="claude-haiku-4-5", messages=user(USER_TEXT)).input_tokens == 6


def test_anthropic_stream_helper(ant: anthropic.Anthropic) -> None:
    with ant.messages.stream(model="claude-haiku-4-5", max_tokens=100, messages=user("Capital of France?")) as stream:
        texts = list(stream.text_stream)
        final = stream.get_final_message()
    assert texts == ["The", " capital", " of", " France", " is", " Paris."]
    assert final.content[0].text == "The capital of France is Paris."  # type: ignore[union-attr]
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens == 6


def test_anthropic_raw_event_sequence(http: httpx.Client) -> None:
    body = {"model": "claude", "max_tokens": 10, "messages": user("hi"), "stream": True}
    raw = http.post("/v1/messages", json=body, headers={"anthropic-version": "2023-06-01"}).content
    events = [event.split("\n") for event in raw.decode().split("\n\n") if event]
    names = [lines[0].removeprefix("event: ") for lines in events]
    assert names == [
        "message_start",
        "content_block_start",
        "ping",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    for name, lines in zip(names, events, strict=True):
        assert json.loads(lines[1].removeprefix("data: "))["type"] == name
    delta = json.loads(events[-2][1].removeprefix("data: "))
    assert delta["delta"] == {"stop_reason": "end_turn", "stop_sequence": None}
    assert delta["usage"] == {"output_tokens": 2}


def test_anthropic_tool_use_and_tool_result(ant: anthropic.Anthropic) -> None:
    message = ant.messages.create(
        model="claude-haiku-4-5",
        max_tokens=100,
        messages=user("Weather in Rome?"),
        tools=[ANTHROPIC_WEATHER_TOOL],
    )
    assert message.stop_reason == "tool_use"
    (block,) = message.content
    assert block.type == "tool_use"
    assert block.id.startswith("toolu_")
    assert block.name == "get_weather"
    assert block.input == {"location": "Weather in Rome?", "unit": "celsius"}

    with ant.messages.stream(
        model="claude-haiku-4-5",
        max_tokens=100,
        messages=user("Weather in Rome?"),
        tools=[ANTHROPIC_WEATHER_TOOL],
    ) as stream:
        streamed = stream.get_final_message()
    assert streamed.stop_reason == "tool_use"
    assert streamed.content[0].type == "tool_use"
    assert streamed.content[0].input == block.input

    answer = ant.messages.create(
        model="claude-haiku-4-5",
        max_tokens=100,
        tools=[ANTHROPIC_WEATHER_TOOL],
        messages=[
            {"role": "user", "content": "Weather in Rome?"},
            {"role": "assistant", "content": [cast(Any, block.model_dump())]},
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": block.id, "content": "25C and clear"}],
            },
        ],
    )
    assert answer.stop_reason == "end_turn"
    assert answer.content[0].text == "The tool returned: 25C and clear"  # type: ignore[union-attr]


# --------------------------------------------------------------------------- failure knobs


def test_fail_429_twice_then_success_with_sdk_retries(srv: FakeServer, http: httpx.Client) -> None:
    failed = http.post(
        "/v1/chat/completions", json={"model": "m", "messages": user("x")}, headers={"x-fake-fail": "429x1"}
    )
    assert failed.status_code == 429
    assert failed.headers["retry-after"] == "1"
    assert failed.headers["retry-after-ms"] == "1000"
    assert failed.json() == {
        "error": {
            "message": failed.json()["error"]["message"],
            "type": "requests",
            "param": None,
            "code": "rate_limit_exceeded",
        }
    }
    srv.reset()

    with openai.OpenAI(base_url=srv.base_url_openai, api_key=OPENAI_KEY, max_retries=2) as client:
        started = time.monotonic()
        completion = client.chat.completions.create(model="gpt-4o-mini+fail429x2", messages=user("retry me"))
        elapsed = time.monotonic() - started
    assert completion.choices[0].message.content == "Echo: retry me"
    assert srv.request_count == 3
    assert elapsed >= 1.9  # the SDK honoured retry-after-ms: 1000 twice


def test_fail_counters_are_per_scenario(srv: FakeServer, http: httpx.Client) -> None:
    def status(scenario: str) -> int:
        headers = {"x-fake-fail": "503x1", "x-fake-scenario": scenario}
        return http.post("/v1/embeddings", json={"model": "m", "input": "x"}, headers=headers).status_code

    assert [status("a"), status("a"), status("b"), status("b"), status("a")] == [503, 200, 503, 200, 200]
    srv.reset()
    assert status("a") == 503


def test_anthropic_rate_limit_retried_with_short_retry_after(srv: FakeServer) -> None:
    with anthropic.Anthropic(base_url=srv.base_url_anthropic, api_key=ANTHROPIC_KEY, max_retries=1) as client:
        message = client.messages.create(
            model="claude-haiku-4-5+fail429x1+retryafter=50", max_tokens=50, messages=user("again")
        )
    assert message.content[0].text == "Echo: again"  # type: ignore[union-attr]
    assert srv.request_count == 2


def test_fail_500_always(oai: openai.OpenAI, srv: FakeServer) -> None:
    for _ in range(2):
        with pytest.raises(openai.InternalServerError) as excinfo:
            oai.chat.completions.create(model="gpt-4o-mini", messages=user("x"), extra_headers={"x-fake-fail": "500"})
    assert excinfo.value.status_code == 500
    assert excinfo.value.body == {
        "message": "The server had an error while processing your request. Sorry about that!",
        "type": "server_error",
        "param": None,
        "code": None,
    }
    assert srv.request_count == 2


def test_fail_529_anthropic_overloaded(ant: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.OverloadedError) as excinfo:
        ant.messages.create(model="claude-haiku-4-5+fail529", max_tokens=10, messages=user("x"))
    assert excinfo.value.status_code == 529
    body = excinfo.value.body
    assert isinstance(body, dict)
    assert body["type"] == "error"
    assert body["error"] == {"type": "overloaded_error", "message": "Overloaded"}


def test_drop_after_3_openai_sdk(oai: openai.OpenAI) -> None:
    received = []
    stream = oai.chat.completions.create(model="gpt-4o-mini+drop3", messages=user(USER_TEXT), stream=True)
    with pytest.raises(openai.APIConnectionError) as excinfo:
        for chunk in stream:
            received.append(chunk)
    assert len(received) == 3
    assert type(excinfo.value) is openai.APIConnectionError
    assert isinstance(excinfo.value.__cause__, httpx2.RemoteProtocolError)
    assert "incomplete chunked read" in str(excinfo.value.__cause__)


def test_drop_after_anthropic_sdk_raises_raw_httpx2_error(ant: anthropic.Anthropic) -> None:
    received = []
    # 4 SSE events are sent: message_start, content_block_start, ping (skipped by the SDK), one delta.
    stream = ant.messages.create(
        model="claude-haiku-4-5",
        max_tokens=100,
        messages=user(USER_TEXT),
        stream=True,
        extra_headers={"x-fake-drop-after": "4"},
    )
    with pytest.raises(httpx2.RemoteProtocolError, match="incomplete chunked read"):
        for event in stream:
            received.append(event.type)
    assert received == ["message_start", "content_block_start", "content_block_delta"]


@pytest.mark.parametrize("module", [httpx, httpx2], ids=["httpx", "httpx2"])
def test_drop_after_3_raw_clients(srv: FakeServer, module: Any) -> None:
    body = {"model": "gpt-4o-mini", "messages": user(USER_TEXT), "stream": True}
    data = b""
    with (
        module.Client() as client,
        client.stream(
            "POST", srv.base_url_openai + "/chat/completions", json=body, headers={"x-fake-drop-after": "3"}
        ) as response,
    ):
        assert response.status_code == 200
        with pytest.raises(module.RemoteProtocolError, match="peer closed connection without sending complete"):
            for piece in response.iter_raw():
                data += piece
    assert data.count(b"data: ") == 3
    assert data.endswith(b"\n\n")


def test_slow_first_byte_times_out(oai: openai.OpenAI, srv: FakeServer) -> None:
    with pytest.raises(openai.APITimeoutError):
        oai.chat.completions.create(model="gpt-4o-mini+slow3000", messages=user("x"), timeout=0.2)
    with httpx2.Client(timeout=0.2) as client, pytest.raises(httpx2.ReadTimeout):
        client.get(srv.base_url_openai + "/models", headers={"x-fake-first-byte-delay-ms": "3000"})
    started = time.monotonic()
    completion = oai.chat.completions.create(
        model="gpt-4o-mini", messages=user("x"), extra_headers={"x-fake-first-byte-delay-ms": "150"}
    )
    assert time.monotonic() - started >= 0.14
    assert completion.choices[0].message.content == "Echo: x"


def test_chunk_delay_and_exact_chunk_count(oai: openai.OpenAI) -> None:
    arrivals: list[float] = []
    contents: list[str] = []
    started = time.monotonic()
    for chunk in oai.chat.completions.create(
        model="gpt-4o-mini+chunks20+delay10", messages=user("short reply"), stream=True
    ):
        arrivals.append(time.monotonic())
        if chunk.choices and chunk.choices[0].delta.content:
            contents.append(chunk.choices[0].delta.content)
    finished = time.monotonic()
    assert len(contents) == 20
    assert "".join(contents).startswith("Echo: short reply")
    assert finished - started >= 0.18
    assert arrivals == sorted(arrivals)
    assert arrivals[0] < arrivals[-1]  # chunks are delivered incrementally, not all at the end


def test_echo_headers_and_query(oai: openai.OpenAI) -> None:
    raw = oai.chat.completions.with_raw_response.create(
        model="gpt-4o-mini",
        messages=user("x"),
        extra_headers={"x-fake-echo-headers": "1"},
        extra_query={"api-key": "query-secret"},
    )
    body = raw.http_response.json()
    assert body["echo_headers"]["authorization"] == f"Bearer {OPENAI_KEY}"
    assert body["echo_query"] == "api-key=query-secret"
    assert raw.parse().choices[0].message.content == "Echo: x"


def test_echo_headers_in_stream_and_anthropic_errors(http: httpx.Client) -> None:
    headers = {"x-api-key": ANTHROPIC_KEY, "anthropic-version": "2023-06-01"}
    body = {"model": "claude+echo+fail429", "max_tokens": 5, "messages": user("x")}
    error = http.post("/v1/messages", json=body, headers=headers)
    assert error.status_code == 429
    assert error.json()["type"] == "error"
    assert error.json()["error"]["type"] == "rate_limit_error"
    assert error.json()["echo_headers"]["x-api-key"] == ANTHROPIC_KEY
    stream = http.post("/v1/messages", json={**body, "model": "claude+echo", "stream": True}, headers=headers)
    first = json.loads(stream.text.split("\n\n")[0].split("\n")[1].removeprefix("data: "))
    assert first["type"] == "message_start"
    assert first["echo_headers"]["x-api-key"] == ANTHROPIC_KEY


def test_parse_knobs_headers_override_model_suffix() -> None:
    assert parse_knobs({}, "gpt-4o-mini") == Knobs()
    knobs = parse_knobs(
        {"X-Fake-Chunk-Delay-Ms": "7", "x-fake-scenario": "s1"},
        "gpt+fail429x2+slow200+delay50+drop3+chunks20+echo+unknown",
    )
    assert knobs == Knobs(
        fail_status=429,
        fail_times=2,
        scenario="s1",
        first_byte_delay_ms=200,
        chunk_delay_ms=7,
        drop_after=3,
        chunks=20,
        echo_headers=True,
    )
    assert knobs.fail_spec == "429x2"
    assert parse_knobs({"x-fake-fail": "500"}).fail_spec == "500"
    with pytest.raises(ValueError):
        parse_knobs({"x-fake-fail": "boom"})


# --------------------------------------------------------------------------- async clients


def test_async_openai_and_anthropic_streams(srv: FakeServer) -> None:
    async def main() -> tuple[str, str]:
        async with openai.AsyncOpenAI(base_url=srv.base_url_openai, api_key=OPENAI_KEY) as oclient:
            stream = await oclient.chat.completions.create(
                model="gpt-4o-mini+delay5", messages=user("async hello"), stream=True
            )
            parts = [chunk.choices[0].delta.content or "" async for chunk in stream if chunk.choices]
        async with (
            anthropic.AsyncAnthropic(base_url=srv.base_url_anthropic, api_key=ANTHROPIC_KEY) as aclient,
            aclient.messages.stream(
                model="claude-haiku-4-5+delay5", max_tokens=50, messages=user("async hello")
            ) as astream,
        ):
            texts = [text async for text in astream.text_stream]
            final = await astream.get_final_message()
        assert final.content[0].text == "".join(texts)  # type: ignore[union-attr]
        return "".join(parts), "".join(texts)

    assert asyncio.run(main()) == ("Echo: async hello", "Echo: async hello")


def test_async_openai_drop_after(srv: FakeServer) -> None:
    async def main() -> int:
        received = 0
        async with openai.AsyncOpenAI(base_url=srv.base_url_openai, api_key=OPENAI_KEY, max_retries=0) as client:
            stream = await client.chat.completions.create(
                model="gpt-4o-mini+drop2", messages=user(USER_TEXT), stream=True
            )
            with pytest.raises(openai.APIConnectionError):
                async for _ in stream:
                    received += 1
        return received

    assert asyncio.run(main()) == 2
