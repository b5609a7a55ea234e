"""`stacks.import_hook.when_imported`: a patch runs when the module is imported, whatever the
order, once per import however often it was registered, and again on a re-import (pytester's
in-process runs restore `sys.modules`, so a stack may be imported twice in one process)."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from llm_cassette import stacks, use_cassette
from llm_cassette.stacks import import_hook
from llm_cassette.stacks.import_hook import when_imported


@pytest.fixture
def probe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    name = f"llmc_probe_{tmp_path.name.replace('-', '_')}"
    package = tmp_path / name
    package.mkdir()
    (package / "__init__.py").write_text("VALUE = 1\n", encoding="utf-8")
    (package / "client.py").write_text("class Session:\n    pass\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    for module in [m for m in sys.modules if m == name or m.startswith(f"{name}.")]:
        del sys.modules[module]


def test_patch_runs_at_import_once_per_import_and_again_on_reimport(probe: str) -> None:
    seen: list[ModuleType] = []

    def patch(module: ModuleType) -> None:
        module.Session.patched = True  # type: ignore[attr-defined]
        seen.append(module)

    when_imported(f"{probe}.client", patch)
    when_imported(f"{probe}.client", patch)  # every cassette start registers again: no second call
    assert seen == []  # nothing is imported ahead of the application
    first = importlib.import_module(f"{probe}.client")
    assert seen == [first] and first.Session.patched

    del sys.modules[f"{probe}.client"]
    again = importlib.import_module(f"{probe}.client")
    assert again is not first and seen == [first, again] and again.Session.patched


def test_an_imported_module_is_patched_at_once(probe: str) -> None:
    module = importlib.import_module(f"{probe}.client")
    seen: list[ModuleType] = []
    when_imported(f"{probe}.client", seen.append)
    assert seen == [module]


@pytest.fixture
def fresh_httpx() -> Iterator[None]:
    """Lets a test import httpx again as new module objects; the originals are back afterwards."""
    saved = {name: module for name, module in sys.modules.items() if name == "httpx" or name.startswith("httpx.")}
    for name in saved:
        del sys.modules[name]
    try:
        yield
    finally:
        for name in [m for m in sys.modules if m == "httpx" or m.startswith("httpx.")]:
            del sys.modules[name]
        sys.modules.update(saved)
        if import_hook._finder not in sys.meta_path:
            sys.meta_path.insert(0, import_hook._finder)


def _patched(module: ModuleType) -> bool:
    return bool(getattr(module.HTTPTransport.handle_request, "_llm_cassette", False))


@pytest.mark.parametrize("hook", ["removed", "put back"])
def test_a_stack_imported_behind_the_hooks_back_is_patched_at_the_next_start(
    hook: str, fresh_httpx: None, tmp_path: Path
) -> None:
    """Every start but the first skips installing when nothing changed; a watched module that is
    another object than the last start saw (imported while code had rebuilt `sys.meta_path`) is a
    change, and so is the hook missing from `sys.meta_path`."""
    stacks.install()
    sys.meta_path.remove(import_hook._finder)
    new = importlib.import_module("httpx")
    assert not _patched(new)  # nothing saw that import
    if hook == "put back":
        sys.meta_path.insert(0, import_hook._finder)
    with use_cassette(tmp_path / "c.yaml", record_mode="none"):
        assert _patched(new)
    assert import_hook._finder in sys.meta_path
