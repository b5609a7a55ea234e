"""A replayed stream that its client cut while recording: an event stream stays open (async) until
the client closes it, as the server kept it; any other body whose download was cut ends where the
recording does, on every path, and never hangs.

The cassettes are written by hand (what a cut recording stores); nothing connects in a replay.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import anyio
import httpx
import pytest
import requests

from llm_cassette import CassetteData, Chunk, Interaction, Request, Response, save, use_cassette
from llm_cassette.core.replay import stays_open

URL = "http://127.0.0.1:9/v1/feed"  # the discard port: a replay never connects
PIECES = (b'data: {"n": 1}\n\n', b'data: {"n": 2}\n\n')
DEADLINE = 10.0  # a hang never ends; an ending replay takes milliseconds


def cut_stream(content_type: str, method: str = "POST") -> Interaction:
    return Interaction(
        request=Request(method, URL, (("content-type", "application/json"),), b"{}" if method == "POST" else b""),
        response=Response(
            200,
            (("content-type", f"{content_type}; charset=utf-8"),),
            chunks=tuple(Chunk(p, 5.0 * i) for i, p in enumerate(PIECES)),
            cut=True,
        ),
    )


def cassette(tmp_path: Path, interaction: Interaction) -> Path:
    path = tmp_path / "cut.yaml"
    save(path, CassetteData([interaction]))
    return path


EVENT_STREAMS = ["text/event-stream", "application/x-ndjson", "application/jsonl"]
ORDINARY = ["application/octet-stream", "application/json", "text/plain"]


@pytest.mark.parametrize("content_type", EVENT_STREAMS + ORDINARY)
def test_only_event_streams_stay_open(content_type: str) -> None:
    assert stays_open(cut_stream(content_type)) is (content_type in EVENT_STREAMS)
    assert stays_open(cut_stream(content_type, "GET")) is (content_type in EVENT_STREAMS)


async def _next_is_pending(it: Any) -> bool:
    """Whether the next read waits (the stream is held open) rather than ending or yielding."""
    try:
        await asyncio.wait_for(asyncio.shield(pending := asyncio.ensure_future(it.__anext__())), 0.05)
    except asyncio.TimeoutError:
        pending.cancel()
        return True
    except StopAsyncIteration:
        return False
    raise AssertionError("a chunk the recording does not hold was replayed")


@pytest.mark.asyncio
async def test_async_httpx_cut_event_stream_stays_open_until_closed(tmp_path: Path) -> None:
    with use_cassette(cassette(tmp_path, cut_stream("text/event-stream"))):
        async with httpx.AsyncClient() as client, client.stream("POST", URL, json={}) as response:
            it = response.aiter_raw()
            assert [await it.__anext__(), await it.__anext__()] == list(PIECES)
            assert await _next_is_pending(it)
            # Closing it ended the stream: the block was left at once.


@pytest.mark.asyncio
@pytest.mark.parametrize("content_type", ORDINARY)
async def test_async_httpx_cut_download_ends_as_recorded(tmp_path: Path, content_type: str) -> None:
    with use_cassette(cassette(tmp_path, cut_stream(content_type))):
        async with httpx.AsyncClient() as client:
            with anyio.fail_after(DEADLINE):
                response = await client.post(URL, json={})
    assert response.content == b"".join(PIECES)


@pytest.mark.asyncio
async def test_aiohttp_cut_event_stream_stays_open_and_a_cut_download_ends(tmp_path: Path) -> None:
    path = tmp_path / "two.yaml"
    save(path, CassetteData([cut_stream("text/event-stream"), cut_stream("application/octet-stream")]))
    with use_cassette(path):
        async with aiohttp.ClientSession() as client:
            async with client.post(URL, json={}) as feed:
                it = feed.content.iter_any().__aiter__()
                assert b"".join([await it.__anext__(), await it.__anext__()]) == b"".join(PIECES)
                assert await _next_is_pending(it)
            with anyio.fail_after(DEADLINE):
                async with client.post(URL, json={}) as download:
                    assert await download.read() == b"".join(PIECES)


def finishes(work: Callable[[], Any]) -> Any:
    """Run `work` in a thread; fail (instead of hanging) when it is still running at the deadline."""
    out: list[Any] = []
    thread = threading.Thread(target=lambda: out.append(work()), daemon=True)
    thread.start()
    thread.join(DEADLINE)
    assert not thread.is_alive(), f"still running after {DEADLINE} s: the replay hangs"
    return out[0]


@pytest.mark.parametrize("content_type", ["text/event-stream", "application/octet-stream"])
def test_sync_cut_streams_end_as_recorded(tmp_path: Path, content_type: str) -> None:
    # A sync reader has no way to cancel a read: every cut stream ends where the recording does.
    path = tmp_path / "two.yaml"
    save(path, CassetteData([cut_stream(content_type), cut_stream(content_type)]))

    def read_both() -> tuple[bytes, bytes]:
        with use_cassette(path):
            with httpx.Client() as client:
                over_httpx = client.post(URL, json={}).content
            over_urllib3 = requests.post(URL, json={}, timeout=5).content
        return over_httpx, over_urllib3

    assert finishes(read_both) == (b"".join(PIECES), b"".join(PIECES))
