"""`requests`, `urllib.request` and boto3 Bedrock: recorded and replayed through urllib3, or refused.

Each replay runs under `LLM_CASSETTE_BLOCK_NETWORK=1` (loopback is only guarded then) with the
upstream still listening behind a connection-counting listener: it must accept zero connections.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bedrock_stub import BedrockStub
from counting_listener import CountingListener, record_then_replay_offline
from llm_cassette import load, use_cassette
from llm_cassette.errors import NetworkBlocked


def chat(text: str, *, stream: bool = False) -> dict[str, Any]:
    return {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}], "stream": stream}


def test_requests_plain(listener: CountingListener, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    requests = pytest.importorskip("requests")
    url = f"{listener.url}/v1/chat/completions"

    def call() -> Any:
        reply = requests.post(url, json=chat("plain requests"), timeout=10)
        return reply.status_code, reply.json()

    recorded, replayed = record_then_replay_offline(listener, tmp_path / "c.yaml", call, monkeypatch)
    assert replayed == recorded
    assert recorded[1]["choices"][0]["message"]["content"] == "Echo: plain requests"


def test_requests_streamed(listener: CountingListener, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    requests = pytest.importorskip("requests")
    url = f"{listener.url}/v1/chat/completions"

    def call() -> Any:
        with requests.post(url, json=chat("streamed requests", stream=True), stream=True, timeout=10) as r:
            return list(r.iter_lines())

    recorded, replayed = record_then_replay_offline(listener, tmp_path / "c.yaml", call, monkeypatch)
    assert replayed == recorded
    assert [line for line in recorded if line][-1] == b"data: [DONE]"


def test_urllib_request_is_refused(listener: CountingListener, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("version: 1\ninteractions: []\n", encoding="utf-8")
    monkeypatch.setenv("LLM_CASSETTE_BLOCK_NETWORK", "1")
    with pytest.raises(NetworkBlocked) as info, use_cassette(path):
        urllib.request.urlopen(f"{listener.url}/v1/models", timeout=10)
    assert listener.connections == 0
    message = str(info.value)
    assert f"connection to 127.0.0.1:{listener.port} refused by the network guard" in message
    assert "library:  urllib.request" in message
    assert "--llm-allow-localhost" in message


@pytest.fixture(scope="module")
def bedrock() -> Iterator[BedrockStub]:
    with BedrockStub() as stub:
        yield stub


def bedrock_client(url: str) -> Any:
    boto3 = pytest.importorskip("boto3")
    from botocore.config import Config

    return boto3.client(
        "bedrock-runtime",
        region_name="us-east-1",
        endpoint_url=url,
        aws_access_key_id="AKIAFAKEFAKEFAKE0000",
        aws_secret_access_key="fake-secret-for-tests",
        config=Config(retries={"total_max_attempts": 1}),
    )


def test_bedrock_converse(bedrock: BedrockStub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with CountingListener(bedrock.port) as counting:

        def call() -> Any:
            reply = bedrock_client(counting.url).converse(
                modelId="amazon.nova-lite-v1:0", messages=[{"role": "user", "content": [{"text": "hi"}]}]
            )
            return reply["output"], reply["stopReason"], reply["usage"]

        recorded, replayed = record_then_replay_offline(counting, tmp_path / "c.yaml", call, monkeypatch)
    assert replayed == recorded
    assert recorded[0]["message"]["content"] == [{"text": "Echo: hi"}]


def test_bedrock_converse_stream(bedrock: BedrockStub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with CountingListener(bedrock.port) as counting:

        def call() -> Any:
            reply = bedrock_client(counting.url).converse_stream(
                modelId="amazon.nova-lite-v1:0", messages=[{"role": "user", "content": [{"text": "hi there"}]}]
            )
            return list(reply["stream"])

        recorded, replayed = record_then_replay_offline(counting, tmp_path / "c.yaml", call, monkeypatch)
    assert replayed == recorded
    assert [next(iter(e)) for e in recorded][:2] == ["messageStart", "contentBlockDelta"]
    response = load(tmp_path / "c.yaml").interactions[0].response
    assert response is not None and response.chunks is not None and len(response.chunks) == len(recorded)
