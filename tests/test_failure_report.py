"""A miss is the first and main thing in the failure report: its message, then the test's own
frames, never the SDK, httpx2 and llm_cassette frames it went through; the summary line reads
like any pytest failure; a stopped `TestClient` portal adds no noise; a corrupt cassette's
error is printed once. And the wording the miss uses agrees with the test's situation."""

from __future__ import annotations

import textwrap

import pytest

from llm_cassette.fake_server import FakeServer

SDK_MISSES = """
import os

import anthropic
import httpx
import openai
import pytest

@pytest.mark.llm_cassette
def test_openai():
    client = openai.OpenAI(base_url=os.environ["OPENAI_BASE_URL"], api_key="sk-fake-report-0000", max_retries=0)
    client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])

@pytest.mark.llm_cassette
def test_anthropic():
    client = anthropic.Anthropic(base_url=os.environ["ANTHROPIC_BASE_URL"], api_key="sk-ant-fake-report-0000")
    client.messages.create(model="m", max_tokens=5, messages=[{"role": "user", "content": "hi"}])

@pytest.mark.llm_cassette
def test_httpx():
    httpx.get(os.environ["FAKE_LLM_URL"] + "/v1/models")
"""

MISS = "llm-cassette: no recorded interaction matches this request (none mode)"
INTERNALS = ("site-packages", "httpx2/", "llm_cassette/", "_pytest", "CassetteMiss", "llm_cassette.errors")


def failure_sections(lines: list[str]) -> dict[str, list[str]]:
    """The lines of each test's failure report, by test name (between the `___ name ___` headers)."""
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in lines:
        if line.startswith("_") and line.endswith("_") and " " in line.strip("_"):
            current = sections.setdefault(line.strip("_ ").split(" ")[-1], [])
        elif line.startswith("=") or (line.startswith("llm-cassette: ") and "replayed" in line):
            current = None
        elif current is not None:
            current.append(line)
    return sections


@pytest.mark.parametrize("tb", ["auto", "short", "native"])
def test_a_miss_in_an_sdk_call_leads_the_report_with_only_the_tests_frames(
    pytester: pytest.Pytester, fake_env: FakeServer, tb: str
) -> None:
    pytester.makepyfile(test_sdk=SDK_MISSES)
    # Which frames are shown does not depend on the style: the SDKs once, the styles on one test.
    tests = ["test_anthropic", "test_httpx", "test_openai"] if tb == "auto" else ["test_openai"]
    result = pytester.runpytest(f"--tb={tb}", "-p", "no:randomly", "-k", " or ".join(tests))
    result.assert_outcomes(failed=len(tests))
    sections = failure_sections(result.outlines)
    assert sorted(sections) == tests
    for name, lines in sections.items():
        assert lines[0] == MISS, f"{name}: the report starts with the miss, not a traceback:\n" + "\n".join(lines)
        assert f"To record: pytest --record 'test_sdk.py::{name}'" in lines  # never recorded: "To record"
        assert not [line for line in lines if any(word in line for word in INTERNALS)], "\n".join(lines)
        assert len(lines) <= 16, "\n".join(lines)  # the message (7 lines at most here) and the test's frame
        assert any(
            f"test_sdk.py:{n}" in line or f'test_sdk.py", line {n}' in line for line in lines for n in (11, 16, 20)
        )
    summary = [line for line in result.outlines if line.startswith("FAILED ")]
    assert len(summary) == len(tests)
    for line in summary:
        assert line.split(" - ", 1)[1].startswith("llm-cassette: no recorded interaction"), line
        assert "llm_cassette.errors" not in line and "CassetteMiss" not in line
    assert fake_env.request_count == 0


def test_one_line_per_failure_with_tb_line_and_everything_with_fulltrace(
    pytester: pytest.Pytester, fake_env: FakeServer
) -> None:
    pytester.makepyfile(test_sdk=SDK_MISSES)
    line = pytester.runpytest("--tb=line", "-k", "httpx")
    line.assert_outcomes(failed=1)
    line.stdout.fnmatch_lines([f"*test_sdk.py:20: {MISS}"])
    assert not [x for x in line.outlines if "  cassette: " in x]  # one line, as --tb=line means
    full = pytester.runpytest("--fulltrace", "-k", "httpx")
    full.assert_outcomes(failed=1)
    miss = MISS.replace("(", "[(]").replace(")", "[)]")
    full.stdout.fnmatch_lines(["*/httpx/_client.py:*", f"E *llm_cassette.errors.CassetteMiss: {miss}"])  # pytest's own


XDIST_ROUND_TRIP = """
import json

import pytest

@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    # What pytest-xdist does with each report: serialised on the worker, rebuilt on the controller.
    outcome = yield
    hook, config = item.config.hook, item.config
    data = json.loads(json.dumps(hook.pytest_report_to_serializable(config=config, report=outcome.get_result())))
    outcome.force_result(hook.pytest_report_from_serializable(config=config, data=data))
"""


def test_the_report_survives_the_trip_from_an_xdist_worker(pytester: pytest.Pytester, fake_env: FakeServer) -> None:
    pytester.makeconftest(XDIST_ROUND_TRIP)
    pytester.makepyfile(test_sdk=SDK_MISSES)
    result = pytester.runpytest("-k", "httpx")
    result.assert_outcomes(failed=1)
    lines = failure_sections(result.outlines)["test_httpx"]
    assert lines[0] == MISS
    assert '>       httpx.get(os.environ["FAKE_LLM_URL"] + "/v1/models")' in lines
    result.stdout.fnmatch_lines(["FAILED test_sdk.py::test_httpx - llm-cassette: no recorded interaction*"])


TESTCLIENT_APP = """
import os

import openai
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

app = FastAPI()

def ask():
    client = openai.OpenAI(base_url=os.environ["OPENAI_BASE_URL"], api_key="sk-fake-report-0000", max_retries=0)
    return client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])

@app.get("/sync")
def sync_route():
    return {"answer": ask().choices[0].message.content}

@app.get("/async")
async def async_route():
    client = openai.AsyncOpenAI(base_url=os.environ["OPENAI_BASE_URL"], api_key="sk-fake-report-0000", max_retries=0)
    answer = await client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
    return {"answer": answer.choices[0].message.content}

@app.get("/health")
def health():
    return {}

@app.get("/guarded")
def guarded_route():
    try:
        return {"answer": ask().choices[0].message.content}
    except BaseException:  # an application that turns any failure into a 503
        return {"answer": None}

@pytest.mark.llm_cassette
def test_sync_route_with_lifespan():
    with TestClient(app) as client:
        client.get("/sync")

@pytest.fixture
def client():
    with TestClient(app) as client:  # its teardown meets the portal the miss stopped
        yield client

@pytest.mark.llm_cassette
def test_async_route_through_a_fixture(client):
    client.get("/async")

@pytest.fixture(scope="module")
def shared():
    with TestClient(app) as client:
        yield client

@pytest.mark.llm_cassette
def test_shared_client_misses(shared):
    shared.get("/async")

def test_shared_client_after_the_miss(shared):
    assert shared.get("/health").status_code == 200

@pytest.mark.llm_cassette
def test_guarded_route():
    response = TestClient(app).get("/guarded")
    assert response.json()["answer"] == "Paris"
"""


def test_a_miss_under_starlettes_testclient_fails_once_without_portal_noise(
    pytester: pytest.Pytester, fake_env: FakeServer
) -> None:
    pytest.importorskip("fastapi")
    pytester.makepyfile(test_app=TESTCLIENT_APP)
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(failed=5)  # no teardown error from the fixtures' TestClient
    sections = failure_sections(result.outlines)
    after = sections.pop("test_shared_client_after_the_miss")
    for name, lines in sections.items():
        assert lines[0] == MISS, "\n".join(lines)
        assert lines.count(MISS) == 1, f"{name}: the miss once"
        assert not [line for line in lines if any(word in line for word in INTERNALS)], "\n".join(lines)
        assert not [line for line in lines if "portal is not running" in line or "CancelledError" in line], "\n".join(
            lines
        )
        assert any(line.startswith("test_app.py:") and line.endswith(("in ask", "in async_route")) for line in lines)
    # A client shared with a test that missed is stopped for the next test too: it says why.
    assert after[0].startswith("llm-cassette: the miss in test_app.py::test_shared_client_misses stopped")
    assert after[1] == "RuntimeError: This portal is not running"
    assert not [line for line in after if any(word in line for word in INTERNALS)], "\n".join(after)
    # The app caught the miss; the test then failed on its own assertion, shown after the miss.
    guarded = sections["test_guarded_route"]
    after = guarded.index("After this miss, the test failed with:")
    assert any(line.startswith("E   AssertionError") or line.startswith("E   assert") for line in guarded[after:])
    result.stdout.fnmatch_lines(["FAILED test_app.py::test_guarded_route - llm-cassette: no recorded*"])


def test_a_corrupt_cassette_is_reported_once(pytester: pytest.Pytester, fake_env: FakeServer) -> None:
    folder = pytester.path / "cassettes" / "test_corrupt"
    folder.mkdir(parents=True)
    (folder / "test_marked.yaml").write_text("version: 2\ninteractions:\n  - request: [\n")
    pytester.makepyfile(
        test_corrupt="""
        import pytest
        from llm_cassette import use_cassette

        @pytest.mark.llm_cassette
        def test_marked():
            pass

        def test_block():
            with use_cassette("cassettes/test_corrupt/test_marked.yaml"):
                pass
        """
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(failed=1, errors=1)
    output = "\n".join(result.outlines)
    report = output.split("short test summary info")[0]
    assert report.count("invalid YAML: did not find expected node content") == 2  # once per test
    assert "During handling" not in output and "direct cause" not in output
    assert "llm_cassette/" not in report and "yaml/" not in report
    summary = [line for line in result.outlines if line.startswith(("ERROR ", "FAILED "))]
    assert [line.split(" - ")[1][:9] for line in summary] == ["cassettes", f"{str(pytester.path)[:9]}"], summary


READ_ONLY = """
import os

import httpx
import pytest

@pytest.mark.llm_cassette
def test_owner():
    httpx.get(os.environ["FAKE_LLM_URL"] + "/v1/models")

@pytest.mark.llm_cassette("../test_owner/test_owner", read_only=True)
def test_borrows_by_a_relative_name():
    httpx.get(os.environ["FAKE_LLM_URL"] + "/v1/models")

@pytest.mark.llm_cassette("../test_owner/test_owner", read_only=True)
def test_borrower_sends_more():
    httpx.get(os.environ["FAKE_LLM_URL"] + "/v1/models")
    httpx.get(os.environ["FAKE_LLM_URL"] + "/v1/other")

@pytest.mark.llm_cassette("../test_owner/never_recorded", read_only=True)
def test_borrows_a_missing_file():
    pass
"""


def test_read_only_and_relative_borrowing(pytester: pytest.Pytester, fake_env: FakeServer) -> None:
    pytester.makepyfile(test_owner=READ_ONLY.split("@pytest.mark.llm_cassette(")[0])
    pytester.runpytest("--record").assert_outcomes(passed=1)
    pytester.makepyfile(test_borrower=READ_ONLY)
    result = pytester.runpytest("test_borrower.py", "-p", "no:randomly", "-k", "not test_owner")
    # The borrower's own cassette folder was never created: "../" resolves by name all the same.
    assert not (pytester.path / "cassettes" / "test_borrower").exists()
    result.assert_outcomes(passed=1, failed=2)
    sections = failure_sections(result.outlines)
    more = "\n".join(sections["test_borrower_sends_more"])
    assert "--record" not in more, "a read_only cassette is never written: --record cannot help"
    assert "read_only" in more and "remove read_only" in more
    missing = "\n".join(sections["test_borrows_a_missing_file"])
    resolved = pytester.path / "cassettes" / "test_owner" / "never_recorded.yaml"
    assert f"the cassette {resolved} does not exist" in missing
    assert "--record" not in missing


def test_re_record_once_recorded(pytester: pytest.Pytester, fake_env: FakeServer) -> None:
    pytester.makepyfile(
        test_drift=textwrap.dedent(
            """
            import os
            import httpx
            import pytest

            @pytest.mark.llm_cassette
            def test_drift():
                httpx.get(os.environ["FAKE_LLM_URL"] + os.environ.get("ROUTE", "/v1/models"))
            """
        )
    )
    pytester.runpytest("--record").assert_outcomes(passed=1)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ROUTE", "/v1/other")
        result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["To re-record: pytest --record 'test_drift.py::test_drift'   (or *all*)"])


def test_a_miss_in_a_task_group_shows_the_test_and_the_task(pytester: pytest.Pytester, fake_env: FakeServer) -> None:
    pytester.makepyfile(
        test_group="""
        import os

        import anyio
        import httpx
        import pytest

        async def fetch():
            async with httpx.AsyncClient() as client:
                await client.get(os.environ["FAKE_LLM_URL"] + "/v1/models")

        @pytest.mark.asyncio
        @pytest.mark.llm_cassette
        async def test_fans_out():
            async with anyio.create_task_group() as group:
                group.start_soon(fetch)
        """
    )
    result = pytester.runpytest("--tb=short")
    result.assert_outcomes(failed=1)
    lines = next(iter(failure_sections(result.outlines).values()))
    assert lines[0] == MISS  # found inside the exception group the task group raised
    frames = [line.split(": in ")[1] for line in lines if line.startswith("test_group.py:")]
    assert frames == ["test_fans_out", "fetch"], "\n".join(lines)
    assert "ExceptionGroup" not in "\n".join(result.outlines)


ANYIO_GROUP = """
import os

import anyio
import httpx
import pytest

CLOSED = []

@pytest.fixture
def anyio_backend():
    return "asyncio"

@pytest.fixture
async def resource():
    yield "open"
    CLOSED.append("resource")

async def fetch():
    async with httpx.AsyncClient() as client:
        await client.get(os.environ["FAKE_LLM_URL"] + "/v1/models")

@pytest.mark.anyio
@pytest.mark.llm_cassette
async def test_fans_out(resource):
    async with anyio.create_task_group() as group:
        group.start_soon(fetch)

@pytest.mark.anyio
async def test_after(resource):
    assert CLOSED == ["resource"]  # the first test's async fixture finished: the runner lived on
"""


def test_a_miss_in_an_anyio_task_group_keeps_anyios_runner_alive(
    pytester: pytest.Pytester, fake_env: FakeServer
) -> None:
    pytester.makepyfile(test_anyio_group=ANYIO_GROUP)
    result = pytester.runpytest("--tb=short", "-p", "no:asyncio", "-p", "no:randomly")
    result.assert_outcomes(failed=1, passed=1)
    lines = failure_sections(result.outlines)["test_fans_out"]
    assert lines[0] == MISS, "\n".join(lines)
    output = "\n".join(result.outlines + result.errlines)
    assert "Task exception was never retrieved" not in output
    assert "ExceptionGroup" not in output
