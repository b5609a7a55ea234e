"""`llm-cassette demo`: the whole loop in one command, on the bundled fake server.

Writes an example test, starts the fake OpenAI-compatible server, runs the test with `--record`,
stops the server, replays the test offline, and shows what the cassette holds.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

EXAMPLE_TEST = '''\
"""An example test: the first run records the model's answers, every later run replays them."""

import pytest
from openai import OpenAI


@pytest.mark.llm_cassette
def test_summary_mentions_paris():
    client = OpenAI()  # OPENAI_BASE_URL points at the bundled fake server while recording
    reply = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "Capital of France?"}],
    )
    assert "Paris" in reply.choices[0].message.content


@pytest.mark.llm_cassette
def test_streamed_reply():
    client = OpenAI()
    stream = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "Stream a short greeting"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert text == "Echo: Stream a short greeting"
'''


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dir",
        type=Path,
        default=None,
        help="folder for the example project (default: a new temporary folder, kept afterwards)",
    )


def _pytest(project: Path, env: dict[str, str], *args: str) -> int:
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:cassetter", *args]
    print(f"\n$ pytest {' '.join(args)}", flush=True)
    return subprocess.call(cmd, cwd=project, env=env)


def run(args: argparse.Namespace) -> int:
    try:
        import openai  # noqa: F401

        from ..fake_server import FakeServer
    except ImportError as exc:
        print(f"the demo needs the `demo` extra: pip install 'pytest-llm-cassette[demo]' ({exc})", file=sys.stderr)
        return 2
    project = args.dir or Path(tempfile.mkdtemp(prefix="llm-cassette-demo-"))
    project.mkdir(parents=True, exist_ok=True)
    (project / "tests").mkdir(exist_ok=True)
    (project / "tests" / "test_summary.py").write_text(EXAMPLE_TEST, encoding="utf-8")
    (project / "pytest.ini").write_text("[pytest]\ntestpaths = tests\n", encoding="utf-8")
    print(f"example project: {project}")

    env = {k: v for k, v in os.environ.items() if k != "LLM_CASSETTE_RECORD_MODE"}
    env.pop("PYTEST_ADDOPTS", None)
    with FakeServer() as server:
        print(f"fake OpenAI-compatible server: {server.url}")
        record_env = {**env, "OPENAI_BASE_URL": server.base_url_openai, "OPENAI_API_KEY": "sk-fake-demo-key-000000"}
        if _pytest(project, record_env, "--record") != 0:
            print("recording failed", file=sys.stderr)
            return 1
        recorded = server.request_count
    print(f"\nthe server answered {recorded} requests and is now stopped.")

    # Replay: no server, no key. The base URL must match the recording (it is part of the match).
    replay_env = {k: v for k, v in env.items() if k != "OPENAI_API_KEY"}
    replay_env["OPENAI_BASE_URL"] = record_env["OPENAI_BASE_URL"]
    if _pytest(project, replay_env) != 0:
        print("replay failed", file=sys.stderr)
        return 1

    cassettes = sorted((project / "cassettes").rglob("*.yaml"))
    print("\nreplayed offline, with no API key. The cassettes:")
    for c in cassettes:
        print(f"  {c}")
    from . import main as cli_main

    print()
    cli_main(["show", *[str(c) for c in cassettes]])
    print(
        textwrap.dedent(
            f"""
            Next: read a cassette ({cassettes[0] if cassettes else "cassettes/"}), edit the prompt in
            {project / "tests" / "test_summary.py"} and run `pytest` there to see the miss report.
            """
        ).rstrip()
    )
    return 0
