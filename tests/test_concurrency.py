"""Concurrency: many requests in flight at once are recorded as separate interactions and replayed to
the caller that sent them; each context sees its own cassette; threads that did not inherit the
context still use the active one.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import openai
import pytest

from helpers import OPENAI_KEY, openai_client, user
from llm_cassette import Interaction, load, use_cassette
from llm_cassette.fake_server import FakeServer


def prompt_of(it: Interaction) -> str:
    body: Any = it.request.json()
    return str(body["messages"][-1]["content"])


def streamed_text(it: Interaction) -> str:
    """The assistant text of a recorded OpenAI stream, joined from its SSE events."""
    import json

    assert it.response is not None
    text = ""
    for line in it.response.content.decode().splitlines():
        if line.startswith("data: {"):
            event = json.loads(line[len("data: ") :])
            if event["choices"]:
                text += event["choices"][0]["delta"].get("content") or ""
    return text


def assert_each_interaction_answers_its_own_prompt(cassette: Path, prompts: list[str]) -> None:
    its = load(cassette).interactions
    assert sorted(prompt_of(it) for it in its) == sorted(prompts)
    for it in its:
        assert streamed_text(it) == f"Echo: {prompt_of(it)}"


# --- many streams at once --------------------------------------------------------------------------


async def gather_streams(server: FakeServer, prompts: list[str]) -> list[str]:
    async with openai.AsyncOpenAI(base_url=server.base_url_openai, api_key=OPENAI_KEY, max_retries=0) as client:

        async def ask(prompt: str) -> str:
            # A small gap between events keeps all the streams open at the same time.
            stream = await client.chat.completions.create(
                model="gpt-4o-mini+delay2", messages=user(prompt), stream=True
            )
            return "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])

        return list(await asyncio.gather(*(ask(p) for p in prompts)))


@pytest.mark.asyncio
async def test_fifty_concurrent_async_streams(tmp_path: Path, fake_server: FakeServer) -> None:
    cassette = tmp_path / "c.yaml"
    prompts = [f"question number {i}" for i in range(50)]
    expected = [f"Echo: {p}" for p in prompts]

    async with use_cassette(cassette, record_mode="once") as session:
        recorded = await gather_streams(fake_server, prompts)
    assert session.recorded_count == 50
    assert fake_server.request_count == 50

    # Replay in a different order: each reply still matches its own prompt.
    reordered = list(reversed(prompts))
    async with use_cassette(cassette, record_mode="none") as session:
        replayed = await gather_streams(fake_server, reordered)
    assert session.play_count == 50
    assert fake_server.request_count == 50

    assert recorded == expected
    assert replayed == [f"Echo: {p}" for p in reordered]
    assert_each_interaction_answers_its_own_prompt(cassette, prompts)


def test_eight_threads_share_one_sync_client(tmp_path: Path, fake_server: FakeServer) -> None:
    cassette = tmp_path / "c.yaml"
    prompts = [f"thread {t} asks {n}" for t in range(8) for n in range(3)]

    def run_threads() -> dict[str, str]:
        answers: dict[str, str] = {}
        with openai_client(fake_server) as client:

            def ask_all(thread: int) -> None:
                for prompt in prompts[thread * 3 : thread * 3 + 3]:
                    stream = client.chat.completions.create(
                        model="gpt-4o-mini+delay2", messages=user(prompt), stream=True
                    )
                    answers[prompt] = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)

            with ThreadPoolExecutor(max_workers=8) as pool:
                # Each thread runs in a copy of the caller's context, as `asyncio.to_thread` does.
                futures = [pool.submit(contextvars.copy_context().run, ask_all, t) for t in range(8)]
                for future in futures:
                    future.result()
        return answers

    with use_cassette(cassette, record_mode="once") as session:
        recorded = run_threads()
    assert session.recorded_count == 24
    assert fake_server.request_count == 24

    with use_cassette(cassette, record_mode="none") as session:
        replayed = run_threads()
    assert session.play_count == 24
    assert fake_server.request_count == 24

    assert recorded == replayed == {p: f"Echo: {p}" for p in prompts}
    assert_each_interaction_answers_its_own_prompt(cassette, prompts)


# --- one cassette per context --------------------------------------------------------------------


async def two_tasks_two_cassettes(server: FakeServer, tmp_path: Path, mode: str) -> dict[str, str]:
    entered = {"a": asyncio.Event(), "b": asyncio.Event()}

    async def task(name: str, other: str) -> str:
        async with use_cassette(tmp_path / f"{name}.yaml", record_mode=mode):
            entered[name].set()
            await entered[other].wait()  # both cassettes are active from here on
            async with openai.AsyncOpenAI(base_url=server.base_url_openai, api_key=OPENAI_KEY, max_retries=0) as client:
                stream = await client.chat.completions.create(
                    model="gpt-4o-mini+chunks8+delay5", messages=user(f"sent from task {name}"), stream=True
                )
                return "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])

    a, b = await asyncio.gather(task("a", "b"), task("b", "a"))
    return {"a": a, "b": b}


@pytest.mark.asyncio
async def test_concurrent_tasks_each_see_their_own_cassette(tmp_path: Path, fake_server: FakeServer) -> None:
    recorded = await two_tasks_two_cassettes(fake_server, tmp_path, "once")
    assert fake_server.request_count == 2
    for name in ("a", "b"):
        [it] = load(tmp_path / f"{name}.yaml").interactions
        assert prompt_of(it) == f"sent from task {name}"
        assert streamed_text(it) == recorded[name]

    replayed = await two_tasks_two_cassettes(fake_server, tmp_path, "none")
    assert fake_server.request_count == 2
    assert replayed == recorded
    assert recorded["a"].startswith("Echo: sent from task a")
    assert recorded["b"].startswith("Echo: sent from task b")


# --- threads that did not inherit the context -------------------------------------------------------


def ask_sync(server: FakeServer, prompt: str) -> str | None:
    with openai.OpenAI(base_url=server.base_url_openai, api_key=OPENAI_KEY, max_retries=0) as client:
        reply = client.chat.completions.create(model="gpt-4o-mini", messages=user(prompt))
    return reply.choices[0].message.content


def test_worker_without_the_context_uses_the_active_cassette(tmp_path: Path, fake_server: FakeServer) -> None:
    cassette = tmp_path / "c.yaml"

    def in_pool_with_a_blank_context() -> str | None:
        with ThreadPoolExecutor(max_workers=1) as pool:
            # An empty context: nothing of the caller's context reaches the worker.
            return pool.submit(contextvars.Context().run, ask_sync, fake_server, "from a worker").result()

    with use_cassette(cassette, record_mode="once") as session:
        recorded = in_pool_with_a_blank_context()
    assert session.recorded_count == 1
    assert fake_server.request_count == 1

    with use_cassette(cassette, record_mode="none") as session:
        replayed = in_pool_with_a_blank_context()
    assert session.play_count == 1
    assert fake_server.request_count == 1

    assert recorded == replayed == "Echo: from a worker"
    [it] = load(cassette).interactions
    assert prompt_of(it) == "from a worker"


@pytest.mark.asyncio
async def test_run_in_executor_uses_the_active_cassette(tmp_path: Path, fake_server: FakeServer) -> None:
    """`loop.run_in_executor` does not copy the context to its worker thread."""
    cassette = tmp_path / "c.yaml"
    loop = asyncio.get_running_loop()
    inherited: list[bool] = []
    marker: contextvars.ContextVar[bool] = contextvars.ContextVar("marker", default=False)
    marker.set(True)

    def work() -> str | None:
        inherited.append(marker.get())
        assert threading.current_thread() is not threading.main_thread()
        return ask_sync(fake_server, "from the default executor")

    async with use_cassette(cassette, record_mode="once"):
        recorded = await loop.run_in_executor(None, work)
    async with use_cassette(cassette, record_mode="none") as session:
        replayed = await loop.run_in_executor(None, work)

    assert inherited == [False, False]  # the worker really ran outside the caller's context
    assert session.play_count == 1
    assert fake_server.request_count == 1
    assert recorded == replayed == "Echo: from the default executor"
