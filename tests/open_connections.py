"""Connections a test left open in garbage: found where the test ran, not in a later one.

An SDK client is a reference cycle, so one never closed becomes garbage with its keep-alive socket
still open, and the collector may finalise that socket before the client's own close: the
`ResourceWarning` then fails whichever later test the collector happened to run in (a clean-clone
CI run failed that way in `test_docs`). This records the TCP sockets each test creates; after its
teardown, those still open and connected get one collection, and any it frees was garbage.
"""

from __future__ import annotations

import gc
import socket
import warnings
import weakref
from typing import Any

_created: list[weakref.ref[socket.socket]] = []
_tracking = [False]
_real_init = socket.socket.__init__


def _init(self: socket.socket, *args: Any, **kwargs: Any) -> None:
    _real_init(self, *args, **kwargs)
    if _tracking[0]:
        _created.append(weakref.ref(self))


def install() -> None:
    socket.socket.__init__ = _init  # type: ignore[method-assign]


def start() -> None:
    _created.clear()
    _tracking[0] = True


def _open_tcp_peer(sock: socket.socket) -> str | None:
    try:
        if sock.fileno() == -1 or sock.family not in (socket.AF_INET, socket.AF_INET6):
            return None
        host, port = sock.getpeername()[:2]
    except OSError:  # not connected
        return None
    return f"{host}:{port}"


def left_in_garbage() -> list[str]:
    """The peers of the sockets created since `start()` that were open only inside garbage."""
    _tracking[0] = False
    open_ones = [(ref, peer) for ref in _created if (s := ref()) is not None and (peer := _open_tcp_peer(s))]
    _created.clear()
    if not open_ones:
        return []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)  # reported below, with the test's name
        gc.collect()
    return [peer for ref, peer in open_ones if ref() is None]


def let_go_of_unclosed_clients() -> None:
    """Collect now, quietly, the clients that code written as users write it left unclosed (the
    docs' samples say `client = OpenAI()` in a test and never close it): the caller vouches for it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()
