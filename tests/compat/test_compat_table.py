"""docs/compatibility.md says exactly what the suite covers: its rows match `make_table.ENTRIES`,
and every test those rows name exists."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

HERE = Path(__file__).resolve().parent


def load_make_table() -> ModuleType:
    spec = importlib.util.spec_from_file_location("compat_make_table", HERE / "make_table.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


make_table = load_make_table()


def collected_ids(request: pytest.FixtureRequest) -> set[str]:
    """Node ids of every test in tests/compat: from this run when it collected them all, else collected now."""
    root = Path(make_table.ROOT)
    files = sorted(p.name for p in HERE.glob("test_*.py"))
    here = {item.nodeid for item in request.session.items}
    mine = {nodeid for nodeid in here if nodeid.startswith(make_table.COMPAT + "/")}
    if Path(request.config.rootpath) == root and {n.split("::")[0].rsplit("/", 1)[-1] for n in mine} == set(files):
        return mine
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", make_table.COMPAT],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    return {line for line in out.stdout.splitlines() if "::" in line}


def test_page_rows_match_the_entries() -> None:
    page = make_table.PAGE.read_text(encoding="utf-8")
    assert make_table.rows_of(page) == [e.row for e in make_table.ENTRIES], (
        "docs/compatibility.md is out of date: run `python tests/compat/make_table.py`"
    )


def test_a_freshly_rendered_page_has_the_same_rows() -> None:
    # The parser and the renderer agree, whatever versions are installed.
    assert make_table.rows_of(make_table.render()) == [e.row for e in make_table.ENTRIES]


def test_every_listed_test_exists(request: pytest.FixtureRequest) -> None:
    ids = collected_ids(request)
    missing = [
        e.test for e in make_table.ENTRIES if e.test not in ids and not any(i.startswith(e.test + "[") for i in ids)
    ]
    assert not missing, f"rows name tests that do not exist: {missing}"


def test_every_client_row_reports_a_version() -> None:
    assert {e.client for e in make_table.ENTRIES} <= set(make_table.DISTRIBUTIONS)


def test_check_mode_notices_a_stale_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    page = tmp_path / "compatibility.md"
    monkeypatch.setattr(make_table, "PAGE", page)
    page.write_text(make_table.render().replace("chat completions, sync", "chat completions, sometimes"))
    assert make_table.main(["--check"]) == 1
    assert make_table.main([]) == 0
    assert make_table.main(["--check"]) == 0
