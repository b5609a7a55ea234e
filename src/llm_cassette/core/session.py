"""A session: one cassette in one record mode, deciding what each request gets, and what is saved.

request → `Session.plan()` → replay a recorded interaction (or an injected fault), record a new
one, or refuse with `CassetteMiss` → at close, the save policy decides what the file holds.
"""

from __future__ import annotations

import functools
import os
import stat
import tempfile
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

from .. import storage
from ..errors import CassetteError, CassetteMiss
from ..faults import NO_FAULTS, FaultSet, drop_interaction
from .interactions import InteractionList
from .matchers import MatchRules
from .miss import DEFAULT_HINT, miss_message
from .models import CassetteData, Interaction, Request, header_map
from .options import CassetteOptions, RecordMode
from .recording import Recording
from .redaction import Redactor
from .replay import SESSION_HEADERS, answer_for, shorten_backoff
from .volatile_headers import strip_volatile_headers

_ALL = RecordMode.ALL  # a module global: an enum member is a descriptor lookup on its class
_PATH = type(Path())
_SESSION_HEADERS = frozenset(SESSION_HEADERS)  # sent: the answer carries the same (`answer_for`)


@dataclass(frozen=True)
class SaveContext:
    """What the door that opened a session knows about its file, beyond the options."""

    #: How to re-record, as the miss message says it.
    rerecord_hint: str = DEFAULT_HINT
    #: How to record a cassette never recorded (no file, or no interactions); None: `rerecord_hint`.
    record_hint: str | None = None
    #: Another session of this run already recorded into this file: add to what it wrote.
    appends_to_run: bool = False
    #: Other tests use (or may use) this file: what this one does not use belongs to another.
    shared: bool = False
    #: Every test that uses this file runs in this run, so an `all` re-recording may start it afresh.
    #: False when the run was narrowed (one test by node id, `--lf`, `-k`): the others' stay.
    all_users_run: bool = True


@dataclass(frozen=True)
class BodyDrift:
    """A replayed interaction whose recorded request body differs from the one sent."""

    index: int
    recorded: Request
    differences: tuple[str, ...]


@dataclass(slots=True)
class Plan:
    """What the stack adapter does with one request."""

    kind: str  # "replay" | "record" | "passthrough"
    interaction: Interaction | None = None
    recording: Recording | None = None
    index: int | None = None
    # Record the whole response, but let the caller see only this many chunks, then a dropped connection.
    drop_after: int | None = None


class Session:
    """One cassette, active for the duration of a test or a `use_cassette` block."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        options: CassetteOptions,
        context: SaveContext = SaveContext(),
    ) -> None:
        self.path = path if type(path) is _PATH else Path(path)  # immutable: no copy to make
        self.options = options
        self.context = context
        # A read-only cassette (say, one borrowed by a fault-injection test) is never written,
        # whatever the record mode asked for on the command line.
        self.record_mode = RecordMode.NONE if options.read_only else options.record_mode or RecordMode.NONE
        self.rules = MatchRules.build(options.match_on, options.ignore_body_fields)
        self.faults = FaultSet(options.faults) if options.faults else NO_FAULTS
        self.redactor = Redactor.build(
            headers=options.redact_headers,
            query_keys=options.redact_query_keys,
            json_fields=options.redact_json_fields,
            values=options.redact_values,
        )
        self.existed = False
        self.recorded = InteractionList(None, self.rules)
        self.requests: list[Request] = []
        self.misses: list[CassetteMiss] = []
        self.play_count = 0
        self.passthrough_count = 0
        #: Replays whose request body differs from the recording's: they match only because
        #: `match_on` leaves the body out (say, `match_on="vcrpy"`), and miss once it does not.
        self.body_drift: list[BodyDrift] = []
        self._drift_rule = self.rules.drift_rule
        # Decided once, from the options: no fault to count, and no retry header to keep.
        self._faulted = bool(options.faults)
        self._shorten = not options.keep_retry_headers
        # Whether a request is matched as sent whenever its URL has no query or credentials and
        # its body is not compressed (what `view` would then return): nothing to redact, no
        # rule reading headers, no hook or ignored host to consult first, no body drift to note.
        redactor = self.redactor
        self._as_sent = not (
            options.ignore_hosts
            or options.before_record_request is not None
            or self._drift_rule is not None
            or self.rules.reads_headers
            or redactor.values
            or redactor.json_fields
        )
        self._kept: list[Interaction] = []  # `all` mode appending to this run's own recording
        self._entries: list[Interaction | Recording] = []
        self._finalized: dict[int, Interaction | None] = {}
        self._lock = threading.Lock()
        self._open = False
        self.is_active = False

    # -- lifecycle -----------------------------------------------------------------------------

    def open(self) -> None:
        """Load the cassette (when the mode replays) and build the match index.

        A path that is not a cassette file (a folder, a FIFO...) is refused here, before the code
        under test sends anything that could not be saved.
        """
        status = _file_status(self.path)
        self.existed = status is not None
        if self.context.appends_to_run and self.record_mode is RecordMode.ONCE:
            self.record_mode = RecordMode.NEW_EPISODES  # the file is this run's own, not a prior recording
        if status is not None and self.record_mode is not RecordMode.ALL:
            data = storage.load(self.path, status=status)  # one system call per start, not two
            self.recorded = InteractionList(data, self.rules, allow_repeats=self.options.allow_playback_repeats)
        elif status is not None and (self.context.appends_to_run or not self.context.all_users_run):
            # Re-recording into a file that holds others' interactions too: they stay.
            self._kept = list(storage.load(self.path, status=status).interactions)
        self._open = True

    @functools.cached_property
    def file_key(self) -> str:
        """The file's absolute path with symlinks resolved: one key for every spelling of it
        (resolved once: a start and its stop agree even if a link changes in between)."""
        return str(self.path.absolute().resolve())

    @property
    def replays_only(self) -> bool:
        return self.record_mode is RecordMode.NONE or (self.record_mode is RecordMode.ONCE and self.existed)

    @property
    def records(self) -> bool:
        return not self.replays_only

    @property
    def recorded_count(self) -> int:
        return sum(1 for e in self._entries if isinstance(e, Recording))

    @property
    def interactions(self) -> list[Interaction]:
        """What the cassette holds now: as loaded when replaying, what would be saved when recording."""
        if self.replays_only:
            return list(self.recorded.items)
        out: list[Interaction] = []
        for e in list(self._entries):  # redacted and hooked exactly as they will be saved
            it = self._finalize(e) if isinstance(e, Recording) else e
            if it is not None:
                out.append(it)
        return out

    def close(self, *, failed: bool = False, skipped: bool = False) -> bool:
        """Save what the session recorded, if anything should change on disk. Returns True if saved.

        A session that sent no request at all (a skipped test, a test that stopped before its
        first call) leaves the file as it is.
        """
        if not self._open or not self.records:
            return False
        if skipped or not self.requests:
            self._open = False
            return False
        with self._lock:
            entries = list(self._entries)
        to_save = self._to_save(entries, failed=failed)
        if to_save is None:
            self._open = False
            return False
        out = [it for it in (self._finalize(e) if isinstance(e, Recording) else e for e in to_save) if it is not None]
        self._save(CassetteData(interactions=out))
        # Closed only once saved: a Ctrl-C during the save leaves the session open for the
        # interrupted run's own close to save again.
        self._open = False
        return True

    @property
    def is_open(self) -> bool:
        """Opened and not yet closed (what it recorded is not on disk yet)."""
        return self._open

    def _save(self, data: CassetteData) -> None:
        try:
            storage.save(self.path, data)
        except OSError as exc:
            # Never lose a recording to a file system problem: keep it where it can be copied back.
            self._open = False
            reason = exc.strerror or str(exc)
            try:
                kept = _unsaved_copy(self.path, data)
            except OSError:
                raise CassetteError(f"{self.path}: cannot save: {reason}") from exc
            raise CassetteError(
                f"{self.path}: cannot save: {reason}; the recording is kept in {kept} "
                "(move it into place once the path is fixed)"
            ) from exc

    def _to_save(self, entries: list[Interaction | Recording], *, failed: bool) -> list[Interaction | Recording] | None:
        """The save policy: what the file holds after this session, or None to leave it alone."""
        mode, ctx = self.record_mode, self.context
        recorded = any(isinstance(e, Recording) for e in entries)
        if mode is RecordMode.ALL and failed and self.existed and not ctx.appends_to_run:
            return None  # an interrupted re-recording is partial: the previous cassette stays
        if self._kept:
            # `all` into a file this run or other tests filled: what this session re-recorded
            # replaces their copies of the same requests; everything else stays, first.
            again = {self.rules.key(self.redactor.request_for_matching(e.request)) for e in entries}
            kept = [it for it in self._kept if self.rules.key(it.request) not in again]
            entries = [*kept, *entries]
        if mode is RecordMode.NEW_EPISODES and (failed or ctx.appends_to_run or ctx.shared):
            # A failing test may not have sent everything: never drop recordings on a failure; and
            # what earlier tests of this run recorded into a shared cassette stays, first.
            unused = [it for _, it in self.recorded.unused]
            entries = [*unused, *entries] if ctx.appends_to_run else [*entries, *unused]
        elif mode is RecordMode.NEW_EPISODES and not recorded and len(entries) == len(self.recorded):
            return None  # nothing new and nothing dropped
        if not entries and not self.existed:
            return None
        return entries

    def _finalize(self, rec: Recording) -> Interaction | None:
        """A recording as it will be stored: redacted, then through the user's hooks (once)."""
        done = rec.finished
        if done and id(rec) in self._finalized:
            return self._finalized[id(rec)]
        it: Interaction | None = self.redactor.redact_interaction(rec.to_interaction())
        if it is not None and not self.options.keep_volatile_headers:
            it = replace(it, request=strip_volatile_headers(it.request))
        hook_req, hook_resp = self.options.before_record_request, self.options.before_record_response
        if it is not None and hook_req is not None:
            new_req = hook_req(it.request)
            it = None if new_req is None else replace(it, request=new_req)
        if it is not None and hook_resp is not None and it.response is not None:
            new_resp = hook_resp(it.response)
            it = None if new_resp is None else replace(it, response=new_resp)
        if done:
            self._finalized[id(rec)] = it
        return it

    # -- one request ---------------------------------------------------------------------------

    def plan(self, request: Request) -> Plan:
        """Decide what `request` gets. Raises `CassetteMiss` when nothing may answer it."""
        __tracebackhide__ = True
        url = request.url
        sent_headers = header_map(request.headers)
        view: Request | None
        if self._as_sent and "?" not in url and "@" not in url and "content-encoding" not in sent_headers:
            view = request  # matched as `view` would (only headers no rule reads differ), never passed through
        else:
            ignore = self.options.ignore_hosts
            view = self.view(request)
            hook = self.options.before_record_request
            if view is not None and hook is not None:
                view = hook(view)  # vcrpy's meaning: what the hook returns is what is matched
            if view is None or (ignore and (urlsplit(url).hostname or "").lower() in ignore):
                with self._lock:
                    self.passthrough_count += 1
                return Plan("passthrough")
        lock = self._lock
        lock.acquire()  # not `with`: one request's bookkeeping, and the plan's hot path
        try:
            self.requests.append(request)
            fault = self.faults.hit(request) if self._faulted else None
            if fault is not None and fault.kind != "drop":  # an injected failure is there to be retried
                answer = FaultSet.answer(fault, request)
                return Plan("replay", shorten_backoff(answer) if self._shorten else answer)
            recorded = self.recorded
            found = recorded.take(view) if self.record_mode is not _ALL else None
            if found is not None:
                interaction = recorded.items[found]
                self._entries.append(interaction)
                self.play_count += 1
                if self._drift_rule is not None:
                    self._note_drift(found, view)
                with_ids = found in recorded.with_ids
                if with_ids or not _SESSION_HEADERS.isdisjoint(sent_headers):
                    interaction = answer_for(interaction, request, with_ids=with_ids)
                if fault is not None:  # `drop`: the recorded response, cut
                    interaction = drop_interaction(fault, interaction)
                if self._shorten and found in recorded.retried:
                    interaction = shorten_backoff(interaction)
                return Plan("replay", interaction, None, found)
            if self.records:
                rec = Recording(request)
                self._entries.append(rec)
                return Plan("record", None, rec, None, fault.after_chunks if fault is not None else None)
            why = "a `drop` fault needs a recorded response to cut" if fault is not None else None
            miss = CassetteMiss(self.miss_message(request, why))
            self.misses.append(miss)
        finally:
            lock.release()
        raise miss

    def _note_drift(self, found: int, view: Request) -> None:
        assert self._drift_rule is not None
        recorded = self.recorded.items[found].request
        differs = self._drift_rule.explain(view, recorded)
        if differs:
            self.body_drift.append(BodyDrift(found, recorded, tuple(differs)))

    def view(self, request: Request) -> Request:
        """`request` as matching sees it: decoded and redacted as recordings are stored (its
        headers too, when a rule reads them: redacted is compared to redacted)."""
        view = self.redactor.request_for_matching(request, headers=self.recorded.rules.reads_headers)
        # compared as stored: without the headers that are not stored (for `match_on=["headers"]`)
        return view if self.options.keep_volatile_headers else strip_volatile_headers(view)

    def miss_message(self, request: Request, why: str | None = None) -> str:
        return miss_message(
            path=self.path,
            mode=self.record_mode,
            request=request if self.options.keep_volatile_headers else strip_volatile_headers(request),
            redactor=self.redactor,
            recorded=self.recorded,
            existed=self.existed,
            hint=self.context.rerecord_hint,
            why=why,
            record_hint=self.context.record_hint,
            read_only=self.options.read_only,
        )


def _file_status(path: Path) -> os.stat_result | None:
    """The cassette file's `os.stat`, None when there is none; a `CassetteError` when something
    else is in its place."""
    try:
        status = os.stat(path)  # what `path.stat()` does, without pathlib's wrapper
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise CassetteError(f"{path}: cannot use as a cassette: {exc.strerror or exc}") from None
    if stat.S_ISDIR(status.st_mode):
        raise CassetteError(
            f"{path}: is a folder, not a cassette file (name the cassette differently, or move the folder)"
        )
    if not stat.S_ISREG(status.st_mode):
        raise CassetteError(f"{path}: not a regular file (a device, a FIFO or a socket cannot be a cassette)")
    return status


UNSAVED_DIR = "llm-cassette-unsaved"


def _unsaved_copy(path: Path, data: CassetteData) -> Path:
    """Write a recording that could not be saved at `path` to the temporary folder instead."""
    folder = Path(tempfile.gettempdir()) / UNSAVED_DIR
    folder.mkdir(exist_ok=True)
    target = folder / f"{path.stem}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}{path.suffix or '.yaml'}"
    storage.atomic_write(target, storage.dumps(data))
    return target
