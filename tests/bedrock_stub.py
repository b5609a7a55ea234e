"""A stub of AWS bedrock-runtime's `Converse` and `ConverseStream` wire format, on 127.0.0.1.

`converse` answers JSON; `converse-stream` answers `application/vnd.amazon.eventstream` frames
(prelude, headers, payload, CRC32s), one frame per HTTP chunk, as the service does.
"""

from __future__ import annotations

import binascii
import json
import struct
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route


def event_frame(headers: dict[str, str], payload: bytes) -> bytes:
    """One eventstream message: every header a string (type 7), as Bedrock sends them."""
    raw_headers = b""
    for name, value in headers.items():
        n, v = name.encode(), value.encode()
        raw_headers += bytes([len(n)]) + n + b"\x07" + struct.pack(">H", len(v)) + v
    total = 12 + len(raw_headers) + len(payload) + 4
    prelude = struct.pack(">II", total, len(raw_headers))
    message = prelude + struct.pack(">I", binascii.crc32(prelude) & 0xFFFFFFFF) + raw_headers + payload
    return message + struct.pack(">I", binascii.crc32(message) & 0xFFFFFFFF)


def event(event_type: str, body: dict[str, Any]) -> bytes:
    headers = {":event-type": event_type, ":content-type": "application/json", ":message-type": "event"}
    return event_frame(headers, json.dumps(body, separators=(",", ":")).encode())


def prompt_text(body: dict[str, Any]) -> str:
    return " ".join(c.get("text", "") for m in body.get("messages", []) for c in m.get("content", []))


class BedrockStub:
    """Runs the stub with uvicorn in a thread. `requests` lists (path, headers, body) it received."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        self.throttle_next = 0
        self.last_frames: list[bytes] = []
        self.app = Starlette(
            routes=[
                Route("/model/{model_id:path}/converse", self.converse, methods=["POST"]),
                Route("/model/{model_id:path}/converse-stream", self.converse_stream, methods=["POST"]),
            ]
        )
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _record(self, request: Request) -> dict[str, Any]:
        body = await request.body()
        self.requests.append((request.url.path, dict(request.headers), body))
        return json.loads(body)  # type: ignore[no-any-return]

    def _throttled(self) -> Response | None:
        if self.throttle_next <= 0:
            return None
        self.throttle_next -= 1
        return JSONResponse(
            {"message": "Too many requests, please wait before trying again."},
            status_code=429,
            headers={"x-amzn-ErrorType": "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/"},
        )

    async def converse(self, request: Request) -> Response:
        body = await self._record(request)
        throttled = self._throttled()
        if throttled is not None:
            return throttled
        text = f"Echo: {prompt_text(body)}"
        return JSONResponse(
            {
                "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
                "stopReason": "end_turn",
                "usage": {"inputTokens": 5, "outputTokens": 3, "totalTokens": 8},
                "metrics": {"latencyMs": 12},
            },
            headers={"x-amzn-RequestId": "00000000-0000-0000-0000-000000000001"},
        )

    async def converse_stream(self, request: Request) -> Response:
        body = await self._record(request)
        throttled = self._throttled()
        if throttled is not None:
            return throttled
        words = f"Echo: {prompt_text(body)}".split(" ")
        usage = {"inputTokens": 5, "outputTokens": len(words), "totalTokens": 5 + len(words)}
        self.last_frames = [
            event("messageStart", {"role": "assistant"}),
            *(
                event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": w if i == 0 else f" {w}"}})
                for i, w in enumerate(words)
            ),
            event("contentBlockStop", {"contentBlockIndex": 0}),
            event("messageStop", {"stopReason": "end_turn"}),
            event("metadata", {"usage": usage, "metrics": {"latencyMs": 7}}),
        ]

        async def frames() -> AsyncIterator[bytes]:
            for frame in self.last_frames:  # one HTTP chunk each, as the service sends them
                yield frame

        return StreamingResponse(frames(), media_type="application/vnd.amazon.eventstream")

    def __enter__(self) -> BedrockStub:
        import uvicorn

        config = uvicorn.Config(self.app, host="127.0.0.1", port=0, log_level="warning", lifespan="off", ws="none")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        while not self._server.started:
            time.sleep(0.005)
        self.port = int(self._server.servers[0].sockets[0].getsockname()[1])
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        assert self._thread is not None
        self._thread.join(10)


def iter_frames(data: bytes) -> Iterator[bytes]:
    while data:
        (total,) = struct.unpack(">I", data[:4])
        yield data[:total]
        data = data[total:]
