"""The network guard below every stack: in replay, a connection no recorded stack makes is refused
at the socket, with an error naming where it went, which library opened it and what to do.

Tests that exercise a refusal of a remote address put a recorder in place of the real `connect`
and `getaddrinfo` underneath the guard: nothing can leave the machine even if the guard fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from counting_listener import CountingListener
from llm_cassette import use_cassette
from llm_cassette.core.network import journal
from llm_cassette.errors import CassetteMiss, NetworkBlocked
from llm_cassette.fake_server import FakeServer
from llm_cassette.stacks import guard

REMOTE_IP = "203.0.113.7"  # TEST-NET-3: documentation only, never routed
REMOTE_NAME = "api.llm-cassette.invalid"


@pytest.fixture
def nothing_leaves(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any]]:
    """Replace the real connect / getaddrinfo under the guard with recorders (loopback still works)."""
    sent: list[tuple[str, Any]] = []
    real = dict(guard.REAL)

    def connect(sock: socket.socket, address: Any) -> Any:
        if isinstance(address, tuple) and guard.is_loopback(str(address[0])):
            return real["connect"](sock, address)
        sent.append(("connect", address))
        raise ConnectionRefusedError("recorder: not sent")

    def connect_ex(sock: socket.socket, address: Any) -> int:
        if isinstance(address, tuple) and guard.is_loopback(str(address[0])):
            return int(real["connect_ex"](sock, address))
        sent.append(("connect_ex", address))
        return 111

    def getaddrinfo(host: Any, port: Any, *args: Any) -> Any:
        if host is None or guard.is_loopback(str(host)):
            return real["getaddrinfo"](host, port, *args)
        sent.append(("getaddrinfo", host))
        return real["getaddrinfo"]("127.0.0.1", port, *args)  # resolved, but to nowhere real

    monkeypatch.setitem(guard.REAL, "connect", connect)
    monkeypatch.setitem(guard.REAL, "connect_ex", connect_ex)
    monkeypatch.setitem(guard.REAL, "getaddrinfo", getaddrinfo)
    return sent


@pytest.fixture
def replay_cassette(tmp_path: Path) -> Path:
    path = tmp_path / "replayed.yaml"
    path.write_text("version: 1\ninteractions: []\n", encoding="utf-8")
    return path


@pytest.fixture
def network_blocked_by_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("LLM_CASSETTE_BLOCK_NETWORK", "1")
    yield


def test_replay_refuses_a_remote_address_from_any_library(
    nothing_leaves: list[tuple[str, Any]], replay_cassette: Path
) -> None:
    refused: list[NetworkBlocked] = []
    # Caught inside, each refusal still fails the block on exit, like a miss.
    with pytest.raises(NetworkBlocked), use_cassette(replay_cassette):
        for url in (f"http://{REMOTE_IP}/v1/models", f"https://{REMOTE_NAME}/v1/models"):
            with pytest.raises(NetworkBlocked) as info:
                urllib.request.urlopen(url, timeout=1)
            refused.append(info.value)
        with pytest.raises(NetworkBlocked):
            socket.create_connection((REMOTE_IP, 443), timeout=1)
        s = socket.socket()
        with pytest.raises(NetworkBlocked):
            s.connect_ex((REMOTE_IP, 80))
        s.close()
    assert nothing_leaves == []
    message = str(refused[1])
    assert f"{REMOTE_NAME}:443" in message
    assert "urllib.request" in message  # the likely library
    assert f"called from {__file__}" in message
    assert str(replay_cassette) in message
    assert f"--llm-allowed-hosts={REMOTE_NAME}" in message


def test_asyncio_paths_are_refused_in_the_task(nothing_leaves: list[tuple[str, Any]], replay_cassette: Path) -> None:
    async def main() -> list[str]:
        out = []
        for host in (REMOTE_NAME, REMOTE_IP):
            try:
                await asyncio.open_connection(host, 443)
            except NetworkBlocked as exc:
                out.append(str(exc))
        return out

    messages: list[str] = []
    with pytest.raises(NetworkBlocked), use_cassette(replay_cassette):
        messages += asyncio.run(main())
    assert len(messages) == 2 and all("asyncio" in m for m in messages)
    assert nothing_leaves == []


def test_an_error_the_code_swallows_still_fails_the_block(
    nothing_leaves: list[tuple[str, Any]], replay_cassette: Path
) -> None:
    # contextlib.suppress(BaseException): the worst an application can do.
    with pytest.raises(NetworkBlocked), use_cassette(replay_cassette), contextlib.suppress(BaseException):
        urllib.request.urlopen(f"http://{REMOTE_IP}/", timeout=1)
    assert issubclass(NetworkBlocked, CassetteMiss)
    assert nothing_leaves == []


def test_loopback_is_not_guarded_by_default(fake_server: FakeServer, replay_cassette: Path) -> None:
    # A local database or service on 127.0.0.1 keeps working while a cassette replays.
    with use_cassette(replay_cassette), urllib.request.urlopen(f"{fake_server.base_url_openai}/models") as r:
        assert r.status == 200


def test_allowed_hosts_and_ignore_hosts_let_a_remote_host_through(
    nothing_leaves: list[tuple[str, Any]], replay_cassette: Path
) -> None:
    # The recorder underneath refuses the real connect: the guard let it through.
    with use_cassette(replay_cassette, ignore_hosts=[REMOTE_NAME]), pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"http://{REMOTE_NAME}/", timeout=1)
    assert [kind for kind, _ in nothing_leaves] == ["getaddrinfo"]  # resolved to 127.0.0.1, see fixture


def test_block_network_guards_loopback_too_and_nothing_connects(
    fake_server: FakeServer, replay_cassette: Path, network_blocked_by_env: None
) -> None:
    with CountingListener(fake_server.port) as listener:
        with pytest.raises(NetworkBlocked, match="--llm-allow-localhost"), use_cassette(replay_cassette):
            urllib.request.urlopen(f"{listener.url}/v1/models", timeout=5)
        assert listener.connections == 0


def test_recording_is_unaffected_by_block_network(
    fake_server: FakeServer, tmp_path: Path, network_blocked_by_env: None
) -> None:
    import httpx

    requests = pytest.importorskip("requests")
    with use_cassette(tmp_path / "c.yaml", record_mode="once") as rec:
        assert httpx.get(f"{fake_server.base_url_openai}/models").status_code == 200
        assert requests.get(f"{fake_server.base_url_openai}/models").status_code == 200
    assert rec.recorded_count == 2


def test_in_process_servers_and_unix_sockets_are_never_refused(tmp_path: Path, network_blocked_by_env: None) -> None:
    a, b = socket.socketpair()
    a.close()
    b.close()
    path = tmp_path / "c.yaml"
    path.write_text("version: 1\ninteractions: []\n", encoding="utf-8")
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(tmp_path / "s"))
    server.listen()
    with use_cassette(path):
        client = socket.socket(socket.AF_UNIX)
        client.connect(str(tmp_path / "s"))
        client.close()
    server.close()


def test_the_guard_counts_every_connection_that_left(fake_server: FakeServer) -> None:
    before = journal.mark()
    with urllib.request.urlopen(f"{fake_server.base_url_openai}/models", timeout=5):
        pass
    seen = journal.connections_since(before)
    assert [(c.host, c.port) for c in seen] == [("127.0.0.1", fake_server.port)]
    assert "urllib.request" in seen[0].library and not seen[0].by_adapter
