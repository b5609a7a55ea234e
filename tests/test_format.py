"""The YAML format: readable bodies, byte-exact round trips, decoded compression, atomic saves."""

from __future__ import annotations

import gzip
import json
import os
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
import yaml

import llm_cassette
from llm_cassette import CassetteData, CassetteFormatError, Chunk, Interaction, Request, Response, storage, use_cassette
from llm_cassette.storage.fast_loader import Loader


def roundtrip(data: CassetteData) -> CassetteData:
    return storage.loads(storage.dumps(data))


def one(body: bytes = b"", resp_body: bytes = b"", **resp: object) -> CassetteData:
    return CassetteData(
        interactions=[
            Interaction(
                request=Request("POST", "https://api.example.test/v1/x", (("content-type", "application/json"),), body),
                response=Response(200, (("content-type", "application/json"),), body=resp_body, **resp),  # type: ignore[arg-type]
            )
        ]
    )


@pytest.mark.parametrize(
    "raw",
    [
        b'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"h\xc3\xa9"}]}',
        b'{"a": 1, "b": [1.5, null, true]}',
        b'{\n  "id": "chatcmpl-1",\n  "object": "chat.completion"\n}\n',
        b'{"e":"\\u00e9"}',
        b"[1,2,3]",
    ],
)
def test_json_bodies_are_structured_and_byte_exact(raw: bytes) -> None:
    data = one(raw, raw)
    text = storage.dumps(data)
    doc = yaml.safe_load(text)
    assert "json" in doc["interactions"][0]["request"]["body"], text
    assert "json" in doc["interactions"][0]["response"]["body"], text
    back = roundtrip(data)
    assert back.interactions[0].request.body == raw
    assert back.interactions[0].response is not None and back.interactions[0].response.body == raw


def test_json_that_no_style_reproduces_is_kept_as_text() -> None:
    raw = b'{"a":1,  "b":2}'  # irregular spacing
    doc = yaml.safe_load(storage.dumps(one(raw)))
    assert doc["interactions"][0]["request"]["body"] == {"text": raw.decode()}
    assert roundtrip(one(raw)).interactions[0].request.body == raw


def test_text_is_block_style_and_binary_is_base64() -> None:
    text = b"line one\nline two\n"
    binary = bytes(range(256))
    data = one(text, binary)
    dumped = storage.dumps(data)
    assert "text: |\n" in dumped
    assert "base64:" in dumped
    back = roundtrip(data).interactions[0]
    assert back.request.body == text and back.response is not None and back.response.body == binary


def test_chunks_errors_and_cut_round_trip() -> None:
    chunks = (Chunk(b'data: {"x":1}\n\n', 1.5), Chunk(b"data: [DONE]\n\n", 2.0), Chunk(b"\xff\x00", 3))
    data = one(b"", b"", chunks=chunks, error=llm_cassette.TransportFailure("ReadTimeout", "slow", 4.2))
    back = roundtrip(data).interactions[0].response
    assert back is not None and back.chunks == chunks and back.error is not None and back.error.type == "ReadTimeout"
    cut = roundtrip(one(b"", b"", chunks=chunks[:1], cut=True)).interactions[0].response
    assert cut is not None and cut.cut and not cut.error


@pytest.mark.parametrize(
    "raw",
    [
        b'event: message\r\ndata: {"jsonrpc":"2.0","id":0,"result":{}}\r\n\r\n',  # sse-starlette (MCP)
        b'data: {"candidates": []}\r\n\r\n',  # Gemini
        b"one\r\ntwo",
    ],
)
def test_crlf_text_is_a_readable_block_and_byte_exact(raw: bytes) -> None:
    data = one(b"", b"", chunks=(Chunk(raw, 1.0),))
    text = storage.dumps(data)
    assert "\\r" not in text and "line_ends: crlf" in text
    assert "text: |" in text or "text: one" in text
    back = roundtrip(data).interactions[0].response
    assert back is not None and back.chunks == (Chunk(raw, 1.0),)
    assert roundtrip(one(raw)).interactions[0].request.body == raw  # bodies too


@pytest.mark.parametrize("raw", [b"mixed\r\nline\nends", b"lone\rcarriage\r\n", b"\r\n\r"])
def test_mixed_line_ends_stay_exact_text(raw: bytes) -> None:
    text = storage.dumps(one(raw))
    assert "line_ends" not in text
    assert roundtrip(one(raw)).interactions[0].request.body == raw


def test_unknown_line_ends_is_a_clear_error() -> None:
    text = storage.dumps(one(b"a\r\nb")).replace("line_ends: crlf", "line_ends: cr")
    with pytest.raises(CassetteFormatError, match="line_ends must be 'crlf'"):
        storage.loads(text)


def test_key_order_is_stable_and_loads_use_the_safe_c_loader() -> None:
    text = storage.dumps(one(b'{"b":1,"a":2}', b'{"z":0}'))
    assert text.startswith("version: 2\ninteractions:\n- request:\n    method: POST\n    url: ")
    assert text.index("request:") < text.index("response:") < text.index("status:")
    assert issubclass(Loader, yaml.SafeLoader) or "CSafeLoader" in Loader.__mro__[1].__name__
    assert storage.dumps(roundtrip(one(b'{"b":1,"a":2}', b'{"z":0}'))) == text


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ("version: 1\ninteractions:\n- request: [\n", 4, "invalid YAML"),
        ("version: 1\ninteractions:\n- response:\n    status: 200\n", 3, "interaction is missing `request`"),
        (
            "version: 1\ninteractions:\n- request:\n    method: GET\n    url: http://x\n"
            "  response:\n    status: '200'\n",
            7,
            "status must be an integer",
        ),
        ("version: 3\ninteractions: []\n", 1, "unknown cassette format version 3"),
        ("interactions: []\n", 1, "missing `version`"),
        (
            "version: 1\ninteractions:\n- request:\n    method: GET\n    url: http://x\n    extra: 1\n"
            "  error: {type: X}\n",
            6,
            "unknown key 'extra' in request",
        ),
    ],
)
def test_bad_cassettes_name_file_line_and_field(tmp_path: Path, text: str, line: int, reason: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(CassetteFormatError) as info:
        storage.load(path)
    assert info.value.path == path
    assert info.value.line == line, str(info.value)
    assert reason in str(info.value)
    assert str(info.value).startswith(f"{path}:{line}: ")


def test_load_cache_follows_file_changes(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    storage.save(path, one(b'{"v":1}'))
    first = storage.load(path)
    assert storage.load(str(path)) is first  # unchanged file: parsed once
    storage.save(path, one(b'{"v":2}'))
    assert storage.load(path).interactions[0].request.body == b'{"v":2}'


def test_a_replaying_block_stats_its_cassette_once_and_still_sees_a_rewrite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "c.yaml"
    storage.save(path, one(b'{"v":1}'))
    with use_cassette(path, record_mode="none", allow_playback_repeats=True):
        pass  # parsed and cached: later blocks only ask whether the file changed
    real_stat = os.stat
    seen: list[str] = []

    def counting_stat(target: Any, *args: Any, **kwargs: Any) -> os.stat_result:
        if os.fspath(target) == str(path):
            seen.append("stat")
        return real_stat(target, *args, **kwargs)

    monkeypatch.setattr(os, "stat", counting_stat)
    with use_cassette(path, record_mode="none") as cassette:
        assert [it.request.body for it in cassette.interactions] == [b'{"v":1}']
    assert seen == ["stat"], "one system call per start: the existence check's status is the cache's"

    storage.save(path, one(b'{"v":2}'))  # rewritten between two blocks: the next one reads it
    seen.clear()
    with use_cassette(path, record_mode="none") as cassette:
        assert [it.request.body for it in cassette.interactions] == [b'{"v":2}']
    assert seen == ["stat"]


def test_a_failure_during_save_leaves_the_previous_cassette_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "c.yaml"
    storage.save(path, one(b'{"version":"old"}'))
    before = path.read_bytes()

    real_fsync = os.fsync

    def crash(fd: int) -> None:
        real_fsync(fd)
        raise OSError(28, "No space left on device")  # the disk fills up after the data was written

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(OSError, match="No space left"):
        storage.save(path, one(b'{"version":"new"}' * 1000))
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.yaml"], "the temporary file was removed"

    class Interrupted(BaseException):
        pass

    def interrupt(*args: object, **kwargs: object) -> None:
        raise Interrupted

    monkeypatch.setattr(os, "fsync", real_fsync)
    monkeypatch.setattr(os, "replace", interrupt)
    with pytest.raises(Interrupted):
        storage.save(path, one(b'{"version":"newer"}'))
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.yaml"]


@pytest.fixture(scope="module")
def compressing_server() -> Iterator[str]:
    """A real uvicorn server whose responses are gzip- or deflate-encoded, as many APIs send them."""
    import threading

    import uvicorn
    from fastapi import FastAPI
    from fastapi.responses import Response as FastAPIResponse

    app = FastAPI()

    @app.get("/v1/{encoding}")
    def compressed(encoding: str) -> FastAPIResponse:
        raw = json.dumps(PAYLOAD).encode()
        body = gzip.compress(raw) if encoding == "gzip" else zlib.compress(raw)
        return FastAPIResponse(body, media_type="application/json", headers={"content-encoding": encoding})

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join()


PAYLOAD = {"answer": "compressed " * 50}


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
@pytest.mark.parametrize("stack", [httpx, httpx2], ids=["httpx", "httpx2"])
def test_compressed_bodies_are_decoded_on_record_and_replay_consistently(
    tmp_path: Path, compressing_server: str, encoding: str, stack: Any
) -> None:
    """A gzip/deflate response is stored decoded, with headers adjusted; replay gives the same JSON."""
    path = tmp_path / "gz.yaml"
    url = f"{compressing_server}/v1/{encoding}"
    with use_cassette(path, record_mode="once"), stack.Client() as client:
        assert client.get(url).json() == PAYLOAD
    doc = yaml.safe_load(path.read_text())
    response = doc["interactions"][0]["response"]
    assert response["body"] == {"json": PAYLOAD, "json_style": "spaced"}
    assert "content-encoding" not in response["headers"]
    assert response["headers"]["content-length"] == str(len(json.dumps(PAYLOAD)))
    with use_cassette(path), stack.Client() as client:
        replayed = client.get(url)
        assert replayed.json() == PAYLOAD
        assert replayed.headers["content-length"] == str(len(replayed.content))
