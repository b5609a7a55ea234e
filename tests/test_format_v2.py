"""Format version 2: less noise on disk, replay unchanged; version 1 files still load.

Recorded for real from the fake server through the OpenAI and Anthropic SDKs: volatile request
headers are not stored (unless kept), SSE events are stored as structured YAML and replay the
same bytes, each interaction says when it was recorded; `check` and `stats` tell about old
formats and old recordings.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml

import llm_cassette
from helpers import anthropic_client, openai_client, record_then_replay, user
from llm_cassette import CassetteFormatError, cli
from llm_cassette.fake_server import FakeServer

V1_STREAM = """\
version: 1
interactions:
- request:
    method: POST
    url: http://127.0.0.1:9/v1/chat/completions
    headers:
      user-agent: OpenAI/Python 3.54.0
      x-stainless-os: Linux
    body:
      json:
        model: gpt-4o-mini
        stream: true
  response:
    status: 200
    headers:
      content-type: text/event-stream
    t: 1
    chunks:
    - t: 2
      text: |+
        data: {"choices":[{"index":0,"delta":{"content":"Hi"}}]}

    - t: 3
      text: |+
        data: [DONE]

...
"""


def test_a_recording_stores_no_volatile_request_headers_and_says_when(tmp_path: Path, fake_server: FakeServer) -> None:
    before = datetime.now(timezone.utc).replace(microsecond=0)
    with openai_client(fake_server) as client:
        run = record_then_replay(
            tmp_path / "c.yaml", lambda: client.chat.completions.create(model="gpt-4o-mini", messages=user("2+2?"))
        )
    assert run.replayed.choices[0].message.content == run.recorded.choices[0].message.content == "2 + 2 = 4."
    doc = yaml.safe_load((tmp_path / "c.yaml").read_text())
    assert doc["version"] == 2
    headers = doc["interactions"][0]["request"]["headers"]
    assert set(headers) == {"accept", "content-type", "authorization"}, headers
    stamp = datetime.fromisoformat(doc["interactions"][0]["recorded_at"].replace("Z", "+00:00"))
    assert before <= stamp <= datetime.now(timezone.utc)


def test_keep_volatile_headers_keeps_them(tmp_path: Path, fake_server: FakeServer) -> None:
    def call() -> object:
        with openai_client(fake_server) as client:
            return client.chat.completions.create(model="gpt-4o-mini", messages=user("hi"))

    kept = record_then_replay(tmp_path / "kept.yaml", call, keep_volatile_headers=True)
    assert kept.replay.play_count == 1
    stored = {k for k, _ in llm_cassette.load(tmp_path / "kept.yaml").interactions[0].request.headers}
    assert {"user-agent", "x-stainless-lang", "content-length"} <= stored


def test_sse_events_are_structured_yaml_and_replay_byte_for_byte(tmp_path: Path, fake_server: FakeServer) -> None:
    openai = openai_client(fake_server)
    claude = anthropic_client(fake_server)

    def call() -> tuple[str, str]:
        chunks = openai.chat.completions.create(model="gpt-4o-mini", messages=user("Tell me a joke"), stream=True)
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        with claude.messages.stream(model="claude-haiku-4-5", max_tokens=20, messages=user("Say hello")) as s:
            said = "".join(s.text_stream)
        return text, said

    with openai, claude:
        run = record_then_replay(tmp_path / "s.yaml", call)
    assert run.replayed == run.recorded
    text = (tmp_path / "s.yaml").read_text()
    doc = yaml.safe_load(text)
    openai_chunks = doc["interactions"][0]["response"]["chunks"]
    assert openai_chunks[1]["data"]["choices"][0]["delta"] == {"content": "Why"}
    assert openai_chunks[-1] == {"t": openai_chunks[-1]["t"], "text": "data: [DONE]\n\n"}  # not JSON: text
    anthropic_chunks = doc["interactions"][1]["response"]["chunks"]
    assert anthropic_chunks[0]["event"] == "message_start"
    assert anthropic_chunks[0]["data"]["type"] == "message_start"
    # the bytes the SDK read while recording are exactly the bytes replay sends
    recorded = run.recording.interactions
    assert [c.data for it in recorded for c in it.response.chunks] == [  # type: ignore[union-attr]
        c.data
        for it in llm_cassette.loads(text).interactions
        for c in it.response.chunks  # type: ignore[union-attr]
    ]


@pytest.mark.parametrize(
    "raw",
    [
        b'data: {"a":1}\n\n',
        b'event: x\ndata: {"a": 1}\n\nevent: y\ndata: {"b":[1,2]}\n\n',
        b'data: {"a":"\\u00e9"}\n\n',
        b"data: [DONE]\n\n",
        b'data: {"a":1}\r\n\r\n',
        b'id: 1\ndata: {"a":1}\n\n',
        b'data: {"a":1}\n\ndata: {"b"',
        b'data: {"a": 1,"b":2}\n\n',
        b'data: {"a":1}\ndata: {"b":2}\n\n',
        b": keep-alive\n\n",
        b'event: x:y\ndata: {"a":1}\n\n',
    ],
)
def test_every_chunk_round_trips_exactly(raw: bytes) -> None:
    data = llm_cassette.CassetteData(
        [
            llm_cassette.Interaction(
                llm_cassette.Request("GET", "http://x/"),
                llm_cassette.Response(200, chunks=(llm_cassette.Chunk(raw, 1.0),)),
            )
        ]
    )
    back = llm_cassette.loads(llm_cassette.dumps(data))
    assert back.interactions[0].response.chunks[0].data == raw  # type: ignore[union-attr, index]


def test_version_1_files_load_and_replay_and_check_says_they_would_be_rewritten(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "old.yaml"
    path.write_text(V1_STREAM)
    data = llm_cassette.load(path)
    assert data.version == 1
    chunks = data.interactions[0].response.chunks  # type: ignore[union-attr]
    assert [c.data for c in chunks] == [
        b'data: {"choices":[{"index":0,"delta":{"content":"Hi"}}]}\n\n',
        b"data: [DONE]\n\n",
    ]
    assert data.interactions[0].recorded_at is None
    assert cli.main(["check", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"{path}: note: format version 1: rewritten as version 2 the next time a test records into it" in out
    rewritten = llm_cassette.dumps(data)
    assert rewritten.startswith("version: 2\n") and llm_cassette.loads(rewritten).interactions == data.interactions


def test_a_version_1_file_may_not_use_version_2_keys(tmp_path: Path) -> None:
    path = tmp_path / "mixed.yaml"
    path.write_text(V1_STREAM.replace("      text: |+\n        data: [DONE]\n\n", "      data: {a: 1}\n"))
    with pytest.raises(CassetteFormatError) as info:
        llm_cassette.load(path)
    assert "a version 1 cassette cannot hold `data` chunks (version 2 can)" in str(info.value)
    assert f"{path}:" in str(info.value)


def test_check_and_stats_point_out_old_cassettes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = (datetime.now(timezone.utc) - timedelta(days=120)).strftime("%Y-%m-%dT%H:%M:%SZ")
    new = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    for name, stamp in (("old.yaml", old), ("new.yaml", new)):
        data = llm_cassette.loads(V1_STREAM)
        data.interactions = [
            llm_cassette.Interaction(i.request, i.response, recorded_at=stamp) for i in data.interactions
        ]
        llm_cassette.save(tmp_path / name, data)
    assert cli.main(["check", "--max-age", "90d", str(tmp_path)]) == 0  # a note, not a problem
    out = capsys.readouterr().out
    assert f"{tmp_path / 'old.yaml'}: old-cassette: recorded {old}, 120 days ago (max age 90 days)" in out
    assert "new.yaml: old-cassette" not in out
    assert cli.main(["stats", "--max-age", "12w", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"1 cassette older than the maximum age:\n  {tmp_path / 'old.yaml'}: recorded {old}" in out
    with pytest.raises(SystemExit):
        cli.main(["check", "--max-age", "soon", str(tmp_path)])
    assert "is not an age" in capsys.readouterr().err
