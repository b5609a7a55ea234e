"""`pytest --llm-verify`: the marked tests run live against the fake server while it drifts.

A suite is recorded and "committed"; then the server changes its answers (the test code does
not): only volatile fields, reworded replies, a changed tool call, a changed structured-output
shape, a new error, a cut stream. `--llm-verify` must class each test, never touch the committed
cassettes, fail the run when something changed, and with `--record` refresh only what changed.
"""

from __future__ import annotations

import textwrap

import pytest

from llm_cassette.fake_server import FakeServer

SUITE = """
import os
import openai
import pytest

URL = os.environ["FAKE_LLM_URL"]
WEATHER = {"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
SCHEMA = {"type": "json_schema", "json_schema": {"name": "a", "schema": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}


def client():
    return openai.OpenAI(base_url=URL + "/v1", api_key="sk-fake-verify-test-key-000000", max_retries=0)


def ask(prompt, **kw):
    with client() as c:
        reply = c.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": prompt}], **kw)
        return list(reply) if kw.get("stream") else reply


@pytest.mark.llm_cassette
def test_chat():
    assert "Paris" in ask("Capital of France?").choices[0].message.content


@pytest.mark.llm_cassette
def test_exact_wording():
    assert ask("Say hello").choices[0].message.content == "Hello! How can I help you today?"


@pytest.mark.llm_cassette
def test_tool_call():
    assert ask("Weather in Lisbon?", tools=[WEATHER]).choices[0].message.tool_calls[0].function.name == "get_weather"


@pytest.mark.llm_cassette
def test_structured():
    assert ask("Where is Paris?", response_format=SCHEMA).choices[0].message.content.startswith("{")


@pytest.mark.llm_cassette
def test_stream_tolerates_errors():
    try:
        for _ in ask("Tell me a joke", stream=True):
            pass
    except (openai.APIError, openai.APIConnectionError):
        pass  # the app shows an error message; the test checks it does not crash
"""
TESTS = ["test_chat", "test_exact_wording", "test_tool_call", "test_structured", "test_stream_tolerates_errors"]


@pytest.fixture
def committed(pytester: pytest.Pytester, fake_env: FakeServer) -> dict[str, bytes]:
    """The suite recorded against the unchanged server: the cassettes as committed."""
    pytester.makepyfile(test_app=textwrap.dedent(SUITE))
    pytester.runpytest("--record").assert_outcomes(passed=5)
    return snapshot(pytester)


def snapshot(pytester: pytest.Pytester) -> dict[str, bytes]:
    folder = pytester.path / "cassettes" / "test_app"
    return {p.stem: p.read_bytes() for p in sorted(folder.glob("*.yaml"))}


def verify(pytester: pytest.Pytester, server: FakeServer, knobs: dict[str, str], *args: str) -> pytest.RunResult:
    server.set_default_knobs(knobs)
    try:
        return pytester.runpytest("--llm-verify", *args)
    finally:
        server.set_default_knobs({})


def verdicts(result: pytest.RunResult) -> dict[str, str]:
    """test name -> verdict, from the terminal summary section."""
    out: dict[str, str] = {}
    for line in result.outlines:
        parts = line.split()
        if len(parts) >= 2 and parts[0] in ("same", "reworded", "changed", "failed") and "::" in parts[1]:
            out[parts[1].split("::")[1]] = parts[0] if len(parts) == 2 else f"{parts[0]} {parts[2]}"
    return out


def test_volatile_changes_only_are_the_same_and_the_run_passes(
    pytester: pytest.Pytester, fake_env: FakeServer, committed: dict[str, bytes]
) -> None:
    result = verify(pytester, fake_env, {"x-fake-drift": "ids"})
    assert result.ret == 0, result.stdout.str()
    assert verdicts(result) == dict.fromkeys(TESTS, "same")
    result.stdout.fnmatch_lines(["llm-cassette: verified 5 tests: 5 same, 0 reworded, 0 changed, 0 failed; *"])
    assert snapshot(pytester) == committed  # never touched
    scratch = pytester.path / ".pytest_cache" / "llm-cassette-verify" / "test_app"
    assert sorted(p.stem for p in scratch.glob("*.yaml")) == sorted(TESTS)
    assert b"chatcmpl-" in (scratch / "test_chat.yaml").read_bytes()  # fresh ids were recorded
    assert (scratch / "test_chat.yaml").read_bytes() != committed["test_chat"]


def test_reworded_replies_are_reworded_and_a_test_that_pins_the_wording_fails(
    pytester: pytest.Pytester, fake_env: FakeServer, committed: dict[str, bytes]
) -> None:
    result = verify(pytester, fake_env, {"x-fake-drift": "reword"})
    assert result.ret == 1  # test_exact_wording failed against the live API
    assert verdicts(result) == {
        "test_chat": "reworded",
        "test_exact_wording": "failed (reworded)",
        "test_tool_call": "same",
        "test_structured": "reworded",
        "test_stream_tolerates_errors": "reworded",
    }
    result.stdout.fnmatch_lines(['*response.text: "The capital of France is Paris." -> "In short: The capital*'])
    assert snapshot(pytester) == committed


def test_changed_tool_call_shape_error_and_cut_stream_are_changed_and_fail_the_run(
    pytester: pytest.Pytester, fake_env: FakeServer, committed: dict[str, bytes]
) -> None:
    result = verify(pytester, fake_env, {"x-fake-drift": "tools,shape", "x-fake-drop-after": "2"})
    assert result.ret == 1, result.stdout.str()
    result.assert_outcomes(passed=5)  # every test passed: the run fails because cassettes changed
    found = verdicts(result)
    assert found["test_tool_call"] == "changed"
    assert found["test_structured"] == "changed"
    assert found["test_stream_tolerates_errors"] == "changed"  # cut after two events
    assert found["test_chat"] == found["test_exact_wording"] == "same"
    result.stdout.fnmatch_lines(
        [
            "*response.complete: true -> false*",
            "*response.json.confidence: *",
            "*response.tool_calls?0?.arguments.city: *",
            "Refresh the cassettes that changed with `pytest --llm-verify --record`.",
        ]
    )
    error = verify(pytester, fake_env, {"x-fake-fail": "500"})
    assert verdicts(error)["test_stream_tolerates_errors"] == "changed"
    assert verdicts(error)["test_chat"] == "failed (changed)"
    error.stdout.fnmatch_lines(['*response.status: "200" -> "500"*'])
    assert snapshot(pytester) == committed


def test_verify_record_refreshes_only_what_changed(
    pytester: pytest.Pytester, fake_env: FakeServer, committed: dict[str, bytes]
) -> None:
    result = verify(pytester, fake_env, {"x-fake-drift": "tools,reword"}, "--record")
    assert result.ret == 1, result.stdout.str()
    after = snapshot(pytester)
    assert after["test_tool_call"] != committed["test_tool_call"]  # changed: refreshed
    unchanged = [t for t in TESTS if t != "test_tool_call"]
    assert {t: after[t] for t in unchanged} == {t: committed[t] for t in unchanged}  # reworded or failed: kept
    result.stdout.fnmatch_lines(["refreshed: */cassettes/test_app/test_tool_call.yaml"])
    # the refreshed cassette replays offline, and now tells the truth
    replay = pytester.runpytest("-p", "no:cacheprovider")
    replay.assert_outcomes(passed=5)
    again = verify(pytester, fake_env, {"x-fake-drift": "tools"})
    assert verdicts(again)["test_tool_call"] == "same"


def test_verify_html_report_lists_each_verdict(
    pytester: pytest.Pytester, fake_env: FakeServer, committed: dict[str, bytes]
) -> None:
    out = pytester.path / "verify.html"
    verify(pytester, fake_env, {"x-fake-drift": "shape"}, f"--llm-cassette-report={out}")
    page = out.read_text()
    assert "Live API against the committed cassettes" in page
    assert 'verdict-changed">changed</span>' in page and "response.json.confidence" in page
    assert page.count('verdict-same">same</span>') == 4


def test_verify_refuses_a_record_mode(pytester: pytest.Pytester, fake_env: FakeServer) -> None:
    pytester.makepyfile(test_app="def test_x():\n    pass\n")
    result = pytester.runpytest("--llm-verify", "--llm-record-mode=all")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--llm-verify records every test from scratch*"])


def test_max_age_warns_about_old_cassettes(
    pytester: pytest.Pytester, fake_env: FakeServer, committed: dict[str, bytes]
) -> None:
    path = pytester.path / "cassettes" / "test_app" / "test_chat.yaml"
    text = path.read_text()
    stamp = text.split("recorded_at: '", 1)[1][:20]
    path.write_text(text.replace(stamp, "2020-01-01T00:00:00Z"))
    pytester.makeini("[pytest]\nllm_cassette_max_age = 90d\n")
    result = pytester.runpytest("-k", "test_chat or test_tool_call")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        ["*StaleCassetteWarning: *test_chat.yaml: recorded 2020-01-01T00:00:00Z, * days ago (max age 90 days)*"]
    )
    assert "test_tool_call.yaml: recorded" not in result.stdout.str()
    pytester.makeini("[pytest]\nllm_cassette_max_age = soon\n")
    assert pytester.runpytest().ret == pytest.ExitCode.USAGE_ERROR
