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
