"""Which xdist worker records which cassette: claims shared through a folder of the run."""

from __future__ import annotations

import os
from pathlib import Path


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
