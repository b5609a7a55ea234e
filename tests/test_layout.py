"""The package layout keeps its promises (docs/architecture.md): imports only go down."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "llm_cassette"


def imported_modules(path: Path) -> set[str]:
    """Absolute names of the llm_cassette modules `path` imports (relative imports resolved)."""
    module = ".".join(("llm_cassette", *path.relative_to(PACKAGE).with_suffix("").parts))
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    if path.name == "__init__.py":
        module = module.removesuffix(".__init__")
        package = module
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            out.add(name)
            out.update(f"{name}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return {m for m in out if m == "llm_cassette" or m.startswith("llm_cassette.")}


def modules_in(folder: str) -> list[Path]:
    return sorted((PACKAGE / folder).rglob("*.py"))


@pytest.mark.parametrize("path", modules_in("core"), ids=lambda p: p.name)
def test_core_never_imports_a_door_or_a_stack(path: Path) -> None:
    banned = ("plugin", "cli", "report", "describe", "stacks", "python_api", "fake_server")
    bad = [m for m in imported_modules(path) if m.split(".")[1:2] and m.split(".")[1] in banned]
    assert not bad, f"{path.name} imports {bad}"


@pytest.mark.parametrize("path", modules_in("storage"), ids=lambda p: p.name)
def test_storage_depends_only_on_models_and_errors(path: Path) -> None:
    allowed = (
        "llm_cassette.core.models",
        "llm_cassette.core.lazy_names",
        "llm_cassette.errors",
        "llm_cassette.storage",
    )
    bad = [m for m in imported_modules(path) if not m.startswith(allowed) and m != "llm_cassette.core"]
    assert not bad, f"{path.name} imports {bad}"


def test_no_module_is_over_400_lines() -> None:
    long = {
        str(p.relative_to(PACKAGE)): n for p in PACKAGE.rglob("*.py") if (n := len(p.read_text().splitlines())) > 400
    }
    assert not long, long


def test_importing_the_plugin_loads_no_cassette_machinery() -> None:
    # Every pytest run imports the plugin, most tests use no cassette, `pytest --co` none: the
    # reader, the YAML library, the session, the stacks' adapters and the rarely used parts wait.
    # (The parse cache's directory is set when pytest starts: that imports no YAML either.)
    code = "import sys, llm_cassette.plugin, llm_cassette.storage.parse_cache; print(' '.join(sorted(sys.modules)))"
    env = {**os.environ, "PYTHONPATH": str(PACKAGE.parent)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    loaded = set(out.stdout.split())
    assert "llm_cassette.plugin" in loaded
    waiting = (
        "yaml", "asyncio", "difflib", "llm_cassette.storage.", "llm_cassette.core.session",
        "llm_cassette.core.matchers", "llm_cassette.stacks", "llm_cassette.describe", "llm_cassette.drift",
        "llm_cassette.python_api", "llm_cassette.plugin.verify", "llm_cassette.vcr_import", "llm_cassette.report",
    )  # fmt: skip
    early = {m for m in loaded if m.split(".")[0] in ("yaml", "asyncio", "difflib") or m.startswith(waiting)}
    assert sorted(early - {"llm_cassette.storage.parse_cache"}) == []


def test_every_public_name_resolves() -> None:
    import llm_cassette

    for name in llm_cassette.__all__:
        assert getattr(llm_cassette, name) is not None, name
    assert llm_cassette.use_cassette.__module__ == "llm_cassette.python_api"
    assert llm_cassette.faults.__name__ == "llm_cassette.faults"
    assert sorted(dir(llm_cassette)) == sorted(llm_cassette.__all__)
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        _ = llm_cassette.nothing_here  # type: ignore[attr-defined]
