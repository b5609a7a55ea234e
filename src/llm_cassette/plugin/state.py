"""What the plugin keeps on pytest's config and items between hooks (stash keys)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ..core.lifecycle import ActiveCassette
from ..core.network import NetworkPolicy
from .options import RunSettings
from .run_stats import CassetteStats
from .verify import VerifyResult, VerifySettings

ACTIVE = pytest.StashKey[ActiveCassette]()
PLACEHOLDER_ENV = pytest.StashKey[dict[str, "str | None"]]()
FAILED = pytest.StashKey[bool]()
SKIPPED = pytest.StashKey[bool]()
ITEM_STATS = pytest.StashKey[CassetteStats]()
#: Where the network journal stood when the test's setup began.
NETWORK_MARK = pytest.StashKey[tuple[int, int]]()
#: Lines of the body-drift report for this test (replays that match only without the body).
BODY_DRIFT = pytest.StashKey[list[str]]()

SETTINGS = pytest.StashKey[RunSettings]()
PREVIOUS_POLICY = pytest.StashKey[NetworkPolicy]()
STATS = pytest.StashKey[list[CassetteStats]]()
ORPHANS = pytest.StashKey[list[str]]()
#: Cassette path -> the first test of this run that recorded into it.
WRITTEN = pytest.StashKey[dict[str, str]]()
#: Cassette path -> how many collected tests use it.
USES = pytest.StashKey[dict[str, int]]()
#: Cassette path -> how many of the tests that run (after -k, -m, --deselect) use it.
RUNNING_USES = pytest.StashKey[dict[str, int]]()
RUN_UIDS = pytest.StashKey[set[str]]()
#: Tests whose cassette is open (set up, not yet torn down): closed on Ctrl-C.
RUNNING = pytest.StashKey[list[pytest.Item]]()
#: What closing the cassettes of an interrupted run did, for the terminal summary.
INTERRUPTED = pytest.StashKey[list[str]]()
#: `--llm-verify`: the settings (None without it), each test's committed cassette, the verdicts.
VERIFY = pytest.StashKey[VerifySettings | None]()
COMMITTED = pytest.StashKey[Path]()
VERIFIED = pytest.StashKey[list[VerifyResult]]()
ITEM_VERIFIED = pytest.StashKey[VerifyResult]()
#: `--llm-verify --record`: (cassettes refreshed, cassettes left alone because a test failed).
REFRESHED = pytest.StashKey[tuple[list[str], list[str]]]()
#: One list of body-drift lines per test of the run (from the workers, with xdist).
DRIFT_REPORT = pytest.StashKey[list[list[str]]]()
