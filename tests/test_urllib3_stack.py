"""urllib3 (and so `requests`) recorded and replayed through the same core as httpx: whole bodies,
streams chunk for chunk, HTTP errors, transport errors and faults, against the real fake server."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from llm_cassette import faults, load, use_cassette
from llm_cassette.fake_server import FakeServer

requests = pytest.importorskip("requests")
urllib3 = pytest.importorskip("urllib3")

T = TypeVar("T")


def chat(text: str, *, stream: bool = False, model: str = "gpt-4o-mini") -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": text}], "stream": stream}


def record_then_replay(server: FakeServer, path: Path, call: Callable[[], T], **options: Any) -> tuple[T, T]:
    """Run `call` recording a new cassette, then replaying it; the replay must not reach the server."""
    with use_cassette(path, record_mode="once", **options) as rec:
        recorded = call()
    assert rec.recorded_count >= 1
    sent = server.request_count
    with use_cassette(path, record_mode="none", **options) as play:
        replayed = call()
    assert server.request_count == sent, "the replay reached the server"
    assert play.play_count == rec.recorded_count
    return recorded, replayed


def test_requests_json_and_streamed_lines(fake_server: FakeServer, tmp_path: Path) -> None:
    url = f"{fake_server.base_url_openai}/chat/completions"

    def call() -> Any:
        with requests.Session() as s:
            plain = s.post(url, json=chat("plain requests"))
            with s.post(url, json=chat("streamed requests", stream=True), stream=True) as r:
                lines = list(r.iter_lines())
        return plain.status_code, plain.headers["content-type"], plain.json(), lines

    recorded, replayed = record_then_replay(fake_server, tmp_path / "c.yaml", call)
    assert replayed == recorded
    assert recorded[2]["choices"][0]["message"]["content"] == "Echo: plain requests"
    assert [line for line in recorded[3] if line][-1] == b"data: [DONE]"
    stored = load(tmp_path / "c.yaml").interactions
    assert stored[0].response is not None and stored[0].response.chunks is None  # a whole JSON body
    assert stored[1].response is not None and stored[1].response.chunks is not None  # events, one per chunk


def test_chunks_replay_exactly_as_the_caller_read_them(fake_server: FakeServer, tmp_path: Path) -> None:
    url = f"{fake_server.base_url_openai}/chat/completions"

    def call() -> Any:
        with requests.post(url, json=chat("one two three four", stream=True), stream=True) as r:
            return list(r.iter_content(chunk_size=None))

    recorded, replayed = record_then_replay(fake_server, tmp_path / "c.yaml", call)
    assert replayed == recorded and len(recorded) > 3
    response = load(tmp_path / "c.yaml").interactions[0].response
    assert response is not None and response.chunks is not None
    assert [c.data for c in response.chunks] == recorded  # one recorded chunk per chunk the caller saw


def test_urllib3_direct_preload_stream_and_read(fake_server: FakeServer, tmp_path: Path) -> None:
    url = f"{fake_server.base_url_openai}/chat/completions"

    def call() -> Any:
        with urllib3.PoolManager() as http:
            preloaded = http.request("POST", url, json=chat("preloaded"))
            streamed = http.request("POST", url, json=chat("streamed", stream=True), preload_content=False)
            pieces = list(streamed.stream(64))
            streamed.release_conn()
            by_read = http.request("GET", f"{fake_server.base_url_openai}/models", preload_content=False)
            head, rest = by_read.read(10), by_read.read()
            by_read.release_conn()
        return preloaded.status, preloaded.json(), pieces, head, rest

    recorded, replayed = record_then_replay(fake_server, tmp_path / "c.yaml", call)
    assert replayed == recorded
    assert all(len(p) <= 64 for p in recorded[2]) and len(recorded[3]) == 10


def test_http_error_status_replays_with_headers_and_body(fake_server: FakeServer, tmp_path: Path) -> None:
    url = f"{fake_server.base_url_openai}/chat/completions"

    def call() -> Any:
        r = requests.post(url, json=chat("limited", model="gpt-4o-mini+fail429"))
        return r.status_code, r.headers.get("retry-after"), r.json()

    recorded, replayed = record_then_replay(fake_server, tmp_path / "c.yaml", call)
    assert recorded[0] == 429 and replayed == recorded


def test_connect_error_is_recorded_and_replayed_as_requests_connection_error(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1/models"
    seen: list[BaseException] = []
    for mode in ("once", "none"):
        with use_cassette(tmp_path / "c.yaml", record_mode=mode), pytest.raises(requests.ConnectionError) as info:
            requests.get(url, timeout=5)
        seen.append(info.value)
    assert type(seen[0]) is type(seen[1])
    reasons = [type(e.args[0].reason).__name__ for e in seen]  # MaxRetryError(reason=NewConnectionError)
    assert reasons == ["NewConnectionError", "NewConnectionError"]
    (it,) = load(tmp_path / "c.yaml").interactions
    assert it.error is not None and it.error.type == "NewConnectionError"
    assert "0x" not in it.error.message  # no object address in the cassette


def test_read_timeout_is_recorded_and_replayed(fake_server: FakeServer, tmp_path: Path) -> None:
    url = f"{fake_server.base_url_openai}/chat/completions"
    for mode in ("once", "none"):
        with use_cassette(tmp_path / "c.yaml", record_mode=mode), pytest.raises(requests.ReadTimeout):
            requests.post(url, json=chat("slow", model="gpt-4o-mini+slow400"), timeout=0.1)
    (it,) = load(tmp_path / "c.yaml").interactions
    assert it.error is not None and it.error.type == "ReadTimeoutError"


def test_stream_dropped_midway_replays_the_chunks_then_the_error(fake_server: FakeServer, tmp_path: Path) -> None:
    url = f"{fake_server.base_url_openai}/chat/completions"

    def call() -> Any:
        got: list[bytes] = []
        body = chat("a b c d e", stream=True, model="gpt-4o-mini+drop3")
        with pytest.raises(requests.exceptions.ChunkedEncodingError), requests.post(url, json=body, stream=True) as r:
            got.extend(r.iter_lines())
        return got

    recorded, replayed = record_then_replay(fake_server, tmp_path / "c.yaml", call)
    assert replayed == recorded and recorded
    response = load(tmp_path / "c.yaml").interactions[0].response
    assert response is not None and response.error is not None


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        (faults.connect_error(), requests.ConnectionError),
        (faults.timeout(), requests.ReadTimeout),
        (faults.timeout(phase="connect"), requests.ConnectTimeout),
    ],
    ids=["connect_error", "read_timeout", "connect_timeout"],
)
def test_faults_raise_the_requests_exception(tmp_path: Path, fault: Any, expected: type[BaseException]) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("version: 1\ninteractions: []\n", encoding="utf-8")
    with use_cassette(path, faults=[fault]), pytest.raises(expected):
        requests.get("http://127.0.0.1:9/v1/models", timeout=5)


def test_drop_fault_cuts_a_recorded_stream(fake_server: FakeServer, tmp_path: Path) -> None:
    url = f"{fake_server.base_url_openai}/chat/completions"
    path = tmp_path / "c.yaml"

    def read(**options: Any) -> list[bytes]:
        got: list[bytes] = []
        with use_cassette(path, **options):
            try:
                with requests.post(url, json=chat("x y z w", stream=True), stream=True) as r:
                    got.extend(r.iter_content(chunk_size=None))
            except requests.exceptions.ChunkedEncodingError:
                got.append(b"<dropped>")
        return got

    whole = read(record_mode="once")
    cut = read(faults=[faults.drop(after_chunks=2)])
    assert cut == [*whole[:2], b"<dropped>"]


def test_urllib3_retry_sequence_replays_in_order(fake_server: FakeServer, tmp_path: Path) -> None:
    url = f"{fake_server.base_url_openai}/chat/completions"
    retry = urllib3.Retry(total=3, status_forcelist=[500], backoff_factor=0, allowed_methods=None)

    def call() -> Any:
        with urllib3.PoolManager(retries=retry) as http:
            r = http.request("POST", url, json=chat("retried", model="gpt-4o-mini+fail500x2"))
        return r.status, r.json()["choices"][0]["message"]["content"]

    recorded, replayed = record_then_replay(fake_server, tmp_path / "c.yaml", call)
    assert recorded == replayed == (200, "Echo: retried")
    assert [it.response.status for it in load(tmp_path / "c.yaml").interactions if it.response] == [500, 500, 200]


def test_a_miss_is_not_swallowed_by_requests(fake_server: FakeServer, tmp_path: Path) -> None:
    from llm_cassette import CassetteMiss

    path = tmp_path / "c.yaml"
    path.write_text("version: 1\ninteractions: []\n", encoding="utf-8")
    # contextlib.suppress(Exception): what an application does; the miss gets through anyway.
    with (
        pytest.raises(CassetteMiss, match="no recorded interaction"),
        use_cassette(path),
        contextlib.suppress(Exception),
    ):
        requests.get(f"{fake_server.base_url_openai}/models")
    assert fake_server.request_count == 0
