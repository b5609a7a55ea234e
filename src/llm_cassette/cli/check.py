"""`llm-cassette check`: validate cassettes and scan them for secrets before they are committed.

Prints one `path:line: kind: message` line per problem (the format editors and CI annotate), then
a summary; exits 1 when anything was found, 0 when every file is clean, 2 for a usage error.
Works as a pre-commit hook: pre-commit passes the changed cassette files as arguments.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from .. import storage
from ..core.age import parse_max_age, too_old
from ..core.models import CassetteData
from ..core.secrets import mask, scan_text, split_across_chunks
from ..errors import CassetteError, CassetteFormatError
from .common import plural, report_missing

DEFAULT_PATH = "cassettes"
INVALID = "invalid-cassette"
NOTE = "note"
OLD = "old-cassette"


@dataclass(frozen=True)
class Finding:
    """One problem in one cassette file; `line` is 1-based, None when the file as a whole is at fault."""

    path: Path
    line: int | None
    kind: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else str(self.path)
        return f"{where}: {self.kind}: {self.message}"


def check_file(
    path: Path, *, validate: bool = True, secrets: bool = True, allow: Sequence[re.Pattern[str]] = ()
) -> list[Finding]:
    """Every problem in one cassette file, in line order."""
    try:
        size = path.stat().st_size
        if size > storage.files.max_size():
            # Too big to parse safely; also too big to be a cassette anyone reviews.
            limit, env = storage.files.max_size(), storage.files.MAX_SIZE_ENV
            reason = f"file is {size} bytes, over the {limit}-byte limit (set {env})"
            return [Finding(path, None, INVALID, reason)]
        raw = storage.read_regular_file(path, storage.files.max_size())
    except OSError as exc:
        return [Finding(path, None, INVALID, f"cannot read: {exc.strerror or exc}")]
    findings: list[Finding] = []
    data: CassetteData | None = None
    if validate:
        try:
            data = storage.loads(raw, path)
        except CassetteFormatError as exc:
            from ..vcr_import import with_import_hint  # only for a file that is not valid

            findings.append(Finding(path, exc.line, INVALID, with_import_hint(exc.reason, path)))
    if secrets:
        # Scanned even when invalid: a broken file can leak a key as well as a good one.
        text = raw.decode("utf-8", "replace")
        findings.extend(Finding(path, s.line, s.kind, s.message) for s in scan_text(text, path, allow=allow))
        if data is not None:
            findings.extend(_split_secrets(path, text, data, allow))
    return sorted(findings, key=lambda f: (f.line or 0, f.kind))


def _split_secrets(path: Path, text: str, data: CassetteData, allow: Sequence[re.Pattern[str]]) -> list[Finding]:
    """Secrets split across the chunks of a stream, at the line of the chunk where each starts."""
    out: list[Finding] = []
    for i, it in enumerate(data.interactions):
        chunks = it.response.chunks if it.response is not None else None
        if not chunks or len(chunks) < 2:
            continue
        for index, kind, description, value in split_across_chunks([c.data for c in chunks], allow):
            line = storage.line_of(text, ["interactions", i, "response", "chunks", index, "text"])
            message = f"possible {description} {mask(value)!r} (split across stream chunks {index + 1} and after)"
            out.append(Finding(path, line, kind, message))
    return out


def check_paths(
    paths: Sequence[Path], *, validate: bool = True, secrets: bool = True, allow: Sequence[re.Pattern[str]] = ()
) -> tuple[list[Path], list[Finding]]:
    """(files checked, findings) for every cassette file under `paths`."""
    files = list(storage.iter_cassette_files(paths))
    findings: list[Finding] = []
    for path in files:
        findings.extend(check_file(path, validate=validate, secrets=secrets, allow=allow))
    return files, findings


def notes_for(path: Path, max_age: timedelta | None = None) -> list[Finding]:
    """What is worth knowing about a valid file without being a problem: an old format, an old recording."""
    try:
        data = storage.load(path)
    except (CassetteFormatError, OSError):
        return []  # reported as a problem already
    notes: list[Finding] = []
    if data.version < storage.FORMAT_VERSION:
        notes.append(
            Finding(
                path,
                None,
                NOTE,
                f"format version {data.version}: rewritten as version {storage.FORMAT_VERSION} the next time a test "
                "records into it (replay reads it as it is)",
            )
        )
    old = too_old(data.interactions, max_age) if max_age is not None else None
    if old is not None:
        notes.append(Finding(path, None, OLD, f"{old}; re-record it, or check it with pytest --llm-verify"))
    return notes


def _age(value: str) -> timedelta:
    try:
        return parse_max_age(value, "--max-age")
    except CassetteError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _regex(value: str) -> re.Pattern[str]:
    try:
        return re.compile(value)
    except re.error as exc:
        raise argparse.ArgumentTypeError(f"invalid regular expression {value!r}: {exc}") from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths",
        nargs="*",
        type=Path,
        metavar="PATH",
        help=f"cassette files or folders, searched recursively for *.yaml/*.yml (default: {DEFAULT_PATH})",
    )
    parser.add_argument("--no-secrets", action="store_true", help="do not scan for secrets")
    parser.add_argument(
        "--max-age",
        type=_age,
        metavar="AGE",
        help="note cassettes recorded longer ago than AGE (90d, 12w, 36h); a note, not a problem",
    )
    parser.add_argument("--no-validate", action="store_true", help="do not validate the cassette format")
    parser.add_argument(
        "--allow",
        action="append",
        default=[],
        type=_regex,
        metavar="PATTERN",
        help="regular expression; secret-shaped values it matches (anywhere in the value) are not reported "
        "(repeatable)",
    )


def run(args: argparse.Namespace) -> int:
    paths: list[Path] = list(args.paths)
    if not paths:
        default = Path(DEFAULT_PATH)
        if not default.exists():
            print(f"llm-cassette check: no {DEFAULT_PATH}/ folder here; nothing to check")
            return 0
        paths = [default]
    if report_missing(paths, "llm-cassette check: error: no such file or directory: {}"):
        return 2
    files, findings = check_paths(paths, validate=not args.no_validate, secrets=not args.no_secrets, allow=args.allow)
    for finding in findings:
        print(finding)
    if not args.no_validate:
        for path in files:
            for note in notes_for(path, args.max_age):
                print(note)
    if not findings:
        print(f"{plural(len(files), 'cassette file')} checked: no problems")
        return 0
    bad = len({f.path for f in findings})
    print(f"{plural(len(findings), 'problem')} in {bad} of {plural(len(files), 'cassette file')}")
    if any(f.kind != INVALID for f in findings):
        print(
            "Secrets must not be committed: revoke any real key, then remove it "
            "(llm-cassette scrub --redact-value VALUE PATH) or re-record. "
            "Known-safe values can be allowed with --allow PATTERN."
        )
    return 1
