"""One lifecycle for every door: open and activate a session, then deactivate, save, and say
whether a miss the code under test swallowed must still fail the caller.

The pytest plugin and `use_cassette` both run a cassette through `ActiveCassette`; the HTTP
stacks are installed by the door before `start()` (the core never imports them).
"""

from __future__ import annotations

from contextvars import Token

from ..errors import CassetteMiss, NetworkBlocked
from .network import journal
from .registry import activate, deactivate
from .session import Session


class ActiveCassette:
    """A session from `start()` to `stop()`."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._token: Token[Session | None] | None = None
        self.saved = False
        self._network_mark = journal.mark()

    def start(self) -> None:
        """Load the cassette and make it answer this context's requests (and stray threads')."""
        self.session.open()
        self._network_mark = journal.mark()
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

    def claim_refusal(self) -> NetworkBlocked | None:
        """The first connection the network guard refused while this cassette was active, if any:
        like a miss, it fails the caller even when the code under test caught it."""
        refusals = journal.claim_refusals(self._network_mark, (self.session,))
        return refusals[0] if refusals else None
