"""The report's model: each cassette read once, each interaction with what it means as an LLM call."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..core.models import Interaction
from ..describe import LLMView, Message, describe
from ..errors import CassetteFormatError
from ..storage import cassette_files, load


@dataclass(frozen=True)
class Entry:
    """A recorded interaction and what it means as an LLM call."""

    interaction: Interaction
    view: LLMView

    @property
    def status(self) -> str:
        """The HTTP status, or the transport error's type when no response came."""
        if self.view.status is not None:
            return str(self.view.status)
        return self.view.error.type if self.view.error is not None else "?"

    @property
    def error(self) -> str | None:
        """What went wrong, as one readable line (an HTTP error with the provider's message, a timeout...)."""
        err, view = self.view.error, self.view
        if err is None:
            return None
        if err.kind == "transport":
            line = f"{err.type} after {format_ms(err.t or 0)}, no response: {err.message}"
        elif err.kind == "stream":
            line = (
                f"stream dropped after {view.chunk_count} chunks, at {format_ms(err.t or 0)}: {err.type}: {err.message}"
            )
        elif err.kind == "event":
            line = f"error event in the stream: {err.summary()}"
        else:
            line = err.summary()
        return line.rstrip(": ")

    @property
    def reply(self) -> Message | None:
        """The model's answer as one assistant turn, or None when there is none to show."""
        view = self.view
        if view.api in ("embeddings", "other") or (
            view.error is not None and not view.reply_text and not view.tool_calls
        ):
            return None
        return Message("assistant", view.reply_text, view.tool_calls)

    def same_request(self, other: Entry) -> bool:
        a, b = self.interaction.request, other.interaction.request
        return (a.method, a.url, a.body) == (b.method, b.url, b.body)


@dataclass
class CassetteReport:
    """A cassette as the page shows it, or the reason it could not be read."""

    path: Path
    rel: str
    anchor: str
    entries: list[Entry] = field(default_factory=list)
    invalid: str | None = None

    @property
    def group(self) -> str:
        """The folder of the test module the cassette belongs to."""
        parent = Path(self.rel).parent.as_posix()
        return "" if parent == "." else parent

    @property
    def streamed(self) -> int:
        return sum(e.view.streamed for e in self.entries)

    @property
    def models(self) -> list[str]:
        return sorted({e.view.model for e in self.entries if e.view.model})

    @property
    def statuses(self) -> Counter[str]:
        return Counter(e.status for e in self.entries)

    @property
    def error_count(self) -> int:
        return sum(e.error is not None for e in self.entries)

    @property
    def tokens(self) -> tuple[int, int]:
        usages = [e.view.usage for e in self.entries if e.view.usage is not None]
        return sum(u.input_tokens for u in usages), sum(u.output_tokens for u in usages)


def read_cassette(path: Path, rel: str, anchor: str) -> CassetteReport:
    report = CassetteReport(path, rel, anchor)
    try:
        data = load(path)
    except CassetteFormatError as exc:
        report.invalid = str(exc)
    except OSError as exc:
        report.invalid = f"{path}: cannot read: {exc.strerror or exc}"
    else:
        report.entries = [Entry(it, describe(it)) for it in data.interactions]
    return report


def collect(cassette_paths: Sequence[Path], root: Path | None) -> list[CassetteReport]:
    paths = [Path(p) for p in cassette_paths]
    base = root if root is not None else _common_folder(paths)
    files = cassette_files(paths)  # what the run's summary, `stats` and `prune` count
    return [read_cassette(p, _relative(p, base), f"c{n}") for n, p in enumerate(files, 1)]


def _common_folder(paths: Sequence[Path]) -> Path:
    folders = [(p if p.is_dir() else p.parent).resolve() for p in paths]
    try:
        return Path(os.path.commonpath(folders)) if folders else Path.cwd()
    except ValueError:  # paths on different drives
        return Path.cwd()


def _relative(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def format_ms(t: float) -> str:
    """Milliseconds as the page shows them."""
    return f"{t:,.0f} ms" if t >= 100 else f"{t:.1f} ms"
