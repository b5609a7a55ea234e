"""Options merged over options: the same result however often, from whichever base, and every
bad value still refused, naming where it came from (merges are remembered, so each block and
test does not validate its record mode again)."""

from __future__ import annotations

import re

import pytest

from llm_cassette import CassetteError, CassetteOptions, faults
from llm_cassette.core.options import RecordMode


def test_a_merge_is_the_same_every_time_and_depends_on_its_base_and_values() -> None:
    base = CassetteOptions.from_mapping({})
    once = base.merged({"record_mode": "once"})
    assert once.record_mode is RecordMode.ONCE
    assert base.merged({"record_mode": "once"}) == once
    assert base.merged({"record_mode": RecordMode.ONCE}) == once  # the same mode, spelled as the enum
    assert base.merged({"record_mode": "none"}).record_mode is RecordMode.NONE

    # Hash-equal values normalise alike; different ones never share a result.
    assert base.merged({"replay_timing": True}).replay_timing == 1.0
    assert base.merged({"replay_timing": 1}).replay_timing == 1.0
    assert base.merged({"replay_timing": 0.5}).replay_timing == 0.5
    assert base.merged({"allow_playback_repeats": 1}).allow_playback_repeats is True

    # The same items over another base give that base's other options.
    repeats = base.merged({"allow_playback_repeats": True})
    over_repeats = repeats.merged({"record_mode": "once"})
    assert over_repeats.allow_playback_repeats is True and over_repeats.record_mode is RecordMode.ONCE
    assert base.merged({"record_mode": "once"}).allow_playback_repeats is False

    # Unhashable values (lists) merge as well, every time.
    for _ in range(2):
        listed = base.merged({"match_on": ["method", "uri"], "ignore_hosts": ["Example.COM"]})
        assert listed.match_on == ("method", "url")
        assert listed.ignore_hosts == frozenset({"example.com"})

    # Faults are frozen values: equal ones are interchangeable.
    fault = faults.rate_limit(times=1)
    assert base.merged({"faults": (fault,)}).faults == (fault,)


@pytest.mark.parametrize("attempt", [1, 2])
def test_a_bad_value_is_refused_every_time_with_its_source(attempt: int) -> None:
    base = CassetteOptions.from_mapping({})
    for where in ("first.py::test", "second.py::test"):
        at = re.escape(where)
        with pytest.raises(CassetteError, match=rf"^{at}: record_mode: unknown record mode 'sometimes'"):
            base.merged({"record_mode": "sometimes"}, where)
        with pytest.raises(CassetteError, match=rf"^{at}: replay_timing must be"):
            base.merged({"replay_timing": -1}, where)
        with pytest.raises(CassetteError, match=rf"^{at}: unknown option 'filter_headers'"):
            base.merged({"filter_headers": ["x"]}, where)
