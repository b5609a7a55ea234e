"""What many tests share: obviously fake provider keys, small client builders, record-then-replay.

`tests/` is not a package (a `tests` package may already exist where the suite runs), so test
modules here and in `tests/compat/` import this file as `helpers`: pytest puts `tests/` on
`sys.path` when it loads `tests/conftest.py`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

import anthropic
import openai

from llm_cassette import Cassette, load, use_cassette
from llm_cassette.fake_server import FakeServer

T = TypeVar("T")

#: Obviously fake keys: never a real credential anywhere in the suite.
#: The first line of a child that the test stops with SIGINT: a child started from a shell's
#: background job inherits SIGINT ignored, and Python then never raises KeyboardInterrupt in it.
TAKES_CTRL_C = "import signal; signal.signal(signal.SIGINT, signal.default_int_handler)\n"
#: `python -m pytest` as a child that takes Ctrl-C (see `TAKES_CTRL_C`).
PYTEST_TAKING_CTRL_C = [
    "-c",
    TAKES_CTRL_C + "import runpy; runpy.run_module('pytest', alter_sys=True, run_name='__main__')",
]

OPENAI_KEY = "sk-fake-openai-key-for-tests-0000"
ANTHROPIC_KEY = "sk-ant-fake-anthropic-key-for-tests-0000"


def user(text: str) -> list[Any]:
    """A one-message conversation: the user says `text`."""
    return [{"role": "user", "content": text}]


def openai_client(server: FakeServer, **options: Any) -> openai.OpenAI:
    """An OpenAI client on the fake server; no retries unless `max_retries` says so."""
    options.setdefault("max_retries", 0)
    return openai.OpenAI(base_url=server.base_url_openai, api_key=OPENAI_KEY, **options)


def async_openai_client(server: FakeServer, **options: Any) -> openai.AsyncOpenAI:
    """`openai_client`, async."""
    options.setdefault("max_retries", 0)
    return openai.AsyncOpenAI(base_url=server.base_url_openai, api_key=OPENAI_KEY, **options)


def anthropic_client(server: FakeServer, **options: Any) -> anthropic.Anthropic:
    """An Anthropic client on the fake server; no retries unless `max_retries` says so."""
    options.setdefault("max_retries", 0)
    return anthropic.Anthropic(base_url=server.base_url_anthropic, api_key=ANTHROPIC_KEY, **options)


def async_anthropic_client(server: FakeServer, **options: Any) -> anthropic.AsyncAnthropic:
    """`anthropic_client`, async."""
    options.setdefault("max_retries", 0)
    return anthropic.AsyncAnthropic(base_url=server.base_url_anthropic, api_key=ANTHROPIC_KEY, **options)


@dataclass
class RecordReplay(Generic[T]):
    """Both runs of `call` against one cassette: recording (`once`), then replaying (`none`)."""

    recorded: T
    recording: Cassette
    replayed: T
    replay: Cassette


def record_then_replay(path: Path, call: Callable[[], T], **options: Any) -> RecordReplay[T]:
    """Run `call()` recording into `path`, then again replaying it; checks nothing itself."""
    with use_cassette(path, record_mode="once", **options) as recording:
        recorded = call()
    with use_cassette(path, record_mode="none", **options) as replay:
        replayed = call()
    return RecordReplay(recorded, recording, replayed, replay)


async def arecord_then_replay(path: Path, call: Callable[[], Awaitable[T]], **options: Any) -> RecordReplay[T]:
    """`record_then_replay` for a coroutine function."""
    async with use_cassette(path, record_mode="once", **options) as recording:
        recorded = await call()
    async with use_cassette(path, record_mode="none", **options) as replay:
        replayed = await call()
    return RecordReplay(recorded, recording, replayed, replay)


# --- the checked round trip of the compatibility suite (fixture `roundtrip` in tests/compat) -----


@dataclass
class Result:
    """What both runs of a round trip saw."""

    value: Any
    recording: Cassette
    replay: Cassette
    path: Path

    @property
    def urls(self) -> list[str]:
        """The URLs of the interactions the cassette on disk holds, in order."""
        return [it.request.url for it in load(self.path).interactions]


@dataclass
class Roundtrip:
    """Record a client's calls against the fake server, replay them offline, check both runs agree."""

    server: FakeServer
    folder: Path

    def _path(self, name: str) -> Path:
        return self.folder / f"{name}.yaml"

    def _check(self, name: str, recorded: Any, rec: Cassette, sent: int, replayed: Any, play: Cassette) -> Result:
        path = self._path(name)
        assert rec.recorded_count >= 1, "the recording run recorded nothing"
        assert path.exists()
        to_server = [it for it in load(path).interactions if it.request.url.startswith(self.server.url)]
        assert len(to_server) == sent, "the cassette does not hold every request the server answered"
        assert self.server.request_count == sent, "the replay run reached the fake server"
        assert play.play_count == rec.recorded_count, "the replay did not play every recorded interaction"
        assert not play.unused_interactions
        assert replayed == recorded
        return Result(recorded, rec, play, path)

    def run(self, call: Callable[[], T], name: str = "cassette", **options: Any) -> Result:
        """Record `call()` into a new cassette, replay it, and check both runs agree."""
        path = self._path(name)
        assert not path.exists()
        with use_cassette(path, record_mode="once", **options) as rec:
            recorded = call()
        sent = self.server.request_count
        with use_cassette(path, record_mode="none", **options) as play:
            replayed = call()
        return self._check(name, recorded, rec, sent, replayed, play)

    async def arun(self, call: Callable[[], Awaitable[T]], name: str = "cassette", **options: Any) -> Result:
        """`run` for a coroutine function."""
        path = self._path(name)
        assert not path.exists()
        async with use_cassette(path, record_mode="once", **options) as rec:
            recorded = await call()
        sent = self.server.request_count
        async with use_cassette(path, record_mode="none", **options) as play:
            replayed = await call()
        return self._check(name, recorded, rec, sent, replayed, play)
