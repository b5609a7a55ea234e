"""`llm-cassette demo`: the whole loop in one command, on the bundled fake server.

Writes an example test, starts the fake OpenAI-compatible server, runs the test with `--record`,
stops the server, replays the test offline, and shows what the cassette holds.
"""

from __future__ import annotations

import argparse
import os
import shlex
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


CONFTEST = '''\
"""The demo's cassettes were recorded against the bundled fake server at this address.

The base URL is part of the match, so a replay must use the URL the recording used. A project that
records against https://api.openai.com needs nothing like this. To record again, start the server
on the same port first: `llm-cassette fake-server --port {port}`.
"""

import os
import shlex

os.environ.setdefault("OPENAI_BASE_URL", "{base_url}")
'''

PYTEST_INI = """\
[pytest]
testpaths = tests
# pytest-recording and cassetter both register --record-mode and cannot be loaded together;
# this project uses neither, so it runs whichever of them is installed.
addopts = -p no:recording -p no:cassetter
"""


def _pytest(project: Path, env: dict[str, str], *args: str) -> int:
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args]
    print(f"\n$ pytest {' '.join(args)}", flush=True)
    return subprocess.call(cmd, cwd=project, env=env)


def _pytest_command() -> str:
    """How to run this environment's pytest from a shell, whatever is first on PATH."""
    script = Path(sys.executable).with_name("pytest")
    return shlex.quote(str(script)) if script.is_file() else f"{shlex.quote(sys.executable)} -m pytest"


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
    (project / "pytest.ini").write_text(PYTEST_INI, encoding="utf-8")
    print(f"example project: {project}")

    env = {k: v for k, v in os.environ.items() if k not in ("LLM_CASSETTE_RECORD_MODE", "OPENAI_BASE_URL")}
    env.pop("PYTEST_ADDOPTS", None)
    with FakeServer() as server:
        print(f"fake OpenAI-compatible server: {server.url}")
        conftest = CONFTEST.format(port=server.port, base_url=server.base_url_openai)
        (project / "tests" / "conftest.py").write_text(conftest, encoding="utf-8")
        record_env = {**env, "OPENAI_API_KEY": "sk-fake-demo-key-000000"}
        if _pytest(project, record_env, "--record") != 0:
            print("recording failed", file=sys.stderr)
            return 1
        recorded = server.request_count
    print(f"\nthe server answered {recorded} requests and is now stopped.")

    # Replay: no server, no key; tests/conftest.py gives the base URL the recording used.
    replay_env = {k: v for k, v in env.items() if k != "OPENAI_API_KEY"}
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
            Next: read a cassette ({cassettes[0] if cassettes else "cassettes/"}), then replay the tests
            yourself, offline:

                cd {shlex.quote(str(project))} && {_pytest_command()}

            and edit the prompt in {project / "tests" / "test_summary.py"} and run it again to see
            the miss report.
            """
        ).rstrip()
    )
    return 0
