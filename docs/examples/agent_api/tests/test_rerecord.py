"""The example re-records cleanly: a copy of it, recorded from scratch against the fake model server
(`--llm-record-mode=all`), then replayed with nothing listening, passes both times, and records the
same conversations as the cassettes committed next to this repository's example.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from llm_cassette import load

from .llm_server import is_recording

EXAMPLE = Path(__file__).resolve().parents[1]
PYTEST_INI = """\
[pytest]
asyncio_mode = strict
asyncio_default_fixture_loop_scope = function
filterwarnings = error::ResourceWarning
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def run_pytest(project: Path, port: int, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("PYTEST_XDIST", "PYTEST_CURRENT_TEST")) and name != "LLM_CASSETTE_RECORD_MODE"
    }
    env.pop("OPENAI_API_KEY", None)  # no key needed, recording (fake server) or replaying
    env["AGENT_API_LLM_PORT"] = str(port)
    # Only the plugins the example needs: faster, and independent of what else is installed.
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    plugins = ["-p", "llm_cassette.plugin", "-p", "pytest_asyncio.plugin", "-p", "no:cacheprovider"]
    # The tests that talk to the model: the others have nothing to record.
    command = [sys.executable, "-m", "pytest", "tests", "-q", "-m", "llm_cassette", *plugins]
    return subprocess.run(
        [*command, "--rootdir", str(project), *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def request_bodies(cassettes: Path) -> dict[str, list[bytes]]:
    """Each cassette's request bodies, by path relative to `cassettes` (URLs hold the port: left out)."""
    return {
        path.relative_to(cassettes).as_posix(): [it.request.body for it in load(path).interactions]
        for path in sorted(cassettes.rglob("*.yaml"))
    }


def test_example_rerecords_from_scratch_and_replays_offline(tmp_path: Path, pytestconfig: pytest.Config) -> None:
    project = tmp_path / "agent_api_example"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns("__pycache__", "cassettes", Path(__file__).name))
    (project / "pytest.ini").write_text(PYTEST_INI)
    port = free_port()

    recorded = run_pytest(project, port, "--llm-record-mode=all")
    assert recorded.returncode == 0, recorded.stdout + recorded.stderr

    replayed = run_pytest(project, port)  # the fake server stopped with the recording run
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr

    rerecorded = request_bodies(project / "cassettes")
    assert rerecorded, "the recording run wrote no cassette"
    if not is_recording(pytestconfig):  # else this run is rewriting the committed cassettes right now
        committed_dir = pytestconfig.rootpath / str(pytestconfig.getini("llm_cassette_dir"))
        assert rerecorded == request_bodies(committed_dir / EXAMPLE.relative_to(pytestconfig.rootpath))
