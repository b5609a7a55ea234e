"""Hostile and hand-broken cassettes: refused with a clear error, promptly, in bounded memory, and no
code from a cassette ever runs.

Each file is loaded in a child process (a crash or a runaway parse there cannot take this test run
down with it) capped at 1 GiB of address space and 20 s, with libyaml and with PyYAML's
pure-Python parser (what users without libyaml bindings get). The child reports what `load` did as
JSON; anything else (a traceback, a signal) fails the test with the child's output.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from llm_cassette import CassetteData, Interaction, Request, Response, save

MEMORY_CAP = 1 << 30  # bytes of address space for the child
TIME_CAP = 20  # seconds; generous: every case takes well under a second

# The child caps its own address space first thing: `preexec_fn` is unsafe in a parent that runs
# threads (the session's fake server), and the cap must hold before the cassette is read.
CHILD = textwrap.dedent(
    """
    import json, resource, sys
    resource.setrlimit(resource.RLIMIT_AS, ({cap}, {cap}))
    if sys.argv[2] == "pure-python":
        import yaml
        for name in ("CSafeLoader", "CSafeDumper"):
            if hasattr(yaml, name):
                delattr(yaml, name)
    from pathlib import Path
    from llm_cassette import CassetteFormatError
    from llm_cassette import load
    try:
        data = load(Path(sys.argv[1]))
    except CassetteFormatError as exc:
        out = {{"outcome": "refused", "message": str(exc), "path": str(exc.path), "line": exc.line,
               "reason": exc.reason}}
    else:
        out = {{"outcome": "loaded", "interactions": len(data.interactions)}}
    try:  # this process's own peak (ru_maxrss would also count the parent's pages at fork time)
        with open("/proc/self/status") as status:
            out["peak_rss_kb"] = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    except OSError:
        out["peak_rss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps(out))
    """
).format(cap=MEMORY_CAP)


def load_in_child(
    path: Path, backend: str, env: dict[str, str] | None = None, timeout: float = TIME_CAP
) -> dict[str, Any]:
    try:
        proc = subprocess.run(
            [sys.executable, "-c", CHILD, str(path), backend],
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, **(env or {})},
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"loading {path.name} did not finish within {timeout} s", pytrace=False)
    if proc.returncode != 0:
        pytest.fail(
            f"loading {path.name} ended with exit status {proc.returncode} instead of a "
            f"CassetteFormatError:\n{proc.stderr[-3000:]}",
            pytrace=False,
        )
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


# --- the cases -----------------------------------------------------------------------------------

HEAD = "version: 1\ninteractions:\n"
REQ = "- request: {method: GET, url: 'http://127.0.0.1:9/'}\n"
MARK = "  # <- the error is on this line"


@dataclass
class Case:
    """A hostile file: its bytes (given the marker file a payload would create), and what to expect."""

    content: Callable[[Path], bytes]
    reason: str  # a fragment of the error's reason
    line: bool = True  # the error must name the line marked with MARK
    env: dict[str, str] | None = None
    setup: Callable[[Path], None] | None = None  # instead of writing `content` (special files)
    may_load: bool = False  # loading it successfully is fine too (a deep but valid document)
    backends: tuple[str, ...] = ("libyaml", "pure-python")
    timeout: float = TIME_CAP


def text(s: str) -> Callable[[Path], bytes]:
    return lambda marker: s.encode("utf-8")


def response(body: str) -> Callable[[Path], bytes]:
    return text(HEAD + REQ + "  response:\n" + body)


def alias_bomb() -> str:
    """The "billion laughs": 9 levels of 9 aliases each, 9**9 strings once expanded."""
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, 9):
        refs = ",".join([f"*a{level - 1}"] * 9)
        lines.append(f"a{level}: &a{level} [{refs}]")
    return "\n".join(lines) + MARK + "\nversion: 1\ninteractions: *a8\n"


def valid_cassette(n: int) -> bytes:
    from llm_cassette import dumps

    its = [Interaction(Request("GET", f"http://127.0.0.1:9/{i}"), Response(200, body=b"ok")) for i in range(n)]
    return dumps(CassetteData(its)).encode()


def symlink_to(target: str) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        path.symlink_to(target)

    return make


def after_head(build: Callable[[Path], str]) -> Callable[[Path], bytes]:
    return lambda marker: (HEAD + build(marker)).encode("utf-8")


# Payloads that would run code (creating the marker file) if a cassette could build Python objects.
CODE_TAGS: dict[str, Callable[[Path], str]] = {
    "python_object_apply": lambda m: f'- !!python/object/apply:os.system ["touch {m}"]{MARK}\n',
    "python_object_new": lambda m: f"- !!python/object/new:subprocess.Popen [[touch, {m}]]{MARK}\n",
    "python_name": lambda m: f"- !!python/name:os.system{MARK}\n",
    "python_module": lambda m: f"- !!python/module:os{MARK}\n",
    "exec_in_a_body": lambda m: (
        REQ + f"  response:\n    status: 200\n    body: {{json: !!python/object/apply:builtins.exec "
        f"[\"open('{m}', 'w').close()\"]}}{MARK}\n"
    ),
    "local_tag": lambda m: f"- !Ref request{MARK}\n",
}

DEEP = 10_000
# Cases the core does not handle yet (strict xfail): none left.
NOT_IMPLEMENTED: dict[str, str] = {}

CASES: dict[str, Case] = {
    **{name: Case(content=after_head(build), reason="constructor for the tag") for name, build in CODE_TAGS.items()},
    "alias_bomb": Case(text(alias_bomb()), "aliases are not allowed"),
    "one_innocent_alias": Case(
        # The error points at the anchor: that is where the aliased node is first built.
        text(
            HEAD + f"- request: &r {{method: GET, url: 'http://127.0.0.1:9/'}}{MARK}\n  response: {{status: 200}}\n"
            "- request: *r\n  response: {status: 200}\n"
        ),
        "aliases are not allowed",
    ),
    "over_the_size_limit": Case(
        lambda m: valid_cassette(100), "limit", line=False, env={"LLM_CASSETTE_MAX_SIZE": "2000"}
    ),
    "status_is_a_word": Case(response(f"    status: ok{MARK}\n"), "status must be an integer"),
    "headers_as_a_list": Case(response(f"    status: 200\n    headers: [a, b]{MARK}\n"), "headers must be a mapping"),
    "chunks_as_a_mapping": Case(
        response(f"    status: 200\n    chunks: {{t: 1, text: x}}{MARK}\n"), "chunks must be a list"
    ),
    "t_as_a_string": Case(response(f"    status: 200\n    t: soon{MARK}\n"), "must be"),
    "body_with_two_kinds": Case(
        response(f"    status: 200\n    body: {{text: a, base64: YQ==}}{MARK}\n"), "exactly one of"
    ),
    "binary_in_a_json_body": Case(
        response(f"    status: 200\n    body: {{json: !!binary aGk=}}{MARK}\n"), "not valid JSON"
    ),
    "interactions_as_a_mapping": Case(text(f"version: 1\ninteractions: {{a: 1}}{MARK}\n"), "must be a list"),
    "deep_json_body": Case(
        response(f"    status: 200\n    body: {{json: {'[' * DEEP}{']' * DEEP}}}{MARK}\n"),
        "",
        line=False,
        may_load=True,
    ),
    "deep_yaml": Case(text(f"version: 1\ninteractions: {'[' * DEEP}{']' * DEEP}{MARK}\n"), "", line=False),
    "deeper_yaml": Case(text(f"version: 1\ninteractions: {'[' * DEEP * 10}{']' * DEEP * 10}{MARK}\n"), "", line=False),
    "invalid_utf8": Case(
        lambda m: (
            (HEAD + REQ + "  response:\n    status: 200\n").encode() + b'    body: {text: "caf\xe9"}' + MARK.encode()
        ),
        "unacceptable character",
    ),
    "nul_byte": Case(
        lambda m: (
            (HEAD + REQ + "  response:\n    status: 200\n").encode() + b'    body: {text: "a\x00b"}' + MARK.encode()
        ),
        "#x0000",
    ),
    "empty_file": Case(text(""), "empty", line=False),
    "only_a_comment": Case(text("# nothing here\n"), "empty", line=False),
    "a_yaml_list": Case(text(f"- version: 1{MARK}\n  interactions: []\n"), "must be a mapping"),
    "two_documents": Case(text(f"version: 1\ninteractions: []\n---{MARK}\nversion: 1\n"), "another document"),
    "duplicate_key": Case(response(f"    status: 200\n    status: 500{MARK}\n"), "duplicate"),
    "duplicate_top_level_key": Case(text(f"version: 1\ninteractions: []\ninteractions: []{MARK}\n"), "duplicate"),
    # Not parsing problems: one backend is enough. A refusal is instant, so a hang fails fast.
    "symlink_to_dev_zero": Case(
        text(""), "regular file", line=False, setup=symlink_to("/dev/zero"), backends=("libyaml",)
    ),
    "fifo": Case(text(""), "regular file", line=False, setup=os.mkfifo, backends=("libyaml",), timeout=3),
}


def marked_line(content: bytes) -> int | None:
    for number, line in enumerate(content.split(b"\n"), start=1):
        if MARK.encode() in line:
            return number
    return None


def params() -> list[Any]:
    out = []
    for name in CASES:
        for backend in CASES[name].backends:
            marks = [pytest.mark.xfail(strict=True, reason=NOT_IMPLEMENTED[name])] if name in NOT_IMPLEMENTED else []
            out.append(pytest.param(name, backend, id=f"{name}-{backend}", marks=marks))
    return out


@pytest.mark.parametrize(("name", "backend"), params())
def test_a_hostile_cassette_is_refused_cleanly(name: str, backend: str, tmp_path: Path) -> None:
    case = CASES[name]
    marker = tmp_path / "pwned"
    path = tmp_path / f"{name}.yaml"
    content = case.content(marker)
    if case.setup is not None:
        case.setup(path)
    else:
        path.write_bytes(content)

    result = load_in_child(path, backend, case.env, case.timeout)

    assert not marker.exists(), "code from the cassette ran"
    if case.may_load and result["outcome"] == "loaded":
        return
    assert result["outcome"] == "refused", f"{name} was loaded: {result}"
    assert result["path"] == str(path)
    assert result["message"].startswith(str(path))
    assert case.reason.lower() in result["reason"].lower()
    if case.line:
        line = marked_line(content)
        assert result["line"] == line, result["message"]
        assert result["message"].startswith(f"{path}:{line}: ")
    assert result["peak_rss_kb"] * 1024 < MEMORY_CAP


# --- through the pytest plugin ---------------------------------------------------------------------

PLUGIN_CASES = ["python_object_apply", "alias_bomb", "status_is_a_word", "invalid_utf8", "empty_file", "a_yaml_list"]


def test_a_hostile_cassette_fails_only_its_own_test(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    url = "http://127.0.0.1:9/ok"  # port 9 (discard): nothing answers, so only a replay can pass
    folder = pytester.path / "cassettes" / "test_hostile"
    folder.mkdir(parents=True)
    save(folder / "test_good.yaml", CassetteData([Interaction(Request("GET", url), Response(200, body=b"fine"))]))
    marker = pytester.path / "pwned"
    for name in PLUGIN_CASES:
        (folder / f"test_{name}.yaml").write_bytes(CASES[name].content(marker))
    (folder / "test_over_the_size_limit.yaml").write_bytes(valid_cassette(100))
    monkeypatch.setenv("LLM_CASSETTE_MAX_SIZE", "4000")

    tests = "".join(
        f"\n@pytest.mark.llm_cassette\ndef test_{name}():\n    httpx.get(URL)\n"
        for name in [*PLUGIN_CASES, "over_the_size_limit"]
    )
    pytester.makepyfile(
        test_hostile=f"""
        import httpx
        import pytest

        URL = {url!r}

        @pytest.mark.llm_cassette
        def test_good():
            assert httpx.get(URL).text == "fine"
        """
        + textwrap.indent(tests, "        ")
    )
    result = pytester.runpytest()

    result.assert_outcomes(passed=1, errors=len(PLUGIN_CASES) + 1)
    assert not marker.exists(), "code from a cassette ran"
    result.stdout.fnmatch_lines_random(
        [
            "*test_python_object_apply.yaml:3: invalid YAML: could not determine a constructor*",
            "*test_alias_bomb.yaml:9: invalid YAML: YAML aliases are not allowed*",
            "*test_status_is_a_word.yaml:5: status must be an integer*",
            "*test_invalid_utf8.yaml*: invalid YAML: unacceptable character*",
            "*test_empty_file.yaml: the file is empty*",
            "*test_a_yaml_list.yaml:1: the top level must be a mapping*",
            "*test_over_the_size_limit.yaml: *over the 4000-byte limit*",
        ]
    )


def test_a_deeply_nested_cassette_fails_only_its_own_test(pytester: pytest.Pytester) -> None:
    folder = pytester.path / "cassettes" / "test_deep"
    folder.mkdir(parents=True)
    (folder / "test_deep.yaml").write_bytes(CASES["deeper_yaml"].content(pytester.path / "unused"))
    pytester.makepyfile(
        test_deep="""
        import pytest

        @pytest.mark.llm_cassette
        def test_deep():
            pass

        def test_other():
            pass
        """
    )
    # In a child process: today the whole pytest process dies here.
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*test_deep.yaml*"])
