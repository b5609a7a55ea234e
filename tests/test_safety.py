"""Safe by default: no secret on disk, replay without keys, blocked network, stale cassettes, summary."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from llm_cassette.cli import main as cli_main
from llm_cassette.fake_server import FakeServer

OPENAI_KEY = "sk-proj-FAKEfakeFAKEfake0123456789abcdefABCDEF0123456789"
ANTHROPIC_KEY = "sk-ant-api03-FAKEfakeFAKEfake0123456789abcdefABCDEF0123456789"
ORG_ID = "org-FAKEfakeFAKE01234567"
QUERY_KEY = "AIzaFAKEfakeFAKEfake0123456789abcdefABC"
CUSTOM_TOKEN = "custom-FAKE-token-0123456789abcdef"


def test_no_key_byte_reaches_disk_and_replay_still_passes(
    pytester: pytest.Pytester, fake_env: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    monkeypatch.setenv("ANTHROPIC_API_KEY", ANTHROPIC_KEY)
    monkeypatch.setenv("OPENAI_ORG_ID", ORG_ID)
    monkeypatch.setenv("GOOGLE_API_KEY", QUERY_KEY)
    pytester.makepyfile(
        test_keys=f"""
        import os
        import anthropic
        import httpx
        import openai
        import pytest

        URL = os.environ["FAKE_LLM_URL"]

        @pytest.mark.llm_cassette(redact_headers=["x-custom-auth"], redact_values=["{CUSTOM_TOKEN}"])
        def test_keys_everywhere():
            # The key in the Authorization header, the org id header, echoed back in the body.
            client = openai.OpenAI(base_url=URL + "/v1", max_retries=0, organization=os.environ["OPENAI_ORG_ID"])
            r = client.chat.completions.create(
                model="gpt-4o-mini+echo",
                messages=[{{"role": "user", "content": "my key is " + os.environ["OPENAI_API_KEY"]}}],
            )
            assert r.choices[0].message.content.startswith("Echo: my key is ")
            # x-api-key, streamed, with the key inside the prompt and so inside the streamed reply.
            a = anthropic.Anthropic(base_url=URL, max_retries=0)
            with a.messages.stream(
                model="claude-haiku-4-5+echo", max_tokens=200,
                messages=[{{"role": "user", "content": "echo " + os.environ["ANTHROPIC_API_KEY"]}}],
            ) as s:
                text = "".join(s.text_stream)
            assert text.startswith("Echo: echo ")
            client.close()
            a.close()
            a.close()
            # A key in the query string and a custom header echoed back in the response.
            g = httpx.post(
                URL + "/v1/chat/completions?key=" + os.environ["GOOGLE_API_KEY"],
                json={{"model": "gpt-4o-mini", "messages": [{{"role": "user", "content": "q"}}]}},
                headers={{"x-custom-auth": "{CUSTOM_TOKEN}", "x-fake-echo-headers": "1"}},
            )
            assert g.status_code == 200
        """
    )
    pytester.runpytest("--record").assert_outcomes(passed=1)
    files = list((pytester.path / "cassettes").rglob("*"))
    assert any(f.suffix == ".yaml" for f in files)
    secrets = [OPENAI_KEY, ANTHROPIC_KEY, ORG_ID, QUERY_KEY, CUSTOM_TOKEN]
    for f in files:
        if f.is_file():
            data = f.read_bytes()
            for secret in secrets:
                assert secret.encode() not in data, f"{secret[:8]}… leaked into {f}"
                assert secret[:16].encode() not in data, f"part of {secret[:8]}… leaked into {f}"
    assert b"REDACTED" in (pytester.path / "cassettes/test_keys/test_keys_everywhere.yaml").read_bytes()
    before = fake_env.request_count
    pytester.runpytest().assert_outcomes(passed=1)
    assert fake_env.request_count == before


def test_replay_needs_no_provider_key(
    pytester: pytest.Pytester, fake_env: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(
        test_nokey="""
        import os
        import anthropic
        import openai
        import pytest

        URL = os.environ["FAKE_LLM_URL"]

        @pytest.mark.llm_cassette
        def test_both_sdks():
            o = openai.OpenAI(base_url=URL + "/v1", max_retries=0)
            assert o.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
            ).choices[0].message.content == "Echo: hi"
            a = anthropic.Anthropic(base_url=URL, max_retries=0)
            assert a.messages.create(
                model="claude-haiku-4-5", max_tokens=20, messages=[{"role": "user", "content": "hi"}]
            ).content[0].text == "Echo: hi"
            o.close()
            a.close()
        """
    )
    monkeypatch.setenv("OPENAI_API_KEY", "sk-fake-recording-key-0000000000")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-fake-recording-key-0000000000")
    pytester.runpytest("--record").assert_outcomes(passed=1)
    for var in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    before = fake_env.request_count
    pytester.runpytest().assert_outcomes(passed=1)
    assert fake_env.request_count == before


BLOCKED = """
import os
import httpx
import httpx2
import pytest

URL = os.environ["FAKE_LLM_URL"]

def test_unmarked_httpx():
    httpx.get(URL + "/v1/models")

def test_unmarked_httpx2():
    with httpx2.Client() as c:
        c.get(URL + "/v1/models")

@pytest.mark.asyncio
async def test_unmarked_async():
    async with httpx.AsyncClient() as c:
        await c.get(URL + "/v1/models")
"""


def test_block_network_stops_unmarked_tests(pytester: pytest.Pytester, fake_env: FakeServer) -> None:
    pytester.makepyfile(test_blocked=BLOCKED)
    result = pytester.runpytest("--llm-block-network")
    result.assert_outcomes(failed=3)
    result.stdout.fnmatch_lines(
        [
            "llm-cassette: real network request to '127.0.0.1' blocked by --llm-block-network*",
            "*Mark it with @pytest.mark.llm_cassette*--llm-allowed-hosts=127.0.0.1*",
        ]
    )
    assert fake_env.request_count == 0
    # Without the flag, and with the host allowed (flag or ini), the requests go through.
    pytester.runpytest().assert_outcomes(passed=3)
    pytester.runpytest("--llm-block-network", "--llm-allowed-hosts=127.0.0.1").assert_outcomes(passed=3)
    pytester.runpytest("--llm-block-network", "--llm-allow-localhost").assert_outcomes(passed=3)
    pytester.makeini("[pytest]\nllm_block_network = true\nllm_cassette_allowed_hosts =\n    127.0.0.1\n")
    pytester.runpytest().assert_outcomes(passed=3)
    assert fake_env.request_count == 12


def test_block_network_ini_blocks(pytester: pytest.Pytester, fake_env: FakeServer) -> None:
    pytester.makepyfile(test_blocked=BLOCKED)
    pytester.makeini("[pytest]\nllm_block_network = true\n")
    pytester.runpytest().assert_outcomes(failed=3)
    assert fake_env.request_count == 0


STALE = """
import os
import openai
import pytest

URL = os.environ["FAKE_LLM_URL"]

def ask(q):
    with openai.OpenAI(base_url=URL + "/v1", api_key="sk-fake-strict-test-key-0000", max_retries=0) as c:
        reply = c.chat.completions.create(model="m", messages=[{"role": "user", "content": q}])
    return reply.choices[0].message.content

@pytest.mark.llm_cassette
def test_stale():
    ask("one")
    if not os.environ.get("ONLY_ONE"):
        ask("two")

@pytest.mark.llm_cassette
def test_fine():
    ask("fine")
"""


def test_unused_interactions_warn_and_strict_fails(
    pytester: pytest.Pytester, fake_env: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_stale=STALE)
    pytester.runpytest("--record").assert_outcomes(passed=2)
    monkeypatch.setenv("ONLY_ONE", "1")
    result = pytester.runpytest()
    result.assert_outcomes(passed=2, warnings=1)
    result.stdout.fnmatch_lines(
        ["*UnusedInteractionsWarning*test_stale.yaml: 1 recorded interaction(s) were not used*"]
    )
    result = pytester.runpytest("--llm-cassette-strict")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*#2 POST http://127.0.0.1:*/v1/chat/completions*two*", "*--llm-cassette-strict*"])
    pytester.makeini("[pytest]\nllm_cassette_strict = true\n")
    pytester.runpytest().assert_outcomes(passed=1, failed=1)


def test_strict_lists_orphan_cassettes_and_prune_removes_them(
    pytester: pytest.Pytester, fake_env: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_stale=STALE)
    pytester.runpytest("--record").assert_outcomes(passed=2)
    folder = pytester.path / "cassettes/test_stale"
    orphan = folder / "test_deleted_long_ago.yaml"
    orphan.write_bytes((folder / "test_fine.yaml").read_bytes())
    foreign = folder / "vcr_cassette.yaml"  # another tool's file in the same folder is left alone
    foreign.write_text("interactions: []\nversion: 1\n")
    result = pytester.runpytest("--llm-cassette-strict")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*cassette files no collected test uses*", f"*{orphan}*", "*llm-cassette prune*"])
    assert "vcr_cassette.yaml" not in result.stdout.str()

    monkeypatch.chdir(pytester.path)
    # What `prune` does with what it finds: tests/test_cassette_counts.py.
    assert cli_main(["prune"]) == 1, "the orphan the run listed, prune finds"
    assert orphan.exists() and foreign.exists()


def test_summary_line_and_quiet(pytester: pytest.Pytester, fake_env: FakeServer) -> None:
    pytester.makepyfile(test_stale=STALE)
    result = pytester.runpytest("--record")
    result.stdout.fnmatch_lines(
        ["llm-cassette: 0 cassettes replayed, 0 interactions, 3 network calls, 3 recorded (new_episodes)"]
    )
    result = pytester.runpytest()
    result.stdout.fnmatch_lines(
        ["llm-cassette: 2 cassettes replayed, 3 interactions, 0 network calls, 0 recorded; * tokens not spent"]
    )
    result = pytester.runpytest("-q")
    assert "llm-cassette:" not in result.stdout.str()


def test_tokens_are_counted_only_for_a_summary_line_that_shows_them(
    pytester: pytest.Pytester, fake_env: FakeServer
) -> None:
    """Counting re-reads every reply: a run without the summary line (`-q`) skips it."""
    pytester.makepyfile(test_stale=STALE)
    pytester.runpytest("--record").assert_outcomes(passed=2)
    pytester.makeconftest(
        """
        import json, os

        def pytest_runtest_logreport(report):
            stats = getattr(report, "llm_cassette", None)
            if report.when == "teardown" and stats:
                with open(os.environ["TOKENS_LOG"], "a") as f:
                    f.write(json.dumps(stats["tokens"]) + "\\n")
        """
    )
    for flags, counted in ((["-q"], False), (["-q", "-v"], True), ([], True)):
        log = pytester.path / f"tokens{len(flags)}{counted}.log"
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("TOKENS_LOG", str(log))
            result = pytester.runpytest(*flags)
        result.assert_outcomes(passed=2)
        tokens = [int(line) for line in log.read_text().split()]
        assert len(tokens) == 2
        assert (sum(tokens) > 0) is counted, (flags, tokens)
        assert ("tokens not spent" in result.stdout.str()) is counted


def test_summary_and_report_under_xdist(pytester: pytest.Pytester, fake_env: FakeServer, tmp_path: Path) -> None:
    pytester.makepyfile(test_stale=STALE)
    pytester.runpytest("--record").assert_outcomes(passed=2)
    report = tmp_path / "report.html"
    result = pytester.runpytest_subprocess("-n", "2", f"--llm-cassette-report={report}")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["llm-cassette: 2 cassettes replayed, 3 interactions, 0 network calls, 0 recorded*"])
    html = report.read_text()
    assert "test_stale.yaml" in html and "test_fine.yaml" in html and "Echo: two" in html


def test_use_cassette_outside_pytest_fails_on_a_swallowed_miss(tmp_path: Path, fake_server: FakeServer) -> None:
    script = tmp_path / "script.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import httpx
            from llm_cassette import use_cassette
            with use_cassette({str(tmp_path / "c.yaml")!r}):
                try:
                    httpx.get({fake_server.url!r} + "/v1/models")
                except BaseException as exc:
                    print("swallowed", type(exc).__name__)
            """
        )
    )
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True)
    assert proc.returncode == 1
    assert "swallowed CassetteMiss" in proc.stdout
    assert "the cassette file does not exist" in proc.stderr
    assert fake_server.request_count == 0


def test_a_replay_gets_placeholder_keys_only_where_none_is_set_and_gives_the_environment_back(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    (pytester.path / "cassettes" / "test_env").mkdir(parents=True)
    (pytester.path / "cassettes" / "test_env" / "test_replaying.yaml").write_text("version: 2\ninteractions: []\n")
    pytester.makepyfile(
        test_env="""
        import os
        import pytest

        @pytest.mark.llm_cassette
        def test_replaying():
            assert os.environ["OPENAI_API_KEY"] == "sk-llm-cassette-placeholder-not-a-real-key"  # was empty
            assert os.environ["ANTHROPIC_API_KEY"] == "sk-ant-fake-kept-0000000000"  # set: kept
            assert "AWS_ACCESS_KEY_ID" not in os.environ  # a profile is named: boto3 uses it
            del os.environ["OPENAI_API_KEY"]  # the test's own change, undone with the rest

        def test_after():
            assert os.environ["OPENAI_API_KEY"] == ""
            assert os.environ["ANTHROPIC_API_KEY"] == "sk-ant-fake-kept-0000000000"
            assert os.environ["AWS_PROFILE"] == "llm-cassette-test-profile"
        """
    )
    monkeypatch.setenv("OPENAI_API_KEY", "")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-fake-kept-0000000000")
    monkeypatch.setenv("AWS_PROFILE", "llm-cassette-test-profile")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID", raising=False)
    pytester.runpytest_inprocess("-p", "no:randomly").assert_outcomes(passed=2)
