"""Every option a cassette takes, typed, with its default, in one place.

The three doors (the pytest marker, `use_cassette`, and later project-wide configuration) all hand
their keyword options to `CassetteOptions.from_mapping`, which names an unknown option or a value
of the wrong kind before anything runs.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields
from enum import Enum
from typing import Any

from ..errors import CassetteError
from ..faults import Fault
from .models import Request, Response

CustomMatcher = Callable[[Request, Request], bool]
RequestHook = Callable[[Request], "Request | None"]
ResponseHook = Callable[[Response], "Response | None"]

DEFAULT_MATCH_ON: tuple[str, ...] = ("method", "url", "body")
#: `match_on="vcrpy"`: vcrpy's default rules, which never compare bodies (the first step of a
#: migration; see docs/migrating.md). `uri` is accepted as vcrpy's name for `url`.
VCRPY_MATCH_ON: tuple[str, ...] = ("method", "scheme", "host", "port", "path", "query")
MATCH_ON_PRESETS: dict[str, tuple[str, ...]] = {"default": DEFAULT_MATCH_ON, "vcrpy": VCRPY_MATCH_ON}

# vcrpy / pytest-recording option names, and what to write here instead (named in the error).
VCRPY_EQUIVALENTS: dict[str, str] = {
    "filter_headers": "credential headers are redacted by default; redact_headers=[...] for others",
    "filter_query_parameters": "key query parameters are redacted by default; redact_query_keys=[...] for others",
    "filter_post_data_parameters": "redact_json_fields=[...]",
    "decode_compressed_response": "compressed bodies are always decoded: nothing to set",
    "ignore_localhost": 'ignore_hosts=["localhost", "127.0.0.1"]',
    "allowed_hosts": "the llm_cassette_allowed_hosts ini option or --llm-allowed-hosts",
    "serializer": "cassettes are llm-cassette YAML: convert vcrpy ones with `llm-cassette import --serializer`",
    "cassette_library_dir": "the llm_cassette_dir ini option",
    "path_transformer": "the marker's name argument",
    "match_requests_on": "match_on=[...]",
}


class RecordMode(str, Enum):
    """What happens to requests the cassette does not hold (see docs/record-modes.md)."""

    NONE = "none"
    ONCE = "once"
    NEW_EPISODES = "new_episodes"
    ALL = "all"

    @classmethod
    def parse(cls, value: str | RecordMode, source: str = "record_mode") -> RecordMode:
        """`value` as a mode; a `CassetteError` naming `source` and the choices otherwise."""
        if isinstance(value, RecordMode):
            return value
        found = _MODES.get(value) if type(value) is str else None
        if found is not None:  # the exact value ("none", "once"...): no Enum call
            return found
        try:
            return cls(str(value).strip().lower())
        except ValueError:
            choices = ", ".join(m.value for m in cls)
            raise CassetteError(f"{source}: unknown record mode {value!r} (choose one of {choices})") from None


_MODES: dict[str, RecordMode] = {m.value: m for m in RecordMode}


def _strings(value: Any, name: str) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise CassetteError(f"{name} must be a list of strings, not {value!r}")
    items = tuple(value)
    for item in items:
        if not isinstance(item, str):
            raise CassetteError(f"{name} items must be strings, not {item!r}")
    return items


@dataclass(frozen=True, kw_only=True)
class CassetteOptions:
    """The options of one cassette. Build it with `from_mapping` (validates) or directly."""

    #: None: the door decides (command line, then `LLM_CASSETTE_RECORD_MODE`, then "none").
    record_mode: RecordMode | None = None
    #: Matcher names (see `core.matchers`) and/or callables `(sent, recorded) -> bool`.
    match_on: tuple[str | CustomMatcher, ...] = DEFAULT_MATCH_ON
    #: Dotted JSON field paths left out when bodies are compared (`*` matches any key or item).
    ignore_body_fields: tuple[str, ...] = ()
    #: Hosts whose requests go to the network, unrecorded, in every mode.
    ignore_hosts: frozenset[str] = frozenset()
    #: Replay the last match again once every recorded copy of a request was used.
    allow_playback_repeats: bool = False
    #: 0: replay instantly; 1.0 (or True): at the recorded pace; 0.5: twice as fast.
    replay_timing: float = 0.0
    #: Replay `retry-after(-ms)` exactly instead of shortening an SDK's back-off.
    keep_retry_headers: bool = False
    #: Store the request headers that never matter (`x-stainless-*`, `user-agent`, `content-length`...).
    keep_volatile_headers: bool = False
    #: Failures to inject (built with `llm_cassette.faults`).
    faults: tuple[Fault, ...] = ()
    #: Never write the file, whatever the record mode (e.g. a fault test borrowing a cassette).
    read_only: bool = False
    #: Redaction added to the built-in secrets (never replacing them).
    redact_headers: tuple[str, ...] = ()
    redact_query_keys: tuple[str, ...] = ()
    redact_json_fields: tuple[str, ...] = ()
    redact_values: tuple[str, ...] = ()
    #: Called with each request (redacted) before it is matched or stored; what it returns is
    #: what is matched and stored, and None lets that one request through to the network,
    #: unrecorded, in every mode (vcrpy's meaning).
    before_record_request: RequestHook | None = None
    #: Called with each recorded response before it is stored; None leaves the interaction out.
    before_record_response: ResponseHook | None = None

    @classmethod
    def names(cls) -> frozenset[str]:
        return _NAMES if cls is CassetteOptions else frozenset(f.name for f in fields(cls))

    @classmethod
    def from_mapping(cls, options: Mapping[str, Any], where: str = "options") -> CassetteOptions:
        """Validated options from keyword arguments (a marker's, `use_cassette`'s)."""
        return (_DEFAULTS if cls is CassetteOptions else cls()).merged(options, where)

    def merged(self, options: Mapping[str, Any], where: str = "options") -> CassetteOptions:
        """These options with `options` (keyword arguments) laid over them, validated."""
        if not options:
            return self  # frozen: nothing to copy (each test merges its empty marker options)
        key: tuple[Any, ...] | None = None
        try:
            items = (id(self), *options.items())
            memo = _merges.get(items)
            key = items
        except TypeError:  # an unhashable value (a list...): merged anew each time
            memo = None
        if memo is not None:
            return memo[1]
        known = self.names()
        unknown = sorted(set(options) - known)
        if unknown:
            hints = "".join(
                f"; {name} is vcrpy's: {VCRPY_EQUIVALENTS[name]}" for name in unknown if name in VCRPY_EQUIVALENTS
            )
            raise CassetteError(
                f"{where}: unknown option{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))} "
                f"(known options: {', '.join(sorted(known))}){hints}"
            )
        changes: dict[str, Any] = {}
        for name, value in options.items():
            try:
                changes[name] = _normalise(name, value)
            except CassetteError as exc:
                raise CassetteError(f"{where}: {exc}") from None
        # What `replace(self, **changes)` builds, without its walk over every field and the frozen
        # `__init__`'s setattr per field (every field is an init field, and there is no post-init step).
        new = object.__new__(type(self))
        state = new.__dict__
        state.update(self.__dict__)
        state.update(changes)
        if key is not None:
            if len(_merges) >= _MERGES_MAX:
                _merges.clear()
            _merges[key] = (self, new)
        return new


#: Merged options by the options merged into (by identity: an entry holds them, so their id is
#: not reused) and the option items laid over them: every block and test merges the same few
#: (its record mode, its marker's options). Exact, as the result depends on those alone and
#: equal values normalise alike; a merge that fails is never stored (bounded).
_merges: dict[tuple[Any, ...], tuple[CassetteOptions, CassetteOptions]] = {}
_MERGES_MAX = 256


_NAMES = frozenset(f.name for f in fields(CassetteOptions))
_DEFAULTS = CassetteOptions()  # frozen: shared by every `from_mapping`


def _normalise(name: str, value: Any) -> Any:
    """One option's value in its stored type (lists to tuples, True to 1.0, ...)."""
    if name == "record_mode":
        return None if value is None else RecordMode.parse(value)
    if name == "match_on":
        if value is None:
            return DEFAULT_MATCH_ON
        if isinstance(value, str):
            if value in MATCH_ON_PRESETS:
                return MATCH_ON_PRESETS[value]
            presets = ", ".join(repr(p) for p in MATCH_ON_PRESETS)
            raise CassetteError(f"match_on must be a list of matcher names or callables, or {presets}; not {value!r}")
        if not isinstance(value, Iterable):
            raise CassetteError(f"match_on must be a list of matcher names or callables, not {value!r}")
        return tuple("url" if m == "uri" else m for m in value)
    if name == "ignore_hosts":
        return frozenset(h.lower() for h in _strings(value, name))
    if name in ("ignore_body_fields", "redact_headers", "redact_query_keys", "redact_json_fields", "redact_values"):
        return _strings(value, name)
    if name == "replay_timing":
        if value is True:
            return 1.0
        if value is None or value is False:
            return 0.0
        if isinstance(value, (int, float)) and value >= 0:
            return float(value)
        raise CassetteError(f"replay_timing must be True, False or a non-negative number, not {value!r}")
    if name == "faults":
        items = tuple(value or ())
        for f in items:
            if not isinstance(f, Fault):
                raise CassetteError(f"faults must be built with llm_cassette.faults (got {f!r})")
        return items
    if name in ("before_record_request", "before_record_response"):
        if value is not None and not callable(value):
            raise CassetteError(f"{name} must be a callable or None, not {value!r}")
        return value
    return bool(value)  # allow_playback_repeats, keep_retry_headers, keep_volatile_headers, read_only


RECORD_MODE_ENV = "LLM_CASSETTE_RECORD_MODE"


def mode_from_env() -> RecordMode | None:
    """The record mode `LLM_CASSETTE_RECORD_MODE` asks for, if set."""
    raw = os.environ.get(RECORD_MODE_ENV)
    return RecordMode.parse(raw, RECORD_MODE_ENV) if raw else None
