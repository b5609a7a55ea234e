"""An agent's MCP session over streamable HTTP, recorded then replayed: for both SDK generations.

`run_case()` records one flow against a real MCP server on 127.0.0.1, then replays it (with the
server still listening) in a possibly different way (a pause, another call order), and returns
what both runs saw. mcp 2.x runs it in the test process; mcp 1.x cannot be installed beside 2.x,
so its tests run this file as a script with the 1.x package first on `sys.path`.

    python mcp_flows.py FOLDER CASE:SERVER...   # prints one JSON line: {"CASE:SERVER": result}

SERVER is one of `SERVERS`: stateful or stateless, answering in SSE or JSON.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from llm_cassette import use_cassette

CALLS = {"add": {"a": 2, "b": 3}, "shout": {"text": "hi"}}
SERVERS: dict[str, dict[str, bool]] = {
    "stateful-sse": {},
    "stateful-json": {"json_response": True},
    "stateless-sse": {"stateless": True},
}


def generation() -> int:
    import mcp

    return 2 if hasattr(mcp, "Client") else 1


async def _use(session: Any, order: tuple[str, ...], pause: float) -> list[Any]:
    tools = await session.list_tools()
    seen: list[Any] = [sorted(t.name for t in tools.tools)]
    if pause:
        await asyncio.sleep(pause)  # an agent thinking: longer than the client's reconnect delay
    for name in order:
        result = await session.call_tool(name, CALLS[name])
        seen.append([name, [getattr(c, "text", None) for c in result.content]])
    resource = await session.read_resource("notes://today")
    seen.append([getattr(c, "text", None) for c in resource.contents])
    return seen


async def flow(url: str, *, order: tuple[str, ...] = ("add", "shout"), pause: float = 0.0, mode: str = "") -> Any:
    """Initialise, list tools, call tools (in `order`), read a resource; what the agent saw."""
    if generation() == 2:
        from mcp import Client

        async with Client(url, **({"mode": mode} if mode else {})) as client:
            return await _use(client, order, pause)
    from mcp import ClientSession
    from mcp.client.streamable_http import streamablehttp_client

    async with streamablehttp_client(url) as (read, write, _), ClientSession(read, write) as session:
        await session.initialize()
        return await _use(session, order, pause)


async def run_case(case: str, cassette: Path, server: Any, mode: str = "") -> dict[str, Any]:
    """Record the plain flow, then replay it as `case` says: `plain`, `pause` or `reorder`."""
    url = f"{server.url}/mcp"
    async with use_cassette(cassette, record_mode="once") as recording:
        recorded = await flow(url, mode=mode)
    sent = server.request_count
    options: dict[str, Any] = {"mode": mode}
    if case == "pause":
        options["pause"] = 1.3
    if case == "reorder":
        options["order"] = ("shout", "add")
    async with use_cassette(cassette, record_mode="none") as replay:
        replayed = await asyncio.wait_for(flow(url, **options), 20)
    return {
        "recorded": recorded,
        "replayed": replayed,
        "recorded_count": len(recording.interactions),
        "played": replay.play_count,
        "replay_reached_server": server.request_count - sent,
    }


def main() -> None:
    from stub_servers import StubServer, mcp_app

    folder, out = Path(sys.argv[1]), {}
    for spec in sys.argv[2:]:
        case, _, kind = spec.partition(":")
        with StubServer(mcp_app(**SERVERS[kind])) as server:
            out[spec] = asyncio.run(run_case(case, folder / f"{case}-{kind}.yaml", server))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
