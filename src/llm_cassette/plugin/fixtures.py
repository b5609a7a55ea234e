"""The plugin's fixtures: the project-wide options, the current test's cassette (started here,
where the options fixture can be resolved) and the bundled fake LLM server."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import pytest

from ..errors import CassetteError, CassetteFormatError
from .marker import build_session, wants_cassette
from .replay_env import set_placeholder_keys
from .state import ACTIVE, PLACEHOLDER_ENV, RUNNING

if TYPE_CHECKING:
    from ..core.cassette import Cassette


@pytest.fixture(scope="session")
def llm_cassette_config() -> Mapping[str, Any]:
    """Options for every cassette in its scope, under the markers' own (pytest-recording's
    `vcr_config`). Override it in a `conftest.py` or a module, with any scope:

        @pytest.fixture(scope="session")
        def llm_cassette_config():
            return {"match_on": "vcrpy", "ignore_hosts": ["auth.example.com"]}

    This default is empty, session-scoped (set up once, not per test: every test with a cassette
    asks for it) and read-only, so that an override extending it (`{**llm_cassette_config, ...}`)
    never changes it for the others.
    """
    return MappingProxyType({})


@pytest.fixture(autouse=True)
def _llm_cassette_session(request: pytest.FixtureRequest) -> None:
    """Start the cassette of a test that wants one, before the test's own function fixtures.

    A fixture rather than a setup hook, so that `llm_cassette_config` (whatever its scope) can be
    resolved; the teardown hook stops and saves it after every fixture has finished.
    """
    item = request.node
    if not isinstance(item, pytest.Item) or not wants_cassette(item) or ACTIVE in item.stash:
        return
    from ..core.lifecycle import ActiveCassette  # the first test with a cassette loads the core

    error: CassetteError | None = None
    try:
        project = request.getfixturevalue("llm_cassette_config")
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
    item.stash[ACTIVE] = active
    item.config.stash[RUNNING].append(item)
    if active.session.replays_only:
        item.stash[PLACEHOLDER_ENV] = set_placeholder_keys()


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
