"""`pytest --llm-verify`: run the marked tests live, and say which cassettes are no longer true.

Each test records from scratch (`all` mode) into a scratch folder that mirrors the cassette
folder, never into the committed cassettes; at its teardown the fresh recording is compared with
the committed one (`llm_cassette.drift`) and the test gets a verdict: `same`, `reworded`,
`changed`, or `failed` (the test itself failed against the live API). The verdicts travel with
the test reports (so xdist works), are listed in the terminal summary and the HTML report, and a
`changed` makes the run fail. With `--record`, the cassettes of tests that `changed` (and passed)
are replaced by their fresh recordings: only what changed is refreshed.
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .paths import cassette_dir

if TYPE_CHECKING:
    from ..core.session import Session

VERIFY_DIR = "llm-cassette-verify"
ORDER = ("same", "reworded", "changed", "failed")


@dataclass(frozen=True)
class VerifySettings:
    """`--llm-verify`, where it records, and whether `--record` refreshes what changed."""

    scratch: Path
    refresh: bool


@dataclass
class VerifyResult:
    """One test's verdict against its committed cassette (plain data: it crosses from xdist workers)."""

    nodeid: str
    committed: str
    scratch: str
    verdict: str
    lines: list[str] = field(default_factory=list)
    shared: bool = False
    #: How the fresh recording compares, even when the test failed.
    drift: str = "same"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VerifyResult:
        return cls(**data)


def read_verify_settings(config: pytest.Config) -> VerifySettings | None:
    """The run's verify settings, or None without `--llm-verify`; the scratch folder is emptied once."""
    if not config.getoption("llm_verify"):
        return None
    given = config.getoption("llm_verify_dir")
    scratch = Path(given) if given else Path(config.rootpath) / ".pytest_cache" / VERIFY_DIR
    if not given and getattr(config, "workerinput", None) is None:
        shutil.rmtree(scratch, ignore_errors=True)  # our own folder: last night's recordings go
    mode = config.getoption("llm_record_mode")
    if mode is not None:
        raise pytest.UsageError(
            "--llm-verify records every test from scratch into its own folder: use it alone, or with --record to "
            f"refresh the cassettes that changed (not with --llm-record-mode={mode})"
        )
    return VerifySettings(scratch=scratch, refresh=bool(config.getoption("llm_record")))


def scratch_path(config: pytest.Config, settings: VerifySettings, committed: Path) -> Path:
    """Where a test's fresh recording goes: the committed path, moved under the scratch folder."""
    root = cassette_dir(config)
    try:
        rel = committed.relative_to(root)
    except ValueError:  # an absolute cassette name outside the cassette folder
        digest = hashlib.sha256(str(committed).encode()).hexdigest()[:12]
        rel = Path("_elsewhere") / f"{digest}-{committed.name}"
    return settings.scratch / rel


def verify_result(nodeid: str, committed: Path, session: Session, *, failed: bool, shared: bool) -> VerifyResult:
    """Compare what `session` recorded with the committed cassette."""
    if not committed.exists():
        return VerifyResult(nodeid, str(committed), str(session.path), "failed" if failed else "changed",
                            ["no committed cassette: every interaction is new"], shared, "changed")  # fmt: skip
    from ..drift import diff_interactions, worst  # a run without --llm-verify never compares
    from ..storage import load

    old = load(committed).interactions
    diffs = diff_interactions(old, session.interactions, missing_is_change=not shared)
    verdict = worst([d.verdict for d in diffs])
    lines: list[str] = []
    for d in diffs:
        if d.verdict != "same":
            lines.append(f"{d.where} {d.label}: {d.verdict}")
            lines.extend(f"    {x}" for x in d.differences)
    return VerifyResult(
        nodeid, str(committed), str(session.path), "failed" if failed else verdict, lines, shared, verdict
    )


def refresh_changed(results: list[VerifyResult]) -> tuple[list[str], list[str]]:
    """With `--record`: replace each committed cassette whose tests changed and none failed.

    Returns (refreshed paths, paths left alone because a test using them failed).
    """
    from ..storage import atomic_write

    by_file: dict[str, list[VerifyResult]] = {}
    for r in results:
        by_file.setdefault(r.committed, []).append(r)
    refreshed, kept = [], []
    for committed, rs in sorted(by_file.items()):
        verdicts = {r.verdict for r in rs}
        if "failed" in verdicts:
            kept.append(committed)
            continue
        if "changed" in verdicts and Path(rs[0].scratch).exists():
            atomic_write(Path(committed), Path(rs[0].scratch).read_text(encoding="utf-8"))
            refreshed.append(committed)
    return refreshed, kept


def summary_lines(
    results: list[VerifyResult], settings: VerifySettings, refreshed: list[str], kept: list[str]
) -> list[str]:
    """The terminal summary section: each test's verdict and what differs, then the totals."""
    lines: list[str] = []
    for r in sorted(results, key=lambda r: (ORDER.index(r.verdict), r.nodeid)):
        lines.append(f"{r.verdict:<9} {r.nodeid}" + (f" ({r.drift})" if r.verdict == "failed" else ""))
        lines.extend(f"            {line}" for line in r.lines if r.verdict != "same")
    counts = ", ".join(f"{sum(r.verdict == v for r in results)} {v}" for v in ORDER)
    lines.append(f"llm-cassette: verified {len(results)} test{'' if len(results) == 1 else 's'}: {counts}; "
                 f"fresh recordings in {settings.scratch}")  # fmt: skip
    if settings.refresh:
        lines.extend(f"refreshed: {p}" for p in refreshed)
        lines.extend(f"not refreshed (a test using it failed): {p}" for p in kept)
        if not refreshed:
            lines.append("nothing changed: no cassette refreshed")
    elif any(r.verdict == "changed" for r in results):
        lines.append("Refresh the cassettes that changed with `pytest --llm-verify --record`.")
    return lines


def report_rows(results: list[VerifyResult]) -> list[tuple[str, str, list[str]]]:
    """(test, verdict, differences) for the HTML report."""
    return [(r.nodeid, r.verdict, r.lines) for r in sorted(results, key=lambda r: r.nodeid)]


__all__ = [
    "VerifyResult",
    "VerifySettings",
    "read_verify_settings",
    "refresh_changed",
    "report_rows",
    "scratch_path",
    "summary_lines",
    "verify_result",
]
