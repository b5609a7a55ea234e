"""Workload 1b: per-request replay with the DEFAULT semantics.

A cassette holds N recordings of the same request and the test sends it N times: each recording
answers once, in recorded order (no `allow_playback_repeats`). This is what a test that calls
the same endpoint N times replays, and what workload 1 (one recording, repeats allowed) is the
best case of. Only the sends are timed, never entering or leaving the block.
"""

# ruff: noqa: RUF001  (the report prints multiplication and minus signs on purpose)

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import vcr
import yaml

from llm_cassette import CassetteData, load, save, use_cassette

from ._bench import Series, cpu_clock, fmt_ratio, fmt_time, interleave, ratio_median, table
from ._corpus import CHAT_BODY, Corpus
from ._peers import FLOOR, client
from ._report import Config, Log, Section, Target, judge

SIZES = (1, 200, 2000)
QUICK_SIZES = (1, 5, 20)  # --quick: only that the workload still runs
STACKS = ("httpx", "httpx2")
#: vcrpy finds the first unplayed match by scanning the cassette: N = 2,000 would take minutes.
VCRPY_MAX = 200
TOOLS = (FLOOR, "llm-cassette", "vcrpy")
TARGET = 1.10


def _cassettes(corpus: Corpus, n: int) -> dict[str, Path]:
    """N copies of the recorded chat interaction, in each tool's own format."""
    folder = corpus.root / "in-order"
    folder.mkdir(exist_ok=True)
    ours = folder / f"llm-{n}.yaml"
    if not ours.exists():
        one = load(corpus.chat["llm-cassette"]).interactions
        save(ours, CassetteData(interactions=list(one) * n))
    out = {"llm-cassette": ours}
    if n <= VCRPY_MAX:
        theirs = folder / f"vcrpy-{n}.yaml"
        if not theirs.exists():
            doc = yaml.safe_load(corpus.chat["vcrpy"].read_text())
            doc["interactions"] = doc["interactions"] * n
            theirs.write_text(yaml.safe_dump(doc))
        out["vcrpy"] = theirs
    return out


def _context(tool: str, cassette: Path | None) -> Any:
    if tool == "llm-cassette":
        return use_cassette(cassette, record_mode="none")  # the defaults: each recording answers once
    if tool == "vcrpy":
        return vcr.VCR(record_mode="none").use_cassette(str(cassette))
    return None


def in_order_replay(corpus: Corpus, cfg: Config, log: Log) -> Section:
    assert corpus.chat_response is not None
    expected = corpus.chat_response.body
    total = cfg.requests
    sizes = QUICK_SIZES if cfg.quick else SIZES
    results: dict[tuple[str, int], dict[str, Series]] = {}
    for stack in STACKS:
        for n in sizes:
            paths = _cassettes(corpus, n)
            blocks = max(1, total // n)
            cases: dict[str, Callable[[], float]] = {}
            for tool in TOOLS:
                if tool != FLOOR and tool not in paths:
                    continue

                def case(
                    tool: str = tool,
                    n: int = n,
                    blocks: int = blocks,
                    stack: str = stack,
                    paths: dict[str, Path] = paths,
                ) -> float:
                    assert corpus.chat_response is not None
                    c = client(tool, stack, corpus.chat_response, base_url=corpus.base_url)
                    spent = 0.0
                    try:
                        for _ in range(blocks):
                            ctx = _context(tool, paths.get(tool))
                            if ctx is not None:
                                ctx.__enter__()
                            try:
                                start = cpu_clock()
                                for _ in range(n):
                                    r = c.post(corpus.chat_url, json=CHAT_BODY)
                                spent += cpu_clock() - start
                                if r.content != expected:
                                    raise AssertionError(f"{tool}: unexpected replay {r.content[:80]!r}")
                            finally:
                                if ctx is not None:
                                    ctx.__exit__(None, None, None)
                    finally:
                        c.close()
                    return spent / (blocks * n)

                cases[tool] = case
            log(f"in-order replay, N={n} x{blocks} via {stack}: {', '.join(cases)}")
            results[stack, n] = interleave(cases, cfg.in_order_rounds, warm=not cfg.quick)

    rows = []
    ratios: dict[tuple[str, str, int], float] = {}
    for tool in TOOLS:
        row = [f"**{tool}**" if tool == "llm-cassette" else tool]
        for stack in STACKS:
            for n in sizes:
                res = results[stack, n]
                if tool not in res:
                    row.append("n/a (scans)")
                    continue
                r = ratio_median(res[tool], res[FLOOR])
                ratios[tool, stack, n] = r
                row.append(f"{fmt_time(res[tool].median())} ({fmt_ratio(r)})")
        rows.append(row)
    header = ["tool", *[f"{s}, N = {n:,}" for s in STACKS for n in sizes]]
    targets = []
    for stack in STACKS:
        worst = max(ratios["llm-cassette", stack, n] for n in sizes)
        spread = ", ".join(f"{fmt_ratio(ratios['llm-cassette', stack, n])} at {n:,}" for n in sizes)
        targets.append(
            Target(
                f"replay, default semantics, raw {stack}",
                f"≤ {TARGET:.2f}× floor at N = 1, 200, 2,000",
                spread,
                judge(cfg, worst <= TARGET),
            )
        )
    notes = [
        "Default semantics: the cassette holds N recordings of the request and each answers once, in "
        "recorded order (llm-cassette and vcrpy defaults; no `allow_playback_repeats`). "
        f"{total:,} requests per tool and round (at N = 1, {total:,} blocks of one request; at larger N, "
        "as many blocks of N as fit, at least one).",
        "Per request: CPU time of the sends only (entering and leaving the block are not timed), median "
        f"over {cfg.in_order_rounds} rounds; in brackets the median of the per-round ratios to `MockTransport` "
        "(the floor).",
        f"vcrpy scans the cassette for the first unplayed match, so it is measured up to N = {VCRPY_MAX}.",
    ]
    return Section(
        "1b. Per-request replay, default semantics (N recordings, each played once, in order)",
        "The same request sent N times through one client; the best case of workload 1 does not apply.",
        table(header, rows),
        notes,
        targets,
        {"ratios": ratios},
    )
