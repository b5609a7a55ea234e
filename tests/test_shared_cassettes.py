"""Cassettes shared by several tests, recorded in one process and across xdist workers."""

from __future__ import annotations

import pytest
import yaml

from llm_cassette.fake_server import FakeServer

SHARED = """
import os
import openai
import pytest

URL = os.environ["FAKE_LLM_URL"]

def ask(q):
    with openai.OpenAI(base_url=URL + "/v1", api_key="sk-fake-shared-test-key-0000", max_retries=0) as c:
        reply = c.chat.completions.create(model="m", messages=[{"role": "user", "content": q}])
    return reply.choices[0].message.content

@pytest.mark.llm_cassette("shared")
def test_first():
    assert ask("first") == "Echo: first"

@pytest.mark.llm_cassette("shared")
def test_second():
    assert ask("second") == "Echo: second"
"""


def prompts(pytester: pytest.Pytester) -> list[str]:
    doc = yaml.safe_load((pytester.path / "cassettes/test_shared/shared.yaml").read_text())
    return [i["request"]["body"]["json"]["messages"][0]["content"] for i in doc["interactions"]]


@pytest.mark.parametrize("mode", ["once", "new_episodes", "all"])
def test_tests_sharing_a_cassette_in_one_process_all_keep_their_interactions(
    pytester: pytest.Pytester, fake_env: FakeServer, mode: str
) -> None:
    pytester.makepyfile(test_shared=SHARED)
    pytester.runpytest(f"--llm-record-mode={mode}").assert_outcomes(passed=2)
    assert prompts(pytester) == ["first", "second"]
    pytester.runpytest().assert_outcomes(passed=2)
    assert fake_env.request_count == 2


def test_two_xdist_workers_recording_one_cassette_are_reported(pytester: pytest.Pytester, fake_env: FakeServer) -> None:
    pytester.makepyfile(test_shared=SHARED)
    result = pytester.runpytest_subprocess("-n", "2", "--dist", "load", "--record")
    outcomes = result.parseoutcomes()
    if outcomes.get("passed") == 2:
        # The scheduler happened to run both tests on one worker: nothing to detect then.
        assert prompts(pytester) == ["first", "second"]
        return
    # Whichever worker claims second is refused (both, when they claim at the same moment).
    assert outcomes.get("errors", 0) >= 1 and outcomes.get("errors", 0) + outcomes.get("passed", 0) == 2
    result.stdout.fnmatch_lines(["*shared.yaml: recorded by more than one xdist worker*--dist loadfile*"])
    assert not list(pytester.path.glob("llm-cassette-run-*"))


def test_drop_fault_while_recording_keeps_the_whole_response(pytester: pytest.Pytester, fake_env: FakeServer) -> None:
    pytester.makepyfile(
        test_drop="""
        import os
        import openai
        import pytest
        from llm_cassette import faults

        URL = os.environ["FAKE_LLM_URL"]

        @pytest.mark.llm_cassette(faults=[faults.drop(after_chunks=2)])
        def test_dropped(llm_cassette):
            seen = []
            with (
                openai.OpenAI(base_url=URL + "/v1", api_key="sk-fake-drop-test-key-0000", max_retries=0) as c,
                pytest.raises(openai.APIConnectionError),
            ):
                for chunk in c.chat.completions.create(
                    model="m", messages=[{"role": "user", "content": "four words here please"}], stream=True
                ):
                    seen.append(chunk)
            assert len(seen) == 2
        """
    )
    pytester.runpytest("--record").assert_outcomes(passed=1)
    doc = yaml.safe_load((pytester.path / "cassettes/test_drop/test_dropped.yaml").read_text())
    response = doc["interactions"][0]["response"]
    assert "error" not in response and not response.get("cut")
    assert response["chunks"][-1]["text"] == "data: [DONE]\n\n"
    before = fake_env.request_count
    pytester.runpytest().assert_outcomes(passed=1)
    assert fake_env.request_count == before
