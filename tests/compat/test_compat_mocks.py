"""Beside respx and pytest-httpx: they mock other hosts while the cassette records the model calls.

Both mock libraries patch `httpx` only; the SDKs send through `httpx2`, which they never see.
So each test also sends a raw `httpx` request to the fake server, to prove the cassette and the
mock library's patches stack in a working order: mocked hosts answered by the mock (and never
written to the cassette), the model server recorded once and replayed from the cassette.

Where respx sits matters. `respx.mock(using="httpx")` patches the httpx client, above the
cassette: it sees every request in both runs. Its default mocker patches httpcore, below the
cassette: the cassette must be told to leave the mocked host alone (`ignore_hosts`), and a
pass-through route to the model server is only reached while recording.
"""

from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest

from helpers import OPENAI_KEY

WEATHER_URL = "https://api.example.test/v1/weather"


def model_calls(server: Any) -> tuple[str, str]:
    """One raw httpx call and one SDK (httpx2) call to the fake server."""
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "raw httpx"}]}
    with httpx.Client() as client:
        raw = client.post(f"{server.base_url_openai}/chat/completions", json=body).json()
    with openai.OpenAI(base_url=server.base_url_openai, api_key=OPENAI_KEY, max_retries=0) as sdk:
        reply = sdk.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "sdk"}])
    return raw["choices"][0]["message"]["content"], reply.choices[0].message.content or ""


def weather() -> Any:
    with httpx.Client() as client:
        return client.get(WEATHER_URL).json()


# --- respx -------------------------------------------------------------------------------------


def test_respx_using_httpx_mocker(roundtrip: Any) -> None:
    respx = pytest.importorskip("respx")
    calls: list[int] = []

    def call() -> Any:
        with respx.mock(using="httpx", assert_all_called=True, assert_all_mocked=True) as router:
            route = router.get(WEATHER_URL).respond(json={"temp": 3})
            passed = router.route(host="127.0.0.1").pass_through()
            result = weather(), model_calls(roundtrip.server)
        calls.append(route.call_count)
        assert passed.call_count == 1  # the raw httpx call, in both runs
        return result

    result = roundtrip.run(call)
    assert result.value == ({"temp": 3}, ("Echo: raw httpx", "Echo: sdk"))
    assert calls == [1, 1]
    assert all(url.startswith(roundtrip.server.url) for url in result.urls)
    assert len(result.urls) == 2


def test_respx_default_mocker_with_ignore_hosts(roundtrip: Any) -> None:
    respx = pytest.importorskip("respx")
    calls: list[int] = []

    def call() -> Any:
        # assert_all_called=False: the pass-through route is only reached while recording.
        with respx.mock(assert_all_mocked=False, assert_all_called=False) as router:
            route = router.get(WEATHER_URL).respond(json={"temp": 3})
            router.route(host="127.0.0.1").pass_through()
            result = weather(), model_calls(roundtrip.server)
        calls.append(route.call_count)
        return result

    result = roundtrip.run(call, ignore_hosts=["api.example.test"])
    assert result.value == ({"temp": 3}, ("Echo: raw httpx", "Echo: sdk"))
    assert calls == [1, 1]  # the mock answered in both runs, never the cassette
    assert len(result.urls) == 2
    assert all(url.startswith(roundtrip.server.url) for url in result.urls)


# --- pytest-httpx -------------------------------------------------------------------------------


@pytest.mark.httpx_mock(should_mock=lambda request: request.url.host != "127.0.0.1")
def test_pytest_httpx(roundtrip: Any, httpx_mock: Any) -> None:
    httpx_mock.add_response(url=WEATHER_URL, json={"temp": 3}, is_reusable=True)

    result = roundtrip.run(lambda: (weather(), model_calls(roundtrip.server)))

    assert result.value == ({"temp": 3}, ("Echo: raw httpx", "Echo: sdk"))
    assert [str(r.url) for r in httpx_mock.get_requests()] == [WEATHER_URL, WEATHER_URL]
    assert len(result.urls) == 2
    assert all(url.startswith(roundtrip.server.url) for url in result.urls)


# --- the marker, the fixtures and both mock libraries in one inner run --------------------------

INNER_TEST = """
import os

import httpx
import openai
import pytest
import respx

URL = os.environ["FAKE_LLM_URL"]


def ask(text):
    messages = [{"role": "user", "content": text}]
    with httpx.Client() as client:
        raw = client.post(URL + "/v1/chat/completions", json={"model": "m", "messages": messages})
    with openai.OpenAI(base_url=URL + "/v1", api_key="sk-fake-inner-0000", max_retries=0) as sdk:
        reply = sdk.chat.completions.create(model="m", messages=messages)
    return raw.json()["choices"][0]["message"]["content"], reply.choices[0].message.content


@pytest.mark.llm_cassette
@pytest.mark.httpx_mock(should_mock=lambda request: request.url.host != "127.0.0.1")
def test_with_pytest_httpx(httpx_mock, llm_cassette):
    httpx_mock.add_response(url="https://api.example.test/ping", text="pong")
    with httpx.Client() as client:
        assert client.get("https://api.example.test/ping").text == "pong"
    assert ask("alpha") == ("Echo: alpha", "Echo: alpha")
    assert [r.json()["messages"][0]["content"] for r in llm_cassette.requests] == ["alpha", "alpha"]


@pytest.mark.llm_cassette
@respx.mock(using="httpx", assert_all_called=True)
def test_with_respx(respx_mock, llm_cassette):
    route = respx_mock.get("https://api.example.test/ping").respond(text="pong")
    respx_mock.route(host="127.0.0.1").pass_through()
    with httpx.Client() as client:
        assert client.get("https://api.example.test/ping").text == "pong"
    assert route.called
    assert ask("beta") == ("Echo: beta", "Echo: beta")
    assert [r.json()["messages"][0]["content"] for r in llm_cassette.requests] == ["beta", "beta"]
"""


def test_marker_beside_both_mock_libraries(pytester: pytest.Pytester, fake_env: Any) -> None:
    pytest.importorskip("respx")
    pytester.makepyfile(test_inner=INNER_TEST)

    pytester.runpytest("--llm-record-mode=once").assert_outcomes(passed=2)
    recorded = fake_env.request_count
    assert recorded == 4
    cassettes = sorted(p.name for p in (pytester.path / "cassettes" / "test_inner").iterdir())
    assert cassettes == ["test_with_pytest_httpx.yaml", "test_with_respx.yaml"]
    for name in cassettes:
        text = (pytester.path / "cassettes" / "test_inner" / name).read_text()
        assert "api.example.test" not in text  # mocked traffic stays out of the cassette

    pytester.runpytest().assert_outcomes(passed=2)
    assert fake_env.request_count == recorded
