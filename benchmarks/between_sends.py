"""What the untimed work between two timed sends costs the second one:
`python benchmarks/between_sends.py [--stack httpx2] [--rounds 15] [--sends 1000]`.

Workload 1b at N = 1 times one send per `use_cassette` block, with the block itself untimed, against
a floor (`MockTransport`) whose sends follow one another with nothing in between. This script runs the
floor's own sends with each kind of work in between (nothing, one `os.stat` of the cassette, a plain
Python loop, a `use_cassette` block: the floor's client is never intercepted, so the block only leaves
its traces in the CPU's caches and predictors), then llm-cassette's sends each in its block. Rounds
are interleaved; each ratio is the median of the per-round ratios to the floor with nothing between.
The findings are in benchmarks/analysis.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks import _corpus, _peers  # noqa: E402
from benchmarks._bench import cpu_clock, fmt_ratio, fmt_time, interleave, ratio_median  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stack", choices=("httpx", "httpx2"), default="httpx2")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--sends", type=int, default=1000, help="timed sends per case and round")
    args = parser.parse_args()

    from llm_cassette import use_cassette

    root = Path(tempfile.mkdtemp(prefix="llm-cassette-between-"))
    try:
        corpus = _corpus.build(root, big_count=20, mid_count=20, small_count=20, log=lambda _: None)
        assert corpus.chat_response is not None
        cassette = corpus.chat["llm-cassette"]
        floor = _peers.client(_peers.FLOOR, args.stack, corpus.chat_response, base_url=corpus.base_url)
        ours = _peers.client("llm-cassette", args.stack, corpus.chat_response, base_url=corpus.base_url)
        url, body = corpus.chat_url, _corpus.CHAT_BODY

        def nothing() -> None:
            pass

        def one_stat() -> None:
            os.stat(cassette)

        def python_loop() -> None:  # about as long as a block (alone), in one small loop of hot code
            total = 0
            for i in range(600):
                total = (total + i) & 0xFFFF

        def block() -> None:
            with use_cassette(cassette, record_mode="none"):
                pass

        def floor_after(between: Callable[[], None]) -> Callable[[], float]:
            def case() -> float:
                spent = 0.0
                for _ in range(args.sends):
                    between()
                    start = cpu_clock()
                    floor.post(url, json=body)
                    spent += cpu_clock() - start
                return spent / args.sends

            return case

        def ours_in_blocks() -> float:
            spent = 0.0
            for _ in range(args.sends):
                with use_cassette(cassette, record_mode="none"):
                    start = cpu_clock()
                    ours.post(url, json=body)
                    spent += cpu_clock() - start
            return spent / args.sends

        def timed(fn: Callable[[], None]) -> float:
            start = cpu_clock()
            for _ in range(args.sends):
                fn()
            return (cpu_clock() - start) / args.sends

        cases = {
            "floor, nothing between": floor_after(nothing),
            "floor, one os.stat of the cassette between": floor_after(one_stat),
            "floor, a Python loop as long as a block between": floor_after(python_loop),
            "floor, a use_cassette block between (workload 1b's N = 1 floor had none)": floor_after(block),
            "llm-cassette, each send in its block (workload 1b, N = 1)": ours_in_blocks,
        }
        results = interleave(cases, args.rounds)
        base = results["floor, nothing between"]
        print(f"{args.stack}: per timed send, median of {args.rounds} rounds of {args.sends:,}")
        print(f"  (untimed, alone: a block {fmt_time(timed(block))}, the loop {fmt_time(timed(python_loop))})")
        for name, series in results.items():
            print(f"  {name}: {fmt_time(series.median())} ({fmt_ratio(ratio_median(series, base))})")
        floor.close()
        ours.close()
    finally:
        _corpus.cleanup_root(root)
    return 0


if __name__ == "__main__":
    sys.exit(main())
