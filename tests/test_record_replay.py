"""Record through every client, stop the server, replay: the contract's first promise.

Each test records against its own fake server, stops it, and replays with nothing listening; the
server's request counter proves the replay never reached it.
"""

from __future__ import annotations

import asyncio
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anthropic
import httpx
import httpx2
import openai
import pytest
import yaml
from fastapi import FastAPI
from starlette.testclient import TestClient

from llm_cassette import CassetteMiss, use_cassette
from llm_cassette.fake_server import FakeServer

KEY = "sk-fake-record-replay-key-000000"
ANT_KEY = "sk-ant-fake-record-replay-key-000000"
MESSAGES = [{"role": "user", "content": "Capital of France?"}]
PARIS = "The capital of France is Paris."


def openai_sync(url: str) -> str:
    with openai.OpenAI(base_url=url + "/v1", api_key=KEY, max_retries=0) as c:
        return c.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES).choices[0].message.content or ""


def openai_async(url: str) -> str:
    async def go() -> str:
        async with openai.AsyncOpenAI(base_url=url + "/v1", api_key=KEY, max_retries=0) as c:
            r = await c.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)  # type: ignore[arg-type]
            return r.choices[0].message.content or ""

    return asyncio.run(go())


def anthropic_sync(url: str) -> str:
    with anthropic.Anthropic(base_url=url, api_key=ANT_KEY, max_retries=0) as c:
        r = c.messages.create(model="claude-haiku-4-5", max_tokens=50, messages=MESSAGES)  # type: ignore[arg-type]
        return r.content[0].text  # type: ignore[union-attr]


def anthropic_async(url: str) -> str:
    async def go() -> str:
        async with anthropic.AsyncAnthropic(base_url=url, api_key=ANT_KEY, max_retries=0) as c:
            r = await c.messages.create(model="claude-haiku-4-5", max_tokens=50, messages=MESSAGES)  # type: ignore[arg-type]
            return r.content[0].text  # type: ignore[union-attr]

    return asyncio.run(go())


def raw_sync(stack: Any) -> Callable[[str], str]:
    def call(url: str) -> str:
        with stack.Client() as c:
            r = c.post(url + "/v1/chat/completions", json={"model": "gpt-4o-mini", "messages": MESSAGES},
                       headers={"authorization": f"Bearer {KEY}"})  # fmt: skip
            return str(r.json()["choices"][0]["message"]["content"])

    return call


def raw_async(stack: Any) -> Callable[[str], str]:
    def call(url: str) -> str:
        async def go() -> str:
            async with stack.AsyncClient() as c:
                r = await c.post(url + "/v1/chat/completions", json={"model": "gpt-4o-mini", "messages": MESSAGES})
                return str(r.json()["choices"][0]["message"]["content"])

        return asyncio.run(go())

    return call


CLIENTS = {
    "openai-sync": openai_sync,
    "openai-async": openai_async,
    "anthropic-sync": anthropic_sync,
    "anthropic-async": anthropic_async,
    "httpx-sync": raw_sync(httpx),
    "httpx-async": raw_async(httpx),
    "httpx2-sync": raw_sync(httpx2),
    "httpx2-async": raw_async(httpx2),
}


@pytest.mark.parametrize("client", CLIENTS.values(), ids=CLIENTS.keys())
def test_record_stop_the_server_replay(tmp_path: Path, client: Callable[[str], str]) -> None:
    cassette = tmp_path / "c.yaml"
    server = FakeServer().start()
    try:
        with use_cassette(cassette, record_mode="once") as session:
            recorded = client(server.url)
        assert server.request_count == 1
        assert session.recorded_count == 1
    finally:
        server.stop()
    assert "Paris" in recorded

    with use_cassette(cassette) as session:
        assert client(server.url) == recorded
    assert session.play_count == 1
    assert server.request_count == 1, "the replay reached the (stopped) server"


def test_without_a_cassette_traffic_passes_straight_through(fake_server: FakeServer) -> None:
    assert openai_sync(fake_server.url) == PARIS
    assert raw_sync(httpx)(fake_server.url) == PARIS
    assert fake_server.request_count == 2


def test_nested_and_sequential_cassettes(tmp_path: Path, fake_server: FakeServer) -> None:
    outer, inner = tmp_path / "outer.yaml", tmp_path / "inner.yaml"
    with use_cassette(outer, record_mode="once"):
        raw_sync(httpx)(fake_server.url)
        with use_cassette(inner, record_mode="once"):
            openai_sync(fake_server.url)
        raw_sync(httpx2)(fake_server.url)
    outer_doc = yaml.safe_load(outer.read_text())
    inner_doc = yaml.safe_load(inner.read_text())
    assert [i["request"]["url"] for i in outer_doc["interactions"]] == [fake_server.url + "/v1/chat/completions"] * 2
    assert inner_doc["interactions"][0]["request"]["url"].endswith("/v1/chat/completions")
    for _ in range(2):  # sequential replays of the same files
        with use_cassette(inner):
            assert openai_sync(fake_server.url) == PARIS
    assert fake_server.request_count == 3


def test_fastapi_app_under_test_only_its_upstream_call_is_recorded(tmp_path: Path, fake_server: FakeServer) -> None:
    app = FastAPI()

    @app.post("/ask")
    async def ask(payload: dict[str, str]) -> dict[str, str]:
        # A client per request: TestClient and asyncio.run below each run their own event loop.
        async with openai.AsyncOpenAI(base_url=fake_server.base_url_openai, api_key=KEY, max_retries=0) as llm:
            r = await llm.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": payload["q"]}]
            )
        return {"answer": r.choices[0].message.content or ""}

    async def via_asgi() -> str:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app") as c:
            return str((await c.post("/ask", json={"q": "via ASGITransport"})).json()["answer"])

    cassette = tmp_path / "app.yaml"
    for mode in ("once", "none"):
        with use_cassette(cassette, record_mode=mode):
            assert asyncio.run(via_asgi()) == "Echo: via ASGITransport"
            with TestClient(app) as tc:
                assert tc.post("/ask", json={"q": "via TestClient"}).json() == {"answer": "Echo: via TestClient"}
    doc = yaml.safe_load(cassette.read_text())
    urls = [i["request"]["url"] for i in doc["interactions"]]
    assert urls == [fake_server.base_url_openai + "/chat/completions"] * 2, "only the upstream calls"
    assert fake_server.request_count == 2


def test_module_level_client_created_at_import_time_is_intercepted(
    pytester: pytest.Pytester, fake_env: FakeServer
) -> None:
    pytester.makepyfile(
        llm_app=textwrap.dedent(
            """
            import os
            import httpx2
            import openai

            # Built at import time, long before any test or cassette exists.
            CLIENT = openai.OpenAI(base_url=os.environ["FAKE_LLM_URL"] + "/v1", api_key="sk-fake-module-level-00")
            HTTP = httpx2.Client(base_url=os.environ["FAKE_LLM_URL"])
            """
        ),
        test_module_level=textwrap.dedent(
            """
            import pytest
            from llm_app import CLIENT, HTTP

            @pytest.mark.llm_cassette
            def test_it():
                r = CLIENT.chat.completions.create(model="m", messages=[{"role": "user", "content": "module"}])
                assert r.choices[0].message.content == "Echo: module"
                assert HTTP.get("/v1/models").status_code == 200
                HTTP.close()
                CLIENT.close()
            """
        ),
    )
    pytester.runpytest("--record").assert_outcomes(passed=1)
    assert fake_env.request_count == 2
    pytester.runpytest().assert_outcomes(passed=1)
    assert fake_env.request_count == 2


def test_in_process_transports_are_never_recorded(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"mocked": True})

    def handler2(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, json={"mocked": True})

    cassette = tmp_path / "none.yaml"
    with use_cassette(cassette, record_mode="none"):  # any request reaching the session would miss
        with httpx.Client(transport=httpx.MockTransport(handler)) as c:
            assert c.get("https://api.example.test/").json() == {"mocked": True}
        with httpx2.Client(transport=httpx2.MockTransport(handler2)) as c:
            assert c.get("https://api.example.test/").json() == {"mocked": True}
        with httpx.Client(transport=httpx.WSGITransport(app=_wsgi_app)) as c:
            assert c.get("http://wsgi/").text == "wsgi"
    assert not cassette.exists()


def _wsgi_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    start_response("200 OK", [("content-type", "text/plain")])
    return [b"wsgi"]


def test_async_use_cassette_and_decorators(tmp_path: Path, fake_server: FakeServer) -> None:
    cassette = tmp_path / "deco.yaml"

    @use_cassette(cassette, record_mode="once")
    async def ask_async() -> str:
        async with httpx2.AsyncClient() as c:
            r = await c.post(fake_server.base_url_openai + "/chat/completions",
                             json={"model": "m", "messages": [{"role": "user", "content": "deco"}]})  # fmt: skip
            return str(r.json()["choices"][0]["message"]["content"])

    @use_cassette(cassette)
    def ask_sync() -> str:
        return raw_sync(httpx)(fake_server.url)

    assert asyncio.run(ask_async()) == "Echo: deco"
    assert asyncio.run(ask_async()) == "Echo: deco"  # the decorator opens a fresh session per call
    with pytest.raises(CassetteMiss, match=r"differs:  body\.messages"):
        ask_sync()
    assert fake_server.request_count == 1


def test_concurrent_tasks_see_their_own_cassettes(tmp_path: Path, fake_server: FakeServer) -> None:
    async def task(name: str) -> str:
        async with use_cassette(tmp_path / f"{name}.yaml", record_mode="once"):
            await asyncio.sleep(0.01)
            async with httpx.AsyncClient() as c:
                r = await c.post(fake_server.base_url_openai + "/chat/completions",
                                 json={"model": "m", "messages": [{"role": "user", "content": name}]})  # fmt: skip
            await asyncio.sleep(0.01)
            return str(r.json()["choices"][0]["message"]["content"])

    async def both() -> list[str]:
        return list(await asyncio.gather(task("alpha"), task("beta")))

    assert asyncio.run(both()) == ["Echo: alpha", "Echo: beta"]
    for name in ("alpha", "beta"):
        doc = yaml.safe_load((tmp_path / f"{name}.yaml").read_text())
        assert [i["request"]["body"]["json"]["messages"][0]["content"] for i in doc["interactions"]] == [name]
