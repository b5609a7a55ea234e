"""Profile llm-cassette's hot paths: `python benchmarks/profile_hotspots.py [--pyinstrument] [--count N]`.

1. replay: N requests replayed through raw httpx (the path of workload 1),
2. load: parsing the 2,000-interaction cassette (`_format.loads`, the cold path of workload 4),
3. match: `Session.plan` for 2,000 distinct requests on that cassette.

Prints the functions that cost the most (cProfile, or pyinstrument's call tree when installed and
asked for). The findings these profiles led to are in benchmarks/analysis.md.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks import _corpus, _peers  # noqa: E402


def profile(title: str, fn: Callable[[], object], use_pyinstrument: bool, limit: int = 25) -> None:
    print(f"\n=== {title} ===")
    start = time.perf_counter()
    if use_pyinstrument:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0002)
        profiler.start()
        fn()
        profiler.stop()
        print(profiler.output_text(unicode=True, color=False, show_all=False))
        return
    prof = cProfile.Profile()
    prof.enable()
    fn()
    prof.disable()
    print(f"(wall {time.perf_counter() - start:.2f} s under cProfile)")
    out = io.StringIO()
    stats = pstats.Stats(prof, stream=out)
    stats.sort_stats("tottime").print_stats(limit)
    stats.sort_stats("cumulative").print_stats("llm_cassette", limit)
    print(out.getvalue())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pyinstrument", action="store_true", help="use pyinstrument instead of cProfile")
    parser.add_argument("--count", type=int, default=2000, help="requests replayed / interactions in the cassette")
    args = parser.parse_args()

    import httpx

    from llm_cassette import CassetteOptions, Request, loads
    from llm_cassette.core.session import Session

    root = Path(tempfile.mkdtemp(prefix="llm-cassette-profile-"))
    try:
        corpus = _corpus.build(root, big_count=args.count, mid_count=20, small_count=20, log=print)
        assert corpus.chat_response is not None
        response = corpus.chat_response

        def replay() -> None:
            cassette = str(corpus.chat["llm-cassette"])
            with _peers.replay_context("llm-cassette", cassette, url="", response=response), httpx.Client() as client:
                for _ in range(args.count):
                    client.post(corpus.chat_url, json=_corpus.CHAT_BODY)

        replay()  # warm-up: imports, first-use caches
        profile(f"replay: {args.count} requests through raw httpx", replay, args.pyinstrument)

        big = corpus.big["llm-cassette"]
        raw = big.read_bytes()
        profile(
            f"load: {len(raw) / 1e6:.1f} MB cassette ({args.count} interactions)",
            lambda: loads(raw, big),
            args.pyinstrument,
        )

        session = Session(big, CassetteOptions())
        session.open()
        order = list(range(args.count))
        random.Random(7).shuffle(order)
        headers = (("content-type", "application/json"),)
        requests = [Request("POST", corpus.chat_url, headers, corpus.big_requests[i]) for i in order]

        def match() -> None:
            for r in requests:
                session.plan(r)

        profile(f"match: Session.plan x{args.count}", match, args.pyinstrument)
    finally:
        _corpus.cleanup_root(root)
    return 0


if __name__ == "__main__":
    sys.exit(main())
