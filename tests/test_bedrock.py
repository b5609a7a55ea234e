"""AWS Bedrock through boto3 (botocore sends through urllib3): `converse` and `converse_stream`
recorded and replayed against a local stub of the bedrock-runtime wire format; eventstream
frames replayed byte for byte; SigV4 headers redacted and never matched."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bedrock_stub import BedrockStub, iter_frames
from llm_cassette import load, use_cassette

boto3 = pytest.importorskip("boto3")
botocore_config = pytest.importorskip("botocore.config")

MODEL = "anthropic.claude-3-haiku-20240307-v1:0"
FAKE_ACCESS_KEY = "AKIAFAKEFAKEFAKE0000"
FAKE_SECRET = "fake-secret-access-key-for-tests-0000"
FAKE_TOKEN = "fake-session-token-for-tests-0000"


@pytest.fixture(scope="module")
def stub() -> Iterator[BedrockStub]:
    with BedrockStub() as server:
        yield server


def client(stub: BedrockStub, *, secret: str = FAKE_SECRET, token: str = FAKE_TOKEN) -> Any:
    return boto3.client(
        "bedrock-runtime",
        region_name="us-east-1",
        endpoint_url=stub.url,
        aws_access_key_id=FAKE_ACCESS_KEY,
        aws_secret_access_key=secret,
        aws_session_token=token,
        # No retries: botocore's back-off sleeps are real (up to seconds) in replay too.
        config=botocore_config.Config(retries={"total_max_attempts": 1}),
    )


def messages(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": [{"text": text}]}]


def test_converse(stub: BedrockStub, tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    with use_cassette(path, record_mode="once"):
        recorded = client(stub).converse(modelId=MODEL, messages=messages("capital of France?"))
    sent = len(stub.requests)
    # Other credentials, another signature and date: SigV4 headers are never part of matching.
    with use_cassette(path) as play:
        replayed = client(stub, secret="another-fake-secret", token="another-token").converse(
            modelId=MODEL, messages=messages("capital of France?")
        )
    assert len(stub.requests) == sent and play.play_count == 1
    assert (
        replayed["output"]
        == recorded["output"]
        == {"message": {"role": "assistant", "content": [{"text": "Echo: capital of France?"}]}}
    )
    assert replayed["usage"] == recorded["usage"]
    text = path.read_text(encoding="utf-8")
    for secret in (FAKE_SECRET, FAKE_TOKEN, "Signature="):
        assert secret not in text
    request = load(path).interactions[0].request
    headers = dict(request.headers)
    for name in ("authorization", "x-amz-date", "x-amz-security-token"):
        assert headers[name] == "REDACTED", name


def test_converse_stream_replays_every_frame_byte_for_byte(stub: BedrockStub, tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"

    def call() -> list[dict[str, Any]]:
        reply = client(stub).converse_stream(modelId=MODEL, messages=messages("one two three"))
        return list(reply["stream"])

    with use_cassette(path, record_mode="once"):
        recorded = call()
    frames_sent = stub.last_frames
    sent = len(stub.requests)
    with use_cassette(path):
        replayed = call()
    assert len(stub.requests) == sent
    assert replayed == recorded
    assert [e for e in recorded if "contentBlockDelta" in e][-1]["contentBlockDelta"]["delta"]["text"] == " three"
    response = load(path).interactions[0].response
    assert response is not None and response.chunks is not None
    stored = b"".join(c.data for c in response.chunks)
    assert list(iter_frames(stored)) == frames_sent  # the same frames, CRCs included
    assert response.cut is False


def test_a_throttled_call_replays_as_the_same_client_error(stub: BedrockStub, tmp_path: Path) -> None:
    from botocore.exceptions import ClientError

    path = tmp_path / "c.yaml"
    for mode in ("once", "none"):
        stub.throttle_next = 1
        with use_cassette(path, record_mode=mode), pytest.raises(ClientError) as info:
            client(stub).converse(modelId=MODEL, messages=messages("throttled"))
        assert info.value.response["Error"]["Code"] == "ThrottlingException"
        assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    stub.throttle_next = 0
    assert [it.response.status for it in load(path).interactions if it.response] == [429]


def test_a_replay_needs_no_aws_credentials_or_config(
    stub: BedrockStub, tmp_path: Path, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Recorded with credentials; replayed by a marked test on a machine with no AWS set-up at all:
    # no AWS_* variables, no ~/.aws, no instance metadata. The plugin gives it placeholders.
    cassette = pytester.path / "cassettes" / "test_no_aws" / "test_converse.yaml"
    with use_cassette(cassette, record_mode="once"):
        recorded = client(stub).converse(modelId=MODEL, messages=messages("no credentials here"))
    sent = len(stub.requests)
    for name in [v for v in os.environ if v.startswith("AWS_")]:
        monkeypatch.delenv(name)
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("HOME", str(empty))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    pytester.makepyfile(
        test_no_aws=f"""
        import os
        import boto3
        import pytest

        @pytest.mark.llm_cassette
        def test_converse():
            bedrock = boto3.client("bedrock-runtime", region_name="us-east-1", endpoint_url={stub.url!r})
            reply = bedrock.converse(
                modelId={MODEL!r}, messages=[{{"role": "user", "content": [{{"text": "no credentials here"}}]}}]
            )
            assert reply["output"] == {recorded["output"]!r}
            assert os.environ["AWS_ACCESS_KEY_ID"].startswith("AKIALLMCASSETTE")

        def test_restored_after():
            assert "AWS_ACCESS_KEY_ID" not in os.environ
        """
    )
    result = pytester.runpytest_inprocess("-p", "no:randomly")
    result.assert_outcomes(passed=2)
    assert len(stub.requests) == sent
    assert "AWS_ACCESS_KEY_ID" not in os.environ
