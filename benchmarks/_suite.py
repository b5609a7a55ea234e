"""Workload 5: a generated pytest suite, run in a subprocess once per tool."""

# ruff: noqa: RUF001  (the report prints multiplication and minus signs on purpose)

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from ._bench import Sample, fmt_ratio, fmt_time, interleave, ratio_median, table
from ._corpus import CHAT_BODY, Corpus
from ._report import Config, Log, Section, Target, judge

# --- 5. a pytest suite --------------------------------------------------------------------------

SUITE_PLUGINS = {
    "llm-cassette": "llm_cassette",
    "pytest-recording": "recording",
    "cassetter (pytest plugin)": "cassetter",
    "pytest-httpx": "pytest_httpx",
    "respx": "respx",
}
SUITE_VARIANTS = ("MockTransport fixture (baseline)", *SUITE_PLUGINS)
SUITE_TARGET = 1.15


def _suite_project(corpus: Corpus, cfg: Config, variant: str) -> Path:
    assert corpus.chat_response is not None
    resp = corpus.chat_response
    root = corpus.root / "suite" / variant.split(" ")[0]
    tests = root / "tests"
    tests.mkdir(parents=True, exist_ok=True)
    (root / "pytest.ini").write_text("[pytest]\n")
    headers = [(k, v) for k, v in resp.headers if k.lower() not in ("content-length",)]
    client_fixture = (
        "httpx.Client(transport=httpx.MockTransport(_handler))" if "baseline" in variant else "httpx.Client()"
    )
    (tests / "conftest.py").write_text(
        "import httpx\nimport pytest\n\n"
        f"BODY = {resp.body!r}\nHEADERS = {headers!r}\n\n"
        "def _handler(request):\n    request.read()\n    return httpx.Response(200, headers=HEADERS, content=BODY)\n\n"
        "@pytest.fixture(scope='session')\ndef client():\n"
        f"    with {client_fixture} as c:\n        yield c\n"
    )
    per_file = cfg.suite_tests // cfg.suite_files
    marker = {
        "llm-cassette": "pytestmark = pytest.mark.llm_cassette\n",
        "pytest-recording": "pytestmark = pytest.mark.vcr\n",
        "cassetter (pytest plugin)": "pytestmark = pytest.mark.vcr\n",
    }.get(variant, "")
    if variant == "pytest-httpx":
        args, setup = "client, httpx_mock", "    httpx_mock.add_response(url=URL, content=BODY, headers=HEADERS)\n"
    elif variant == "respx":
        args, setup = "client, respx_mock", "    respx_mock.post(URL).respond(200, content=BODY, headers=HEADERS)\n"
    else:
        args, setup = "client", ""
    source = {
        "llm-cassette": corpus.chat.get("llm-cassette"),
        "pytest-recording": corpus.chat.get("vcrpy"),
        "cassetter (pytest plugin)": corpus.chat.get("cassetter"),
    }.get(variant)
    for f in range(cfg.suite_files):
        lines = [
            "import pytest\n",
            "from conftest import BODY, HEADERS\n\n",
            marker,
            f"URL = {corpus.chat_url!r}\nREQUEST = {CHAT_BODY!r}\n\n",
        ]
        for i in range(per_file):
            lines.append(
                f"def test_{i}({args}):\n{setup}"
                "    r = client.post(URL, json=REQUEST)\n"
                "    assert r.status_code == 200\n"
                "    assert r.json()['object'] == 'chat.completion'\n\n"
            )
            if source is not None:
                if variant == "llm-cassette":
                    dest = root / "cassettes" / "tests" / f"test_suite_{f}" / f"test_{i}.yaml"
                else:
                    dest = tests / "cassettes" / f"test_suite_{f}" / f"test_{i}.yaml"
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(source.read_bytes())
        (tests / f"test_suite_{f}.py").write_text("".join(lines))
    return root


def _suite_command(variant: str) -> list[str]:
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    for name, plugin in SUITE_PLUGINS.items():
        if name != variant:
            cmd += ["-p", f"no:{plugin}"]
    return [*cmd, "tests"]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def pytest_suite(corpus: Corpus, cfg: Config, log: Log) -> Section:
    # As a developer's run: bytecode cached after the first run (PYTHONDONTWRITEBYTECODE would make
    # every variant recompile, and llm-cassette's editable checkout is then recompiled on every run).
    skip = ("LLM_CASSETTE_RECORD_MODE", "PYTEST_ADDOPTS", "PYTHONDONTWRITEBYTECODE")
    env = {k: v for k, v in os.environ.items() if k not in skip}
    n = (cfg.suite_tests // cfg.suite_files) * cfg.suite_files
    cases: dict[str, Callable[[], Sample]] = {}
    warmups: dict[str, Callable[[], object]] = {}
    variants = [v for v in SUITE_VARIANTS if cfg.suite_variants is None or v in cfg.suite_variants]
    for variant in variants:
        root = _suite_project(corpus, cfg, variant)
        cmd = _suite_command(variant)

        def case(root: Path = root, cmd: list[str] = cmd, variant: str = variant) -> dict[str, float]:
            cpu_before = _children_cpu()
            start = time.perf_counter()
            proc = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, check=False)
            elapsed = time.perf_counter() - start
            if proc.returncode != 0 or f"{n} passed" not in proc.stdout:
                raise AssertionError(f"{variant} suite failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-2000:]}")
            return {"wall": elapsed, "cpu": _children_cpu() - cpu_before}

        def collect(root: Path = root, cmd: list[str] = cmd) -> None:
            # Warm-up: collecting imports (and so compiles and assertion-rewrites) every test module.
            subprocess.run([*cmd, "--collect-only"], cwd=root, env=env, capture_output=True, check=False)

        cases[variant] = case
        warmups[variant] = collect
    log(f"pytest suite of {n} tests x{cfg.suite_rounds}: {', '.join(cases)}")
    results = interleave(cases, cfg.suite_rounds, warm=not cfg.quick, warmup=warmups)
    base = results[SUITE_VARIANTS[0]]
    rows = []
    for variant in variants:
        s = results[variant]
        extra = statistics.median([a - b for a, b in zip(s.values("wall"), base.values("wall"), strict=True)]) / n
        rows.append(
            [
                f"**{variant}**" if variant == "llm-cassette" else variant,
                fmt_time(s.median("wall")),
                fmt_ratio(ratio_median(s, base, "wall")),
                fmt_time(extra) if variant != SUITE_VARIANTS[0] else "—",
                f"{fmt_time(s.median('cpu'))} ({fmt_ratio(ratio_median(s, base, 'cpu'))})",
            ]
        )
    body = table(
        ["suite uses", "wall time (whole process)", "× baseline", "extra per test", "CPU time (× baseline)"], rows
    )
    notes = [
        f"{n} generated tests in {cfg.suite_files} files, each sending one chat completion through a session-wide "
        "`httpx.Client` and checking the reply; `python -m pytest -q -p no:cacheprovider tests` in a subprocess, "
        "wall time including interpreter start-up and collection, bytecode cached as after a first run "
        "(`PYTHONDONTWRITEBYTECODE` unset for every variant); CPU time is the subprocess's user + system time "
        '(less sensitive to a busy machine). "extra per test" is the median of the per-round wall-time differences '
        f"to the baseline, divided by the number of tests. {cfg.suite_rounds} round{'s' * (cfg.suite_rounds > 1)}, "
        "interleaved; the ratio is the "
        "median of the per-round ratios, and the target line gives their spread.",
        "Each run loads only its own plugin (`-p no:<others>`): pytest-recording and cassetter both register "
        "`--record-mode` and cannot be loaded in one process. Cassette variants replay one cassette file per test "
        "(llm-cassette: `cassettes/tests/<module>/<test>.yaml`; pytest-recording/cassetter: "
        "`tests/cassettes/<module>/<test>.yaml`); mocking variants register the response in each test.",
    ]
    r = ratio_median(results["llm-cassette"], base, "wall")
    per_round = [a / b for a, b in zip(results["llm-cassette"].values("wall"), base.values("wall"), strict=True)]
    spread = f"rounds {fmt_ratio(min(per_round))}–{fmt_ratio(max(per_round))}"
    targets = [
        Target(
            f"{n}-test suite",
            f"≤ {SUITE_TARGET:.2f}× the MockTransport baseline",
            fmt_ratio(r)
            + (f" ({spread})" if r <= SUITE_TARGET else f" (over by {(r / SUITE_TARGET - 1) * 100:.0f}%; {spread})"),
            judge(cfg, r <= SUITE_TARGET),
        )
    ]
    return Section(
        f"5. A pytest suite of {n} tests, one replayed request each",
        "Whole-process wall time, the way a developer or CI runs it.",
        body,
        notes,
        targets,
        {"results": results},
    )
