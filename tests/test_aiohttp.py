"""aiohttp's `ClientSession`, used directly: recorded and replayed through the same core as httpx.

Every test drives real aiohttp against a real server on 127.0.0.1 (the bundled fake LLM server, or
a small stub for redirects, cookies and gzip), records a fresh cassette, then replays it and checks
that the server was not reached and the caller saw exactly the same thing.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import pytest

from helpers import OPENAI_KEY, arecord_then_replay, user
from llm_cassette import faults, load, use_cassette
from llm_cassette.fake_server import FakeServer
from stub_servers import StubServer, http_app

T = TypeVar("T")
pytestmark = pytest.mark.asyncio


@pytest.fixture(scope="module")
def http_server() -> Iterator[StubServer]:
    with StubServer(http_app()) as server:
        yield server


def chat(model: str, text: str, **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": user(text), **extra}


def headers() -> dict[str, str]:
    return {"authorization": f"Bearer {OPENAI_KEY}"}


async def both_runs(path: Path, server: Any, call: Callable[[], Awaitable[T]], **options: Any) -> T:
    """Record `call`, replay it with the server untouched, check both runs saw the same; the value."""
    before = server.request_count
    runs = await arecord_then_replay(path, call, **options)
    sent = server.request_count - before
    assert runs.recording.recorded_count == sent >= 1
    assert runs.replay.play_count == sent
    assert server.request_count - before == sent, "the replay reached the server"
    assert runs.replayed == runs.recorded
    return runs.recorded


async def test_json_post_with_params(fake_server: FakeServer, tmp_path: Path) -> None:
    async def call() -> Any:
        async with aiohttp.ClientSession(headers=headers()) as session:
            url = f"{fake_server.base_url_openai}/chat/completions"
            async with session.post(url, json=chat("gpt-4o-mini", "hello aiohttp"), params={"v": "1"}) as r:
                return r.status, r.headers["content-type"], await r.json()

    status, ctype, body = await both_runs(tmp_path / "c.yaml", fake_server, call)
    assert (status, ctype) == (200, "application/json")
    assert body["choices"][0]["message"]["content"] == "Echo: hello aiohttp"
    (it,) = load(tmp_path / "c.yaml").interactions
    assert it.request.url.endswith("/chat/completions?v=1")
    assert it.request.json()["messages"][0]["content"] == "hello aiohttp"
    assert dict(it.request.headers)["authorization"] == "REDACTED"  # redacted like on httpx


@pytest.mark.parametrize("how", ["iter_any", "iter_chunked", "lines", "readline", "read", "text"])
async def test_stream_read_any_way_replays_the_same_pieces(fake_server: FakeServer, tmp_path: Path, how: str) -> None:
    async def read(r: aiohttp.ClientResponse) -> Any:
        if how == "iter_any":
            return [c async for c in r.content.iter_any()]
        if how == "iter_chunked":
            return [c async for c in r.content.iter_chunked(16)]
        if how == "lines":
            return [line async for line in r.content]
        if how == "readline":
            return [await r.content.readline() for _ in range(3)]
        if how == "read":
            return await r.read()
        return await r.text()

    async def call() -> Any:
        async with aiohttp.ClientSession(headers=headers()) as session:
            body = chat("gpt-4o-mini+chunks4", "four words come back", stream=True)
            async with session.post(f"{fake_server.base_url_openai}/chat/completions", json=body) as r:
                return await read(r)

    seen = await both_runs(tmp_path / "s.yaml", fake_server, call)
    assert seen
    response = load(tmp_path / "s.yaml").interactions[0].response
    assert response is not None and response.chunks is not None and len(response.chunks) > 1
    if how in ("iter_any", "read"):  # nothing was split or merged on the way
        pieces = seen if how == "iter_any" else [seen]
        assert b"".join(pieces) == response.content


async def test_chunk_boundaries_are_the_recorded_ones(fake_server: FakeServer, tmp_path: Path) -> None:
    async def call() -> Any:
        async with aiohttp.ClientSession(headers=headers()) as session:
            body = chat("gpt-4o-mini+chunks3+delay5", "one two three", stream=True)
            async with session.post(f"{fake_server.base_url_openai}/chat/completions", json=body) as r:
                return [c async for c in r.content.iter_any()]

    path = tmp_path / "c.yaml"
    await both_runs(path, fake_server, call)
    response = load(path).interactions[0].response
    assert response is not None and response.chunks is not None
    async with use_cassette(path):
        assert await call() == [c.data for c in response.chunks]


async def test_redirect_cookies_and_gzip(http_server: StubServer, tmp_path: Path) -> None:
    async def call() -> Any:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
            async with session.get(f"{http_server.url}/redirect") as r:
                redirected = (r.status, [h.status for h in r.history], await r.json())
            async with session.get(f"{http_server.url}/cookie") as r:
                await r.read()
            async with session.get(f"{http_server.url}/cookie") as r:  # sends the cookie back
                cookie = await r.json()
            async with session.get(f"{http_server.url}/gzip") as r:
                zipped = await r.json()  # (live, aiohttp keeps `content-encoding: gzip` in the headers)
            return redirected, cookie, zipped

    redirected, cookie, zipped = await both_runs(tmp_path / "h.yaml", http_server, call)
    assert redirected == (200, [302], {"method": "GET", "body": "", "query": {"from": "redirect"}})
    assert cookie == {"cookie": "s-1"}
    assert zipped["zipped"] is True
    gz = load(tmp_path / "h.yaml").interactions[-1]
    assert gz.response is not None and gz.response.body.startswith(b'{"zipped"')  # stored decoded
    assert "content-encoding" not in dict(gz.response.headers)


async def test_auto_decompress_off_reads_the_same_decoded_body(http_server: StubServer, tmp_path: Path) -> None:
    async def call() -> Any:
        async with aiohttp.ClientSession(auto_decompress=False) as session, session.get(f"{http_server.url}/gzip") as r:
            raw = await r.read()
            return r.headers.get("content-encoding"), raw

    path = tmp_path / "g.yaml"
    async with use_cassette(path, record_mode="once"):
        encoding, raw = await call()
    assert encoding == "gzip" and raw[:2] == b"\x1f\x8b"  # live: what the server sent
    async with use_cassette(path):
        encoding, raw = await call()
    assert encoding is None and json.loads(raw)["zipped"] is True  # replay: decoded, consistently


async def test_connect_error_is_recorded_and_replayed(tmp_path: Path) -> None:
    async def call() -> Any:
        async with aiohttp.ClientSession() as session:
            try:
                async with session.get("http://127.0.0.1:1/v1/models"):
                    pass
            except aiohttp.ClientConnectorError as exc:
                return type(exc).__name__, str(exc), exc.host, exc.port
        raise AssertionError("no error")

    runs = await arecord_then_replay(tmp_path / "e.yaml", call)
    assert runs.replayed == runs.recorded
    assert runs.recorded[0] == "ClientConnectorError"
    (it,) = load(tmp_path / "e.yaml").interactions
    assert it.error is not None and it.error.type == "ClientConnectorError"


async def test_dropped_stream_raises_at_the_same_point(fake_server: FakeServer, tmp_path: Path) -> None:
    async def call() -> Any:
        seen: list[bytes] = []
        async with aiohttp.ClientSession(headers=headers()) as session:
            body = chat("gpt-4o-mini+chunks6+drop3", "drop me midway please", stream=True)
            async with session.post(f"{fake_server.base_url_openai}/chat/completions", json=body) as r:
                try:
                    async for line in r.content:
                        seen.append(line)
                except aiohttp.ClientPayloadError as exc:
                    return seen, type(exc).__name__
        raise AssertionError("the stream did not drop")

    seen, error = await both_runs(tmp_path / "d.yaml", fake_server, call)
    assert error == "ClientPayloadError" and seen
    response = load(tmp_path / "d.yaml").interactions[0].response
    assert response is not None and response.error is not None


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (faults.connect_error(), aiohttp.ClientConnectorError),
        (faults.timeout(), aiohttp.SocketTimeoutError),
        (faults.timeout(phase="connect"), aiohttp.ConnectionTimeoutError),
    ],
)
async def test_error_faults_raise_aiohttp_exceptions(
    fake_server: FakeServer, tmp_path: Path, fault: faults.Fault, error: type[BaseException]
) -> None:
    async with use_cassette(tmp_path / "f.yaml", record_mode="once", faults=[fault]), aiohttp.ClientSession() as s:
        with pytest.raises(error):
            await s.get(f"{fake_server.base_url_openai}/models")
    assert fake_server.request_count == 0


async def test_drop_fault_cuts_the_recorded_stream(fake_server: FakeServer, tmp_path: Path) -> None:
    async def call() -> Any:
        async with aiohttp.ClientSession(headers=headers()) as session:
            body = chat("gpt-4o-mini+chunks5", "five words for the drop", stream=True)
            async with session.post(f"{fake_server.base_url_openai}/chat/completions", json=body) as r:
                pieces = []
                with pytest.raises(aiohttp.ClientPayloadError):
                    async for piece in r.content.iter_any():
                        pieces.append(piece)
                return pieces

    path = tmp_path / "drop.yaml"
    async with use_cassette(path, record_mode="once", faults=[faults.drop(after_chunks=2)]):
        live = await call()
    assert len(live) == 2
    response = load(path).interactions[0].response
    assert response is not None and response.chunks is not None and len(response.chunks) > 2  # all recorded
    async with use_cassette(path, faults=[faults.drop(after_chunks=2)]):
        assert await call() == live


async def test_rate_limit_fault_answers_429(fake_server: FakeServer, tmp_path: Path) -> None:
    async with (
        use_cassette(tmp_path / "r.yaml", record_mode="once", faults=[faults.rate_limit()]),
        aiohttp.ClientSession() as session,
        session.get(f"{fake_server.base_url_openai}/models") as r,
    ):
        assert r.status == 429
        assert r.headers["retry-after-ms"] == "1"
        assert (await r.json())["error"]["code"] == "rate_limit_exceeded"


async def test_stream_closed_early_is_cut(fake_server: FakeServer, tmp_path: Path) -> None:
    async def call() -> Any:
        async with aiohttp.ClientSession(headers=headers()) as session:
            body = chat("gpt-4o-mini+chunks6+delay5", "six words then the caller leaves", stream=True)
            async with session.post(f"{fake_server.base_url_openai}/chat/completions", json=body) as r:
                return await r.content.readline()

    path = tmp_path / "cut.yaml"
    first = (await arecord_then_replay(path, call)).recorded
    assert first.startswith(b"data: ")
    response = load(path).interactions[0].response
    assert response is not None and response.cut


async def test_miss_is_not_an_aiohttp_error(fake_server: FakeServer, tmp_path: Path) -> None:
    from llm_cassette import CassetteMiss

    path = tmp_path / "m.yaml"
    with pytest.raises(CassetteMiss):
        async with use_cassette(path), aiohttp.ClientSession() as session:
            with contextlib.suppress(aiohttp.ClientError):  # an app's own handling cannot swallow a miss
                await session.get(f"{fake_server.base_url_openai}/models")
    assert fake_server.request_count == 0


async def test_in_process_responses_without_a_cassette_are_untouched(fake_server: FakeServer) -> None:
    async with aiohttp.ClientSession() as session, session.get(f"{fake_server.base_url_openai}/models") as r:
        assert r.status == 200
        assert type(r.content) is aiohttp.StreamReader  # no session: nothing wrapped
