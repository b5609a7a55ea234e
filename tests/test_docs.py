"""The user guide (docs/) builds, and every sample in it runs and shows what really happens.

The pages hold their code inline (they read the same on GitHub as in the built site); a comment on
the line before a fence ties the block to the test that runs it (tests/docs_samples.py explains the
tags). A Python block no test runs is marked, on the line before its fence, `<!-- not-run: why -->`.

Here the samples run for real against the fake server: the pytest samples are written out as the
pages show them, record with `--record` and then replay with no key and the network blocked; the
scripts and the unittest sample run twice (record, then replay); the command-line outputs and miss
reports shown in the docs are produced again and compared. After an intended change of output,
rewrite them in the pages from a real run with `LLM_CASSETTE_UPDATE_DOCS=1 pytest tests/test_docs.py`,
and review the diff.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

import llm_cassette
import open_connections
from docs_samples import ROOT, all_blocks, blocks, group, pages, rewrite, samples, tagged, tree
from llm_cassette import CassetteOptions, cli, faults
from llm_cassette.core.redaction import SECRET_ENV_VARS, SECRET_HEADERS, SECRET_QUERY_KEYS
from llm_cassette.core.replay import RETRYABLE_STATUSES
from llm_cassette.fake_server import FakeServer

DOCS = ROOT / "docs"
UPDATE = bool(os.environ.get("LLM_CASSETTE_UPDATE_DOCS"))

OPENAI_KEY = "sk-fake-docs-openai-key-000000000000"
ANTHROPIC_KEY = "sk-ant-fake-docs-anthropic-key-0000000"
PYTHON_LANGS = {"python", "py", "python3", "pycon"}
# Where the docs pretend a project lives, in place of a test's temporary folder.
PROJECT = "/src/app"


def sample(name: str) -> str:
    text = samples(check=not UPDATE).get(name)  # an update makes the copies of an output the same again
    assert text is not None, f"no page shows the sample {name!r} (a `<!-- sample: {name} -->` block)"
    return text


def materialise(files: dict[str, str], into: Path) -> None:
    """Write sample files into a project, each at the path the page gives it."""
    for rel, text in files.items():
        (into / rel).parent.mkdir(parents=True, exist_ok=True)
        (into / rel).write_text(text, encoding="utf-8")


# --- the pages and their code blocks -------------------------------------------------------------


def test_every_python_block_is_run_or_marked_not_run() -> None:
    assert pages(), "no pages found under docs/"
    bad = [str(b) for b in all_blocks() if b.lang in PYTHON_LANGS and not b.tag]
    assert not bad, (
        "Python blocks that no test runs: tag them `<!-- sample: group/path -->` (see tests/docs_samples.py), "
        f"or mark them `<!-- not-run: reason -->` on the line before the fence: {bad}"
    )


def test_no_page_includes_a_file_by_reference() -> None:
    # GitHub shows an include line as it is: a page must hold its code itself.
    sources = [ROOT / "README.md", *sorted(DOCS.rglob("*.md")), ROOT / "mkdocs.yml"]
    found = [f"{s.relative_to(ROOT)}:{n}" for s in sources for n, line in enumerate(s.read_text().splitlines(), 1)
             if "--8<--" in line]  # fmt: skip
    assert not found, f"snippet include lines left: {found}"
    assert not (DOCS / "snippets").exists(), "docs/snippets/ is gone: samples live in the pages"


# The groups of samples, by the test that runs each; a sample in another group runs nowhere.
GROUPS = {"tests", "fastapi", "scripts", "unittest", "config", "cassettes", "output"}


def test_every_sample_is_run_by_a_test() -> None:
    names = set(samples())
    assert {name.split("/", 1)[0] for name in names} <= GROUPS, sorted(names)
    # In the groups read by name, every sample is one a test reads.
    read = {f"config/{n}" for n in CONFIG_SAMPLES} | {f"cassettes/{n}" for n in CASSETTE_SAMPLES}
    read |= {f"output/{n}" for n in OUTPUT_SAMPLES}
    by_name = {n for n in names if n.split("/", 1)[0] in ("config", "cassettes", "output")}
    assert by_name - read == set(), "samples shown that no test checks"
    assert read - by_name == set(), "samples a test checks that no page shows"


def test_excerpts_are_part_of_their_samples() -> None:
    found = tagged("excerpt")
    assert found
    for name, block in found:
        assert block.text in sample(name), f"{block}: not a contiguous part of the sample {name!r}"


def test_copies_are_the_files_they_copy() -> None:
    found = tagged("copy")
    assert found
    for name, block in found:
        path = ROOT / name
        assert path.is_file(), f"{block}: {name} does not exist"
        text = path.read_text(encoding="utf-8")
        if UPDATE:
            rewrite("copy", name, text)
            continue
        assert block.text == text, f"{block}: not a copy of {name} (LLM_CASSETTE_UPDATE_DOCS=1 rewrites it)"


# --- mkdocs --------------------------------------------------------------------------------------


def test_mkdocs_build_strict(tmp_path: Path) -> None:
    pytest.importorskip("mkdocs", reason="mkdocs is not installed: pip install -e '.[docs]'")
    pytest.importorskip("material", reason="mkdocs-material is not installed: pip install -e '.[docs]'")
    site = tmp_path / "site"
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(ROOT / "mkdocs.yml"), "-d", str(site)],
        cwd=tmp_path,  # the snippet paths must not depend on the working directory
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    html = (site / "getting-started" / "index.html").read_text(encoding="utf-8")
    assert "test_summary_mentions_paris" in html, "the snippet was not included"
    for page in site.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert "--8&lt;--" not in text and "--8<--" not in text, f"{page}: a snippet marker was left unexpanded"


# --- the pytest samples: record, then replay offline ---------------------------------------------


def test_pytest_samples_record_then_replay_offline(
    pytester: pytest.Pytester, fake_env: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makeini("[pytest]\n")
    files = group("tests")
    assert "test_summary.py" in files
    materialise(files, pytester.path / "tests")
    n_tests = sum(len(re.findall(r"^\s*(?:async )?def test_", text, re.M)) for text in files.values())
    n_tests += 1  # test_markers.test_parametrized runs twice

    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    monkeypatch.setenv("ANTHROPIC_API_KEY", ANTHROPIC_KEY)
    recorded = pytester.runpytest("--record")
    # The samples build clients as users do (`client = OpenAI()`, never closed); in this process,
    # their open sockets must not outlive this test.
    open_connections.let_go_of_unclosed_clients()
    recorded.assert_outcomes(passed=n_tests)
    calls = fake_env.request_count
    assert calls > 0

    cassettes = pytester.path / "cassettes" / "tests"
    for rel in [
        "test_summary/test_summary_mentions_paris.yaml",
        "test_markers/test_default_name.yaml",
        "test_markers/paris.yaml",
        "test_markers/test_parametrized[Lisbon].yaml",
        "test_markers/TestTranslation.test_french.yaml",
    ]:
        assert (cassettes / rel).is_file(), f"the docs promise {rel}"
    for path in cassettes.rglob("*.yaml"):
        text = path.read_text(encoding="utf-8")
        assert OPENAI_KEY not in text and ANTHROPIC_KEY not in text, f"{path} holds a key"
    secrets = (cassettes / "test_secrets/test_nothing_private_is_stored.yaml").read_text(encoding="utf-8")
    for private in ["tenant-secret-value", "s-123456789", "user-8842", "ada@example.com", "acme-internal-project-42"]:
        assert private not in secrets
    assert "x-stainless-" not in secrets, "before_record_request did not run"
    for redacted in [
        "x-tenant-token: REDACTED",
        "session=REDACTED",
        "user: REDACTED",
        "customer_email: REDACTED",
        "Status of project REDACTED?",
    ]:
        assert redacted in secrets

    # Replay: no key, the network blocked, stale cassettes an error. Nothing reaches the server.
    monkeypatch.delenv("OPENAI_API_KEY")
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    replayed = pytester.runpytest("--llm-block-network", "--llm-cassette-strict")
    replayed.assert_outcomes(passed=n_tests)
    replayed.stdout.fnmatch_lines(["llm-cassette: * cassettes replayed, * interactions, 0 network calls, 0 recorded*"])
    assert fake_env.request_count == calls, "a replay reached the server"


def test_fastapi_project_runs_as_the_page_shows_it(
    pytester: pytest.Pytester, fake_env: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """docs/fastapi.md's project, written out file by file where its tree puts them: record, replay."""
    pytest.importorskip("fastapi")
    files = group("fastapi")
    assert sorted(files) == sorted(tree("fastapi")), "the page's tree and the files it shows differ"
    materialise(files, pytester.path)
    n_tests = len(re.findall(r"^(?:async )?def test_", files["tests/test_chat_app.py"], re.M))

    # `OPENAI_API_KEY=sk-... pytest --record`, the fake server standing in for the real API.
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    pytester.runpytest("--record").assert_outcomes(passed=n_tests)
    calls = fake_env.request_count
    folder = pytester.path / "cassettes" / "tests" / "test_chat_app"
    assert sorted(p.name for p in folder.iterdir()) == ["test_ask.yaml", "test_stream_relay.yaml"]
    stream = llm_cassette.load(folder / "test_stream_relay.yaml").interactions[0].response
    assert stream is not None and len(stream.chunks) > 1, "the stream was recorded as one block"

    # `pytest`: offline, no key; nothing reaches the server.
    monkeypatch.delenv("OPENAI_API_KEY")
    pytester.runpytest("--llm-block-network").assert_outcomes(passed=n_tests)
    assert fake_env.request_count == calls, "a replay reached the server"


def test_configuration_sample_is_valid(
    pytester: pytest.Pytester, fake_env: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocked = pytester.path / "blocked.txt"
    monkeypatch.setenv("BLOCKED_OUT", str(blocked))
    config = sample("config/pyproject.toml")
    pytester.makepyprojecttoml(config)
    pytester.makepyfile(
        test_config="""
        import os

        import httpx
        import pytest

        from llm_cassette import NetworkBlocked

        @pytest.mark.llm_cassette
        def test_cassette_folder(llm_cassette):
            assert llm_cassette.path.parts[-4:] == ("tests", "cassettes", "test_config", "test_cassette_folder.yaml")

        def test_localhost_is_allowed():
            assert httpx.get(os.environ["FAKE_LLM_URL"] + "/v1/models").status_code == 200

        def test_other_hosts_are_blocked():
            try:
                httpx.post("https://api.openai.com/v1/chat/completions", json={})
            except NetworkBlocked as blocked:  # caught: the test fails anyway
                with open(os.environ["BLOCKED_OUT"], "w") as out:
                    out.write(str(blocked) + "\\n")

        def test_allowed_host_pattern(pytestconfig):
            assert "*.blob.core.windows.net" in pytestconfig.getini("llm_cassette_allowed_hosts")
        """
    )
    # The test checking the folder reads a cassette that exists (a missing one fails a replay).
    folder = pytester.path / "tests" / "cassettes" / "test_config"
    folder.mkdir(parents=True)
    (folder / "test_cassette_folder.yaml").write_text("version: 1\ninteractions: []\n", encoding="utf-8")
    # --strict-config: a misspelt setting in the sample would be an error.
    result = pytester.runpytest("--strict-config")
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(["*test_other_hosts_are_blocked*", "*the code under test caught the error*"])
    _compare("network-blocked.txt", blocked.read_text(encoding="utf-8"))


# --- scripts and unittest: record, then replay ---------------------------------------------------


def _env(fake: FakeServer, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("LLM_CASSETTE_RECORD_MODE", "PYTEST_ADDOPTS")}
    env.update(OPENAI_BASE_URL=fake.base_url_openai, OPENAI_API_KEY=OPENAI_KEY, **extra)
    return env


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


# Both scripts run as `python <script>` runs them (as __main__), one interpreter per pass: the
# second also shows that the first left nothing patched behind.
RUN_SCRIPTS = "import runpy\nfor s in ['summarize.py', 'async_pipeline.py']: runpy.run_path(s, run_name='__main__')"


def test_script_samples_record_then_replay(tmp_path: Path, fake_server: FakeServer) -> None:
    scripts = group("scripts")
    assert sorted(scripts) == ["async_pipeline.py", "summarize.py"]
    materialise(scripts, tmp_path)
    env = _env(fake_server)

    first = _run([sys.executable, "-c", RUN_SCRIPTS], tmp_path, env).stdout.splitlines()
    answers = ["The capital of France is Paris.", "Hello! How can I help you today?"]
    assert first[1:] == ["0 replayed, 1 recorded", *answers]
    calls = fake_server.request_count
    assert calls == 3
    assert (tmp_path / "cassettes" / "summarize.yaml").is_file()

    again = _run([sys.executable, "-c", RUN_SCRIPTS], tmp_path, env).stdout.splitlines()
    assert again == [first[0], "1 replayed, 0 recorded", *answers]
    assert fake_server.request_count == calls


def test_unittest_sample_records_then_replays(tmp_path: Path, fake_server: FakeServer) -> None:
    [(name, text)] = group("unittest").items()
    materialise({name: text}, tmp_path)
    command = [sys.executable, "-m", "unittest", name.removesuffix(".py")]

    recorded = _run(command, tmp_path, _env(fake_server, LLM_CASSETTE_RECORD_MODE="new_episodes"))
    assert "Ran 2 tests" in recorded.stderr
    assert fake_server.request_count == 2
    assert sorted(p.name for p in (tmp_path / "cassettes").iterdir()) == ["test_echo.yaml", "test_paris.yaml"]

    _run(command, tmp_path, _env(fake_server))
    assert fake_server.request_count == 2


# --- cassettes shown in the docs ----------------------------------------------------------------


CASSETTE_SAMPLES = ["example.yaml", "weather_agent.yaml", "vcr_cassette.yaml"]  # the last one vcrpy's


@pytest.mark.parametrize("name", CASSETTE_SAMPLES[:2])
def test_example_cassettes_are_valid_and_written_exactly_as_shown(name: str) -> None:
    text = sample(f"cassettes/{name}")
    data = llm_cassette.loads(text)
    assert llm_cassette.dumps(data) == text, "the writer would not produce this file as shown"


def test_example_cassette_shows_every_key_the_format_page_describes() -> None:
    text = sample("cassettes/example.yaml")
    data = llm_cassette.loads(text)
    kinds = {k for it in data.interactions for k in ("error",) if it.error}
    responses = [it.response for it in data.interactions if it.response]
    assert kinds == {"error"}
    assert any(r.chunks and r.error for r in responses) and any(r.cut for r in responses)
    for key in ["json:", "json_style:", "text:", "base64:", "chunks:", "cut: true", "- Origin", "recorded_at:",
                "      data:", "      event: message_start", "      events:"]:  # fmt: skip
        assert key in text
    page = (DOCS / "cassette-format.md").read_text(encoding="utf-8")
    for key in ["version", "interactions", "request", "response", "error", "method", "url", "headers",
                "body", "status", "t", "chunks", "cut", "json", "json_style", "text", "base64",
                "type", "message", "recorded_at", "data", "event", "events"]:  # fmt: skip
        assert f"`{key}`" in page, f"cassette-format.md does not describe `{key}`"


# --- command-line outputs shown in the docs ----------------------------------------------------


def _compare(name: str, actual: str) -> None:
    """The output a page shows as `<!-- sample: output/NAME -->` is what the command printed."""
    if UPDATE:
        assert rewrite("sample", f"output/{name}", actual), f"no page shows output/{name}"
        assert sample(f"output/{name}") == actual, f"output/{name} cannot be shown as printed (no final newline?)"
        return
    shown = sample(f"output/{name}")
    assert actual == shown, f"output/{name}, as the docs show it, is not what the command prints now"


# A key-shaped value pasted into a prompt; assembled so that this file does not hold one.
PASTED_KEY = "sk-proj-" + "Xq8vT2mLw9RzK4nB7cYd1FhJ3sGp5"
GATEWAY_KEY = "gw-" + "9f8e7d6c5b4a39281706f5e4d3c2b1a0"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project with the sample cassettes, one of them leaking a pasted key and a custom header."""
    good = sample("cassettes/weather_agent.yaml")
    leaky = good.replace(
        "      authorization: REDACTED\n", f"      authorization: REDACTED\n      x-gateway-key: {GATEWAY_KEY}\n"
    ).replace("Lisbon?", f"Oslo? My key is {PASTED_KEY}", 1)
    folder = tmp_path / "cassettes" / "tests" / "test_weather"
    folder.mkdir(parents=True)
    (folder / "test_lisbon.yaml").write_text(good, encoding="utf-8")
    (folder / "test_oslo.yaml").write_text(leaky, encoding="utf-8")
    (tmp_path / "prices.yaml").write_text(sample("config/prices.yaml"), encoding="utf-8")
    vcr = tmp_path / "tests" / "cassettes" / "test_chat"
    vcr.mkdir(parents=True)
    (vcr / "test_hello.yaml").write_text(sample("cassettes/vcr_cassette.yaml"), encoding="utf-8")
    for var in SECRET_ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.chdir(tmp_path)
    return tmp_path


# In the order they run: each sees what the previous ones did to the project. "$KEY" stands for the
# pasted key, as a shell variable would in the docs.
SCRUB = "--redact-header x-gateway-key --redact-value $KEY cassettes"
CLI_SAMPLES = [
    ("check-leak.txt", "llm-cassette check", 1),
    ("scrub-dry-run.txt", f"llm-cassette scrub --dry-run {SCRUB}", 0),
    ("scrub.txt", f"llm-cassette scrub {SCRUB}", 0),
    ("check-clean.txt", "llm-cassette check", 0),
    ("show.txt", "llm-cassette show cassettes/tests/test_weather/test_lisbon.yaml", 0),
    ("diff.txt", "llm-cassette diff cassettes/tests/test_weather/test_lisbon.yaml cassettes/tests/test_weather/test_oslo.yaml", 1),  # noqa: E501
    ("stats.txt", "llm-cassette stats --prices prices.yaml", 0),
    ("import.txt", "llm-cassette import tests/cassettes --out cassettes/tests", 0),
    ("report.txt", "llm-cassette report --output cassette-report.html", 0),
]  # fmt: skip


def test_command_line_outputs_match_the_docs(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name, command, code in CLI_SAMPLES:
        args = [PASTED_KEY if a == "$KEY" else a for a in shlex.split(command, posix=True)[1:]]
        assert cli.main(args) == code, f"{command}: exit code"
        out = capsys.readouterr().out
        _compare(name, f"$ {command}\n{out}")
    assert (project / "cassette-report.html").is_file()
    _compare("imported.yaml", (project / "cassettes/tests/test_chat/test_hello.yaml").read_text(encoding="utf-8"))


def test_prune_output_matches_the_docs(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "tests" / "test_weather.py").write_text(
        "import pytest\n\n\n@pytest.mark.llm_cassette\ndef test_lisbon():\n    pass\n", encoding="utf-8"
    )
    (project / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    # The collection runs in a subprocess: keep out the plugins that cannot load beside ours here.
    monkeypatch.setenv("PYTEST_ADDOPTS", "-p no:cassetter -p no:hypothesispytest -p no:xdist -p no:randomly")
    assert cli.main(["prune"]) == 1, "orphans found: a dry run fails"
    _compare("prune.txt", "$ llm-cassette prune\n" + capsys.readouterr().out.replace(str(project), PROJECT))


MISSES = {
    "miss-getting-started.txt": (
        "tests/test_summary.py",
        "test_summary_mentions_paris",
        {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Capital of France?"}]},
        {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "What is the capital of France?"}]},
    ),
    "miss-matching.txt": (
        "tests/test_chat.py",
        "test_reply",
        {
            "model": "gpt-4o-mini",
            "temperature": 0.2,
            "messages": [
                {"role": "system", "content": "Be concise."},
                {"role": "user", "content": "Capital of France?"},
            ],
        },
        {
            "model": "gpt-4o-mini",
            "temperature": 0.7,
            "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Capital of France?"}],
        },
    ),
}


# Every output the pages show, by the test that produces it.
OUTPUT_SAMPLES = [name for name, _, _ in CLI_SAMPLES] + list(MISSES)
OUTPUT_SAMPLES += ["network-blocked.txt", "imported.yaml", "prune.txt", "strict-unused.txt"]
CONFIG_SAMPLES = ["pyproject.toml", "github-actions.yml", "nightly-drift.yml", "pre-commit-config.yaml", "prices.yaml"]


def test_miss_reports_match_the_docs(pytester: pytest.Pytester, fake_env: FakeServer) -> None:
    pytester.makeini("[pytest]\n")
    url = "https://api.openai.com/v1/chat/completions"
    for name, (module, test, recorded, sent) in MISSES.items():
        cassette = pytester.path / "cassettes" / module.removesuffix(".py") / f"{test}.yaml"
        request = llm_cassette.Request("POST", url, (("content-type", "application/json"),), _json(recorded))
        response = llm_cassette.Response(200, (("content-type", "application/json"),), b'{"choices":[]}')
        llm_cassette.save(cassette, llm_cassette.CassetteData([llm_cassette.Interaction(request, response)]))
        out = pytester.path / f"{name}.out"
        (pytester.path / module).parent.mkdir(exist_ok=True)
        (pytester.path / module).write_text(
            "import httpx\nimport pytest\n\nfrom llm_cassette import CassetteMiss\n\n\n"
            f"@pytest.mark.llm_cassette\ndef {test}():\n"
            "    try:\n"
            f"        httpx.post({url!r}, content={_json(sent)!r}, headers={{'content-type': 'application/json'}})\n"
            "    except CassetteMiss as miss:\n"
            f"        open({str(out)!r}, 'w').write(str(miss) + '\\n')\n",
            encoding="utf-8",
        )
        # The test caught the miss, and fails anyway.
        pytester.runpytest(module).assert_outcomes(failed=1)
        _compare(name, out.read_text(encoding="utf-8").replace(str(pytester.path), PROJECT))
    assert fake_env.request_count == 0


def test_unused_interactions_report_matches_the_docs(pytester: pytest.Pytester, fake_env: FakeServer) -> None:
    pytester.makeini("[pytest]\n")
    cassette = pytester.path / "cassettes/tests/test_agent/test_weather_tool.yaml"
    cassette.parent.mkdir(parents=True)
    cassette.write_text(sample("cassettes/weather_agent.yaml"), encoding="utf-8")
    data = llm_cassette.load(cassette)
    # The test sends the first and the last request of the recording, not the second.
    calls = "\n".join(
        f"    httpx.post({it.request.url!r}, content={it.request.body!r})"
        for it in (data.interactions[0], data.interactions[2])
    )
    module = "import httpx\nimport pytest\n\n\n@pytest.mark.llm_cassette\ndef test_weather_tool():\n"
    pytester.makepyfile(**{"tests/test_agent": module + calls + "\n"})
    result = pytester.runpytest("--llm-cassette-strict", "-rf")
    result.assert_outcomes(failed=1)
    lines = result.stdout.lines
    start = next(i for i, line in enumerate(lines) if "recorded interaction(s) were not used" in line)
    end = next(i for i in range(start, len(lines)) if lines[i].startswith("(--llm-cassette-strict)"))
    report = "\n".join(lines[start : end + 1]).replace(str(pytester.path), PROJECT)
    _compare("strict-unused.txt", report + "\n")
    assert fake_env.request_count == 0


def _json(value: object) -> bytes:
    import json

    return json.dumps(value, separators=(",", ":")).encode()


# --- the docs name every option, flag, setting and command -------------------------------------


def _all_text() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in pages())


def _plugin_flags(config: pytest.Config) -> list[str]:
    group = config._parser.getgroup("llm-cassette")
    return [name for option in group.options for name in option.names()]


def _ini_names(config: pytest.Config) -> list[str]:
    return [name for name in config._parser._inidict if name.startswith("llm_")]


def test_docs_cover_every_option_flag_setting_and_command(pytestconfig: pytest.Config) -> None:
    text = _all_text()
    missing = [f"option {o}" for o in sorted(CassetteOptions.names()) if f"`{o}`" not in text]
    missing += [f"flag {f}" for f in _plugin_flags(pytestconfig) if f not in text]
    missing += [f"setting {s}" for s in _ini_names(pytestconfig) if f"`{s}`" not in text]
    missing += [f"env {v}" for v in ("LLM_CASSETTE_RECORD_MODE", "LLM_CASSETTE_MAX_SIZE") if v not in text]
    errors_page = (DOCS / "errors.md").read_text(encoding="utf-8")
    missing += [f"fault {f}" for f in faults.__all__ if f != "Fault" and f"faults.{f}(" not in errors_page]
    secrets_page = (DOCS / "secrets.md").read_text(encoding="utf-8")
    defaults = sorted(SECRET_HEADERS) + sorted(SECRET_QUERY_KEYS) + list(SECRET_ENV_VARS)
    missing += [f"secrets.md: default {name}" for name in defaults if f"`{name}`" not in secrets_page]
    missing += [f"errors.md: status {s}" for s in sorted(RETRYABLE_STATUSES) if str(s) not in errors_page]
    cli_page = (DOCS / "cli.md").read_text(encoding="utf-8")
    for command in cli.COMMANDS:
        if f"## `llm-cassette {command}`" not in cli_page:
            missing.append(f"cli.md section for {command}")
        for option in _cli_options(command):
            if option not in cli_page:
                missing.append(f"cli.md: {command} {option}")
    assert not missing, f"the docs do not mention: {missing}"


def _cli_options(command: str) -> list[str]:
    parser = cli.build_parser(command)
    sub = next(a for a in parser._actions if a.dest == "command").choices[command]  # type: ignore[index]
    return sorted(o for o in sub._option_string_actions if o not in ("-h", "--help"))


def test_flags_and_commands_named_in_the_docs_exist(pytestconfig: pytest.Config) -> None:
    sources = pages()
    known_flags = set(_plugin_flags(pytestconfig))
    for source in sources:
        text = source.read_text(encoding="utf-8")
        for flag in set(re.findall(r"--llm-[a-z-]+[a-z]", text)):
            assert flag in known_flags, f"{source.name}: {flag} is not an option of the plugin"
        for code in _code(source):
            for command, args in _cli_calls(code):
                assert command in cli.COMMANDS, f"{source.name}: unknown command `llm-cassette {command}`"
                options = set(_cli_options(command)) | {"-h", "--help"}
                for arg in args:
                    if arg.startswith("-"):
                        name = arg.split("=", 1)[0]
                        assert name in options, f"{source.name}: `llm-cassette {command}` has no option {name}"


def _code(source: Path) -> Iterator[str]:
    """The lines of code in a page: fenced blocks (YAML and TOML without comments) and inline code spans."""
    fenced = set()
    for block in blocks(source):
        fenced.update(range(block.line, block.line + len(block.lines) + 1))
        if block.lang in ("yaml", "yml", "toml", "ini"):
            yield from (re.sub(r"(^|\s)#.*", "", line) for line in block.lines)
        else:
            yield from block.lines
    for number, line in enumerate(source.read_text(encoding="utf-8").splitlines(), start=1):
        if number not in fenced:
            yield from re.findall(r"`([^`]+)`", line)


def _cli_calls(line: str) -> Iterator[tuple[str, list[str]]]:
    """(subcommand, its arguments) for each `llm-cassette SUB ...` call on a line of a page."""
    for m in re.finditer(r"(?<![\w-])llm-cassette ([a-z][a-z-]*)([^`\n|&;#)]*)", line):
        try:
            args = shlex.split(m.group(2))
        except ValueError:
            args = m.group(2).split()
        if "--" in args:
            args = args[: args.index("--")]
        # a command quoted inside another (`git config ... "llm-cassette diff --git"`) ends at its quote
        yield m.group(1), [a.strip("\"'") for a in args]


def test_ci_and_pre_commit_samples(pytestconfig: pytest.Config) -> None:
    workflow = yaml.safe_load(sample("config/github-actions.yml"))
    runs = [step["run"] for step in workflow["jobs"]["test"]["steps"] if "run" in step]
    assert any(r.startswith("pytest ") and "--llm-block-network" in r for r in runs)
    nightly = yaml.safe_load(sample("config/nightly-drift.yml"))
    runs = [step["run"] for step in nightly["jobs"]["verify"]["steps"] if "run" in step]
    assert any(r.startswith("pytest --llm-verify --record") for r in runs)
    assert any('git config diff.llm-cassette.command "llm-cassette diff --git"' in r for r in runs)

    hooks = {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))}
    config = yaml.safe_load(sample("config/pre-commit-config.yaml"))
    for repo in config["repos"]:
        for hook in repo["hooks"]:
            assert hook["id"] in hooks, f"no hook {hook['id']!r} in .pre-commit-hooks.yaml"
            if repo["repo"] == "local":
                assert hook["entry"] == hooks[hook["id"]]["entry"]
            files = re.compile(hook.get("files", hooks[hook["id"]]["files"]))
            assert files.search("cassettes/tests/test_chat/test_reply.yaml") or files.search(
                "tests/cassettes/test_chat/test_reply.yaml"
            )
            assert not files.search("tests/test_chat.py")

    tomllib = pytest.importorskip("tomllib")
    pyproject = tomllib.loads(sample("config/pyproject.toml"))
    settings = pyproject["tool"]["pytest"]["ini_options"]
    assert set(settings) <= set(_ini_names(pytestconfig))
