"""Who else uses a cassette file, as far as this run can tell.

Counted over the collected tests (before `-k`/`-m`/`--deselect` drop some) and over the tests that
actually run. A run narrowed at collection (a node id such as `test_s.py::test_a`, the command a
miss message prints, or `--lf`) does not even collect the other users of a named cassette: such a
file counts as shared, and the tests that did not run keep their interactions.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from .state import RUNNING_USES, USES


@dataclass(frozen=True)
class Sharing:
    """What a test's session may do with the other interactions of its file."""

    #: Other tests use (or may use) the file: what this test does not use stays.
    shared: bool
    #: Every user of the file runs in this run: an `all` re-recording may start it afresh.
    all_users_run: bool


def sharing_of(item: pytest.Item, path: Path, named: bool) -> Sharing:
    """How `item`'s cassette `path` is shared; `named` when the marker names the file (a test's
    own default file is never another test's)."""
    uses = item.config.stash.get(USES, {}).get(str(path), 0)
    running = item.config.stash.get(RUNNING_USES, {}).get(str(path), 0)
    narrowed = named and collection_narrowed(item.config, Path(str(item.path)))
    return Sharing(shared=uses > 1 or narrowed, all_users_run=not narrowed and running >= uses)


def collection_narrowed(config: pytest.Config, module: Path) -> bool:
    """Whether this run collected only some tests of `module` (node ids, `--lf`)."""
    if config.getoption("lf", False):
        return True
    here = Path(config.invocation_params.dir)
    target = module.resolve()
    return any("::" in str(a) and (here / str(a).split("::", 1)[0]).resolve() == target for a in config.args)


def count_running(config: pytest.Config, paths: list[Path]) -> None:
    """Remember how many of the tests that will run use each cassette path."""
    counts: dict[str, int] = {}
    for p in paths:
        counts[str(p)] = counts.get(str(p), 0) + 1
    config.stash[RUNNING_USES] = counts
