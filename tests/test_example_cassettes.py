"""The example app's committed cassettes before and after format version 2: the same replay.

`tests/data/example_cassettes_v1` holds the example's cassettes as they were committed in format
version 1; `cassettes/docs/examples/agent_api/tests` holds them re-recorded in version 2. Both
answer every request with the same bytes, the example's tests pass on either, and the sizes the
docs quote are the sizes of these files.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from llm_cassette import load
from llm_cassette.core.models import Interaction

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "docs" / "examples" / "agent_api"
V1 = ROOT / "tests" / "data" / "example_cassettes_v1"
V2 = ROOT / "cassettes" / "docs" / "examples" / "agent_api" / "tests"
FORMAT_DOC = ROOT / "docs" / "cassette-format.md"


def pairs() -> list[tuple[Path, Path]]:
    old = sorted(V1.rglob("*.yaml"))
    assert old, f"no version 1 cassettes under {V1}"
    assert sorted(p.relative_to(V2) for p in V2.rglob("*.yaml")) == [p.relative_to(V1) for p in old]
    return [(p, V2 / p.relative_to(V1)) for p in old]


def replayed(it: Interaction) -> tuple[object, ...]:
    """What a replay of this interaction hands the client, but the `date` header (a clock)."""
    r = it.response
    if r is None:
        return ("failure", it.error)
    headers = tuple((k, v) for k, v in r.headers if k.lower() != "date")
    chunks = None if r.chunks is None else tuple(c.data for c in r.chunks)
    return (r.status, headers, r.body, chunks, r.error, r.cut)


def test_both_versions_answer_every_request_with_the_same_bytes() -> None:
    for old_path, new_path in pairs():
        old, new = load(old_path), load(new_path)
        assert len(old.interactions) == len(new.interactions), new_path
        assert old.version == 1 and new.version == 2, new_path
        for i, (a, b) in enumerate(zip(old.interactions, new.interactions, strict=True)):
            where = f"{new_path.name} #{i + 1}"
            assert (a.request.method, a.request.url, a.request.body) == (
                b.request.method,
                b.request.url,
                b.request.body,
            )
            assert replayed(a) == replayed(b), where
            # What version 2 left out of the request: only headers that never matter.
            kept = {k.lower() for k, _ in b.request.headers}
            assert kept <= {k.lower() for k, _ in a.request.headers}, where
            assert not any(k.startswith("x-stainless") or k in ("user-agent", "content-length") for k in kept), where


def sizes(files: list[Path]) -> tuple[int, int]:
    texts = [f.read_bytes() for f in files]
    return sum(t.count(b"\n") for t in texts), sum(len(t) for t in texts)


def test_the_docs_quote_the_sizes_of_these_files() -> None:
    old_files, new_files = zip(*pairs(), strict=True)
    (old_lines, old_bytes), (new_lines, new_bytes) = sizes(list(old_files)), sizes(list(new_files))
    stream = "test_stream/test_stream_happy_path.yaml"
    stream_old, stream_new = sizes([V1 / stream])[0], sizes([V2 / stream])[0]
    doc = FORMAT_DOC.read_text()
    expected = (
        f"{len(old_files)} files, {old_lines:,} → {new_lines:,} lines, {old_bytes:,} → {new_bytes:,} bytes; "
        f"the streamed one {stream_old} → {stream_new} lines"
    )
    assert expected in " ".join(doc.split()), f"docs/cassette-format.md should say: {expected}"


def run_replay(project: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_XDIST", "PYTEST_CURRENT_TEST"))}
    env.pop("LLM_CASSETTE_RECORD_MODE", None)
    env.pop("OPENAI_API_KEY", None)
    env["AGENT_API_LLM_PORT"] = "8765"  # the port the committed cassettes were recorded against
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    plugins = ["-p", "llm_cassette.plugin", "-p", "pytest_asyncio.plugin", "-p", "no:cacheprovider"]
    return subprocess.run(
        [sys.executable, "-m", "pytest", "tests", "-q", "-m", "llm_cassette", *plugins, "--rootdir", str(project)],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_example_passes_replaying_its_version_1_cassettes(tmp_path: Path) -> None:
    # With the committed version 2 cassettes it runs in every run of this suite (docs/examples).
    project = tmp_path / "agent_api_example"
    ignore = shutil.ignore_patterns("__pycache__", "cassettes", "test_rerecord.py")
    shutil.copytree(EXAMPLE, project, ignore=ignore)
    (project / "pytest.ini").write_text(
        "[pytest]\nasyncio_mode = strict\nasyncio_default_fixture_loop_scope = function\n"
    )
    shutil.copytree(V1, project / "cassettes" / "tests")
    before = {p: p.read_bytes() for p in (project / "cassettes").rglob("*.yaml")}

    result = run_replay(project)

    assert result.returncode == 0, result.stdout + result.stderr
    passed = re.search(r"(\d+) passed", result.stdout)
    assert passed and int(passed.group(1)) >= 10, result.stdout
    assert "failed" not in result.stdout and "error" not in result.stdout.lower(), result.stdout
    # Replaying never rewrites a version 1 cassette.
    assert {p: p.read_bytes() for p in before} == before
