"""Failures: error statuses and transport errors are recorded and replayed as the caller saw them.

Each test provokes a real failure from the fake server (or a closed port), records it, then replays
the cassette in `none` mode and checks that the caller sees the same thing at the same point.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any

import anthropic
import httpx
import httpx2
import openai
import pytest
import yaml

from helpers import ANTHROPIC_KEY, OPENAI_KEY, openai_client, user
from llm_cassette import Interaction, load, use_cassette
from llm_cassette.fake_server import FakeServer

PROMPT = "does this survive a failure"
EXPECTED = f"Echo: {PROMPT}"
RETRY_AFTER_MS = 400


def interactions(path: Path) -> list[Interaction]:
    return load(path).interactions


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound once, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# --- 429 with retry-after: the SDK's retry sequence ---------------------------------------------


def test_openai_rate_limit_retries_replay_in_order_without_the_back_off(
    tmp_path: Path, fake_server: FakeServer
) -> None:
    cassette = tmp_path / "c.yaml"
    model = f"gpt-4o-mini+fail429x2+retryafter{RETRY_AFTER_MS}"

    def ask() -> tuple[str | None, float]:
        with openai.OpenAI(base_url=fake_server.base_url_openai, api_key=OPENAI_KEY) as client:  # max_retries=2
            started = time.perf_counter()
            reply = client.chat.completions.create(model=model, messages=user(PROMPT))
            return reply.choices[0].message.content, time.perf_counter() - started

    with use_cassette(cassette, record_mode="once") as session:
        recorded, record_seconds = ask()
    assert fake_server.request_count == 3
    assert len(session.requests) == 3

    with use_cassette(cassette, record_mode="none") as session:
        replayed, replay_seconds = ask()
    assert fake_server.request_count == 3
    assert session.play_count == 3

    assert recorded == replayed == EXPECTED
    recorded_its = interactions(cassette)
    assert [it.response.status for it in recorded_its if it.response] == [429, 429, 200]
    # The SDK's retry count header is volatile: not stored, so the three requests are identical.
    assert all("x-stainless-retry-count" not in dict(it.request.headers) for it in recorded_its)
    assert len({it.request.body for it in recorded_its}) == 1
    # Recording waited for the server's retry-after twice; the replay does not sleep it again.
    forced = 2 * RETRY_AFTER_MS / 1000
    assert record_seconds >= forced
    assert replay_seconds < forced / 2


@pytest.mark.asyncio
async def test_anthropic_async_rate_limit_retries_replay_in_order(tmp_path: Path, fake_server: FakeServer) -> None:
    cassette = tmp_path / "c.yaml"
    model = f"claude-haiku-4-5+fail429x2+retryafter{RETRY_AFTER_MS}"

    async def ask() -> tuple[str, float]:
        async with anthropic.AsyncAnthropic(base_url=fake_server.base_url_anthropic, api_key=ANTHROPIC_KEY) as client:
            started = time.perf_counter()
            reply = await client.messages.create(model=model, max_tokens=100, messages=user(PROMPT))
            text = "".join(b.text for b in reply.content if b.type == "text")
            return text, time.perf_counter() - started

    async with use_cassette(cassette, record_mode="once"):
        recorded, record_seconds = await ask()
    async with use_cassette(cassette, record_mode="none") as session:
        replayed, replay_seconds = await ask()

    assert fake_server.request_count == 3
    assert session.play_count == 3
    assert recorded == replayed == EXPECTED
    assert [it.response.status for it in interactions(cassette) if it.response] == [429, 429, 200]
    forced = 2 * RETRY_AFTER_MS / 1000
    assert record_seconds >= forced
    assert replay_seconds < forced / 2


def post_twice(server: FakeServer) -> list[tuple[str | None, str | None]]:
    """Send the same failing request twice (a retry by hand); (retry-after, retry-after-ms) of each."""
    out = []
    with httpx2.Client() as client:
        for _ in range(2):
            response = client.post(
                server.base_url_openai + "/chat/completions",
                json={"model": f"gpt-4o-mini+fail429x2+retryafter{RETRY_AFTER_MS}", "messages": user(PROMPT)},
            )
            assert response.status_code == 429
            out.append((response.headers.get("retry-after"), response.headers.get("retry-after-ms")))
    return out


def test_retry_headers_are_shortened_on_replay_where_the_retry_followed(
    tmp_path: Path, fake_server: FakeServer
) -> None:
    cassette = tmp_path / "c.yaml"
    recorded = ("1", str(RETRY_AFTER_MS))
    with use_cassette(cassette, record_mode="once"):
        assert post_twice(fake_server) == [recorded, recorded]

    # The file keeps what the server said.
    headers = yaml.safe_load(cassette.read_text(encoding="utf-8"))["interactions"][0]["response"]["headers"]
    assert headers["retry-after"] == "1"
    assert headers["retry-after-ms"] == str(RETRY_AFTER_MS)

    with use_cassette(cassette, keep_retry_headers=True):
        assert post_twice(fake_server) == [recorded, recorded]
    # The first 429 was retried: its back-off is made near-instant (`retry-after` left as recorded).
    # The second was not (the recording ends there): it replays exactly.
    with use_cassette(cassette):
        assert post_twice(fake_server) == [("1", "1"), recorded]
    assert fake_server.request_count == 2


# --- error statuses -----------------------------------------------------------------------------


def test_openai_server_error_is_replayed_as_internal_server_error(tmp_path: Path, fake_server: FakeServer) -> None:
    cassette = tmp_path / "c.yaml"

    def call() -> openai.InternalServerError:
        with (
            openai_client(fake_server) as client,
            pytest.raises(openai.InternalServerError) as caught,
        ):
            client.chat.completions.create(model="gpt-4o-mini+fail500", messages=user(PROMPT))
        return caught.value

    with use_cassette(cassette, record_mode="once"):
        recorded = call()
    with use_cassette(cassette, record_mode="none"):
        replayed = call()

    assert fake_server.request_count == 1
    assert recorded.status_code == replayed.status_code == 500
    assert recorded.body == replayed.body
    assert recorded.message == replayed.message
    assert replayed.request_id == recorded.request_id is not None


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_anthropic_overloaded_is_replayed_as_529(tmp_path: Path, fake_server: FakeServer, flavour: str) -> None:
    import asyncio

    cassette = tmp_path / "c.yaml"

    def call() -> anthropic.APIStatusError:
        with pytest.raises(anthropic.APIStatusError) as caught:
            if flavour == "sync":
                with anthropic.Anthropic(
                    base_url=fake_server.base_url_anthropic, api_key=ANTHROPIC_KEY, max_retries=0
                ) as client:
                    client.messages.create(model="claude-haiku-4-5+fail529", max_tokens=100, messages=user(PROMPT))
            else:

                async def go() -> None:
                    async with anthropic.AsyncAnthropic(
                        base_url=fake_server.base_url_anthropic, api_key=ANTHROPIC_KEY, max_retries=0
                    ) as client:
                        await client.messages.create(
                            model="claude-haiku-4-5+fail529", max_tokens=100, messages=user(PROMPT)
                        )

                asyncio.run(go())
        return caught.value

    with use_cassette(cassette, record_mode="once"):
        recorded = call()
    with use_cassette(cassette, record_mode="none"):
        replayed = call()

    assert fake_server.request_count == 1
    for exc in (recorded, replayed):
        assert isinstance(exc, anthropic.OverloadedError)
        assert exc.status_code == 529
    assert recorded.body == replayed.body
    assert isinstance(replayed.body, dict) and replayed.body["error"]["type"] == "overloaded_error"


# --- timeouts -------------------------------------------------------------------------------------


def test_read_timeout_is_recorded_and_replayed(tmp_path: Path, fake_server: FakeServer) -> None:
    cassette = tmp_path / "c.yaml"

    def call() -> openai.APITimeoutError:
        with (
            openai.OpenAI(
                base_url=fake_server.base_url_openai, api_key=OPENAI_KEY, timeout=0.2, max_retries=0
            ) as client,
            pytest.raises(openai.APITimeoutError) as caught,
        ):
            client.chat.completions.create(model="gpt-4o-mini+slow500", messages=user(PROMPT))
        return caught.value

    with use_cassette(cassette, record_mode="once"):
        recorded = call()
    sent = fake_server.request_count
    with use_cassette(cassette, record_mode="none") as session:
        replayed = call()
    assert session.play_count == 1
    assert fake_server.request_count == sent

    assert type(recorded.__cause__) is type(replayed.__cause__) is httpx2.ReadTimeout
    [it] = interactions(cassette)
    assert it.response is None and it.error is not None
    assert it.error.type == "ReadTimeout"
    entry = yaml.safe_load(cassette.read_text(encoding="utf-8"))["interactions"][0]
    assert "response" not in entry and entry["error"]["type"] == "ReadTimeout"


@pytest.mark.asyncio
async def test_async_read_timeout_is_recorded_and_replayed(tmp_path: Path, fake_server: FakeServer) -> None:
    cassette = tmp_path / "c.yaml"

    async def call() -> openai.APITimeoutError:
        async with openai.AsyncOpenAI(
            base_url=fake_server.base_url_openai, api_key=OPENAI_KEY, timeout=0.2, max_retries=0
        ) as client:
            with pytest.raises(openai.APITimeoutError) as caught:
                await client.chat.completions.create(model="gpt-4o-mini+slow500", messages=user(PROMPT))
        return caught.value

    async with use_cassette(cassette, record_mode="once"):
        recorded = await call()
    sent = fake_server.request_count
    async with use_cassette(cassette, record_mode="none"):
        replayed = await call()
    assert fake_server.request_count == sent
    assert type(recorded.__cause__) is type(replayed.__cause__) is httpx2.ReadTimeout


def test_read_timeout_in_the_middle_of_a_stream(tmp_path: Path, fake_server: FakeServer) -> None:
    """The server goes quiet after the first event: the stream times out after the same chunk."""
    cassette = tmp_path / "c.yaml"

    def read() -> list[Any]:
        seen: list[Any] = []
        with (
            openai.OpenAI(
                base_url=fake_server.base_url_openai, api_key=OPENAI_KEY, timeout=0.2, max_retries=0
            ) as client,
            pytest.raises(openai.APITimeoutError),
        ):
            for chunk in client.chat.completions.create(
                model="gpt-4o-mini+chunks3+delay600", messages=user(PROMPT), stream=True
            ):
                seen.append(chunk)
        return seen

    with use_cassette(cassette, record_mode="once"):
        recorded = read()
    with use_cassette(cassette, record_mode="none"):
        replayed = read()

    assert len(recorded) == 1
    assert replayed == recorded
    [it] = interactions(cassette)
    assert it.response is not None and it.response.status == 200
    assert len(it.response.chunks or ()) == 1
    assert it.response.error is not None and it.response.error.type == "ReadTimeout"


# --- a connection that drops in the middle of a stream ---------------------------------------------


def test_openai_stream_drop_fails_after_the_same_chunks(tmp_path: Path, fake_server: FakeServer) -> None:
    cassette = tmp_path / "c.yaml"

    def read() -> tuple[list[Any], openai.APIConnectionError]:
        seen: list[Any] = []
        with (
            openai_client(fake_server) as client,
            pytest.raises(openai.APIConnectionError) as caught,
        ):
            for chunk in client.chat.completions.create(model="gpt-4o-mini+drop3", messages=user(PROMPT), stream=True):
                seen.append(chunk)
        return seen, caught.value

    with use_cassette(cassette, record_mode="once"):
        recorded, recorded_exc = read()
    with use_cassette(cassette, record_mode="none"):
        replayed, replayed_exc = read()
    assert fake_server.request_count == 1

    assert len(recorded) == 3
    assert replayed == recorded
    assert type(recorded_exc.__cause__) is type(replayed_exc.__cause__) is httpx2.RemoteProtocolError
    [it] = interactions(cassette)
    assert it.response is not None and it.response.error is not None
    assert it.response.error.type == "RemoteProtocolError"
    assert not it.response.cut


@pytest.mark.asyncio
async def test_anthropic_async_stream_drop_fails_after_the_same_events(tmp_path: Path, fake_server: FakeServer) -> None:
    cassette = tmp_path / "c.yaml"

    async def read() -> list[Any]:
        seen: list[Any] = []
        async with anthropic.AsyncAnthropic(
            base_url=fake_server.base_url_anthropic, api_key=ANTHROPIC_KEY, max_retries=0
        ) as client:
            # Anthropic's stream lets the transport error through unwrapped, recording or not.
            with pytest.raises(httpx2.RemoteProtocolError):
                stream = await client.messages.create(
                    model="claude-haiku-4-5+drop3+delay5", max_tokens=100, messages=user(PROMPT), stream=True
                )
                async with stream:
                    async for event in stream:
                        seen.append(event)
        return seen

    async with use_cassette(cassette, record_mode="once"):
        recorded = await read()
    async with use_cassette(cassette, record_mode="none"):
        replayed = await read()
    assert fake_server.request_count == 1
    # The server sent 3 events before dropping; the SDK hands over what it parsed before the error.
    assert [e.type for e in recorded][:2] == ["message_start", "content_block_start"]
    assert replayed == recorded
    [it] = interactions(cassette)
    assert it.response is not None and len(it.response.chunks or ()) == 3
    assert it.response.error is not None and it.response.error.type == "RemoteProtocolError"


def raw_drop_request(server: FakeServer) -> tuple[str, dict[str, Any]]:
    # A small gap between events keeps each of the 3 in its own transport chunk.
    body = {"model": "gpt-4o-mini+drop3+delay5", "messages": user(PROMPT), "stream": True}
    return server.base_url_openai + "/chat/completions", body


def test_raw_drop_is_replayed_as_the_callers_own_stack_error(tmp_path: Path, fake_server: FakeServer) -> None:
    cassette = tmp_path / "c.yaml"
    url, body = raw_drop_request(fake_server)

    def read(stack: Any) -> tuple[list[bytes], BaseException]:
        seen: list[bytes] = []
        with (
            stack.Client() as client,
            pytest.raises(stack.TransportError) as caught,
            client.stream("POST", url, json=body) as response,
        ):
            for chunk in response.iter_raw():
                seen.append(chunk)
        return seen, caught.value

    with use_cassette(cassette, record_mode="once"):
        recorded, recorded_exc = read(httpx2)
    with use_cassette(cassette, record_mode="none"):
        replayed, replayed_exc = read(httpx2)
    # The same cassette, replayed to plain httpx, raises httpx's class, not httpx2's.
    with use_cassette(cassette, record_mode="none"):
        replayed_httpx, replayed_httpx_exc = read(httpx)
    assert fake_server.request_count == 1

    assert len(recorded) == 3
    assert replayed == replayed_httpx == recorded
    assert type(recorded_exc) is type(replayed_exc) is httpx2.RemoteProtocolError
    assert type(replayed_httpx_exc) is httpx.RemoteProtocolError
    assert str(replayed_exc) == str(recorded_exc)


@pytest.mark.asyncio
async def test_raw_async_drop_fails_after_the_same_chunks(tmp_path: Path, fake_server: FakeServer) -> None:
    cassette = tmp_path / "c.yaml"
    url, body = raw_drop_request(fake_server)

    async def read() -> tuple[list[bytes], BaseException]:
        seen: list[bytes] = []
        async with httpx2.AsyncClient() as client:
            with pytest.raises(httpx2.RemoteProtocolError) as caught:
                async with client.stream("POST", url, json=body) as response:
                    async for chunk in response.aiter_raw():
                        seen.append(chunk)
        return seen, caught.value

    async with use_cassette(cassette, record_mode="once"):
        recorded, _ = await read()
    async with use_cassette(cassette, record_mode="none"):
        replayed, _ = await read()
    assert fake_server.request_count == 1
    assert len(recorded) == 3
    assert replayed == recorded


# --- connect errors ----------------------------------------------------------------------------


def test_openai_connect_error_is_recorded_and_replayed(tmp_path: Path) -> None:
    cassette = tmp_path / "c.yaml"
    base_url = f"http://127.0.0.1:{closed_port()}/v1"

    def call() -> openai.APIConnectionError:
        with (
            openai.OpenAI(base_url=base_url, api_key=OPENAI_KEY, max_retries=0) as client,
            pytest.raises(openai.APIConnectionError) as caught,
        ):
            client.chat.completions.create(model="gpt-4o-mini", messages=user(PROMPT))
        return caught.value

    with use_cassette(cassette, record_mode="once"):
        recorded = call()
    with use_cassette(cassette, record_mode="none") as session:
        replayed = call()
    assert session.play_count == 1

    assert not isinstance(recorded, openai.APITimeoutError)
    assert type(recorded.__cause__) is type(replayed.__cause__) is httpx2.ConnectError
    [it] = interactions(cassette)
    assert it.error is not None and it.error.type == "ConnectError"
    entry = yaml.safe_load(cassette.read_text(encoding="utf-8"))["interactions"][0]
    assert entry["error"]["type"] == "ConnectError"


@pytest.mark.asyncio
async def test_async_openai_connect_error_is_recorded_and_replayed(tmp_path: Path) -> None:
    cassette = tmp_path / "c.yaml"
    base_url = f"http://127.0.0.1:{closed_port()}/v1"

    async def call() -> openai.APIConnectionError:
        async with openai.AsyncOpenAI(base_url=base_url, api_key=OPENAI_KEY, max_retries=0) as client:
            with pytest.raises(openai.APIConnectionError) as caught:
                await client.chat.completions.create(model="gpt-4o-mini", messages=user(PROMPT))
        return caught.value

    async with use_cassette(cassette, record_mode="once"):
        recorded = await call()
    async with use_cassette(cassette, record_mode="none") as session:
        replayed = await call()
    assert session.play_count == 1
    assert type(recorded.__cause__) is type(replayed.__cause__) is httpx2.ConnectError


@pytest.mark.parametrize("stack", [httpx, httpx2], ids=["httpx", "httpx2"])
def test_raw_connect_error_is_replayed_as_the_same_class(tmp_path: Path, stack: Any) -> None:
    cassette = tmp_path / "c.yaml"
    url = f"http://127.0.0.1:{closed_port()}/v1/models"

    def call() -> BaseException:
        with stack.Client() as client, pytest.raises(stack.ConnectError) as caught:
            client.get(url)
        exc: BaseException = caught.value
        return exc

    with use_cassette(cassette, record_mode="once"):
        recorded = call()
    with use_cassette(cassette, record_mode="none"):
        replayed = call()
    assert type(recorded) is type(replayed) is stack.ConnectError
    assert str(replayed) == str(recorded)


# --- replay timing ------------------------------------------------------------------------------


def test_replay_timing_reproduces_the_gaps_between_chunks(tmp_path: Path, fake_server: FakeServer) -> None:
    cassette = tmp_path / "c.yaml"
    body = {"model": "gpt-4o-mini+chunks5+delay50", "messages": user(PROMPT), "stream": True}

    def read(**options: Any) -> tuple[list[bytes], float]:
        with use_cassette(cassette, **options), httpx2.Client() as client:
            started = time.perf_counter()
            with client.stream("POST", fake_server.base_url_openai + "/chat/completions", json=body) as response:
                chunks = list(response.iter_raw())
            return chunks, time.perf_counter() - started

    recorded, record_seconds = read(record_mode="once")
    instant, instant_seconds = read(record_mode="none")
    timed, timed_seconds = read(record_mode="none", replay_timing=1.0)
    assert fake_server.request_count == 1

    assert instant == timed == recorded
    # 8 events with 50 ms between them: a timed replay waits through the recorded gaps,
    # the default replay does not.
    assert record_seconds >= 0.3
    assert timed_seconds >= 0.3
    assert instant_seconds < timed_seconds / 3


@pytest.mark.asyncio
async def test_async_replay_timing_reproduces_the_gaps_between_chunks(tmp_path: Path, fake_server: FakeServer) -> None:
    cassette = tmp_path / "c.yaml"
    body = {"model": "gpt-4o-mini+chunks5+delay50", "messages": user(PROMPT), "stream": True}

    async def read(**options: Any) -> tuple[list[bytes], float]:
        async with use_cassette(cassette, **options), httpx2.AsyncClient() as client:
            started = time.perf_counter()
            async with client.stream("POST", fake_server.base_url_openai + "/chat/completions", json=body) as response:
                chunks = [c async for c in response.aiter_raw()]
            return chunks, time.perf_counter() - started

    recorded, _ = await read(record_mode="once")
    instant, instant_seconds = await read(record_mode="none")
    timed, timed_seconds = await read(record_mode="none", replay_timing=1.0)
    assert instant == timed == recorded
    assert timed_seconds >= 0.3
    assert instant_seconds < timed_seconds / 3
