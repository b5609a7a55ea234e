"""A session: one cassette in one record mode, deciding what each request gets.

request → `Session.plan()` → replay a recorded interaction (or an injected fault), record a new
one, or refuse with `CassetteMiss` → at exit, save what the test used, atomically.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from . import _format
from ._errors import CassetteError, CassetteMiss
from ._matching import MatchOn, MatchRules, closeness, differences
from ._models import CassetteData, Interaction, Request
from ._recording import Recording
from ._redaction import Redactor
from .faults import Fault, drop_interaction, error_fault_interaction, http_fault_interaction


class RecordMode(str, Enum):
    """What happens to requests the cassette does not hold (see the README's table)."""

    NONE = "none"
    ONCE = "once"
    NEW_EPISODES = "new_episodes"
    ALL = "all"

    @classmethod
    def parse(cls, value: str | RecordMode, source: str = "record_mode") -> RecordMode:
        if isinstance(value, RecordMode):
            return value
        try:
            return cls(str(value).strip().lower())
        except ValueError:
            choices = ", ".join(m.value for m in cls)
            raise CassetteError(f"{source}: unknown record mode {value!r} (choose one of {choices})") from None


# Statuses after which SDKs back off before retrying; replayed with a near-zero `retry-after-ms`.
RETRYABLE_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504, 529})

OPTION_NAMES = frozenset(
    {
        "record_mode",
        "match_on",
        "ignore_body_fields",
        "ignore_hosts",
        "allow_playback_repeats",
        "replay_timing",
        "keep_retry_headers",
        "faults",
        "read_only",
        "redact_headers",
        "redact_query_keys",
        "redact_json_fields",
        "redact_values",
        "before_record_request",
        "before_record_response",
    }
)


def check_options(options: dict[str, Any], where: str) -> None:
    unknown = sorted(set(options) - OPTION_NAMES)
    if unknown:
        raise CassetteError(
            f"{where}: unknown option{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))} "
            f"(known options: {', '.join(sorted(OPTION_NAMES))})"
        )


@dataclass
class Plan:
    """What the interceptor does with one request."""

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
        record_mode: str | RecordMode = RecordMode.NONE,
        *,
        match_on: MatchOn | None = None,
        ignore_body_fields: Iterable[str] = (),
        ignore_hosts: Iterable[str] = (),
        allow_playback_repeats: bool = False,
        replay_timing: float | bool | None = None,
        keep_retry_headers: bool = False,
        faults: Sequence[Fault] = (),
        redact_headers: Iterable[str] = (),
        redact_query_keys: Iterable[str] = (),
        redact_json_fields: Iterable[str] = (),
        redact_values: Iterable[str] = (),
        before_record_request: Any = None,
        before_record_response: Any = None,
        rerecord_hint: str | None = None,
        accumulate: bool = False,
        keep_unused: bool = False,
        read_only: bool = False,
    ) -> None:
        self.path = Path(path)
        # A read-only cassette (say, one borrowed by a fault-injection test) is never written,
        # whatever the record mode asked for on the command line.
        self.read_only = read_only
        self.record_mode = RecordMode.NONE if read_only else RecordMode.parse(record_mode)
        self.rules = MatchRules.build(match_on, ignore_body_fields)
        self.ignore_hosts = frozenset(h.lower() for h in ignore_hosts)
        self.allow_playback_repeats = allow_playback_repeats
        if replay_timing is True:
            replay_timing = 1.0
        self.replay_timing = float(replay_timing) if replay_timing else 0.0
        self.keep_retry_headers = keep_retry_headers
        for f in faults:
            if not isinstance(f, Fault):
                raise CassetteError(f"faults must be built with llm_cassette.faults (got {f!r})")
        self.faults = tuple(faults)
        self.redactor = Redactor.build(
            headers=redact_headers,
            query_keys=redact_query_keys,
            json_fields=redact_json_fields,
            values=redact_values,
        )
        self.before_record_request = before_record_request
        self.before_record_response = before_record_response
        self.rerecord_hint = rerecord_hint or (
            "run again with record_mode='new_episodes' (or LLM_CASSETTE_RECORD_MODE=new_episodes) to record "
            "what is missing, or 'all' to record the cassette from scratch"
        )
        # Another test of this run already recorded into this file (a shared cassette name): add to
        # what it wrote instead of replacing it.
        self.accumulate = accumulate
        # A cassette several tests share by name: what one test does not use belongs to another.
        self.keep_unused = keep_unused
        self._kept: list[Interaction] = []

        self.existed = False
        self.loaded: list[Interaction] = []
        self.requests: list[Request] = []
        self.misses: list[CassetteMiss] = []
        self.play_count = 0
        self.passthrough_count = 0
        self._entries: list[Interaction | Recording] = []
        self._used: set[int] = set()
        self._last_match: dict[tuple[object, ...], int] = {}
        self._index: dict[tuple[object, ...], list[int]] = {}
        self._known_keys: dict[tuple[str, str, bytes], tuple[object, ...]] = {}
        self._fault_calls: dict[int, int] = {}
        self._lock = threading.Lock()
        self._open = False
        self.is_active = False

    # -- lifecycle -----------------------------------------------------------------------------

    def open(self) -> None:
        """Load the cassette (when the mode replays) and build the match index."""
        self.existed = self.path.exists()
        if self.accumulate and self.record_mode is RecordMode.ONCE:
            self.record_mode = RecordMode.NEW_EPISODES  # the file is this run's own, not a prior recording
        if self.existed and self.record_mode is not RecordMode.ALL:
            data = _format.load(self.path)
            self.loaded = list(data.interactions)
            self._index, self._known_keys = _index_for(data, self.rules)
        elif self.existed and self.accumulate:
            self._kept = list(_format.load(self.path).interactions)
        self._open = True

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
        if self.replays_only or not self._entries:
            return list(self.loaded) if self.replays_only else []
        out: list[Interaction] = []
        for e in self._entries:  # redacted and hooked exactly as they will be saved
            it = self._finalize(e) if isinstance(e, Recording) else e
            if it is not None:
                out.append(it)
        return out

    @property
    def played_interactions(self) -> list[Interaction]:
        """Recorded interactions this session replayed, in file order."""
        return [self.loaded[i] for i in sorted(self._used)]

    @property
    def unused_interactions(self) -> list[tuple[int, Interaction]]:
        """Recorded interactions this session never replayed (index in the file, interaction)."""
        return [(i, it) for i, it in enumerate(self.loaded) if i not in self._used]

    def close(self, *, failed: bool = False, skipped: bool = False) -> bool:
        """Save what the session recorded, if anything should change on disk. Returns True if saved.

        A session that sent no request at all (a skipped test, a test that stopped before its
        first call) leaves the file as it is.
        """
        if not self._open or not self.records:
            return False
        self._open = False
        if skipped or not self.requests:
            return False
        with self._lock:
            entries = list(self._entries)
        recorded = any(isinstance(e, Recording) for e in entries)
        if self.record_mode is RecordMode.ALL and failed and self.existed and not self.accumulate:
            return False  # an interrupted re-recording is partial: the previous cassette stays
        if self._kept:
            entries = [*self._kept, *entries]
        if self.record_mode is RecordMode.NEW_EPISODES and (failed or self.accumulate or self.keep_unused):
            # A failing test may not have sent everything: never drop recordings on a failure; and
            # what earlier tests of this run recorded into a shared cassette stays, first.
            unused = [it for i, it in enumerate(self.loaded) if i not in self._used]
            entries = [*unused, *entries] if self.accumulate else [*entries, *unused]
        elif self.record_mode is RecordMode.NEW_EPISODES and not recorded and len(entries) == len(self.loaded):
            return False  # nothing new and nothing dropped
        if not entries and not self.existed:
            return False
        out: list[Interaction] = []
        for e in entries:
            if isinstance(e, Recording):
                it = self._finalize(e)
                if it is not None:
                    out.append(it)
            else:
                out.append(e)
        _format.save(self.path, CassetteData(interactions=out))
        return True

    def _finalize(self, rec: Recording) -> Interaction | None:
        it = self.redactor.redact_interaction(rec.to_interaction())
        if self.before_record_request is not None:
            new_req = self.before_record_request(it.request)
            if new_req is None:
                return None
            it = Interaction(request=new_req, response=it.response, error=it.error)
        if self.before_record_response is not None and it.response is not None:
            new_resp = self.before_record_response(it.response)
            if new_resp is None:
                return None
            it = Interaction(request=it.request, response=new_resp)
        return it

    # -- one request ---------------------------------------------------------------------------

    def plan(self, request: Request) -> Plan:
        """Decide what `request` gets. Raises `CassetteMiss` when nothing may answer it."""
        __tracebackhide__ = True
        if self.ignore_hosts and (urlsplit(request.url).hostname or "").lower() in self.ignore_hosts:
            with self._lock:
                self.passthrough_count += 1
            return Plan("passthrough")
        with self._lock:
            self.requests.append(request)
            fault_plan = self._fault_plan(request)
            if fault_plan is not None:
                return fault_plan
            if self.record_mode is not RecordMode.ALL:
                found = self._match(request)
                if found is not None:
                    self._use(found)
                    return Plan("replay", interaction=self.loaded[found], index=found)
            if self.records:
                rec = Recording(request)
                self._entries.append(rec)
                return Plan("record", recording=rec)
            miss = CassetteMiss(self._miss_message(request))
            self.misses.append(miss)
        raise miss

    def _use(self, index: int) -> None:
        self._used.add(index)
        self._entries.append(self.loaded[index])
        self.play_count += 1

    def _match(self, request: Request) -> int | None:
        view = self.redactor.request_for_matching(request)
        # A request sent byte for byte as recorded (the usual case) skips parsing and canonicalising.
        key = self._known_keys.get((view.method, view.url, view.body))
        if key is None:
            key = self.rules.key(view)
        candidates = self._index.get(key, ())
        custom = self.rules.custom
        for i in candidates:
            if i not in self._used and (not custom or self.rules.custom_match(view, self.loaded[i].request)):
                self._last_match[key] = i
                return i
        if self.allow_playback_repeats and key in self._last_match:
            i = self._last_match[key]
            self._used.discard(i)
            return i
        return None

    def _fault_plan(self, request: Request) -> Plan | None:
        # Every fault counts every request it watches, whether or not an earlier fault answers it.
        hit: Fault | None = None
        for fi, fault in enumerate(self.faults):
            if not fault.counts(request):
                continue
            n = self._fault_calls.get(fi, 0) + 1
            self._fault_calls[fi] = n
            if hit is None and fault.applies(n):
                hit = fault
        for fault in (hit,) if hit is not None else ():
            if fault.kind == "http":
                return Plan("replay", interaction=http_fault_interaction(fault, request))
            if fault.kind == "error":
                return Plan("replay", interaction=error_fault_interaction(fault, request))
            found = self._match(request) if self.record_mode is not RecordMode.ALL else None
            if found is None:
                if self.records:
                    rec = Recording(request)
                    self._entries.append(rec)
                    return Plan("record", recording=rec, drop_after=fault.after_chunks)
                raise self._record_miss(request, "a `drop` fault needs a recorded response to cut")
            self._use(found)
            return Plan("replay", interaction=drop_interaction(fault, self.loaded[found]), index=found)
        return None

    def _record_miss(self, request: Request, why: str) -> CassetteMiss:
        miss = CassetteMiss(self._miss_message(request, why))
        self.misses.append(miss)
        return miss

    # -- explaining a miss ---------------------------------------------------------------------

    def _miss_message(self, request: Request, why: str | None = None) -> str:
        lines = [f"llm-cassette: no recorded interaction matches this request ({self.record_mode.value} mode)"]
        lines.append(f"  cassette: {self.path}")
        # The message lands in CI logs: show the request as it would be recorded, secrets redacted.
        shown = self.redactor.request_for_matching(request)
        lines.append(f"  request:  {request.method} {shown.url}")
        if request.body:
            body = shown.body[:300].decode("utf-8", "replace")
            lines.append(f"            {body}{'…' if len(request.body) > 300 else ''}")
        if why:
            lines.append(f"  why:      {why}")
        elif not self.existed:
            lines.append("  why:      the cassette file does not exist")
        elif not self.loaded:
            lines.append("  why:      the cassette holds no interactions")
        else:
            view = self.redactor.request_for_matching(request)
            key = self.rules.key(view)
            same = [i for i in self._index.get(key, ()) if self.rules.custom_match(view, self.loaded[i].request)]
            if same:
                lines.append(
                    f"  why:      this request was recorded {len(same)} time(s) and the test sent it again "
                    "(set allow_playback_repeats=True to replay the last one)"
                )
            else:
                best = max(range(len(self.loaded)), key=lambda i: closeness(self.rules, view, self.loaded[i].request))
                rec = self.loaded[best].request
                lines.append(f"  closest:  interaction #{best + 1}: {rec.method} {rec.url}")
                for d in differences(self.rules, view, rec):
                    lines.append(f"  differs:  {d}")
        lines.append(f"To re-record: {self.rerecord_hint}")
        return "\n".join(lines)


_index_lock = threading.Lock()


def _index_for(
    data: CassetteData, rules: MatchRules
) -> tuple[dict[tuple[object, ...], list[int]], dict[tuple[str, str, bytes], tuple[object, ...]]]:
    """The match index of a (cached, shared) cassette, itself cached per match rules.

    Also returns the match key of every recorded (method, URL, body), so that a request sent
    exactly as recorded finds its key with one hash lookup (empty when keys involve headers).
    """
    cache_key = (rules.match_on, rules.ignore_body_fields)
    with _index_lock:
        hit = data.index_cache.get(cache_key)
    if hit is not None:
        return hit  # type: ignore[return-value]
    index: dict[tuple[object, ...], list[int]] = {}
    known: dict[tuple[str, str, bytes], tuple[object, ...]] = {}
    for i, it in enumerate(data.interactions):
        req = it.request
        key = rules.key(req)
        index.setdefault(key, []).append(i)
        if rules.keyed_by_method_url_body:
            known[req.method, req.url, req.body] = key
    with _index_lock:
        data.index_cache[cache_key] = (index, known)
    return index, known
