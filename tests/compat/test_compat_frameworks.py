"""Frameworks on top of the SDKs: langchain-openai and litellm recorded then replayed; ollama skipped.

They are optional: a missing package skips its tests with the reason.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

from helpers import OPENAI_KEY

MODEL = "gpt-4o-mini"

# litellm's pydantic types warn once when first built; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:Item .* is using the `ReadOnly` qualifier:UserWarning")

# --- langchain-openai --------------------------------------------------------------------------


def chat_openai(server: Any) -> Any:
    langchain_openai = pytest.importorskip("langchain_openai")
    return langchain_openai.ChatOpenAI(model=MODEL, base_url=server.base_url_openai, api_key=OPENAI_KEY, max_retries=0)


def test_langchain_openai_invoke(roundtrip: Any) -> None:
    def call() -> Any:
        reply = chat_openai(roundtrip.server).invoke("Capital of France?")
        return reply.content, reply.response_metadata.get("token_usage")

    result = roundtrip.run(call)
    assert result.value[0] == "The capital of France is Paris."


def test_langchain_openai_stream(roundtrip: Any) -> None:
    def call() -> Any:
        return [chunk.content for chunk in chat_openai(roundtrip.server).stream("stream through langchain")]

    result = roundtrip.run(call)
    assert "".join(result.value) == "Echo: stream through langchain"
    assert len([p for p in result.value if p]) > 1
    response = result.recording.interactions[0].response
    assert response is not None and response.streamed


@pytest.mark.asyncio
async def test_langchain_openai_ainvoke(roundtrip: Any) -> None:
    async def call() -> Any:
        return (await chat_openai(roundtrip.server).ainvoke("hello langchain")).content

    result = await roundtrip.arun(call)
    assert result.value == "Echo: hello langchain"


# --- litellm ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def litellm() -> Iterator[ModuleType]:
    """litellm, imported without its start-up fetch of the model price map (no network here)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        try:
            module = importlib.import_module("litellm")
        except ImportError as exc:
            pytest.skip(f"litellm is not installed or does not import here: {exc}")
        yield module


def test_litellm_completion(roundtrip: Any, litellm: ModuleType) -> None:
    def call() -> Any:
        reply = litellm.completion(
            model=f"openai/{MODEL}",
            api_base=roundtrip.server.base_url_openai,
            api_key=OPENAI_KEY,
            messages=[{"role": "user", "content": "Capital of France?"}],
        )
        return reply.choices[0].message.content, reply.usage.total_tokens

    result = roundtrip.run(call)
    assert result.value[0] == "The capital of France is Paris."


async def litellm_acompletion_and_stream(litellm: ModuleType, server: Any) -> Any:
    common: Any = {"model": f"openai/{MODEL}", "api_base": server.base_url_openai, "api_key": OPENAI_KEY}
    reply = await litellm.acompletion(messages=[{"role": "user", "content": "hello litellm"}], **common)
    stream = await litellm.acompletion(messages=[{"role": "user", "content": "async stream"}], stream=True, **common)
    return reply.choices[0].message.content, [chunk.choices[0].delta.content async for chunk in stream]


@pytest.mark.asyncio
async def test_litellm_acompletion(roundtrip: Any, litellm: ModuleType) -> None:
    result = await roundtrip.arun(lambda: litellm_acompletion_and_stream(litellm, roundtrip.server))
    assert result.value[0] == "Echo: hello litellm"
    assert "".join(p or "" for p in result.value[1]) == "Echo: async stream"


@pytest.mark.asyncio
async def test_litellm_acompletion_over_httpx(
    roundtrip: Any, litellm: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    # litellm's own switch back to plain httpx transports.
    monkeypatch.setattr(litellm, "disable_aiohttp_transport", True)
    result = await roundtrip.arun(lambda: litellm_acompletion_and_stream(litellm, roundtrip.server))
    assert result.value[0] == "Echo: hello litellm"
    assert "".join(p or "" for p in result.value[1]) == "Echo: async stream"


def test_litellm_completion_stream(roundtrip: Any, litellm: ModuleType) -> None:
    def call() -> Any:
        stream = litellm.completion(
            model=f"openai/{MODEL}",
            api_base=roundtrip.server.base_url_openai,
            api_key=OPENAI_KEY,
            messages=[{"role": "user", "content": "stream through litellm"}],
            stream=True,
        )
        return [chunk.choices[0].delta.content for chunk in stream]

    result = roundtrip.run(call)
    assert "".join(p or "" for p in result.value) == "Echo: stream through litellm"


# --- ollama -------------------------------------------------------------------------------------


def test_ollama_chat() -> None:
    pytest.importorskip("ollama")
    pytest.skip("fake server has no Ollama-compatible route")
