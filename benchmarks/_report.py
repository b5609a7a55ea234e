"""What a workload hands back: a `Section` of the report, with its targets; and the run's counts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Config:
    """Counts for one run (`full()` for the report, `quick_()` for CI)."""

    quick: bool
    rounds: int  # raw-client replay, SSE replay (an SSE ratio moved by ±5% between runs of 4 rounds)
    in_order_rounds: int  # default-semantics replay: its N = 1 ratio moves by ±5% between runs of 4 rounds
    sdk_rounds: int  # replay through the openai SDK (ten times slower per request)
    requests: int  # per-request replay loop
    sse_replays: int
    record_rounds: int
    record_model: str
    big_count: int
    mid_count: int  # a size every tool can load (cassetter refuses files over 250,000 YAML nodes)
    small_count: int
    big_rounds: int
    vcrpy_big_sample: int  # vcrpy matches by linear scan: a sample keeps the run short
    suite_tests: int
    suite_files: int
    suite_rounds: int
    suite_variants: tuple[str, ...] | None  # None: every variant

    @classmethod
    def full(cls) -> Config:
        return cls(
            quick=False,
            rounds=7,
            in_order_rounds=7,
            sdk_rounds=3,
            requests=2000,
            sse_replays=200,
            record_rounds=4,
            record_model="gpt-4o-mini+chunks20+delay50",
            big_count=2000,
            mid_count=1500,
            small_count=20,
            big_rounds=3,
            vcrpy_big_sample=10,
            suite_tests=300,
            suite_files=10,
            suite_rounds=13,  # one round moves by ±6%: the median of 9 still moved by 3% between runs
            suite_variants=None,
        )

    @classmethod
    def quick_(cls) -> Config:
        return cls(
            quick=True,
            rounds=1,
            in_order_rounds=1,
            sdk_rounds=1,
            requests=30,
            sse_replays=3,
            record_rounds=1,
            record_model="gpt-4o-mini+chunks3+delay5",
            big_count=60,
            mid_count=40,
            small_count=20,
            big_rounds=1,
            vcrpy_big_sample=3,
            suite_tests=6,
            suite_files=2,
            suite_rounds=1,
            suite_variants=("MockTransport fixture (baseline)", "llm-cassette"),
        )


@dataclass
class Target:
    """One promise from the issue, and how this run measured against it."""

    name: str
    goal: str
    measured: str
    met: bool | None  # None: not judged (quick mode, or not measurable here)


@dataclass
class Section:
    title: str
    intro: str
    body: str
    notes: list[str] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)

    def markdown(self) -> str:
        parts = [f"## {self.title}", "", self.intro, "", self.body]
        if self.notes:
            parts += ["", *[f"- {n}" for n in self.notes]]
        return "\n".join(parts) + "\n"


Log = Callable[[str], None]


def na(reason: str) -> str:
    return f"n/a ({reason})"


def judge(cfg: Config, ok: bool) -> bool | None:
    return None if cfg.quick else ok
