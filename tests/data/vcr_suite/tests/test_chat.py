"""Plain and streamed chat completions through the sync OpenAI client."""

import pytest


@pytest.mark.vcr
def test_capital(openai_client):
    reply = openai_client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "What is the capital of France?"}]
    )
    assert "Paris" in reply.choices[0].message.content


@pytest.mark.vcr
def test_streamed_greeting(openai_client):
    stream = openai_client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Say hello"}], stream=True
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert "Hello" in text


@pytest.mark.vcr
def test_joke(openai_client):
    # The prompt was reworded after this test was recorded: vcrpy's default matching never compared bodies.
    reply = openai_client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Tell me a short joke about cats"}]
    )
    assert reply.choices[0].message.content
