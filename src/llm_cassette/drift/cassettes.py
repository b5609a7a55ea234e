"""Two cassettes (or two folders of them) compared interaction by interaction.

Interactions are paired by what the application asked (method, URL, model, the messages it sent
apart from earlier replies, the tools it offered), in recorded order, so a retry that appeared or
disappeared shows as one extra or missing interaction instead of shifting every pair after it.
Unpaired requests in the same place are compared with each other; what is left is missing or
extra, which is `changed`.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.models import CassetteData, Interaction
from ..describe import describe
from ..storage import iter_cassette_files, load
from .compare import Difference, Verdict, compare_interactions, url_key, verdict_of, worst


@dataclass(frozen=True)
class InteractionDiff:
    """One pair of interactions (or one without its counterpart), numbered from 1 as in `show`."""

    old_index: int | None
    new_index: int | None
    label: str
    differences: tuple[Difference, ...] = ()
    verdict: Verdict = "same"

    @property
    def where(self) -> str:
        if self.old_index is None:
            return f"+#{self.new_index}"
        if self.new_index is None:
            return f"-#{self.old_index}"
        return f"#{self.new_index}" if self.old_index == self.new_index else f"#{self.old_index}->#{self.new_index}"

    def to_json(self) -> dict[str, Any]:
        return {
            "old": self.old_index,
            "new": self.new_index,
            "request": self.label,
            "verdict": self.verdict,
            "differences": [d.to_json() for d in self.differences],
        }


@dataclass
class CassetteDiff:
    """Every interaction of one cassette against its other recording."""

    old: Path | None
    new: Path | None
    interactions: list[InteractionDiff] = field(default_factory=list)

    @property
    def verdict(self) -> Verdict:
        if self.old is None or self.new is None:
            return "changed"
        return worst([i.verdict for i in self.interactions])

    @property
    def name(self) -> str:
        return str(self.new if self.new is not None else self.old)

    def counts(self) -> dict[Verdict, int]:
        out: dict[Verdict, int] = {"same": 0, "reworded": 0, "changed": 0}
        for i in self.interactions:
            out[i.verdict] += 1
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "old": str(self.old) if self.old is not None else None,
            "new": str(self.new) if self.new is not None else None,
            "verdict": self.verdict,
            "interactions": [i.to_json() for i in self.interactions],
        }


def label(it: Interaction) -> str:
    """`POST /v1/chat/completions gpt-4o-mini`: what the summary calls an interaction."""
    view = describe(it)
    path = url_key(it.request.url)[3]
    return f"{it.request.method} {path}" + (f" {view.model}" if view.model else "")


def _pairing_key(it: Interaction) -> tuple[object, ...]:
    view = describe(it)
    asked = tuple(
        (m.role, "" if m.role == "assistant" else m.content, tuple(c.name for c in m.tool_calls)) for m in view.messages
    )
    body: object = it.request.body if view.api == "other" else None
    return (it.request.method, url_key(it.request.url), view.model, asked, view.tools, body)


def diff_interactions(
    old: Sequence[Interaction], new: Sequence[Interaction], *, missing_is_change: bool = True
) -> list[InteractionDiff]:
    """Pair and compare two interaction lists. With `missing_is_change=False`, interactions only
    in `old` are left out (a test that records part of a cassette other tests share)."""
    out: list[InteractionDiff] = []
    matcher = difflib.SequenceMatcher(None, [_pairing_key(i) for i in old], [_pairing_key(i) for i in new], False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        pairs = min(i2 - i1, j2 - j1) if tag in ("equal", "replace") else 0
        for k in range(pairs):
            a, b = old[i1 + k], new[j1 + k]
            diffs = compare_interactions(a, b)
            out.append(InteractionDiff(i1 + k + 1, j1 + k + 1, label(b), tuple(diffs), verdict_of(diffs)))
        for i in range(i1 + pairs, i2):
            if missing_is_change:
                gone = Difference("interaction", "changed", "recorded", "no longer sent")
                out.append(InteractionDiff(i + 1, None, label(old[i]), (gone,), "changed"))
        for j in range(j1 + pairs, j2):
            extra = Difference("interaction", "changed", "not recorded", "sent")
            out.append(InteractionDiff(None, j + 1, label(new[j]), (extra,), "changed"))
    return out


def diff_data(old: CassetteData, new: CassetteData, old_path: Path | None = None, new_path: Path | None = None,
              *, missing_is_change: bool = True) -> CassetteDiff:  # fmt: skip
    return CassetteDiff(
        old_path, new_path, diff_interactions(old.interactions, new.interactions, missing_is_change=missing_is_change)
    )


def diff_files(old: Path, new: Path) -> CassetteDiff:
    """Compare two cassette files (raises `CassetteFormatError` / `OSError`)."""
    return diff_data(load(old), load(new), old, new)


def diff_paths(old: Path, new: Path) -> list[CassetteDiff]:
    """Compare two files, or two folders file by file (paired by path relative to each folder).

    A cassette only in one folder is `changed`: every interaction in it is missing or extra.
    """
    if not old.is_dir() and not new.is_dir():
        return [diff_files(old, new)]
    if old.is_dir() != new.is_dir():
        raise NotADirectoryError(f"cannot compare a file with a folder: {old} and {new}")
    olds = {p.relative_to(old): p for p in iter_cassette_files([old])}
    news = {p.relative_to(new): p for p in iter_cassette_files([new])}
    out: list[CassetteDiff] = []
    for rel in sorted(olds.keys() | news.keys()):
        a, b = olds.get(rel), news.get(rel)
        if a is not None and b is not None:
            out.append(diff_files(a, b))
        elif a is not None:
            out.append(diff_data(load(a), CassetteData(), a, None))
        else:
            assert b is not None
            out.append(diff_data(CassetteData(), load(b), None, b))
    return out


# --- text ------------------------------------------------------------------------------------


def render(diffs: Sequence[CassetteDiff], *, verbose: bool = False) -> str:
    """The summary `llm-cassette diff` prints: per cassette, its class and each interaction's."""
    lines: list[str] = []
    for d in diffs:
        counts = d.counts()
        tally = ", ".join(f"{n} {v}" for v, n in counts.items() if n)
        where = (
            d.name
            if d.old is not None and d.new is not None
            else f"{d.name} (only in {'NEW' if d.old is None else 'OLD'})"
        )
        lines.append(f"{where}: {d.verdict}" + (f" ({tally})" if tally else " (no interactions)"))
        for i in d.interactions:
            if i.verdict == "same" and not verbose:
                continue
            lines.append(f"  {i.where} {i.label}: {i.verdict}")
            lines.extend(
                f"      {diff}" + ("" if diff.verdict == i.verdict else f"  ({diff.verdict})") for diff in i.differences
            )
    verdict = worst([d.verdict for d in diffs])
    files = len(diffs)
    lines.append(
        f"{verdict}: {files} cassette{'' if files == 1 else 's'} compared, "
        + ", ".join(f"{sum(1 for d in diffs if d.verdict == v)} {v}" for v in ("same", "reworded", "changed"))
    )
    return "\n".join(lines) + "\n"
