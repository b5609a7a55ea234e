"""docs/migrating.md's "Step by step", followed literally on a realistic pytest-recording suite.

`tests/data/vcr_suite/` is a multi-module vcrpy suite written for this purpose and recorded by
pytest-recording against the fake server (`record_cassettes.py` there): a custom serializer that
stores JSON bodies as `parsed_body`, `vcr_config` in `conftest.py` with `filter_headers` and
`decode_compressed_response`, a module overriding it (gzip bodies kept as `!!binary`), two
modules of the same name in two folders, sync, asyncio and anyio tests, and one test whose prompt
was reworded after it was recorded. The test copies it and runs the guide's commands verbatim, in
the guide's order, read from the page (console lines in a shell, the Python block appended where
its title says). The two things a shell cannot do from the page are done as the guide words them:
step 5's edits of `conftest.py`, and `pip uninstall` (the terminal's plugins are a list, and
uninstalling takes one off it). Step 6's re-recording needs a real key: the test checks its
premise instead, that without the preset exactly the listed test misses.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "migrating.md"
SUITE = Path(__file__).parent / "data" / "vcr_suite"
SUITE_TESTS = 9
# The plugins of the migrating team's environment (this venv has more, cassetter among them, which
# cannot load beside pytest-recording): loaded by name, so that uninstalling one is taking it off.
PLUGINS = ["llm_cassette.plugin", "pytest_recording.plugin", "pytest_asyncio.plugin", "anyio.pytest_plugin"]
UNINSTALL = "pip uninstall -y pytest-recording vcrpy"


def guide_steps() -> list[tuple[str, str]]:
    """("shell", command) and ("append:<file>", code) in the order "Step by step" gives them."""
    text = GUIDE.read_text(encoding="utf-8")
    section = text.split("## Step by step", 1)[1].split("\n## ", 1)[0]
    steps: list[tuple[str, str]] = []
    fence = re.compile(r'^ *```(\w+)(?: title="([^"]+)")?\n(.*?)^ *```$', re.MULTILINE | re.DOTALL)
    for m in fence.finditer(section):
        lang, title, body = m.group(1), m.group(2), m.group(3)
        lines = [line.strip() for line in body.splitlines()]
        if lang == "console":
            steps += [("shell", line[2:]) for line in lines if line.startswith("$ ")]
        elif lang == "python":
            assert title and title.endswith(" (add)"), f"a Python block of the guide says where it goes: {title!r}"
            indent = min(len(line) - len(line.lstrip()) for line in body.splitlines() if line.strip())
            code = "\n".join(line[indent:] for line in body.splitlines())
            steps.append((f"append:{title.removesuffix(' (add)')}", code + "\n"))
    return steps


def shell(command: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, shell=True, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    target = tmp_path / "project"
    shutil.copytree(SUITE, target, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache", "record_cassettes.py"))
    return target


@pytest.fixture
def env() -> dict[str, str]:
    """A terminal with this venv first on PATH, the team's plugins, and no key, base URL or pytest options."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ANTHROPIC_", "PYTEST_", "LLM_"))}
    base["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{base.get('PATH', '')}"
    base.update(PYTEST_DISABLE_PLUGIN_AUTOLOAD="1", PYTEST_PLUGINS=",".join(PLUGINS))
    return base


def test_the_vcrpy_suite_passes_under_pytest_recording_before_the_migration(project: Path, env: dict[str, str]) -> None:
    env["PYTEST_PLUGINS"] = ",".join(p for p in PLUGINS if p != "llm_cassette.plugin")
    result = shell("pytest -p no:cacheprovider --block-network", project, env)
    assert f"{SUITE_TESTS} passed" in result.stdout, result.stdout + result.stderr


def clean_up_conftest(project: Path) -> None:
    """Step 5's edits, as the guide words them: what only pytest-recording read goes."""
    conftest = project / "tests" / "conftest.py"
    text = conftest.read_text()
    for pattern in [
        r"\ndef pytest_recording_configure\(.*?\n\n\n",  # the hook
        r"\n@pytest\.fixture\(scope=\"module\"\)\ndef vcr_config\(\):.*?\n\n\n",  # the fixture
        r"\nfrom \. import json_body_serializer\n",  # the serializer's import
    ]:
        text, found = re.subn(pattern, "\n", text, count=1, flags=re.DOTALL)
        assert found, f"the suite's conftest.py has no {pattern!r}"
    conftest.write_text(text)
    (project / "tests" / "json_body_serializer.py").unlink()  # the serializer's module


def test_following_the_guide_migrates_the_suite(project: Path, env: dict[str, str]) -> None:
    modules = {p.relative_to(project): p.read_text() for p in (project / "tests").rglob("test_*.py")}
    steps = guide_steps()
    assert [what if kind == "shell" else kind for kind, what in steps] == [
        "llm-cassette import tests --pytest-recording --serializer tests/json_body_serializer.py --out cassettes",
        "append:tests/conftest.py",
        "sed -i 's/pytest\\.mark\\.vcr\\b/pytest.mark.llm_cassette/' $(grep -rl 'pytest.mark.vcr' tests)",
        "pytest",
        "find tests -type d -name cassettes -prune -exec rm -r {} +",
        UNINSTALL,
        "pytest",
    ]
    runs = []
    for kind, what in steps:
        if kind.startswith("append:"):
            target = project / kind.removeprefix("append:")
            target.write_text(target.read_text() + what)
        elif what == UNINSTALL:
            clean_up_conftest(project)
            env["PYTEST_PLUGINS"] = ",".join(p for p in PLUGINS if p != "pytest_recording.plugin")
        else:
            result = shell(what, project, env)
            assert result.returncode == 0, f"$ {what}\n{result.stdout}\n{result.stderr}"
            if what == "pytest":
                runs.append(result.stdout)

    converted = sorted(p.relative_to(project).as_posix() for p in (project / "cassettes").rglob("*.yaml"))
    assert converted == [
        "cassettes/tests/models/test_chat/test_capital.yaml",
        "cassettes/tests/models/test_tools/test_tool_call.yaml",
        "cassettes/tests/test_anthropic/test_message.yaml",
        "cassettes/tests/test_anthropic/test_streamed_message.yaml",
        "cassettes/tests/test_async_chat/test_embeddings.yaml",
        "cassettes/tests/test_async_chat/test_two_questions.yaml",
        "cassettes/tests/test_chat/test_capital.yaml",
        "cassettes/tests/test_chat/test_joke.yaml",
        "cassettes/tests/test_chat/test_streamed_greeting.yaml",
    ]
    assert not list((project / "tests").rglob("*.yaml")), "step 5 left old cassettes"
    # Step 4 with pytest-recording installed, step 5 without it: the same result.
    for run in runs:
        assert f"{SUITE_TESTS} passed" in run
        assert "0 network calls" in run
        drift = run.split("would miss with body matching", 1)[1]
        assert "llm-cassette: 1 test would miss with body matching" in run
        assert "tests/test_chat.py::test_joke: interaction #1 POST https://api.openai.com/v1/chat/completions" in drift
        assert "body.messages[0].content: sent 'Tell me a short joke about cats', recorded 'Tell me a joke'" in drift

    # No per-module edit beyond the markers (the module overriding vcr_config kept it, unread).
    for rel, before in modules.items():
        expected = before.replace("pytest.mark.vcr", "pytest.mark.llm_cassette")
        assert (project / rel).read_text() == expected, f"{rel} changed beyond its markers"

    # Step 6's premise: without the preset, exactly the listed test misses (until it is re-recorded).
    conftest = project / "tests" / "conftest.py"
    conftest.write_text(conftest.read_text().replace('{"match_on": "vcrpy"}', "{}"))
    tightened = shell("pytest", project, env)
    assert tightened.returncode == 1
    assert f"1 failed, {SUITE_TESTS - 1} passed" in tightened.stdout
    assert "FAILED tests/test_chat.py::test_joke" in tightened.stdout
