"""A tiny HTTP/1.1 upstream on a raw socket, for wire cases an ASGI server will not produce.

Routes (any method):

- `/split`: an SSE stream whose first event carries `secret`, split across two HTTP chunks;
- `/broken`: one good chunk, then a malformed chunk header holding `secret` (httpx raises
  `RemoteProtocolError("illegal chunk header: ...<secret>...")` mid-stream);
- `/big`: a 100 kB `content-length` body sent slowly (a body a caller may close early);
- `/v1/files`, `/v1/audio/transcriptions`: what OpenAI answers an upload;
- anything else: `{"ok": true}`.

Every request body is kept in `bodies`, as received.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from types import TracebackType


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n" % len(data) + data + b"\r\n"


def _json_response(value: object) -> bytes:
    body = json.dumps(value).encode()
    head = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n" % len(body)
    return head + body


_STREAM_HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
FILE_OBJECT = {
    "id": "file-abc123",
    "object": "file",
    "bytes": 5,
    "created_at": 1_700_000_000,
    "filename": "notes.txt",
    "purpose": "assistants",
    "status": "processed",
}


class RawUpstream:
    """Serves the routes above on 127.0.0.1 in a daemon thread until closed."""

    def __init__(self, secret: str = "") -> None:
        self.secret = secret.encode()
        self.bodies: list[bytes] = []
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(32)
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        threading.Thread(target=self._serve, name="raw-upstream", daemon=True).start()

    def close(self) -> None:
        self._sock.close()

    def __enter__(self) -> RawUpstream:
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            try:
                while self._answer(conn):
                    pass
            except OSError:  # the client went away
                pass

    def _answer(self, conn: socket.socket) -> bool:
        """Answer one request on a keep-alive connection; False when the connection is done."""
        buf = b""
        while b"\r\n\r\n" not in buf:
            data = conn.recv(65536)
            if not data:
                return False
            buf += data
        head, _, body = buf.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        path = lines[0].split()[1].decode().split("?")[0]
        headers = dict(line.lower().split(b":", 1) for line in lines[1:] if b":" in line)
        length = int(headers.get(b"content-length", b"0").strip())
        while len(body) < length:
            body += conn.recv(65536)
        self.bodies.append(body)
        secret = self.secret
        if path == "/split":
            half = len(secret) // 2
            conn.sendall(_STREAM_HEAD)
            for piece in (b'data: {"echo": "' + secret[:half], secret[half:] + b'"}\n\n', b"data: [DONE]\n\n"):
                conn.sendall(_chunk(piece))
                time.sleep(0.005)  # separate reads, so the client sees separate chunks
            conn.sendall(b"0\r\n\r\n")
            return True
        if path == "/broken":
            conn.sendall(_STREAM_HEAD + _chunk(b'data: {"n": 1}\n\n'))
            time.sleep(0.005)
            conn.sendall(b"zz " + secret + b"\r\n")
            return False
        if path == "/big":
            size = 100_000
            conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % size)
            for _ in range(size // 1000):
                conn.sendall(b"x" * 1000)
                time.sleep(0.01)
            return True
        if path == "/v1/files":
            conn.sendall(_json_response(FILE_OBJECT))
        elif path == "/v1/audio/transcriptions":
            conn.sendall(_json_response({"text": "hello from the recording"}))
        else:
            conn.sendall(_json_response({"ok": True}))
        return True
