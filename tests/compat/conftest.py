"""The record-then-replay round trip every client compatibility test goes through.

A test hands `roundtrip` a function that drives one client against the fake server and returns
what the caller saw, as plain data. The function runs twice: once recording a fresh cassette
(`once`), once replaying it (`none`). The replay must send nothing to the server and give back
exactly what the recording run saw. The helper itself lives in `tests/helpers.py`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from counting_listener import CountingListener
from helpers import Roundtrip
from llm_cassette.fake_server import FakeServer


@pytest.fixture
def roundtrip(fake_server: FakeServer, tmp_path: Path) -> Roundtrip:
    """Record a client's calls against the fake server, then replay them offline and compare."""
    return Roundtrip(fake_server, tmp_path)


@pytest.fixture
def listener(fake_server: FakeServer) -> Iterator[CountingListener]:
    """A connection-counting listener in front of the fake server (see `counting_listener`)."""
    with CountingListener(fake_server.port) as counting:
        yield counting
