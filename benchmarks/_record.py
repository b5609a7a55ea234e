"""Workload 3: recording a streamed completion from a real (local) server."""

# ruff: noqa: RUF001  (the report prints multiplication and minus signs on purpose)

from __future__ import annotations

import functools
import ssl
import statistics
import time
from collections.abc import Callable
from contextlib import nullcontext
from typing import Any

import httpx

from llm_cassette.fake_server import FakeServer

from ._bench import Sample, fmt_time, interleave, table
from ._corpus import SSE_BODY, TOOLS_THAT_RECORD, Corpus, recorder
from ._report import Config, Log, Section, Target, judge

# --- 3. recording a stream ----------------------------------------------------------------------

NO_TOOL = "no tool (real server)"

# One SSL context for every client, built before any clock starts: the time to first chunk is a
# request's, not a client's construction. (While llm-cassette's stacks are installed in this
# process, a client built outside a cassette builds its pool on its first request, and without a
# context given that would be the CA bundle's load, ~50 ms, inside the "no tool" case's clock.)
_SSL_CONTEXT: ssl.SSLContext | None = None


def _ssl_context() -> ssl.SSLContext:
    global _SSL_CONTEXT
    if _SSL_CONTEXT is None:
        _SSL_CONTEXT = httpx.create_ssl_context()
    return _SSL_CONTEXT


def recording(corpus: Corpus, cfg: Config, log: Log) -> Section:
    body = {**SSE_BODY, "model": cfg.record_model}
    chunk_counts: dict[str, int] = {}
    with FakeServer() as server:
        url = server.url + "/v1/chat/completions"
        cases: dict[str, Callable[..., Sample]] = {}
        warmups: dict[str, Callable[[], object]] = {}
        for tool in (NO_TOOL, *TOOLS_THAT_RECORD):
            slug = tool.replace("-", "_").split(" ")[0]
            counter = iter(range(10**6))

            def case(
                tool: str = tool, slug: str = slug, counter: Any = counter, body: dict[str, Any] = body
            ) -> dict[str, float]:
                path = corpus.root / "record" / f"{slug}-{next(counter)}.yaml"
                ctx = nullcontext() if tool == NO_TOOL else recorder(tool, path)
                entered = time.perf_counter()
                with ctx, httpx.Client(verify=_ssl_context()) as c:
                    first = None
                    count = 0
                    start = time.perf_counter()
                    with c.stream("POST", url, json=body) as r:
                        for _ in r.iter_bytes():
                            if first is None:
                                first = time.perf_counter() - start
                            count += 1
                    total = time.perf_counter() - start
                    exit_start = time.perf_counter()
                done = time.perf_counter()
                chunk_counts[tool] = count
                if tool != NO_TOOL and not path.exists():
                    raise AssertionError(f"{tool} wrote no cassette at {path}")
                return {
                    "ttfc": first or total,
                    "total": total,
                    "exit": done - exit_start,
                    "block": done - entered,
                }

            cases[tool] = case
            warmups[tool] = functools.partial(case, body={**body, "model": "gpt-4o-mini+chunks2"})
        log(f"recording a stream ({cfg.record_model}) x{cfg.record_rounds}: {', '.join(cases)}")
        results = interleave(cases, cfg.record_rounds, warm=not cfg.quick, warmup=warmups)

    base = results[NO_TOOL]
    rows = []
    diffs: dict[str, float] = {}
    for tool in (NO_TOOL, *TOOLS_THAT_RECORD):
        s = results[tool]
        d = statistics.median([a - b for a, b in zip(s.values("ttfc"), base.values("ttfc"), strict=True)])
        diffs[tool] = d
        rows.append(
            [
                f"**{tool}**" if tool == "llm-cassette" else tool,
                fmt_time(s.median("ttfc")),
                "—" if tool == NO_TOOL else f"{'+' if d >= 0 else '−'}{fmt_time(abs(d))}",
                fmt_time(s.median("total")),
                "—" if tool == NO_TOOL else fmt_time(s.median("exit")),
                str(chunk_counts[tool]),
            ]
        )
    table_md = table(
        [
            "recording with",
            "time to first chunk",
            "vs no tool",
            "time to last chunk",
            "cassette save (block exit)",
            "chunks the caller saw",
        ],
        rows,
    )
    notes = [
        f"A real stream from the fake server (`{cfg.record_model}`: events spaced by the server), read with "
        "`client.stream(...)` + `iter_bytes()`; each tool records into a fresh file with record mode `all`.",
        '"vs no tool" is the median of the per-round differences in time to first chunk.',
        "vcrpy and cassetter read the whole response before handing it to the caller, so the caller's first chunk "
        "arrives when the stream has ended.",
    ]
    d = diffs["llm-cassette"]
    targets = [
        Target(
            "recording: time to first chunk",
            "within 5 ms of no tool",
            f"{'+' if d >= 0 else '−'}{fmt_time(abs(d))}",
            judge(cfg, d <= 0.005),
        )
    ]
    return Section(
        "3. Recording a streamed completion",
        "Time until the caller sees the first chunk, and until the last, while each tool records.",
        table_md,
        notes,
        targets,
        {"results": results, "diffs": diffs},
    )
