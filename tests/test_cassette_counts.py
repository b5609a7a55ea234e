"""One definition of a cassette file (`storage.cassette_files`), counted the same by the run's
summary line, `llm-cassette stats`, `report` and `prune`, on one folder with every edge case:
`.yaml` and `.yml`, a nested folder, a cassette several tests share, a vcrpy cassette, another
YAML file, an interrupted save's temporary file and a hidden folder. `prune` fails a dry run
that finds orphans and removes the folders its deletions empty; `show` defaults to `cassettes`;
a vcrpy cassette gets the `import` hint from pytest and from `check` as from `show`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from llm_cassette.cli import main as cli_main
from llm_cassette.fake_server import FakeServer

SUITE = """
import os

import httpx
import pytest

def get(path):
    httpx.get(os.environ["FAKE_LLM_URL"] + path)

@pytest.mark.llm_cassette
def test_a():
    get("/v1/models")

@pytest.mark.llm_cassette("shared", allow_playback_repeats=True)
def test_shares_one():
    get("/v1/models")

@pytest.mark.llm_cassette("shared", allow_playback_repeats=True)
def test_shares_two():
    get("/v1/models")

@pytest.mark.llm_cassette("short.yml")
def test_yml():
    get("/v1/models")

@pytest.mark.llm_cassette("sub/inner")
def test_nested():
    get("/v1/models")
"""

VCR = """interactions:
- request:
    body: null
    headers: {}
    method: GET
    uri: http://127.0.0.1:9/v1/models
  response:
    body: {string: '{}'}
    headers: {}
    status: {code: 200, message: OK}
version: 1
"""


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli_main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def prune(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "llm_cassette.cli", "prune", *args], capture_output=True, text=True, cwd=cwd
    )


def test_summary_stats_report_and_prune_count_the_same_files(
    pytester: pytest.Pytester, fake_env: FakeServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_suite=SUITE)
    pytester.runpytest("--record").assert_outcomes(passed=5)
    folder = pytester.path / "cassettes" / "test_suite"
    ours = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    assert ours == ["shared.yaml", "short.yml", "sub/inner.yaml", "test_a.yaml"]
    (folder / "vcr_recorded.yaml").write_text(VCR)  # pytest-recording shares the folder
    (pytester.path / "cassettes" / "notes.yaml").write_text("owner: the platform team\n")
    (folder / ".test_a.yaml.k2j3h4.tmp").write_bytes((folder / "test_a.yaml").read_bytes())  # a save cut short
    (pytester.path / "cassettes" / ".backup").mkdir()
    (pytester.path / "cassettes" / ".backup" / "test_a.yaml").write_bytes((folder / "test_a.yaml").read_bytes())
    orphan = folder / "gone" / "deep" / "test_removed.yaml"
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes((folder / "test_a.yaml").read_bytes())

    replay = pytester.runpytest()
    replay.assert_outcomes(passed=5)
    replay.stdout.fnmatch_lines(["llm-cassette: 4 cassettes replayed, 5 interactions, 0 network calls, 0 recorded*"])

    monkeypatch.chdir(pytester.path)
    # prune collects in a subprocess: without the plugins this suite does not need, it starts faster.
    lean = "-p no:xdist -p no:randomly -p no:asyncio -p no:anyio -p no:cassetter -p no:hypothesispytest"
    monkeypatch.setenv("PYTEST_ADDOPTS", f"{lean} -p no:langsmith_plugin")
    capsys.readouterr()  # the inner runs' output
    code, out, err = run_cli(capsys, "stats")
    assert code == 0, err
    assert out.startswith("5 cassettes, 5 interactions"), out  # the four replayed and the orphan
    assert "vcr_recorded.yaml: not read (this is a vcrpy cassette: convert it with `llm-cassette import`)" in err
    code, out, err = run_cli(capsys, "report", "-o", "report.html")
    assert code == 0 and "(5 cassettes)" in out, out + err

    dry = prune(pytester.path)
    assert dry.returncode == 1, "orphans fail a dry run, so that CI can gate on it"
    assert f"would delete {orphan}" in dry.stdout
    assert "1 orphan cassette (5 cassette files under" in dry.stdout and "4 used by the collected tests" in dry.stdout
    deleted = prune(pytester.path, "--delete")
    assert deleted.returncode == 0, deleted.stdout + deleted.stderr
    assert not (folder / "gone").exists(), "the folders the deletion emptied go too"
    assert f"removed the empty folder {orphan.parent}" in deleted.stdout
    assert (
        (folder / "sub").is_dir()
        and (folder / "vcr_recorded.yaml").exists()
        and (folder / ".test_a.yaml.k2j3h4.tmp").exists()
    )

    code, out, _ = run_cli(capsys, "stats")
    assert out.startswith("4 cassettes, 4 interactions"), out
    code, out, _ = run_cli(capsys, "report", "-o", "report.html")
    assert "(4 cassettes)" in out


def test_show_defaults_to_the_cassettes_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(capsys, "show")
    assert code == 1 and "no such file or directory: cassettes" in err
    (tmp_path / "cassettes").mkdir()
    (tmp_path / "cassettes" / "vcr.yaml").write_text(VCR)
    code, _, err = run_cli(capsys, "show")
    assert code == 0
    assert "cassettes/vcr.yaml: not read (this is a vcrpy cassette: convert it with `llm-cassette import`)" in err


def test_a_vcrpy_cassette_gets_the_import_hint_from_pytest_and_check(
    pytester: pytest.Pytester, fake_env: FakeServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_old="import pytest\n\n@pytest.mark.llm_cassette\ndef test_it():\n    pass\n")
    cassette = pytester.path / "cassettes" / "test_old" / "test_it.yaml"
    cassette.parent.mkdir(parents=True)
    cassette.write_text(VCR)
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    hint = "(this is a vcrpy cassette: convert it with `llm-cassette import`)"
    result.stdout.fnmatch_lines(
        [f"{cassette}:*: unknown key 'uri' in request * {hint.replace('(', '[(]').replace(')', '[)]')}"]
    )
    monkeypatch.chdir(pytester.path)
    capsys.readouterr()
    code, out, _ = run_cli(capsys, "check")
    assert code == 1
    assert "invalid-cassette: unknown key 'uri' in request" in out and hint in out
