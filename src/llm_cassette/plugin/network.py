"""Nothing silent: what the network guard saw, test by test.

- A connection the guard refused fails the test, even when the code under test caught the error.
- Every connection that left the process without a recording adapter is counted for the run's
  summary (from any test, with or without a cassette).
- A marked test that replays a cassette file that does not exist fails, even with no request seen.
- A recording test that recorded nothing is warned about, naming what the guard saw instead.
"""

from __future__ import annotations

import warnings
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import pytest

from ..core.network import Connection, journal, unrecorded
from ..errors import NetworkBlocked, NothingRecordedWarning
from .failure_report import PluginFailure
from .marker import MARKER
from .state import ACTIVE, NETWORK_MARK

if TYPE_CHECKING:
    from ..core.lifecycle import ActiveCassette


def _explicit(item: pytest.Item) -> bool:
    """Whether the test itself asks for a cassette (its own marker or the fixture), rather than
    inheriting a module's or class's `pytestmark` that may cover tests with no traffic at all."""
    own = any(m.name == MARKER for m in getattr(item, "own_markers", ()))
    return own or MARKER in getattr(item, "fixturenames", ())


def _describe(connections: list[Connection]) -> str:
    seen: dict[tuple[str, int | None, str], int] = {}
    for c in connections:
        key = (c.host, c.port, c.library)
        seen[key] = seen.get(key, 0) + 1
    lines = [
        f"  {host}:{port} ({n} connections), {library or 'unknown library'}"
        if n > 1
        else f"  {host}:{port}, {library or 'unknown library'}"
        for (host, port, library), n in list(seen.items())[:5]
    ]
    if len(seen) > 5:
        lines.append(f"  ... and {len(seen) - 5} more")
    return "\n".join(lines)


def missing_cassette_message(item: pytest.Item, active: ActiveCassette, seen: list[Connection]) -> str | None:
    session = active.session
    if not session.replays_only or session.existed or session.requests:
        return None
    if not seen and not _explicit(item):
        return None  # a module-wide marker over a test that sends nothing: nothing to replay
    lines = [
        f"llm-cassette: the cassette {session.path} does not exist, and this test replays "
        f"({session.record_mode.value} mode): it was never recorded, or it was deleted"
    ]
    if seen:
        lines.append("The network guard saw connections that no cassette records:")
        lines.append(_describe(seen))
    if session.options.read_only:
        lines.append(
            "This test uses it read_only (it only replays it): record it with the test that owns it, "
            "or check the name the marker gives (relative names start from this test's cassette folder)"
        )
    else:
        lines.append(f"To record it: pytest --record {item.nodeid!r}")
    return "\n".join(lines)


def nothing_recorded_message(item: pytest.Item, active: ActiveCassette, seen: list[Connection]) -> str | None:
    session = active.session
    if not session.records or session.requests or not (seen or _explicit(item)):
        return None
    lines = [f"{item.nodeid}: recorded nothing into {session.path} (no request went through a recorded stack)"]
    if seen:
        lines.append("The network guard saw connections through a stack llm-cassette does not record:")
        lines.append(_describe(seen))
        lines.append("Send them through httpx, httpx2, urllib3 (requests, botocore) or aiohttp to record them.")
    return "\n".join(lines)


class NetworkWatch:
    """The plugin object holding these hooks (registered by the main plugin at configure)."""

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        item.stash[NETWORK_MARK] = journal.mark()

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, None, None]:
        try:
            yield
        except BaseException:
            self._claim(item)  # claimed even when the test failed, so no outer run fails too
            raise
        mark, active, refusals = self._claim(item)
        if mark is None:
            return None
        if refusals:
            # The library or the application caught the guard's error: the test must still fail.
            raise PluginFailure(
                "llm-cassette: a connection was refused by the network guard, and the code under test "
                f"caught the error:\n{refusals[0].message}"
            )
        if active is None:
            return None
        seen = unrecorded(journal.connections_since(mark))
        missing = missing_cassette_message(item, active, seen)
        if missing is not None:
            raise PluginFailure(missing)
        nothing = nothing_recorded_message(item, active, seen)
        if nothing is not None:
            warnings.warn(NothingRecordedWarning(nothing), stacklevel=1)
        return None

    @staticmethod
    def _claim(item: pytest.Item) -> tuple[tuple[int, int] | None, ActiveCassette | None, list[NetworkBlocked]]:
        """(the test's journal mark, its active cassette, the refusals it claims): refusals under
        the test's own cassette, or none, are this test's (a `use_cassette` block inside fails by
        itself)."""
        mark = item.stash.get(NETWORK_MARK, None)
        if mark is None:
            return None, None, []
        active = item.stash.get(ACTIVE, None)
        return mark, active, journal.claim_refusals(mark, (None,) if active is None else (None, active.session))

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
        report = yield
        mark = item.stash.get(NETWORK_MARK, None)
        if call.when == "teardown" and mark is not None:
            # A plain attribute travels with the report from xdist workers to the controller.
            report.llm_cassette_unrecorded = len(unrecorded(journal.connections_since(mark)))
        return report

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        count = getattr(report, "llm_cassette_unrecorded", 0)
        if report.when == "teardown" and isinstance(count, int) and count:
            self.unrecorded += count

    def __init__(self) -> None:
        #: Connections of this run's tests that left the process without a recording adapter.
        self.unrecorded = 0


PLUGIN_NAME = "llm_cassette_network"
