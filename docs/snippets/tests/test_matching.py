# --8<-- [start:rules]
import uuid

import pytest
from anthropic import Anthropic
from openai import OpenAI

from llm_cassette import Request


def ask(question: str, **extra) -> str:
    client = OpenAI()
    reply = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": question}],
        **extra,
    )
    return reply.choices[0].message.content


@pytest.mark.llm_cassette(ignore_body_fields=["metadata.request_id", "messages.*.name"])
def test_volatile_fields_are_ignored():
    # A fresh id on every run would never match the recording; ignoring it makes it irrelevant.
    answer = ask("Capital of France?", store=True, metadata={"request_id": str(uuid.uuid4())})
    assert "Paris" in answer


@pytest.mark.llm_cassette
def test_identical_requests_replay_in_order():
    # The same request twice: the first replay gets the first recording, the second the second.
    assert ask("Capital of France?") == ask("Capital of France?")


@pytest.mark.llm_cassette(allow_playback_repeats=True)
def test_polling_loop():
    # Recorded once (or a few times); the last matching recording answers any further repeats.
    answers = [ask("Capital of France?") for _ in range(3)]
    assert len(set(answers)) == 1


def same_model(sent: Request, recorded: Request) -> bool:
    """A custom matcher: called with the request sent and a recorded candidate."""
    return sent.json()["model"] == recorded.json()["model"]


@pytest.mark.llm_cassette(match_on=["method", "path", same_model])
def test_any_prompt_to_the_same_model():
    # Matches on method, URL path and model only: the prompt may change without re-recording.
    assert ask("Capital of France?")


# --8<-- [end:rules]


# --8<-- [start:header-matcher]
def same_api_version(sent: Request, recorded: Request) -> bool:
    """Match on one header, instead of all of them."""
    return dict(sent.headers).get("anthropic-version") == dict(recorded.headers).get("anthropic-version")


@pytest.mark.llm_cassette(match_on=["method", "url", "body", same_api_version])
def test_pinned_api_version():
    client = Anthropic()
    message = client.messages.create(
        model="claude-haiku-4-5", max_tokens=100, messages=[{"role": "user", "content": "Capital of France?"}]
    )
    assert "Paris" in message.content[0].text
    client.close()


# --8<-- [end:header-matcher]
