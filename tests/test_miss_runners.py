"""A miss fails its test and nothing else: the async runners (anyio, pytest-asyncio auto and
strict) and their async fixtures stay healthy, however many tests miss, and no retry or
`except Exception` in between swallows it."""

from __future__ import annotations

import pytest

from llm_cassette.fake_server import FakeServer

ASYNC_FIXTURE_MISSES = """
import os
import httpx
import openai
import pytest
{imports}

CLOSED = []

@{fixture_decorator}
async def client():
    async with httpx.AsyncClient(base_url=os.environ["FAKE_LLM_URL"]) as c:
        yield c
    CLOSED.append(True)  # the async fixture's cleanup ran

{marks}
@pytest.mark.llm_cassette
@pytest.mark.parametrize("n", [1, 2, 3])
async def test_misses(client, n{extra_args}):
    body = {{"model": "m", "messages": [{{"role": "user", "content": str(n)}}]}}
    await client.post("/v1/chat/completions", json=body)

{marks}
@pytest.mark.llm_cassette
async def test_sdk_with_retries_and_a_catch_all(client{extra_args}):
    sdk = openai.AsyncOpenAI(base_url=os.environ["OPENAI_BASE_URL"], api_key="sk-fake-runner-0000", max_retries=3)
    try:
        await sdk.chat.completions.create(model="m", messages=[{{"role": "user", "content": "x"}}])
    except Exception:  # an application's catch-all cannot swallow a miss
        pytest.fail("a miss reached `except Exception`")
    finally:
        await sdk.close()

def test_every_async_fixture_was_cleaned_up():
    assert len(CLOSED) == 4
"""

RUNNERS = {
    "anyio": dict(
        imports="",
        fixture_decorator="pytest.fixture",
        marks='@pytest.mark.anyio\n@pytest.mark.parametrize("anyio_backend", ["asyncio"])',
        extra_args=", anyio_backend",
        args=("-p", "no:asyncio"),
    ),
    "pytest-asyncio-strict": dict(
        imports="import pytest_asyncio",
        fixture_decorator="pytest_asyncio.fixture",
        marks="@pytest.mark.asyncio",
        extra_args="",
        args=("-o", "asyncio_mode=strict"),
    ),
    "pytest-asyncio-auto": dict(
        imports="",
        fixture_decorator="pytest.fixture",
        marks="",
        extra_args="",
        args=("-o", "asyncio_mode=auto", "-p", "no:anyio"),
    ),
}


@pytest.mark.parametrize("runner", sorted(RUNNERS))
def test_misses_under_async_runners_fail_only_their_tests(
    pytester: pytest.Pytester, fake_env: FakeServer, runner: str
) -> None:
    spec = dict(RUNNERS[runner])
    args = spec.pop("args")
    pytester.makepyfile(test_runner=ASYNC_FIXTURE_MISSES.format(**spec))
    result = pytester.runpytest(*args)
    result.assert_outcomes(failed=4, passed=1)  # no teardown errors (ClosedResourceError) from the runner
    result.stdout.fnmatch_lines(["*no recorded interaction matches this request*"])
    result.stdout.no_fnmatch_line("*ClosedResourceError*")
    result.stdout.no_fnmatch_line("*reached `except Exception`*")
    assert fake_env.request_count == 0  # replay never reaches the network, no retry went out
