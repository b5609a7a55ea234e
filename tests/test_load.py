"""Load: many streams at once, and a large cassette replayed in bounded memory.

The memory numbers are measured in a child process (its own peak RSS, VmHWM) and recorded in
docs/robustness.md; the test only asserts a generous bound. `pytest tests/test_load.py -s` prints
them.
"""

from __future__ import annotations

import asyncio
import json
import platform
import socket
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import openai
import pytest

from helpers import OPENAI_KEY
from llm_cassette import CassetteData, Chunk, Interaction, Request, Response, load, save, use_cassette
from llm_cassette.fake_server import FakeServer

# --- 200 concurrent streams ------------------------------------------------------------------------


async def ask_all(server: FakeServer, prompts: list[str]) -> list[str]:
    async with openai.AsyncOpenAI(base_url=server.base_url_openai, api_key=OPENAI_KEY, max_retries=0) as client:

        async def ask(prompt: str) -> str:
            # A gap between events keeps all the streams open at once.
            stream = await client.chat.completions.create(
                model="gpt-4o-mini+delay5", messages=[{"role": "user", "content": prompt}], stream=True
            )
            return "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])

        return list(await asyncio.gather(*(ask(p) for p in prompts)))


def prompt_of(it: Interaction) -> str:
    body: Any = it.request.json()
    return str(body["messages"][-1]["content"])


@pytest.mark.asyncio
async def test_200_concurrent_streams_record_and_replay(tmp_path: Path, fake_server: FakeServer) -> None:
    cassette = tmp_path / "c.yaml"
    prompts = [f"concurrent question {i}" for i in range(200)]

    async with use_cassette(cassette, record_mode="once") as session:
        recorded = await ask_all(fake_server, prompts)
    assert recorded == [f"Echo: {p}" for p in prompts]
    assert session.recorded_count == 200
    assert fake_server.request_count == 200

    its = load(cassette).interactions
    assert sorted(prompt_of(it) for it in its) == sorted(prompts)
    for it in its:
        assert it.response is not None and it.response.streamed and not it.response.cut
        assert f"Echo: {prompt_of(it)}".split()[-1].encode() in it.response.content

    shuffled = prompts[1::2] + prompts[::2]
    async with use_cassette(cassette, record_mode="none") as session:
        replayed = await ask_all(fake_server, shuffled)
    assert replayed == [f"Echo: {p}" for p in shuffled]
    assert session.play_count == 200
    assert fake_server.request_count == 200  # nothing reached the server


# --- a 5,000-interaction cassette -----------------------------------------------------------------

N = 5000
MEMORY_BOUND = 500 * 1024 * 1024


def big_cassette(port: int) -> CassetteData:
    """Chat calls as the SDK sends them: half JSON replies, half SSE streams of 6 events."""
    its = []
    for i in range(N):
        body = json.dumps(
            {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": f"question {i}"}], "stream": i % 2 == 1},
            separators=(",", ":"),
        ).encode()
        request = Request(
            "POST",
            f"http://127.0.0.1:{port}/v1/chat/completions",
            (
                ("host", f"127.0.0.1:{port}"),
                ("accept", "application/json"),
                ("content-type", "application/json"),
                ("user-agent", "OpenAI/Python 3.0.0"),
                ("authorization", "REDACTED"),
                ("content-length", str(len(body))),
            ),
            body,
        )
        words = ["Echo:", "question", str(i)]
        if i % 2:
            deltas = [{"role": "assistant"}, *({"content": w + " "} for w in words), {}]
            events = [{"id": f"chatcmpl-{i}", "choices": [{"index": 0, "delta": d}]} for d in deltas]
            lines = [f"data: {json.dumps(e, separators=(',', ':'))}\n\n" for e in events] + ["data: [DONE]\n\n"]
            chunks = tuple(Chunk(line.encode(), 10.0 + n) for n, line in enumerate(lines))
            response = Response(200, (("content-type", "text/event-stream"),), chunks=chunks, t=9.5)
        else:
            reply = {"id": f"chatcmpl-{i}", "choices": [{"index": 0, "message": {"content": " ".join(words)}}]}
            response = Response(200, (("content-type", "application/json"),), body=json.dumps(reply).encode(), t=9.5)
        its.append(Interaction(request=request, response=response))
    return CassetteData(its)


# Loads the cassette and sends every request through a real httpx2 client to a port nothing
# listens on, checking each reply, then reports its peak memory as JSON.
REPLAY_CHILD = textwrap.dedent(
    """
    import json, resource, sys, time, tracemalloc
    import httpx2
    from llm_cassette import use_cassette

    path, port, n, trace = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "tracemalloc"
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    url = f"http://127.0.0.1:{port}/v1/chat/completions"
    with use_cassette(path) as session, httpx2.Client() as client:
        loaded = time.perf_counter()
        for i in range(n):
            body = json.dumps(
                {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": f"question {i}"}],
                 "stream": i % 2 == 1},
                separators=(",", ":"),
            ).encode()
            with client.stream("POST", url, content=body, headers={"content-type": "application/json"}) as r:
                pieces = list(r.iter_raw())
            recorded = session.interactions[i].response
            expected = [c.data for c in recorded.chunks] if recorded.chunks is not None else [recorded.body]
            assert r.status_code == 200 and pieces == expected, i
            assert f'chatcmpl-{i}"'.encode() in b"".join(pieces), i
        assert session.play_count == n and not session.unused_interactions and not session.misses
    done = time.perf_counter()
    try:  # this process's own peak; ru_maxrss also counts the parent's pages at fork/exec time
        with open("/proc/self/status") as status:
            peak_kb = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    except OSError:
        peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out = {
        "peak_rss_mb": round(peak_kb / 1024, 1),
        "load_s": round(loaded - started, 2),
        "replay_s": round(done - loaded, 2),
    }
    if trace:
        out["tracemalloc_peak_mb"] = round(tracemalloc.get_traced_memory()[1] / 2**20, 1)
    print(json.dumps(out))
    """
)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def big_cassette_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    port = closed_port()
    path = tmp_path_factory.mktemp("load") / "big.yaml"
    save(path, big_cassette(port))
    return path, port


# Peak RSS only: the same run under tracemalloc (`measure="tracemalloc"`, for a Python-level
# breakdown by hand) takes five times as long, and the bound is on what the process holds.
@pytest.mark.parametrize("measure", ["rss"])
def test_a_5000_interaction_cassette_replays_in_bounded_memory(
    measure: str, big_cassette_file: tuple[Path, int]
) -> None:
    pytest.importorskip("httpx2")
    path, port = big_cassette_file
    proc = subprocess.run(
        [sys.executable, "-c", REPLAY_CHILD, str(path), str(port), str(N), measure],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["file_mb"] = round(path.stat().st_size / 2**20, 1)
    result["machine"] = f"{platform.machine()} {platform.python_implementation()} {platform.python_version()}"
    print(f"\n{N} interactions, {measure}: {json.dumps(result)}")
    if measure == "rss":
        assert result["peak_rss_mb"] * 2**20 < MEMORY_BOUND
    else:  # tracing keeps a record of every allocation: only its count of Python memory is meaningful here
        assert result["tracemalloc_peak_mb"] * 2**20 < MEMORY_BOUND
