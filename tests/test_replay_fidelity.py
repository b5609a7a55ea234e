"""Replay shows what was recorded and nothing that did not happen; hostile cassettes stay harmless.

Headers matched redacted to redacted, `retry-after` replayed
exactly unless the recording shows the retry, deep JSON in `show`/`report`/`stats`, schema errors
that never echo a symlinked file's content, `version: 1.0`, and what the docs promise about
`Cassette.interactions` and `all` mode.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import httpx
import httpx2
import openai
import pytest
import yaml

from llm_cassette import (
    CassetteData,
    CassetteFormatError,
    CassetteMiss,
    Interaction,
    Request,
    Response,
    load,
    save,
    use_cassette,
)
from llm_cassette.fake_server import FakeServer
from raw_upstream import RawUpstream

CLI = [sys.executable, "-m", "llm_cassette.cli"]
KEY = "sk-proj-fake-fidelity-key-0123456789"


@pytest.fixture(scope="module")
def upstream() -> Iterator[RawUpstream]:
    with RawUpstream() as server:
        yield server


# --- match_on with headers ------------------------------------------------------------------------


def test_match_on_headers_compares_redacted_to_redacted(
    tmp_path: Path, upstream: RawUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    cassette = tmp_path / "h.yaml"
    rules = {"match_on": ["method", "url", "headers"]}

    def send(tenant: str) -> None:
        with httpx.Client(headers={"authorization": f"Bearer {KEY}", "x-tenant": tenant}) as client:
            client.get(upstream.url + "/h")

    with use_cassette(cassette, record_mode="all", **rules):
        send("blue")
    assert yaml.safe_load(cassette.read_text())["interactions"][0]["request"]["headers"]["authorization"] == "REDACTED"
    with use_cassette(cassette, **rules) as replay:
        send("blue")
    assert replay.play_count == 1
    with pytest.raises(CassetteMiss, match="headers differ: x-tenant"), use_cassette(cassette, **rules):
        send("green")


# --- retry-after ----------------------------------------------------------------------------------


def chat(server: FakeServer, model: str, retries: int = 0) -> tuple[int, dict[str, str]]:
    client = openai.OpenAI(base_url=server.base_url_openai, api_key=KEY, max_retries=retries)
    try:
        messages = [{"role": "user", "content": "hi"}]
        raw = client.chat.completions.with_raw_response.create(model=model, messages=messages)  # type: ignore[arg-type]
        return raw.status_code, dict(raw.headers)
    except openai.RateLimitError as exc:
        return exc.status_code, dict(exc.response.headers)
    finally:
        client.close()


def test_retry_after_is_replayed_exactly_when_no_retry_followed(tmp_path: Path, fake_server: FakeServer) -> None:
    cassette = tmp_path / "no-retry.yaml"
    model = "gpt-4o-mini+fail429+retryafter2000"
    with use_cassette(cassette, record_mode="all"):
        recorded = chat(fake_server, model)
    with use_cassette(cassette):
        replayed = chat(fake_server, model)
    assert recorded[0] == replayed[0] == 429
    for name in ("retry-after", "retry-after-ms"):
        assert replayed[1][name] == recorded[1][name]
    assert replayed[1]["retry-after-ms"] == "2000"


def test_back_off_is_shortened_only_where_the_retry_happened(tmp_path: Path, fake_server: FakeServer) -> None:
    cassette = tmp_path / "retried.yaml"
    model = "gpt-4o-mini+fail429x1+retryafter1500+scenario=shorten"

    def call() -> list[tuple[int, str | None]]:
        seen: list[tuple[int, str | None]] = []
        hooks = {"response": [lambda r: seen.append((r.status_code, r.headers.get("retry-after-ms")))]}
        with httpx2.Client(event_hooks=hooks) as http:
            client = openai.OpenAI(base_url=fake_server.base_url_openai, api_key=KEY, max_retries=1, http_client=http)
            client.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}])
        return seen

    with use_cassette(cassette, record_mode="all"):
        assert call() == [(429, "1500"), (200, None)]  # the SDK waited 1.5 s and retried
    with use_cassette(cassette) as replay:
        assert call() == [(429, "1"), (200, None)]  # the retry is in the cassette: no real wait
    assert replay.play_count == 2


# --- hostile but valid cassettes ------------------------------------------------------------------

DEEP = 50_000


def deep_cassette(path: Path) -> None:
    deep_object = ('{"a":' * DEEP + "1" + "}" * DEEP).encode()
    json_type = (("content-type", "application/json"),)
    events = (("content-type", "text/event-stream"),)
    chat = Request("POST", "http://127.0.0.1:9/v1/chat/completions", json_type, b'{"model":"m","messages":[]}')
    from llm_cassette import Chunk

    save(
        path,
        CassetteData(
            [
                Interaction(Request("POST", chat.url, json_type, deep_object), Response(200, json_type, deep_object)),
                Interaction(chat, Response(200, events, chunks=(Chunk(b"data: " + deep_object + b"\n\n"),))),
            ]
        ),
    )


@pytest.mark.parametrize("command", ["show", "stats", "report"])
def test_show_report_and_stats_survive_json_nested_50000_deep(tmp_path: Path, command: str) -> None:
    cassette = tmp_path / "deep.yaml"
    deep_cassette(cassette)
    extra = ["-o", str(tmp_path / "r.html")] if command == "report" else []
    done = subprocess.run([*CLI, command, str(cassette), *extra], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "RecursionError" not in done.stderr


PASSWD_LIKE = "root:x:0:0:root:/root:/bin/bash OPENAI_API_KEY=sk-proj-abcdefghijklmnopqrstuvwx\nbin:x:1:1::/:\n"
CASSETTE_LIKE = (
    "version: 1\ninteractions:\n- request: {method: GET, url: 'http://h/'}\n"
    "  response: {status: 'root:x:0:0:root:/root:/bin/bash sk-proj-abcdefghijklmnopqrstuvwx'}\n"
)


@pytest.mark.parametrize("content", [PASSWD_LIKE, CASSETTE_LIKE], ids=["not-yaml-mapping", "bad-scalar"])
def test_a_symlinked_cassette_never_echoes_the_targets_content(tmp_path: Path, content: str) -> None:
    target = tmp_path / "elsewhere" / "passwd"
    target.parent.mkdir()
    target.write_text(content)
    link = tmp_path / "cassettes" / "test_x.yaml"
    link.parent.mkdir()
    link.symlink_to(target)
    outputs = []
    with pytest.raises(CassetteFormatError) as error:
        load(link)
    outputs.append(str(error.value))
    for command in ("show", "check", "stats"):
        done = subprocess.run([*CLI, command, str(link)], capture_output=True, text=True)
        assert done.returncode != 0
        outputs.append(done.stdout + done.stderr)
    for output in outputs:
        # At most the offending scalar's type and its first few characters (less than any key).
        assert "root:x:0:0" not in output and "/bin/bash" not in output and "sk-proj-abc" not in output, output


def test_version_1_0_is_not_version_1(tmp_path: Path) -> None:
    cassette = tmp_path / "v.yaml"
    cassette.write_text("version: 1.0\ninteractions: []\n")
    with pytest.raises(CassetteFormatError, match=r"v.yaml:1: version must be the integer 2, not a number '1.0'"):
        load(cassette)
    cassette.write_text("version: 1\ninteractions: []\n")
    assert load(cassette).interactions == []


# --- what the docs promise ------------------------------------------------------------------------


def test_interactions_are_redacted_while_recording(
    tmp_path: Path, upstream: RawUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    with use_cassette(tmp_path / "c.yaml", record_mode="all") as cassette:
        httpx.post(upstream.url + "/echo", json={"key": KEY}, headers={"authorization": f"Bearer {KEY}"})
        shown = cassette.interactions[0].request
    assert json.loads(shown.body) == {"key": "REDACTED"}
    assert dict(shown.headers)["authorization"] == "REDACTED"


def test_all_mode_keeps_the_previous_cassette_when_the_test_fails(
    pytester: pytest.Pytester, upstream: RawUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAW_UPSTREAM_URL", upstream.url)
    pytester.makepyfile(
        test_a=textwrap.dedent(
            """
            import os, httpx, pytest

            @pytest.mark.llm_cassette
            def test_one():
                httpx.get(os.environ["RAW_UPSTREAM_URL"] + "/first")
                if os.environ.get("FAIL_NOW"):
                    httpx.get(os.environ["RAW_UPSTREAM_URL"] + "/second")
                    raise AssertionError("failed half-way")
            """
        )
    )
    pytester.runpytest("--llm-record-mode=all").assert_outcomes(passed=1)
    path = pytester.path / "cassettes" / "test_a" / "test_one.yaml"
    before = path.read_bytes()
    monkeypatch.setenv("FAIL_NOW", "1")
    pytester.runpytest("--llm-record-mode=all").assert_outcomes(failed=1)
    assert path.read_bytes() == before  # a re-recording that failed half-way is partial
