"""Edge cases found in review: fault counting, redacted miss reports, redacted fixture view, modes."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import httpx
import openai
import pytest

from llm_cassette import CassetteMiss, faults, use_cassette
from llm_cassette.fake_server import FakeServer

KEY = "sk-fake-edge-case-key-0000000000"


def ask(server: FakeServer) -> int:
    with openai.OpenAI(base_url=server.base_url_openai, api_key=KEY, max_retries=0) as client:
        try:
            client.chat.completions.create(model="m", messages=[{"role": "user", "content": "same"}])
        except openai.APIStatusError as exc:
            return exc.status_code
    return 200


def test_every_fault_counts_every_request(tmp_path: Path, fake_server: FakeServer) -> None:
    cassette = tmp_path / "c.yaml"
    with use_cassette(cassette, record_mode="once"):
        for _ in range(4):
            ask(fake_server)
    plan = [faults.server_error(500, call=1), faults.server_error(503, call=2)]
    with use_cassette(cassette, faults=plan, allow_playback_repeats=True):
        statuses = [ask(fake_server) for _ in range(4)]
    assert statuses == [500, 503, 200, 200]


def test_miss_report_never_shows_a_secret(
    tmp_path: Path, fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "AIzaFAKEfakeFAKEfake0123456789abcdefXYZ"
    monkeypatch.setenv("GOOGLE_API_KEY", secret)
    with pytest.raises(CassetteMiss) as info, use_cassette(tmp_path / "missing.yaml"):
        httpx.post(fake_server.url + "/v1/x?key=" + secret, json={"prompt": "my key is " + secret})
    assert secret not in str(info.value)
    assert "key=REDACTED" in str(info.value)
    assert "record_mode='new_episodes'" in str(info.value), "use_cassette names its own way to re-record"


def test_fixture_view_of_a_recording_is_redacted(tmp_path: Path, fake_server: FakeServer) -> None:
    with use_cassette(tmp_path / "c.yaml", record_mode="once") as session:
        ask(fake_server)
        headers = dict(session.interactions[0].request.headers)
    assert headers["authorization"] == "REDACTED"
    assert KEY.encode() not in (tmp_path / "c.yaml").read_bytes()


def test_saved_cassettes_get_ordinary_file_permissions(tmp_path: Path, fake_server: FakeServer) -> None:
    cassette = tmp_path / "c.yaml"
    with use_cassette(cassette, record_mode="once"):
        ask(fake_server)
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(cassette.stat().st_mode) == 0o666 & ~umask
    os.chmod(cassette, 0o640)
    with use_cassette(cassette, record_mode="all"):
        ask(fake_server)
    assert stat.S_IMODE(cassette.stat().st_mode) == 0o640, "a re-recording keeps the file's mode"


def test_prune_with_test_paths_only_speaks_for_those_modules(pytester: pytest.Pytester, fake_env: FakeServer) -> None:
    import subprocess
    import sys

    body = """
import os, openai, pytest

@pytest.mark.llm_cassette
def test_it():
    with openai.OpenAI(base_url=os.environ["FAKE_LLM_URL"] + "/v1", api_key="sk-fake-prune-0000", max_retries=0) as c:
        c.chat.completions.create(model="m", messages=[{"role": "user", "content": __name__}])
"""
    pytester.makepyfile(test_a=body, test_b=body)
    pytester.runpytest("--record").assert_outcomes(passed=2)
    orphan = pytester.path / "cassettes/test_a/test_gone.yaml"
    orphan.write_bytes((pytester.path / "cassettes/test_a/test_it.yaml").read_bytes())
    proc = subprocess.run(
        [sys.executable, "-m", "llm_cassette.cli", "prune", "--", "test_b.py"],
        capture_output=True, text=True, cwd=pytester.path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "no orphan cassettes" in proc.stdout, "test_a's cassettes are not test_b's to judge"
    proc = subprocess.run(
        [sys.executable, "-m", "llm_cassette.cli", "prune", "--", "test_a.py"],
        capture_output=True, text=True, cwd=pytester.path,
    )  # fmt: skip
    assert f"would delete {orphan}" in proc.stdout
    assert proc.returncode == 1
