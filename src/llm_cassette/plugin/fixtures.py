"""The plugin's fixtures: the project-wide options, the current test's cassette (started here or as
its setup ends, where the options fixture can be resolved) and the bundled fake LLM server."""

from __future__ import annotations

from collections.abc import Generator, Iterator, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import pytest

from ..errors import CassetteError, CassetteFormatError
from .marker import build_session, wants_cassette
from .replay_env import set_placeholder_keys
from .state import ACTIVE, PLACEHOLDER_ENV, RUNNING, STARTED

if TYPE_CHECKING:
    from ..core.cassette import Cassette

_NO_OPTIONS: Mapping[str, Any] = MappingProxyType({})
CONFIG_FIXTURE = "llm_cassette_config"
_SESSION_FIXTURE = "_llm_cassette_session"


@pytest.fixture(scope="session")
def llm_cassette_config() -> Mapping[str, Any]:
    """Options for every cassette in its scope, under the markers' own (pytest-recording's
    `vcr_config`). Override it in a `conftest.py` or a module, with any scope:

        @pytest.fixture(scope="session")
        def llm_cassette_config():
            return {"match_on": "vcrpy", "ignore_hosts": ["auth.example.com"]}

    This default is empty, session-scoped and read-only, so that an override extending it
    (`{**llm_cassette_config, ...}`) never changes it for the others. A test asks pytest for it
    only when something overrides it.
    """
    return _NO_OPTIONS


# The cassette starts where an autouse fixture of ours would: after the fixtures of wider scopes,
# before the test's own function-scoped ones. Only the tests that want a cassette and have
# function-scoped fixtures get our fixture (first of them); any other starts it as its setup ends.
# Not autouse: pytest's machinery for one more function-scoped fixture costs every test of a run
# about as much as replaying its cassette does (docs/performance.md).


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, None, None]:
    pending = wants_cassette(item) and not uses_cassette_fixture(item) and not item.config.option.setupplan
    yield  # a setup that raised starts nothing, as our fixture after the failing one would not
    if pending:
        start_cassette(item, None, wanted=True)  # no function-scoped fixture to start before: all set up
    return None


@pytest.fixture
def _llm_cassette_session(request: pytest.FixtureRequest) -> None:
    """Start the current test's cassette before its other function-scoped fixtures (so what they
    send is recorded) and after those of wider scopes (whose traffic is not this test's).

    Not autouse: the plugin puts it first among the function-scoped fixtures of the tests that
    want a cassette (`uses_cassette_fixture`), and `llm_cassette` depends on it.
    """
    start_cassette(request.node, request)


def uses_cassette_fixture(item: pytest.Item) -> bool:
    """For a test that wants a cassette: True when it has function-scoped fixtures, which the
    cassette must start before; `_llm_cassette_session` is then put first among them. False for
    a test without any (or one pytest sets up no fixtures for): the cassette starts as its setup
    ends, after the fixtures of wider scopes, as the fixture would have."""
    info = getattr(item, "_fixtureinfo", None)  # pytest's fixture closure of the test
    if info is None:
        return False
    names: list[str] = info.names_closure
    defs = info.name2fixturedefs
    for i, name in enumerate(names):
        found = defs.get(name)
        if name == _SESSION_FIXTURE or (found and found[-1].scope == "function"):
            # First among the function-scoped fixtures, also when `llm_cassette` pulled it in
            # after the test's others. The list is shared by the parametrized copies of the
            # test: for a copy that wants no cassette, the fixture finds nothing to start.
            if name != _SESSION_FIXTURE:
                if _SESSION_FIXTURE in names:
                    names.remove(_SESSION_FIXTURE)
                names.insert(i, _SESSION_FIXTURE)
            return True
    return False


def start_cassette(item: pytest.Item, request: pytest.FixtureRequest | None, *, wanted: bool = False) -> None:
    """Start the cassette of a test that wants one, once (`_llm_cassette_session`, or the plugin
    as setup ends); `request` resolves `llm_cassette_config` (whatever its scope) when a project
    overrides it (`wanted`: the caller has just asked `wants_cassette`). An error here is an error
    of the test's setup."""
    stash = item.stash
    if STARTED in stash:
        return
    stash[STARTED] = True  # first, so the config fixture's own fixtures do not start it again
    if not (wanted or wants_cassette(item)) or ACTIVE in stash:
        return
    from ..core.lifecycle import ActiveCassette  # the first test with a cassette loads the core

    error: CassetteError | None = None
    try:
        project = _project_config(item, request)
        active = ActiveCassette(build_session(item, project))
        active.start()
    except CassetteFormatError as exc:
        from ..vcr_import import with_import_hint  # only for a file that cannot be read

        error = CassetteFormatError(exc.path, with_import_hint(exc.reason, exc.path), exc.line)
    except CassetteError as exc:
        error = exc
    if error is not None:
        # Raised outside the `except`: the error once, not chained to the parser's; the report
        # shows its message only (failure_report).
        raise error from None
    stash[ACTIVE] = active
    item.config.stash[RUNNING].append(item)
    if active.session.replays_only:
        stash[PLACEHOLDER_ENV] = set_placeholder_keys()


def _project_config(item: pytest.Item, request: pytest.FixtureRequest | None) -> Mapping[str, Any]:
    """The `llm_cassette_config` in effect for `item`: the fixture's value when a conftest, a
    module, a class or a parametrisation overrides it, else the default (empty) without asking
    pytest's fixture machinery for it."""
    callspec = getattr(item, "callspec", None)
    overridden = (callspec is not None and CONFIG_FIXTURE in callspec.params) or _overridden_at(item)
    if not overridden:
        return _NO_OPTIONS
    if request is None:
        request = getattr(item, "_request", None)  # the test's own request (not public API)
        if request is None:
            raise CassetteError(f"{item.nodeid}: llm_cassette_config cannot be resolved for this kind of test")
    value: Mapping[str, Any] = request.getfixturevalue(CONFIG_FIXTURE)
    return value


#: Whether a fixture overrides `llm_cassette_config` where a test's parent (its module or
#: class) sees it: the same for every test there, and asked once per parent.
_OVERRIDDEN = pytest.StashKey[dict[Any, bool]]()


def _overridden_at(item: pytest.Item) -> bool:
    known = item.config.stash.setdefault(_OVERRIDDEN, {})
    parent = item.parent if item.parent is not None else item
    found = known.get(parent)
    if found is None:
        defs = item.session._fixturemanager.getfixturedefs(CONFIG_FIXTURE, parent)
        # The default is this module's function (pytest keeps the function itself, or a wrapper
        # that keeps its module and name); anything else visible to the test overrides it.
        closest = getattr(defs[-1], "func", None) if defs else None
        found = known[parent] = (
            getattr(closest, "__module__", None) != __name__ or getattr(closest, "__name__", None) != CONFIG_FIXTURE
        )
    return found


@pytest.fixture(scope="session")
def llm_fake_server() -> Iterator[Any]:
    """The bundled fake OpenAI/Anthropic-compatible server, running on a free 127.0.0.1 port.

    Needs the `server` extra. Use `.base_url_openai` / `.base_url_anthropic` as the SDKs' base URL.
    """
    try:
        from ..fake_server import FakeServer
    except ImportError as exc:  # pragma: no cover - depends on the installed extras
        pytest.skip(f"llm_fake_server needs pytest-llm-cassette[server] ({exc})")
    with FakeServer() as server:
        yield server


@pytest.fixture
def llm_cassette(request: pytest.FixtureRequest, _llm_cassette_session: None) -> Cassette:
    """The current test's cassette: `path`, `interactions`, `requests` (sent, in order), `play_count`."""
    active = request.node.stash.get(ACTIVE, None)
    if active is None:  # pragma: no cover - setup always creates it for tests using the fixture
        raise CassetteError(f"{request.node.nodeid}: no llm_cassette session is active")
    from ..core.cassette import Cassette

    return Cassette(active.session)
