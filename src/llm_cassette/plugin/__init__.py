"""The pytest plugin: hooks around each test and the run. Registered through the `pytest11`
entry point, so installing the package is enough.

Options live in `options`, the marker in `marker`, fixtures in `fixtures`, cassette paths in
`paths`, run statistics in `run_stats`, xdist claims in `xdist_claims`. The logic they call is
the plain Python core (`llm_cassette.core`) that `use_cassette` and the CLI use too.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

from .. import stacks
from ..core.lifecycle import ActiveCassette
from ..core.network import network_policy
from ..core.options import RecordMode
from ..core.session import Session
from ..errors import CassetteError, UnusedInteractionsWarning
from ..storage import orphan_cassettes
from .fixtures import llm_cassette, llm_fake_server
from .marker import MARKER, build_session, marker_options, wants_cassette
from .options import add_options, read_settings
from .paths import cassette_dir, default_cassette_path
from .run_stats import CassetteStats, stats_for, summary_line
from .state import (
    ACTIVE,
    FAILED,
    ITEM_STATS,
    ORPHANS,
    PLACEHOLDER_ENV,
    RUN_UIDS,
    SETTINGS,
    SKIPPED,
    STATS,
    USES,
    WRITTEN,
)

__all__ = ["UnusedInteractionsWarning", "llm_cassette", "llm_fake_server", "record_mode"]

PLACEHOLDER_KEY = "sk-llm-cassette-placeholder-not-a-real-key"
# Provider key variables that SDK constructors insist on; set to a placeholder during replay.
PLACEHOLDER_ENV_VARS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY")

_configs: list[pytest.Config] = []


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(name=None, **options): record and replay this test's LLM/HTTP traffic "
        "in a YAML cassette (options: record_mode, match_on, ignore_body_fields, faults, ...).",
    )
    settings = read_settings(config)
    config.stash[SETTINGS] = settings
    network_policy.block = settings.network.block
    network_policy.allow_localhost = settings.network.allow_localhost
    network_policy.allowed_hosts = settings.network.allowed_hosts
    config.stash[STATS] = []
    config.stash[ORPHANS] = []
    config.stash[WRITTEN] = {}
    _configs.append(config)
    stacks.install()


def record_mode(config: pytest.Config) -> RecordMode | None:
    """The record mode this run forces on every cassette (command line, else environment), or None
    when each marker decides (replay by default). Handy for fixtures that start an upstream only
    when recording."""
    settings = config.stash.get(SETTINGS, None)
    return settings.record_mode if settings is not None else None


def pytest_unconfigure(config: pytest.Config) -> None:
    network_policy.block = False
    if config in _configs:
        _configs.remove(config)


# --- around each test ---------------------------------------------------------------------------


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    # A plain (not wrapper) hook, so that a bad cassette or option errors this test's setup cleanly.
    if wants_cassette(item):
        try:
            active = ActiveCassette(build_session(item))
            active.start()
        except CassetteError as exc:
            pytest.fail(str(exc), pytrace=False)
        item.stash[ACTIVE] = active
        if active.session.replays_only:
            item.stash[PLACEHOLDER_ENV] = _set_placeholder_keys()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, Any, None]:
    outcome = yield
    active = item.stash.get(ACTIVE, None)
    if active is None:
        return
    session = active.session
    miss = active.first_miss
    if miss is None:
        if outcome.excinfo is None and item.config.stash[SETTINGS].strict:
            unused = unused_message(session)
            if unused:
                outcome.force_exception(pytest.fail.Exception(unused + "\n(--llm-cassette-strict)", pytrace=False))
        return
    if outcome.excinfo is None:
        # The application caught the miss (e.g. turned it into a 503): the test must still fail.
        more = f"\n({len(session.misses) - 1} more unmatched request(s))" if len(session.misses) > 1 else ""
        outcome.force_exception(
            pytest.fail.Exception(
                f"a request matched no recorded interaction, and the code under test caught the error:\n"
                f"{miss.message}{more}",
                pytrace=False,
            )
        )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    outcome = yield
    report = outcome.get_result()
    if report.failed and call.when in ("setup", "call"):
        item.stash[FAILED] = True
    if report.skipped and call.when in ("setup", "call"):
        item.stash[SKIPPED] = True
    if call.when == "teardown":
        stats = item.stash.get(ITEM_STATS, None)
        if stats is not None:
            # A plain attribute travels with the report from xdist workers to the controller.
            report.llm_cassette = stats.to_dict()


@pytest.hookimpl(hookwrapper=True, trylast=True)
def pytest_runtest_teardown(item: pytest.Item) -> Iterator[None]:
    yield
    active = item.stash.get(ACTIVE, None)
    if active is None:
        return
    env = item.stash.get(PLACEHOLDER_ENV, None)
    if env is not None:
        _restore_env(env)
    failed = item.stash.get(FAILED, False)
    saved = active.stop(failed=failed, skipped=item.stash.get(SKIPPED, False))
    item.stash[ITEM_STATS] = stats_for(active.session, saved)
    if not failed and not item.config.stash[SETTINGS].strict:
        unused = unused_message(active.session)
        if unused:
            warnings.warn(UnusedInteractionsWarning(unused), stacklevel=1)


def unused_message(session: Session) -> str | None:
    # A test with injected faults may by design never reach the recording it borrows.
    # A cassette several tests share holds the other tests' interactions too.
    if not session.replays_only or session.misses or session.faults or session.context.shared:
        return None
    unused = session.recorded.unused
    if not unused:
        return None
    lines = [f"{session.path}: {len(unused)} recorded interaction(s) were not used by this test:"]
    for i, it in unused[:5]:
        body = it.request.body[:80].decode("utf-8", "replace")
        lines.append(f"  #{i + 1} {it.request.method} {it.request.url} {body}")
    if len(unused) > 5:
        lines.append(f"  ... and {len(unused) - 5} more")
    lines.append("Re-record with `pytest --record` to drop them.")
    return "\n".join(lines)


def _set_placeholder_keys() -> dict[str, str | None]:
    saved: dict[str, str | None] = {}
    for var in PLACEHOLDER_ENV_VARS:
        if not os.environ.get(var):
            saved[var] = os.environ.get(var)
            os.environ[var] = PLACEHOLDER_KEY
    return saved


def _restore_env(saved: dict[str, str | None]) -> None:
    for var, value in saved.items():
        if value is None:
            os.environ.pop(var, None)
        else:
            os.environ[var] = value


# --- the run ------------------------------------------------------------------------------------


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    data = getattr(report, "llm_cassette", None)
    if report.when == "teardown" and isinstance(data, dict) and _configs:
        _configs[-1].stash[STATS].append(CassetteStats.from_dict(data))


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    # tryfirst: see every collected item, before -k/-m deselect some of them.
    # Orphans only make sense when whole modules were collected (not single tests by node id).
    wants_orphans = config.stash[SETTINGS].strict and not any("::" in str(a) for a in config.args)
    used_list = config.getoption("llm_cassette_list_used")
    used: set[Path] = set()
    folders: set[Path] = set()
    uses: dict[str, int] = {}
    for item in items:
        if not wants_cassette(item):
            continue
        try:
            name, _ = marker_options(item)
        except CassetteError:
            continue
        path = default_cassette_path(item, name)
        uses[str(path)] = uses.get(str(path), 0) + 1
        used.add(path)
        folders.add(default_cassette_path(item).parent)
    config.stash[USES] = uses
    if used_list:
        lines = [f"# cassette dir: {cassette_dir(config)}\n"]
        lines += [f"# module folder: {f}\n" for f in sorted(folders)]
        lines += [f"{p}\n" for p in sorted(used)]
        Path(used_list).write_text("".join(lines), encoding="utf-8")
    if wants_orphans:
        orphans = [str(p) for p in orphan_cassettes(used, folders)]
        config.stash[ORPHANS] = orphans
        workeroutput = getattr(config, "workeroutput", None)
        if workeroutput is not None:
            workeroutput["llm_cassette_orphans"] = orphans


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist controller: remember the run id, to remove the workers' claim journal at the end."""
    uid = node.workerinput.get("testrunuid")
    if uid and _configs:
        _configs[-1].stash.setdefault(RUN_UIDS, set()).add(uid)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """xdist: orphans found by a worker's collection."""
    orphans = getattr(node, "workeroutput", {}).get("llm_cassette_orphans")
    if orphans and _configs:
        known = _configs[-1].stash[ORPHANS]
        known.extend(o for o in orphans if o not in known)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    stats = config.stash.get(STATS, [])
    orphans = config.stash.get(ORPHANS, [])
    if orphans:
        terminalreporter.section("llm-cassette: cassette files no collected test uses", sep="-")
        for o in orphans:
            terminalreporter.write_line(f"  {o}")
        terminalreporter.write_line("Delete them with `llm-cassette prune --delete`.")
    if stats and config.get_verbosity() >= 0:
        terminalreporter.write_line(summary_line(stats))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    if getattr(config, "workerinput", None) is not None:
        return  # an xdist worker: the controller writes the report
    for uid in config.stash.get(RUN_UIDS, set()):
        shutil.rmtree(Path(tempfile.gettempdir()) / f"llm-cassette-run-{uid}", ignore_errors=True)
    out = config.getoption("llm_cassette_report")
    if out:
        from ..report import write_report

        paths = sorted({Path(s.path) for s in config.stash.get(STATS, []) if Path(s.path).exists()})
        write_report(paths, Path(out))
