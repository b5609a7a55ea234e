"""What a whole test run did with its cassettes: per-test stats, the summary line, orphan files.

Plain Python used by the pytest plugin (and by `llm-cassette prune`); nothing here imports pytest.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ._models import Interaction
from ._session import Session
from .describe import describe


@dataclass
class CassetteStats:
    """One test's use of its cassette; JSON-serialisable, so it travels from xdist workers."""

    path: str
    mode: str
    played: int = 0
    recorded: int = 0
    network: int = 0
    saved: bool = False
    tokens: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CassetteStats:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


def tokens_of(interactions: Iterable[Interaction]) -> int:
    """Total tokens reported by the providers in these interactions' responses (0 when unknown)."""
    total = 0
    for it in interactions:
        try:
            usage = describe(it).usage
        except Exception:  # a reply we cannot read costs nothing we can count
            continue
        if usage is not None:
            total += usage.total_tokens or ((usage.input_tokens or 0) + (usage.output_tokens or 0))
    return total


def stats_for(session: Session, saved: bool) -> CassetteStats:
    return CassetteStats(
        path=str(session.path),
        mode=session.record_mode.value,
        played=session.play_count,
        recorded=session.recorded_count,
        network=session.recorded_count + session.passthrough_count,
        saved=saved,
        tokens=tokens_of(session.played_interactions),
    )


def summary_line(stats: list[CassetteStats]) -> str:
    """`llm-cassette: 42 cassettes replayed, 118 interactions, 0 network calls, 3 recorded (new_episodes)`."""
    replayed = sum(1 for s in stats if s.played)
    interactions = sum(s.played for s in stats)
    network = sum(s.network for s in stats)
    recorded = sum(s.recorded for s in stats)
    modes = sorted({s.mode for s in stats if s.recorded})
    line = (
        f"llm-cassette: {replayed} cassette{'s' if replayed != 1 else ''} replayed, "
        f"{interactions} interaction{'s' if interactions != 1 else ''}, "
        f"{network} network call{'s' if network != 1 else ''}, {recorded} recorded"
    )
    if modes:
        line += f" ({', '.join(modes)})"
    tokens = sum(s.tokens for s in stats)
    if tokens:
        line += f"; {tokens:,} tokens not spent"
    return line


def is_llm_cassette_file(path: Path) -> bool:
    """Whether a YAML file looks like one of ours (other tools may share the folder)."""
    try:
        with path.open("rb") as f:
            head = f.read(64)
    except OSError:
        return False
    return head.startswith(b"version: 1\n") or head.startswith(b"version: 1\r\n")


def orphan_cassettes(used: set[Path], folders: Iterable[Path]) -> list[Path]:
    """Cassette files in `folders` (searched recursively) that no collected test uses."""
    resolved = {p.resolve() for p in used}
    out: set[Path] = set()
    for folder in folders:
        if not folder.is_dir():
            continue
        for p in folder.rglob("*.y*ml"):
            if p.suffix in (".yaml", ".yml") and p.resolve() not in resolved and is_llm_cassette_file(p):
                out.add(p)
    return sorted(out)


class RunJournal:
    """Which worker of a parallel run records which cassette, shared through a folder.

    Two pytest-xdist workers recording into the same cassette file would each save only what
    their own tests used, and the last save would silently win. Each worker claims a cassette
    before recording; a claim by another worker on the same file is a conflict to report.
    """

    def __init__(self, folder: Path, worker: str) -> None:
        self.folder = folder
        self.worker = worker
        folder.mkdir(parents=True, exist_ok=True)

    @property
    def _file(self) -> Path:
        return self.folder / "claims.tsv"

    def claim(self, cassette: Path, owner: str) -> list[tuple[str, str]]:
        """Claim `cassette` for `owner` (a test id); returns (worker, test) claims by other workers."""
        key = str(cassette.resolve())
        line = f"{self.worker}\t{owner}\t{key}\n".encode()
        # One small O_APPEND write is atomic on local file systems: claims never interleave.
        fd = os.open(self._file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)
        conflicts: list[tuple[str, str]] = []
        for raw in self._file.read_text(encoding="utf-8").splitlines():
            parts = raw.split("\t")
            if len(parts) == 3 and parts[2] == key and parts[0] != self.worker:
                conflicts.append((parts[0], parts[1]))
        return conflicts
