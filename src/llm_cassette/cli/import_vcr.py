"""`llm-cassette import`: convert vcrpy / pytest-recording cassettes to llm-cassette cassettes.

The conversion itself is `llm_cassette.vcr_import`; this is its command line.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..core.redaction import Redactor
from ..vcr_import import NotVcrCassette, convert_file, is_llm_cassette, plan_targets
from .common import plural


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths", nargs="+", type=Path, metavar="PATH", help="vcrpy cassette files, or folders to convert recursively"
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="write converted cassettes here, mirroring paths below each folder argument "
        "(e.g. `import tests/cassettes --out cassettes/tests` for the plugin's default layout)",
    )
    where.add_argument("--in-place", action="store_true", help="overwrite each vcrpy cassette with its conversion")
    parser.add_argument("--force", action="store_true", help="overwrite existing files under --out")


def run(args: argparse.Namespace) -> int:
    if args.out is None and not args.in_place:
        print("llm-cassette import: give --out DIR (or --in-place to overwrite the vcrpy files)", file=sys.stderr)
        return 2
    redactor = Redactor.build()
    failed = False
    for source, target in plan_targets(args.paths, args.out):
        if not source.exists():
            print(f"{source}: no such file or directory", file=sys.stderr)
            failed = True
            continue
        if args.in_place and source.suffix == ".json":
            print(f"{source}: a JSON cassette cannot be converted in place; use --out DIR", file=sys.stderr)
            failed = True
            continue
        if target.exists() and not args.in_place and not args.force:
            print(f"{source}: {target} already exists (pass --force to overwrite it)", file=sys.stderr)
            failed = True
            continue
        try:
            result = convert_file(source, target, redactor)
        except NotVcrCassette as exc:
            if is_llm_cassette(source):
                print(f"{source}: already an llm-cassette cassette, skipped")
                continue
            print(str(exc), file=sys.stderr)
            failed = True
            continue
        streams = f", {result.streams} streamed" if result.streams else ""
        arrow = "" if result.target == source else f" -> {result.target}"
        print(f"{source}{arrow}: {plural(result.interactions, 'interaction')}{streams}")
    return 1 if failed else 0
