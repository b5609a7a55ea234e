"""`llm-cassette show` and `llm-cassette stats` on cassettes recorded for real.

One cassette is recorded once per module against the fake server with the real OpenAI and
Anthropic SDKs (plain, streamed, tool calls, an HTTP 500, a dropped stream, a refused connection);
the expected replies and token counts come from what the SDKs returned while recording, so the
assertions check that `show` and `stats` read back what the application actually saw.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest

from llm_cassette import load, use_cassette
from llm_cassette.cli import main
from llm_cassette.describe import describe, sse_events, usage
from llm_cassette.describe.pricing import Price, price_for
from llm_cassette.fake_server import FakeServer
from llm_cassette.plugin.run_stats import tokens_of

OPENAI_KEY = "sk-fake-show-stats-openai-0000"
ANTHROPIC_KEY = "sk-ant-fake-show-stats-0000"
WEATHER_TOOL: Any = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
ANTHROPIC_MODEL = "claude-haiku-4-5"


@dataclass
class Recorded:
    """The cassette and what the SDKs returned while it was recorded."""

    path: Path
    interactions: int = 0
    streamed: int = 0
    replies: dict[str, str] = field(default_factory=dict)
    tool_arguments: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, tuple[int, int]] = field(default_factory=dict)  # model → (input, output)
    error_message: str = ""

    def add_tokens(self, model: str, input_tokens: int, output_tokens: int) -> None:
        before = self.tokens.get(model, (0, 0))
        self.tokens[model] = (before[0] + input_tokens, before[1] + output_tokens)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def recorded(fake_server_session: FakeServer, tmp_path_factory: pytest.TempPathFactory) -> Recorded:
    srv = fake_server_session
    rec = Recorded(tmp_path_factory.mktemp("show") / "suite.yaml")
    with use_cassette(rec.path, record_mode="once") as session:
        with openai.OpenAI(base_url=srv.base_url_openai, api_key=OPENAI_KEY, max_retries=0) as oai:
            plain = oai.chat.completions.create(
                model="gpt-4o-mini",
                messages=[
                    {"role": "system", "content": "Be brief."},
                    {"role": "user", "content": "Capital of France?"},
                ],
            )
            rec.replies["openai"] = plain.choices[0].message.content or ""
            assert plain.usage is not None
            rec.add_tokens("gpt-4o-mini", plain.usage.prompt_tokens, plain.usage.completion_tokens)

            stream = oai.chat.completions.create(
                model="gpt-4o-mini",
                messages=[{"role": "user", "content": "please stream these seven words back"}],
                stream=True,
                stream_options={"include_usage": True},
            )
            pieces: list[str] = []
            for chunk in stream:
                if chunk.choices and chunk.choices[0].delta.content:
                    pieces.append(chunk.choices[0].delta.content)
                if chunk.usage is not None:
                    rec.add_tokens("gpt-4o-mini", chunk.usage.prompt_tokens, chunk.usage.completion_tokens)
            assert len(pieces) > 2  # the reply really arrived in several pieces
            rec.replies["openai-stream"] = "".join(pieces)

            tool = oai.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "Weather in Paris?"}], tools=[WEATHER_TOOL]
            )
            calls = tool.choices[0].message.tool_calls
            assert calls and calls[0].type == "function"
            rec.tool_arguments["openai"] = calls[0].function.arguments
            assert tool.usage is not None
            rec.add_tokens("gpt-4o-mini", tool.usage.prompt_tokens, tool.usage.completion_tokens)

            with pytest.raises(openai.InternalServerError) as failure:
                oai.chat.completions.create(model="gpt-4o-mini+fail500", messages=[{"role": "user", "content": "hi"}])
            body = failure.value.body
            assert isinstance(body, dict)
            rec.error_message = body["message"]  # the provider's own message, as the SDK parsed it

            with pytest.raises(openai.APIConnectionError):  # the drop happens while iterating
                dropped = oai.chat.completions.create(
                    model="gpt-4o-mini+drop3",
                    messages=[{"role": "user", "content": "one two three four five six"}],
                    stream=True,
                )
                for _ in dropped:
                    pass

        with anthropic.Anthropic(base_url=srv.base_url_anthropic, api_key=ANTHROPIC_KEY, max_retries=0) as claude:
            message = claude.messages.create(
                model=ANTHROPIC_MODEL, max_tokens=100, messages=[{"role": "user", "content": "Tell me a joke"}]
            )
            block = message.content[0]
            assert block.type == "text"
            rec.replies["anthropic"] = block.text
            rec.add_tokens(ANTHROPIC_MODEL, message.usage.input_tokens, message.usage.output_tokens)

            with claude.messages.stream(
                model=ANTHROPIC_MODEL,
                max_tokens=100,
                messages=[{"role": "user", "content": "stream me a reply please"}],
            ) as events:
                rec.replies["anthropic-stream"] = "".join(events.text_stream)
                final = events.get_final_message()
            rec.add_tokens(ANTHROPIC_MODEL, final.usage.input_tokens, final.usage.output_tokens)

        with (
            openai.OpenAI(base_url=f"http://127.0.0.1:{_closed_port()}/v1", api_key=OPENAI_KEY, max_retries=0) as down,
            pytest.raises(openai.APIConnectionError),
        ):
            down.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "anyone there?"}])

    rec.interactions = len(session.interactions)
    rec.streamed = sum(1 for it in session.interactions if it.response is not None and it.response.streamed)
    assert (rec.interactions, rec.streamed) == (8, 3)
    return rec


def _show(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["show", *args])
    out, err = capsys.readouterr()
    return code, out, err


def _blocks(out: str) -> list[str]:
    """The text of each interaction (`#1 ...` up to the next)."""
    return ["#" + part for part in out.split("\n#")[1:]]


# --- show -------------------------------------------------------------------------------------


def test_show_prints_each_reply_assembled(recorded: Recorded, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _show(capsys, str(recorded.path))

    assert (code, err) == (0, "")
    assert f"{recorded.interactions} interactions" in out
    blocks = _blocks(out)
    assert len(blocks) == recorded.interactions
    plain, streamed, tool, _, _, claude, claude_stream, _ = blocks
    assert "Capital of France?" in plain
    assert f"reply     {recorded.replies['openai']}" in plain
    # The streamed replies were split over many chunks in the cassette and are shown whole.
    assert f"reply     {recorded.replies['openai-stream']}" in streamed
    assert "streamed" in streamed.splitlines()[0]
    assert f"reply     {recorded.replies['anthropic']}" in claude
    assert f"reply     {recorded.replies['anthropic-stream']}" in claude_stream
    assert f"get_weather({recorded.tool_arguments['openai']})" in tool


def test_show_prints_token_usage_and_timing(recorded: Recorded, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = _show(capsys, str(recorded.path))
    blocks = _blocks(out)

    data = describe_all(recorded.path)
    plain_usage = data[0].usage
    assert plain_usage is not None
    assert f"{plain_usage.input_tokens} in + {plain_usage.output_tokens} out" in blocks[0]
    # Streamed usage comes from the last chunk (OpenAI) or message_start + message_delta (Anthropic).
    for index in (1, 6):
        usage = data[index].usage
        assert usage is not None and usage.output_tokens > 0
        assert f"{usage.input_tokens} in + {usage.output_tokens} out = {usage.total_tokens} tokens" in blocks[index]
        assert f"{data[index].chunk_count} chunks" in blocks[index]
        assert "first chunk" in blocks[index]


def test_show_prints_recorded_errors(recorded: Recorded, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = _show(capsys, str(recorded.path))
    blocks = _blocks(out)

    http_error, dropped, refused = blocks[3], blocks[4], blocks[7]
    assert "-> 500" in http_error.splitlines()[0]
    assert f"HTTP 500 server_error: {recorded.error_message}" in http_error
    assert "RemoteProtocolError after 3 chunks" in dropped
    assert "[incomplete]" in dropped
    assert "-> ConnectError" in refused.splitlines()[0]
    assert "error     ConnectError:" in refused


def test_show_marks_a_stream_the_caller_stopped_reading(
    fake_server: FakeServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "cut.yaml"
    with (
        use_cassette(path, record_mode="once"),
        openai.OpenAI(base_url=fake_server.base_url_openai, api_key=OPENAI_KEY, max_retries=0) as oai,
    ):
        stream = oai.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "one two three four five six"}], stream=True
        )
        for index, _ in enumerate(stream):
            if index == 2:
                break
        stream.close()

    code, out, _ = _show(capsys, str(path))

    assert code == 0
    assert "cut       the caller stopped reading after 3 chunks" in out
    assert "[incomplete]" in out


def test_show_is_plain_when_piped_and_coloured_on_request(
    recorded: Recorded, capsys: pytest.CaptureFixture[str]
) -> None:
    _, plain, _ = _show(capsys, str(recorded.path))
    _, coloured, _ = _show(capsys, "--color", str(recorded.path))
    _, forced_plain, _ = _show(capsys, "--no-color", str(recorded.path))

    assert "\x1b[" not in plain
    assert "\x1b[31m" in coloured  # errors in red
    assert forced_plain == plain


def test_show_reports_an_invalid_cassette_with_file_and_line(
    recorded: Recorded, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("version: 1\ninteractions:\n- request:\n    method: GET\n  response: {status: 200}\n")

    code, out, err = _show(capsys, str(broken), str(recorded.path))

    assert code == 1
    assert err.startswith(f"{broken}:3: request is missing `url`")
    assert "Capital of France?" in out  # the valid cassette is still shown


def test_show_runs_as_the_installed_command(recorded: Recorded) -> None:
    exe = Path(sys.executable).parent / "llm-cassette"
    result = subprocess.run([str(exe), "show", str(recorded.path)], capture_output=True, text=True, check=False)

    assert result.returncode == 0, result.stderr
    assert recorded.replies["anthropic-stream"] in result.stdout
    assert "\x1b[" not in result.stdout


# --- stats ------------------------------------------------------------------------------------


def _stats(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["stats", *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def suite_dir(recorded: Recorded, tmp_path: Path) -> Path:
    """A cassette folder: the recorded suite twice (as two test files would record it)."""
    text = recorded.path.read_text()
    (tmp_path / "tests" / "test_a").mkdir(parents=True)
    (tmp_path / "tests" / "test_a" / "one.yaml").write_text(text)
    (tmp_path / "tests" / "two.yaml").write_text(text)
    return tmp_path


def test_stats_counts_interactions_and_sums_tokens_by_model(
    recorded: Recorded, suite_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _stats(capsys, str(suite_dir), "--json")

    assert (code, err) == (0, "")
    report = json.loads(out)
    assert report["cassettes"] == 2
    assert report["interactions"] == 2 * recorded.interactions
    assert report["streamed"] == 2 * recorded.streamed
    assert report["not_streamed"] == 2 * (recorded.interactions - recorded.streamed)
    assert report["errors"] == 2 * 3  # the 500, the dropped stream, the refused connection
    for model, (input_tokens, output_tokens) in recorded.tokens.items():
        assert report["models"][model]["input_tokens"] == 2 * input_tokens
        assert report["models"][model]["output_tokens"] == 2 * output_tokens
    saved = report["replay_saves"]
    assert saved["input_tokens"] == 2 * sum(i for i, _ in recorded.tokens.values())
    assert saved["output_tokens"] == 2 * sum(o for _, o in recorded.tokens.values())
    assert saved["cost"] is None


def test_stats_prices_what_a_replay_saves(
    recorded: Recorded, suite_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prices = tmp_path / "prices.yaml"
    prices.write_text("gpt-4o-mini: {input: 0.15, output: 0.60}\nclaude-haiku-4-5: {input: 1, output: 5}\n")
    expected = {
        "gpt-4o-mini": (0.15, 0.60),
        ANTHROPIC_MODEL: (1.0, 5.0),
    }

    code, out, _ = _stats(capsys, str(suite_dir / "tests"), "--prices", str(prices), "--json")

    assert code == 0
    report = json.loads(out)
    total = 0.0
    for model, (p_in, p_out) in expected.items():
        input_tokens, output_tokens = recorded.tokens[model]
        cost = 2 * (input_tokens * p_in + output_tokens * p_out) / 1_000_000
        assert report["models"][model]["cost"] == pytest.approx(cost)
        total += cost
    assert report["replay_saves"]["cost"] == pytest.approx(total)

    code, text, _ = _stats(capsys, str(suite_dir / "tests"), "--prices", str(prices))
    assert code == 0
    assert "2 cassettes" in text
    assert f"{2 * recorded.interactions} interactions" in text
    assert "Each full replay saves" in text and "$" in text


def test_stats_rejects_a_bad_price_table(suite_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    prices = tmp_path / "prices.yaml"
    prices.write_text("gpt-4o-mini: {input: cheap}\n")

    code, _, err = _stats(capsys, str(suite_dir), "--prices", str(prices))

    assert code == 1
    assert str(prices) in err and "gpt-4o-mini.input" in err


def test_stats_reports_invalid_files_and_still_counts_the_rest(
    suite_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (suite_dir / "tests" / "bad.yaml").write_text("version: 7\ninteractions: []\n")

    code, out, err = _stats(capsys, str(suite_dir))

    assert code == 1
    assert "bad.yaml:1: unknown cassette format version 7" in err
    assert out.startswith("2 cassettes")


def test_price_lookup_ignores_dated_snapshots_but_not_other_suffixes() -> None:
    prices = {"gpt-4o-mini": Price(0.15, 0.6), "claude-3-5-haiku": Price(0.8, 4)}

    assert price_for("gpt-4o-mini-2024-07-18", prices) == prices["gpt-4o-mini"]
    assert price_for("claude-3-5-haiku-20241022", prices) == prices["claude-3-5-haiku"]
    assert price_for("gpt-4o", prices) is None
    assert price_for("gpt-4o-mini-tts", prices) is None


# --- the shared view ---------------------------------------------------------------------------


def describe_all(path: Path) -> list[Any]:
    from llm_cassette import load

    return [describe(it) for it in load(path).interactions]


def test_view_assembles_anthropic_tool_arguments_from_json_deltas(fake_server: FakeServer, tmp_path: Path) -> None:
    path = tmp_path / "tools.yaml"
    tool: Any = {"name": "get_weather", "input_schema": WEATHER_TOOL["function"]["parameters"]}
    with (
        use_cassette(path, record_mode="once") as session,
        anthropic.Anthropic(base_url=fake_server.base_url_anthropic, api_key=ANTHROPIC_KEY, max_retries=0) as claude,
        claude.messages.stream(
            model=ANTHROPIC_MODEL,
            max_tokens=100,
            tools=[tool],
            messages=[{"role": "user", "content": "Weather in Paris?"}],
        ) as events,
    ):
        final = events.get_final_message()
    tool_use = next(b for b in final.content if b.type == "tool_use")

    (view,) = [describe(it) for it in session.interactions]

    assert view.provider == "anthropic" and view.streamed
    deltas = [e for e in sse_events(session.interactions[0].response.content) if "input_json_delta" in e.data]  # type: ignore[union-attr]
    assert len(deltas) > 1  # the arguments really were split
    (call,) = view.tool_calls
    assert (call.name, call.id, call.parsed_arguments()) == ("get_weather", tool_use.id, tool_use.input)
    assert view.stop_reason == "tool_use" and view.complete


def test_view_reads_streamed_openai_tool_call_deltas(fake_server: FakeServer, tmp_path: Path) -> None:
    path = tmp_path / "tools.yaml"
    with (
        use_cassette(path, record_mode="once") as session,
        openai.OpenAI(base_url=fake_server.base_url_openai, api_key=OPENAI_KEY, max_retries=0) as oai,
        oai.chat.completions.stream(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "Weather in Paris?"}], tools=[WEATHER_TOOL]
        ) as events,
    ):
        final = events.get_final_completion()
    expected = final.choices[0].message.tool_calls
    assert expected and expected[0].type == "function"

    (view,) = [describe(it) for it in session.interactions]

    (call,) = view.tool_calls
    assert (call.name, call.arguments, call.id) == ("get_weather", expected[0].function.arguments, expected[0].id)
    assert view.messages[-1].role == "user" and view.tools == ("get_weather",)


def test_usage_reads_what_describe_reads(recorded: Recorded) -> None:
    """The per-test token count reads usage alone: the same value as the whole description, for
    plain and streamed replies of both providers, errors and a dropped stream."""
    repo = Path(__file__).resolve().parent.parent
    paths = [recorded.path, *sorted((repo / "cassettes").rglob("*.yaml"))]
    interactions = [it for p in paths for it in load(p).interactions]
    assert len(interactions) > 8
    assert sum(1 for it in interactions if usage(it) is not None) >= 6
    for it in interactions:
        assert usage(it) == describe(it).usage, it.request.url


def test_the_runs_token_count_reads_what_describe_reads(recorded: Recorded) -> None:
    """The summary's "tokens not spent" counts whole replies without the protocol readers, and
    streams through `describe`: per interaction, the same total as the full description."""
    repo = Path(__file__).resolve().parent.parent
    paths = [recorded.path, *sorted((repo / "cassettes").rglob("*.yaml"))]
    interactions = [it for p in paths for it in load(p).interactions]
    counted = 0
    for it in interactions:
        view = describe(it).usage
        expected = 0 if view is None else view.total_tokens or view.input_tokens + view.output_tokens
        assert tokens_of([it]) == expected, it.request.url
        counted += expected > 0
    assert counted >= 6, "plain and streamed replies of both providers report usage"
    assert tokens_of(interactions) == sum(tokens_of([it]) for it in interactions)


def test_view_of_embeddings_and_responses(fake_server: FakeServer, tmp_path: Path) -> None:
    with (
        use_cassette(tmp_path / "misc.yaml", record_mode="once") as session,
        openai.OpenAI(base_url=fake_server.base_url_openai, api_key=OPENAI_KEY, max_retries=0) as oai,
    ):
        vectors = oai.embeddings.create(model="text-embedding-3-small", input=["first", "second"])
        answer = oai.responses.create(model="gpt-4o-mini", instructions="Be brief.", input="Say hello")
        listing = httpx.get(fake_server.base_url_openai + "/models", headers={"authorization": f"Bearer {OPENAI_KEY}"})

    embeddings, responses, models = (describe(it) for it in session.interactions)

    assert embeddings.api == "embeddings" and embeddings.embeddings == 2
    assert embeddings.dimensions == len(vectors.data[0].embedding)
    assert embeddings.usage is not None and embeddings.usage.input_tokens == vectors.usage.prompt_tokens
    assert responses.reply_text == answer.output_text
    assert responses.system_prompt == "Be brief." and responses.last_user_message == "Say hello"
    assert models.provider == "unknown" and models.body_text == listing.text
