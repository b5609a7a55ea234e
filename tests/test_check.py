"""`llm-cassette check` and `llm-cassette scrub` on cassettes recorded for real.

Cassettes are recorded from the fake server through the real openai SDK, then secrets are planted
into copies the way a failed redaction would leave them (a custom header, a prompt, a streamed
chunk, a URL, a binary body), and the commands are run on the files.
"""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from openai import OpenAI

from helpers import OPENAI_KEY as API_KEY
from llm_cassette import CassetteData, Interaction, load, loads, save, use_cassette
from llm_cassette.cli import main
from llm_cassette.core.redaction import SECRET_ENV_VARS
from llm_cassette.core.secrets import scan_text
from llm_cassette.fake_server import FakeServer

REPO = Path(__file__).resolve().parents[1]
CLI = Path(sys.executable).with_name("llm-cassette")

# Fake secrets shaped like real ones (none of these is a real credential).
OPENAI_KEY = "sk-fake7Hq2LmN9pR4tV6xZ8bC1dF3gJ5kM7nP9qS2uW4yA6cE8"
OPENAI_PROJECT_KEY = "sk-proj-fakeQ1w2E3r4T5y6U7i8O9p0A1s2D3f4G5h6J7k8L9z0X1c2V3b4N5m6"
ANTHROPIC_KEY = "sk-ant-api03-fakeZ9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4J3i2H1g0"
GOOGLE_KEY = "AIzaSyFAKE0123456789abcdefghijklmnopqrs"
AWS_KEY_ID = "AKIAFAKE0123456789AB"
BEARER_TOKEN = "fakeTok3n.Zx81kQ0pLm3nB7vC9xW2eR4tY6u"
JWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJmYWtlLXVzZXIifQ.ZmFrZS1zaWduYXR1cmUtbm90LXJlYWw"
RANDOM_VALUE = "Zx81kQ0pLm3nB7vC9xW2eR4tY6uFAKE"


@pytest.fixture(autouse=True)
def no_provider_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    # Keys in the developer's environment would be redacted by scrub and change what it reports.
    for name in SECRET_ENV_VARS:
        monkeypatch.delenv(name, raising=False)


def _client(server: FakeServer, headers: dict[str, str] | None = None) -> OpenAI:
    return OpenAI(api_key=API_KEY, base_url=server.base_url_openai, max_retries=0, default_headers=headers)


@pytest.fixture(scope="module")
def recorded(fake_server_session: FakeServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A cassette with a chat completion, a streamed completion and an embedding, recorded for real."""
    path = tmp_path_factory.mktemp("recorded") / "chat.yaml"
    with pytest.MonkeyPatch.context() as mp:
        for name in SECRET_ENV_VARS:
            mp.delenv(name, raising=False)
        with use_cassette(path, record_mode="once"), _client(fake_server_session) as client:
            client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "Capital of France?"}]
            )
            stream = client.chat.completions.create(
                model="gpt-4o-mini+chunks3", messages=[{"role": "user", "content": "hi there"}], stream=True
            )
            for _ in stream:
                pass
            client.embeddings.create(model="text-embedding-3-small", input="hello")
    assert len(load(path).interactions) == 3
    yield path


def _copy(src: Path, dst: Path) -> Path:
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)
    return dst


def _plant(src: Path, dst: Path, edit: Callable[[list[Interaction]], None]) -> str:
    """Save an edited copy of a cassette (through the real format writer) and return its text."""
    interactions = list(load(src).interactions)
    before = list(interactions)
    edit(interactions)
    assert interactions != before, "the edit planted nothing"
    dst.parent.mkdir(parents=True, exist_ok=True)
    save(dst, CassetteData(interactions=interactions))
    return dst.read_text()


def _line_of(text: str, needle: str) -> int:
    lines = [n for n, line in enumerate(text.splitlines(), start=1) if needle in line]
    assert len(lines) == 1, f"{needle!r} should be on exactly one line, found on {lines}"
    return lines[0]


def _check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str]]:
    code = main(["check", *args])
    out = capsys.readouterr().out
    return code, out.splitlines()


def _findings(lines: list[str]) -> list[tuple[str, int | None, str]]:
    """(path, line, kind) of each `path:line: kind: message` line of check's output."""
    out: list[tuple[str, int | None, str]] = []
    for line in lines:
        m = re.match(r"^(?P<path>.+?)(?::(?P<line>\d+))?: (?P<kind>[a-z0-9-]+): ", line)
        if m:
            out.append((m["path"], int(m["line"]) if m["line"] else None, m["kind"]))
    return out


# --- edits that plant one secret each ------------------------------------------------------------


def _add_request_header(index: int, name: str, value: str) -> Callable[[list[Interaction]], None]:
    def edit(its: list[Interaction]) -> None:
        it = its[index]
        its[index] = replace(it, request=replace(it.request, headers=(*it.request.headers, (name, value))))

    return edit


def _add_response_header(index: int, name: str, value: str) -> Callable[[list[Interaction]], None]:
    def edit(its: list[Interaction]) -> None:
        it = its[index]
        assert it.response is not None
        its[index] = replace(it, response=replace(it.response, headers=(*it.response.headers, (name, value))))

    return edit


def _replace_in_request_body(index: int, old: bytes, new: bytes) -> Callable[[list[Interaction]], None]:
    def edit(its: list[Interaction]) -> None:
        it = its[index]
        assert old in it.request.body
        its[index] = replace(it, request=replace(it.request, body=it.request.body.replace(old, new, 1)))

    return edit


def _replace_in_response_body(index: int, old: bytes, new: bytes) -> Callable[[list[Interaction]], None]:
    def edit(its: list[Interaction]) -> None:
        it = its[index]
        assert it.response is not None and old in it.response.body
        its[index] = replace(it, response=replace(it.response, body=it.response.body.replace(old, new, 1)))

    return edit


def _replace_in_chunk(index: int, chunk: int, old: bytes, new: bytes) -> Callable[[list[Interaction]], None]:
    def edit(its: list[Interaction]) -> None:
        it = its[index]
        assert it.response is not None and it.response.chunks is not None
        chunks = list(it.response.chunks)
        assert old in chunks[chunk].data
        chunks[chunk] = replace(chunks[chunk], data=chunks[chunk].data.replace(old, new, 1))
        its[index] = replace(it, response=replace(it.response, chunks=tuple(chunks)))

    return edit


def _set_url_query(index: int, query: str) -> Callable[[list[Interaction]], None]:
    def edit(its: list[Interaction]) -> None:
        it = its[index]
        its[index] = replace(it, request=replace(it.request, url=f"{it.request.url}?{query}"))

    return edit


Edit = Callable[[list[Interaction]], None]

# (id, edit, the secret it plants, the kind check must report)
PLANTS: list[tuple[str, Edit, str, str]] = [
    ("openai-key-in-header", _add_request_header(0, "x-backup-key", OPENAI_KEY), OPENAI_KEY, "openai-key"),
    (
        "openai-project-key-in-response-json",
        _replace_in_response_body(0, b"The capital of France is Paris.", f"Use {OPENAI_PROJECT_KEY}".encode()),
        OPENAI_PROJECT_KEY,
        "openai-key",
    ),
    (
        "anthropic-key-in-prompt",
        _replace_in_request_body(0, b"Capital of France?", f"my key is {ANTHROPIC_KEY}".encode()),
        ANTHROPIC_KEY,
        "anthropic-key",
    ),
    ("google-key-in-url", _set_url_query(2, f"key={GOOGLE_KEY}"), GOOGLE_KEY, "google-api-key"),
    (
        "aws-key-in-stream-chunk",
        _replace_in_chunk(1, 1, b'"Echo:"', f'"Echo: {AWS_KEY_ID}"'.encode()),
        AWS_KEY_ID,
        "aws-access-key-id",
    ),
    (
        "bearer-token-in-header",
        _add_request_header(1, "x-upstream-authorization", f"Bearer {BEARER_TOKEN}"),
        BEARER_TOKEN,
        "bearer-token",
    ),
    ("jwt-in-response-header", _add_response_header(2, "x-session", JWT), JWT, "jwt"),
    (
        "random-value-under-api_key-in-json-body",
        _replace_in_request_body(2, b'"input":"hello"', f'"input":"hello","api_key":"{RANDOM_VALUE}"'.encode()),
        RANDOM_VALUE,
        "high-entropy-credential",
    ),
]


@pytest.mark.parametrize(("edit", "secret", "kind"), [pytest.param(*rest, id=name) for name, *rest in PLANTS])
def test_check_reports_a_planted_secret_with_its_kind_and_line(
    recorded: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    edit: Edit,
    secret: str,
    kind: str,
) -> None:
    path = tmp_path / "cassettes" / "leaky.yaml"
    text = _plant(recorded, path, edit)
    loads(text)  # still a valid cassette: only the secret is wrong with it

    code, lines = _check(capsys, str(path))

    assert code == 1
    assert _findings(lines) == [(str(path), _line_of(text, secret), kind)]
    # The report shows where the secret is, never the secret itself.
    assert secret[:6] + "…" in "\n".join(lines)
    assert secret not in "\n".join(lines)
    assert lines[-1].startswith("Secrets must not be committed")


def test_check_decodes_base64_bodies(recorded: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # A body that is not UTF-8 is stored as base64, which would hide a key from a plain text search.
    body = b"\xff\xfe" + f'{{"token": "{OPENAI_KEY}"}}'.encode()
    encoded = base64.b64encode(body).decode()

    def edit(its: list[Interaction]) -> None:
        assert its[0].response is not None
        its[0] = replace(its[0], response=replace(its[0].response, body=body))

    text = _plant(recorded, tmp_path / "binary.yaml", edit)
    assert OPENAI_KEY not in text

    code, lines = _check(capsys, str(tmp_path / "binary.yaml"))

    assert code == 1
    assert _findings(lines) == [(str(tmp_path / "binary.yaml"), _line_of(text, encoded), "openai-key")]


def test_check_reports_every_secret_in_a_file(
    recorded: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def edit(its: list[Interaction]) -> None:
        for _, plant, _, _ in PLANTS:
            plant(its)

    text = _plant(recorded, tmp_path / "all.yaml", edit)

    code, lines = _check(capsys, str(tmp_path / "all.yaml"))

    assert code == 1
    expected = sorted((_line_of(text, secret), kind) for _, _, secret, kind in PLANTS)
    assert sorted((line or 0, kind) for _, line, kind in _findings(lines)) == expected
    assert lines[-2] == f"{len(PLANTS)} problems in 1 of 1 cassette file"


def test_clean_recorded_cassette_passes(recorded: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _copy(recorded, tmp_path / "cassettes" / "chat.yaml")

    code, lines = _check(capsys, str(path))

    assert (code, lines) == (0, ["1 cassette file checked: no problems"])


def test_placeholders_are_not_findings(recorded: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    placeholder_key = "sk-llm-cassette-placeholder-not-a-real-key"

    def edit(its: list[Interaction]) -> None:
        _add_request_header(0, "x-api-key", "REDACTED")(its)
        _add_request_header(1, "x-upstream-authorization", "Bearer REDACTED")(its)
        _add_request_header(2, "x-fallback-key", placeholder_key)(its)
        _replace_in_request_body(2, b'"input":"hello"', b'"input":"hello","api_key":"REDACTED"')(its)

    text = _plant(recorded, tmp_path / "redacted.yaml", edit)
    assert "authorization: REDACTED" in text
    assert "Bearer REDACTED" in text
    assert "api_key: REDACTED" in text
    assert placeholder_key in text

    code, lines = _check(capsys, str(tmp_path / "redacted.yaml"))

    assert (code, lines) == (0, ["1 cassette file checked: no problems"])


@pytest.mark.parametrize(
    "value",
    [
        "prompt_tokens: 123456789012345678901234",  # counts, not credentials
        "x-request-id: req_5d05840b689923660530a747",
        "next_page_token: Zx81kQ0pLm3nB7vC9xW2eR4tY6u",
        "password: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",  # long but not random
        "content: ask-me-anything-about-the-long-hyphenated-words",
        "embedding: AACUPgAAQL4AABg+AAAkPwAAmD4AADq/AAAuPwAAOD4=",
    ],
)
def test_scanner_ignores_values_that_only_resemble_secrets(value: str) -> None:
    assert scan_text(value) == []


def test_allow_pattern_skips_matching_values(
    recorded: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "fake.yaml"
    _plant(recorded, path, _add_request_header(0, "x-backup-key", OPENAI_KEY))

    assert _check(capsys, "--allow", r"^sk-fake7", str(path))[0] == 0
    assert _check(capsys, "--allow", r"^sk-other", "--allow", "nothing", str(path))[0] == 1
    assert _check(capsys, "--no-secrets", str(path))[0] == 0


def test_invalid_regex_for_allow_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["check", "--allow", "(unclosed", "."])
    assert exc.value.code == 2
    assert "invalid regular expression" in capsys.readouterr().err


def _edit_line(text: str, needle: str, new: str | None) -> tuple[str, int]:
    """Replace (or delete, when `new` is None) the first line containing `needle`; returns its 1-based number."""
    lines = text.splitlines()
    index = next(i for i, line in enumerate(lines) if needle in line)
    if new is None:
        del lines[index]
    else:
        lines[index] = new
    return "\n".join(lines) + "\n", index + 1


def test_malformed_cassettes_are_reported_with_their_line(
    recorded: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = recorded.read_text()
    bad_yaml, bad_yaml_line = _edit_line(text, "content-type: application/json", "      content-type: a/b extra: x")
    missing, _ = _edit_line(text, "method: POST", None)
    missing_line = missing.splitlines().index("  request:") + 1
    wrong_type, wrong_type_line = _edit_line(text, "status: 200", "    status: ok")
    folder = tmp_path / "cassettes"
    folder.mkdir()
    (folder / "bad_yaml.yaml").write_text(bad_yaml)
    (folder / "missing_key.yaml").write_text(missing)
    (folder / "wrong_type.yml").write_text(wrong_type)
    (folder / "notes.txt").write_text("not a cassette: ignored when a folder is searched")

    code, lines = _check(capsys, str(folder))

    assert code == 1
    assert _findings(lines) == [
        (str(folder / "bad_yaml.yaml"), bad_yaml_line, "invalid-cassette"),
        (str(folder / "missing_key.yaml"), missing_line, "invalid-cassette"),
        (str(folder / "wrong_type.yml"), wrong_type_line, "invalid-cassette"),
    ]
    output = "\n".join(lines)
    assert "invalid YAML" in output
    assert "request is missing `method`" in output
    assert "status must be an integer" in output
    assert lines[-1] == "3 problems in 3 of 3 cassette files"
    assert _check(capsys, "--no-validate", str(folder))[0] == 0


def test_check_searches_the_cassettes_folder_by_default(
    recorded: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert _check(capsys) == (0, ["llm-cassette check: no cassettes/ folder here; nothing to check"])

    _copy(recorded, tmp_path / "cassettes" / "tests" / "test_a" / "test_one.yaml")
    _plant(recorded, tmp_path / "cassettes" / "tests" / "test_b.yaml", _set_url_query(2, f"key={GOOGLE_KEY}"))

    code, lines = _check(capsys)

    assert code == 1
    assert [(p, kind) for p, _, kind in _findings(lines)] == [("cassettes/tests/test_b.yaml", "google-api-key")]
    assert lines[-2] == "1 problem in 1 of 2 cassette files"


def test_missing_path_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(tmp_path / "nope")]) == 2
    assert f"no such file or directory: {tmp_path / 'nope'}" in capsys.readouterr().err


def test_installed_executable_checks_files_like_pre_commit(recorded: Path, tmp_path: Path) -> None:
    # pre-commit runs the hook's entry from the repository root with the changed files as arguments.
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    (hook,) = hooks
    assert hook["id"] == "llm-cassette-check"
    clean = _copy(recorded, tmp_path / "cassettes" / "tests" / "test_ok.yaml")
    leaky = tmp_path / "cassettes" / "tests" / "test_leak.yaml"
    text = _plant(recorded, leaky, _add_response_header(2, "x-session", JWT))
    staged = [str(p.relative_to(tmp_path)) for p in (clean, leaky)]
    assert all(re.search(hook["files"], name) for name in staged)
    assert not re.search(hook["files"], "src/config.yaml")
    entry = hook["entry"].split()
    assert entry[0] == CLI.name

    result = subprocess.run(
        [str(CLI), *entry[1:], *staged], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False
    )

    assert result.returncode == 1, result.stderr
    assert result.stdout.splitlines()[0] == (
        f"cassettes/tests/test_leak.yaml:{_line_of(text, JWT)}: jwt: possible JSON Web Token 'eyJhbG…'"
    )
    assert "1 problem in 1 of 2 cassette files" in result.stdout


def test_project_cassettes_pass_check(capsys: pytest.CaptureFixture[str]) -> None:
    folder = REPO / "cassettes"
    if not folder.is_dir() or not any(folder.rglob("*.y*ml")):
        pytest.skip("the project has no committed cassettes yet")
    code, lines = _check(capsys, str(folder))
    assert code == 0, "\n".join(lines)


# --- scrub -------------------------------------------------------------------------------------

LEAKED_ENV_KEY = "sk-fake-scrub-0123456789abcdefghijklmnopqrstuv"
INTERNAL_TOKEN = "internal-Zx81kQ0pLm3nB7vC9xW2"


def _ask(server: FakeServer) -> str:
    # An app that put its own key into a prompt and sent an internal auth header nobody redacts by default.
    with _client(server, {"x-internal-auth": INTERNAL_TOKEN}) as client:
        reply = client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": f"is {LEAKED_ENV_KEY} valid?"}]
        )
    return reply.choices[0].message.content or ""


def test_scrub_redacts_a_header_and_an_environment_key_and_the_cassette_still_replays(
    fake_server: FakeServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "cassettes" / "leak.yaml"
    with use_cassette(path, record_mode="once"):
        assert _ask(fake_server) == f"Echo: is {LEAKED_ENV_KEY} valid?"
    text = path.read_text()
    assert INTERNAL_TOKEN in text and LEAKED_ENV_KEY in text
    assert main(["check", str(path)]) == 1
    capsys.readouterr()

    monkeypatch.setenv("OPENAI_API_KEY", LEAKED_ENV_KEY)
    code = main(["scrub", "--redact-header", "x-internal-auth", str(tmp_path / "cassettes")])

    out = capsys.readouterr().out.splitlines()
    assert code == 0
    assert out == [
        f"{path}: interaction 1: redacted request header x-internal-auth, request body, response body",
        "1 file changed, 0 already clean",
    ]
    scrubbed = path.read_text()
    assert INTERNAL_TOKEN not in scrubbed and LEAKED_ENV_KEY not in scrubbed
    assert "x-internal-auth: REDACTED" in scrubbed
    assert main(["check", str(path)]) == 0

    # Replay: the same request (the key is redacted for matching too) gets the scrubbed answer, offline.
    fake_server.reset()
    with use_cassette(path) as session:
        assert _ask(fake_server) == "Echo: is REDACTED valid?"
    assert session.play_count == 1
    assert fake_server.request_count == 0

    # A second scrub finds nothing left to do and leaves the file alone.
    inode = path.stat().st_ino
    assert main(["scrub", "--redact-header", "x-internal-auth", str(path)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "0 files changed, 1 already clean"
    assert path.stat().st_ino == inode and path.read_text() == scrubbed


def test_scrub_dry_run_reports_without_writing(
    recorded: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "leak.yaml"
    text = _plant(recorded, path, _add_response_header(2, "x-session", JWT))

    assert main(["scrub", "--dry-run", "--redact-value", JWT, str(path)]) == 0

    assert capsys.readouterr().out.splitlines() == [
        f"{path}: interaction 3: would redact response header x-session",
        "1 file would change, 0 already clean",
    ]
    assert path.read_text() == text


def test_scrub_json_field_and_query_key(recorded: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "leak.yaml"

    def edit(its: list[Interaction]) -> None:
        _set_url_query(2, f"tenant={RANDOM_VALUE}")(its)
        _replace_in_request_body(2, b'"input":"hello"', f'"input":"hello","owner":"{RANDOM_VALUE}"'.encode())(its)

    _plant(recorded, path, edit)

    code = main(["scrub", "--redact-query-key", "tenant", "--redact-json-field", "owner", str(path)])

    assert code == 0
    assert capsys.readouterr().out.splitlines()[0] == f"{path}: interaction 3: redacted request url, request body"
    data = load(path)
    assert RANDOM_VALUE not in path.read_text()
    assert data.interactions[2].request.url.endswith("?tenant=REDACTED")
    assert data.interactions[2].request.json() == {
        "input": "hello",
        "model": "text-embedding-3-small",
        "encoding_format": "base64",
        "owner": "REDACTED",
    }


def test_scrub_leaves_an_invalid_cassette_untouched(
    recorded: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text, line = _edit_line(recorded.read_text(), "status: 200", "    status: ok")
    bad = tmp_path / "bad.yaml"
    bad.write_text(text + f"# {OPENAI_KEY}\n")
    before = bad.read_bytes()

    code = main(["scrub", "--redact-value", OPENAI_KEY, str(bad)])

    assert code == 1
    captured = capsys.readouterr()
    assert f"{bad}:{line}: status must be an integer" in captured.err
    assert captured.out.splitlines() == ["0 files changed, 0 already clean, 1 invalid"]
    assert bad.read_bytes() == before
