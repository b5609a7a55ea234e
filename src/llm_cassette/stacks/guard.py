"""The network guard, below every HTTP stack: `socket.connect` / `connect_ex`, `getaddrinfo`,
and asyncio's `loop.getaddrinfo` (decided in the calling task, then resolved in a thread pool).

While a cassette replays, a connection that no recording adapter makes is refused before it is
made (policy in `core.network`); every connection let through is written to the journal, so a run
can say how many left the process. Adapters wrap what they forward in `forwarding(host)`.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from contextvars import ContextVar
from types import FrameType
from typing import Any

from ..core.network import Connection, is_loopback, journal, network_policy
from ..errors import NetworkBlocked

RECORDED_STACKS = "httpx, httpx2, urllib3 (requests, botocore), aiohttp"

# Set while a recording adapter forwards a request: the connections it opens are its own.
_forwarding: ContextVar[bool] = ContextVar("llm_cassette_forwarding", default=False)
# Names being forwarded or resolved by an allowed caller right now, for the resolutions that run
# in a thread pool (asyncio's `getaddrinfo`), where the caller's context is not visible.
_cleared_names: Counter[str] = Counter()
_lock = threading.Lock()

# The real functions, looked up at each call: a test may put a recorder underneath the guard.
REAL: dict[str, Any] = {}


@contextlib.contextmanager
def _cleared(name: str) -> Iterator[None]:
    with _lock:
        _cleared_names[name] += 1
    try:
        yield
    finally:
        with _lock:
            _cleared_names[name] -= 1
            if not _cleared_names[name]:
                del _cleared_names[name]


@contextlib.contextmanager
def forwarding(host: str) -> Iterator[None]:
    """Mark the connections opened inside as a recording adapter's own: allowed, and counted as
    requests of the cassette rather than as unrecorded traffic."""
    token = _forwarding.set(True)
    try:
        with _cleared(host.lower().strip("[]")):
            yield
    finally:
        _forwarding.reset(token)


def likely_library(frame: FrameType | None) -> str:
    """The library behind a connection, from the stack: the installed packages between the socket
    and the calling code (innermost first), else the outermost standard-library module it used."""
    stdlib = sys.stdlib_module_names
    last_std = ""
    packages: list[str] = []
    where = ""
    while frame is not None:
        module = str(frame.f_globals.get("__name__", ""))
        top = module.split(".", 1)[0]
        filename = frame.f_code.co_filename
        if top in ("llm_cassette", "socket", "ssl", "selectors"):
            pass
        elif top in stdlib:
            last_std = module
        elif "site-packages" in filename or "dist-packages" in filename:
            if top not in ("_pytest", "pytest", "pluggy", "anyio", "sniffio") and all(
                not p.startswith(f"{top} ") for p in packages
            ):
                packages.append(f"{top} ({module})")
        else:
            where = f"{filename}:{frame.f_lineno}"
            break
        frame = frame.f_back
    library = " → ".join(packages) or last_std or "unknown (called from a thread pool)"
    return f"{library}, called from {where}" if where else library


# What to do instead, for the libraries known to open connections no adapter records (looked up
# innermost first among the libraries on the stack).
ADVICE = {
    "dspy": 'use dspy.LM(..., engine="litellm"), which sends through a recorded stack',
    "websockets": (
        "websocket connections (the OpenAI Realtime API) are not recorded: replace the connection "
        "with a fake in this test, or run it live"
    ),
    "urllib.request": "send it through requests or httpx, which are recorded",
    "http.client": "send it through requests or httpx, which are recorded",
}
_LIBRARY_NAMES = re.compile(r"(?:^|→ )([\w.]+)")


def advice_for(library: str) -> str:
    """What to do about a refused connection opened by `library` (as `likely_library` names it)."""
    for name in _LIBRARY_NAMES.findall(library.split(", called from ", 1)[0]):
        if name in ADVICE:
            return ADVICE[name]
    return "send it through a recorded client"


def _refusal(host: str, port: int | None, session: Any, library: str) -> NetworkBlocked:
    dest = f"{host}:{port}" if port is not None else host
    if session is not None and session.replays_only:
        why = (
            f"the cassette {session.path} replays ({session.record_mode.value} mode): "
            "in replay, nothing may leave unseen"
        )
    else:
        why = "--llm-block-network (or LLM_CASSETTE_BLOCK_NETWORK=1) is on"
    allow = (
        "--llm-allow-localhost (ini: llm_allow_localhost)"
        if is_loopback(host)
        else f"--llm-allowed-hosts={host} (ini: llm_cassette_allowed_hosts)"
    )
    return NetworkBlocked(
        f"llm-cassette: connection to {dest} refused by the network guard\n"
        f"  why:      {why}\n"
        f"  library:  {library}\n"
        f"  recorded: {RECORDED_STACKS}; this connection went through none of them\n"
        f"  to do:    {advice_for(library)}; or allow the host: {allow}, "
        f"or ignore_hosts=[{host!r}] on the cassette"
    )


def check_connect(address: Any, frame: FrameType | None) -> None:
    """Refuse a connection to `address` that the policy does not let through; journal the rest."""
    if not isinstance(address, tuple) or not address or not isinstance(address[0], str):
        return  # a Unix socket (a path): local
    host = address[0]
    port = address[1] if len(address) > 1 and isinstance(address[1], int) else None
    if _forwarding.get():
        journal.add(Connection(host, port, by_adapter=True))
        return
    library = likely_library(frame)
    guarded, session = network_policy.guard_scope()
    if guarded and not network_policy.lets_through(host, session):
        refusal = _refusal(host, port, session, library)
        journal.add(Connection(host, port, library, refused=True), refusal, session)
        raise refusal
    journal.add(Connection(host, port, library))


def check_resolve(host: Any, port: Any, flags: int, frame: FrameType | None) -> bool:
    """Refuse resolving a name the policy would not let a connection reach (so that an offline
    run fails at once, not after a DNS timeout). Returns whether the name is an allowed host's."""
    if host is None or flags & socket.AI_PASSIVE:
        return False  # a server binding, not a connection
    name = (host.decode("ascii", "replace") if isinstance(host, bytes) else str(host)).lower()
    if _forwarding.get() or name in _cleared_names:
        return False
    guarded, session = network_policy.guard_scope()
    if not guarded:
        return False
    if network_policy.allowed_explicitly(name, session):
        return True  # its addresses are allowed too
    if network_policy.lets_through(name, session) or name == socket.gethostname().lower():
        return False  # loopback, or this machine's own name: the connection is checked by address
    refusal = _refusal(name, port if isinstance(port, int) else None, session, likely_library(frame))
    journal.add(Connection(name, port if isinstance(port, int) else None, refused=True), refusal, session)
    raise refusal


def _remember(host: Any, result: Any) -> None:
    """An allowed name's addresses are allowed too (the connection sees only the address)."""
    name = host.decode("ascii", "replace") if isinstance(host, bytes) else str(host)
    for *_, sockaddr in result:
        journal.allowed_addresses[str(sockaddr[0])] = name


# -- the patches -------------------------------------------------------------------------------


def _guarded_connect(sock: socket.socket, address: Any) -> None:
    __tracebackhide__ = True
    check_connect(address, sys._getframe(1))
    REAL["connect"](sock, address)


def _guarded_connect_ex(sock: socket.socket, address: Any) -> int:
    __tracebackhide__ = True
    check_connect(address, sys._getframe(1))
    return int(REAL["connect_ex"](sock, address))


def _guarded_getaddrinfo(host: Any, port: Any, family: int = 0, type: int = 0, proto: int = 0, flags: int = 0) -> Any:
    __tracebackhide__ = True
    allowed_name = check_resolve(host, port, flags, sys._getframe(1))
    result = REAL["getaddrinfo"](host, port, family, type, proto, flags)
    if allowed_name:
        _remember(host, result)
    return result


async def _guarded_loop_getaddrinfo(loop: Any, host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
    # Decided here, in the task, where the forwarding context and the caller's stack are visible;
    # the resolution itself then runs in a thread pool, where the name is known to be cleared.
    __tracebackhide__ = True
    flags = kwargs.get("flags", args[3] if len(args) > 3 else 0)
    allowed_name = check_resolve(host, port, flags, sys._getframe(1))
    name = (host.decode("ascii", "replace") if isinstance(host, bytes) else str(host or "")).lower()
    with _cleared(name):
        result = await REAL["loop_getaddrinfo"](loop, host, port, *args, **kwargs)
    if allowed_name:
        _remember(host, result)
    return result


def install() -> None:
    """Patch the socket module and asyncio once (idempotent)."""
    with _lock:
        if REAL:
            return
        loop_cls = asyncio.base_events.BaseEventLoop
        REAL.update(
            connect=socket.socket.connect,
            connect_ex=socket.socket.connect_ex,
            getaddrinfo=socket.getaddrinfo,
            loop_getaddrinfo=loop_cls.getaddrinfo,
        )
        socket.socket.connect = _guarded_connect  # type: ignore[method-assign, assignment]
        socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign, assignment]
        socket.getaddrinfo = _guarded_getaddrinfo
        loop_cls.getaddrinfo = _guarded_loop_getaddrinfo  # type: ignore[method-assign, assignment]


def uninstall() -> None:
    with _lock:
        if not REAL:
            return
        socket.socket.connect = REAL["connect"]  # type: ignore[method-assign]
        socket.socket.connect_ex = REAL["connect_ex"]  # type: ignore[method-assign]
        socket.getaddrinfo = REAL["getaddrinfo"]
        asyncio.base_events.BaseEventLoop.getaddrinfo = REAL["loop_getaddrinfo"]  # type: ignore[method-assign]
        REAL.clear()
