"""Fault injection: a recorded success, replayed with a failure on top, seen as a real failure would be.

Each test records a success from the real fake server, then replays it with `faults=[...]`. The
reference for "what a real failure looks like" is the fake server itself, which answers failures in
the providers' exact shapes.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import anthropic
import httpx
import httpx2
import openai
import pytest

from helpers import ANTHROPIC_KEY, OPENAI_KEY, user
from llm_cassette import faults, load, use_cassette
from llm_cassette.fake_server import FakeServer

PROMPT = "please fail for me"
EXPECTED = f"Echo: {PROMPT}"


def openai_client(server: FakeServer, max_retries: int = 0) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.base_url_openai, api_key=OPENAI_KEY, max_retries=max_retries)


def anthropic_client(server: FakeServer, max_retries: int = 0) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=server.base_url_anthropic, api_key=ANTHROPIC_KEY, max_retries=max_retries)


def ask_openai(server: FakeServer, max_retries: int = 0, model: str = "gpt-4o-mini", text: str = PROMPT) -> str | None:
    with openai_client(server, max_retries) as client:
        reply = client.chat.completions.create(model=model, messages=user(text))
    return reply.choices[0].message.content


def ask_anthropic(server: FakeServer, max_retries: int = 0, model: str = "claude-haiku-4-5") -> str:
    with anthropic_client(server, max_retries) as client:
        reply = client.messages.create(model=model, max_tokens=100, messages=user(PROMPT))
    return "".join(b.text for b in reply.content if b.type == "text")


@pytest.fixture
def openai_cassette(tmp_path: Path, fake_server: FakeServer) -> Path:
    """A cassette holding one recorded OpenAI chat completion."""
    cassette = tmp_path / "openai.yaml"
    with use_cassette(cassette, record_mode="once"):
        assert ask_openai(fake_server) == EXPECTED
    fake_server.reset()
    return cassette


@pytest.fixture
def anthropic_cassette(tmp_path: Path, fake_server: FakeServer) -> Path:
    """A cassette holding one recorded Anthropic message."""
    cassette = tmp_path / "anthropic.yaml"
    with use_cassette(cassette, record_mode="once"):
        assert ask_anthropic(fake_server) == EXPECTED
    fake_server.reset()
    return cassette


# --- rate limits ----------------------------------------------------------------------------------


def test_rate_limit_is_retried_by_the_openai_sdk(openai_cassette: Path, fake_server: FakeServer) -> None:
    with use_cassette(openai_cassette, faults=[faults.rate_limit(call=1)]) as session:
        assert ask_openai(fake_server, max_retries=2) == EXPECTED

    # The fault answered the first attempt; the SDK's retry got the recorded success.
    assert len(session.requests) == 2
    assert [dict(r.headers)["x-stainless-retry-count"] for r in session.requests] == ["0", "1"]
    assert session.play_count == 1
    assert fake_server.request_count == 0


def test_rate_limit_fault_looks_like_openai_rate_limit(openai_cassette: Path, fake_server: FakeServer) -> None:
    # What the fake server answers for a real 429, outside any cassette.
    with pytest.raises(openai.RateLimitError) as real:
        ask_openai(fake_server, model="gpt-4o-mini+fail429")
    with (
        use_cassette(openai_cassette, faults=[faults.rate_limit(call=1)]),
        pytest.raises(openai.RateLimitError) as injected,
    ):
        ask_openai(fake_server)

    exc, ref = injected.value, real.value
    assert exc.status_code == ref.status_code == 429
    assert isinstance(exc.body, dict) and isinstance(ref.body, dict)
    assert exc.body.keys() == ref.body.keys() == {"message", "type", "param", "code"}
    assert (exc.code, exc.type) == (ref.code, ref.type) == ("rate_limit_exceeded", "requests")
    assert exc.message == f"Error code: 429 - {exc.body['message']}"
    assert ref.message == f"Error code: 429 - {ref.body['message']}"
    assert exc.response.headers["content-type"] == "application/json"
    assert exc.response.headers["retry-after"] == "1"


def test_rate_limit_fault_headers_seen_by_a_raw_client(openai_cassette: Path, fake_server: FakeServer) -> None:
    def post(**options: Any) -> httpx2.Response:
        with use_cassette(openai_cassette, **options), httpx2.Client() as client:
            response: httpx2.Response = client.post(
                fake_server.base_url_openai + "/chat/completions",
                json={"model": "gpt-4o-mini", "messages": user(PROMPT)},
            )
            return response

    kept = post(faults=[faults.rate_limit(call=1, retry_after=3.0)], keep_retry_headers=True)
    assert kept.status_code == 429
    assert (kept.headers["retry-after"], kept.headers["retry-after-ms"]) == ("3", "3000")
    assert kept.json()["error"]["code"] == "rate_limit_exceeded"

    shortened = post(faults=[faults.rate_limit(call=1, retry_after=3.0)])
    assert (shortened.headers["retry-after"], shortened.headers["retry-after-ms"]) == ("3", "1")


def test_rate_limit_fault_times_counts_every_attempt(openai_cassette: Path, fake_server: FakeServer) -> None:
    # Two faulted attempts, then the third gets the recording...
    with use_cassette(openai_cassette, faults=[faults.rate_limit(call=1, times=2)]) as session:
        assert ask_openai(fake_server, max_retries=2) == EXPECTED
    assert len(session.requests) == 3
    # ...and three exhaust the SDK's two retries.
    with (
        use_cassette(openai_cassette, faults=[faults.rate_limit(call=1, times=3)]) as session,
        pytest.raises(openai.RateLimitError),
    ):
        ask_openai(fake_server, max_retries=2)
    assert len(session.requests) == 3
    assert session.play_count == 0


def test_rate_limit_fault_looks_like_anthropic_rate_limit(anthropic_cassette: Path, fake_server: FakeServer) -> None:
    with pytest.raises(anthropic.RateLimitError) as real:
        ask_anthropic(fake_server, model="claude-haiku-4-5+fail429")
    with (
        use_cassette(anthropic_cassette, faults=[faults.rate_limit(call=1)]),
        pytest.raises(anthropic.RateLimitError) as injected,
    ):
        ask_anthropic(fake_server)

    exc, ref = injected.value, real.value
    assert exc.status_code == ref.status_code == 429
    assert isinstance(exc.body, dict) and isinstance(ref.body, dict)
    assert exc.body["type"] == ref.body["type"] == "error"
    assert exc.body["error"].keys() == ref.body["error"].keys() == {"type", "message"}
    assert exc.body["error"]["type"] == ref.body["error"]["type"] == "rate_limit_error"

    with use_cassette(anthropic_cassette, faults=[faults.rate_limit(call=1)]) as session:
        assert ask_anthropic(fake_server, max_retries=2) == EXPECTED
    assert len(session.requests) == 2


def test_rate_limit_fault_on_anthropic_count_tokens_has_the_anthropic_shape(
    tmp_path: Path, fake_server: FakeServer
) -> None:
    cassette = tmp_path / "c.yaml"
    with use_cassette(cassette, record_mode="once"), anthropic_client(fake_server) as client:
        client.messages.count_tokens(model="claude-haiku-4-5", messages=user(PROMPT))
    with (
        use_cassette(cassette, faults=[faults.rate_limit()]),
        anthropic_client(fake_server) as client,
        pytest.raises(anthropic.RateLimitError) as caught,
    ):
        client.messages.count_tokens(model="claude-haiku-4-5", messages=user(PROMPT))
    body = caught.value.body
    assert isinstance(body, dict) and body.get("type") == "error"
    assert body["error"]["type"] == "rate_limit_error"


# --- server errors and overload ------------------------------------------------------------------


def test_server_error_503_is_an_openai_internal_server_error(openai_cassette: Path, fake_server: FakeServer) -> None:
    with (
        use_cassette(openai_cassette, faults=[faults.server_error(503)]) as session,
        pytest.raises(openai.InternalServerError) as caught,
    ):
        ask_openai(fake_server)
    assert caught.value.status_code == 503
    assert caught.value.type == "server_error"
    assert session.play_count == 0
    assert [i for i, _ in session.unused_interactions] == [0]


def test_server_error_on_the_second_call_only(tmp_path: Path, fake_server: FakeServer) -> None:
    cassette = tmp_path / "c.yaml"
    with use_cassette(cassette, record_mode="once"):
        assert ask_openai(fake_server, text="first") == "Echo: first"
        assert ask_openai(fake_server, text="second") == "Echo: second"

    with use_cassette(cassette, faults=[faults.server_error(500, call=2)]) as session:
        assert ask_openai(fake_server, text="first") == "Echo: first"
        with pytest.raises(openai.InternalServerError) as caught:
            ask_openai(fake_server, text="second")
    assert caught.value.status_code == 500
    assert session.play_count == 1


def test_overloaded_is_an_anthropic_529(anthropic_cassette: Path, fake_server: FakeServer) -> None:
    with (
        use_cassette(anthropic_cassette, faults=[faults.overloaded()]),
        pytest.raises(anthropic.APIStatusError) as caught,
    ):
        ask_anthropic(fake_server)
    exc = caught.value
    assert isinstance(exc, anthropic.OverloadedError)
    assert exc.status_code == 529
    assert isinstance(exc.body, dict) and exc.body["error"]["type"] == "overloaded_error"

    # An SDK that retries gets past it to the recorded answer.
    with use_cassette(anthropic_cassette, faults=[faults.overloaded()]) as session:
        assert ask_anthropic(fake_server, max_retries=2) == EXPECTED
    assert len(session.requests) == 2


# --- transport errors -----------------------------------------------------------------------------


def test_timeout_fault_is_an_openai_timeout(openai_cassette: Path, fake_server: FakeServer) -> None:
    with (
        use_cassette(openai_cassette, faults=[faults.timeout(times=None)]) as session,
        pytest.raises(openai.APITimeoutError) as caught,
    ):
        ask_openai(fake_server)
    assert type(caught.value.__cause__) is httpx2.ReadTimeout
    assert session.play_count == 0
    assert fake_server.request_count == 0


def test_connect_timeout_fault_then_the_recorded_success(openai_cassette: Path, fake_server: FakeServer) -> None:
    with use_cassette(openai_cassette, faults=[faults.timeout(phase="connect")]) as session:
        assert ask_openai(fake_server, max_retries=1) == EXPECTED
    assert len(session.requests) == 2
    assert session.play_count == 1


def test_connect_error_fault_is_an_openai_connection_error(openai_cassette: Path, fake_server: FakeServer) -> None:
    with (
        use_cassette(openai_cassette, faults=[faults.connect_error()]),
        pytest.raises(openai.APIConnectionError) as caught,
    ):
        ask_openai(fake_server)
    assert not isinstance(caught.value, openai.APITimeoutError)
    assert type(caught.value.__cause__) is httpx2.ConnectError


@pytest.mark.asyncio
async def test_connect_error_fault_async(openai_cassette: Path, fake_server: FakeServer) -> None:
    async with (
        use_cassette(openai_cassette, faults=[faults.connect_error()]),
        openai.AsyncOpenAI(base_url=fake_server.base_url_openai, api_key=OPENAI_KEY, max_retries=0) as client,
    ):
        with pytest.raises(openai.APIConnectionError) as caught:
            await client.chat.completions.create(model="gpt-4o-mini", messages=user(PROMPT))
    assert type(caught.value.__cause__) is httpx2.ConnectError


# --- a dropped stream -----------------------------------------------------------------------------

STREAM_MODEL = "gpt-4o-mini+chunks6+delay2"
STREAM_BODY = {"model": STREAM_MODEL, "messages": user(PROMPT), "stream": True}


@pytest.fixture
def stream_cassette(tmp_path: Path, fake_server: FakeServer) -> Path:
    """A cassette holding one recorded OpenAI stream (one SSE event per chunk)."""
    cassette = tmp_path / "stream.yaml"
    with (
        use_cassette(cassette, record_mode="once"),
        httpx2.Client() as client,
        client.stream("POST", fake_server.base_url_openai + "/chat/completions", json=STREAM_BODY) as response,
    ):
        response.read()
    fake_server.reset()
    return cassette


def test_drop_fault_cuts_an_openai_stream_after_two_chunks(stream_cassette: Path, fake_server: FakeServer) -> None:
    seen: list[Any] = []
    with (
        use_cassette(stream_cassette, faults=[faults.drop(after_chunks=2)]) as session,
        openai_client(fake_server) as client,
        pytest.raises(openai.APIConnectionError) as caught,
    ):
        for chunk in client.chat.completions.create(model=STREAM_MODEL, messages=user(PROMPT), stream=True):
            seen.append(chunk)
    assert len(seen) == 2
    assert seen[0].choices[0].delta.role == "assistant"
    assert type(caught.value.__cause__) is httpx2.RemoteProtocolError
    assert session.play_count == 1  # the drop consumed the recording it cut
    assert fake_server.request_count == 0


@pytest.mark.parametrize("stack", [httpx, httpx2], ids=["httpx", "httpx2"])
def test_drop_fault_raw_chunks_then_the_stacks_error(
    stream_cassette: Path, fake_server: FakeServer, stack: Any
) -> None:
    response = load(stream_cassette).interactions[0].response
    assert response is not None
    recorded = [c.data for c in response.chunks or ()]
    assert len(recorded) > 4
    seen: list[bytes] = []
    with (
        use_cassette(stream_cassette, faults=[faults.drop(after_chunks=2)]),
        stack.Client() as client,
        pytest.raises(stack.RemoteProtocolError),
        client.stream("POST", fake_server.base_url_openai + "/chat/completions", json=STREAM_BODY) as response,
    ):
        for chunk in response.iter_raw():
            seen.append(chunk)
    assert seen == recorded[:2]


# --- faults while recording --------------------------------------------------------------------


def test_faults_apply_while_recording_and_are_not_recorded(tmp_path: Path, fake_server: FakeServer) -> None:
    cassette = tmp_path / "c.yaml"
    with use_cassette(cassette, record_mode="once", faults=[faults.rate_limit(call=1)]) as session:
        assert ask_openai(fake_server, max_retries=2) == EXPECTED
    assert len(session.requests) == 2
    assert fake_server.request_count == 1  # only the retry reached the server
    [it] = load(cassette).interactions
    assert it.response is not None and it.response.status == 200


# --- through the pytest marker ----------------------------------------------------------------------

MARKER_TESTS = f"""
import os

import openai
import pytest

from llm_cassette import faults

PROMPT = {PROMPT!r}


def ask(max_retries):
    client = openai.OpenAI(
        base_url=os.environ["FAKE_LLM_URL"] + "/v1", api_key="sk-fake-inner-key-0000", max_retries=max_retries
    )
    with client:
        reply = client.chat.completions.create(
            model="gpt-4o-mini", messages=[{{"role": "user", "content": PROMPT}}]
        )
    return reply.choices[0].message.content


@pytest.mark.llm_cassette(faults=[faults.rate_limit(call=1)])
def test_retried(llm_cassette):
    assert ask(max_retries=2) == "Echo: " + PROMPT
    assert len(llm_cassette.requests) == 2


@pytest.mark.llm_cassette(faults=[faults.rate_limit(call=1)])
def test_not_retried():
    with pytest.raises(openai.RateLimitError) as caught:
        ask(max_retries=0)
    assert caught.value.status_code == 429
"""


def test_faults_through_the_pytest_marker(pytester: pytest.Pytester, fake_env: FakeServer) -> None:
    pytester.makeini(
        "[pytest]\nasyncio_default_fixture_loop_scope = function\nfilterwarnings = error::ResourceWarning\n"
    )
    pytester.makepyfile(test_marker_faults=textwrap.dedent(MARKER_TESTS))

    first = pytester.runpytest_inprocess("--llm-record-mode=once", "-p", "no:cacheprovider")
    first.assert_outcomes(passed=2)
    assert fake_env.request_count == 1  # the fault answered attempt 1, the retry was recorded

    cassette = pytester.path / "cassettes" / "test_marker_faults" / "test_retried.yaml"
    [it] = load(cassette).interactions
    assert it.response is not None and it.response.status == 200
    assert not (pytester.path / "cassettes" / "test_marker_faults" / "test_not_retried.yaml").exists()

    replay = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    replay.assert_outcomes(passed=2)
    assert fake_env.request_count == 1
