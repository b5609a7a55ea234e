"""What the plugin keeps on pytest's config and items between hooks (stash keys)."""

from __future__ import annotations

import pytest

from ..core.lifecycle import ActiveCassette
from ..core.network import NetworkPolicy
from .options import RunSettings
from .run_stats import CassetteStats

ACTIVE = pytest.StashKey[ActiveCassette]()
PLACEHOLDER_ENV = pytest.StashKey[dict[str, "str | None"]]()
FAILED = pytest.StashKey[bool]()
SKIPPED = pytest.StashKey[bool]()
ITEM_STATS = pytest.StashKey[CassetteStats]()
#: Where the network journal stood when the test's setup began.
NETWORK_MARK = pytest.StashKey[tuple[int, int]]()

SETTINGS = pytest.StashKey[RunSettings]()
PREVIOUS_POLICY = pytest.StashKey[NetworkPolicy]()
STATS = pytest.StashKey[list[CassetteStats]]()
ORPHANS = pytest.StashKey[list[str]]()
#: Cassette path -> the first test of this run that recorded into it.
WRITTEN = pytest.StashKey[dict[str, str]]()
#: Cassette path -> how many collected tests use it.
USES = pytest.StashKey[dict[str, int]]()
RUN_UIDS = pytest.StashKey[set[str]]()
