"""What the plugin keeps on pytest's config and items between hooks (stash keys)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:  # the keys' value types only: importing them would load the whole core
    from ..core.lifecycle import ActiveCassette
    from ..core.network import NetworkPolicy
    from .options import RunSettings
    from .run_stats import CassetteStats
    from .verify import VerifyResult, VerifySettings

ACTIVE: pytest.StashKey[ActiveCassette] = pytest.StashKey()
#: The test's cassette was started, or found not wanted: decided once per test (plugin.fixtures).
STARTED: pytest.StashKey[bool] = pytest.StashKey()
PLACEHOLDER_ENV: pytest.StashKey[dict[str, str | None]] = pytest.StashKey()
FAILED: pytest.StashKey[bool] = pytest.StashKey()
SKIPPED: pytest.StashKey[bool] = pytest.StashKey()
ITEM_STATS: pytest.StashKey[CassetteStats] = pytest.StashKey()
#: Where the network journal stood when the test's setup began.
NETWORK_MARK: pytest.StashKey[tuple[int, int]] = pytest.StashKey()
#: Lines of the body-drift report for this test (replays that match only without the body).
BODY_DRIFT: pytest.StashKey[list[str]] = pytest.StashKey()

SETTINGS: pytest.StashKey[RunSettings] = pytest.StashKey()
PREVIOUS_POLICY: pytest.StashKey[NetworkPolicy] = pytest.StashKey()
STATS: pytest.StashKey[list[CassetteStats]] = pytest.StashKey()
ORPHANS: pytest.StashKey[list[str]] = pytest.StashKey()
#: Cassette path -> the first test of this run that recorded into it.
WRITTEN: pytest.StashKey[dict[str, str]] = pytest.StashKey()
#: Cassette path -> how many collected tests use it.
USES: pytest.StashKey[dict[str, int]] = pytest.StashKey()
#: Cassette path -> how many of the tests that run (after -k, -m, --deselect) use it.
RUNNING_USES: pytest.StashKey[dict[str, int]] = pytest.StashKey()
RUN_UIDS: pytest.StashKey[set[str]] = pytest.StashKey()
#: Tests whose cassette is open (set up, not yet torn down): closed on Ctrl-C.
RUNNING: pytest.StashKey[list[pytest.Item]] = pytest.StashKey()
#: What closing the cassettes of an interrupted run did, for the terminal summary.
INTERRUPTED: pytest.StashKey[list[str]] = pytest.StashKey()
#: `--llm-verify`: the settings (None without it), each test's committed cassette, the verdicts.
VERIFY: pytest.StashKey[VerifySettings | None] = pytest.StashKey()
COMMITTED: pytest.StashKey[Path] = pytest.StashKey()
VERIFIED: pytest.StashKey[list[VerifyResult]] = pytest.StashKey()
ITEM_VERIFIED: pytest.StashKey[VerifyResult] = pytest.StashKey()
#: `--llm-verify --record`: (cassettes refreshed, cassettes left alone because a test failed).
REFRESHED: pytest.StashKey[tuple[list[str], list[str]]] = pytest.StashKey()
#: One list of body-drift lines per test of the run (from the workers, with xdist).
DRIFT_REPORT: pytest.StashKey[list[list[str]]] = pytest.StashKey()
