"""What the end of a run prints: interrupted cassettes, orphans, `--llm-verify`'s verdicts, the
body-drift report and the one-line summary."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from .network import PLUGIN_NAME, NetworkWatch
from .run_stats import summary_line
from .state import DRIFT_REPORT, INTERRUPTED, ORPHANS, REFRESHED, SETTINGS, STATS, VERIFIED, VERIFY

if TYPE_CHECKING:
    from ..core.session import Session


def drift_lines(nodeid: str, session: Session) -> list[str]:
    """For the run's body-drift section: each replay whose recorded body differs from the sent one."""
    lines = []
    for drift in session.body_drift:
        lines.append(f"{nodeid}: interaction #{drift.index + 1} {drift.recorded.method} {drift.recorded.url}")
        lines.extend(f"    {d}" for d in drift.differences[:5])
    return lines


def write_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """The run's sections and summary line in the terminal summary."""
    for note in config.stash.get(INTERRUPTED, []):
        terminalreporter.write_line(note)
    stats = config.stash.get(STATS, [])
    orphans = config.stash.get(ORPHANS, [])
    if orphans:
        terminalreporter.section("llm-cassette: cassette files no collected test uses", sep="-")
        for o in orphans:
            terminalreporter.write_line(f"  {o}")
        terminalreporter.write_line("Delete them with `llm-cassette prune --delete`.")
    verify = config.stash.get(VERIFY, None)
    if verify is not None and getattr(config, "workerinput", None) is None:
        terminalreporter.section("llm-cassette: the live API against the committed cassettes (--llm-verify)", sep="-")
        from .verify import summary_lines

        refreshed, kept = config.stash.get(REFRESHED, ([], []))
        for line in summary_lines(config.stash[VERIFIED], verify, refreshed, kept):
            terminalreporter.write_line(line)
    drift = config.stash.get(DRIFT_REPORT, [])
    if drift:
        tests = f"{len(drift)} test{'s' if len(drift) > 1 else ''}"
        terminalreporter.section(f"llm-cassette: {tests} would miss with body matching", sep="-")
        for lines in sorted(drift):
            for line in lines:
                terminalreporter.write_line(line)
        terminalreporter.write_line(
            "They replay a recording whose request body differs from what they send: their match_on leaves "
            "the body out. Re-record them (`pytest --record NODEID`), then match on the body."
        )
    watch = config.pluginmanager.get_plugin(PLUGIN_NAME)
    unrecorded = watch.unrecorded if isinstance(watch, NetworkWatch) else 0
    if (stats or unrecorded) and config.stash[SETTINGS].summary:
        terminalreporter.write_line(summary_line(stats, unrecorded=unrecorded))
