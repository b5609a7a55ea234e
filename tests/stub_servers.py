"""Small real upstreams on 127.0.0.1 for wire formats the bundled fake server does not speak:
Gemini's `generateContent` / `streamGenerateContent` (SSE with CRLF line ends, like Google's),
an MCP server over streamable HTTP (both SDK generations), and a few plain HTTP behaviours
(redirects, cookies, gzip) for the aiohttp adapter.

Imported as `stub_servers` (see `helpers.py` for why `tests/` is not a package).
"""

from __future__ import annotations

import asyncio
import gzip
import json
import threading
import time
from types import TracebackType
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

GEMINI_KEY = "fake-gemini-key-for-tests-0000"


class StubServer:
    """Runs an ASGI app with uvicorn on 127.0.0.1 in a background thread; counts requests."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.request_count = 0
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    async def _counting(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.request_count += 1
        await self.app(scope, receive, send)

    def __enter__(self) -> StubServer:
        config = uvicorn.Config(
            self._counting, host="127.0.0.1", port=0, log_level="error", ws="none", interface="asgi3"
        )
        self._server = server = uvicorn.Server(config)
        self._thread = threading.Thread(target=server.run, name="stub-server", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("stub server did not start")
            time.sleep(0.005)
        port = server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._server is not None and self._thread is not None
        self._server.should_exit = True
        self._thread.join(10)


# --- plain HTTP behaviours ------------------------------------------------------------------------


async def _echo(request: Request) -> Response:
    body = await request.body()
    return JSONResponse({"method": request.method, "body": body.decode(), "query": dict(request.query_params)})


async def _redirect(request: Request) -> Response:
    return RedirectResponse("/echo?from=redirect", status_code=302)


async def _cookie(request: Request) -> Response:
    response = JSONResponse({"cookie": request.cookies.get("session", "")})
    response.set_cookie("session", "s-1")
    return response


async def _gzip(request: Request) -> Response:
    data = gzip.compress(json.dumps({"zipped": True, "pad": "x" * 500}).encode())
    return Response(data, headers={"content-encoding": "gzip", "content-type": "application/json"})


async def _lines(request: Request) -> Response:
    async def events() -> Any:
        for i in range(4):
            yield f'data: {{"i": {i}}}\n\n'.encode()
            await asyncio.sleep(0.002)

    return StreamingResponse(events(), media_type="text/event-stream")


def http_app() -> Starlette:
    """Redirects, cookies, gzip and a small SSE stream."""
    return Starlette(
        routes=[
            Route("/echo", _echo, methods=["GET", "POST"]),
            Route("/redirect", _redirect),
            Route("/cookie", _cookie),
            Route("/gzip", _gzip),
            Route("/lines", _lines),
        ]
    )


# --- Gemini -------------------------------------------------------------------------------------


def _gemini_reply(text: str, model: str, final: bool) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"parts": [{"text": text}], "role": "model"}, "index": 0}
    out: dict[str, Any] = {"candidates": [candidate], "modelVersion": model}
    if final:
        candidate["finishReason"] = "STOP"
        out["usageMetadata"] = {"promptTokenCount": 3, "candidatesTokenCount": 4, "totalTokenCount": 7}
    return out


async def _gemini(request: Request) -> Response:
    model, _, method = request.path_params["target"].partition(":")
    body = await request.json()
    words = ("Echo: " + body["contents"][-1]["parts"][0]["text"]).split(" ")
    if method == "generateContent":
        return JSONResponse(_gemini_reply(" ".join(words), model, True))

    async def events() -> Any:
        for i, word in enumerate(words):
            last = i == len(words) - 1
            event = _gemini_reply(word if last else word + " ", model, last)
            yield f"data: {json.dumps(event)}\r\n\r\n".encode()

    return StreamingResponse(events(), media_type="text/event-stream")


def gemini_app() -> Starlette:
    """`POST /{version}/models/{model}:generateContent` and `:streamGenerateContent?alt=sse`."""
    return Starlette(routes=[Route("/{version}/models/{target:path}", _gemini, methods=["POST"])])


# --- MCP ------------------------------------------------------------------------------------------


def mcp_app(*, json_response: bool = False, stateless: bool = False) -> Any:
    """An MCP server with two tools and a resource, over streamable HTTP at `/mcp` (mcp 1.x or 2.x)."""
    try:
        from mcp.server import MCPServer as Server  # 2.x
    except ImportError:
        from mcp.server.fastmcp import FastMCP as Server  # 1.x

    server: Any = Server("demo")

    @server.tool()
    def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    @server.tool()
    def shout(text: str) -> str:
        """Upper-case a text."""
        return text.upper()

    @server.resource("notes://today")
    def today() -> str:
        """Today's note."""
        return "buy milk"

    try:
        return server.streamable_http_app(json_response=json_response, stateless_http=stateless)
    except TypeError:  # 1.x: the transport's settings live on the server
        server.settings.json_response = json_response
        server.settings.stateless_http = stateless
        return server.streamable_http_app()
