"""`llm-cassette report`: render cassettes as one self-contained HTML page (`llm_cassette.report`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..report import DEFAULT_OUTPUT, DEFAULT_TITLE, write_cassettes
from .common import note_vcr_cassettes, plural, report_missing


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths",
        nargs="*",
        type=Path,
        default=[Path("cassettes")],
        help="cassette files or folders (default: cassettes)",
    )
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        default=Path(DEFAULT_OUTPUT),
        help=f"the HTML file to write (default: {DEFAULT_OUTPUT})",
    )
    parser.add_argument("--title", default=DEFAULT_TITLE, help="the page title")
    parser.add_argument(
        "--root",
        type=Path,
        default=None,
        help="show cassette paths relative to this folder (default: the paths' common folder)",
    )


def run(args: argparse.Namespace) -> int:
    if report_missing(args.paths, "llm-cassette report: no such file or folder: {}"):
        return 2
    note_vcr_cassettes(args.paths)
    cassettes = write_cassettes(args.paths, args.output, args.title, args.root)
    invalid = sum(c.invalid is not None for c in cassettes)
    counts = plural(len(cassettes), "cassette", thousands=True) + (f", {invalid} invalid" if invalid else "")
    print(f"wrote {args.output} ({counts})")
    return 0
