"""The pytest plugin: hooks around each test and the run. Registered through the `pytest11`
entry point, so installing the package is enough.

Options live in `options`, the marker in `marker`, fixtures in `fixtures`, cassette paths in
`paths`, run statistics in `run_stats`, xdist claims in `xdist_claims`. The logic they call is
the plain Python core (`llm_cassette.core`) that `use_cassette` and the CLI use too.
"""

from __future__ import annotations

# First: everything imported below is imported without pytest's assertion rewriting.
from . import plain_imports  # noqa: F401  # isort: skip

import dataclasses
import warnings
from collections.abc import Generator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ..core.network import network_policy
from ..core.options import RecordMode
from ..errors import CassetteError, StaleCassetteWarning, UnusedInteractionsWarning
from .failure_report import PluginFailure, rewrite_report
from .fixtures import _llm_cassette_session, llm_cassette, llm_cassette_config, llm_fake_server, pytest_runtest_setup
from .marker import MARKER, marker_options, wants_cassette
from .network import PLUGIN_NAME, NetworkWatch
from .options import add_options, parse_cache_dir, read_settings
from .paths import cassette_dir, default_cassette_path
from .replay_env import restore_env, unused_message
from .run_stats import CassetteStats, stats_for
from .sharing import count_running
from .state import (
    ACTIVE,
    BODY_DRIFT,
    COMMITTED,
    DRIFT_REPORT,
    FAILED,
    INTERRUPTED,
    ITEM_STATS,
    ITEM_VERIFIED,
    ORPHANS,
    PLACEHOLDER_ENV,
    PREVIOUS_POLICY,
    REFRESHED,
    RUN_UIDS,
    RUNNING,
    SETTINGS,
    SKIPPED,
    STATS,
    USES,
    VERIFIED,
    VERIFY,
    WRITTEN,
)
from .summary import drift_lines, write_summary
from .task_groups import pytest_pyfunc_call

if TYPE_CHECKING:
    from ..core.session import Session
    from .verify import VerifySettings

# Everything else (the cassette reader, the HTTP stacks, `--llm-verify`'s comparison, the report)
# is imported where it is first needed: every pytest run imports this module, most tests of a
# run never use a cassette, and `pytest --co` uses none.

__all__ = [
    "UnusedInteractionsWarning",
    "_llm_cassette_session",
    "llm_cassette",
    "llm_cassette_config",
    "llm_fake_server",
    "pytest_pyfunc_call",
    "pytest_runtest_setup",
    "record_mode",
]

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
    # Restored at unconfigure: an inner run (pytester) must not leave its policy to the outer one.
    config.stash[PREVIOUS_POLICY] = dataclasses.replace(network_policy)
    network_policy.block = settings.network.block
    network_policy.allow_localhost = settings.network.allow_localhost
    network_policy.allowed_hosts = settings.network.allowed_hosts
    config.stash[STATS] = []
    config.stash[ORPHANS] = []
    config.stash[WRITTEN] = {}
    config.stash[RUNNING] = []
    config.stash[INTERRUPTED] = []
    config.stash[VERIFY] = _verify_settings(config)
    config.stash[VERIFIED] = []
    _configs.append(config)
    from .. import stacks
    from ..storage import parse_cache

    parse_cache.set_directory(parse_cache_dir(config))
    if not config.pluginmanager.has_plugin(PLUGIN_NAME):
        config.pluginmanager.register(NetworkWatch(), PLUGIN_NAME)
    stacks.install()


def _verify_settings(config: pytest.Config) -> VerifySettings | None:
    if not config.getoption("llm_verify"):
        return None
    from .verify import read_verify_settings

    return read_verify_settings(config)


def record_mode(config: pytest.Config) -> RecordMode | None:
    """The record mode this run forces on every cassette (command line, else environment), or None
    when each marker decides (replay by default). Handy for fixtures that start an upstream only
    when recording."""
    settings = config.stash.get(SETTINGS, None)
    return settings.record_mode if settings is not None else None


def pytest_unconfigure(config: pytest.Config) -> None:
    previous = config.stash.get(PREVIOUS_POLICY, None)
    if previous is not None:
        network_policy.block = previous.block
        network_policy.allow_localhost = previous.allow_localhost
        network_policy.allowed_hosts = previous.allowed_hosts
    if config in _configs:
        _configs.remove(config)
    from ..storage import parse_cache

    # An in-process run (pytester) ends: the run around it keeps its own cache directory.
    parse_cache.set_directory(parse_cache_dir(_configs[-1]) if _configs else None)


# --- around each test ---------------------------------------------------------------------------


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    yield  # a test that raised is failing already: nothing to add
    active = item.stash.get(ACTIVE, None)
    if active is None:
        return None
    session = active.session
    miss = active.first_miss
    if miss is None:
        if item.config.stash[SETTINGS].strict:
            unused = unused_message(session)
            if unused:
                raise PluginFailure(unused + "\n(--llm-cassette-strict)")
        return None
    # The application caught the miss (e.g. turned it into a 503): the test must still fail.
    more = f"\n({len(session.misses) - 1} more unmatched request(s))" if len(session.misses) > 1 else ""
    raise PluginFailure(
        f"llm-cassette: a request matched no recorded interaction, and the code under test caught "
        f"the error:\n{miss.message}{more}"
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    report = yield
    rewrite_report(item, call, report)
    if report.failed and call.when in ("setup", "call"):
        item.stash[FAILED] = True
    if report.skipped and call.when in ("setup", "call"):
        item.stash[SKIPPED] = True
    if call.when == "teardown":
        stats = item.stash.get(ITEM_STATS, None)
        if stats is not None:
            # A plain attribute travels with the report from xdist workers to the controller.
            report.llm_cassette = stats.to_dict()
        verified = item.stash.get(ITEM_VERIFIED, None)
        if verified is not None:
            report.llm_verify = verified.to_dict()
        drift = item.stash.get(BODY_DRIFT, None)
        if drift:
            report.llm_cassette_body_drift = drift
    return report


@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None, None, None]:
    try:
        yield
    finally:
        _stop_cassette(item)
    return None


def _stop_cassette(item: pytest.Item) -> None:
    active = item.stash.get(ACTIVE, None)
    if active is None:
        return
    _restore_item_env(item)
    failed = item.stash.get(FAILED, False)
    skipped = item.stash.get(SKIPPED, False)
    saved = active.stop(failed=failed, skipped=skipped)
    if item in item.config.stash[RUNNING]:
        item.config.stash[RUNNING].remove(item)
    item.stash[ITEM_STATS] = stats_for(active.session, saved, count_tokens=item.config.stash[SETTINGS].summary)
    committed = item.stash.get(COMMITTED, None)
    if committed is not None and not skipped:
        from .verify import verify_result

        shared = active.session.context.shared
        item.stash[ITEM_VERIFIED] = verify_result(item.nodeid, committed, active.session, failed=failed, shared=shared)
    if active.session.body_drift:
        item.stash[BODY_DRIFT] = drift_lines(item.nodeid, active.session)
    # A test that skipped itself (pytest.skip() in its body) stopped before using its cassette.
    if not failed and not skipped and not item.config.stash[SETTINGS].strict:
        unused = unused_message(active.session)
        if unused:
            warnings.warn(UnusedInteractionsWarning(unused), stacklevel=1)
    max_age = item.config.stash[SETTINGS].max_age
    if max_age is not None and active.session.replays_only:
        from ..core.age import too_old

        old = too_old(active.session.recorded.items, max_age)
        if old is not None:
            warnings.warn(StaleCassetteWarning(f"{active.session.path}: {old} (llm_cassette_max_age)"), stacklevel=1)


def _restore_item_env(item: pytest.Item) -> None:
    env = item.stash.get(PLACEHOLDER_ENV, None)
    if env is not None:
        restore_env(env)
        del item.stash[PLACEHOLDER_ENV]


def pytest_keyboard_interrupt(excinfo: pytest.ExceptionInfo[BaseException]) -> None:
    """Ctrl-C (or `pytest.exit()`): pytest skips the interrupted test's teardown, so its cassette
    is closed here, as a failed test's: what completed is saved, the open stream is stored cut,
    and a partial `all` re-recording leaves the previous cassette in place."""
    if _configs:
        _close_interrupted(_configs[-1])  # the innermost run (pytester runs one inside another)


def _close_interrupted(config: pytest.Config) -> None:
    running: list[pytest.Item] = config.stash.get(RUNNING, [])
    notes: list[str] = config.stash.setdefault(INTERRUPTED, [])
    while running:
        item = running.pop()
        active = item.stash.get(ACTIVE, None)
        if active is None:
            continue
        _restore_item_env(item)
        try:
            saved = active.stop(failed=True)
        except CassetteError as exc:
            notes.append(f"llm-cassette: interrupted: {exc}")
            continue
        note = _interrupted_note(active.session, saved)
        if note:
            notes.append(note)


def _interrupted_note(session: Session, saved: bool) -> str | None:
    if saved:
        its = session.interactions
        last = its[-1].response if its else None
        cut = ", the last one cut where the interruption stopped it" if last is not None and last.cut else ""
        return f"llm-cassette: interrupted: saved {session.path} ({len(its)} interaction(s){cut})"
    if session.records and session.requests and session.record_mode is RecordMode.ALL and session.existed:
        return (
            f"llm-cassette: interrupted: {session.path}: previous cassette kept "
            "(a partial re-recording in `all` mode never replaces a whole one)"
        )
    return None


# --- the run ------------------------------------------------------------------------------------


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    data = getattr(report, "llm_cassette", None)
    if report.when == "teardown" and isinstance(data, dict) and _configs:
        _configs[-1].stash[STATS].append(CassetteStats.from_dict(data))
    verified = getattr(report, "llm_verify", None)
    if report.when == "teardown" and isinstance(verified, dict) and _configs:
        from .verify import VerifyResult

        _configs[-1].stash[VERIFIED].append(VerifyResult.from_dict(verified))
    drift = getattr(report, "llm_cassette_body_drift", None)
    if report.when == "teardown" and isinstance(drift, list) and _configs:
        _configs[-1].stash.setdefault(DRIFT_REPORT, []).append([str(line) for line in drift])


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
    count_running(config, [])  # until collection finishes: nothing known to run
    if used_list:
        lines = [f"# cassette dir: {cassette_dir(config)}\n"]
        lines += [f"# module folder: {f}\n" for f in sorted(folders)]
        lines += [f"{p}\n" for p in sorted(used)]
        Path(used_list).write_text("".join(lines), encoding="utf-8")
    if wants_orphans:
        from ..storage import orphan_cassettes

        orphans = [str(p) for p in orphan_cassettes(used, folders)]
        config.stash[ORPHANS] = orphans
        workeroutput = getattr(config, "workeroutput", None)
        if workeroutput is not None:
            workeroutput["llm_cassette_orphans"] = orphans


def pytest_collection_finish(session: pytest.Session) -> None:
    # After -k, -m and --deselect: which tests run, to know when all users of a file re-record it.
    paths = []
    for item in session.items:
        if wants_cassette(item):
            try:
                name, _ = marker_options(item)
            except CassetteError:
                continue
            paths.append(default_cassette_path(item, name))
    count_running(session.config, paths)


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
    write_summary(terminalreporter, config)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    _close_interrupted(config)  # any test whose teardown never ran (Ctrl-C is handled earlier)
    if getattr(config, "workerinput", None) is not None:
        return  # an xdist worker: the controller writes the report
    for uid in config.stash.get(RUN_UIDS, set()):
        import shutil
        import tempfile

        shutil.rmtree(Path(tempfile.gettempdir()) / f"llm-cassette-run-{uid}", ignore_errors=True)
    verify = config.stash.get(VERIFY, None)
    results = config.stash.get(VERIFIED, [])
    if verify is not None:
        from .verify import refresh_changed

        config.stash[REFRESHED] = refresh_changed(results) if verify.refresh else ([], [])
        if any(r.verdict == "changed" for r in results) and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED  # a cassette no longer tells the truth
    out = config.getoption("llm_cassette_report")
    if out:
        from ..report import write_report
        from .verify import report_rows

        paths = sorted({Path(s.path) for s in config.stash.get(STATS, []) if Path(s.path).exists()})
        write_report(paths, Path(out), verify=report_rows(results) if verify is not None else None)
