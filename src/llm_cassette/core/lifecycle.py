"""One lifecycle for every door: open and activate a session, then deactivate, save, and say
whether a miss the code under test swallowed must still fail the caller.

The pytest plugin and `use_cassette` both run a cassette through `ActiveCassette`; the HTTP
stacks are installed by the door before `start()` (the core never imports them).
"""

from __future__ import annotations

from contextvars import Token

from ..errors import CassetteMiss
from .registry import activate, deactivate
from .session import Session


class ActiveCassette:
    """A session from `start()` to `stop()`."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._token: Token[Session | None] | None = None
        self.saved = False

    def start(self) -> None:
        """Load the cassette and make it answer this context's requests (and stray threads')."""
        self.session.open()
        self._token = activate(self.session)

    def stop(self, *, failed: bool = False, skipped: bool = False) -> bool:
        """Stop answering requests and save what the record mode keeps. Returns True if saved."""
        deactivate(self.session, self._token)
        self._token = None
        self.saved = self.session.close(failed=failed, skipped=skipped)
        return self.saved

    @property
    def first_miss(self) -> CassetteMiss | None:
        """The first request that matched nothing, if any: the caller fails with it even when the
        code under test caught it (an app turning it into a 503 must not pass)."""
        return self.session.misses[0] if self.session.misses else None
