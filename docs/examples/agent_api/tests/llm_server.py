"""Where the tests' model lives, and whether this run records (then the model must be reachable)."""

from __future__ import annotations

import os
import socket

import pytest

from llm_cassette import RecordMode
from llm_cassette.plugin import record_mode

# The model's base URL is written into every cassette and compared on replay, so it must not change
# between recording and replaying: a fixed local port, not a free one picked per run.
LLM_PORT = int(os.environ.get("AGENT_API_LLM_PORT", "8765"))
LLM_BASE_URL = f"http://127.0.0.1:{LLM_PORT}/v1"


def is_recording(config: pytest.Config) -> bool:
    """Whether this run may record cassettes (`--record`, `--llm-record-mode`, `LLM_CASSETTE_RECORD_MODE`)."""
    mode = record_mode(config)
    return mode is not None and mode is not RecordMode.NONE


def accepts_connections(port: int) -> bool:
    """Whether something already listens on 127.0.0.1:`port`."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False
