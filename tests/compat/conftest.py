"""The record-then-replay round trip every client compatibility test goes through.

A test hands `roundtrip` a function that drives one client against the fake server and returns
what the caller saw, as plain data. The function runs twice: once recording a fresh cassette
(`once`), once replaying it (`none`). The replay must send nothing to the server and give back
exactly what the recording run saw.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

from llm_cassette import Session, load, use_cassette
from llm_cassette.fake_server import FakeServer

T = TypeVar("T")


@dataclass
class Result:
    """What both runs of a round trip saw."""

    value: Any
    recording: Session
    replay: Session
    path: Path

    @property
    def urls(self) -> list[str]:
        """The URLs of the interactions the cassette on disk holds, in order."""
        return [it.request.url for it in load(self.path).interactions]


@dataclass
class Roundtrip:
    server: FakeServer
    folder: Path

    def _path(self, name: str) -> Path:
        return self.folder / f"{name}.yaml"

    def _check(self, name: str, recorded: Any, rec: Session, sent: int, replayed: Any, play: Session) -> Result:
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


@pytest.fixture
def roundtrip(fake_server: FakeServer, tmp_path: Path) -> Roundtrip:
    """Record a client's calls against the fake server, then replay them offline and compare."""
    return Roundtrip(fake_server, tmp_path)
