"""Running the app with uvicorn on 127.0.0.1: in a background thread (tests) or the foreground (CLI)."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from types import TracebackType
from typing import Any, cast

from fastapi import FastAPI

from .app import create_app
from .state import reset_state
from .streaming import install_drop_log_filter

__all__ = ["FakeServer", "serve"]


class FakeServer:
    """Runs :func:`create_app` with uvicorn in a background thread.

    >>> with FakeServer() as server:  # doctest: +SKIP
    ...     client = openai.OpenAI(base_url=server.base_url_openai, api_key="sk-fake")
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self._requested_port = port
        self._port: int | None = None
        self.app: FastAPI = create_app()
        self._server: Any = None
        self._thread: threading.Thread | None = None

    # -- lifecycle

    def start(self, timeout: float = 10.0) -> FakeServer:
        """Start serving and wait until the socket accepts connections; returns ``self``."""
        if self._thread is not None:
            raise RuntimeError("FakeServer is already running")
        import uvicorn

        config = uvicorn.Config(
            self.app,
            host=self.host,
            port=self._requested_port,
            log_level="warning",
            access_log=False,
            lifespan="off",
            ws="none",
            timeout_graceful_shutdown=5,
        )
        install_drop_log_filter()
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, name="llm-cassette-fake-server", daemon=True)
        self._server = server
        self._thread = thread
        thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not thread.is_alive():
                self._server = self._thread = None
                raise RuntimeError(f"fake server failed to start on {self.host}:{self._requested_port}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("fake server did not start in time")
            time.sleep(0.005)
        self._port = int(server.servers[0].sockets[0].getsockname()[1])
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Shut down gracefully (force after ``timeout`` seconds) and join the thread."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        server.should_exit = True
        thread.join(timeout)
        if thread.is_alive():
            server.force_exit = True
            thread.join(timeout)
        self._server = self._thread = None

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- addresses

    @property
    def port(self) -> int:
        """The real bound port (``port=0`` picks a free one)."""
        if self._port is None:
            raise RuntimeError("FakeServer is not started")
        return self._port

    @property
    def url(self) -> str:
        """E.g. ``http://127.0.0.1:54321``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def base_url_openai(self) -> str:
        """``base_url`` for ``openai.OpenAI``."""
        return self.url + "/v1"

    @property
    def base_url_anthropic(self) -> str:
        """``base_url`` for ``anthropic.Anthropic``."""
        return self.url

    # -- counters

    @property
    def request_count(self) -> int:
        """Requests handled so far (all endpoints except ``/_fake/*``)."""
        return int(self.app.state.request_count)

    @property
    def requests(self) -> list[tuple[str, str]]:
        """``(method, path)`` of every request handled so far."""
        return list(cast("list[tuple[str, str]]", self.app.state.requests))

    def reset(self) -> None:
        """Zero the request counters and the ``fail=...xN`` counters; forget the default knobs."""
        reset_state(self.app)

    def set_default_knobs(self, knobs: Mapping[str, str]) -> None:
        """Knobs for every request that does not set them itself, by header name
        (``{"x-fake-drift": "reword", "x-fake-fail": "500"}``); ``{}`` or :meth:`reset` clears them.
        ``POST /_fake/knobs`` with the same JSON does it from another process."""
        self.app.state.default_knobs = {str(k).lower(): str(v) for k, v in knobs.items()}


def serve(host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve the fake API in the foreground until interrupted (``llm-cassette fake-server``)."""
    import uvicorn

    config = uvicorn.Config(create_app(), host=host, port=port, log_level="info", lifespan="off", ws="none")
    install_drop_log_filter()
    uvicorn.Server(config).run()
