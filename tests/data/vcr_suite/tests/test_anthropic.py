"""The Anthropic SDK under anyio."""

import anthropic
import pytest

pytestmark = pytest.mark.anyio


@pytest.mark.vcr
async def test_message(anthropic_api_key):
    async with anthropic.AsyncAnthropic(api_key=anthropic_api_key, max_retries=0) as client:
        message = await client.messages.create(
            model="claude-3-5-haiku-latest",
            max_tokens=100,
            messages=[{"role": "user", "content": "What is the capital of France?"}],
        )
    assert "Paris" in message.content[0].text


@pytest.mark.vcr
async def test_streamed_message(anthropic_api_key):
    async with (
        anthropic.AsyncAnthropic(api_key=anthropic_api_key, max_retries=0) as client,
        client.messages.stream(
            model="claude-3-5-haiku-latest", max_tokens=100, messages=[{"role": "user", "content": "Say hello"}]
        ) as stream,
    ):
        text = "".join([piece async for piece in stream.text_stream])
    assert "Hello" in text
