import pytest
from openai import OpenAI

SYSTEM_PROMPT = "You answer in one short sentence."


def answer(question: str) -> str:
    """The code under test: builds the prompt and calls the model."""
    client = OpenAI()
    reply = client.chat.completions.create(
        model="gpt-4o-mini",
        temperature=0,
        messages=[
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": question},
        ],
    )
    return reply.choices[0].message.content


@pytest.mark.llm_cassette
def test_prompt_carries_the_system_message(llm_cassette):
    answer("Capital of France?")

    # Every request the code sent during this test, in order (replayed or recorded).
    [sent] = llm_cassette.requests
    body = sent.json()
    assert body["messages"][0] == {"role": "system", "content": SYSTEM_PROMPT}
    assert body["temperature"] == 0
    assert sent.path == "/v1/chat/completions"

    # What the cassette holds, and how much of it this test replayed.
    assert llm_cassette.path.name == "test_prompt_carries_the_system_message.yaml"
    assert len(llm_cassette.interactions) == 1
