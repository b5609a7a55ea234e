"""`llm-cassette show`: what a cassette holds, one readable block per interaction.

For each interaction: method, URL and status; the model; the last user message; the assembled
reply (streamed or not, with tool calls and their arguments); token usage; timing; and what went
wrong, if anything (a transport error, an HTTP error with the provider's message, a dropped or cut
stream). Colour when stdout is a terminal, plain text when piped.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..describe import LLMView, describe
from ..errors import CassetteFormatError
from ..storage import cassette_files, load
from .common import cannot_read, format_error, ms, note_vcr_cassettes, plural, report_missing

USER_WIDTH = 100
REPLY_WIDTH = 240
_LABEL = 10

_Row = Callable[[str, str], None]  # adds one `label  value` line


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths", nargs="*", type=Path, metavar="PATH", help="cassette files or folders (default: cassettes)"
    )
    parser.add_argument(
        "--color",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="force colour on or off (default: colour when stdout is a terminal and NO_COLOR is unset)",
    )
    parser.add_argument(
        "--full", action="store_true", help="print every message of each request and the whole reply, unshortened"
    )


def run(args: argparse.Namespace) -> int:
    style = Style(use_color(args.color, sys.stdout))
    paths: list[Path] = args.paths or [Path("cassettes")]
    if report_missing(paths, "llm-cassette show: no such file or directory: {}"):
        return 1
    note_vcr_cassettes(paths)
    failed = False
    first = True
    for path in cassette_files(paths):
        try:
            data = load(path)
        except CassetteFormatError as exc:
            print(format_error(exc), file=sys.stderr)
            failed = True
            continue
        except OSError as exc:
            print(cannot_read(path, exc), file=sys.stderr)
            failed = True
            continue
        if not first:
            print()
        first = False
        views = [describe(it) for it in data.interactions]
        sys.stdout.write(render_cassette(path, views, style, full=args.full))
    return 1 if failed else 0


def use_color(flag: bool | None, stream: object) -> bool:
    """`--color`/`--no-color` when given, else: a terminal, `NO_COLOR` unset, and not `TERM=dumb`."""
    if flag is not None:
        return flag
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


@dataclass(frozen=True)
class Style:
    """ANSI styling that turns into plain text when `color` is off."""

    color: bool

    def _wrap(self, code: str, text: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.color and text else text

    def bold(self, text: str) -> str:
        return self._wrap("1", text)

    def dim(self, text: str) -> str:
        return self._wrap("2", text)

    def red(self, text: str) -> str:
        return self._wrap("31", text)

    def green(self, text: str) -> str:
        return self._wrap("32", text)

    def yellow(self, text: str) -> str:
        return self._wrap("33", text)

    def cyan(self, text: str) -> str:
        return self._wrap("36", text)


def shorten(text: str, width: int) -> str:
    """`text` on one line (whitespace collapsed), cut to `width` characters with `...`."""
    line = re.sub(r"\s+", " ", text).strip()
    return line if len(line) <= width else line[: max(width - 3, 1)].rstrip() + "..."


def render_cassette(path: Path, views: list[LLMView], style: Style, *, full: bool = False) -> str:
    """The text `show` prints for one cassette."""
    count = len(views)
    lines = [f"{style.bold(str(path))}  {style.dim(plural(count, 'interaction'))}"]
    for index, view in enumerate(views, start=1):
        lines.append("")
        lines.extend(render_interaction(index, view, style, full=full))
    return "\n".join(lines) + "\n"


def render_interaction(index: int, view: LLMView, style: Style, *, full: bool = False) -> list[str]:
    """The lines for one interaction (the first unindented, the rest as `label  value` rows)."""
    if view.status is None:
        outcome = style.red(view.error.type if view.error else "no response")
    elif view.status >= 400:
        outcome = style.red(str(view.status))
    else:
        outcome = style.green(str(view.status))
    extra = style.dim(" streamed") if view.streamed else ""
    lines = [f"{style.bold(f'#{index}')} {view.method} {view.url} -> {outcome}{extra}"]

    def row(label: str, value: str) -> None:
        lines.append(f"    {style.dim(label.ljust(_LABEL))}{value}")

    if view.model:
        shown = view.model
        if view.response_model and view.response_model != view.model:
            shown += style.dim(f" (answered by {view.response_model})")
        row("model", style.cyan(shown))
    if full:
        for message in view.messages:
            text = _indent(message.content, 4 + _LABEL) if message.content else ""
            row(message.role, text)
            for call in message.tool_calls:
                row("", f"{call.name}({call.arguments})")
    else:
        user = view.last_user_message
        if user is not None:
            row("input" if view.api == "embeddings" else "user", shorten(user, USER_WIDTH))
    _reply_rows(view, style, row, full)
    if view.usage is not None:
        u = view.usage
        row("usage", f"{u.input_tokens} in + {u.output_tokens} out = {u.total_tokens} tokens")
    row("timing", _timing(view))
    _problem_rows(view, style, row)
    return lines


def _reply_rows(view: LLMView, style: Style, row: _Row, full: bool) -> None:
    if view.reply_text:
        text = _indent(view.reply_text, 4 + _LABEL) if full else shorten(view.reply_text, REPLY_WIDTH)
        row("reply", text + ("" if view.complete else style.yellow(" [incomplete]")))
    for call in view.tool_calls:
        args = call.arguments if full else shorten(call.arguments, REPLY_WIDTH)
        row("tool call", f"{style.bold(call.name)}({args})")
    if view.embeddings:
        dims = f" x {view.dimensions} dimensions" if view.dimensions else ""
        row("reply", f"{plural(view.embeddings, 'vector')}{dims}")
    if view.body_text:
        row("body", _indent(view.body_text, 4 + _LABEL) if full else shorten(view.body_text, REPLY_WIDTH))


def _timing(view: LLMView) -> str:
    parts: list[str] = []
    if not view.total_ms and not view.time_to_headers:  # imported cassettes carry no timing
        chunks = f"{plural(view.chunk_count, 'chunk')}, " if view.streamed else ""
        return f"{chunks}not recorded"
    if view.time_to_headers is not None:
        parts.append(f"headers {ms(view.time_to_headers)}")
    if view.streamed:
        if view.time_to_first_chunk is not None:
            parts.append(f"first chunk {ms(view.time_to_first_chunk)}")
        if view.total_ms is not None:
            parts.append(f"total {ms(view.total_ms)}")
        parts.append(plural(view.chunk_count, "chunk"))
    elif view.status is None and view.total_ms is not None:
        parts.append(f"failed after {ms(view.total_ms)}")
    return ", ".join(parts)


def _problem_rows(view: LLMView, style: Style, row: _Row) -> None:
    error = view.error
    if error is not None:
        if error.kind == "stream":
            where = f" after {plural(view.chunk_count, 'chunk')}"
            when = f" at {ms(error.t)}" if error.t is not None else ""
            row("error", style.red(f"{error.type}{where}{when}: {error.message}".rstrip(": ")))
        else:
            row("error", style.red(error.summary()))
    if view.cut:
        n = plural(view.chunk_count, "chunk")
        if view.complete:
            row("cut", style.dim(f"the caller closed the stream after its final event ({n})"))
        else:
            row("cut", style.yellow(f"the caller stopped reading after {n}; the rest was never recorded"))


def _indent(text: str, width: int) -> str:
    return text.replace("\n", "\n" + " " * width)
