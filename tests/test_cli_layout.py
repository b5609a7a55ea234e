"""The command line's layout rules: every command is its own module, and none imports another."""

from __future__ import annotations

import ast
from pathlib import Path

import llm_cassette.cli as cli
from llm_cassette.cli import COMMANDS

CLI_DIR = Path(cli.__file__).parent
COMMAND_MODULES = {module.rsplit(".", 1)[1] for module, _ in COMMANDS.values()}


def _imported_siblings(path: Path) -> set[str]:
    """Names of `llm_cassette.cli` modules that `path` imports (relative or absolute)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1:  # `from .x import y` or `from . import x`
                found.update([node.module] if node.module else [a.name for a in node.names])
            elif node.module and node.module.startswith("llm_cassette.cli."):
                found.add(node.module.split(".")[2])
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[2] for a in node.names if a.name.startswith("llm_cassette.cli."))
    return found


def test_every_command_module_exists() -> None:
    assert sorted(p.stem for p in CLI_DIR.glob("*.py") if p.stem in COMMAND_MODULES) == sorted(COMMAND_MODULES)


def test_no_command_module_imports_another() -> None:
    offenders = {
        name: sorted(_imported_siblings(CLI_DIR / f"{name}.py") & (COMMAND_MODULES - {name}))
        for name in sorted(COMMAND_MODULES)
    }
    assert {k: v for k, v in offenders.items() if v} == {}
