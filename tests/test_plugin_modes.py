"""The pytest plugin end to end: record modes, flags, marker, fixture, paths — in real inner pytest runs.

Each test writes a small test module with pytester, runs pytest on it in-process against the real
fake server, and then looks at the cassette files and the server's request count.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
import yaml

from llm_cassette.fake_server import FakeServer

HEADER = """
import os
import httpx2
import openai
import pytest

URL = os.environ["FAKE_LLM_URL"]

def ask(prompt):
    with openai.OpenAI(base_url=URL + "/v1", api_key="sk-fake-plugin-test-key-000000", max_retries=0) as client:
        reply = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": prompt}])
    return reply.choices[0].message.content
"""


def make_module(pytester: pytest.Pytester, body: str, name: str = "test_llm") -> Path:
    return pytester.makepyfile(**{name: HEADER + textwrap.dedent(body)})


def cassette(pytester: pytest.Pytester, rel: str) -> dict[str, object]:
    path = pytester.path / "cassettes" / rel
    assert path.exists(), f"{path} missing; cassettes: {sorted(p.name for p in pytester.path.rglob('*.yaml'))}"
    doc = yaml.safe_load(path.read_text())
    assert isinstance(doc, dict)
    return doc


def prompts(doc: dict[str, object]) -> list[str]:
    items = doc["interactions"]
    assert isinstance(items, list)
    return [i["request"]["body"]["json"]["messages"][-1]["content"] for i in items]


TWO_PROMPTS = """
@pytest.mark.llm_cassette
def test_two():
    assert ask("one") == "Echo: one"
    assert ask("two") == "Echo: two"
"""


def test_record_then_replay_offline(pytester: pytest.Pytester, fake_env: FakeServer) -> None:
    make_module(pytester, TWO_PROMPTS)
    pytester.runpytest("--record").assert_outcomes(passed=1)
    assert fake_env.request_count == 2
    assert prompts(cassette(pytester, "test_llm/test_two.yaml")) == ["one", "two"]

    pytester.runpytest().assert_outcomes(passed=1)
    assert fake_env.request_count == 2, "replay reached the server"


def test_mode_none_with_missing_cassette_fails_every_request(pytester: pytest.Pytester, fake_env: FakeServer) -> None:
    make_module(pytester, TWO_PROMPTS)
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*the cassette file does not exist*", "*pytest --record*"])
    assert fake_env.request_count == 0
    assert not (pytester.path / "cassettes").exists()


def test_mode_none_replays_and_refuses_unmatched(pytester: pytest.Pytester, fake_env: FakeServer) -> None:
    make_module(pytester, TWO_PROMPTS)
    pytester.runpytest("--llm-record-mode=once").assert_outcomes(passed=1)
    make_module(
        pytester,
        """
        @pytest.mark.llm_cassette("test_two")
        def test_two():
            assert ask("one") == "Echo: one"
            ask("three")
        """,
    )
    before = fake_env.request_count
    result = pytester.runpytest("--llm-record-mode=none")
    result.assert_outcomes(failed=1)
    assert fake_env.request_count == before
    result.stdout.fnmatch_lines(["*no recorded interaction matches*", "*differs:*messages[[]0[]].content*"])


def test_mode_once_records_missing_then_only_replays(pytester: pytest.Pytester, fake_env: FakeServer) -> None:
    make_module(pytester, TWO_PROMPTS)
    pytester.runpytest("--llm-record-mode=once").assert_outcomes(passed=1)
    assert fake_env.request_count == 2
    path = pytester.path / "cassettes/test_llm/test_two.yaml"
    stamp = path.stat().st_mtime_ns
    make_module(
        pytester,
        """
        @pytest.mark.llm_cassette("test_two")
        def test_two():
            ask("one")
            ask("brand new")
        """,
    )
    result = pytester.runpytest("--llm-record-mode=once")
    result.assert_outcomes(failed=1)
    assert fake_env.request_count == 2, "once mode with an existing cassette must not record"
    assert path.stat().st_mtime_ns == stamp


def test_new_episodes_records_new_and_drops_unused(pytester: pytest.Pytester, fake_env: FakeServer) -> None:
    make_module(pytester, TWO_PROMPTS)
    pytester.runpytest("--record").assert_outcomes(passed=1)
    make_module(
        pytester,
        """
        @pytest.mark.llm_cassette("test_two")
        def test_two():
            assert ask("two") == "Echo: two"
            assert ask("three") == "Echo: three"
        """,
    )
    pytester.runpytest("--record").assert_outcomes(passed=1)
    assert fake_env.request_count == 3, "only the new prompt reaches the server"
    assert prompts(cassette(pytester, "test_llm/test_two.yaml")) == ["two", "three"]
    pytester.runpytest().assert_outcomes(passed=1)
    assert fake_env.request_count == 3


def test_new_episodes_keeps_everything_when_the_test_fails(pytester: pytest.Pytester, fake_env: FakeServer) -> None:
    make_module(pytester, TWO_PROMPTS)
    pytester.runpytest("--record").assert_outcomes(passed=1)
    make_module(
        pytester,
        """
        @pytest.mark.llm_cassette("test_two")
        def test_two():
            ask("three")
            raise AssertionError("the test broke before sending everything")
        """,
    )
    pytester.runpytest("--record").assert_outcomes(failed=1)
    assert sorted(prompts(cassette(pytester, "test_llm/test_two.yaml"))) == ["one", "three", "two"]


def test_mode_all_rerecords_everything(pytester: pytest.Pytester, fake_env: FakeServer) -> None:
    make_module(pytester, TWO_PROMPTS)
    pytester.runpytest("--record").assert_outcomes(passed=1)
    pytester.runpytest("--llm-record-mode=all").assert_outcomes(passed=1)
    assert fake_env.request_count == 4
    assert prompts(cassette(pytester, "test_llm/test_two.yaml")) == ["one", "two"]


def test_mode_all_with_missing_cassette_records(pytester: pytest.Pytester, fake_env: FakeServer) -> None:
    make_module(pytester, TWO_PROMPTS)
    pytester.runpytest("--llm-record-mode=all").assert_outcomes(passed=1)
    assert prompts(cassette(pytester, "test_llm/test_two.yaml")) == ["one", "two"]


def test_command_line_wins_over_marker_and_env_applies_without_flag(
    pytester: pytest.Pytester, fake_env: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_module(
        pytester,
        """
        @pytest.mark.llm_cassette(record_mode="all")
        def test_marked_all():
            ask("marker says all")
        """,
    )
    pytester.runpytest("--llm-record-mode=once").assert_outcomes(passed=1)
    pytester.runpytest("--llm-record-mode=once").assert_outcomes(passed=1)
    assert fake_env.request_count == 1, "the flag (once) must win over the marker's record_mode=all"

    pytester.runpytest().assert_outcomes(passed=1)
    assert fake_env.request_count == 2, "without a flag the marker's mode applies"

    monkeypatch.setenv("LLM_CASSETTE_RECORD_MODE", "none")
    pytester.runpytest().assert_outcomes(passed=1)
    assert fake_env.request_count == 2, "the environment variable applies where no flag is given"


def test_env_record_mode_records(
    pytester: pytest.Pytester, fake_env: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_module(pytester, TWO_PROMPTS)
    monkeypatch.setenv("LLM_CASSETTE_RECORD_MODE", "new_episodes")
    pytester.runpytest().assert_outcomes(passed=1)
    assert fake_env.request_count == 2


def test_bad_record_mode_in_env_is_a_clear_error(
    pytester: pytest.Pytester, fake_env: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_module(pytester, TWO_PROMPTS)
    monkeypatch.setenv("LLM_CASSETTE_RECORD_MODE", "sometimes")
    result = pytester.runpytest()
    assert result.ret != 0
    result.stderr.fnmatch_lines(["*LLM_CASSETTE_RECORD_MODE*unknown record mode 'sometimes'*"])


def test_default_paths_keep_class_and_parametrize_ids(pytester: pytest.Pytester, fake_env: FakeServer) -> None:
    pytester.mkdir("sub")
    pytester.path.joinpath("sub", "__init__.py").write_text("")
    pytester.path.joinpath("sub", "test_paths.py").write_text(
        HEADER
        + textwrap.dedent(
            """
            class TestGroup:
                @pytest.mark.llm_cassette
                @pytest.mark.parametrize("q", ["a/b", "c d"])
                def test_param(self, q):
                    ask(q)
            """
        )
    )
    pytester.runpytest("--record").assert_outcomes(passed=2)
    names = sorted(p.name for p in (pytester.path / "cassettes/sub/test_paths").iterdir())
    # Unsafe characters replaced, and a short hash of the id so that `[a/b]` and `[a_b]` differ.
    assert len(names) == 2
    assert re.fullmatch(r"TestGroup\.test_param\[a_b\]-[0-9a-f]{8}\.yaml", names[0]), names
    assert re.fullmatch(r"TestGroup\.test_param\[c_d\]-[0-9a-f]{8}\.yaml", names[1]), names


def test_marker_on_module_and_class_with_options_and_name(pytester: pytest.Pytester, fake_env: FakeServer) -> None:
    make_module(
        pytester,
        """
        pytestmark = pytest.mark.llm_cassette(ignore_body_fields=["temperature"])

        def ask_t(prompt, temperature):
            with openai.OpenAI(base_url=URL + "/v1", api_key="sk-fake-plugin-test-key-000000", max_retries=0) as client:
                r = client.chat.completions.create(
                    model="gpt-4o-mini", temperature=temperature, messages=[{"role": "user", "content": prompt}]
                )
            return r.choices[0].message.content

        class TestShared:
            pytestmark = pytest.mark.llm_cassette("shared")

            def test_first(self):
                assert ask_t("shared", 0.1) == "Echo: shared"

        def test_plain():
            assert ask_t("plain", float(os.environ.get("TEMP", "0.5"))) == "Echo: plain"
        """,
    )
    pytester.runpytest("--record").assert_outcomes(passed=2)
    assert (pytester.path / "cassettes/test_llm/shared.yaml").exists()
    assert (pytester.path / "cassettes/test_llm/test_plain.yaml").exists()
    # A different temperature still matches: the module-level option applies to every test.
    import os

    os.environ["TEMP"] = "0.9"
    try:
        pytester.runpytest().assert_outcomes(passed=2)
    finally:
        del os.environ["TEMP"]
    assert fake_env.request_count == 2


def test_unknown_marker_option_is_a_clear_error(pytester: pytest.Pytester, fake_env: FakeServer) -> None:
    make_module(
        pytester,
        """
        @pytest.mark.llm_cassette(recod_mode="all")
        def test_typo():
            pass

        def test_other():
            pass
        """,
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*test_typo*unknown option 'recod_mode'*known options*record_mode*"])


def test_fixture_exposes_path_requests_and_play_count(pytester: pytest.Pytester, fake_env: FakeServer) -> None:
    make_module(
        pytester,
        """
        import json

        def test_uses_fixture(llm_cassette):
            ask("what did I send?")
            assert llm_cassette.path.name == "test_uses_fixture.yaml"
            sent = [json.loads(r.body)["messages"][0]["content"] for r in llm_cassette.requests]
            assert sent == ["what did I send?"]
            if llm_cassette.replays_only:
                assert llm_cassette.play_count == 1
                assert len(llm_cassette.interactions) == 1
            else:
                assert llm_cassette.recorded_count == 1
        """,
    )
    pytester.runpytest("--record").assert_outcomes(passed=1)
    pytester.runpytest().assert_outcomes(passed=1)
    assert fake_env.request_count == 1


def test_changed_prompt_names_the_field_and_suggests_record(pytester: pytest.Pytester, fake_env: FakeServer) -> None:
    make_module(
        pytester,
        """
        @pytest.mark.llm_cassette
        def test_prompt():
            ask(os.environ.get("PROMPT", "Capital of France?"))
        """,
    )
    pytester.runpytest("--record").assert_outcomes(passed=1)
    import os

    os.environ["PROMPT"] = "Capital of Spain?"
    try:
        result = pytester.runpytest()
    finally:
        del os.environ["PROMPT"]
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "llm-cassette: no recorded interaction matches this request (none mode)",
            "*cassette: *test_prompt.yaml*",
            "*request:  POST http://127.0.0.1:*/v1/chat/completions*",
            "*closest:  interaction #1*",
            "*differs:  body.messages[[]0[]].content: sent 'Capital of Spain?', recorded 'Capital of France?'*",
            "*pytest --record 'test_llm.py::test_prompt'*",
        ]
    )
    assert fake_env.request_count == 1


def test_miss_surfaces_after_one_attempt_in_both_sdks(pytester: pytest.Pytester, fake_env: FakeServer) -> None:
    make_module(
        pytester,
        """
        import anthropic
        from llm_cassette import CassetteMiss

        @pytest.mark.llm_cassette
        def test_openai_default_retries(llm_cassette):
            client = openai.OpenAI(base_url=URL + "/v1", api_key="sk-fake-plugin-test-key-000000")
            with pytest.raises(CassetteMiss):
                client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
            assert len(llm_cassette.requests) == 1

        @pytest.mark.llm_cassette
        def test_anthropic_default_retries(llm_cassette):
            client = anthropic.Anthropic(base_url=URL, api_key="sk-ant-fake-plugin-test-key-000000")
            with pytest.raises(CassetteMiss):
                client.messages.create(model="m", max_tokens=5, messages=[{"role": "user", "content": "x"}])
            assert len(llm_cassette.requests) == 1
        """,
    )
    result = pytester.runpytest()
    # Both tests caught the miss themselves, so the plugin still fails them (and only once each).
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["*code under test caught the error*"])
    assert fake_env.request_count == 0


def test_app_that_swallows_the_miss_still_fails(pytester: pytest.Pytester, fake_env: FakeServer) -> None:
    make_module(
        pytester,
        """
        import httpx
        from fastapi import FastAPI
        from fastapi.responses import JSONResponse

        app = FastAPI()

        @app.post("/ask")
        async def ask_endpoint(payload: dict):
            async with openai.AsyncOpenAI(base_url=URL + "/v1", api_key="sk-fake-plugin-test-key-000000") as client:
                try:
                    r = await client.chat.completions.create(
                        model="gpt-4o-mini", messages=[{"role": "user", "content": payload["q"]}]
                    )
                except BaseException:  # an over-broad handler, as real apps have
                    return JSONResponse({"detail": "upstream unavailable"}, status_code=503)
            return {"answer": r.choices[0].message.content}

        @pytest.mark.llm_cassette
        @pytest.mark.asyncio
        async def test_endpoint():
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app") as c:
                r = await c.post("/ask", json={"q": os.environ.get("Q", "hello")})
            if r.status_code == 503:
                return  # the test "passes" by itself: only the plugin can catch this
            assert r.json()["answer"] == "Echo: hello"
        """,
    )
    pytester.runpytest("--record").assert_outcomes(passed=1)
    import os

    os.environ["Q"] = "changed"
    try:
        result = pytester.runpytest()
    finally:
        del os.environ["Q"]
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*code under test caught the error*", "*differs:  body.messages[[]0[]].content*"])


def test_corrupt_cassettes_fail_only_their_test(pytester: pytest.Pytester, fake_env: FakeServer) -> None:
    make_module(
        pytester,
        """
        @pytest.mark.llm_cassette
        def test_bad_yaml():
            ask("x")

        @pytest.mark.llm_cassette
        def test_missing_key():
            ask("x")

        @pytest.mark.llm_cassette
        def test_future_version():
            ask("x")

        @pytest.mark.llm_cassette
        def test_good():
            assert ask("fine") == "Echo: fine"
        """,
    )
    pytester.runpytest("--record", "-k", "test_good").assert_outcomes(passed=1, deselected=3)
    folder = pytester.path / "cassettes/test_llm"
    (folder / "test_bad_yaml.yaml").write_text("version: 1\ninteractions:\n- request: {method: GET\n  oops: [\n")
    (folder / "test_missing_key.yaml").write_text(
        "version: 1\ninteractions:\n- request:\n    method: GET\n  response:\n    headers: {}\n"
    )
    (folder / "test_future_version.yaml").write_text("version: 7\ninteractions: []\n")
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, errors=3)
    result.stdout.fnmatch_lines_random(
        [
            "*test_bad_yaml.yaml:*: invalid YAML*",
            "*test_missing_key.yaml:3: request is missing `url`*",
            "*test_future_version.yaml:1: unknown cassette format version 7*",
        ]
    )


def test_runs_beside_pytest_recording(pytester: pytest.Pytester, fake_env: FakeServer) -> None:
    pytest.importorskip("pytest_recording")
    make_module(
        pytester,
        """
        import httpx

        @pytest.mark.vcr
        def test_vcr_records_its_own():
            r = httpx.get(URL + "/v1/models", headers={"authorization": "Bearer sk-fake-vcr"})
            assert r.status_code == 200

        @pytest.mark.llm_cassette
        def test_ours():
            assert ask("side by side") == "Echo: side by side"
        """,
    )
    result = pytester.runpytest("--record-mode=once", "--record", "-p", "pytest_recording")
    result.assert_outcomes(passed=2)
    ours = cassette(pytester, "test_llm/test_ours.yaml")
    assert prompts(ours) == ["side by side"]
    vcr_files = [p for p in pytester.path.rglob("*.yaml") if p.name != "test_ours.yaml"]
    assert [p.name for p in vcr_files] == ["test_vcr_records_its_own.yaml"], "pytest-recording wrote its own"
    assert "/v1/models" in vcr_files[0].read_text()
    assert all("side by side" not in p.read_text() for p in vcr_files)
    # Replay both offline; neither plugin's options or markers clash.
    before = fake_env.request_count
    pytester.runpytest("--record-mode=none", "-p", "pytest_recording").assert_outcomes(passed=2)
    assert fake_env.request_count == before


def test_runs_beside_cassetter(
    pytester: pytest.Pytester, fake_env: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("cassetter")
    monkeypatch.setenv(
        "PYTEST_ADDOPTS",
        (
            "-p no:recording -p no:hypothesispytest -p no:langsmith_plugin "
            "-o asyncio_default_fixture_loop_scope=function"
        ),
    )
    make_module(
        pytester,
        """
        import httpx

        @pytest.mark.vcr
        def test_cassetter_records_its_own():
            r = httpx.get(URL + "/v1/models", headers={"authorization": "Bearer sk-fake-cassetter"})
            assert r.status_code == 200

        @pytest.mark.llm_cassette
        def test_ours():
            assert ask("beside cassetter") == "Echo: beside cassetter"
        """,
    )
    result = pytester.runpytest("--record-mode=once", "--record")
    result.assert_outcomes(passed=2)
    assert prompts(cassette(pytester, "test_llm/test_ours.yaml")) == ["beside cassetter"]
    others = [p for p in pytester.path.rglob("*.yaml") if p.name != "test_ours.yaml"]
    assert others, "cassetter wrote its own cassette"
    assert all("beside cassetter" not in p.read_text(errors="replace") for p in others)


def test_a_skipped_test_never_rewrites_its_cassette(
    pytester: pytest.Pytester, fake_env: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_module(
        pytester,
        """
        @pytest.mark.llm_cassette
        def test_sometimes_skipped():
            if os.environ.get("SKIP_IT"):
                pytest.skip("not today")
            ask("keep me")
        """,
    )
    pytester.runpytest("--record").assert_outcomes(passed=1)
    path = pytester.path / "cassettes/test_llm/test_sometimes_skipped.yaml"
    before = path.read_bytes()
    monkeypatch.setenv("SKIP_IT", "1")
    for mode in ("new_episodes", "all"):
        pytester.runpytest(f"--llm-record-mode={mode}").assert_outcomes(skipped=1)
        assert path.read_bytes() == before


def test_read_only_cassette_borrowed_by_a_fault_test(pytester: pytest.Pytester, fake_env: FakeServer) -> None:
    make_module(
        pytester,
        """
        from llm_cassette import faults

        @pytest.mark.llm_cassette
        def test_happy():
            assert ask("happy") == "Echo: happy"

        @pytest.mark.llm_cassette("test_happy", read_only=True, faults=[faults.server_error(503)])
        def test_upstream_down():
            with pytest.raises(openai.InternalServerError):
                ask("happy")
        """,
    )
    result = pytester.runpytest("--record", "-p", "no:randomly")
    result.assert_outcomes(passed=2)
    doc = cassette(pytester, "test_llm/test_happy.yaml")
    assert prompts(doc) == ["happy"], "the read-only borrower added nothing"
    result = pytester.runpytest("-W", "error::UserWarning")
    result.assert_outcomes(passed=2)
    assert fake_env.request_count == 1


def test_the_cassette_starts_after_wider_fixtures_and_before_the_tests_own(
    pytester: pytest.Pytester, fake_env: FakeServer
) -> None:
    """What a module- or session-scoped fixture sends is not the test's; what its function-scoped
    fixtures send is, whether or not the test has any; a test without a cassette gets no fixture
    of ours, and a parametrized test can want a cassette for some parameters only."""
    make_module(
        pytester,
        """
        def say(prompt):
            with openai.OpenAI(base_url=URL + "/v1", api_key="sk-fake-plugin-test-key-000000", max_retries=0) as c:
                reply = c.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": prompt}])
            return reply.choices[0].message.content

        @pytest.fixture(scope="module")
        def warm():
            return say("module fixture")

        @pytest.fixture
        def greeting(warm):
            return say("function fixture")

        @pytest.mark.llm_cassette
        def test_with_fixtures(greeting, llm_cassette, request):  # `llm_cassette` named after the others
            assert say("body") == "Echo: body"
            assert request.fixturenames.index("_llm_cassette_session") < request.fixturenames.index("greeting")
            assert len(llm_cassette.requests) == 2

        @pytest.mark.llm_cassette
        def test_without_fixtures(warm):
            assert say("alone") == "Echo: alone"

        @pytest.mark.parametrize("n", [pytest.param(1, marks=pytest.mark.llm_cassette), 2])
        def test_some_params(n, greeting):
            say(f"param {n}")

        def test_plain(request):
            assert "_llm_cassette_session" not in request.fixturenames
        """,
    )
    pytester.runpytest("--record").assert_outcomes(passed=5)
    assert prompts(cassette(pytester, "test_llm/test_with_fixtures.yaml")) == ["function fixture", "body"]
    assert prompts(cassette(pytester, "test_llm/test_without_fixtures.yaml")) == ["alone"]
    assert prompts(cassette(pytester, "test_llm/test_some_params[1].yaml")) == ["function fixture", "param 1"]
    assert not (pytester.path / "cassettes/test_llm/test_some_params[2].yaml").exists()
    before = fake_env.request_count
    pytester.runpytest().assert_outcomes(passed=5)
    # Replayed: only what the module fixture and the uncassetted parameter send reaches the server.
    assert fake_env.request_count - before == 3
