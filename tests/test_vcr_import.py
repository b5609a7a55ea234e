"""`llm-cassette import`: real vcrpy / pytest-recording cassettes in, offline llm-cassette replays out.

The vcrpy cassettes are recorded by vcrpy itself against the fake server; the converted ones are
then replayed by the same request code with the server's request counter as the witness that
nothing reached the network.
"""

from __future__ import annotations

import gzip
import json
import textwrap
from pathlib import Path
from typing import Any

import httpx
import pytest
import vcr  # type: ignore[import-untyped]
import yaml
from vcr.serializers import yamlserializer  # type: ignore[import-untyped]

from llm_cassette import load, use_cassette
from llm_cassette.cli import main
from llm_cassette.fake_server import FakeServer

KEY = "sk-fake-vcr-import-key-0000"


def ask_everything(server: FakeServer) -> dict[str, Any]:
    """The application under test: plain, streamed and failing chat completions over raw httpx."""
    url = server.base_url_openai + "/chat/completions"
    headers = {"authorization": f"Bearer {KEY}"}
    out: dict[str, Any] = {}
    with httpx.Client(headers=headers) as client:
        plain = client.post(url, json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "2+2"}]})
        out["plain"] = plain.json()["choices"][0]["message"]["content"]
        body = {"model": "gpt-4o-mini", "stream": True, "messages": [{"role": "user", "content": "stream these words"}]}
        with client.stream("POST", url, json=body) as streamed:
            events = [line for line in streamed.iter_lines() if line.startswith("data: ")]
        out["events"] = events
        failed = client.post(url, json={"model": "gpt-4o-mini+fail500", "messages": [{"role": "user", "content": "x"}]})
        out["failed"] = (failed.status_code, failed.json())
        # `+echo` makes the server echo the request headers into the body: the key lands in a response.
        echoed = client.post(url, json={"model": "gpt-4o-mini+echo", "messages": [{"role": "user", "content": "hi"}]})
        out["echo_status"] = echoed.status_code
    return out


def record_with_vcrpy(server: FakeServer, path: Path, **options: Any) -> dict[str, Any]:
    with vcr.VCR(**options).use_cassette(str(path), record_mode="all"):
        return ask_everything(server)


def _import(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["import", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_converted_vcrpy_cassette_replays_offline_with_secrets_redacted(
    fake_server: FakeServer, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)  # a provider key in the environment is redacted wherever it is
    source = tmp_path / "vcr" / "test_app" / "test_chat.yaml"
    recorded = record_with_vcrpy(fake_server, source)
    assert KEY in source.read_text()  # vcrpy wrote the key as it was sent

    code, out, err = _import(capsys, str(tmp_path / "vcr"), "--out", str(tmp_path / "cassettes"))

    target = tmp_path / "cassettes" / "test_app" / "test_chat.yaml"
    assert (code, err) == (0, "")
    assert out == f"{source} -> {target}: 4 interactions, 1 streamed\n"
    text = target.read_text()
    assert KEY not in text
    assert "authorization: REDACTED" in text
    data = load(target)
    stream = data.interactions[1].response
    assert stream is not None and stream.chunks is not None
    # One chunk per SSE event: the stream replays event by event, not as one blob.
    assert len(stream.chunks) == len(recorded["events"])
    assert all(c.data.endswith(b"\n\n") and c.data.count(b"data: ") == 1 for c in stream.chunks)

    before = fake_server.request_count
    with use_cassette(target, record_mode="none") as session:
        replayed = ask_everything(fake_server)

    assert fake_server.request_count == before
    assert session.play_count == 4
    assert replayed == recorded


def test_gzip_encoded_binary_bodies_are_decoded(
    fake_server: FakeServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The fake server does not compress, so gzip the recorded body the way vcrpy stores one with
    # decode_compressed_response=False: raw bytes under `!!binary`, `content-encoding: gzip` kept.
    source = tmp_path / "vcr" / "gzip.yaml"
    recorded = record_with_vcrpy(fake_server, source, decode_compressed_response=False)
    cassette = yamlserializer.deserialize(source.read_text())
    response = cassette["interactions"][0]["response"]
    plain_body = response["body"]["string"].encode()
    response["body"]["string"] = gzip.compress(plain_body)
    response["headers"]["content-encoding"] = ["gzip"]
    response["headers"]["content-length"] = [str(len(response["body"]["string"]))]
    source.write_text(yamlserializer.serialize(cassette))
    assert "!!binary" in source.read_text()
    with vcr.VCR().use_cassette(str(source), record_mode="none"):  # still a cassette vcrpy replays
        assert ask_everything(fake_server)["plain"] == recorded["plain"]

    code, _, err = _import(capsys, str(source), "--out", str(tmp_path / "out"))

    assert (code, err) == (0, "")
    target = tmp_path / "out" / "gzip.yaml"
    raw = yaml.safe_load(target.read_text())["interactions"][0]["response"]
    assert "content-encoding" not in raw["headers"]
    assert raw["headers"]["content-length"] == str(len(plain_body))
    assert raw["body"]["json"] == json.loads(plain_body)  # readable JSON, not base64
    before = fake_server.request_count
    with use_cassette(target, record_mode="none"):
        assert ask_everything(fake_server)["plain"] == recorded["plain"]
    assert fake_server.request_count == before


def test_folders_are_mirrored_and_in_place_conversion_is_idempotent(
    fake_server: FakeServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = tmp_path / "vcr" / "a" / "one.yaml"
    second = tmp_path / "vcr" / "b" / "c" / "two.yml"
    record_with_vcrpy(fake_server, first)
    second.parent.mkdir(parents=True)
    second.write_bytes(first.read_bytes())

    code, _, _ = _import(capsys, str(tmp_path / "vcr"), "--out", str(tmp_path / "out"))
    assert code == 0
    assert sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*")) == [
        "a",
        "a/one.yaml",
        "b",
        "b/c",
        "b/c/two.yml",
    ]
    code, _, err = _import(capsys, str(tmp_path / "vcr"), "--out", str(tmp_path / "out"))
    assert code == 1 and "already exists (pass --force" in err

    code, out, _ = _import(capsys, str(tmp_path / "vcr"), "--in-place")
    assert code == 0 and f"{first}: 4 interactions" in out
    assert load(first).interactions == load(tmp_path / "out" / "a" / "one.yaml").interactions

    code, out, _ = _import(capsys, str(first), "--in-place")
    assert (code, out) == (0, f"{first}: already an llm-cassette cassette, skipped\n")


def test_files_that_are_not_vcrpy_cassettes_are_refused_by_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("database: {host: localhost}\n")
    garbage = tmp_path / "garbage.yaml"
    garbage.write_text("interactions: [\n")

    code, out, err = _import(capsys, str(config), str(garbage), "--out", str(tmp_path / "out"))

    assert (code, out) == (1, "")
    assert f"{config}: not a vcrpy cassette: expected a mapping with an `interactions` list" in err
    assert f"{garbage}: not a vcrpy cassette: cannot parse it" in err
    assert not (tmp_path / "out").exists()
    assert _import(capsys, str(config))[0] == 2  # neither --out nor --in-place


def test_show_points_at_import_for_a_vcrpy_cassette(
    fake_server: FakeServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "old.yaml"
    record_with_vcrpy(fake_server, source)

    assert main(["show", str(source)]) == 1
    assert "convert it with `llm-cassette import`" in capsys.readouterr().err


def test_migrating_a_pytest_recording_suite(
    pytester: pytest.Pytester, fake_env: FakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    test_code = textwrap.dedent(
        """
        import os
        import httpx
        import pytest

        URL = os.environ["FAKE_LLM_URL"] + "/v1/chat/completions"

        @pytest.mark.MARK
        def test_capital():
            with httpx.Client(headers={"authorization": "Bearer sk-fake-migrate-0000"}) as client:
                reply = client.post(URL, json={"model": "gpt-4o-mini",
                                               "messages": [{"role": "user", "content": "Capital of France?"}]})
            assert "Paris" in reply.json()["choices"][0]["message"]["content"]
        """
    )
    tests = pytester.mkdir("tests")  # no package: `tests` may already name another package here
    (tests / "test_app.py").write_text(test_code.replace("MARK", "vcr"))
    pytester.runpytest("-p", "recording", "--record-mode=once").assert_outcomes(passed=1)
    assert (tests / "cassettes" / "test_app" / "test_capital.yaml").is_file()

    code, _, err = _import(capsys, str(tests / "cassettes"), "--out", str(pytester.path / "cassettes" / "tests"))
    assert (code, err) == (0, "")
    (tests / "test_app.py").write_text(test_code.replace("MARK", "llm_cassette"))
    before = fake_env.request_count

    pytester.runpytest("-p", "no:recording").assert_outcomes(passed=1)

    assert fake_env.request_count == before
