"""How old a cassette is: its oldest interaction's `recorded_at`, against an optional `max_age`."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone

from ..errors import CassetteError
from .models import Interaction

_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([dwh]?)\s*$", re.IGNORECASE)
_UNITS = {"": "days", "d": "days", "w": "weeks", "h": "hours"}


def parse_max_age(text: str, source: str = "max_age") -> timedelta:
    """`90d`, `12w`, `36h` or `90` (days) as a timedelta; a `CassetteError` naming `source` otherwise."""
    m = _AGE.match(str(text))
    if m is None:
        raise CassetteError(f"{source}: {text!r} is not an age (write it like 90d, 12w, 36h or 90)")
    return timedelta(**{_UNITS[m.group(2).lower()]: float(m.group(1))})


def recorded_time(it: Interaction) -> datetime | None:
    """When `it` was recorded (None for interactions recorded in format version 1)."""
    if it.recorded_at is None:
        return None
    return datetime.fromisoformat(it.recorded_at.replace("Z", "+00:00"))


def oldest_recording(interactions: Iterable[Interaction]) -> datetime | None:
    """The time of the oldest interaction that says when it was recorded."""
    times = [t for t in map(recorded_time, interactions) if t is not None]
    return min(times) if times else None


def too_old(interactions: Iterable[Interaction], max_age: timedelta, now: datetime | None = None) -> str | None:
    """`recorded 2026-01-02T10:00:00Z, 120 days ago (max age 90 days)` when older than `max_age`, else None."""
    oldest = oldest_recording(interactions)
    if oldest is None:
        return None
    age = (now or datetime.now(timezone.utc)) - oldest
    if age <= max_age:
        return None
    stamp = oldest.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"recorded {stamp}, {describe_age(age)} ago (max age {describe_age(max_age)})"


def describe_age(age: timedelta) -> str:
    if age >= timedelta(days=2):
        return f"{age.days} days"
    hours = int(age.total_seconds() // 3600)
    return f"{hours} hour{'' if hours == 1 else 's'}"
