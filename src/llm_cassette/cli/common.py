"""What the commands share: counting nouns, durations, and the messages for files that cannot be used."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from .. import storage
from ..errors import CassetteFormatError


def plural(n: int, noun: str, *, thousands: bool = False) -> str:
    """`1 cassette`, `2 cassettes` (`1,234 cassettes` with `thousands`)."""
    count = f"{n:,}" if thousands else str(n)
    return f"{count} {noun}{'' if n == 1 else 's'}"


def ms(t: float) -> str:
    """A duration in milliseconds, to a tenth."""
    return f"{t:.1f} ms"


def report_missing(paths: Iterable[Path], message: str) -> bool:
    """Print `message.format(path)` to stderr for each path that does not exist; whether any was missing."""
    missing = [p for p in paths if not p.exists()]
    for p in missing:
        print(message.format(p), file=sys.stderr)
    return bool(missing)


def cannot_read(path: Path, exc: OSError) -> str:
    """`path: cannot read: reason`."""
    return f"{path}: cannot read: {exc.strerror or exc}"


def format_error(exc: CassetteFormatError) -> str:
    """`file:line: reason`, with a pointer to `import` when the file is a vcrpy cassette."""
    from ..vcr_import import with_import_hint  # only needed when a file is invalid

    return with_import_hint(str(exc), exc.path)


def note_vcr_cassettes(paths: Sequence[Path]) -> None:
    """Name on stderr the vcrpy cassettes in the folders of `paths`, which are not cassette files
    (`storage.cassette_files`), with the command that converts them."""
    from ..vcr_import import IMPORT_HINT, is_vcr_cassette

    for other in storage.other_yaml_files(paths):
        if is_vcr_cassette(other):
            print(f"{other}: not read ({IMPORT_HINT})", file=sys.stderr)
