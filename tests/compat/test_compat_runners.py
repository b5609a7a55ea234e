"""Test runners: pytest-asyncio (auto and strict), anyio, pytest-xdist, unittest, and a plain script.

Each test writes a small user project with pytester, records it against the fake server, then
replays it and checks that the replay sent nothing to the server.
"""

from __future__ import annotations

import re
import sys
import textwrap
from pathlib import Path

import pytest

from llm_cassette import load
from llm_cassette.fake_server import FakeServer

HEADER = """
import os

import openai
import pytest

URL = os.environ["FAKE_LLM_URL"]
KEY = "sk-fake-runner-key-0000"


def sync_client():
    return openai.OpenAI(base_url=URL + "/v1", api_key=KEY, max_retries=0)


def async_client():
    return openai.AsyncOpenAI(base_url=URL + "/v1", api_key=KEY, max_retries=0)


def user(text):
    return [{"role": "user", "content": text}]
"""


def write(pytester: pytest.Pytester, name: str, body: str) -> Path:
    return pytester.makepyfile(**{name: HEADER + textwrap.dedent(body)})


def record_then_replay(pytester: pytest.Pytester, server: FakeServer, *args: str, passed: int, requests: int) -> None:
    """Record with `args`, check the server saw `requests`, replay with `args` and check it saw no more."""
    pytester.runpytest("--llm-record-mode=once", *args).assert_outcomes(passed=passed)
    assert server.request_count == requests
    pytester.runpytest(*args).assert_outcomes(passed=passed)
    assert server.request_count == requests, "the replay run reached the fake server"


# --- pytest-asyncio -----------------------------------------------------------------------------

ASYNCIO_AUTO = """
# Built at import time, before any cassette exists.
MODULE_CLIENT = async_client()


@pytest.fixture
async def client():
    async with async_client() as c:
        yield c


@pytest.mark.llm_cassette
async def test_fixture_client(client, llm_cassette):
    reply = await client.chat.completions.create(model="gpt-4o-mini", messages=user("auto fixture"))
    assert reply.choices[0].message.content == "Echo: auto fixture"
    assert len(llm_cassette.requests) == 1


@pytest.mark.llm_cassette
async def test_stream_on_module_client():
    stream = await MODULE_CLIENT.chat.completions.create(
        model="gpt-4o-mini", messages=user("auto stream"), stream=True
    )
    text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    assert text == "Echo: auto stream"
    await MODULE_CLIENT.close()  # its pooled connection belongs to this test's event loop
"""


def test_pytest_asyncio_auto_mode(pytester: pytest.Pytester, fake_env: FakeServer) -> None:
    pytest.importorskip("pytest_asyncio")
    write(pytester, "test_auto", ASYNCIO_AUTO)
    record_then_replay(pytester, fake_env, "-o", "asyncio_mode=auto", passed=2, requests=2)


ASYNCIO_STRICT = """
import pytest_asyncio


@pytest_asyncio.fixture
async def client():
    async with async_client() as c:
        yield c


@pytest.mark.asyncio
@pytest.mark.llm_cassette
async def test_strict(client):
    reply = await client.chat.completions.create(model="gpt-4o-mini", messages=user("strict"))
    assert reply.choices[0].message.content == "Echo: strict"


@pytest.mark.asyncio
async def test_strict_fixture_only(client, llm_cassette):
    reply = await client.chat.completions.create(model="gpt-4o-mini", messages=user("strict fixture"))
    assert reply.choices[0].message.content == "Echo: strict fixture"
    assert llm_cassette.path.name == "test_strict_fixture_only.yaml"
"""


def test_pytest_asyncio_strict_mode(pytester: pytest.Pytester, fake_env: FakeServer) -> None:
    pytest.importorskip("pytest_asyncio")
    write(pytester, "test_strict", ASYNCIO_STRICT)
    record_then_replay(pytester, fake_env, "-o", "asyncio_mode=strict", passed=2, requests=2)


# --- anyio --------------------------------------------------------------------------------------

ANYIO = """
import importlib.util

BACKENDS = ["asyncio"] + (["trio"] if importlib.util.find_spec("trio") else [])


@pytest.fixture(params=BACKENDS)
def anyio_backend(request):
    return request.param


@pytest.mark.anyio
@pytest.mark.llm_cassette
async def test_anyio(llm_cassette):
    async with async_client() as client:
        reply = await client.chat.completions.create(model="gpt-4o-mini", messages=user("anyio"))
        stream = await client.chat.completions.create(model="gpt-4o-mini", messages=user("anyio s"), stream=True)
        text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    assert reply.choices[0].message.content == "Echo: anyio"
    assert text == "Echo: anyio s"
"""


def test_anyio_plugin(pytester: pytest.Pytester, fake_env: FakeServer) -> None:
    pytest.importorskip("anyio")
    backends = 2 if _installed("trio") else 1
    write(pytester, "test_anyio", ANYIO)
    record_then_replay(pytester, fake_env, passed=backends, requests=2 * backends)
    names = sorted(p.name for p in (pytester.path / "cassettes" / "test_anyio").iterdir())
    assert names[0] == "test_anyio[asyncio].yaml"


def _installed(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


# --- pytest-xdist -------------------------------------------------------------------------------

# Plugins that only cost start-up time in each of the five processes (langchain-openai brings
# langsmith's plugin); blocking a plugin that is not installed is harmless.
QUIET_PLUGINS = ("-p", "no:langsmith_plugin", "-p", "no:recording", "-p", "no:hypothesispytest")

XDIST = """
N = 12


@pytest.mark.llm_cassette
@pytest.mark.parametrize("n", range(N))
def test_prompt(n, llm_cassette):
    with sync_client() as client:
        reply = client.chat.completions.create(model="gpt-4o-mini", messages=user(f"prompt {n} first"))
        stream = client.chat.completions.create(
            model="gpt-4o-mini+chunks4", messages=user(f"prompt {n} second"), stream=True
        )
        text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert reply.choices[0].message.content == f"Echo: prompt {n} first"
    assert text == f"Echo: prompt {n} second"
    assert len(llm_cassette.requests) == 2
"""


def test_xdist_records_and_replays_in_parallel(pytester: pytest.Pytester, fake_env: FakeServer) -> None:
    pytest.importorskip("xdist")
    write(pytester, "test_many", XDIST)

    recorded = pytester.runpytest_subprocess("-n", "4", "-v", "--llm-record-mode=once", *QUIET_PLUGINS)
    recorded.assert_outcomes(passed=12)
    workers = set(re.findall(r"\[(gw\d+)\] \[ *\d+%\] PASSED", recorded.stdout.str()))
    assert len(workers) >= 2, "the tests did not spread over several workers"
    assert fake_env.request_count == 24

    folder = pytester.path / "cassettes" / "test_many"
    # One file per test, and no temporary file left behind by an interrupted save.
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"test_prompt[{n}].yaml" for n in range(12))
    for n in range(12):
        interactions = load(folder / f"test_prompt[{n}].yaml").interactions
        prompts = [it.request.json()["messages"][0]["content"] for it in interactions]
        assert prompts == [f"prompt {n} first", f"prompt {n} second"]
        streamed = interactions[1].response
        assert streamed is not None and streamed.streamed

    pytester.runpytest_subprocess("-n", "4", *QUIET_PLUGINS).assert_outcomes(passed=12)
    assert fake_env.request_count == 24, "the replay run reached the fake server"


# --- unittest -----------------------------------------------------------------------------------

UNITTEST = """
import pathlib
import unittest

from llm_cassette import use_cassette

HERE = pathlib.Path(__file__).parent / "recorded"


class TestChat(unittest.TestCase):
    @use_cassette(HERE / "sync.yaml")
    def test_sync(self):
        with sync_client() as client:
            reply = client.chat.completions.create(model="gpt-4o-mini", messages=user("unittest sync"))
        self.assertEqual(reply.choices[0].message.content, "Echo: unittest sync")


class TestAsyncChat(unittest.IsolatedAsyncioTestCase):
    @use_cassette(HERE / "async.yaml")
    async def test_async(self):
        async with async_client() as client:
            reply = await client.chat.completions.create(model="gpt-4o-mini", messages=user("unittest async"))
        self.assertEqual(reply.choices[0].message.content, "Echo: unittest async")


if __name__ == "__main__":
    unittest.main()
"""


def test_unittest_testcase_with_the_decorator(
    pytester: pytest.Pytester, fake_env: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(pytester, "test_unit", UNITTEST)

    # `use_cassette` takes its default mode from the environment, as a user's CI would set it.
    monkeypatch.setenv("LLM_CASSETTE_RECORD_MODE", "once")
    pytester.runpytest().assert_outcomes(passed=2)
    assert fake_env.request_count == 2
    assert sorted(p.name for p in (pytester.path / "recorded").iterdir()) == ["async.yaml", "sync.yaml"]

    monkeypatch.delenv("LLM_CASSETTE_RECORD_MODE")
    pytester.runpytest().assert_outcomes(passed=2)
    result = pytester.run(sys.executable, "-m", "unittest", "-v", "test_unit")
    assert result.ret == 0, result.stderr.str()
    result.stderr.fnmatch_lines(["Ran 2 tests*", "OK"])
    assert fake_env.request_count == 2, "a replay run reached the fake server"


def test_unittest_replay_without_cassette_fails(pytester: pytest.Pytester, fake_env: FakeServer) -> None:
    # The negative control for the test above: with no cassette, replay refuses instead of calling out.
    write(pytester, "test_unit", UNITTEST)
    result = pytester.run(sys.executable, "-m", "unittest", "test_unit")
    assert result.ret != 0
    assert "no recorded interaction matches this request" in result.stderr.str()
    assert fake_env.request_count == 0


# --- a plain script -----------------------------------------------------------------------------

SCRIPT = """
import asyncio
import sys

from llm_cassette import use_cassette

MODE = sys.argv[1]


async def main_async():
    async with use_cassette("recorded/script_async.yaml", record_mode=MODE) as cassette, async_client() as client:
        reply = await client.chat.completions.create(model="gpt-4o-mini", messages=user("script async"))
    print(reply.choices[0].message.content, cassette.recorded_count, cassette.play_count)


with use_cassette("recorded/script.yaml", record_mode=MODE) as cassette, sync_client() as client:
    reply = client.chat.completions.create(model="gpt-4o-mini", messages=user("script sync"))
    stream = client.chat.completions.create(model="gpt-4o-mini", messages=user("script stream"), stream=True)
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
print(reply.choices[0].message.content, "|", text, cassette.recorded_count, cassette.play_count)
asyncio.run(main_async())
"""


def test_plain_script(pytester: pytest.Pytester, fake_env: FakeServer) -> None:
    script = pytester.makepyfile(script=HEADER + textwrap.dedent(SCRIPT).replace("import pytest\n", ""))

    recorded = pytester.run(sys.executable, str(script), "once")
    assert recorded.ret == 0, recorded.stderr.str()
    assert recorded.outlines == ["Echo: script sync | Echo: script stream 2 0", "Echo: script async 1 0"]
    assert fake_env.request_count == 3

    replayed = pytester.run(sys.executable, str(script), "none")
    assert replayed.ret == 0, replayed.stderr.str()
    assert replayed.outlines == ["Echo: script sync | Echo: script stream 0 2", "Echo: script async 0 1"]
    assert fake_env.request_count == 3, "the replay run reached the fake server"
