"""The plugin's fixtures: the current test's cassette and the bundled fake LLM server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ..core.cassette import Cassette
from ..errors import CassetteError
from .state import ACTIVE


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
def llm_cassette(request: pytest.FixtureRequest) -> Cassette:
    """The current test's cassette: `path`, `interactions`, `requests` (sent, in order), `play_count`."""
    active = request.node.stash.get(ACTIVE, None)
    if active is None:  # pragma: no cover - setup always creates it for tests using the fixture
        raise CassetteError(f"{request.node.nodeid}: no llm_cassette session is active")
    return Cassette(active.session)
