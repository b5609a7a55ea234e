import pytest
from openai import OpenAI


@pytest.mark.llm_cassette
def test_summary_mentions_paris():
    client = OpenAI()  # reads OPENAI_API_KEY and OPENAI_BASE_URL from the environment
    reply = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "Capital of France?"}],
    )
    assert "Paris" in reply.choices[0].message.content
