"""Crash safety: however a recording run ends, the cassette on disk is the previous one intact or a
complete new one, never a mix or a truncated file.

Interruptions inside the recorded code (an exception, Ctrl-C) go through the session's normal exit;
interruptions inside the save itself (SIGINT, SIGKILL) are produced in a child process that writes
the cassette in a loop, killed at random moments.
"""

from __future__ import annotations

import json
import os
import random
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import openai
import pytest

from helpers import TAKES_CTRL_C, openai_client, user
from llm_cassette import CassetteData, Chunk, Interaction, Request, Response, dumps, load, loads, save, use_cassette
from llm_cassette.fake_server import FakeServer
from llm_cassette.storage import iter_cassette_files, orphan_cassettes


def ask(client: openai.OpenAI, prompt: str) -> str:
    reply = client.chat.completions.create(model="gpt-4o-mini", messages=user(prompt))
    return reply.choices[0].message.content or ""


def prompts_in(path: Path) -> list[str]:
    out = []
    for it in load(path).interactions:
        body: Any = it.request.json()
        out.append(body["messages"][-1]["content"])
    return out


def temp_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.name.startswith(".") and p.name.endswith(".tmp"))


class Interrupted(Exception):
    pass


# --- interrupted inside the recorded code ----------------------------------------------------------


@pytest.mark.parametrize("interruption", [Interrupted, KeyboardInterrupt], ids=["exception", "ctrl-c"])
def test_an_interrupted_first_recording_saves_whole_interactions_and_marks_the_cut(
    interruption: type[BaseException], tmp_path: Path, fake_server: FakeServer
) -> None:
    cassette = tmp_path / "c.yaml"
    with pytest.raises(interruption):  # noqa: SIM117 - the interruption comes from inside the block
        with (
            use_cassette(cassette, record_mode="once"),
            openai_client(fake_server) as client,
        ):
            assert ask(client, "first") == "Echo: first"
            assert ask(client, "second") == "Echo: second"
            with client.chat.completions.create(
                model="gpt-4o-mini+chunks20", messages=user("third"), stream=True
            ) as stream:
                for n, _ in enumerate(stream):
                    if n == 3:
                        raise interruption()

    its = load(cassette).interactions
    assert prompts_in(cassette) == ["first", "second", "third"]
    for done in its[:2]:
        assert done.response is not None and done.response.status == 200 and not done.response.cut
    cut = its[2].response
    assert cut is not None and cut.streamed and cut.cut and cut.error is None
    assert b"data: [DONE]" not in cut.content  # what was never read is not made up
    assert temp_files(tmp_path) == []

    # What was recorded replays; the cut stream ends where the caller stopped reading.
    with (
        use_cassette(cassette, record_mode="none"),
        openai_client(fake_server) as client,
    ):
        sent = fake_server.request_count
        assert ask(client, "first") == "Echo: first"
        assert ask(client, "second") == "Echo: second"
    assert fake_server.request_count == sent


@pytest.mark.parametrize("interruption", [Interrupted, KeyboardInterrupt], ids=["exception", "ctrl-c"])
def test_an_interrupted_new_episodes_run_loses_no_earlier_recording(
    interruption: type[BaseException], tmp_path: Path, fake_server: FakeServer
) -> None:
    cassette = tmp_path / "c.yaml"
    with (
        use_cassette(cassette, record_mode="once"),
        openai_client(fake_server) as client,
    ):
        ask(client, "old one")
        ask(client, "old two")

    with pytest.raises(interruption):  # noqa: SIM117
        with (
            use_cassette(cassette, record_mode="new_episodes"),
            openai_client(fake_server) as client,
        ):
            assert ask(client, "old one") == "Echo: old one"  # replayed
            assert ask(client, "new") == "Echo: new"  # recorded
            raise interruption()

    assert sorted(prompts_in(cassette)) == ["new", "old one", "old two"]
    assert temp_files(tmp_path) == []


@pytest.mark.parametrize("interruption", [Interrupted, KeyboardInterrupt], ids=["exception", "ctrl-c"])
def test_an_interrupted_rerecording_keeps_the_previous_cassette(
    interruption: type[BaseException], tmp_path: Path, fake_server: FakeServer
) -> None:
    cassette = tmp_path / "c.yaml"
    with (
        use_cassette(cassette, record_mode="once"),
        openai_client(fake_server) as client,
    ):
        ask(client, "one")
        ask(client, "two")
    before = cassette.read_bytes()

    with pytest.raises(interruption):  # noqa: SIM117
        with (
            use_cassette(cassette, record_mode="all"),
            openai_client(fake_server) as client,
        ):
            ask(client, "one")
            raise interruption()

    assert cassette.read_bytes() == before


# --- interrupted inside the save -----------------------------------------------------------------

WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from llm_cassette.storage import atomic_write

    path = Path(sys.argv[1])
    versions = [Path(p).read_text(encoding="utf-8") for p in sys.argv[2:4]]
    try:
        atomic_write(path, versions[0])
        print("ready", flush=True)
        n = 1
        while True:  # save the two versions in turn until killed
            atomic_write(path, versions[n % 2])
            n += 1
    except KeyboardInterrupt:
        sys.exit(130)
    """
)


def two_versions(folder: Path) -> tuple[tuple[Path, CassetteData], tuple[Path, CassetteData]]:
    """Two valid cassettes of a few MB (so that a write takes a while), with different content."""
    out = []
    for tag in ("a", "b"):
        its = [
            Interaction(
                Request("POST", "http://127.0.0.1:9/v1/chat/completions", body=json.dumps({"q": f"{tag}{i}"}).encode()),
                Response(
                    200,
                    headers=(("content-type", "text/event-stream"),),
                    chunks=tuple(Chunk(f"data: {tag} {i} {j} {'x' * 200}\n\n".encode(), j) for j in range(20)),
                ),
            )
            for i in range(300 if tag == "a" else 400)  # different sizes too
        ]
        data = CassetteData(its)
        text_file = folder / f"version-{tag}.txt"
        text_file.write_text(dumps(data), encoding="utf-8")
        out.append((text_file, data))
    return out[0], out[1]


def start_writer(cassette: Path, a: Path, b: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", TAKES_CTRL_C + WRITER, str(cassette), str(a), str(b)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if line.strip() != "ready":
        proc.kill()
        pytest.fail(f"writer did not start: {line!r} {proc.communicate()[1]}")
    return proc


def which_version(cassette: Path, versions: dict[str, bytes]) -> str:
    raw = cassette.read_bytes()
    which = [name for name, text in versions.items() if raw == text]
    assert which, f"the cassette is neither complete version after the kill ({len(raw)} bytes)"
    return which[0]


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["SIGKILL", "SIGINT"])
def test_a_save_killed_at_a_random_moment_leaves_one_whole_version(sig: signal.Signals, tmp_path: Path) -> None:
    folder = tmp_path / "cassettes"
    folder.mkdir()
    cassette = folder / "shared.yaml"
    a, b = two_versions(tmp_path)
    versions = {"a": a[0].read_bytes(), "b": b[0].read_bytes()}
    data = {"a": a[1], "b": b[1]}
    for name, text in versions.items():  # both versions are valid cassettes
        assert loads(text).interactions == data[name].interactions
    rng = random.Random(1234)
    kills = 8
    for _ in range(kills):
        proc = start_writer(cassette, a[0], b[0])
        # The writer saves back to back, so a random moment almost always falls inside a save.
        time.sleep(rng.uniform(0.0, 0.2))
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode in (-signal.SIGKILL, 130), err
        which = which_version(cassette, versions)
    # What a later run loads is that complete version, not a cached parse of an earlier file.
    assert load(cassette).interactions == data[which].interactions

    leftovers = temp_files(folder)
    if sig == signal.SIGINT:
        # Ctrl-C inside a save removes its temporary file. Only a signal landing in the few
        # bytecodes between the file's creation in mkstemp and the cleanup handler can leak one.
        assert len(leftovers) <= 1, leftovers
    else:
        # SIGKILL leaves at most the temporary file being written at that moment, named so that
        # nothing takes it for a cassette.
        assert len(leftovers) <= kills
        assert all(p.name.startswith(".shared.yaml.") for p in leftovers)
    assert list(iter_cassette_files([folder])) == [cassette]
    assert orphan_cassettes(set(), [folder]) == [cassette]


def test_a_saved_cassette_keeps_the_permissions_of_a_normal_write(tmp_path: Path) -> None:
    data = CassetteData([Interaction(Request("GET", "http://127.0.0.1:9/"), Response(200, body=b"ok"))])
    existing = tmp_path / "existing.yaml"
    existing.write_text("version: 1\ninteractions: []\n")
    existing.chmod(0o644)
    save(existing, data)
    assert stat.S_IMODE(existing.stat().st_mode) == 0o644

    fresh = tmp_path / "fresh.yaml"
    old_umask = os.umask(0o022)
    try:
        save(fresh, data)
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o644


# --- two tests writing one cassette --------------------------------------------------------------

SHARED_MODULE = """
import os

import httpx
import pytest

URL = os.environ["FAKE_LLM_URL"] + "/v1/chat/completions"


def ask(prompt):
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": prompt}]}
    return httpx.post(URL, json=body).json()["choices"][0]["message"]["content"]


@pytest.mark.llm_cassette("shared")
def test_one():
    assert ask("one") == "Echo: one"


@pytest.mark.llm_cassette("shared")
def test_two():
    assert ask("two") == "Echo: two"
"""


def message_names_both_tests(output: str, cassette: str) -> bool:
    lines = output.splitlines()
    for i, line in enumerate(lines):
        if cassette in line:
            around = "\n".join(lines[max(0, i - 3) : i + 4])
            if "test_one" in around and "test_two" in around:
                return True
    return False


def test_two_xdist_workers_recording_one_cassette_are_reported(pytester: pytest.Pytester, fake_env: FakeServer) -> None:
    pytester.makepyfile(test_shared=SHARED_MODULE)
    # Two tests on two workers (xdist hands them out round robin): both record into shared.yaml.
    result = pytester.runpytest_subprocess("-n", "2", "--llm-record-mode=all")
    output = result.stdout.str() + result.stderr.str()
    assert message_names_both_tests(output, "shared.yaml"), output
    # The worker that claims the cassette second is refused (both are, when they claim at once).
    outcomes = result.parseoutcomes()
    assert outcomes.get("errors", 0) >= 1 and outcomes.get("errors", 0) + outcomes.get("passed", 0) == 2, outcomes
    # Whatever was refused, what is on disk is one test's whole recording, not a silent merge.
    cassette = pytester.path / "cassettes" / "test_shared" / "shared.yaml"
    if outcomes.get("passed"):
        assert prompts_in(cassette) in (["one"], ["two"])
    else:
        assert not cassette.exists()
