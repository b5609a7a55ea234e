"""Shared fixtures: the bundled fake LLM server, running for real on 127.0.0.1."""

from __future__ import annotations

import contextlib
from collections.abc import Generator, Iterator

import pytest

# Imported here, before any in-process pytester run: pytester takes out of `sys.modules` whatever a
# run imported, and a PyYAML imported anew after that pairs its new event classes with the libyaml
# extension still holding the first ones (the next dump fails with "expected SCALAR, ...").
import yaml  # noqa: F401  # isort: skip

import open_connections
from llm_cassette.fake_server import FakeServer

# In-process pytester runs restore sys.modules afterwards. Import the lazily imported HTTP cores
# here, so that a first import inside an inner run cannot leave two copies of their exception
# classes (httpx maps httpcore errors by class identity).
for _name in ("httpcore", "httpcore2", "h11", "anyio", "openai", "anthropic", "fastapi", "hypothesis"):
    with contextlib.suppress(ImportError):  # optional in some environments
        __import__(_name)

# Inner pytest runs: no cassetter (clashes with pytest-recording), no slow unrelated plugins.
INNER_ADDOPTS = (
    "-p no:cassetter -p no:hypothesispytest -p no:langsmith_plugin -o asyncio_default_fixture_loop_scope=function"
)


open_connections.install()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, None, None]:
    open_connections.start()
    return (yield)


@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, None, None]:
    result = yield
    leaked = open_connections.left_in_garbage()
    if leaked:
        pytest.fail(
            f"left {len(leaked)} connection(s) open in garbage ({', '.join(leaked)}): a client it built was "
            "never closed (close it, or build it in a `with` block)",
            pytrace=False,
        )
    return result


@pytest.fixture(scope="session")
def fake_server_session() -> Iterator[FakeServer]:
    with FakeServer() as server:
        yield server


@pytest.fixture
def fake_server(fake_server_session: FakeServer) -> FakeServer:
    """The fake server with its counters reset for this test."""
    fake_server_session.reset()
    return fake_server_session


@pytest.fixture(autouse=True)
def _inner_runs_without_cassetter(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Inner pytest runs load every installed plugin: keep cassetter out, as our own addopts do
    (it cannot load beside pytest-recording; tests that need it say so)."""
    if "pytester" in request.fixturenames:
        request.getfixturevalue("pytester")  # it clears PYTEST_ADDOPTS when created
        monkeypatch.setenv("PYTEST_ADDOPTS", INNER_ADDOPTS)


@pytest.fixture
def fake_env(fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> FakeServer:
    """Environment for inner pytest runs (pytester): the server's URL and fake provider keys."""
    monkeypatch.setenv("FAKE_LLM_URL", fake_server.url)
    monkeypatch.setenv("OPENAI_BASE_URL", fake_server.base_url_openai)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake_server.base_url_anthropic)
    monkeypatch.delenv("LLM_CASSETTE_RECORD_MODE", raising=False)
    return fake_server
