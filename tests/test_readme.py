"""The README's fresh-machine commands are the ones CI runs, verbatim; the install instructions work today."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from docs_samples import samples

ROOT = Path(__file__).resolve().parent.parent


def setup_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Set up on a fresh machine", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```\n(.+?)\n```", section)


def test_readme_has_exactly_two_setup_commands_and_ci_runs_both_verbatim() -> None:
    commands = setup_commands()
    assert len(commands) == 2, commands
    assert "llm-cassette demo" in commands[0]
    assert "pytest" in commands[1]
    ci_lines = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    for command in commands:
        assert command in ci_lines, f"{command!r} is not run verbatim by .ci/run"


def test_install_instructions_work_before_a_release() -> None:
    tomllib = pytest.importorskip("tomllib")
    name = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["name"]
    pages = {"README.md": ROOT / "README.md", "getting-started.md": ROOT / "docs" / "getting-started.md"}
    for label, path in pages.items():
        text = path.read_text(encoding="utf-8")
        assert "pip install -e ." in text and "pip install -e '.[demo]'" in text, f"{label}: from a checkout"
        assert f'pip install "{name} @ git+<your clone URL>"' in text, f"{label}: from a git URL"
        assert "`llm-cassette` on PyPI is an unrelated project" in text, f"{label}: the name clash"
    # Nothing tells a reader to install from PyPI a release that does not exist (or the wrong project).
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        text = path.read_text(encoding="utf-8")
        assert not re.search(rf"pip install ['\"]?{name}(\[\w+\])?['\"]?(?!\s*@)", text), f"{path}: a PyPI install"
        for line in text.splitlines():
            if re.search(r"pip install ['\"]?llm-cassette\b", line):
                assert " not " in line, f"{path}: installs the unrelated project: {line.strip()}"


def test_readme_example_is_the_one_the_docs_run() -> None:
    # tests/test_docs.py records and replays the getting-started sample; the README shows the same code.
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    [shown] = re.findall(r"```python\n(.+?)```", readme, re.DOTALL)
    assert ast.dump(ast.parse(shown)) == ast.dump(ast.parse(samples()["tests/test_summary.py"]))
