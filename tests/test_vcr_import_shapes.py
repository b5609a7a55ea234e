"""`llm-cassette import` on the cassette shapes seen in the wild, and where the files go.

Each vcrpy cassette here is recorded by vcrpy itself against the fake server (with a project
serializer where the shape comes from one); the converted file is then replayed, with the
server's request counter as the witness that nothing reached the network. What import cannot
convert it refuses, naming the file, the interaction and the key: never a silent `''` body.
"""

from __future__ import annotations

import gzip
import textwrap
from pathlib import Path
from typing import Any

import httpx
import pytest
import vcr  # type: ignore[import-untyped]
import yaml

from llm_cassette import load, use_cassette
from llm_cassette.cli import main
from llm_cassette.fake_server import FakeServer
from llm_cassette.plugin.paths import safe_file_name

# A project serializer in the style of pydantic-ai's: JSON bodies stored parsed, under `parsed_body`.
PARSED_BODY_SERIALIZER = textwrap.dedent(
    """
    import json

    import yaml


    def deserialize(cassette_string):
        cassette = yaml.safe_load(cassette_string)
        for interaction in cassette["interactions"]:
            for kind, data in interaction.items():
                parsed = data.pop("parsed_body", None)
                if parsed is not None:
                    text = json.dumps(parsed)
                    data["body"] = {"string": text} if kind == "response" else text
        return cassette


    def serialize(cassette):
        for interaction in cassette["interactions"]:
            for _kind, data in interaction.items():
                types = data["headers"].get("content-type") or data["headers"].get("Content-Type") or []
                body = data.get("body")
                if isinstance(body, dict):
                    body = body.get("string")
                if isinstance(body, bytes):
                    body = body.decode()
                if body and any(t.startswith("application/json") for t in types):
                    data["parsed_body"] = json.loads(body)
                    del data["body"]
        return yaml.safe_dump(cassette)
    """
)


def ask(server: FakeServer, text: str = "Capital of France?") -> str:
    with httpx.Client() as client:
        reply = client.post(
            server.base_url_openai + "/chat/completions",
            json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}]},
        )
    content: str = reply.json()["choices"][0]["message"]["content"]
    return content


def record(server: FakeServer, path: Path, serializer_module: Any = None, serializer: str = "yaml") -> str:
    """Record `ask` with vcrpy, through `serializer_module` when given."""
    recorder = vcr.VCR()
    if serializer_module is not None:
        recorder.register_serializer("parsed", serializer_module)
        serializer = "parsed"
    with recorder.use_cassette(str(path), record_mode="all", serializer=serializer):
        return ask(server)


def replays_offline(server: FakeServer, cassette: Path) -> str:
    before = server.request_count
    with use_cassette(cassette):
        answer = ask(server)
    assert server.request_count == before
    return answer


def run_import(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["import", *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def serializer_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    project = tmp_path / "project"
    (project / "tests").mkdir(parents=True)
    path = project / "tests" / "json_body_serializer.py"
    path.write_text(PARSED_BODY_SERIALIZER)
    monkeypatch.chdir(project)
    monkeypatch.syspath_prepend(str(project / "tests"))
    return path


def test_parsed_body_is_converted_not_dropped(
    fake_server: FakeServer, serializer_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json_body_serializer  # type: ignore[import-not-found]

    source = tmp_path / "vcr" / "test_parsed.yaml"
    recorded = record(fake_server, source, json_body_serializer)
    assert "parsed_body" in source.read_text()

    code, out, err = run_import(capsys, str(source), "--out", str(tmp_path / "out"))

    target = tmp_path / "out" / "test_parsed.yaml"
    assert (code, out, err) == (0, f"{source} -> {target}: 1 interaction\n", "")
    [interaction] = load(target).interactions
    assert interaction.request.json()["messages"][0]["content"] == "Capital of France?"
    assert replays_offline(fake_server, target) == recorded


@pytest.mark.parametrize("spec", ["tests/json_body_serializer.py", "json_body_serializer", "json_body_serializer:"])
def test_a_project_serializer_reads_its_own_cassettes(
    spec: str, fake_server: FakeServer, serializer_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json_body_serializer

    source = tmp_path / "vcr" / "test_parsed.yaml"
    recorded = record(fake_server, source, json_body_serializer)

    code, _, err = run_import(capsys, str(source), "--serializer", spec, "--out", str(tmp_path / "out"))

    assert (code, err) == (0, "")
    assert replays_offline(fake_server, tmp_path / "out" / "test_parsed.yaml") == recorded


def test_a_bad_serializer_is_a_usage_error(
    serializer_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "c.yaml").write_text("interactions: []\n")
    for spec, why in [
        ("tests/missing.py", "tests/missing.py does not exist"),
        ("no_such_module_here", "cannot import it: ModuleNotFoundError"),
        ("json_body_serializer:nothing", "has no attribute 'nothing'"),
        ("json:loads", "has no deserialize(cassette_string) function"),
    ]:
        code, _, err = run_import(capsys, str(tmp_path / "c.yaml"), "--serializer", spec, "--out", str(tmp_path / "o"))
        assert code == 2 and why in err, (spec, err)


def test_an_unknown_key_fails_the_file_by_name(
    fake_server: FakeServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "test_odd.yaml"
    record(fake_server, source)
    doc = yaml.safe_load(source.read_text())
    doc["interactions"][0]["response"]["json_body"] = {"answer": 42}  # some serializer's own key
    source.write_text(yaml.safe_dump(doc))
    good = tmp_path / "test_good.yaml"
    record(fake_server, good)

    code, out, err = run_import(capsys, str(source), str(good), "--out", str(tmp_path / "out"))

    assert code == 1
    assert f"{source}: interaction 1: response: unknown key 'json_body'" in err
    assert "pass --serializer" in err
    assert "1 file NOT converted" in err
    assert not (tmp_path / "out" / "test_odd.yaml").exists()
    assert out == f"{good} -> {tmp_path / 'out' / 'test_good.yaml'}: 1 interaction\n"


def test_request_body_as_a_string_mapping_and_json_files(
    fake_server: FakeServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    as_yaml = tmp_path / "vcr" / "test_yaml.yaml"
    recorded = record(fake_server, as_yaml)
    doc = yaml.safe_load(as_yaml.read_text())
    request = doc["interactions"][0]["request"]
    request["body"] = {"string": request["body"]}  # the shape some serializers write for requests too
    as_yaml.write_text(yaml.safe_dump(doc))
    as_json = tmp_path / "vcr" / "test_json.json"
    assert record(fake_server, as_json, serializer="json") == recorded

    code, _, err = run_import(capsys, str(tmp_path / "vcr"), "--out", str(tmp_path / "out"))

    assert (code, err) == (0, "")
    for name in ("test_yaml.yaml", "test_json.yaml"):
        assert replays_offline(fake_server, tmp_path / "out" / name) == recorded


def test_two_source_folders_keep_their_layout(
    fake_server: FakeServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Two test folders, each with a module `test_chat` and a test `test_ask`: the same relative path.
    first = tmp_path / "tests" / "api" / "cassettes" / "test_chat" / "test_ask.yaml"
    second = tmp_path / "tests" / "models" / "cassettes" / "test_chat" / "test_ask.yaml"
    for path in (first, second):
        record(fake_server, path)

    code, _, err = run_import(capsys, str(first.parents[1]), str(second.parents[1]), "--out", str(tmp_path / "D"))

    assert (code, err) == (0, "")
    assert sorted(p.relative_to(tmp_path / "D").as_posix() for p in (tmp_path / "D").rglob("*.yaml")) == [
        "api/cassettes/test_chat/test_ask.yaml",
        "models/cassettes/test_chat/test_ask.yaml",
    ]
    # Two files that would land on one target are refused before anything is written.
    code, _, err = run_import(capsys, str(first), str(second), "--out", str(tmp_path / "E"))
    assert code == 2
    assert f"{first} and {second} would both be written to {tmp_path / 'E' / 'test_ask.yaml'}" in err
    assert not (tmp_path / "E").exists()


def test_pytest_recording_layout_becomes_the_plugins(
    fake_server: FakeServer, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    # tests/test_chat.py and tests/models/test_chat.py, as pytest-recording stores them.
    top = Path("tests/cassettes/test_chat/test_ask[what is up].yaml")
    nested = Path("tests/models/cassettes/test_chat/TestChat.test_ask.yaml")
    for path in (top, nested):
        record(fake_server, path)
    Path("tests/data").mkdir()
    Path("tests/data/settings.yaml").write_text("not: a cassette\n")  # not under a cassettes/ folder

    code, _, err = run_import(capsys, "tests", "--pytest-recording", "--out", "cassettes")

    assert (code, err) == (0, "")
    assert sorted(p.as_posix() for p in Path("cassettes").rglob("*.yaml")) == [
        "cassettes/tests/models/test_chat/TestChat.test_ask.yaml",
        f"cassettes/tests/test_chat/{safe_file_name('test_ask[what is up]')}.yaml",  # the plugin's name for it
    ]


def test_gzip_binary_body_is_decoded(
    fake_server: FakeServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "test_gzip.yaml"
    recorded = record(fake_server, source)
    doc = yaml.safe_load(source.read_text())
    response = doc["interactions"][0]["response"]
    response["body"]["string"] = gzip.compress(response["body"]["string"].encode())
    response["headers"]["content-encoding"] = ["gzip"]
    source.write_text(yaml.safe_dump(doc))
    assert "!!binary" in source.read_text()

    code, _, err = run_import(capsys, str(source), "--out", str(tmp_path / "out"))

    assert (code, err) == (0, "")
    converted = (tmp_path / "out" / "test_gzip.yaml").read_text()
    assert "!!binary" not in converted and "content-encoding" not in converted
    assert replays_offline(fake_server, tmp_path / "out" / "test_gzip.yaml") == recorded
