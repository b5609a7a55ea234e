"""The pytest plugin: options, the `llm_cassette` marker and fixture, and the hooks around each test.

Registered through the `pytest11` entry point. The logic it calls is plain Python (`Session`,
`use_cassette`) that works without pytest.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

from . import _interceptor
from ._api import RECORD_MODE_ENV, mode_from_env
from ._context import activate, deactivate, network_policy
from ._errors import CassetteError
from ._session import RecordMode, Session, check_options

MARKER = "llm_cassette"
PLACEHOLDER_KEY = "sk-llm-cassette-placeholder-not-a-real-key"
# Provider key variables that SDK constructors insist on; set to a placeholder during replay.
PLACEHOLDER_ENV_VARS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY")

_session_key = pytest.StashKey[Session]()
_token_key = pytest.StashKey[Any]()
_env_key = pytest.StashKey[dict[str, str | None]]()
_failed_key = pytest.StashKey[bool]()


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
        help="refuse real network requests from tests without a cassette (localhost stays allowed).",
    )
    group.addoption(
        "--llm-allowed-hosts",
        dest="llm_allowed_hosts",
        default=None,
        help="comma-separated hosts that --llm-block-network lets through.",
    )
    parser.addini("llm_cassette_dir", "folder for cassettes, relative to rootdir", default="cassettes")
    parser.addini("llm_block_network", "refuse real network requests outside cassettes", type="bool", default=False)
    parser.addini("llm_cassette_allowed_hosts", "hosts allowed despite llm_block_network", type="linelist")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(name=None, **options): record and replay this test's LLM/HTTP traffic "
        "in a YAML cassette (options: record_mode, match_on, ignore_body_fields, faults, ...).",
    )
    flag = config.getoption("llm_record_mode")
    if flag is None and config.getoption("llm_record"):
        flag = RecordMode.NEW_EPISODES.value
    config.stash[_cli_mode_key] = RecordMode.parse(flag, "--llm-record-mode") if flag else mode_from_env()
    block = config.getoption("llm_block_network")
    if block is None:
        block = bool(config.getini("llm_block_network"))
    hosts = list(config.getini("llm_cassette_allowed_hosts") or [])
    cli_hosts = config.getoption("llm_allowed_hosts")
    if cli_hosts:
        hosts += [h.strip() for h in cli_hosts.split(",") if h.strip()]
    network_policy.block = block
    network_policy.allowed_hosts = frozenset(h.lower() for h in hosts)
    _interceptor.install()


_cli_mode_key = pytest.StashKey["RecordMode | None"]()


def pytest_unconfigure(config: pytest.Config) -> None:
    network_policy.block = False


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
    return Session(path, mode or RecordMode.NONE, rerecord_hint=hint, **options)


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
        item.stash[_session_key] = session
        item.stash[_token_key] = activate(session)
        if session.replays_only:
            item.stash[_env_key] = _set_placeholder_keys()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, Any, None]:
    outcome = yield
    session = item.stash.get(_session_key, None)
    if session is None or not session.misses:
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
    session.close(failed=item.stash.get(_failed_key, False))


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


@pytest.fixture
def llm_cassette(request: pytest.FixtureRequest) -> Session:
    """The current test's cassette: `path`, `interactions`, `requests` (sent, in order), `play_count`."""
    session: Session | None = request.node.stash.get(_session_key, None)
    if session is None:  # pragma: no cover - setup always creates it for tests using the fixture
        raise CassetteError(f"{request.node.nodeid}: no llm_cassette session is active")
    return session
