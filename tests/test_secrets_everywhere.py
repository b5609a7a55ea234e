"""A provider key never reaches disk, in any form a client or server gives it.

The first test is the guarantee in one run: keys are planted everywhere a client or a server puts
them (split across two stream chunks, in a stream's transport error, in gzip/deflate/zstd/br request
bodies, percent-encoded in form bodies and query strings, base64-encoded at each alignment in a
`Basic` credential of a custom header), recorded through the pytest plugin, replayed, reported as
HTML, and then every file the runs wrote (cassettes, report, temporary files) is searched for the
raw key, its percent-encodings and its base64 at all three alignments. The other tests pin down
each part: chunk boundaries kept byte-exact, `scrub`, `check`.
"""

from __future__ import annotations

import base64
import gzip
import subprocess
import sys
import tempfile
import textwrap
import zlib
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, quote_plus

import httpx
import pytest
import yaml

from llm_cassette import CassetteData, Chunk, Interaction, Request, Response, TransportFailure, load, save, use_cassette
from raw_upstream import RawUpstream

# Obviously fake, with the characters encoders treat specially: `/` and `+` (and a space in the
# phrase, which form encoding writes as `+`).
KEY = "sk-proj-FakeKey/For+Tests/Only+0123456789abcdef"
PHRASE = "fake pass phrase/with+plus 0042"


def brotli_stored(data: bytes) -> bytes:
    """`data` as a valid brotli stream of one uncompressed meta-block (no brotli module needed)."""
    assert 0 < len(data) <= 1 << 16
    bits = [0]  # WBITS: 16
    bits += [0, 0, 0]  # ISLAST = 0, MNIBBLES = 4
    bits += [(len(data) - 1) >> i & 1 for i in range(16)]  # MLEN - 1
    bits += [1]  # ISUNCOMPRESSED
    bits += [0] * (-len(bits) % 8)
    header = bytes(sum(bit << i for i, bit in enumerate(bits[j : j + 8])) for j in range(0, len(bits), 8))
    return header + data + b"\x03"  # ISLAST = 1, ISLASTEMPTY = 1


def zstd_compress(data: bytes) -> bytes:
    zstandard = pytest.importorskip("zstandard")
    return bytes(zstandard.ZstdCompressor().compress(data))


def forms_of(secret: str) -> dict[str, bytes]:
    """Every form a secret may take in a file: raw, percent-encoded (three ways), base64 at each
    alignment (standard and URL-safe alphabets)."""
    raw = secret.encode()
    out = {
        "raw": raw,
        "percent": quote(secret, safe="").encode(),
        "percent, / kept": quote(secret).encode(),
        "form (+ for space)": quote_plus(secret).encode(),
    }
    for align in range(3):
        encoded = base64.b64encode(b"\0" * align + raw)
        first, last = -(-align // 3), (align + len(raw)) // 3
        core = encoded[4 * first : 4 * last]
        out[f"base64 at offset {align}"] = core
        out[f"base64url at offset {align}"] = core.replace(b"+", b"-").replace(b"/", b"_")
    return out


INNER_TEST = """
import base64, gzip, json, os, zlib
import httpx, pytest

KEY = os.environ["OPENAI_API_KEY"]
PHRASE = os.environ["TEST_PHRASE"]
URL = os.environ["RAW_UPSTREAM_URL"]
BODIES = {BODIES}

@pytest.mark.llm_cassette(redact_values=[PHRASE])
def test_everywhere():
    with httpx.Client(base_url=URL) as client:
        with client.stream("GET", "/split") as r:  # the server splits the key across two chunks
            r.read()
        with pytest.raises(httpx.RemoteProtocolError):  # its error message holds the key
            with client.stream("GET", "/broken") as r:
                r.read()
        for encoding, data in BODIES.items():  # compressed request bodies
            headers = {{"content-encoding": encoding, "content-type": "application/json"}}
            client.post("/echo", content=data, headers=headers)
        client.post("/form", data={{"credential": KEY, "phrase": PHRASE}})  # percent-encoded, + for space
        client.get("/query", params={{"k": KEY, "p": PHRASE}})
        for user in ("u", "us", "use"):  # the key base64-encoded at each alignment
            token = base64.b64encode(f"{{user}}:{{KEY}}".encode()).decode()
            client.get("/basic", headers={{"x-upstream-auth": "Basic " + token}})
            token = base64.urlsafe_b64encode(f"{{user}}:{{PHRASE}}".encode()).decode()
            client.get("/basic", headers={{"x-phrase-auth": "Basic " + token}})
"""


@pytest.fixture
def upstream() -> Iterator[RawUpstream]:
    with RawUpstream(secret=KEY) as server:
        yield server


def test_no_key_reaches_disk_in_any_encoding(
    pytester: pytest.Pytester, upstream: RawUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    temp = pytester.path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))  # temporary files land where we search
    monkeypatch.setenv("TMPDIR", str(temp))
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("TEST_PHRASE", PHRASE)
    monkeypatch.setenv("RAW_UPSTREAM_URL", upstream.url)
    payload = f'{{"key": "{KEY}", "phrase": "{PHRASE}"}}'.encode()
    bodies = {
        "gzip": gzip.compress(payload),
        "deflate": zlib.compress(payload),
        "zstd": zstd_compress(payload),
        "br": brotli_stored(payload),
    }
    pytester.makepyfile(test_keys=textwrap.dedent(INNER_TEST).format(BODIES=repr(bodies)))

    pytester.runpytest("--record").assert_outcomes(passed=1)
    # The upstream did see every form of the key: the test planted them for real.
    sent = b"\n".join(upstream.bodies)
    assert quote_plus(KEY).encode() in sent and bodies["gzip"] in sent
    upstream.bodies.clear()
    # Redaction kept replay consistent: everything replays offline, nothing reaches the upstream.
    pytester.runpytest().assert_outcomes(passed=1)
    assert upstream.bodies == []
    report = pytester.path / "report.html"
    cli = [sys.executable, "-m", "llm_cassette.cli"]
    subprocess.run([*cli, "report", "cassettes", "-o", str(report)], cwd=pytester.path, check=True)
    assert report.stat().st_size > 1000

    written = [p for p in pytester.path.rglob("*") if p.is_file() and p.name != "test_keys.py"]
    assert any(p.suffix == ".yaml" for p in written) and report in written
    cassette = next(p for p in written if p.suffix == ".yaml")
    assert b"REDACTED" in cassette.read_bytes()
    for secret in (KEY, PHRASE):
        for form, needle in forms_of(secret).items():
            leaks = [str(p.relative_to(pytester.path)) for p in written if needle in p.read_bytes()]
            assert leaks == [], f"{secret!r} ({form}) reached disk in {leaks}"

    # And `check` finds nothing left to worry about.
    checked = subprocess.run([*cli, "check", "cassettes"], cwd=pytester.path, capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout


def test_a_key_split_across_chunks_is_redacted_and_the_boundaries_stay(
    tmp_path: Path, upstream: RawUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    cassette = tmp_path / "split.yaml"
    with (
        use_cassette(cassette, record_mode="all"),
        httpx.Client() as client,
        client.stream("GET", upstream.url + "/split") as r,
    ):
        live = list(r.iter_raw())
    assert len(live) == 3 and KEY.encode() in b"".join(live)

    chunks = [c.data for c in load(cassette).interactions[0].response.chunks]  # type: ignore[union-attr]
    # The key started in the first chunk: the placeholder is there; the rest of it is gone from the
    # second; every other byte is where the server put it.
    assert chunks == [b'data: {"echo": "REDACTED', b'"}\n\n', b"data: [DONE]\n\n"]
    with use_cassette(cassette), httpx.Client() as client, client.stream("GET", upstream.url + "/split") as r:
        assert list(r.iter_raw()) == chunks


def test_a_broken_streams_error_message_is_redacted(
    tmp_path: Path, upstream: RawUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    cassette = tmp_path / "broken.yaml"
    with (
        use_cassette(cassette, record_mode="all"),
        httpx.Client() as client,
        pytest.raises(httpx.RemoteProtocolError, match="illegal chunk header") as live,
        client.stream("GET", upstream.url + "/broken") as r,
    ):
        r.read()
    assert KEY in str(live.value)
    error = load(cassette).interactions[0].response.error  # type: ignore[union-attr]
    assert error is not None and KEY not in error.message and "REDACTED" in error.message
    with (
        use_cassette(cassette),
        httpx.Client() as client,
        pytest.raises(httpx.RemoteProtocolError, match="REDACTED"),
        client.stream("GET", upstream.url + "/broken") as r,
    ):
        r.read()


def test_compressed_request_bodies_are_stored_decoded_and_replay(
    tmp_path: Path, upstream: RawUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    payload = f'{{"model": "m", "key": "{KEY}"}}'.encode()
    cassette = tmp_path / "gz.yaml"

    def send() -> int:
        with httpx.Client() as client:
            headers = {"content-encoding": "gzip", "content-type": "application/json"}
            body = gzip.compress(payload, mtime=0)
            return client.post(upstream.url + "/echo", content=body, headers=headers).status_code

    with use_cassette(cassette, record_mode="all"):
        assert send() == 200
    request = yaml.safe_load(cassette.read_text())["interactions"][0]["request"]
    assert request["body"] == {"json": {"model": "m", "key": "REDACTED"}, "json_style": "spaced"}
    assert "content-encoding" not in request["headers"]
    # Format 2 stores no content-length (a volatile header); when kept, it is the decoded length.
    assert request["headers"].get("content-length", str(len(payload))) == str(len(payload))
    with use_cassette(cassette) as replay:
        assert send() == 200
    assert replay.play_count == 1


def stream_error_cassette(path: Path, secret: str) -> None:
    request = Request("POST", "http://127.0.0.1:9/v1/chat/completions")
    chunks_then_error = Response(
        200,
        (("content-type", "text/event-stream"),),
        chunks=(),
        error=TransportFailure("RemoteProtocolError", f"illegal chunk header: b'{secret}'"),
    )
    failed = TransportFailure("ConnectError", f"cannot reach http://h/?token={quote(secret, safe='')}")
    save(path, CassetteData([Interaction(request, chunks_then_error), Interaction(request, error=failed)]))


def test_scrub_redact_value_covers_transport_error_messages(tmp_path: Path) -> None:
    cassette = tmp_path / "old.yaml"
    secret = "an-old/key+that-was-not-in-the-env-0042"
    stream_error_cassette(cassette, secret)
    cli = [sys.executable, "-m", "llm_cassette.cli"]
    done = subprocess.run([*cli, "scrub", "--redact-value", secret, str(cassette)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "error message" in done.stdout
    text = cassette.read_bytes()
    for form, needle in forms_of(secret).items():
        assert needle not in text, form
    assert text.count(b"REDACTED") == 2


def test_check_finds_a_key_split_across_two_chunks_of_an_old_recording(tmp_path: Path) -> None:
    key = b"sk-proj-FAKEfakeFAKEfake0123456789"
    events = (("content-type", "text/event-stream"),)
    pieces = (b'data: {"echo": "' + key[:12], key[12:] + b'"}\n\n', b"data: [DONE]\n\n")
    response = Response(200, events, chunks=tuple(Chunk(p) for p in pieces))
    cassette = tmp_path / "old.yaml"
    save(cassette, CassetteData([Interaction(Request("GET", "http://h/split"), response)]))
    found = subprocess.run(
        [sys.executable, "-m", "llm_cassette.cli", "check", str(cassette)], capture_output=True, text=True
    )
    assert found.returncode == 1
    chunk_line = next(n for n, line in enumerate(cassette.read_text().splitlines(), 1) if "sk-proj-FAKE" in line)
    assert f"{cassette}:{chunk_line}: openai-key: possible OpenAI API key 'sk-pro…' (split across" in found.stdout
    assert key.decode() not in found.stdout


def test_check_finds_a_key_in_a_binary_base64_body_and_in_a_basic_credential(tmp_path: Path) -> None:
    key = b"sk-proj-" + b"Q" * 4 + b"fakeFAKEfake0123456789"
    audio = bytes(range(256)) * 8 + key + bytes(range(255, -1, -1)) * 8  # mostly binary
    basic = base64.b64encode(b"user:" + key).decode()
    cassette = tmp_path / "upload.yaml"
    cassette.write_text(
        "version: 1\ninteractions:\n- request:\n    method: POST\n    url: http://h/v1/audio/transcriptions\n"
        f"    headers:\n      x-upstream-auth: Basic {basic}\n"
        f"    body:\n      base64: {base64.b64encode(audio).decode()}\n"
        "  response:\n    status: 200\n"
    )
    cli = [sys.executable, "-m", "llm_cassette.cli"]
    found = subprocess.run([*cli, "check", str(cassette)], capture_output=True, text=True)
    assert found.returncode == 1
    lines = [line for line in found.stdout.splitlines() if "OpenAI API key" in line]
    assert [line.split(":")[1] for line in lines] == ["7", "9"], found.stdout
    assert key.decode() not in found.stdout  # findings are masked


def test_each_session_redacts_the_keys_the_environment_holds_as_it_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Redactors are shared between sessions with the same options, never across a changed key."""
    from llm_cassette.core.redaction import Redactor

    first, second = "sk-first-key-0123456789", "sk-second-key-0123456789"
    monkeypatch.setenv("OPENAI_API_KEY", first)
    assert first in Redactor.build().values
    monkeypatch.setenv("OPENAI_API_KEY", second)
    now = Redactor.build()
    assert second in now.values and first not in now.values
    assert now.redact_bytes(f"key={second}".encode()) == b"key=REDACTED"
    monkeypatch.delenv("OPENAI_API_KEY")
    assert second not in Redactor.build().values
    assert "x-custom" in Redactor.build(headers=["X-Custom"]).headers
    assert "x-custom" not in Redactor.build().headers
