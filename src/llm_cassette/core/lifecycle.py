"""One lifecycle for every door: open and activate a session, then deactivate, save, and say
whether a miss the code under test swallowed must still fail the caller.

The pytest plugin and `use_cassette` both run a cassette through `ActiveCassette`; the HTTP
stacks are installed by the door before `start()` (the core never imports them).

Two guarantees live here because they span sessions:

- one file, one recording: a second session that would record into a file another open session
  records too (nested blocks, two threads, the marker and a block in one test) shares that
  session when its options are the same, so both recordings are saved together, once; with
  other options it is refused (`CassetteError`), never left to overwrite the first one's save.
- nothing open is lost at exit: `stop_all()` closes every session still running as interrupted
  (the plugin calls it on Ctrl-C, when pytest skips per-test teardown); an `atexit` hook does
  the same for scripts whose threads still hold a session when the interpreter stops.
"""

from __future__ import annotations

import atexit
import contextlib
import threading
from contextvars import Token
from dataclasses import dataclass

from ..errors import CassetteError, CassetteMiss, NetworkBlocked
from .network import journal
from .registry import activate, deactivate
from .session import Session


@dataclass
class _OpenFile:
    """A cassette file an open, recording session holds, and how many `ActiveCassette`s share it."""

    session: Session
    holders: int = 1
    failed: bool = False
    skipped: bool = True


_files: dict[str, _OpenFile] = {}
_running: list[ActiveCassette] = []
_lock = threading.RLock()
_atexit_registered = False


def _file_key(session: Session) -> str:
    return session.file_key


class ActiveCassette:
    """A session from `start()` to `stop()`."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._token: Token[Session | None] | None = None
        self._misses_before = 0
        self._stopped = False
        self.saved = False
        self._network_mark = journal.mark()

    def start(self) -> None:
        """Load the cassette and make it answer this context's requests (and stray threads').

        Joins the session already recording into the same file when the options are the same;
        raises `CassetteError` when they differ.
        """
        with _lock:
            # Only recording sessions are held by file: with none open, there is nothing to join
            # (and no path to resolve, which costs a system call per folder).
            held = _files.get(_file_key(self.session)) if _files else None
            if held is not None and held.session.is_open and held.session.options == self.session.options:
                held.holders += 1
                self.session = held.session
                self._misses_before = len(self.session.misses)
            else:
                self.session.open()
                if self.session.records:
                    if held is not None and held.session.is_open:
                        # A session that only replays never writes and may read beside it; this one would.
                        raise CassetteError(_conflict_message(held.session, self.session))
                    _files[_file_key(self.session)] = _OpenFile(self.session)
            _running.append(self)
            self._network_mark = journal.mark()
            _register_atexit()
        self._token = activate(self.session)

    def stop(self, *, failed: bool = False, skipped: bool = False) -> bool:
        """Stop answering requests and save what the record mode keeps. Returns True if saved.

        A session shared by several holders is saved when the last one stops (as failed if any
        of them failed). Stopping twice does nothing the second time, unless the first stop was
        interrupted before the save completed.
        """
        if self._token is not None:
            deactivate(self.session, self._token)
            self._token = None
        with _lock:
            if self._stopped:
                return self.saved
            # Empty: this session was never held (only its own start adds it), nor can be later.
            key = _file_key(self.session) if _files else None
            held = _files.get(key) if key is not None else None
            if held is not None and held.session is self.session:
                held.failed = held.failed or failed
                held.skipped = held.skipped and skipped
                if held.holders > 1:
                    held.holders -= 1
                    self._finish()
                    return False
                failed, skipped = held.failed, held.skipped
        self.saved = self.session.close(failed=failed, skipped=skipped)
        with _lock:
            if key is not None and _files.get(key) is not None and _files[key].session is self.session:
                del _files[key]
            self._finish()
        return self.saved

    def _finish(self) -> None:
        self._stopped = True
        if self in _running:
            _running.remove(self)

    @property
    def first_miss(self) -> CassetteMiss | None:
        """The first request that matched nothing since this holder started, if any: the caller
        fails with it even when the code under test caught it (an app turning it into a 503
        must not pass)."""
        misses = self.session.misses
        return misses[self._misses_before] if len(misses) > self._misses_before else None

    def claim_refusal(self) -> NetworkBlocked | None:
        """The first connection the network guard refused while this cassette was active, if any:
        like a miss, it fails the caller even when the code under test caught it."""
        refusals = journal.claim_refusals(self._network_mark, (self.session,))
        return refusals[0] if refusals else None


def running() -> list[ActiveCassette]:
    """Every cassette started and not yet stopped, oldest first."""
    with _lock:
        return list(_running)


def stop_all() -> list[tuple[Session, bool]]:
    """Stop every running cassette as interrupted (newest first): (session, saved) for each file.

    What completed is saved, an open stream is stored cut where it stands, and a partial
    re-recording (`all` mode) leaves the previous cassette in place, as for a failed test.
    """
    done: list[tuple[Session, bool]] = []
    for active in reversed(running()):
        saved = active.stop(failed=True)
        if active.session not in (s for s, _ in done):
            done.append((active.session, saved))
    return done


def _register_atexit() -> None:
    global _atexit_registered
    if not _atexit_registered:
        atexit.register(_stop_all_at_exit)
        _atexit_registered = True


def _stop_all_at_exit() -> None:
    # A failed save already said where the recording went; nothing more can be done at exit.
    with contextlib.suppress(CassetteError):
        stop_all()


def _conflict_message(holder: Session, second: Session) -> str:
    def mode(s: Session) -> str:
        return (s.options.record_mode or s.record_mode).value

    return (
        f"{second.path}: already open for recording by another session ({mode(holder)} mode); a second "
        f"session with other options ({mode(second)} mode) would overwrite one recording with the "
        "other. Use one session around both, give them the same options to share it, or another file."
    )
