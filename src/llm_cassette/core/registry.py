"""Which session answers a request made here.

The active session is found per context (a ContextVar), so concurrent tasks with different
cassettes each see their own. Threads and tasks that did not inherit the context (thread pools,
tasks started in an app's lifespan before the test) fall back to the most recently activated
session still open.
"""

from __future__ import annotations

import threading
from contextvars import ContextVar, Token
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .session import Session

_current: ContextVar[Session | None] = ContextVar("llm_cassette_session", default=None)
_open_sessions: list[Session] = []
_lock = threading.Lock()


def active_session() -> Session | None:
    """The session that should answer a request made in the current context, if any."""
    session = _current.get()
    if session is not None and session.is_active:
        return session
    if _open_sessions:
        return _open_sessions[-1]
    return None


def activate(session: Session) -> Token[Session | None]:
    with _lock:
        _open_sessions.append(session)
    session.is_active = True
    return _current.set(session)


def deactivate(session: Session, token: Token[Session | None] | None) -> None:
    with _lock:
        for i in range(len(_open_sessions) - 1, -1, -1):
            if _open_sessions[i] is session:
                del _open_sessions[i]
                break
        # A session shared by several holders (two threads on one file) stays active until the last.
        # (`in` compares by identity first, and a Session has no other equality.)
        session.is_active = session in _open_sessions
    if token is not None:
        try:  # noqa: SIM105 (not `contextlib.suppress`: an object per block, on every test's path)
            _current.reset(token)
        except ValueError:
            # Exited in another context than the one it was entered in (e.g. an async generator
            # fixture finalised elsewhere): that context simply keeps a now-inactive session.
            pass
