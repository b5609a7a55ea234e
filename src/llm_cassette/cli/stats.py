"""`llm-cassette stats`: what a folder of cassettes holds, and what replaying it saves.

Counts cassettes and interactions (streamed or not, errors), sums the recorded token usage by
model, and prices it from an optional table (`--prices prices.yaml`, dollars per million tokens):
every full replay of the suite is that many tokens, and dollars, not spent on a real API.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from ..core.age import oldest_recording, parse_max_age, too_old
from ..describe import describe
from ..describe.pricing import Price, PriceTableError, load_prices, price_for
from ..errors import CassetteError, CassetteFormatError
from ..storage import cassette_files, load
from .common import cannot_read, format_error, note_vcr_cassettes, plural, report_missing

NO_MODEL = "(no model)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths", nargs="*", type=Path, metavar="DIR", help="cassette folders or files (default: ./cassettes)"
    )
    parser.add_argument(
        "--prices",
        type=Path,
        metavar="PRICES.yaml",
        help="price table: model -> {input: $ per 1M tokens, output: $ per 1M tokens}",
    )
    parser.add_argument("--json", action="store_true", help="print the numbers as JSON")
    parser.add_argument(
        "--max-age", type=_age, metavar="AGE", help="list the cassettes recorded longer ago than AGE (90d, 12w, 36h)"
    )


def _age(value: str) -> timedelta:
    try:
        return parse_max_age(value, "--max-age")
    except CassetteError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


@dataclass
class ModelStats:
    """Calls and recorded tokens for one model (the model the request asked for)."""

    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    cost: float | None = None


@dataclass
class Stats:
    """Everything `stats` reports; `invalid` lists the files that could not be read."""

    cassettes: int = 0
    interactions: int = 0
    streamed: int = 0
    errors: int = 0
    models: dict[str, ModelStats] = field(default_factory=dict)
    invalid: list[str] = field(default_factory=list)
    #: When the oldest interaction of all was recorded (None: nothing says, format version 1).
    oldest: datetime | None = None
    #: `path: recorded ..., N days ago (max age ...)` for each cassette older than `--max-age`.
    too_old: list[str] = field(default_factory=list)

    @property
    def not_streamed(self) -> int:
        return self.interactions - self.streamed

    @property
    def input_tokens(self) -> int:
        return sum(m.input_tokens for m in self.models.values())

    @property
    def output_tokens(self) -> int:
        return sum(m.output_tokens for m in self.models.values())

    @property
    def total_tokens(self) -> int:
        return sum(m.total_tokens for m in self.models.values())

    @property
    def cost(self) -> float | None:
        """Total cost of the priced models, None when no model has a price."""
        costs = [m.cost for m in self.models.values() if m.cost is not None]
        return sum(costs) if costs else None

    @property
    def unpriced(self) -> list[str]:
        """Models that used tokens but have no price."""
        return [name for name, m in self.models.items() if m.cost is None and m.total_tokens]

    def to_json(self) -> dict[str, Any]:
        return {
            "cassettes": self.cassettes,
            "interactions": self.interactions,
            "streamed": self.streamed,
            "not_streamed": self.not_streamed,
            "errors": self.errors,
            "models": {name: asdict(m) for name, m in self.models.items()},
            "replay_saves": {
                "input_tokens": self.input_tokens,
                "output_tokens": self.output_tokens,
                "total_tokens": self.total_tokens,
                "cost": self.cost,
                "unpriced_models": self.unpriced,
            },
            "invalid": self.invalid,
            "oldest_recorded_at": self.oldest.strftime("%Y-%m-%dT%H:%M:%SZ") if self.oldest else None,
            "too_old": self.too_old,
        }


def collect(paths: list[Path], prices: dict[str, Price] | None = None, max_age: timedelta | None = None) -> Stats:
    """Read every cassette file under `paths` (`storage.cassette_files`); unreadable ones are
    listed in `Stats.invalid`."""
    stats = Stats()
    for path in cassette_files(paths):
        try:
            data = load(path)
        except CassetteFormatError as exc:
            stats.invalid.append(format_error(exc))
            continue
        except OSError as exc:
            stats.invalid.append(cannot_read(path, exc))
            continue
        stats.cassettes += 1
        oldest = oldest_recording(data.interactions)
        if oldest is not None and (stats.oldest is None or oldest < stats.oldest):
            stats.oldest = oldest
        old = too_old(data.interactions, max_age) if max_age is not None else None
        if old is not None:
            stats.too_old.append(f"{path}: {old}")
        for interaction in data.interactions:
            view = describe(interaction)
            stats.interactions += 1
            stats.streamed += view.streamed
            stats.errors += view.is_error
            if view.model is None and view.usage is None:
                continue  # not an LLM call (a model list, a health check...)
            model = stats.models.setdefault(view.model or NO_MODEL, ModelStats())
            model.calls += 1
            if view.usage is not None:
                model.input_tokens += view.usage.input_tokens
                model.output_tokens += view.usage.output_tokens
                model.total_tokens += view.usage.total_tokens
    stats.models = dict(sorted(stats.models.items(), key=lambda kv: (-kv[1].total_tokens, kv[0])))
    for name, model in stats.models.items():
        price = price_for(name, prices or {})
        if price is not None:
            model.cost = (model.input_tokens * price.input + model.output_tokens * price.output) / 1_000_000
    return stats


def run(args: argparse.Namespace) -> int:
    paths: list[Path] = args.paths or [Path("cassettes")]
    if report_missing(paths, "{}: no such file or directory"):
        return 1
    prices = None
    if args.prices is not None:
        try:
            prices = load_prices(args.prices)
        except PriceTableError as exc:
            print(str(exc), file=sys.stderr)
            return 1
    note_vcr_cassettes(paths)
    stats = collect(paths, prices, args.max_age)
    for problem in stats.invalid:
        print(problem, file=sys.stderr)
    if args.json:
        print(json.dumps(stats.to_json(), indent=2))
    else:
        sys.stdout.write(render(stats, priced=prices is not None))
    return 1 if stats.invalid else 0


def render(stats: Stats, *, priced: bool = False) -> str:
    """The plain-text report."""
    lines = [
        f"{plural(stats.cassettes, 'cassette')}, {plural(stats.interactions, 'interaction')} "
        f"({stats.streamed} streamed, {stats.not_streamed} not streamed), {plural(stats.errors, 'error')}",
    ]
    if stats.models:
        lines.append("")
        width = max(len("model"), *(len(name) for name in stats.models))
        header = f"{'model'.ljust(width)}  {'calls':>6}  {'input':>10}  {'output':>10}  {'total':>10}"
        lines.append(header + ("  cost" if priced else ""))
        for name, m in stats.models.items():
            row = (
                f"{name.ljust(width)}  {m.calls:>6}  {m.input_tokens:>10}  {m.output_tokens:>10}  {m.total_tokens:>10}"
            )
            lines.append(row + (f"  {_money(m.cost) if m.cost is not None else '-'}" if priced else ""))
    lines.append("")
    saved = (
        f"Each full replay saves {stats.input_tokens} input + {stats.output_tokens} output "
        f"= {stats.total_tokens} tokens"
    )
    if stats.cost is not None:
        saved += f", {_money(stats.cost)}"
    lines.append(saved + ".")
    if priced and stats.unpriced:
        lines.append(f"No price for: {', '.join(stats.unpriced)} (add them to the price table).")
    if stats.too_old:
        lines.append("")
        lines.append(f"{plural(len(stats.too_old), 'cassette')} older than the maximum age:")
        lines.extend(f"  {line}" for line in stats.too_old)
    return "\n".join(lines) + "\n"


def _money(amount: float) -> str:
    if amount == 0:
        return "$0"
    if amount >= 0.01:
        return f"${amount:,.2f}"
    return f"${amount:.6f}".rstrip("0")
