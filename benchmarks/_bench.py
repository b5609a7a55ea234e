"""Timing on a shared, noisy machine: interleaved rounds, medians, ratios against a floor.

Every workload hands `interleave()` one callable per tool. A callable does its own setup, times
only the part being measured and returns seconds (or a dict of named seconds). Within a round the
tools run one after another, in an order that rotates from round to round, so a burst of noise
from another process lands on every tool alike rather than on whichever happened to run then;
ratios are taken within a round (tool / floor, same round) and the median over rounds is quoted.

In-process workloads are timed in CPU time of this process (`cpu_clock`, i.e. `time.process_time`):
they are CPU-bound and single-threaded, and on a shared machine wall time mostly measures how
often the neighbours got the core. Whatever waits on a server or a subprocess uses wall time.
"""

# ruff: noqa: RUF001  (the report prints multiplication and minus signs on purpose)

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

Sample = float | dict[str, float]


@dataclass
class Series:
    """Every round's measurement of one tool in one workload (seconds, or named seconds)."""

    samples: list[Sample] = field(default_factory=list)

    def values(self, key: str | None = None) -> list[float]:
        out: list[float] = []
        for s in self.samples:
            if isinstance(s, dict):
                if key is not None and key in s:
                    out.append(s[key])
            elif key is None:
                out.append(s)
        return out

    def median(self, key: str | None = None) -> float:
        vals = self.values(key)
        return statistics.median(vals) if vals else float("nan")


cpu_clock = time.process_time


def timed(fn: Callable[[], object]) -> float:
    """CPU seconds `fn` takes, after a collection so garbage from the previous tool is not billed here."""
    gc.collect()
    start = cpu_clock()
    fn()
    return cpu_clock() - start


def interleave(
    cases: Mapping[str, Callable[[], Sample]],
    rounds: int,
    *,
    warm: bool = True,
    warmup: Mapping[str, Callable[[], object]] | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Series]:
    """Run every case once per round, rotating the order, after one untimed warm-up pass.

    The warm-up runs `warmup[name]` when given (a shorter version of the case: imports and
    first-use caches only need one pass), else the case itself.
    """
    names = list(cases)
    if warm:
        for name in names:
            (warmup or {}).get(name, cases[name])()
    result = {name: Series() for name in names}
    for r in range(rounds):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            result[name].samples.append(cases[name]())
        if progress is not None:
            progress(f"round {r + 1}/{rounds}")
    return result


def ratio_median(series: Series, floor: Series, key: str | None = None, floor_key: str | None = None) -> float:
    """Median over rounds of tool/floor, each ratio taken within one round."""
    tool_vals = series.values(key)
    floor_vals = floor.values(floor_key if floor_key is not None else key)
    ratios = [a / b for a, b in zip(tool_vals, floor_vals, strict=True) if b > 0]
    return statistics.median(ratios) if ratios else float("nan")


# --- formatting ---------------------------------------------------------------------------------


def fmt_time(seconds: float) -> str:
    """A duration with a unit that keeps three significant figures or so."""
    if seconds != seconds:  # NaN
        return "n/a"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs" if seconds < 1e-4 else f"{seconds * 1e6:.0f} µs"
    if seconds < 1.0:
        return f"{seconds * 1e3:.2f} ms" if seconds < 1e-2 else f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def fmt_ratio(ratio: float) -> str:
    return "n/a" if ratio != ratio else f"{ratio:.2f}×"


def table(header: list[str], rows: list[list[str]]) -> str:
    """A GitHub-flavoured markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)
