"""Streams: recorded chunk by chunk as the caller reads them, replayed as the same chunks, byte for byte.

Every test records against the real fake server with the real SDKs, then replays the cassette it
wrote in `none` mode and compares what the caller saw in both runs.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import anthropic
import httpx2
import openai
import pytest
import yaml

from helpers import ANTHROPIC_KEY, OPENAI_KEY, openai_client, user
from llm_cassette import Cassette, Response, load, use_cassette
from llm_cassette.fake_server import FakeServer
from llm_cassette.storage.yaml_format import json_bytes

PROMPT = "stream me a few words please"
EXPECTED = f"Echo: {PROMPT}"


def only_response(path: Path) -> Response:
    """The response of the single interaction the cassette at `path` holds."""
    data = load(path)
    assert len(data.interactions) == 1
    response = data.interactions[0].response
    assert response is not None
    return response


def cassette_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def sse_events(raw: bytes) -> list[bytes]:
    """The SSE events (each with its blank-line terminator) of a body."""
    return [event + b"\n\n" for event in raw.split(b"\n\n") if event]


# --- OpenAI chat completions, stream=True ----------------------------------------------------


def openai_stream_sync(server: FakeServer, model: str = "gpt-4o-mini+chunks6") -> tuple[int, str, Any]:
    with openai.OpenAI(base_url=server.base_url_openai, api_key=OPENAI_KEY, max_retries=0) as client:
        stream = client.chat.completions.create(
            model=model, messages=user(PROMPT), stream=True, stream_options={"include_usage": True}
        )
        chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    return len(chunks), text, chunks[-1].usage


async def openai_stream_async(server: FakeServer, model: str = "gpt-4o-mini+chunks6") -> tuple[int, str, Any]:
    async with openai.AsyncOpenAI(base_url=server.base_url_openai, api_key=OPENAI_KEY, max_retries=0) as client:
        stream = await client.chat.completions.create(
            model=model, messages=user(PROMPT), stream=True, stream_options={"include_usage": True}
        )
        chunks = [c async for c in stream]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    return len(chunks), text, chunks[-1].usage


def test_openai_sync_stream_replays_the_same_chunks(tmp_path: Path, fake_server: FakeServer) -> None:
    cassette = tmp_path / "c.yaml"
    with use_cassette(cassette, record_mode="once") as session:
        recorded = openai_stream_sync(fake_server)
    assert session.recorded_count == 1
    sent = fake_server.request_count
    assert sent == 1

    with use_cassette(cassette, record_mode="none") as session:
        replayed = openai_stream_sync(fake_server)
    assert session.play_count == 1
    assert fake_server.request_count == sent  # nothing reached the server

    count, text, usage = recorded
    assert text.startswith("Echo: ")
    assert usage is not None and usage.completion_tokens > 0  # the include_usage chunk came through
    assert replayed == (count, text, usage)


@pytest.mark.asyncio
async def test_openai_async_stream_replays_the_same_chunks(tmp_path: Path, fake_server: FakeServer) -> None:
    cassette = tmp_path / "c.yaml"
    async with use_cassette(cassette, record_mode="once"):
        recorded = await openai_stream_async(fake_server)
    sent = fake_server.request_count
    assert sent == 1

    async with use_cassette(cassette, record_mode="none") as session:
        replayed = await openai_stream_async(fake_server)
    assert session.play_count == 1
    assert fake_server.request_count == sent

    assert recorded[1].startswith("Echo: ")
    assert recorded[2] is not None
    assert replayed == recorded


# --- Anthropic messages: messages.stream(...) and messages.create(stream=True) -----------------


def anthropic_stream_sync(server: FakeServer, api: str) -> tuple[int, str]:
    with anthropic.Anthropic(base_url=server.base_url_anthropic, api_key=ANTHROPIC_KEY, max_retries=0) as client:
        if api == "helper":
            with client.messages.stream(model="claude-haiku-4-5", max_tokens=100, messages=user(PROMPT)) as stream:
                helper_events = list(stream)
                final = stream.get_final_message()
            text = "".join(b.text for b in final.content if b.type == "text")
            return len(helper_events), text
        with client.messages.create(
            model="claude-haiku-4-5", max_tokens=100, messages=user(PROMPT), stream=True
        ) as raw:
            events = list(raw)
    text = "".join(e.delta.text for e in events if e.type == "content_block_delta" and e.delta.type == "text_delta")
    return len(events), text


async def anthropic_stream_async(server: FakeServer, api: str) -> tuple[int, str]:
    async with anthropic.AsyncAnthropic(
        base_url=server.base_url_anthropic, api_key=ANTHROPIC_KEY, max_retries=0
    ) as client:
        if api == "helper":
            async with client.messages.stream(
                model="claude-haiku-4-5", max_tokens=100, messages=user(PROMPT)
            ) as stream:
                helper_events = [e async for e in stream]
                final = await stream.get_final_message()
            text = "".join(b.text for b in final.content if b.type == "text")
            return len(helper_events), text
        raw = await client.messages.create(model="claude-haiku-4-5", max_tokens=100, messages=user(PROMPT), stream=True)
        async with raw:
            events = [e async for e in raw]
    text = "".join(e.delta.text for e in events if e.type == "content_block_delta" and e.delta.type == "text_delta")
    return len(events), text


@pytest.mark.parametrize("api", ["helper", "create"])
def test_anthropic_sync_stream_replays_the_same_events(tmp_path: Path, fake_server: FakeServer, api: str) -> None:
    cassette = tmp_path / "c.yaml"
    with use_cassette(cassette, record_mode="once"):
        recorded = anthropic_stream_sync(fake_server, api)
    sent = fake_server.request_count
    assert sent == 1

    with use_cassette(cassette, record_mode="none") as session:
        replayed = anthropic_stream_sync(fake_server, api)
    assert session.play_count == 1
    assert fake_server.request_count == sent

    assert recorded[1] == EXPECTED
    assert replayed == recorded


@pytest.mark.asyncio
@pytest.mark.parametrize("api", ["helper", "create"])
async def test_anthropic_async_stream_replays_the_same_events(
    tmp_path: Path, fake_server: FakeServer, api: str
) -> None:
    cassette = tmp_path / "c.yaml"
    async with use_cassette(cassette, record_mode="once"):
        recorded = await anthropic_stream_async(fake_server, api)
    sent = fake_server.request_count
    assert sent == 1

    async with use_cassette(cassette, record_mode="none") as session:
        replayed = await anthropic_stream_async(fake_server, api)
    assert session.play_count == 1
    assert fake_server.request_count == sent

    assert recorded[1] == EXPECTED
    assert replayed == recorded


def compact(value: object, style: str | None = None) -> str:
    """A stored event's JSON as the server wrote it."""
    return json_bytes(value, style or "compact").decode()


# --- what the cassette holds ---------------------------------------------------------------------


def test_openai_stream_is_stored_as_one_readable_item_per_sse_event(tmp_path: Path, fake_server: FakeServer) -> None:
    cassette = tmp_path / "c.yaml"
    with use_cassette(cassette, record_mode="once"):
        # A small gap between events keeps each one in its own transport chunk.
        count, _, _ = openai_stream_sync(fake_server, model="gpt-4o-mini+chunks4+delay5")

    chunks = cassette_yaml(cassette)["interactions"][0]["response"]["chunks"]
    # readable structured events (the final `data: [DONE]` is not JSON: text), never base64
    texts = [c["text"] if "text" in c else "data: " + compact(c["data"]) + "\n\n" for c in chunks]
    assert all("data" in c for c in chunks[:-1]) and "text" in chunks[-1]
    assert all(isinstance(c["t"], (int, float)) for c in chunks)
    # One item per event the server flushed: role, 4 deltas, finish, usage, then [DONE].
    assert len(texts) == count + 1 == 8
    for text in texts:
        assert text.startswith("data: ") and text.endswith("\n\n") and text.count("\n\n") == 1
    assert texts[-1] == "data: [DONE]\n\n"
    assert '"delta":{"content":"Echo: ' in texts[1]

    # The text in the file is exactly the bytes the transport delivered.
    response = only_response(cassette)
    assert [c.data for c in response.chunks or ()] == [t.encode() for t in texts]
    assert response.error is None


def test_anthropic_stream_is_stored_as_one_readable_item_per_sse_event(tmp_path: Path, fake_server: FakeServer) -> None:
    cassette = tmp_path / "c.yaml"
    with (
        use_cassette(cassette, record_mode="once"),
        httpx2.Client() as client,
        client.stream(
            "POST",
            fake_server.url + "/v1/messages",
            headers={"anthropic-version": "2023-06-01", "x-fake-chunk-delay-ms": "5"},
            json={"model": "claude-haiku-4-5", "max_tokens": 100, "messages": user(PROMPT), "stream": True},
        ) as response,
    ):
        body = response.read()

    chunks = cassette_yaml(cassette)["interactions"][0]["response"]["chunks"]
    assert all("event" in c and "data" in c for c in chunks)  # each event stored as structured YAML
    texts = [f"event: {c['event']}\ndata: " + compact(c["data"], c.get("json_style")) + "\n\n" for c in chunks]
    assert texts == [e.decode() for e in sse_events(body)]
    assert texts[0].startswith("event: message_start\ndata: {")
    assert texts[-1].startswith("event: message_stop\ndata: ")
    assert any(t.startswith("event: content_block_delta\n") for t in texts)


# --- byte-exact replay, chunk by chunk --------------------------------------------------------


def raw_stream_request(server: FakeServer, provider: str, model_suffix: str = "") -> tuple[str, dict[str, Any], Any]:
    if provider == "openai":
        body: dict[str, Any] = {"model": "gpt-4o-mini" + model_suffix, "messages": user(PROMPT), "stream": True}
        return server.base_url_openai + "/chat/completions", {}, body
    body = {"model": "claude-haiku-4-5" + model_suffix, "max_tokens": 100, "messages": user(PROMPT), "stream": True}
    return server.url + "/v1/messages", {"anthropic-version": "2023-06-01"}, body


def raw_chunks_sync(server: FakeServer, provider: str) -> list[bytes]:
    url, headers, body = raw_stream_request(server, provider, "+delay2")
    with httpx2.Client() as client, client.stream("POST", url, headers=headers, json=body) as response:
        return list(response.iter_raw())


async def raw_chunks_async(server: FakeServer, provider: str) -> list[bytes]:
    url, headers, body = raw_stream_request(server, provider, "+delay2")
    async with httpx2.AsyncClient() as client, client.stream("POST", url, headers=headers, json=body) as response:
        return [chunk async for chunk in response.aiter_raw()]


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_sync_replay_yields_the_recorded_bytes_chunk_by_chunk(
    tmp_path: Path, fake_server: FakeServer, provider: str
) -> None:
    cassette = tmp_path / "c.yaml"
    with use_cassette(cassette, record_mode="once"):
        recorded = raw_chunks_sync(fake_server, provider)
    sent = fake_server.request_count
    with use_cassette(cassette, record_mode="none"):
        replayed = raw_chunks_sync(fake_server, provider)

    assert fake_server.request_count == sent
    assert len(recorded) > 3
    assert replayed == recorded
    assert [c.data for c in only_response(cassette).chunks or ()] == recorded


@pytest.mark.asyncio
@pytest.mark.parametrize("provider", ["openai", "anthropic"])
async def test_async_replay_yields_the_recorded_bytes_chunk_by_chunk(
    tmp_path: Path, fake_server: FakeServer, provider: str
) -> None:
    cassette = tmp_path / "c.yaml"
    async with use_cassette(cassette, record_mode="once"):
        recorded = await raw_chunks_async(fake_server, provider)
    sent = fake_server.request_count
    async with use_cassette(cassette, record_mode="none"):
        replayed = await raw_chunks_async(fake_server, provider)

    assert fake_server.request_count == sent
    assert len(recorded) > 3
    assert replayed == recorded
    assert [c.data for c in only_response(cassette).chunks or ()] == recorded


# --- the caller is never kept waiting while recording ------------------------------------------


def in_progress_chunks(session: Cassette) -> int:
    """How many chunks the recording holds right now."""
    response = session.interactions[0].response
    assert response is not None
    return len(response.chunks or ())


def test_first_chunk_reaches_the_caller_before_the_stream_ends(tmp_path: Path, fake_server: FakeServer) -> None:
    arrivals: list[float] = []
    recorded_at_arrival: list[int] = []
    with (
        use_cassette(tmp_path / "c.yaml", record_mode="once") as session,
        openai_client(fake_server) as client,
    ):
        client._client._transport._pool  # noqa: B018  built on first use: before the clock starts
        started = time.perf_counter()
        stream = client.chat.completions.create(
            model="gpt-4o-mini+chunks20+delay50", messages=user(PROMPT), stream=True
        )
        for _ in stream:
            arrivals.append(time.perf_counter() - started)
            recorded_at_arrival.append(in_progress_chunks(session))

    total = len(only_response(tmp_path / "c.yaml").chunks or ())
    assert len(arrivals) == 22 and total == 23  # role, 20 deltas, finish; then [DONE]
    # The first token was handed over while the server was still producing the rest: the recording
    # held only what the caller had been given, and the wait for it was a small part of the stream.
    assert recorded_at_arrival[0] <= 2 < total
    assert recorded_at_arrival == sorted(recorded_at_arrival)
    assert arrivals[0] < arrivals[-1] / 4


@pytest.mark.asyncio
async def test_async_first_chunk_reaches_the_caller_before_the_stream_ends(
    tmp_path: Path, fake_server: FakeServer
) -> None:
    url, headers, body = raw_stream_request(fake_server, "openai", "+chunks10+delay30")
    arrivals: list[float] = []
    recorded_at_arrival: list[int] = []
    async with use_cassette(tmp_path / "c.yaml", record_mode="once") as session, httpx2.AsyncClient() as client:
        client._transport._pool  # noqa: B018  built on first use: before the clock starts
        started = time.perf_counter()
        async with client.stream("POST", url, headers=headers, json=body) as response:
            async for _ in response.aiter_raw():
                arrivals.append(time.perf_counter() - started)
                recorded_at_arrival.append(in_progress_chunks(session))

    assert len(arrivals) == 13
    assert recorded_at_arrival == list(range(1, 14))  # never ahead of the caller
    assert arrivals[0] < arrivals[-1] / 4


# --- early exits: the caller stops reading -----------------------------------------------------


@pytest.mark.parametrize("reader", ["iter_raw", "iter_lines"])
def test_raw_httpx2_break_after_two_chunks_records_a_cut_stream(
    tmp_path: Path, fake_server: FakeServer, reader: str
) -> None:
    cassette = tmp_path / "c.yaml"
    url, headers, body = raw_stream_request(fake_server, "openai", "+chunks10+delay10")

    def read_two() -> list[Any]:
        seen: list[Any] = []
        with httpx2.Client() as client, client.stream("POST", url, headers=headers, json=body) as response:
            for item in getattr(response, reader)():
                seen.append(item)
                if len(seen) == 2:
                    break
        return seen

    with use_cassette(cassette, record_mode="once"):
        recorded = read_two()
    sent = fake_server.request_count
    with use_cassette(cassette, record_mode="none"):
        replayed = read_two()
    assert fake_server.request_count == sent
    assert replayed == recorded

    response = only_response(cassette)
    assert response.cut
    assert response.error is None
    chunks = [c.data for c in response.chunks or ()]
    assert 1 <= len(chunks) <= 2  # only what was read, not the 13 events the server would send
    if reader == "iter_raw":
        assert chunks == recorded
    else:
        assert b"".join(chunks).decode().splitlines()[:2] == recorded
    assert "cut: true" in cassette.read_text(encoding="utf-8")


@pytest.mark.asyncio
async def test_raw_httpx2_async_break_after_two_chunks_records_a_cut_stream(
    tmp_path: Path, fake_server: FakeServer
) -> None:
    cassette = tmp_path / "c.yaml"
    url, headers, body = raw_stream_request(fake_server, "anthropic", "+delay10")

    async def read_two() -> list[bytes]:
        seen: list[bytes] = []
        async with httpx2.AsyncClient() as client, client.stream("POST", url, headers=headers, json=body) as response:
            async for chunk in response.aiter_raw():
                seen.append(chunk)
                if len(seen) == 2:
                    break
        return seen

    async with use_cassette(cassette, record_mode="once"):
        recorded = await read_two()
    async with use_cassette(cassette, record_mode="none"):
        replayed = await read_two()
    assert fake_server.request_count == 1

    assert len(recorded) == 2
    assert replayed == recorded
    response = only_response(cassette)
    assert response.cut and response.error is None
    assert [c.data for c in response.chunks or ()] == recorded


def test_openai_stream_closed_after_first_chunk_records_a_cut_stream(tmp_path: Path, fake_server: FakeServer) -> None:
    cassette = tmp_path / "c.yaml"

    def first_chunk() -> Any:
        with openai_client(fake_server) as client:
            stream = client.chat.completions.create(
                model="gpt-4o-mini+chunks10+delay10", messages=user(PROMPT), stream=True
            )
            first = next(iter(stream))
            stream.close()
            return first

    with use_cassette(cassette, record_mode="once"):
        recorded = first_chunk()
    with use_cassette(cassette, record_mode="none") as session:
        replayed = first_chunk()
    assert session.play_count == 1

    assert replayed == recorded
    assert recorded.choices[0].delta.role == "assistant"
    response = only_response(cassette)
    assert response.cut
    assert len(response.chunks or ()) == 1


@pytest.mark.asyncio
async def test_async_openai_stream_closed_after_first_chunk_records_a_cut_stream(
    tmp_path: Path, fake_server: FakeServer
) -> None:
    cassette = tmp_path / "c.yaml"

    async def first_chunk() -> Any:
        async with openai.AsyncOpenAI(
            base_url=fake_server.base_url_openai, api_key=OPENAI_KEY, max_retries=0
        ) as client:
            stream = await client.chat.completions.create(
                model="gpt-4o-mini+chunks10+delay10", messages=user(PROMPT), stream=True
            )
            first = await stream.__anext__()
            await stream.close()
            return first

    async with use_cassette(cassette, record_mode="once"):
        recorded = await first_chunk()
    async with use_cassette(cassette, record_mode="none"):
        replayed = await first_chunk()
    assert fake_server.request_count == 1

    assert replayed == recorded
    response = only_response(cassette)
    assert response.cut
    assert len(response.chunks or ()) == 1


def test_openai_sync_stream_stops_reading_at_done(tmp_path: Path, fake_server: FakeServer) -> None:
    """The sync `Stream` breaks at `[DONE]` without reading the end of the body: every event is
    recorded, and since `[DONE]` is the final event the stream counts as complete, not cut."""
    cassette = tmp_path / "c.yaml"
    with use_cassette(cassette, record_mode="once"):
        recorded = openai_stream_sync(fake_server)
    with use_cassette(cassette, record_mode="none"):
        replayed = openai_stream_sync(fake_server)
    assert replayed == recorded

    response = only_response(cassette)
    chunks = response.chunks or ()
    assert chunks[-1].data == b"data: [DONE]\n\n"
    assert len(chunks) == recorded[0] + 1
    assert not response.cut


@pytest.mark.asyncio
async def test_openai_async_stream_drains_after_done_and_is_not_cut(tmp_path: Path, fake_server: FakeServer) -> None:
    cassette = tmp_path / "c.yaml"
    async with use_cassette(cassette, record_mode="once"):
        await openai_stream_async(fake_server)
    response = only_response(cassette)
    assert (response.chunks or ())[-1].data == b"data: [DONE]\n\n"
    assert not response.cut


# --- error responses that SDKs close unread ------------------------------------------------------


def test_raw_error_response_closed_unread_is_recorded_cut_with_nothing_made_up(
    tmp_path: Path, fake_server: FakeServer
) -> None:
    # Closing reads nothing more, as without the plugin (a body may never end): what the caller
    # read, here nothing, is stored and marked cut. SDKs read the error bodies they raise (below).
    cassette = tmp_path / "c.yaml"
    url, headers, body = raw_stream_request(fake_server, "openai", "+fail500")
    with (
        use_cassette(cassette, record_mode="once"),
        httpx2.Client() as client,
        client.stream("POST", url, headers=headers, json=body) as response,
    ):
        assert response.status_code == 500  # closed without reading a byte

    recorded = only_response(cassette)
    assert recorded.status == 500
    assert recorded.cut and recorded.error is None and recorded.content == b""
    assert recorded.content_type == "application/json"


def test_openai_stream_error_status_keeps_its_whole_body(tmp_path: Path, fake_server: FakeServer) -> None:
    cassette = tmp_path / "c.yaml"

    def call() -> openai.InternalServerError:
        with (
            openai_client(fake_server) as client,
            pytest.raises(openai.InternalServerError) as caught,
        ):
            client.chat.completions.create(model="gpt-4o-mini+fail500", messages=user(PROMPT), stream=True)
        return caught.value

    with use_cassette(cassette, record_mode="once"):
        recorded = call()
    with use_cassette(cassette, record_mode="none"):
        replayed = call()

    assert recorded.status_code == replayed.status_code == 500
    assert recorded.body == replayed.body
    response = only_response(cassette)
    assert not response.cut
    assert b'"type":"server_error"' in response.content


def test_anthropic_stream_error_status_keeps_its_whole_body(tmp_path: Path, fake_server: FakeServer) -> None:
    cassette = tmp_path / "c.yaml"

    def call() -> anthropic.InternalServerError:
        with (
            anthropic.Anthropic(
                base_url=fake_server.base_url_anthropic, api_key=ANTHROPIC_KEY, max_retries=0
            ) as client,
            pytest.raises(anthropic.InternalServerError) as caught,
            client.messages.stream(model="claude-haiku-4-5+fail500", max_tokens=100, messages=user(PROMPT)) as stream,
        ):
            list(stream)
        return caught.value

    with use_cassette(cassette, record_mode="once"):
        recorded = call()
    with use_cassette(cassette, record_mode="none"):
        replayed = call()

    assert recorded.status_code == replayed.status_code == 500
    assert recorded.body == replayed.body
    response = only_response(cassette)
    assert not response.cut
    assert b'"type":"api_error"' in response.content


@pytest.mark.asyncio
async def test_raw_async_error_response_closed_unread_is_recorded_cut(tmp_path: Path, fake_server: FakeServer) -> None:
    cassette = tmp_path / "c.yaml"
    url, headers, body = raw_stream_request(fake_server, "anthropic", "+fail529")
    async with (
        use_cassette(cassette, record_mode="once"),
        httpx2.AsyncClient() as client,
        client.stream("POST", url, headers=headers, json=body) as response,
    ):
        assert response.status_code == 529

    recorded = only_response(cassette)
    assert recorded.status == 529
    assert recorded.cut and recorded.error is None and recorded.content == b""


@pytest.mark.asyncio
async def test_async_openai_stream_error_status_keeps_its_whole_body(tmp_path: Path, fake_server: FakeServer) -> None:
    cassette = tmp_path / "c.yaml"

    async def call() -> openai.InternalServerError:
        async with openai.AsyncOpenAI(
            base_url=fake_server.base_url_openai, api_key=OPENAI_KEY, max_retries=0
        ) as client:
            with pytest.raises(openai.InternalServerError) as caught:
                await client.chat.completions.create(model="gpt-4o-mini+fail500", messages=user(PROMPT), stream=True)
        return caught.value

    async with use_cassette(cassette, record_mode="once"):
        recorded = await call()
    async with use_cassette(cassette, record_mode="none"):
        replayed = await call()

    assert fake_server.request_count == 1
    assert recorded.body == replayed.body
    assert isinstance(replayed.body, dict) and replayed.body["type"] == "server_error"
    assert not only_response(cassette).cut
