"""The `llm-cassette` command line: a thin door onto the same core as the plugin.

Each subcommand lives in its own module of this package with `add_arguments(parser)` and `run(args) -> int`;
they are imported only when used, so `llm-cassette --help` stays fast. No command module imports
another: what they share is in `common.py` or in the package that owns the concept.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

# subcommand → (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "check": ("llm_cassette.cli.check", "validate cassettes and scan them for secrets (exit 1 on findings)"),
    "scrub": ("llm_cassette.cli.scrub", "re-apply redaction to existing cassettes in place"),
    "show": ("llm_cassette.cli.show", "print a readable summary of a cassette's interactions"),
    "stats": ("llm_cassette.cli.stats", "count cassettes, interactions and tokens under a folder"),
    "prune": ("llm_cassette.cli.prune", "list (or delete) cassette files no collected test uses"),
    "diff": ("llm_cassette.cli.diff", "compare two cassettes (or folders) as LLM calls: same, reworded, changed"),
    "import": ("llm_cassette.cli.import_vcr", "convert vcrpy / pytest-recording cassettes to this format"),
    "report": ("llm_cassette.cli.report", "render cassettes as one self-contained HTML page"),
    "fake-server": ("llm_cassette.cli.fake_server", "run the bundled fake OpenAI/Anthropic server"),
    "demo": ("llm_cassette.cli.demo", "record an example test against the fake server, then replay it offline"),
}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="llm-cassette",
        description="Record real LLM API traffic once, replay it forever.",
    )
    from .. import __version__

    parser.add_argument("--version", action="version", version=f"llm-cassette {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if only is None or only == name:
            module = importlib.import_module(module_name)
            module.add_arguments(p)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    # Import only the chosen subcommand's module (others may need optional extras).
    chosen = next((a for a in args_list if not a.startswith("-")), None)
    parser = build_parser(chosen if chosen in COMMANDS else "")
    args = parser.parse_args(args_list)
    if args.command is None:
        parser.print_help()
        return 2
    module = importlib.import_module(COMMANDS[args.command][0])
    try:
        result: int = module.run(args)
    except BrokenPipeError:
        # Output piped into `head` and the like: stop quietly, as Unix tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    return result
