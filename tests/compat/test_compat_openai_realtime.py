"""The OpenAI Realtime API (`client.realtime.connect`, over websockets) is not recorded: in replay the
network guard refuses its connection with an error that says so, even when the code around it
catches every exception.

The endpoint is a real websocket server on 127.0.0.1 behind a connection-counting listener; the
replays run under `LLM_CASSETTE_BLOCK_NETWORK=1` (loopback is only guarded then) and must leave
its count untouched.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from counting_listener import CountingListener
from llm_cassette import use_cassette
from llm_cassette.errors import NetworkBlocked

openai = pytest.importorskip("openai")
ws_server = pytest.importorskip("websockets.sync.server")

# The SDK's live connection with websockets 14 or later; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:connect\\(\\) must be used as a context manager:DeprecationWarning")

KEY = "sk-fake-realtime-key-for-tests-0000"
MODEL = "gpt-realtime"


def _session(ws: Any) -> None:
    ws.send('{"type": "session.created", "event_id": "event_1", "session": {"type": "realtime"}}')
    for _ in ws:  # until the client goes
        pass


@pytest.fixture(scope="module")
def realtime() -> Iterator[CountingListener]:
    """A websocket endpoint that opens a Realtime session, behind a connection-counting listener."""
    server = ws_server.serve(_session, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with CountingListener(server.socket.getsockname()[1]) as listener:
            yield listener
    finally:
        server.shutdown()
        thread.join(5)


@pytest.fixture
def empty_cassette(tmp_path: Path) -> Path:
    path = tmp_path / "c.yaml"
    path.write_text("version: 2\ninteractions: []\n", encoding="utf-8")
    return path


def check(refusal: BaseException, realtime: CountingListener, before: int) -> None:
    assert realtime.connections == before, "the replay reached the websocket endpoint"
    message = str(refusal)
    assert f"connection to 127.0.0.1:{realtime.port} refused by the network guard" in message
    assert "library:  websockets (websockets." in message and "openai (openai.resources.realtime" in message
    assert "websocket connections (the OpenAI Realtime API) are not recorded" in message


def test_realtime_connect_is_refused(
    realtime: CountingListener, empty_cassette: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = openai.OpenAI(api_key=KEY, base_url=f"{realtime.url}/v1")
    with client.realtime.connect(model=MODEL) as live:  # the endpoint works: nothing else refuses it
        assert live.recv().type == "session.created"
    before = realtime.connections
    assert before >= 1
    monkeypatch.setenv("LLM_CASSETTE_BLOCK_NETWORK", "1")
    with pytest.raises(NetworkBlocked) as info, use_cassette(empty_cassette):
        try:
            with client.realtime.connect(model=MODEL) as connection:
                connection.recv()
        except BaseException:  # even code that swallows everything cannot hide the refusal
            pass
    check(info.value, realtime, before)


@pytest.mark.asyncio
async def test_realtime_connect_async_is_refused(
    realtime: CountingListener, empty_cassette: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLM_CASSETTE_BLOCK_NETWORK", "1")
    client = openai.AsyncOpenAI(api_key=KEY, base_url=f"{realtime.url}/v1")
    before = realtime.connections
    with pytest.raises(NetworkBlocked) as info:
        async with use_cassette(empty_cassette), client.realtime.connect(model=MODEL) as connection:
            await connection.recv()
    check(info.value, realtime, before)
