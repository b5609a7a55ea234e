"""Nothing silent: what the network guard sees shows in the run, test by test (inner pytest runs
against the real fake server on 127.0.0.1)."""

from __future__ import annotations

import pytest

from llm_cassette.fake_server import FakeServer

URLLIB_CALL = """
import os
import urllib.request

URL = os.environ["FAKE_LLM_URL"] + "/v1/models"

def fetch():
    with urllib.request.urlopen(URL, timeout=10) as r:
        return r.status
"""


def test_a_refusal_the_code_catches_still_fails_the_test(pytester: pytest.Pytester, fake_env: FakeServer) -> None:
    pytester.makepyfile(
        URLLIB_CALL
        + """
import pytest

@pytest.mark.llm_cassette
def test_app_hides_the_refusal():
    try:
        fetch()
    except BaseException:  # an app turning every failure into a fallback
        pass
"""
    )
    folder = pytester.path / "cassettes" / "test_a_refusal_the_code_catches_still_fails_the_test"
    folder.mkdir(parents=True)
    (folder / "test_app_hides_the_refusal.yaml").write_text("version: 1\ninteractions: []\n", encoding="utf-8")
    result = pytester.runpytest("--llm-block-network")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*a connection was refused by the network guard, and the code under test caught the error*",
            f"*connection to 127.0.0.1:{fake_env.port} refused by the network guard*",
            "*library:  urllib.request, called from *test_a_refusal_the_code_catches_still_fails_the_test.py:*",
        ]
    )
    assert fake_env.request_count == 0


def test_the_summary_counts_connections_outside_cassettes(pytester: pytest.Pytester, fake_env: FakeServer) -> None:
    pytester.makepyfile(URLLIB_CALL + "\ndef test_plain():\n    assert fetch() == 200\n")
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        ["llm-cassette: 0 cassettes replayed, 0 interactions, 1 network call (1 outside cassettes), 0 recorded"]
    )


def test_a_replay_whose_cassette_is_missing_fails_without_any_request(
    pytester: pytest.Pytester, fake_env: FakeServer
) -> None:
    pytester.makepyfile(
        test_missing="""
import pytest

@pytest.mark.llm_cassette
def test_marked_itself():
    pass
""",
        test_module_marker="""
import pytest

pytestmark = pytest.mark.llm_cassette

def test_no_traffic_under_a_module_marker():
    pass
""",
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*cassettes/test_missing/test_marked_itself.yaml does not exist, and this test replays (none mode)*",
            "*To record it: pytest --record 'test_missing.py::test_marked_itself'*",
        ]
    )


def test_a_recording_that_records_nothing_names_the_unrecorded_stack(
    pytester: pytest.Pytester, fake_env: FakeServer
) -> None:
    pytester.makepyfile(
        URLLIB_CALL
        + """
import pytest

@pytest.mark.llm_cassette
def test_through_urllib():
    assert fetch() == 200
"""
    )
    result = pytester.runpytest("--record", "-W", "always")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "*NothingRecordedWarning*recorded nothing into*",
            f"*127.0.0.1:{fake_env.port}, urllib.request, called from*",
            "*Send them through httpx, httpx2, urllib3 (requests, botocore) or aiohttp to record them.*",
        ]
    )


def test_a_refusal_in_an_async_test_keeps_the_runner_and_its_fixtures_healthy(
    pytester: pytest.Pytester, fake_env: FakeServer
) -> None:
    pytester.makepyfile(
        """
import asyncio
import os

import pytest
import pytest_asyncio

finalised = []

@pytest_asyncio.fixture
async def resource():
    yield "r"
    finalised.append(True)

@pytest.mark.asyncio
async def test_refused(resource):
    host, port = os.environ["FAKE_LLM_URL"].removeprefix("http://").split(":")
    await asyncio.open_connection(host, int(port))

def test_fixture_was_finalised():
    assert finalised == [True]
"""
    )
    result = pytester.runpytest("--llm-block-network", "-p", "asyncio")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["llm-cassette: connection to *refused by the network guard"])
    assert fake_env.request_count == 0
