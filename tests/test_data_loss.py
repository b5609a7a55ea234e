"""Nothing recorded is lost: Ctrl-C under pytest, re-recording one test of a shared cassette, two
sessions on one file, a folder where the cassette should be, parametrize ids that differ only in
characters unsafe in file names.

Each case goes through a public door (the pytest plugin in an inner run, `use_cassette`); the
Ctrl-C cases send a real SIGINT to a real pytest process recording from the real fake server.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from textwrap import dedent
from typing import Any

import openai
import pytest
import yaml

from helpers import PYTEST_TAKING_CTRL_C, TAKES_CTRL_C
from llm_cassette import CassetteError, load, use_cassette
from llm_cassette.fake_server import FakeServer

OPENAI_KEY = "sk-fake-openai-key-for-tests-0000"


def prompts_in(path: Path) -> list[str]:
    """The last user message of every request in a cassette, in file order."""
    out = []
    for it in load(path).interactions:
        body: Any = it.request.json()
        out.append(body["messages"][-1]["content"])
    return out


def ask(client: openai.OpenAI, prompt: str) -> str:
    reply = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": prompt}])
    return reply.choices[0].message.content or ""


# --- Ctrl-C under pytest -------------------------------------------------------------------------

INTERRUPTED = """
import os
from pathlib import Path

import openai
import pytest

def client():
    return openai.OpenAI(base_url=os.environ["OPENAI_BASE_URL"], api_key="sk-fake-ctrl-c-key-0000", max_retries=0)

def ask(c, prompt):
    return c.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": prompt}])

@pytest.mark.llm_cassette
def test_three_calls():
    with client() as c:
        ask(c, "one")
        if os.environ.get("ONLY_ONE"):
            return
        ask(c, "two")
        # 60 slow events (100 ms apart): the parent interrupts after the third one arrived.
        stream = c.chat.completions.create(
            model="gpt-4o-mini+chunks60+delay100", messages=[{"role": "user", "content": "three"}], stream=True
        )
        for n, _ in enumerate(stream):
            if n == 3:
                Path(os.environ["READY_FILE"]).write_text("streaming")
"""


def interrupt_while_streaming(pytester: pytest.Pytester, *args: str) -> tuple[int, str]:
    """Run the module in a real pytest process and press Ctrl-C (SIGINT) during the third call."""
    ready = pytester.path / "ready"
    ready.unlink(missing_ok=True)
    os.environ["READY_FILE"] = str(ready)
    proc = pytester.popen(
        [sys.executable, *PYTEST_TAKING_CTRL_C, "-p", "no:cacheprovider", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while not ready.exists():
        assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
        assert time.monotonic() < deadline, "the inner test never reached its stream"
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    return proc.returncode, out.decode()


def test_ctrl_c_under_pytest_saves_what_completed_and_marks_the_open_stream_cut(
    pytester: pytest.Pytester, fake_env: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_interrupted=INTERRUPTED)
    code, out = interrupt_while_streaming(pytester, "--record")
    assert code == 2, out  # pytest's "interrupted"
    assert "KeyboardInterrupt" in out
    cassette = pytester.path / "cassettes/test_interrupted/test_three_calls.yaml"
    assert f"llm-cassette: interrupted: saved {cassette}" in out

    its = load(cassette).interactions
    assert prompts_in(cassette) == ["one", "two", "three"]
    assert all(it.response is not None and not it.response.cut for it in its[:2])
    cut = its[2].response
    assert cut is not None and cut.cut and cut.streamed and cut.error is None
    assert 4 <= len(cut.chunks or ()) < 60 and b"[DONE]" not in cut.content  # nothing made up
    assert not list(cassette.parent.glob(".*.tmp"))

    # What completed replays offline.
    monkeypatch.setenv("ONLY_ONE", "1")
    sent = fake_env.request_count
    pytester.runpytest("-W", "ignore::llm_cassette.UnusedInteractionsWarning").assert_outcomes(passed=1)
    assert fake_env.request_count == sent


def test_ctrl_c_during_new_episodes_keeps_the_old_and_the_new_interactions(
    pytester: pytest.Pytester, fake_env: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_interrupted=INTERRUPTED)
    monkeypatch.setenv("ONLY_ONE", "1")
    pytester.runpytest("--record").assert_outcomes(passed=1)
    monkeypatch.delenv("ONLY_ONE")
    cassette = pytester.path / "cassettes/test_interrupted/test_three_calls.yaml"
    assert prompts_in(cassette) == ["one"]

    code, out = interrupt_while_streaming(pytester, "--record")
    assert code == 2, out
    assert prompts_in(cassette) == ["one", "two", "three"]  # replayed, recorded, cut
    response = load(cassette).interactions[2].response
    assert response is not None and response.cut


def test_ctrl_c_during_a_rerecording_in_all_mode_keeps_the_previous_cassette(
    pytester: pytest.Pytester, fake_env: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_interrupted=INTERRUPTED)
    monkeypatch.setenv("ONLY_ONE", "1")
    pytester.runpytest("--record").assert_outcomes(passed=1)
    monkeypatch.delenv("ONLY_ONE")
    cassette = pytester.path / "cassettes/test_interrupted/test_three_calls.yaml"
    before = cassette.read_bytes()

    code, out = interrupt_while_streaming(pytester, "--llm-record-mode=all")
    assert code == 2, out
    assert cassette.read_bytes() == before  # a partial re-recording never replaces a whole one
    assert "previous cassette kept" in out


USE_CASSETTE_SCRIPT = """
import os, sys
from pathlib import Path
import openai
from llm_cassette import use_cassette

client = openai.OpenAI(base_url=os.environ["OPENAI_BASE_URL"], api_key="sk-fake-ctrl-c-key-0000", max_retries=0)
with use_cassette(sys.argv[1], record_mode="once"):
    client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "one"}])
    stream = client.chat.completions.create(
        model="gpt-4o-mini+chunks60+delay100", messages=[{"role": "user", "content": "two"}], stream=True
    )
    for n, _ in enumerate(stream):
        if n == 3:
            Path(sys.argv[2]).write_text("streaming")
"""


def test_ctrl_c_in_a_script_using_use_cassette_saves_what_completed(tmp_path: Path, fake_server: FakeServer) -> None:
    cassette, ready = tmp_path / "c.yaml", tmp_path / "ready"
    env = dict(os.environ, OPENAI_BASE_URL=fake_server.base_url_openai)
    proc = subprocess.Popen(
        [sys.executable, "-c", TAKES_CTRL_C + USE_CASSETTE_SCRIPT, str(cassette), str(ready)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while not ready.exists():
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode != 0 and b"KeyboardInterrupt" in err
    assert prompts_in(cassette) == ["one", "two"]
    response = load(cassette).interactions[1].response
    assert response is not None and response.cut


# --- re-recording one test of a shared cassette -----------------------------------------------------

SHARED = """
import os
import openai
import pytest

def ask(q):
    with openai.OpenAI(base_url=os.environ["OPENAI_BASE_URL"], api_key="sk-fake-shared-key-0000", max_retries=0) as c:
        reply = c.chat.completions.create(model="m", messages=[{"role": "user", "content": q}])
    return reply.choices[0].message.content

pytestmark = pytest.mark.llm_cassette("shared")

def test_a():
    assert ask(os.environ.get("PROMPT_A", "a")).startswith("Echo")

def test_b():
    assert ask("b") == "Echo: b"

def test_c():
    assert ask("c") == "Echo: c"
"""


@pytest.mark.parametrize(
    "select",
    [
        pytest.param(["test_shared.py::test_a"], id="node-id"),
        pytest.param(["test_shared.py::test_a", "test_shared.py::test_b"], id="two-node-ids"),
        pytest.param(["-k", "test_a"], id="keyword"),
        pytest.param(["--lf"], id="last-failed"),
    ],
)
@pytest.mark.parametrize("mode", ["--record", "--llm-record-mode=all"])
def test_rerecording_one_test_of_a_shared_cassette_keeps_the_other_tests_interactions(
    pytester: pytest.Pytester, fake_env: FakeServer, monkeypatch: pytest.MonkeyPatch, select: list[str], mode: str
) -> None:
    pytester.makepyfile(test_shared=SHARED)
    pytester.runpytest("--record").assert_outcomes(passed=3)
    cassette = pytester.path / "cassettes/test_shared/shared.yaml"
    assert prompts_in(cassette) == ["a", "b", "c"]
    monkeypatch.setenv("PROMPT_A", "changed")
    if select == ["--lf"]:
        pytester.runpytest().assert_outcomes(passed=2, failed=1)  # test_a misses: the cache remembers it
    result = pytester.runpytest(mode, *select)
    assert result.parseoutcomes()["passed"] >= 1
    # What the other tests recorded stays; test_a's new request is in. (Which old interaction was
    # test_a's the file cannot say, so "a" may stay too: a shared cassette is never pruned by one test.)
    assert {"b", "c", "changed"} <= set(prompts_in(cassette))

    sent = fake_env.request_count
    pytester.runpytest("-W", "error::llm_cassette.UnusedInteractionsWarning").assert_outcomes(passed=3)
    assert fake_env.request_count == sent


# --- two sessions on one file --------------------------------------------------------------------------


def test_nested_use_cassette_blocks_on_one_file_keep_both_recordings(tmp_path: Path, fake_server: FakeServer) -> None:
    cassette = tmp_path / "c.yaml"
    with openai.OpenAI(base_url=fake_server.base_url_openai, api_key=OPENAI_KEY, max_retries=0) as client:
        with use_cassette(cassette, record_mode="new_episodes"):
            ask(client, "outer before")
            with use_cassette(cassette, record_mode="new_episodes"):
                ask(client, "inner")
            ask(client, "outer after")
        assert prompts_in(cassette) == ["outer before", "inner", "outer after"]

        sent = fake_server.request_count
        with use_cassette(cassette, record_mode="none"):
            assert ask(client, "outer before") == "Echo: outer before"
            with use_cassette(cassette, record_mode="none"):
                assert ask(client, "inner") == "Echo: inner"
            assert ask(client, "outer after") == "Echo: outer after"
        assert fake_server.request_count == sent


def test_two_threads_recording_one_file_keep_both_recordings(tmp_path: Path, fake_server: FakeServer) -> None:
    cassette = tmp_path / "c.yaml"
    started = threading.Barrier(2, timeout=10)
    errors: list[BaseException] = []

    @use_cassette(cassette, record_mode="new_episodes")
    def job(prompt: str) -> None:
        started.wait()  # both sessions open at once
        with openai.OpenAI(base_url=fake_server.base_url_openai, api_key=OPENAI_KEY, max_retries=0) as client:
            ask(client, prompt)
        started.wait()  # neither closes before the other sent its request

    def run(prompt: str) -> None:
        try:
            job(prompt)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(p,)) for p in ("left", "right")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == []
    assert sorted(prompts_in(cassette)) == ["left", "right"]


def test_a_second_session_with_other_options_on_an_open_file_is_refused(
    tmp_path: Path, fake_server: FakeServer
) -> None:
    cassette = tmp_path / "c.yaml"
    with openai.OpenAI(base_url=fake_server.base_url_openai, api_key=OPENAI_KEY, max_retries=0) as client:
        with use_cassette(cassette, record_mode="new_episodes"):
            ask(client, "kept")
            with (
                pytest.raises(CassetteError, match=r"c\.yaml: already open for recording .*new_episodes.*\(all mode\)"),
                use_cassette(cassette, record_mode="all"),
            ):
                pass  # pragma: no cover - refused on entry
        assert prompts_in(cassette) == ["kept"]


#: The head of the test files the tests below run: `ask(q)`, one chat completion from the fake server.
ASKING = """\
import os
import openai
import pytest

def ask(q):
    key = "sk-fake-data-loss-key-0000"
    with openai.OpenAI(base_url=os.environ["OPENAI_BASE_URL"], api_key=key, max_retries=0) as c:
        return c.chat.completions.create(model="m", messages=[{"role": "user", "content": q}])

"""


def asking(body: str) -> str:
    return ASKING + dedent(body)


def test_the_plugin_and_use_cassette_on_one_file_in_one_test_merge(
    pytester: pytest.Pytester, fake_env: FakeServer
) -> None:
    pytester.makepyfile(
        test_nested=asking(
            """
        from llm_cassette import use_cassette

        @pytest.mark.llm_cassette
        def test_both(llm_cassette):
            ask("marker")
            with use_cassette(llm_cassette.path, record_mode=llm_cassette.record_mode):
                ask("block")
        """
        )
    )
    pytester.runpytest("--record").assert_outcomes(passed=1)
    assert prompts_in(pytester.path / "cassettes/test_nested/test_both.yaml") == ["marker", "block"]


# --- a folder where the cassette should be ----------------------------------------------------------------


def test_a_cassette_path_that_is_a_folder_is_a_clear_error_before_anything_is_sent(
    pytester: pytest.Pytester, fake_env: FakeServer
) -> None:
    pytester.makepyfile(
        test_folder=asking(
            """
        @pytest.mark.llm_cassette
        def test_folder():
            ask("hello")
        """
        )
    )
    folder = pytester.path / "cassettes/test_folder/test_folder.yaml"
    (folder / "inside").mkdir(parents=True)
    for mode in ("all", "new_episodes", "once", "none"):
        result = pytester.runpytest(f"--llm-record-mode={mode}")
        result.assert_outcomes(errors=1)
        result.stdout.fnmatch_lines([f"*{folder}: is a folder, not a cassette file*"])
        result.stdout.no_fnmatch_line("*IsADirectoryError*")
    assert fake_env.request_count == 0
    assert (folder / "inside").is_dir()


def test_a_save_that_fails_keeps_the_recording_in_a_file_it_names(tmp_path: Path, fake_server: FakeServer) -> None:
    cassette = tmp_path / "c.yaml"
    with (
        openai.OpenAI(base_url=fake_server.base_url_openai, api_key=OPENAI_KEY, max_retries=0) as client,
        pytest.raises(CassetteError, match=r"c\.yaml: cannot save") as caught,
        use_cassette(cassette, record_mode="all"),
    ):
        ask(client, "precious")
        cassette.mkdir()  # something put a folder in its place during the run
    kept = Path(str(caught.value).split("recording is kept in ")[1].split()[0])
    assert prompts_in(kept) == ["precious"]


# --- parametrize ids that differ only in unsafe characters ------------------------------------------


def test_parametrize_ids_differing_only_in_unsafe_characters_get_their_own_cassettes(
    pytester: pytest.Pytester, fake_env: FakeServer
) -> None:
    pytester.makepyfile(
        test_ids=asking(
            """
        @pytest.mark.llm_cassette
        @pytest.mark.parametrize("q", ["a/b", "a_b", "a:b", "a b", "plain"])
        def test_q(q):
            reply = ask(q)
            assert reply.choices[0].message.content == "Echo: " + q
        """
        )
    )
    pytester.runpytest("--record").assert_outcomes(passed=5)
    files = sorted(p.name for p in (pytester.path / "cassettes/test_ids").iterdir())
    assert len(files) == 5
    assert "test_q[a_b].yaml" in files and "test_q[plain].yaml" in files  # names needing no change keep their path
    for name in files:
        assert len(prompts_in(pytester.path / "cassettes/test_ids" / name)) == 1
    pytester.runpytest("-W", "error::llm_cassette.UnusedInteractionsWarning").assert_outcomes(passed=5)


def test_default_cassette_paths_of_ids_needing_no_replacement_are_unchanged(
    pytester: pytest.Pytester, fake_env: FakeServer
) -> None:
    pytester.makepyfile(
        test_paths="""
        import pytest

        class TestGroup:
            @pytest.mark.llm_cassette
            @pytest.mark.parametrize("q", ["x-1", "y.2", "k=v,w+z@h"])
            def test_p(self, q, llm_cassette):
                print("PATH", llm_cassette.path.relative_to(llm_cassette.path.parents[2]))
        """
    )
    # Recording mode: a replaying test whose cassette does not exist fails (issue 16, nothing silent).
    result = pytester.runpytest("-s", "--llm-record-mode=once")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(
        [
            "*PATH cassettes/test_paths/TestGroup.test_p[[]x-1[]].yaml",
            "*PATH cassettes/test_paths/TestGroup.test_p[[]y.2[]].yaml",
            "*PATH cassettes/test_paths/TestGroup.test_p[[]k=v,w+z@h[]].yaml",
        ]
    )


def test_unused_warning_is_not_given_to_a_test_that_skipped_itself(
    pytester: pytest.Pytester, fake_env: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(
        test_skip=asking(
            """
        @pytest.mark.llm_cassette
        def test_maybe():
            ask("one")
            if os.environ.get("SKIP_NOW"):
                pytest.skip("not today")
            ask("two")
        """
        )
    )
    pytester.runpytest("--record").assert_outcomes(passed=1)
    monkeypatch.setenv("SKIP_NOW", "1")
    result = pytester.runpytest("-W", "error::llm_cassette.UnusedInteractionsWarning")
    result.assert_outcomes(skipped=1)
    result.stdout.no_fnmatch_line("*UnusedInteractionsWarning*")
    assert yaml.safe_load((pytester.path / "cassettes/test_skip/test_maybe.yaml").read_text())["interactions"]


def test_a_cassette_committed_under_an_earlier_name_of_an_unsafe_id_still_replays(
    pytester: pytest.Pytester, fake_env: FakeServer
) -> None:
    pytester.makepyfile(
        test_old="""
        import os
        import openai
        import pytest

        @pytest.mark.llm_cassette
        @pytest.mark.parametrize("q", ["a/b"])
        def test_q(q):
            with openai.OpenAI(base_url=os.environ["OPENAI_BASE_URL"], api_key="sk-fake-ids-0000", max_retries=0) as c:
                assert c.chat.completions.create(model="m", messages=[{"role": "user", "content": q}]).choices
        """
    )
    pytester.runpytest("--record").assert_outcomes(passed=1)
    folder = pytester.path / "cassettes/test_old"
    (new,) = folder.iterdir()
    old = folder / "test_q[a_b].yaml"  # the name earlier versions gave this id
    new.rename(old)
    sent = fake_env.request_count
    pytester.runpytest().assert_outcomes(passed=1)
    assert fake_env.request_count == sent
    pytester.runpytest("--llm-record-mode=all").assert_outcomes(passed=1)
    assert sorted(p.name for p in folder.iterdir()) == sorted([old.name, new.name])  # re-recorded under today's name
