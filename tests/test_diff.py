"""`llm-cassette diff`: a scenario recorded from the fake server, re-recorded as the provider drifts.

Each re-recording changes one thing on the server side (the client code is the same): only
volatile fields, reworded replies, a changed tool call, a changed structured-output shape, a new
error, a cut stream. The command must class each one correctly, name the fields, and exit 0 for
same/reworded, 1 for changed, 2 for an error.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from helpers import anthropic_client, openai_client, user
from llm_cassette import cli, use_cassette
from llm_cassette.fake_server import FakeServer

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
ANSWER_SCHEMA = {
    "type": "json_schema",
    "json_schema": {
        "name": "answer",
        "schema": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "country": {"type": "string"}},
            "required": ["city", "country"],
        },
    },
}


def run_scenario(server: FakeServer) -> None:
    """What the application does: a chat, a stream, a tool loop, a structured reply, an Anthropic stream.

    Errors are the provider's answer, not the test's: they are recorded and the scenario goes on.
    """
    client = openai_client(server)
    claude = anthropic_client(server)

    def attempt(call: Any) -> None:
        with contextlib.suppress(Exception):  # a new error or a cut stream is what some re-recordings show
            call()

    attempt(lambda: client.chat.completions.create(model="gpt-4o-mini", messages=user("Capital of France?")))
    attempt(
        lambda: list(client.chat.completions.create(model="gpt-4o-mini", messages=user("Tell me a joke"), stream=True))
    )

    def tool_loop() -> None:
        messages: list[Any] = user("Weather in Lisbon?")
        first = client.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=[WEATHER_TOOL])
        call = first.choices[0].message.tool_calls[0]  # type: ignore[index]
        messages += [
            first.choices[0].message.model_dump(exclude_none=True),
            {"role": "tool", "tool_call_id": call.id, "content": "sunny, 24 C"},
        ]
        client.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=[WEATHER_TOOL])

    attempt(tool_loop)
    attempt(
        lambda: client.chat.completions.create(
            model="gpt-4o-mini",
            messages=user("Where is Paris?"),
            response_format=ANSWER_SCHEMA,  # type: ignore[arg-type]
        )
    )

    def anthropic_stream() -> None:
        with claude.messages.stream(model="claude-haiku-4-5", max_tokens=50, messages=user("Say hello")) as stream:
            for _ in stream.text_stream:
                pass

    attempt(anthropic_stream)
    client.close()
    claude.close()


def record(server: FakeServer, path: Path, knobs: dict[str, str] | None = None) -> Path:
    server.set_default_knobs(knobs or {})
    try:
        with use_cassette(path, record_mode="all"):
            run_scenario(server)
    finally:
        server.set_default_knobs({})
    return path


@pytest.fixture(scope="module")
def recordings(fake_server_session: FakeServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The scenario recorded once as committed, then once per kind of drift."""
    folder = tmp_path_factory.mktemp("drift")
    kinds = {
        "base": None,
        "again": None,
        "ids": {"x-fake-drift": "ids"},
        "reword": {"x-fake-drift": "reword"},
        "tools": {"x-fake-drift": "tools"},
        "shape": {"x-fake-drift": "shape"},
        "error": {"x-fake-fail": "500"},
        "cut": {"x-fake-drop-after": "3"},
    }
    return {name: record(fake_server_session, folder / f"{name}.yaml", knobs) for name, knobs in kinds.items()}


def diff(capsys: pytest.CaptureFixture[str], *args: Any) -> tuple[int, str]:
    code = cli.main(["diff", *map(str, args)])
    out = capsys.readouterr()
    return code, out.out + out.err


def diff_json(capsys: pytest.CaptureFixture[str], old: Path, new: Path) -> dict[str, Any]:
    cli.main(["diff", "--json", str(old), str(new)])
    result: dict[str, Any] = json.loads(capsys.readouterr().out)
    return result


def verdicts(result: dict[str, Any]) -> list[str]:
    return [i["verdict"] for c in result["cassettes"] for i in c["interactions"]]


def paths(result: dict[str, Any]) -> set[str]:
    return {d["path"] for c in result["cassettes"] for i in c["interactions"] for d in i["differences"]}


def test_a_re_recording_with_only_volatile_changes_is_the_same(
    recordings: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("again", "ids"):
        base, new = recordings["base"].read_text(), recordings[name].read_text()
        assert base != new  # ids, dates, timings and recording times did change on disk
        code, out = diff(capsys, recordings["base"], recordings[name])
        assert code == 0, out
        assert out.endswith("same: 1 cassette compared, 1 same, 0 reworded, 0 changed\n"), out
        assert verdicts(diff_json(capsys, recordings["base"], recordings[name])) == ["same"] * 6


def test_reworded_replies_are_reworded_and_exit_0(
    recordings: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = diff(capsys, recordings["base"], recordings["reword"])
    assert code == 0, out
    result = diff_json(capsys, recordings["base"], recordings["reword"])
    # chat, stream, tool call (same: no text), tool answer, structured reply, anthropic stream
    assert verdicts(result) == ["reworded", "reworded", "same", "reworded", "reworded", "reworded"]
    assert {"response.text", "response.json.city", "response.json.country"} <= paths(result)
    assert (
        "#1 POST /v1/chat/completions gpt-4o-mini: reworded\n"
        '      response.text: "The capital of France is Paris." -> "In short: The capital of France is Paris."' in out
    )


def test_a_changed_tool_call_is_changed_with_its_argument_path(
    recordings: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = diff(capsys, recordings["base"], recordings["tools"])
    assert code == 1, out
    result = diff_json(capsys, recordings["base"], recordings["tools"])
    assert verdicts(result) == ["same", "same", "changed", "changed", "same", "same"]
    assert "response.tool_calls[0].arguments.city" in paths(result)
    # the next request carries the changed call back to the model
    assert "request.messages[1].tool_calls[0].arguments.city" in paths(result)
    assert 'response.tool_calls[0].arguments.city: "Weather in Lisbon?" -> "WEATHER IN LISBON?"' in out


def test_a_changed_structured_output_shape_is_changed(
    recordings: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = diff(capsys, recordings["base"], recordings["shape"])
    assert code == 1, out
    result = diff_json(capsys, recordings["base"], recordings["shape"])
    assert verdicts(result) == ["same", "same", "same", "same", "changed", "same"]
    assert paths(result) == {"response.json.confidence"}
    assert 'response.json.confidence: "(absent)" -> 0.5' in out


def test_a_new_error_is_changed(recordings: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    code, out = diff(capsys, recordings["base"], recordings["error"])
    assert code == 1, out
    result = diff_json(capsys, recordings["base"], recordings["error"])
    # the tool loop stops after its first call failed: its second request is no longer sent
    assert verdicts(result) == ["changed"] * 6
    assert {"response.status", "response.error", "interaction"} <= paths(result)
    assert 'response.status: "200" -> "500"' in out
    assert "-#4 POST /v1/chat/completions gpt-4o-mini: changed\n      interaction: recorded -> no longer sent" in out


def test_a_cut_stream_is_changed(recordings: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    code, out = diff(capsys, recordings["base"], recordings["cut"])
    assert code == 1, out
    result = diff_json(capsys, recordings["base"], recordings["cut"])
    assert verdicts(result) == ["same", "changed", "same", "same", "same", "changed"]
    assert {"response.complete", "response.error", "response.events"} <= paths(result)


def test_folders_pair_files_by_path_and_missing_files_are_changed(
    recordings: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = tmp_path / "old", tmp_path / "new"
    for folder, source in ((old, "base"), (new, "reword")):
        (folder / "tests" / "test_a").mkdir(parents=True)
        shutil.copy(recordings[source], folder / "tests" / "test_a" / "test_one.yaml")
    shutil.copy(recordings["base"], old / "tests" / "test_a" / "test_gone.yaml")
    code, out = diff(capsys, old, new)
    assert code == 1, out
    assert f"{old / 'tests/test_a/test_gone.yaml'} (only in OLD): changed (6 changed)" in out
    assert f"{new / 'tests/test_a/test_one.yaml'}: reworded (1 same, 5 reworded)" in out
    assert out.endswith("changed: 2 cassettes compared, 0 same, 1 reworded, 1 changed\n")


def test_errors_exit_2_naming_the_file(
    recordings: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = diff(capsys, recordings["base"], tmp_path / "missing.yaml")
    assert code == 2 and "no such file or directory" in out and "missing.yaml" in out
    broken = tmp_path / "broken.yaml"
    broken.write_text("version: 2\ninteractions:\n- request: {method: GET}\n")
    code, out = diff(capsys, recordings["base"], broken)
    assert code == 2 and f"{broken}:3: an interaction needs exactly one of" in out, out
    code, out = diff(capsys, recordings["base"], tmp_path)
    assert code == 2 and "cannot compare a file with a folder" in out, out


def test_git_diff_shows_the_semantic_diff(recordings: dict[str, Path], tmp_path: Path) -> None:
    """The documented `.gitattributes` line and `git config` command, in a real repository."""
    git = shutil.which("git")
    if git is None:
        pytest.skip("git is not installed")
    repo = tmp_path / "repo"
    cassette = repo / "cassettes" / "tests" / "test_app" / "test_flow.yaml"
    cassette.parent.mkdir(parents=True)
    shutil.copy(recordings["base"], cassette)
    (repo / ".gitattributes").write_text("cassettes/**/*.yaml diff=llm-cassette\n")

    def run(*args: str) -> str:
        env = {**os.environ, "HOME": str(tmp_path), "GIT_CONFIG_NOSYSTEM": "1", "GIT_PAGER": "cat"}
        done = subprocess.run([git, *args], cwd=repo, env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout

    run("init", "-q")
    run("config", "diff.llm-cassette.command", f"{sys.executable} -m llm_cassette.cli diff --git")
    run("-c", "user.name=t", "-c", "user.email=t@example.com", "add", ".")
    run("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "cassettes")
    shutil.copy(recordings["tools"], cassette)
    out = run("diff")
    assert out.startswith(
        "llm-cassette diff a/cassettes/tests/test_app/test_flow.yaml b/cassettes/tests/test_app/test_flow.yaml\n"
    )
    assert "cassettes/tests/test_app/test_flow.yaml: changed (4 same, 2 changed)" in out
    assert "response.tool_calls[0].arguments.city" in out
    assert "x-request-id" not in out and "chatcmpl-" not in out  # no YAML churn
    assert "diff --git" in run("diff", "--no-ext-diff")  # the plain diff is still there
