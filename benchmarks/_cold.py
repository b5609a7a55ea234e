"""Workload 4b: a large cassette's first reply in a FRESH process, with and without the parse cache.

Each case is a new Python process that imports its tool and httpx (not timed), then times entering
the tool's block, one request answered from the cassette, and leaving it: what a test run waits
before its first replay. llm-cassette is measured on its largest cassette twice, with no parse
cache entry (the first run after the cassette changed) and with one (every later run);
cassetter on the largest of these cassettes it accepts.
"""

# ruff: noqa: RUF001  (the report prints multiplication and minus signs on purpose)

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from ._bench import Sample, fmt_ratio, fmt_time, interleave, ratio_median, table
from ._corpus import Corpus
from ._large import _refusal
from ._report import Config, Log, Section, Target, judge

CHILD = r"""
import json, resource, sys, time
tool, path, body_file, url = sys.argv[1:5]

def peak_rss():
    # VmHWM starts afresh at exec; ru_maxrss keeps the forking parent's peak (the benchmark's
    # own, far above what this child loads), which would hide any growth.
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

import httpx
if tool == "llm-cassette":
    from llm_cassette import use_cassette
    # The package imports its machinery on first use: import it here, so the block (timed) pays
    # for loading the cassette, not for imports, as for cassetter (imported whole above the line).
    import llm_cassette.core.session, llm_cassette.storage.files, llm_cassette.storage.block_reader
    import llm_cassette.stacks.httpx, yaml
    block = lambda: use_cassette(path, record_mode="none")
else:
    import cassetter
    block = lambda: cassetter.use_cassette(path, record_mode="none", match_on=["method", "uri", "body"])
body = open(body_file, "rb").read()
client = httpx.Client()
rss = peak_rss()
cpu, wall = time.process_time(), time.perf_counter()
with block():
    reply = client.post(url, content=body, headers={"content-type": "application/json"})
cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
grew = peak_rss() - rss
assert reply.status_code == 200, reply.status_code
print(json.dumps({"cpu": cpu, "wall": wall, "rss_growth": grew * 1024}))
"""

NO_CACHE = "llm-cassette, no parse cache entry"
CACHED = "llm-cassette, parse cache entry"
CASSETTER = "cassetter"


def cold_load(corpus: Corpus, cfg: Config, log: Log) -> Section:
    big, mid = cfg.big_count, cfg.mid_count
    ours = corpus.big["llm-cassette"]
    theirs = (
        corpus.big["cassetter"] if _refusal("cassetter", corpus.big["cassetter"]) is None else corpus.mid["cassetter"]
    )
    theirs_count = big if theirs == corpus.big["cassetter"] else mid
    body_file = corpus.root / "cold-first-request.json"
    body_file.write_bytes(corpus.big_requests[0])
    cache_dir = Path(tempfile.mkdtemp(prefix="parse-cache-", dir=corpus.root))
    base_env = {
        k: v for k, v in os.environ.items() if k not in ("LLM_CASSETTE_PARSE_CACHE", "LLM_CASSETTE_RECORD_MODE")
    }

    def child(tool: str, path: Path, env: dict[str, str]) -> dict[str, float]:
        cmd = [sys.executable, "-c", CHILD, tool, str(path), str(body_file), corpus.chat_url]
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise AssertionError(f"{tool} cold load failed:\n{proc.stderr[-2000:]}")
        return dict(json.loads(proc.stdout.strip().splitlines()[-1]))

    with_cache = {**base_env, "LLM_CASSETTE_PARSE_CACHE": str(cache_dir)}
    child("llm-cassette", ours, with_cache)  # writes the entry the cached case reads
    cases: dict[str, Callable[[], Sample]] = {
        NO_CACHE: lambda: child("llm-cassette", ours, base_env),
        CACHED: lambda: child("llm-cassette", ours, with_cache),
        CASSETTER: lambda: child("cassetter", theirs, base_env),
    }
    log("cold first reply in a fresh process: " + ", ".join(cases))
    results = interleave(cases, cfg.big_rounds, warm=False)

    size = os.path.getsize(ours)
    rows = []
    for name, path, count in ((NO_CACHE, ours, big), (CACHED, ours, big), (CASSETTER, theirs, theirs_count)):
        s = results[name]
        grew = s.median("rss_growth")
        rows.append(
            [
                f"**{name}**" if name != CASSETTER else name,
                f"{count:,}",
                f"{os.path.getsize(path) / 1e6:.1f} MB",
                fmt_time(s.median("wall")),
                fmt_time(s.median("cpu")),
                fmt_ratio(ratio_median(s, results[CASSETTER], "cpu")),
                f"{grew / 1e6:.1f} MB ({grew / os.path.getsize(path):.1f}× the file)",
            ]
        )
    body = table(
        ["first reply in a fresh process", "interactions", "file", "wall", "CPU", "CPU × cassetter", "peak RSS growth"],
        rows,
    )
    cached_ratio = ratio_median(results[CACHED], results[CASSETTER], "cpu")
    memory = max(results[NO_CACHE].median("rss_growth"), results[CACHED].median("rss_growth")) / size
    targets = [
        Target(
            f"cold first reply, {big:,} interactions, fresh process",
            f"at least as fast as cassetter at {theirs_count:,} (its largest)",
            f"{fmt_time(results[CACHED].median('cpu'))} with the parse cache, "
            f"{fmt_time(results[NO_CACHE].median('cpu'))} without, vs {fmt_time(results[CASSETTER].median('cpu'))} "
            f"({fmt_ratio(cached_ratio)} / {fmt_ratio(ratio_median(results[NO_CACHE], results[CASSETTER], 'cpu'))})",
            judge(cfg, cached_ratio <= 1.0),
        ),
        Target(
            "peak memory while loading",
            "≤ 5× the file size",
            f"{memory:.1f}× ({size / 1e6:.1f} MB file)",
            judge(cfg, memory <= 5.0),
        ),
    ]
    notes = [
        "A new `python` process per measurement; imports are not timed, the block and its first request are. "
        "CPU is the process's own CPU time for that span (steadier than wall time on a shared machine); "
        "ratios are taken within a round.",
        "The parse cache holds the parsed cassette as plain JSON, keyed by the SHA-256 of the file and the format "
        "version (`LLM_CASSETTE_PARSE_CACHE` here; pytest's cache dir in a test run). Without an entry the YAML "
        "is parsed, which is what the first run after a cassette changes pays.",
        "peak RSS growth: the process's peak resident size after the block minus before it (imports excluded).",
    ]
    return Section(
        f"4b. A large cassette's first reply in a fresh process ({big:,} interactions)",
        "What a test run waits before its first replay, cold: nothing parsed in this process yet.",
        body,
        notes,
        targets,
        {"results": results},
    )
