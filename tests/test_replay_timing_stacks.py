"""`replay_timing` on every stack: httpx, urllib3 (requests) and aiohttp replay the headers and each
chunk at its recorded time, through the one clock of `core.replay.replay_clock`.

The cassette is written by hand: headers at 60 ms, chunks at 120 and 180 ms. Only lower bounds are
asserted (a replay may be late on a busy machine, never early); speed targets live in benchmarks/.
"""

from __future__ import annotations

import time
from pathlib import Path

import aiohttp
import httpx
import pytest
import requests

from llm_cassette import CassetteData, Chunk, Interaction, Request, Response, save, use_cassette

URL = "http://127.0.0.1:9/v1/stream"  # the discard port: a replay never connects
PIECES = (b"data: one\n\n", b"data: two\n\n")


@pytest.fixture
def cassette(tmp_path: Path) -> Path:
    path = tmp_path / "timed.yaml"
    response = Response(
        200,
        (("content-type", "text/event-stream"), ("transfer-encoding", "chunked")),
        chunks=(Chunk(PIECES[0], 120.0), Chunk(PIECES[1], 180.0)),
        t=60.0,
    )
    save(path, CassetteData([Interaction(Request("POST", URL), response)]))
    return path


def test_sync_stacks_wait_for_headers_and_chunks(cassette: Path) -> None:
    for name in ("httpx", "requests"):
        with use_cassette(cassette, replay_timing=1.0):
            started = time.perf_counter()
            if name == "httpx":
                with httpx.Client() as client, client.stream("POST", URL) as response:
                    headers_at = time.perf_counter() - started
                    chunks = list(response.iter_raw())
            else:
                with requests.post(URL, stream=True, timeout=5) as reply:
                    headers_at = time.perf_counter() - started
                    chunks = list(reply.iter_content(chunk_size=None))
            done_at = time.perf_counter() - started
        assert chunks == list(PIECES), name
        assert headers_at >= 0.055 and done_at >= 0.17, (name, headers_at, done_at)


@pytest.mark.asyncio
async def test_aiohttp_waits_for_headers_and_chunks(cassette: Path) -> None:
    with use_cassette(cassette, replay_timing=1.0):
        async with aiohttp.ClientSession() as client:
            started = time.perf_counter()
            async with client.post(URL) as response:
                headers_at = time.perf_counter() - started
                chunks = [chunk async for chunk in response.content.iter_any()]
            done_at = time.perf_counter() - started
    assert b"".join(chunks) == b"".join(PIECES)
    assert headers_at >= 0.055 and done_at >= 0.17, (headers_at, done_at)
