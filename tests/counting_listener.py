"""A TCP listener on 127.0.0.1 that counts the connections it accepts and relays them upstream.

Put it in front of a real server (the fake server, a stub) to prove that a replay opened no
connection at all: `with CountingListener(upstream_port) as listener: ...; listener.connections`,
or `record_then_replay_offline(listener, path, call, monkeypatch)` for the whole round trip.
"""

from __future__ import annotations

import _socket
import contextlib
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import TypeVar

import pytest

from llm_cassette import use_cassette

T = TypeVar("T")


class CountingListener:
    """Accepts on a free 127.0.0.1 port, counts, and pipes each connection to `upstream_port`."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.connections = 0
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self.port: int = self._sock.getsockname()[1]
        self._threads: list[threading.Thread] = []
        self._open: list[socket.socket | _socket.socket] = []
        self._lock = threading.Lock()
        self._closed = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept_loop(self) -> None:
        while True:
            try:
                client, _ = self._sock.accept()
            except OSError:
                return  # closed
            with self._lock:
                self.connections += 1
            # The relay is test plumbing, not traffic under test: a C-level socket, below the guard.
            upstream = _socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            upstream.connect(("127.0.0.1", self.upstream_port))
            with self._lock:
                self._open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                t = threading.Thread(target=self._pipe, args=(a, b), daemon=True)
                t.start()
                self._threads.append(t)

    @staticmethod
    def _pipe(src: socket.socket | _socket.socket, dst: socket.socket | _socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)

    def __enter__(self) -> CountingListener:
        t = threading.Thread(target=self._accept_loop, name="counting-listener", daemon=True)
        t.start()
        self._threads.append(t)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        # shutdown() wakes the accept() blocked in the thread; close() alone would not.
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()
        with self._lock:
            for s in self._open:  # shutdown() wakes a recv() blocked in a pipe thread; close() would not
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()
        for t in self._threads:
            t.join(5)


def record_then_replay_offline(
    listener: CountingListener, path: Path, call: Callable[[], T], monkeypatch: pytest.MonkeyPatch
) -> tuple[T, T]:
    """Record `call` through the listener, then replay it under `LLM_CASSETTE_BLOCK_NETWORK=1`
    (loopback is only guarded then): zero new connections, every interaction played."""
    with use_cassette(path, record_mode="once") as rec:
        recorded = call()
    assert rec.recorded_count >= 1 and listener.connections >= 1
    connections = listener.connections
    with monkeypatch.context() as m:
        m.setenv("LLM_CASSETTE_BLOCK_NETWORK", "1")
        with use_cassette(path, record_mode="none") as play:
            replayed = call()
    assert listener.connections == connections, "the replay connected to the upstream"
    assert play.play_count == rec.recorded_count
    return recorded, replayed
