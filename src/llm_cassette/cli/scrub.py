"""`llm-cassette scrub`: re-apply redaction to cassettes that are already on disk.

For cassettes recorded before a secret was known to be one (a custom auth header, a key that was
not in the environment at the time), or written by hand. Uses the same `Redactor` as recording:
the default secret headers and query keys, every provider key currently in the environment, plus
whatever the command line adds. A file is rewritten (atomically) only when something changed, and
an invalid file is never touched.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

from .. import storage
from ..core.models import CassetteData, Headers, Interaction
from ..core.redaction import Redactor
from ..errors import CassetteFormatError
from .common import plural, report_missing


@dataclass(frozen=True)
class ScrubResult:
    """What scrubbing one file changed: per interaction index (0-based), the parts that were redacted."""

    path: Path
    changes: dict[int, list[str]]

    @property
    def changed(self) -> bool:
        return bool(self.changes)


def _changed_headers(before: Headers, after: Headers) -> list[str]:
    return sorted({k.lower() for (k, v), (_, w) in zip(before, after, strict=True) if v != w})


def describe_changes(before: Interaction, after: Interaction) -> list[str]:
    """Human-readable names of the parts of an interaction that redaction changed."""
    parts: list[str] = []
    rq, rq2 = before.request, after.request
    if rq.url != rq2.url:
        parts.append("request url")
    parts += [f"request header {h}" for h in _changed_headers(rq.headers, rq2.headers)]
    if rq.body != rq2.body:
        parts.append("request body")
    rs, rs2 = before.response, after.response
    if rs is not None and rs2 is not None:
        parts += [f"response header {h}" for h in _changed_headers(rs.headers, rs2.headers)]
        if rs.body != rs2.body:
            parts.append("response body")
        if rs.chunks != rs2.chunks and rs.chunks is not None and rs2.chunks is not None:
            n = sum(a.data != b.data for a, b in zip(rs.chunks, rs2.chunks, strict=True))
            parts.append(f"{n} response chunk{'' if n == 1 else 's'}")
    if before.error != after.error:
        parts.append("error message")
    return parts or ["content"]


def scrub_file(path: Path, redactor: Redactor, *, dry_run: bool = False) -> ScrubResult:
    """Redact one cassette file in place (unless `dry_run`). Raises `CassetteFormatError` if it is invalid."""
    data = storage.load(path)
    interactions = [redactor.redact_interaction(it) for it in data.interactions]
    changes: dict[int, list[str]] = {}
    for index, (before, after) in enumerate(zip(data.interactions, interactions, strict=True)):
        if before != after:
            changes[index] = describe_changes(before, after)
    if changes and not dry_run:
        storage.save(path, CassetteData(interactions=interactions, version=data.version))
    return ScrubResult(path, changes)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="cassette files or folders")
    parser.add_argument("--dry-run", action="store_true", help="report what would change, write nothing")
    parser.add_argument(
        "--redact-header", action="append", default=[], metavar="NAME", help="also redact this header (repeatable)"
    )
    parser.add_argument(
        "--redact-query-key",
        action="append",
        default=[],
        metavar="KEY",
        help="also redact this query-string parameter (repeatable)",
    )
    parser.add_argument(
        "--redact-json-field",
        action="append",
        default=[],
        metavar="FIELD",
        help="also redact this JSON field, by name at any depth or by dotted path (repeatable)",
    )
    parser.add_argument(
        "--redact-value",
        action="append",
        default=[],
        metavar="VALUE",
        help="also redact this literal value wherever it appears (repeatable)",
    )


def run(args: argparse.Namespace) -> int:
    if report_missing(args.paths, "llm-cassette scrub: error: no such file or directory: {}"):
        return 2
    redactor = Redactor.build(
        headers=args.redact_header,
        query_keys=args.redact_query_key,
        json_fields=args.redact_json_field,
        values=args.redact_value,
    )
    verb = "would redact" if args.dry_run else "redacted"
    failed = changed = unchanged = 0
    for path in storage.iter_cassette_files(args.paths):
        try:
            result = scrub_file(path, redactor, dry_run=args.dry_run)
        except CassetteFormatError as exc:
            print(f"error: {exc} (file left unchanged)", file=sys.stderr)
            failed += 1
            continue
        except OSError as exc:
            print(f"error: {path}: cannot read or write: {exc.strerror or exc} (file left unchanged)", file=sys.stderr)
            failed += 1
            continue
        if not result.changed:
            unchanged += 1
            continue
        changed += 1
        for index, parts in result.changes.items():
            print(f"{path}: interaction {index + 1}: {verb} {', '.join(parts)}")
    done = "would change" if args.dry_run else "changed"
    summary = f"{plural(changed, 'file')} {done}, {unchanged} already clean"
    if failed:
        summary += f", {failed} invalid"
    print(summary)
    return 1 if failed else 0
