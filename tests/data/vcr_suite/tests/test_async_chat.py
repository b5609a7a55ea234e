"""The async OpenAI client under pytest-asyncio."""

import pytest


@pytest.mark.asyncio
@pytest.mark.vcr
async def test_two_questions(async_openai_client):
    first = await async_openai_client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "What is 2+2?"}]
    )
    second = await async_openai_client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "And 3+3?"}]
    )
    assert first.choices[0].message.content != second.choices[0].message.content


@pytest.mark.asyncio
@pytest.mark.vcr
async def test_embeddings(async_openai_client):
    result = await async_openai_client.embeddings.create(model="text-embedding-3-small", input=["cassette"])
    assert len(result.data[0].embedding) > 0
