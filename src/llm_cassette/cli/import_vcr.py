"""`llm-cassette import`: convert vcrpy / pytest-recording cassettes to llm-cassette cassettes.

The conversion itself is `llm_cassette.vcr_import`; this is its command line, and where each
converted file goes:

- by default, the files below a folder argument keep their path relative to it; with several
  folder arguments, relative to the folders' common parent, so two modules never collide;
- `--pytest-recording`: pytest-recording's default layout (`<dir>/cassettes/<module>/<test>.yaml`,
  next to each test module) becomes the plugin's (`<out>/<dir>/<module>/<test>.yaml`, `<dir>`
  relative to the current folder): run it from the rootdir with `--out` the `llm_cassette_dir`.

Nothing is dropped silently: a file with a key the reader does not know is not converted, the
key is named, and the command exits 1.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from ..core.redaction import Redactor
from ..plugin.paths import safe_file_name
from ..vcr_import import (
    VCR_SUFFIXES,
    NotVcrCassette,
    Serializer,
    convert_file,
    is_llm_cassette,
    load_serializer,
)
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
        help="write converted cassettes here, keeping their layout below the folder arguments "
        "(e.g. `import tests/cassettes --out cassettes/tests`)",
    )
    where.add_argument("--in-place", action="store_true", help="overwrite each vcrpy cassette with its conversion")
    parser.add_argument(
        "--pytest-recording",
        action="store_true",
        help="map pytest-recording's layout (<dir>/cassettes/<module>/<test>.yaml) to the plugin's "
        "(<out>/<dir>/<module>/<test>.yaml); run from the rootdir with --out set to llm_cassette_dir",
    )
    parser.add_argument(
        "--serializer",
        metavar="MODULE[:OBJECT]",
        help="read the files through the project's own vcrpy serializer (its `deserialize`): a .py file "
        "(tests/json_body_serializer.py) or a dotted module importable from here, optionally :object",
    )
    parser.add_argument("--force", action="store_true", help="overwrite existing files under --out")


def run(args: argparse.Namespace) -> int:
    if args.out is None and not args.in_place:
        print("llm-cassette import: give --out DIR (or --in-place to overwrite the vcrpy files)", file=sys.stderr)
        return 2
    if args.pytest_recording and args.out is None:
        print("llm-cassette import: --pytest-recording needs --out DIR (your llm_cassette_dir)", file=sys.stderr)
        return 2
    serializer: Serializer | None = None
    try:
        if args.serializer:
            serializer = load_serializer(args.serializer)
        pairs = list(plan_targets(args.paths, args.out, pytest_recording=args.pytest_recording))
    except NotVcrCassette as exc:
        print(f"llm-cassette import: {exc}", file=sys.stderr)
        return 2
    redactor = Redactor.build()
    refused = 0
    for source, target in pairs:
        problem = _why_not(source, target, args)
        if problem is None:
            try:
                result = convert_file(source, target, redactor, serializer)
            except NotVcrCassette as exc:
                if is_llm_cassette(source):
                    print(f"{source}: already an llm-cassette cassette, skipped")
                    continue
                problem = str(exc)
            else:
                streams = f", {result.streams} streamed" if result.streams else ""
                arrow = "" if result.target == source else f" -> {result.target}"
                print(f"{source}{arrow}: {plural(result.interactions, 'interaction')}{streams}")
                continue
        print(problem, file=sys.stderr)
        refused += 1
    if refused:
        print(f"llm-cassette import: {plural(refused, 'file')} NOT converted (see above)", file=sys.stderr)
    return 1 if refused else 0


def _why_not(source: Path, target: Path, args: argparse.Namespace) -> str | None:
    if not source.exists():
        return f"{source}: no such file or directory"
    if args.in_place and source.suffix == ".json":
        return f"{source}: a JSON cassette cannot be converted in place; use --out DIR"
    if target.exists() and not args.in_place and not args.force:
        return f"{source}: {target} already exists (pass --force to overwrite it)"
    return None


def plan_targets(paths: list[Path], out: Path | None, *, pytest_recording: bool = False) -> Iterator[tuple[Path, Path]]:
    """(source, target) pairs. JSON cassettes become `.yaml`. With no `out`, each target is its source.

    Raises NotVcrCassette when two sources would be written to one target.
    """
    folders = [p for p in paths if p.is_dir()]
    base = Path(os.path.commonpath([p.resolve() for p in folders])) if len(folders) > 1 else None
    seen: dict[Path, Path] = {}
    for path in paths:
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in VCR_SUFFIXES)
            if pytest_recording:  # only what pytest-recording wrote: <dir>/cassettes/<module>/<test>
                files = [f for f in files if len(f.parts) >= 3 and f.parts[-3] == "cassettes"]
        else:
            files = [path]
        for source in files:
            if out is None:
                yield source, source
                continue
            if pytest_recording:
                relative = _pytest_recording_relative(source)
            elif path.is_dir():
                relative = source.resolve().relative_to(base) if base else source.relative_to(path)
            else:
                relative = Path(source.name)
            target = out / relative
            if target.suffix == ".json":
                target = target.with_suffix(".yaml")
            if target in seen and seen[target] != source:
                raise NotVcrCassette(f"{seen[target]} and {source} would both be written to {target}")
            seen[target] = source
            yield source, target


def _pytest_recording_relative(source: Path) -> Path:
    """`<dir>/cassettes/<module>/<name>` -> `<dir>/<module>/<name>`, `<dir>` relative to the current folder."""
    absolute = source.resolve()
    try:
        relative = absolute.relative_to(Path.cwd().resolve())
    except ValueError:
        raise NotVcrCassette(f"{source}: --pytest-recording needs the cassettes below the current folder") from None
    parts = relative.parts
    if len(parts) < 3 or parts[-3] != "cassettes":
        raise NotVcrCassette(
            f"{source}: not in pytest-recording's layout (<dir>/cassettes/<module>/<test>.yaml); "
            "convert it without --pytest-recording"
        )
    # pytest-recording replaced `<>?%*:|"'/\\` in the test name with `-`; the plugin replaces
    # every other unsafe character with `_` too (a space, say).
    name = safe_file_name(Path(parts[-1]).stem) + Path(parts[-1]).suffix
    return Path(*parts[:-3], parts[-2], name)
