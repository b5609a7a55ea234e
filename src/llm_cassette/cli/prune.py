"""`llm-cassette prune`: find (and delete) cassette files that no collected test uses.

The test suite itself says which cassettes it uses: pytest is run with `--collect-only` and the
plugin's `--llm-cassette-list-used`, so marker names, classes and parametrize ids all count.
Only cassette files count (`storage.cassette_files`, as for `stats`, `report` and the run's
summary): pytest-recording may share the folder. A dry run by default, which exits 1 when there
are orphans, so that CI can fail on them; `--delete` removes them and the folders it emptied.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from ..storage import cassette_files, orphan_cassettes, remove_empty_folders
from .common import plural


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--delete", action="store_true", help="delete the orphan files (default: only list them)")
    parser.add_argument(
        "pytest_args",
        nargs=argparse.REMAINDER,
        help="arguments for the pytest collection, after `--` (default: the project's configured test paths)",
    )


def collect_used(pytest_args: list[str]) -> tuple[Path, set[Path], set[Path]]:
    """(cassette dir, the collected modules' cassette folders, cassette paths the collected tests use)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "used.txt"
        cmd = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
               f"--llm-cassette-list-used={out}", *pytest_args]  # fmt: skip
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode not in (0, 5) or not out.exists():
            raise RuntimeError(f"test collection failed (exit {proc.returncode}):\n{proc.stdout}{proc.stderr}")
        lines = out.read_text(encoding="utf-8").splitlines()
    cassette_dir = Path(lines[0].split(":", 1)[1].strip())
    folders = {Path(line.split(":", 1)[1].strip()) for line in lines if line.startswith("# module folder:")}
    return cassette_dir, folders, {Path(line) for line in lines if line.strip() and not line.startswith("#")}


def run(args: argparse.Namespace) -> int:
    pytest_args = [a for a in args.pytest_args if a != "--"]
    try:
        cassette_dir, folders, used = collect_used(pytest_args)
    except RuntimeError as exc:
        print(f"llm-cassette prune: {exc}", file=sys.stderr)
        return 2
    # A partial collection (some test paths given) only speaks for its own modules' folders.
    searched = sorted(folders) if pytest_args else [cassette_dir]
    orphans = orphan_cassettes(used, searched)
    total = len(cassette_files([f for f in searched if f.is_dir()]))
    counts = f"{plural(total, 'cassette file')} under {cassette_dir}, {len(used)} used by the collected tests"
    if not orphans:
        print(f"no orphan cassettes: {counts}")
        return 0
    verb = "deleting" if args.delete else "would delete"
    for path in orphans:
        print(f"{verb} {path}")
    if not args.delete:
        print(f"{plural(len(orphans), 'orphan cassette')} ({counts}); `llm-cassette prune --delete` removes them")
        return 1
    emptied: list[Path] = []
    for path in orphans:
        path.unlink()
        root = next((f for f in searched if f in path.parents), cassette_dir)
        emptied += remove_empty_folders(path.parent, root)
    for folder in emptied:
        print(f"removed the empty folder {folder}")
    print(f"deleted {plural(len(orphans), 'orphan cassette')} ({counts})")
    return 0
