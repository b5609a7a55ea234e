"""Workloads 1 and 2: replaying a chat completion request by request, and replaying an SSE stream."""

# ruff: noqa: RUF001  (the report prints multiplication and minus signs on purpose)

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ._bench import Sample, Series, fmt_ratio, fmt_time, interleave, ratio_median, table, timed
from ._corpus import CHAT_BODY, SSE_BODY, Corpus
from ._peers import FLOOR, NOT_SUPPORTED, STACKS, TOOLS, client, replay_context, supports
from ._report import Config, Log, Section, Target, judge, na

PEERS = [t for t in TOOLS if t not in (FLOOR, "llm-cassette")]
REPLAY_TARGET = 1.10  # issue 14: per request, raw httpx and httpx2


# --- 1. per-request replay ----------------------------------------------------------------------


def _chat_sender(stack: str, c: Any, url: str) -> Callable[[], Any]:
    if stack == "openai SDK":
        return lambda: c.chat.completions.create(**CHAT_BODY)
    return lambda: c.post(url, json=CHAT_BODY)


def _check_chat(stack: str, result: Any, expected: bytes) -> bool:
    """True when the replay is byte-exact; raises when it is not even the same JSON."""
    if stack == "openai SDK":
        content = result.choices[0].message.content
        if not content.startswith("Echo:"):
            raise AssertionError(f"unexpected reply {content[:60]!r}")
        return True  # the SDK parses the body; bytes are checked on the raw stacks
    if result.status_code != 200 or json.loads(result.content) != json.loads(expected):
        raise AssertionError(f"unexpected replay: {result.status_code} {result.content[:80]!r}")
    return bool(result.content == expected)


def per_request_replay(corpus: Corpus, cfg: Config, log: Log) -> Section:
    assert corpus.chat_response is not None
    expected = corpus.chat_response.body
    n = cfg.requests
    exact: dict[tuple[str, str], bool] = {}
    results: dict[str, dict[str, Series]] = {}
    for stack in STACKS:
        cases: dict[str, Callable[[], Sample]] = {}
        warmups: dict[str, Callable[[], object]] = {}
        for tool in TOOLS:
            if not supports(tool, stack):
                continue
            cassette = (corpus.sdk if stack == "openai SDK" else corpus.chat).get(tool)

            def case(tool: str = tool, cassette: Path | None = cassette, stack: str = stack, n: int = n) -> float:
                assert corpus.chat_response is not None
                ctx = replay_context(
                    tool, str(cassette) if cassette else None, url=corpus.chat_url, response=corpus.chat_response
                )
                with ctx:
                    c = client(tool, stack, corpus.chat_response, base_url=corpus.base_url)
                    try:
                        send = _chat_sender(stack, c, corpus.chat_url)
                        exact[tool, stack] = _check_chat(stack, send(), expected)

                        def loop() -> None:
                            for _ in range(n):
                                send()

                        return timed(loop) / n
                    finally:
                        c.close()

            cases[tool] = case
            warmups[tool] = functools.partial(case, n=min(n, 50))
        log(f"replay x{n} via {stack}: {', '.join(cases)}")
        rounds = cfg.sdk_rounds if stack == "openai SDK" else cfg.rounds
        results[stack] = interleave(cases, rounds, warm=not cfg.quick, warmup=warmups)

    rows = []
    ratios: dict[tuple[str, str], float] = {}
    for tool in TOOLS:
        row = [f"**{tool}**" if tool == "llm-cassette" else tool]
        for stack in STACKS:
            if not supports(tool, stack):
                row.append(na(NOT_SUPPORTED[tool, stack]))
                continue
            s = results[stack][tool]
            r = ratio_median(s, results[stack][FLOOR])
            ratios[tool, stack] = r
            cell = f"{fmt_time(s.median())} ({fmt_ratio(r)})"
            if stack != "openai SDK" and not exact.get((tool, stack), True):
                cell += " †"
            row.append(cell)
        rows.append(row)
    body = table(["tool", *[f"{s}: per request (× floor)" for s in STACKS]], rows)
    notes = [
        "Median time per request over the rounds; in brackets the median of the per-round ratios to "
        "`MockTransport` returning the same bytes (the floor: what any in-process fake costs).",
        "Cassettes hold one interaction; llm-cassette and vcrpy run with `allow_playback_repeats=True` "
        "(cassetter and the mocking libraries repeat by default). Default match rules otherwise: "
        "llm-cassette matches method+URL+JSON body, vcrpy and cassetter method+URL only.",
    ]
    if any(not v for v in exact.values()):
        bad = sorted({t for (t, _), v in exact.items() if not v})
        notes.append(
            f"† the replayed body is the same JSON but not the same bytes as recorded ({', '.join(bad)} "
            "re-serialises JSON bodies on replay)."
        )
    targets = []
    for stack in ("httpx", "httpx2"):
        r = ratios["llm-cassette", stack]
        peers = {t: ratios[t, stack] for t in PEERS if (t, stack) in ratios}
        best_peer = min(peers, key=lambda t: peers[t])
        targets.append(
            Target(
                f"replay overhead, best case (one recording, repeats), raw {stack}",
                f"≤ {REPLAY_TARGET:.2f}× floor",
                f"{fmt_ratio(r)}" + ("" if r <= REPLAY_TARGET else f" (over by {(r / REPLAY_TARGET - 1) * 100:.0f}%)"),
                judge(cfg, r <= REPLAY_TARGET),
            )
        )
        targets.append(
            Target(
                f"replay overhead vs every peer, raw {stack}",
                "lower than every peer",
                f"{fmt_ratio(r)} vs best peer {best_peer} {fmt_ratio(peers[best_peer])}",
                judge(cfg, all(r < v for v in peers.values())),
            )
        )
    r = ratios["llm-cassette", "openai SDK"]
    peers = {t: ratios[t, "openai SDK"] for t in PEERS if (t, "openai SDK") in ratios}
    best_peer = min(peers, key=lambda t: peers[t])
    targets.append(
        Target(
            "replay overhead vs every peer, openai SDK",
            "lower than every peer",
            f"{fmt_ratio(r)} vs best peer {best_peer} {fmt_ratio(peers[best_peer])}",
            judge(cfg, all(r < v for v in peers.values())),
        )
    )
    return Section(
        f"1. Per-request replay, best case ({n:,} requests of a {len(expected) / 1000:.1f} KB chat completion, "
        "one recording, repeats allowed)",
        "One `with` block per tool, one client, the same request sent in a loop; only the loop is timed.",
        body,
        notes,
        targets,
        {"results": results, "ratios": ratios},
    )


# --- 2. SSE stream replay -----------------------------------------------------------------------


SSE_STACKS = ("httpx", "httpx2")
SSE_TARGET = 1.10


def sse_replay(corpus: Corpus, cfg: Config, log: Log) -> Section:
    assert corpus.sse_response is not None
    expected = corpus.sse_response.body
    recorded_chunks = len(corpus.sse_response.chunks)
    n = cfg.sse_replays
    delivered: dict[tuple[str, str], tuple[int, bool]] = {}
    results: dict[str, dict[str, Series]] = {}
    for stack in SSE_STACKS:
        cases: dict[str, Callable[..., Sample]] = {}
        for tool in TOOLS:
            if not supports(tool, stack):
                continue
            cassette = corpus.sse.get(tool)

            def case(tool: str = tool, cassette: Path | None = cassette, stack: str = stack, n: int = n) -> float:
                assert corpus.sse_response is not None
                ctx = replay_context(
                    tool,
                    str(cassette) if cassette else None,
                    url=corpus.chat_url,
                    response=corpus.sse_response,
                    stream=True,
                )
                with ctx, client(tool, stack, corpus.sse_response, base_url=corpus.base_url, stream=True) as c:

                    def one() -> tuple[int, bytes]:
                        count, parts = 0, []
                        with c.stream("POST", corpus.chat_url, json=SSE_BODY) as r:
                            for chunk in r.iter_bytes():
                                count += 1
                                parts.append(chunk)
                        return count, b"".join(parts)

                    count, content = one()
                    delivered[tool, stack] = (count, content == expected)

                    def loop() -> None:
                        for _ in range(n):
                            one()

                    return timed(loop) / n

            cases[tool] = case
        log(f"SSE replay x{n} ({recorded_chunks} chunks) via {stack}: {', '.join(cases)}")
        warmups = {t: functools.partial(f, n=min(n, 5)) for t, f in cases.items()}
        results[stack] = interleave(cases, cfg.rounds, warm=not cfg.quick, warmup=warmups)
    rows = []
    ratios: dict[tuple[str, str], float] = {}
    for tool in TOOLS:
        row = [f"**{tool}**" if tool == "llm-cassette" else tool]
        for stack in SSE_STACKS:
            if not supports(tool, stack):
                row += [na(NOT_SUPPORTED[tool, stack]), "", ""]
                continue
            s = results[stack][tool]
            ratios[tool, stack] = ratio_median(s, results[stack][FLOOR])
            count, same = delivered[tool, stack]
            row += [
                f"{fmt_time(s.median())} ({fmt_ratio(ratios[tool, stack])})",
                f"{count}" + ("" if count == recorded_chunks else f" of {recorded_chunks}"),
                "yes" if same else "no",
            ]
        rows.append(row)
    header = ["tool"]
    for stack in SSE_STACKS:
        header += [f"{stack}: per replay (× floor)", "chunks delivered", "same bytes"]
    body = table(header, rows)
    notes = [
        f"The stream holds {recorded_chunks} SSE events ({len(expected) / 1000:.0f} KB) recorded from the fake "
        "server (`+chunks500`); the caller reads it with `response.iter_bytes()` and counts the chunks it gets.",
        "The floor and the mocking libraries are handed the recorded chunk list as an iterator; the record/replay "
        "tools replay their own cassette (one recording, repeats allowed).",
    ]
    targets = []
    for stack in SSE_STACKS:
        ratio = ratios["llm-cassette", stack]
        count, same = delivered["llm-cassette", stack]
        exact = (count, same) == (recorded_chunks, True)
        targets.append(
            Target(
                f"SSE replay, raw {stack}: every chunk, byte-exact",
                f"{recorded_chunks} chunks, ≤ {SSE_TARGET:.2f}× floor",
                f"{count} chunks, same bytes: {same}; {fmt_ratio(ratio)} floor",
                judge(cfg, exact and ratio <= SSE_TARGET),
            )
        )
    return Section(
        f"2. Streaming replay ({n} replays of a {recorded_chunks}-chunk SSE stream, raw httpx and httpx2)",
        "Each replay opens the stream, iterates it to the end and closes it; the loop is timed.",
        body,
        notes,
        targets,
        {"results": results, "delivered": delivered, "ratios": ratios},
    )
