"""The `mcp` SDK's streamable HTTP client, both generations, against a local MCP server: an agent's
session (initialize, list tools, call tools, read a resource) recorded, then replayed offline,
pausing longer than the client's reconnect delay and calling the tools in another order.

tests/test_mcp.py covers each case on its own, stateful and stateless servers, SSE and JSON.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from llm_cassette import load
from mcp_flows import SERVERS, run_case
from stub_servers import StubServer, mcp_app

mcp = pytest.importorskip("mcp")

TESTS = Path(__file__).parents[1]
SRC = TESTS.parent / "src"
MCP1 = Path(sys.prefix) / "mcp1"
MCP1_HINT = f"mcp 1.x is not built at {MCP1}: run .ci/run, or pip install --no-deps --target {MCP1} 'mcp<2' httpx-sse"


def check(out: dict[str, object], *, reordered: bool) -> None:
    assert out["replay_reached_server"] == 0, "the replay reached the MCP server"
    assert out["played"] == out["recorded_count"]
    replayed, recorded = out["replayed"], out["recorded"]
    assert isinstance(replayed, list) and isinstance(recorded, list)
    if reordered:
        assert replayed[1:3] == [["shout", ["HI"]], ["add", ["5"]]]
    else:
        assert replayed == recorded


@pytest.mark.asyncio
async def test_mcp2_modern_protocol(tmp_path: Path) -> None:
    with StubServer(mcp_app()) as server:
        check(await run_case("reorder", tmp_path / "mcp.yaml", server), reordered=True)


@pytest.mark.asyncio
async def test_mcp2_legacy_session(tmp_path: Path) -> None:
    with StubServer(mcp_app()) as server:
        check(await run_case("pause", tmp_path / "pause.yaml", server, "legacy"), reordered=False)
        check(await run_case("reorder", tmp_path / "reorder.yaml", server, "legacy"), reordered=True)


# Every case in one interpreter: starting one and importing mcp costs seconds.
MCP1_CASES = [f"{case}:{kind}" for case in ("plain", "reorder") for kind in SERVERS] + ["pause:stateful-sse"]


def test_mcp1(tmp_path: Path) -> None:
    if not MCP1.is_dir():
        pytest.skip(MCP1_HINT)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(MCP1), str(TESTS), str(SRC)])}
    done = subprocess.run(
        [sys.executable, str(TESTS / "mcp_flows.py"), str(tmp_path), *MCP1_CASES],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(done.stdout.strip().splitlines()[-1])
    assert sorted(results) == sorted(MCP1_CASES)
    for spec, out in results.items():
        assert out["recorded_count"] >= 6, spec  # initialize ... DELETE: the 1.x flow on the wire
        check(out, reordered=spec.startswith("reorder"))
    gets = [it for it in load(tmp_path / "pause-stateful-sse.yaml").interactions if it.request.method == "GET"]
    assert len(gets) == 1
