"""The pytest plugin: options, the `llm_cassette` marker and fixture, and the hooks around each test.

Registered through the `pytest11` entry point. The logic it calls is plain Python (`Session`,
`use_cassette`) that works without pytest.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import warnings
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

from . import _interceptor
from ._api import RECORD_MODE_ENV, mode_from_env
from ._context import activate, deactivate, network_policy
from ._errors import CassetteError
from ._session import RecordMode, Session, check_options
from ._suite import CassetteStats, RunJournal, orphan_cassettes, stats_for, summary_line

MARKER = "llm_cassette"
PLACEHOLDER_KEY = "sk-llm-cassette-placeholder-not-a-real-key"
# Provider key variables that SDK constructors insist on; set to a placeholder during replay.
PLACEHOLDER_ENV_VARS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY")

_session_key = pytest.StashKey[Session]()
_token_key = pytest.StashKey[Any]()
_env_key = pytest.StashKey[dict[str, str | None]]()
_failed_key = pytest.StashKey[bool]()
_skipped_key = pytest.StashKey[bool]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("llm-cassette", "record and replay LLM API traffic")
    group.addoption(
        "--record",
        action="store_true",
        dest="llm_record",
        default=False,
        help="record what the cassettes do not hold (same as --llm-record-mode=new_episodes).",
    )
    group.addoption(
        "--llm-record-mode",
        dest="llm_record_mode",
        default=None,
        choices=[m.value for m in RecordMode],
        help=f"record mode for llm_cassette tests (default: ${RECORD_MODE_ENV} or 'none').",
    )
    group.addoption(
        "--llm-block-network",
        dest="llm_block_network",
        action="store_true",
        default=None,
        help="refuse real network requests from tests without a cassette.",
    )
    group.addoption(
        "--llm-allow-localhost",
        dest="llm_allow_localhost",
        action="store_true",
        default=None,
        help="let --llm-block-network through to localhost / 127.0.0.1 / ::1.",
    )
    group.addoption(
        "--llm-allowed-hosts",
        dest="llm_allowed_hosts",
        default=None,
        help="comma-separated hosts that --llm-block-network lets through.",
    )
    group.addoption(
        "--llm-cassette-strict",
        dest="llm_cassette_strict",
        action="store_true",
        default=None,
        help="fail a test whose cassette holds interactions it did not use, and list cassette files "
        "no collected test uses.",
    )
    group.addoption(
        "--llm-cassette-report",
        dest="llm_cassette_report",
        default=None,
        metavar="PATH",
        help="write an HTML report of the cassettes this run used to PATH.",
    )
    group.addoption(
        "--llm-cassette-list-used",
        dest="llm_cassette_list_used",
        default=None,
        metavar="PATH",
        help="write the cassette paths the collected tests use to PATH (used by `llm-cassette prune`).",
    )
    parser.addini("llm_cassette_strict", "same as --llm-cassette-strict", type="bool", default=False)
    parser.addini("llm_cassette_dir", "folder for cassettes, relative to rootdir", default="cassettes")
    parser.addini("llm_block_network", "refuse real network requests outside cassettes", type="bool", default=False)
    parser.addini("llm_cassette_allowed_hosts", "hosts allowed despite llm_block_network", type="linelist")
    parser.addini("llm_allow_localhost", "let llm_block_network through to localhost", type="bool", default=False)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(name=None, **options): record and replay this test's LLM/HTTP traffic "
        "in a YAML cassette (options: record_mode, match_on, ignore_body_fields, faults, ...).",
    )
    flag = config.getoption("llm_record_mode")
    if flag is None and config.getoption("llm_record"):
        flag = RecordMode.NEW_EPISODES.value
    try:
        config.stash[_cli_mode_key] = RecordMode.parse(flag, "--llm-record-mode") if flag else mode_from_env()
    except CassetteError as exc:
        raise pytest.UsageError(str(exc)) from None
    block = config.getoption("llm_block_network")
    if block is None:
        block = bool(config.getini("llm_block_network"))
    hosts = list(config.getini("llm_cassette_allowed_hosts") or [])
    cli_hosts = config.getoption("llm_allowed_hosts")
    if cli_hosts:
        hosts += [h.strip() for h in cli_hosts.split(",") if h.strip()]
    network_policy.block = block
    allow_localhost = config.getoption("llm_allow_localhost")
    network_policy.allow_localhost = bool(config.getini("llm_allow_localhost")) if allow_localhost is None else True
    network_policy.allowed_hosts = frozenset(h.lower() for h in hosts)
    strict = config.getoption("llm_cassette_strict")
    config.stash[_strict_key] = bool(config.getini("llm_cassette_strict")) if strict is None else True
    config.stash[_stats_key] = []
    config.stash[_orphans_key] = []
    config.stash[_written_key] = {}
    _configs.append(config)
    _interceptor.install()


_cli_mode_key = pytest.StashKey["RecordMode | None"]()
_strict_key = pytest.StashKey[bool]()
_stats_key = pytest.StashKey[list[CassetteStats]]()
_orphans_key = pytest.StashKey[list[str]]()
_item_stats_key = pytest.StashKey[CassetteStats]()
_written_key = pytest.StashKey[dict[str, str]]()
_uses_key = pytest.StashKey[dict[str, int]]()
_run_uids_key = pytest.StashKey[set[str]]()


def record_mode(config: pytest.Config) -> RecordMode | None:
    """The record mode this run forces on every cassette (command line, else environment), or None
    when each marker decides (replay by default). Handy for fixtures that start an upstream only
    when recording."""
    mode: RecordMode | None = config.stash.get(_cli_mode_key, None)
    return mode


def pytest_unconfigure(config: pytest.Config) -> None:
    network_policy.block = False
    if config in _configs:
        _configs.remove(config)


# --- which cassette, with which options ---------------------------------------------------------

_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-\[\]=,+@]")


def safe_file_name(name: str) -> str:
    """`name` with characters unsafe in file names replaced; very long names shortened with a hash."""
    safe = _UNSAFE.sub("_", name)
    if len(safe) > 150:
        digest = hashlib.sha256(name.encode()).hexdigest()[:12]
        safe = f"{safe[:120]}-{digest}"
    return safe


def cassette_dir(config: pytest.Config) -> Path:
    return Path(config.rootpath) / str(config.getini("llm_cassette_dir") or "cassettes")


def default_cassette_path(item: pytest.Item, name: str | None = None) -> Path:
    """`<llm_cassette_dir>/<module path without .py>/<test name>.yaml`."""
    module_path = Path(str(item.path))
    try:
        rel = module_path.relative_to(item.config.rootpath)
    except ValueError:
        rel = Path(module_path.name)
    folder = cassette_dir(item.config) / rel.with_suffix("")
    if name is not None:
        p = Path(name)
        if p.is_absolute():
            return p
        return folder / (name if p.suffix in (".yaml", ".yml") else f"{name}.yaml")
    parts = item.nodeid.split("::")[1:]  # class(es), then the test name with its parametrize id
    return folder / (safe_file_name(".".join(parts) or item.name) + ".yaml")


def marker_options(item: pytest.Item) -> tuple[str | None, dict[str, Any]]:
    """The cassette name and options from every `llm_cassette` marker (closest wins)."""
    name: str | None = None
    options: dict[str, Any] = {}
    for mark in reversed(list(item.iter_markers(MARKER))):  # module → class → function
        if len(mark.args) > 1:
            raise CassetteError(f"{item.nodeid}: @pytest.mark.{MARKER} takes at most one positional name")
        if mark.args:
            name = str(mark.args[0])
        options.update(mark.kwargs)
    check_options(options, f"{item.nodeid}: @pytest.mark.{MARKER}")
    return name, options


def _wants_cassette(item: pytest.Item) -> bool:
    return item.get_closest_marker(MARKER) is not None or MARKER in getattr(item, "fixturenames", ())


def build_session(item: pytest.Item) -> Session:
    name, options = marker_options(item)
    cli_mode: RecordMode | None = item.config.stash.get(_cli_mode_key, None)
    marker_mode = options.pop("record_mode", None)
    mode = cli_mode or (RecordMode.parse(marker_mode, f"{item.nodeid}: record_mode") if marker_mode else None)
    path = default_cassette_path(item, name)
    hint = f"pytest --record {item.nodeid!r}   (or --llm-record-mode=all to record it from scratch)"
    written: dict[str, str] = item.config.stash[_written_key]
    session = Session(
        path,
        mode or RecordMode.NONE,
        rerecord_hint=hint,
        accumulate=str(path) in written,
        # A cassette several collected tests share: what this test does not use, another one does.
        keep_unused=item.config.stash.get(_uses_key, {}).get(str(path), 0) > 1,
        **options,
    )
    if session.records or (session.record_mode is RecordMode.ONCE and not path.exists()):
        _claim(item, path)
        written.setdefault(str(path), item.nodeid)
    return session


def _claim(item: pytest.Item, path: Path) -> None:
    """Refuse to record a cassette another xdist worker of this run records too."""
    workerinput = getattr(item.config, "workerinput", None)
    if workerinput is None:
        return
    journal = RunJournal(
        Path(tempfile.gettempdir()) / f"llm-cassette-run-{workerinput['testrunuid']}", workerinput["workerid"]
    )
    conflicts = journal.claim(path, item.nodeid)
    if conflicts:
        others = ", ".join(f"{test} on {worker}" for worker, test in conflicts)
        raise CassetteError(
            f"{path}: recorded by more than one xdist worker ({item.nodeid} here, {others}); each worker "
            "would save only its own tests' interactions. Give the tests different cassette names, or keep "
            "them on one worker while recording (-n 0, or --dist loadfile for tests of one module)."
        )


# --- around each test ---------------------------------------------------------------------------


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    # A plain (not wrapper) hook, so that a bad cassette or option errors this test's setup cleanly.
    if _wants_cassette(item):
        try:
            session = build_session(item)
            session.open()
        except CassetteError as exc:
            pytest.fail(str(exc), pytrace=False)
        _interceptor.install_extra_transports()
        item.stash[_session_key] = session
        item.stash[_token_key] = activate(session)
        if session.replays_only:
            item.stash[_env_key] = _set_placeholder_keys()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, Any, None]:
    outcome = yield
    session = item.stash.get(_session_key, None)
    if session is None:
        return
    if not session.misses:
        if outcome.excinfo is None and item.config.stash.get(_strict_key, False):
            unused = unused_message(session)
            if unused:
                outcome.force_exception(pytest.fail.Exception(unused + "\n(--llm-cassette-strict)", pytrace=False))
        return
    if outcome.excinfo is None:
        # The application caught the miss (e.g. turned it into a 503): the test must still fail.
        first = session.misses[0]
        more = f"\n({len(session.misses) - 1} more unmatched request(s))" if len(session.misses) > 1 else ""
        outcome.force_exception(
            pytest.fail.Exception(
                "a request matched no recorded interaction, and the code under test caught the error:\n"
                f"{first.message}{more}",
                pytrace=False,
            )
        )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    outcome = yield
    report = outcome.get_result()
    if report.failed and call.when in ("setup", "call"):
        item.stash[_failed_key] = True
    if report.skipped and call.when in ("setup", "call"):
        item.stash[_skipped_key] = True
    if call.when == "teardown":
        stats = item.stash.get(_item_stats_key, None)
        if stats is not None:
            # A plain attribute travels with the report from xdist workers to the controller.
            report.llm_cassette = stats.to_dict()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    data = getattr(report, "llm_cassette", None)
    if report.when == "teardown" and isinstance(data, dict):
        _current_config_stats().append(CassetteStats.from_dict(data))


_configs: list[pytest.Config] = []


def _current_config_stats() -> list[CassetteStats]:
    return _configs[-1].stash[_stats_key] if _configs else []


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    # tryfirst: see every collected item, before -k/-m deselect some of them.
    # Orphans only make sense when whole modules were collected (not single tests by node id).
    wants_orphans = config.stash.get(_strict_key, False) and not any("::" in str(a) for a in config.args)
    used_list = config.getoption("llm_cassette_list_used")
    used: set[Path] = set()
    folders: set[Path] = set()
    uses: dict[str, int] = {}
    for item in items:
        if not _wants_cassette(item):
            continue
        try:
            name, _ = marker_options(item)
        except CassetteError:
            continue
        path = default_cassette_path(item, name)
        uses[str(path)] = uses.get(str(path), 0) + 1
        used.add(path)
        folders.add(default_cassette_path(item).parent)
    config.stash[_uses_key] = uses
    if used_list:
        lines = [f"# cassette dir: {cassette_dir(config)}\n"]
        lines += [f"# module folder: {f}\n" for f in sorted(folders)]
        lines += [f"{p}\n" for p in sorted(used)]
        Path(used_list).write_text("".join(lines), encoding="utf-8")
    if wants_orphans:
        orphans = [str(p) for p in orphan_cassettes(used, folders)]
        config.stash[_orphans_key] = orphans
        workeroutput = getattr(config, "workeroutput", None)
        if workeroutput is not None:
            workeroutput["llm_cassette_orphans"] = orphans


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist controller: remember the run id, to remove the workers' claim journal at the end."""
    uid = node.workerinput.get("testrunuid")
    if uid and _configs:
        _configs[-1].stash.setdefault(_run_uids_key, set()).add(uid)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """xdist: orphans found by a worker's collection."""
    orphans = getattr(node, "workeroutput", {}).get("llm_cassette_orphans")
    if orphans and _configs:
        known = _configs[-1].stash[_orphans_key]
        known.extend(o for o in orphans if o not in known)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    stats = config.stash.get(_stats_key, [])
    orphans = config.stash.get(_orphans_key, [])
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
    for uid in config.stash.get(_run_uids_key, set()):
        shutil.rmtree(Path(tempfile.gettempdir()) / f"llm-cassette-run-{uid}", ignore_errors=True)
    out = config.getoption("llm_cassette_report")
    if out:
        from .report import write_report

        paths = sorted({Path(s.path) for s in config.stash.get(_stats_key, []) if Path(s.path).exists()})
        write_report(paths, Path(out))


@pytest.hookimpl(hookwrapper=True, trylast=True)
def pytest_runtest_teardown(item: pytest.Item) -> Iterator[None]:
    yield
    session = item.stash.get(_session_key, None)
    if session is None:
        return
    deactivate(session, item.stash.get(_token_key, None))
    env = item.stash.get(_env_key, None)
    if env is not None:
        _restore_env(env)
    failed = item.stash.get(_failed_key, False)
    saved = session.close(failed=failed, skipped=item.stash.get(_skipped_key, False))
    item.stash[_item_stats_key] = stats_for(session, saved)
    if not failed and not item.config.stash.get(_strict_key, False):
        unused = unused_message(session)
        if unused:
            warnings.warn(UnusedInteractionsWarning(unused), stacklevel=1)


class UnusedInteractionsWarning(UserWarning):
    """A test did not use every interaction its cassette holds (the cassette may be stale)."""


def unused_message(session: Session) -> str | None:
    # A test with injected faults may by design never reach the recording it borrows.
    # A cassette several tests share holds the other tests' interactions too.
    if not session.replays_only or session.misses or session.faults or session.keep_unused:
        return None
    unused = session.unused_interactions
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


@pytest.fixture(scope="session")
def llm_fake_server() -> Iterator[Any]:
    """The bundled fake OpenAI/Anthropic-compatible server, running on a free 127.0.0.1 port.

    Needs the `server` extra. Use `.base_url_openai` / `.base_url_anthropic` as the SDKs' base URL.
    """
    try:
        from .fake_server import FakeServer
    except ImportError as exc:  # pragma: no cover - depends on the installed extras
        pytest.skip(f"llm_fake_server needs pytest-llm-cassette[server] ({exc})")
    with FakeServer() as server:
        yield server


@pytest.fixture
def llm_cassette(request: pytest.FixtureRequest) -> Session:
    """The current test's cassette: `path`, `interactions`, `requests` (sent, in order), `play_count`."""
    session: Session | None = request.node.stash.get(_session_key, None)
    if session is None:  # pragma: no cover - setup always creates it for tests using the fixture
        raise CassetteError(f"{request.node.nodeid}: no llm_cassette session is active")
    return session
