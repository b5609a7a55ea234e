"""`llm-cassette diff OLD NEW`: two cassettes (or folders of them) compared as LLM calls.

Each interaction is `same` (only volatile fields differ), `reworded` (the assistant's text
differs, not the shape) or `changed` (something a test could depend on), with the differing
fields by path. Exit status: 0 same or reworded, 1 changed, 2 error.

`--git` makes it a git external diff driver: git calls it with the path and the two versions of
a file (7 or 9 arguments); it prints the summary and exits 0, since git stops at a driver's
non-zero exit.
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from pathlib import Path

from ..core.models import CassetteData
from ..drift import CassetteDiff, diff_data, diff_paths, render, worst
from ..errors import CassetteFormatError
from ..storage import loads
from .common import format_error

EXIT = {"same": 0, "reworded": 0, "changed": 1}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("old", type=Path, metavar="OLD", help="the cassette file or folder before")
    parser.add_argument("new", type=Path, metavar="NEW", help="the cassette file or folder after")
    parser.add_argument("git_args", nargs="*", help=argparse.SUPPRESS)  # what git passes after OLD/NEW
    parser.add_argument("--json", action="store_true", help="print the comparison as JSON")
    parser.add_argument("-v", "--verbose", action="store_true", help="list the interactions that are the same too")
    parser.add_argument(
        "--git",
        action="store_true",
        help="act as a git external diff driver (git passes PATH OLD-FILE OLD-HEX OLD-MODE NEW-FILE ...)",
    )


def run(args: argparse.Namespace) -> int:
    if args.git:
        return _run_git(args)
    if args.git_args:
        print(f"llm-cassette diff: error: unexpected arguments {' '.join(args.git_args)}", file=sys.stderr)
        return 2
    for p in (args.old, args.new):
        if not p.exists():
            print(f"llm-cassette diff: error: no such file or directory: {p}", file=sys.stderr)
            return 2
    try:
        diffs = diff_paths(args.old, args.new)
    except CassetteFormatError as exc:
        print(f"llm-cassette diff: error: {format_error(exc)}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"llm-cassette diff: error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), file=sys.stderr)
        return 2
    verdict = worst([d.verdict for d in diffs])
    if args.json:
        print(json.dumps({"verdict": verdict, "cassettes": [d.to_json() for d in diffs]}, indent=2))
    else:
        sys.stdout.write(render(diffs, verbose=args.verbose))
    return EXIT[verdict]


def _run_git(args: argparse.Namespace) -> int:
    """`git diff` with `diff.llm-cassette.command`: argv is PATH OLD-FILE OLD-HEX OLD-MODE NEW-FILE ..."""
    rest = [str(args.new), *args.git_args]
    if len(rest) < 6:
        print("llm-cassette diff --git: expected the 7 arguments git passes to an external diff", file=sys.stderr)
        return 2
    name, old_file, new_file = str(args.old), Path(rest[0]), Path(rest[3])
    old_text, new_text = _read(old_file), _read(new_file)
    print(f"llm-cassette diff a/{name} b/{name}")
    try:
        old = _parse(old_text, name)
        new = _parse(new_text, name)
    except CassetteFormatError as exc:
        # Not a cassette (or one side is broken, say mid-merge): show the plain text diff instead.
        print(f"(not compared as a cassette: {exc}; plain diff follows)")
        sys.stdout.writelines(
            difflib.unified_diff(
                old_text.splitlines(keepends=True), new_text.splitlines(keepends=True), f"a/{name}", f"b/{name}"
            )
        )
        return 0
    diff = diff_data(
        old or CassetteData(), new or CassetteData(), Path(name) if old else None, Path(name) if new else None
    )
    sys.stdout.write(_git_summary(diff, args.verbose))
    return 0


def _read(path: Path) -> str:
    if str(path) == "/dev/null":
        return ""
    return path.read_text(encoding="utf-8", errors="replace")


def _parse(text: str, name: str) -> CassetteData | None:
    return loads(text, name) if text else None


def _git_summary(diff: CassetteDiff, verbose: bool) -> str:
    lines = render([diff], verbose=verbose).splitlines()
    return "\n".join(lines[:-1]) + "\n"  # one file: the closing total would repeat the first line
