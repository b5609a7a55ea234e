"""pytest rewrites the asserts of every module of a plugin's distribution as it imports them, which
costs every run a tenth of a second for ours (`plugin/plain_imports.py`): our modules are imported
plainly, while the user's test files and conftests keep pytest's assertion messages."""

from __future__ import annotations

import pytest

TESTS = """
import sys

from _pytest.assertion.rewrite import AssertionRewritingHook

import llm_cassette.core.session


def test_who_imported_what():
    for name in ("llm_cassette.core.session", "llm_cassette.plugin.fixtures", "llm_cassette.stacks.httpx"):
        assert not isinstance(sys.modules[name].__loader__, AssertionRewritingHook), name
    assert isinstance(sys.modules[__name__].__loader__, AssertionRewritingHook)
    assert isinstance(sys.modules["conftest"].__loader__, AssertionRewritingHook)


def test_a_failing_assert_still_explains_itself(recorded):
    assert recorded["status"] == 201
"""

CONFTEST = """
import pytest


@pytest.fixture
def recorded():
    return {"status": 200}
"""


def test_our_modules_import_plainly_and_the_users_tests_are_rewritten(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_it=TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-W", "error::pytest.PytestAssertRewriteWarning")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*assert 200 == 201*"])
    assert "PytestAssertRewriteWarning" not in result.stdout.str() + result.stderr.str()
