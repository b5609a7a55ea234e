import openai
import pytest
from openai import OpenAI

from llm_cassette import faults


def ask(client: OpenAI) -> str:
    reply = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "Capital of France?"}],
    )
    return reply.choices[0].message.content


@pytest.mark.llm_cassette(faults=[faults.rate_limit(call=1, times=2)])
def test_rate_limits_are_retried(llm_cassette):
    # Calls 1 and 2 answer 429; the SDK retries and call 3 replays the recorded success.
    assert "Paris" in ask(OpenAI(max_retries=2))
    assert len(llm_cassette.requests) == 3


@pytest.mark.llm_cassette("test_rate_limits_are_retried", read_only=True, faults=[faults.server_error(503)])
def test_a_503_is_retried_too(llm_cassette):
    # Borrows the recording above, with another failure on top; never writes to that cassette.
    assert "Paris" in ask(OpenAI(max_retries=1))
    assert len(llm_cassette.requests) == 2


@pytest.mark.llm_cassette(faults=[faults.overloaded(times=None)])
def test_gives_up_when_the_provider_stays_overloaded():
    with pytest.raises(openai.InternalServerError) as excinfo:
        ask(OpenAI(max_retries=2))
    assert excinfo.value.status_code == 529


@pytest.mark.llm_cassette(faults=[faults.timeout(phase="read")])
def test_timeout_surfaces_as_api_timeout_error():
    with pytest.raises(openai.APITimeoutError):
        ask(OpenAI(max_retries=0))


@pytest.mark.llm_cassette(faults=[faults.drop(after_chunks=2)])
def test_stream_dropped_mid_way():
    client = OpenAI(max_retries=0)
    received = []
    with pytest.raises(openai.APIConnectionError):
        stream = client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "Tell me a story"}],
            stream=True,
        )
        for chunk in stream:
            received.append(chunk)
    assert received  # the events delivered before the connection dropped


@pytest.mark.llm_cassette(faults=[faults.server_error(503, path="/embeddings")])
def test_only_embeddings_fail():
    client = OpenAI(max_retries=0)
    assert "Paris" in ask(client)  # not counted: its path has no "/embeddings"
    with pytest.raises(openai.InternalServerError):
        client.embeddings.create(model="text-embedding-3-small", input="hello")
