"""`llm-cassette demo`, then its printed "Next:" command, run verbatim in a shell.

The venv has pytest-recording and cassetter installed (they cannot load together), and the
shell has no OPENAI_BASE_URL, no key and no PYTEST_ADDOPTS: as a newcomer's terminal would.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest


def test_the_demo_next_step_works_as_printed(tmp_path: Path) -> None:
    pytest.importorskip("pytest_recording")
    pytest.importorskip("cassetter")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ANTHROPIC_", "PYTEST_", "LLM_"))}
    project = tmp_path / "demo"
    demo = subprocess.run(
        [sys.executable, "-m", "llm_cassette.cli", "demo", "--dir", str(project)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert demo.returncode == 0, demo.stdout + demo.stderr
    [command] = re.findall(r"^    (cd .+)$", demo.stdout.split("Next:")[1], flags=re.MULTILINE)

    replay = subprocess.run(command, shell=True, env=env, capture_output=True, text=True, timeout=300)

    assert replay.returncode == 0, replay.stdout + replay.stderr
    assert "2 passed" in replay.stdout
    assert "0 network calls" in replay.stdout
    # The miss report the Next step promises, after editing the prompt.
    test_file = project / "tests" / "test_summary.py"
    test_file.write_text(test_file.read_text().replace("Capital of France?", "Capital of Spain?"))
    miss = subprocess.run(command, shell=True, env=env, capture_output=True, text=True, timeout=300)
    assert miss.returncode == 1
    assert "differs:  body.messages[0].content: sent 'Capital of Spain?', recorded 'Capital of France?'" in miss.stdout
