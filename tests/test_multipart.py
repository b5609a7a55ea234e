"""Multipart uploads replay: bodies are matched by their parts, never by the random boundary."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from llm_cassette import CassetteMiss, use_cassette
from raw_upstream import RawUpstream


@pytest.fixture(scope="module")
def upstream() -> Iterator[RawUpstream]:
    with RawUpstream() as server:
        yield server


def upload(upstream: RawUpstream, content: bytes = b"hello", purpose: str = "assistants") -> httpx.Response:
    with httpx.Client() as client:
        return client.post(
            upstream.url + "/v1/files",
            files={"file": ("notes.txt", content, "text/plain")},
            data={"purpose": purpose},
        )


def test_httpx_files_upload_replays(tmp_path: Path, upstream: RawUpstream) -> None:
    cassette = tmp_path / "upload.yaml"
    with use_cassette(cassette, record_mode="all"):
        recorded = upload(upstream)
    sent = len(upstream.bodies)
    with use_cassette(cassette) as replay:
        replayed = upload(upstream)  # a new random boundary
    assert replay.play_count == 1 and len(upstream.bodies) == sent
    assert replayed.json() == recorded.json()


def test_openai_files_create_and_audio_transcription_replay(tmp_path: Path, upstream: RawUpstream) -> None:
    def calls() -> tuple[str, str]:
        client = openai.OpenAI(base_url=upstream.url + "/v1", api_key="sk-fake-multipart-0000", max_retries=0)
        uploaded = client.files.create(file=("notes.txt", io.BytesIO(b"hello")), purpose="assistants")
        audio = ("speech.wav", io.BytesIO(b"RIFF\x00\x01\x02\x03WAVEfmt binary\xff\xfe"), "audio/wav")
        text = client.audio.transcriptions.create(model="whisper-1", file=audio)
        client.close()
        return uploaded.id, text.text

    cassette = tmp_path / "sdk.yaml"
    with use_cassette(cassette, record_mode="all"):
        recorded = calls()
    sent = len(upstream.bodies)
    with use_cassette(cassette) as replay:
        assert calls() == recorded == ("file-abc123", "hello from the recording")
    assert replay.play_count == 2 and len(upstream.bodies) == sent


def test_a_different_upload_is_a_miss_that_names_the_parts(tmp_path: Path, upstream: RawUpstream) -> None:
    cassette = tmp_path / "upload.yaml"
    with use_cassette(cassette, record_mode="all"):
        upload(upstream)
    with pytest.raises(CassetteMiss) as miss, use_cassette(cassette):
        upload(upstream, content=b"hellp", purpose="fine-tune")
    message = str(miss.value)
    assert "differs:  body part 'purpose': content: sent 9 bytes 'fine-tune', recorded 10 bytes 'assistants'" in message
    assert "body part 'file' (file 'notes.txt'): content: sent 5 bytes 'hellp', recorded 5 bytes 'hello'" in message
    assert "boundary" not in message.split("closest:")[1]


def test_multipart_parts_match_in_any_order_and_ignore_body_fields_names_parts(
    tmp_path: Path, upstream: RawUpstream
) -> None:
    cassette = tmp_path / "upload.yaml"

    def send(data: dict[str, str]) -> None:
        with httpx.Client() as client:
            client.post(upstream.url + "/up", files={"file": ("a.bin", b"\x00\x01")}, data=data)

    with use_cassette(cassette, record_mode="all"):
        send({"a": "1", "b": "2", "nonce": "first"})
    with use_cassette(cassette, ignore_body_fields=["nonce"]) as replay:
        send({"b": "2", "a": "1", "nonce": "second"})
    assert replay.play_count == 1
