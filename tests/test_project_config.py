"""Project-wide configuration: the `llm_cassette_config` fixture and the ini options, in layers
under the markers; the vcrpy matching preset and its body-drift report; per-request pass-through
from `before_record_request`. Real inner pytest runs against the fake server."""

from __future__ import annotations

import textwrap

import pytest

from llm_cassette.fake_server import FakeServer

HEADER = """
import os
import httpx
import pytest

URL = os.environ["FAKE_LLM_URL"]


def ask(prompt, path="/v1/chat/completions"):
    with httpx.Client() as client:
        body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": prompt}]}
        reply = client.post(URL + path, json=body)
    return reply.json()["choices"][0]["message"]["content"]
"""


def module(pytester: pytest.Pytester, body: str, name: str = "test_llm") -> None:
    pytester.makepyfile(**{name: HEADER + textwrap.dedent(body)})


def conftest(pytester: pytest.Pytester, body: str) -> None:
    pytester.makeconftest("import pytest\n" + textwrap.dedent(body))


REWORDED = """
@pytest.mark.llm_cassette
def test_reworded():
    assert ask(os.environ.get("PROMPT", "Describe the sea")).startswith("Echo:")
"""


def test_the_config_fixture_sets_options_under_the_markers(
    pytester: pytest.Pytester, fake_env: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    conftest(
        pytester,
        """
        @pytest.fixture(scope="session")
        def llm_cassette_config():
            return {"match_on": "vcrpy", "record_mode": "once"}
        """,
    )
    module(
        pytester,
        REWORDED
        + """
@pytest.mark.llm_cassette(match_on=["method", "url", "body"])
def test_strict():
    assert ask(os.environ.get("PROMPT", "Describe the sea")).startswith("Echo:")
""",
    )
    # record_mode "once" from the fixture: the first run records without a flag.
    pytester.runpytest().assert_outcomes(passed=2)
    assert fake_env.request_count == 2
    monkeypatch.setenv("PROMPT", "Describe the calm sea")

    result = pytester.runpytest()

    # The fixture's vcrpy rules ignore the body; the marker's own match_on wins over them.
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        ["*_ test_strict _*", "*differs:  body.messages[[]0[]].content: sent 'Describe the calm sea'*"]
    )
    assert fake_env.request_count == 2


def test_a_module_overrides_the_conftest_fixture(pytester: pytest.Pytester, fake_env: FakeServer) -> None:
    conftest(pytester, "@pytest.fixture\ndef llm_cassette_config():\n    return {'redact_json_fields': ['model']}\n")
    module(pytester, "@pytest.mark.llm_cassette\ndef test_a():\n    ask('hi')\n", name="test_a")
    module(
        pytester,
        "@pytest.fixture\ndef llm_cassette_config():\n    return {}\n\n"
        "@pytest.mark.llm_cassette\ndef test_b():\n    ask('hi')\n",
        name="test_b",
    )
    pytester.runpytest("--record").assert_outcomes(passed=2)
    assert "model: REDACTED" in (pytester.path / "cassettes" / "test_a" / "test_a.yaml").read_text()
    assert "model: gpt-4o-mini" in (pytester.path / "cassettes" / "test_b" / "test_b.yaml").read_text()


def test_overrides_of_any_scope_extend_the_default_and_never_change_it(pytester: pytest.Pytester) -> None:
    # The default is session-scoped (set up once per run) and read-only: a session-scoped
    # override can extend it, and one that tries to change it in place is told so.
    ext = pytester.mkpydir("ext")
    (ext / "conftest.py").write_text(
        textwrap.dedent(
            """
            import pytest

            @pytest.fixture(scope="session")
            def llm_cassette_config(llm_cassette_config):
                return {**llm_cassette_config, "match_on": "vcrpy"}
            """
        )
    )
    (ext / "test_extends.py").write_text(
        "def test_extended(request):\n"
        "    assert request.getfixturevalue('llm_cassette_config') == {'match_on': 'vcrpy'}\n"
    )
    pytester.makepyfile(
        test_in_place="""
        import pytest

        @pytest.fixture
        def llm_cassette_config(llm_cassette_config):
            llm_cassette_config["read_only"] = True
            return llm_cassette_config

        @pytest.mark.llm_cassette
        def test_changes_it():
            pass
        """
    )

    result = pytester.runpytest("-p", "no:randomly")

    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*TypeError: 'mappingproxy' object does not support item assignment*"])


def test_a_vcrpy_option_name_is_answered_with_its_equivalent(pytester: pytest.Pytester, fake_env: FakeServer) -> None:
    conftest(pytester, "@pytest.fixture\ndef llm_cassette_config():\n    return {'filter_headers': ['x-key']}\n")
    module(pytester, REWORDED)

    result = pytester.runpytest()

    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*llm_cassette_config: unknown option 'filter_headers'*filter_headers is vcrpy's: *redact_headers=[[]...[]]*"]
    )
    assert fake_env.request_count == 0


def test_ini_options_are_the_bottom_layer(pytester: pytest.Pytester, fake_env: FakeServer) -> None:
    pytester.makeini(
        """
        [pytest]
        llm_cassette_match_on = vcrpy
        llm_cassette_redact_json_fields =
            model
        llm_cassette_record_mode = once
        """
    )
    module(pytester, REWORDED)
    pytester.runpytest().assert_outcomes(passed=1)
    text = (pytester.path / "cassettes" / "test_llm" / "test_reworded.yaml").read_text()
    assert "model: REDACTED" in text

    result = pytester.runpytest("--llm-record-mode=none")  # the flag wins over the ini's record mode
    result.assert_outcomes(passed=1)


def test_a_bad_ini_option_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nllm_cassette_match_on = method bodyy\n")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unknown matcher 'bodyy'*"])


def test_vcrpy_preset_lists_the_tests_that_would_miss_with_body_matching(
    pytester: pytest.Pytester, fake_env: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makeini("[pytest]\nllm_cassette_match_on = vcrpy\n")
    module(
        pytester,
        REWORDED
        + """
@pytest.mark.llm_cassette
def test_same():
    assert ask("Describe the sea").startswith("Echo:")
""",
    )
    pytester.runpytest("--record").assert_outcomes(passed=2)
    monkeypatch.setenv("PROMPT", "Describe the calm sea")

    result = pytester.runpytest("-rA")

    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        [
            "*llm-cassette: 1 test would miss with body matching*",
            "test_llm.py::test_reworded: interaction #1 POST http://127.0.0.1:*/v1/chat/completions",
            "    body.messages[[]0[]].content: sent 'Describe the calm sea', recorded 'Describe the sea'",
        ]
    )
    assert "test_same:" not in result.stdout.str()


PASS_THROUGH = """
def token_fetch_is_not_recorded(request):
    return None if request.path.endswith("/models") else request


@pytest.mark.llm_cassette(before_record_request=token_fetch_is_not_recorded)
def test_with_a_token_fetch():
    with httpx.Client() as client:
        assert client.get(URL + "/v1/models").status_code == 200
    assert ask("hello").startswith("Echo:")
"""


def test_a_hook_returning_none_lets_one_request_through_in_record_and_replay(
    pytester: pytest.Pytester, fake_env: FakeServer
) -> None:
    module(pytester, PASS_THROUGH)
    pytester.runpytest("--record").assert_outcomes(passed=1)
    text = (pytester.path / "cassettes" / "test_llm" / "test_with_a_token_fetch.yaml").read_text()
    assert "/v1/models" not in text and "/v1/chat/completions" in text
    assert fake_env.request_count == 2

    pytester.runpytest().assert_outcomes(passed=1)

    # In replay the token fetch went to the server again; the chat call was replayed.
    assert fake_env.request_count == 3
    assert fake_env.app.state.requests[-1] == ("GET", "/v1/models")


def test_the_hook_result_is_what_is_matched(
    pytester: pytest.Pytester, fake_env: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    module(
        pytester,
        """
import dataclasses
import json


def without_user_text(request):
    body = json.loads(request.body)
    body["messages"][0]["content"] = "<prompt>"
    return dataclasses.replace(request, body=json.dumps(body).encode())


@pytest.mark.llm_cassette(before_record_request=without_user_text)
def test_any_prompt():
    assert ask(os.environ.get("PROMPT", "first")) == "Echo: first"
""",
    )
    pytester.runpytest("--record").assert_outcomes(passed=1)
    assert "<prompt>" in (pytester.path / "cassettes" / "test_llm" / "test_any_prompt.yaml").read_text()
    monkeypatch.setenv("PROMPT", "second")  # a different prompt, the same request once hooked

    pytester.runpytest().assert_outcomes(passed=1)
    assert fake_env.request_count == 1
