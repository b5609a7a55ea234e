# --8<-- [start:streams]
import time

import pytest
from anthropic import AsyncAnthropic
from openai import OpenAI


@pytest.mark.llm_cassette
def test_streamed_tokens_arrive_in_order():
    client = OpenAI()
    stream = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "Tell me a story"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    tokens = [chunk.choices[0].delta.content for chunk in stream if chunk.choices and chunk.choices[0].delta.content]
    assert "".join(tokens) == "Echo: Tell me a story"
    assert len(tokens) > 1  # replayed as the same chunks, not one blob


@pytest.mark.asyncio
@pytest.mark.llm_cassette
async def test_anthropic_stream():
    async with (
        AsyncAnthropic() as client,
        client.messages.stream(
            model="claude-haiku-4-5",
            max_tokens=200,
            messages=[{"role": "user", "content": "Tell me a story"}],
        ) as stream,
    ):
        text = "".join([piece async for piece in stream.text_stream])
    assert text == "Echo: Tell me a story"


@pytest.mark.llm_cassette
def test_stop_reading_early(llm_cassette):
    client = OpenAI()
    stream = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "Count slowly from one to twenty"}],
        stream=True,
    )
    first = next(iter(stream))  # read one event, then stop
    stream.close()
    assert first.choices[0].delta.role == "assistant"
    # The cassette keeps what was read, marked `cut: true`; replay stops at the same point.
    [interaction] = llm_cassette.interactions
    assert interaction.response.cut


# --8<-- [end:streams]


# --8<-- [start:replay-timing]
@pytest.mark.llm_cassette(replay_timing=1.0)  # replay at the recorded pace
def test_replay_keeps_the_recorded_pace(llm_cassette):
    client = OpenAI()
    started = time.perf_counter()
    stream = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "Tell me a story"}],
        stream=True,
    )
    for _ in stream:
        pass
    elapsed_ms = (time.perf_counter() - started) * 1000

    [interaction] = llm_cassette.interactions
    assert elapsed_ms >= interaction.response.chunks[-1].t  # the last chunk came no earlier than recorded


# --8<-- [end:replay-timing]
