"""The recorded interactions of a cassette as a test replays them: which one answers a request,
which were used, repeats, and what was never used.

Identical requests replay in recorded order: each recorded copy answers once, then (with
`allow_playback_repeats`) the last one again.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

from . import jsonrpc
from .matchers import MatchRules
from .models import CassetteData, Interaction, Request

Key = tuple[object, ...]
Index = dict[Key, list[int]]
KnownKeys = dict[tuple[str, str, bytes], Key]

_index_lock = threading.Lock()


@dataclass(frozen=True)
class MatchIndex:
    """What matching needs of a cassette's interactions, built once per (cached, shared) cassette
    and match rules: every session that replays it starts from here."""

    #: The recordings of each match key, in file order.
    keys: Index
    #: The match key of every recorded (method, URL, body), so that a request sent exactly as
    #: recorded finds its key with one hash lookup (empty when keys involve headers).
    known: KnownKeys
    #: Recordings followed, later in the file, by the same request: the client retried them.
    retried: frozenset[int]
    #: Recordings of JSON-RPC requests with ids: their answers carry the ids actually sent
    #: (`replay.answer_for`); any other replays its response as recorded.
    with_ids: frozenset[int]
    #: False for a cassette whose recordings are all one request, byte for byte (`_one_request`):
    #: its key is not computed, so `keys` holds it under `ONE_REQUEST`, and only a request sent
    #: exactly as recorded can be answered from this index; any other needs the complete one.
    complete: bool = True


#: The key of a cassette's only request in an incomplete index (never equal to a computed key).
ONE_REQUEST: Key = (object(),)


def index_for(data: CassetteData, rules: MatchRules, *, complete: bool = False) -> MatchIndex:
    """The match index of a (cached, shared) cassette, itself cached on the data per match rules.

    Unless `complete`, a cassette that holds one request (one interaction, or copies of one)
    gets its index without computing a match key (`_one_request`).
    """
    cache_key = (rules.match_on, rules.ignore_body_fields, complete)
    with _index_lock:
        hit = data.index_cache.get(cache_key)
    if isinstance(hit, MatchIndex):
        return hit
    built = None if complete else _one_request(data, rules)
    if built is None:
        built = _complete_index(data, rules)
    with _index_lock:
        data.index_cache[cache_key] = built
    return built


def _one_request(data: CassetteData, rules: MatchRules) -> MatchIndex | None:
    """The index of a cassette whose recordings are all the same request, byte for byte; None
    for any other.

    Computing a match key parses and canonicalises the body, and a one-request cassette (a test
    that makes one call, the most common cassette) needs none: a request sent exactly as recorded
    has its key, and every recording has it too, so all of them answer it, in file order, and all
    but the last were retried. A request sent any other way may still have that key (the same
    JSON, spaced differently): `InteractionList` then takes the complete index.
    """
    items = data.interactions
    if not items or not rules.keyed_by_method_url_body:
        return None
    first = items[0].request
    triple = (first.method, first.url, first.body)
    for it in items:
        req = it.request
        if req is not first and (req.method, req.url, req.body) != triple:
            return None
    every = range(len(items))
    return MatchIndex(
        keys={ONE_REQUEST: list(every)},
        known={triple: ONE_REQUEST},
        retried=frozenset(every[:-1]),
        with_ids=frozenset(every if jsonrpc.request_ids(first.body) else ()),
        complete=False,
    )


def _complete_index(data: CassetteData, rules: MatchRules) -> MatchIndex:
    index: Index = {}
    known: KnownKeys = {}
    with_ids = []
    by_body = rules.keyed_by_method_url_body
    key = rules.key
    for i, it in enumerate(data.interactions):
        req = it.request
        k = key(req)
        index.setdefault(k, []).append(i)
        if by_body:
            known[req.method, req.url, req.body] = k
        if jsonrpc.request_ids(req.body):
            with_ids.append(i)
    return MatchIndex(
        keys=index,
        known=known,
        retried=frozenset(i for same in index.values() for i in same[:-1]),
        with_ids=frozenset(with_ids),
    )


_EMPTY = MatchIndex({}, {}, frozenset(), frozenset())


class InteractionList:
    """Recorded interactions with their match index and what this session used of them."""

    def __init__(
        self,
        data: CassetteData | None,
        rules: MatchRules,
        *,
        allow_repeats: bool = False,
    ) -> None:
        self.items: Sequence[Interaction] = list(data.interactions) if data is not None else []
        self.rules = rules
        self.allow_repeats = allow_repeats
        self._data = data
        built = index_for(data, rules) if data is not None else _EMPTY
        self._index, self._known = built.keys, built.known
        self._complete = built.complete
        self.retried = built.retried
        self.with_ids = built.with_ids
        self._custom = bool(rules.custom)
        self.used: set[int] = set()
        self._last: dict[Key, int] = {}
        # Per key, how many of its recordings (in order) are known to be used: identical requests
        # replay in order, so a take starts there instead of rescanning what was played.
        self._played_prefix: dict[Key, int] = {}

    def __len__(self) -> int:
        return len(self.items)

    def take(self, view: Request) -> int | None:
        """The index of the first unused recording that matches `view` (then marked used)."""
        # A request sent byte for byte as recorded (the usual case) skips parsing and canonicalising.
        key = self._known.get((view.method, view.url, view.body))
        if key is None:
            self._completed()
            key = self.rules.key(view)
        candidates = self._index.get(key)
        if candidates is not None:
            used = self.used
            start = self._played_prefix.get(key, 0)
            count = len(candidates)
            while start < count and candidates[start] in used:
                start += 1
            if start < count and not self._custom:
                i = candidates[start]  # the first unused one: nothing else to compare
                used.add(i)
                self._played_prefix[key] = start + 1
                if self.allow_repeats:
                    self._last[key] = i
                return i
            self._played_prefix[key] = start
            for pos in range(start, count):
                i = candidates[pos]
                if i not in used and self.rules.custom_match(view, self.items[i].request):
                    self._last[key] = i
                    used.add(i)
                    return i
        if self.allow_repeats and key in self._last:
            return self._last[key]
        return None

    def _completed(self) -> None:
        """Switch to the complete index when the one-request one cannot answer (`_one_request`):
        what was played of the request stays played, now under its computed key."""
        if self._complete:
            return
        assert self._data is not None  # an empty list's index is complete
        full = index_for(self._data, self.rules, complete=True)
        (triple,) = self._known
        key = full.known[triple]
        if ONE_REQUEST in self._played_prefix:
            self._played_prefix[key] = self._played_prefix.pop(ONE_REQUEST)
        if ONE_REQUEST in self._last:
            self._last[key] = self._last.pop(ONE_REQUEST)
        self._index, self._known, self._complete = full.keys, full.known, True

    def same_requests(self, view: Request) -> list[int]:
        """Every recording of exactly this request (used or not): explains a repeat that missed."""
        self._completed()
        return [
            i for i in self._index.get(self.rules.key(view), ()) if self.rules.custom_match(view, self.items[i].request)
        ]

    @property
    def played(self) -> list[Interaction]:
        """Recorded interactions that were replayed, in file order."""
        return [self.items[i] for i in sorted(self.used)]

    @property
    def unused(self) -> list[tuple[int, Interaction]]:
        """Recorded interactions never replayed (index in the file, interaction)."""
        return [(i, it) for i, it in enumerate(self.items) if i not in self.used]
