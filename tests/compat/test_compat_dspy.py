"""dspy against the fake server: its default engine (lm15, a socket-level HTTP client of its own)
is refused in replay by the network guard with an error that says what to do; `engine="litellm"`
sends through a recorded stack and is recorded, then replayed.

Both replays run under `LLM_CASSETTE_BLOCK_NETWORK=1` (loopback is only guarded then) with the
fake server still listening behind a connection-counting listener: it must accept zero connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from counting_listener import CountingListener, record_then_replay_offline
from llm_cassette import use_cassette
from llm_cassette.errors import NetworkBlocked

KEY = "sk-fake-dspy-key-for-tests-0000"


def _thread_loop() -> Any:
    """The event loop set as this thread's current one, if any (without creating one)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # event loop policies, Python 3.14
        return getattr(getattr(asyncio.get_event_loop_policy(), "_local", None), "_loop", None)


@pytest.fixture
def dspy(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    # dspy opens its disk cache at import, and litellm fetches its price map unless told not to.
    monkeypatch.setenv("DSPY_CACHEDIR", str(tmp_path_factory.mktemp("dspy-cache")))
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    before = _thread_loop()
    yield pytest.importorskip("dspy")
    # A sync call sets an event loop of its own as the thread's current one (asyncio.get_event_loop)
    # and never closes it: closed here, it cannot fail a later test when it is collected.
    left = _thread_loop()
    if left is not None and left is not before and not left.is_running():
        left.close()
        asyncio.set_event_loop(before)


def lm(dspy: Any, listener: CountingListener, **options: Any) -> Any:
    return dspy.LM("openai/gpt-4o-mini", api_base=f"{listener.url}/v1", api_key=KEY, cache=False, **options)


def test_default_engine_is_refused(
    dspy: Any, listener: CountingListener, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("version: 2\ninteractions: []\n", encoding="utf-8")
    monkeypatch.setenv("LLM_CASSETTE_BLOCK_NETWORK", "1")
    model = lm(dspy, listener)  # engine="auto": lm15 for an OpenAI chat model
    # An application catching every Exception does not hide the refusal.
    with pytest.raises(NetworkBlocked) as info, use_cassette(path), contextlib.suppress(Exception):
        model("Say hi")
    assert listener.connections == 0
    message = str(info.value)
    assert f"connection to 127.0.0.1:{listener.port} refused by the network guard" in message
    assert "library:  dspy (dspy._vendor.lm15." in message
    assert 'engine="litellm"' in message


def test_litellm_engine(dspy: Any, listener: CountingListener, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = lm(dspy, listener, engine="litellm")
    recorded, replayed = record_then_replay_offline(listener, tmp_path / "c.yaml", lambda: model("Say hi"), monkeypatch)
    assert replayed == recorded == ["Echo: Say hi"]
