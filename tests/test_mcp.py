"""MCP over streamable HTTP, as an agent uses it: recorded, then replayed offline.

A real MCP server (the SDK's own) runs on 127.0.0.1, stateful or stateless, answering in SSE or
JSON. mcp 2.x (over httpx2) runs here, both in its modern protocol and its `mode="legacy"`
initialize handshake (sessions and a long-lived GET stream); mcp 1.x (over httpx + httpx-sse) can
not be installed beside it: its cases run in a subprocess (tests/compat/test_compat_mcp.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from llm_cassette import load, save, use_cassette
from mcp_flows import SERVERS, flow, run_case
from stub_servers import StubServer, mcp_app

mcp = pytest.importorskip("mcp")


@pytest.fixture(scope="module", params=list(SERVERS))
def server(request: pytest.FixtureRequest) -> Iterator[StubServer]:
    with StubServer(mcp_app(**SERVERS[request.param])) as running:
        yield running


def check(out: dict[str, Any], *, same: bool = True) -> None:
    assert out["replay_reached_server"] == 0, "the replay reached the MCP server"
    assert out["played"] == out["recorded_count"]
    if same:
        assert out["replayed"] == out["recorded"]
    assert out["recorded"][0] == ["add", "shout"]
    assert ["add", ["5"]] in out["recorded"] and ["shout", ["HI"]] in out["recorded"]


# --- mcp 2.x, in this process ----------------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize("mode", ["", "legacy"])
async def test_plain_flow(server: StubServer, tmp_path: Path, mode: str) -> None:
    check(await run_case("plain", tmp_path / "mcp.yaml", server, mode))


@pytest.mark.asyncio
@pytest.mark.parametrize("mode", ["", "legacy"])
async def test_calls_in_another_order_answer_with_the_ids_sent(server: StubServer, tmp_path: Path, mode: str) -> None:
    out = await run_case("reorder", tmp_path / "mcp.yaml", server, mode)
    check(out, same=False)
    assert out["replayed"][1:3] == [["shout", ["HI"]], ["add", ["5"]]]


@pytest.mark.asyncio
async def test_pause_longer_than_the_reconnect_delay(tmp_path: Path) -> None:
    # Only a stateful server opens the long-lived GET stream the client reconnects.
    with StubServer(mcp_app()) as server:
        out = await run_case("pause", tmp_path / "mcp.yaml", server, "legacy")
    check(out)
    gets = [it for it in load(tmp_path / "mcp.yaml").interactions if it.request.method == "GET"]
    assert len(gets) == 1  # replayed, it stayed open: the client did not reconnect


@pytest.mark.asyncio
async def test_sse_answers_are_readable_and_complete(tmp_path: Path) -> None:
    path = tmp_path / "mcp.yaml"
    with StubServer(mcp_app()) as server:
        async with use_cassette(path, record_mode="once"):
            await flow(f"{server.url}/mcp", mode="legacy")
    text = path.read_text(encoding="utf-8")
    assert "\\r\\n" not in text  # CRLF events stored as blocks, not escaped strings
    assert "line_ends: crlf" in text
    posts = [it for it in load(path).interactions if it.request.method == "POST"]
    streamed = [it.response for it in posts if it.response is not None and it.response.chunks]
    assert streamed and not any(r.cut for r in streamed)  # the JSON-RPC answer ends each stream


@pytest.mark.asyncio
async def test_session_id_of_another_recording_session_is_answered_with_the_one_sent(tmp_path: Path) -> None:
    path = tmp_path / "mcp.yaml"
    with StubServer(mcp_app()) as server:
        async with use_cassette(path, record_mode="once"):
            recorded = await flow(f"{server.url}/mcp", mode="legacy")
        sent = server.request_count
        # As if the calls after initialize had been recorded by another session (new_episodes).
        first_id = next(v for it in load(path).interactions for k, v in it.response.headers if k == "mcp-session-id")
        text = path.read_text(encoding="utf-8")
        head, _, tail = text.partition("notifications/initialized")
        path.write_text(head + "notifications/initialized" + tail.replace(first_id, "another-session-0000"))
        async with use_cassette(path) as replay:
            replayed = await flow(f"{server.url}/mcp", mode="legacy")
        assert server.request_count == sent
    assert replayed == recorded
    assert replay.play_count == len(replay.interactions)


@pytest.mark.asyncio
async def test_session_id_never_matters_to_matching(tmp_path: Path) -> None:
    path = tmp_path / "mcp.yaml"
    with StubServer(mcp_app()) as server:
        options: dict[str, Any] = {"match_on": ("method", "url", "body", "headers")}
        async with use_cassette(path, record_mode="once", **options):
            await flow(f"{server.url}/mcp", mode="legacy")
        # The requests as if sent in another session; the responses keep the id the client gets.
        data = load(path)
        data.interactions = [
            replace(
                it,
                request=replace(
                    it.request,
                    headers=tuple(
                        (k, "recorded-elsewhere" if k == "mcp-session-id" else v) for k, v in it.request.headers
                    ),
                ),
            )
            for it in data.interactions
        ]
        save(path, data)
        async with use_cassette(path, **options) as replay:
            await flow(f"{server.url}/mcp", mode="legacy")
    assert replay.play_count == len(replay.interactions)
