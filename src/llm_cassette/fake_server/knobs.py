"""Per-request behaviour knobs, read from ``x-fake-*`` headers and ``+token`` model suffixes.

The table of knobs is in the package docstring (:mod:`llm_cassette.fake_server`).  This module
is plain Python: it does not need FastAPI.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["KnobError", "Knobs", "parse_knobs"]


_DEFAULT_RETRY_AFTER_MS = 1000


class KnobError(ValueError):
    """A knob header or model suffix could not be parsed (answered with a 400)."""


@dataclass
class Knobs:
    """The behaviour knobs of one request (see :mod:`llm_cassette.fake_server`)."""

    fail_status: int | None = None
    fail_times: int | None = None  # None: fail every time
    scenario: str = ""
    retry_after_ms: int = _DEFAULT_RETRY_AFTER_MS
    first_byte_delay_ms: int = 0
    chunk_delay_ms: int = 0
    drop_after: int | None = None
    chunks: int | None = None
    echo_headers: bool = False
    drift: frozenset[str] = frozenset()  # see `fake_server.drift`

    @property
    def fail_spec(self) -> str:
        """The canonical fail spec, e.g. ``"429x2"`` or ``"500"`` (empty when not failing)."""
        if self.fail_status is None:
            return ""
        if self.fail_times is None:
            return str(self.fail_status)
        return f"{self.fail_status}x{self.fail_times}"


_FAIL_RE = re.compile(r"^\s*([45]\d\d)\s*(?:[xX]\s*(\d+))?\s*$")
_SUFFIX_RE = re.compile(r"^(fail|slow|delay|drop|chunks|retryafter|scenario|echo|drift)(?:=?)(.*)$", re.IGNORECASE)
_DRIFT_KINDS = ("ids", "reword", "tools", "shape")
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"", "0", "false", "no", "off"})


def _parse_fail(value: str, knobs: Knobs, source: str) -> None:
    match = _FAIL_RE.match(value)
    if match is None:
        raise KnobError(f"invalid fail knob {value!r} in {source}: expected e.g. '429x2' or '500'")
    knobs.fail_status = int(match.group(1))
    knobs.fail_times = int(match.group(2)) if match.group(2) is not None else None


def _parse_int(value: str, name: str, source: str) -> int:
    try:
        number = int(value.strip())
    except ValueError:
        raise KnobError(f"invalid {name} knob {value!r} in {source}: expected a non-negative integer") from None
    if number < 0:
        raise KnobError(f"invalid {name} knob {value!r} in {source}: expected a non-negative integer")
    return number


def _parse_bool(value: str, name: str, source: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise KnobError(f"invalid {name} knob {value!r} in {source}: expected 1/0/true/false")


def _apply_knob(knobs: Knobs, name: str, value: str, source: str) -> None:
    if name == "fail":
        _parse_fail(value, knobs, source)
    elif name == "scenario":
        knobs.scenario = value.strip()
    elif name == "retryafter":
        knobs.retry_after_ms = _parse_int(value, "retry-after-ms", source)
    elif name == "slow":
        knobs.first_byte_delay_ms = _parse_int(value, "first-byte-delay-ms", source)
    elif name == "delay":
        knobs.chunk_delay_ms = _parse_int(value, "chunk-delay-ms", source)
    elif name == "drop":
        knobs.drop_after = _parse_int(value, "drop-after", source)
    elif name == "chunks":
        chunks = _parse_int(value, "chunks", source)
        if chunks < 1:
            raise KnobError(f"invalid chunks knob {value!r} in {source}: expected at least 1")
        knobs.chunks = chunks
    elif name == "echo":
        knobs.echo_headers = _parse_bool(value or "1", "echo-headers", source)
    elif name == "drift":
        kinds = frozenset(k.strip().lower() for k in value.split(",") if k.strip())
        unknown = sorted(kinds - set(_DRIFT_KINDS))
        if unknown:
            raise KnobError(f"invalid drift knob {value!r} in {source}: expected some of {', '.join(_DRIFT_KINDS)}")
        knobs.drift = knobs.drift | kinds


_HEADER_KNOBS: tuple[tuple[str, str], ...] = (
    ("x-fake-fail", "fail"),
    ("x-fake-scenario", "scenario"),
    ("x-fake-retry-after-ms", "retryafter"),
    ("x-fake-first-byte-delay-ms", "slow"),
    ("x-fake-chunk-delay-ms", "delay"),
    ("x-fake-drop-after", "drop"),
    ("x-fake-chunks", "chunks"),
    ("x-fake-echo-headers", "echo"),
    ("x-fake-drift", "drift"),
)


def parse_knobs(headers: Mapping[str, str], model: object = None, defaults: Mapping[str, str] = {}) -> Knobs:
    """Build the :class:`Knobs` of a request from its ``model`` suffix and ``x-fake-*`` headers.

    The server-wide ``defaults`` (``x-fake-*`` names, see :meth:`FakeServer.set_default_knobs`)
    are applied first, then model suffix tokens (``"gpt-4o-mini+fail429x2+delay50"``), then the
    headers, so a header overrides the same knob given in the model name.  Unknown suffix
    tokens are ignored; malformed values raise ``ValueError``.
    """
    knobs = Knobs()
    lowered_defaults = {key.lower(): value for key, value in defaults.items()}
    for header, name in _HEADER_KNOBS:
        if header in lowered_defaults:
            _apply_knob(knobs, name, lowered_defaults[header], f"default knob {header}")
    if isinstance(model, str) and "+" in model:
        for token in model.split("+")[1:]:
            match = _SUFFIX_RE.match(token.strip())
            if match is not None:
                _apply_knob(knobs, match.group(1).lower(), match.group(2), f"model suffix +{token}")
    lowered = {key.lower(): value for key, value in headers.items()}
    for header, name in _HEADER_KNOBS:
        if header in lowered:
            _apply_knob(knobs, name, lowered[header], f"header {header}")
    return knobs
