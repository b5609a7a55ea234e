"""The per-app counters and fail state kept on ``app.state``."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from fastapi import FastAPI

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["CountingMiddleware", "fail_counts", "reset_state"]


def reset_state(app: FastAPI) -> None:
    """Zero the request counters and the ``fail=...xN`` counters."""
    app.state.request_count = 0
    app.state.requests = []
    app.state.fail_counts = {}
    app.state.default_knobs = {}  # x-fake-* header -> value, for every request


def fail_counts(app: FastAPI) -> dict[tuple[str, str, str], int]:
    """How many requests each (path, fail spec, scenario) has seen."""
    return cast("dict[tuple[str, str, str], int]", app.state.fail_counts)


class CountingMiddleware:
    """Counts every HTTP request (except ``/_fake/*``) on ``app.state``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = str(scope.get("path", ""))
            if not path.startswith("/_fake/"):
                state = scope["app"].state
                state.request_count += 1
                state.requests.append((str(scope.get("method", "")), path))
        await self.app(scope, receive, send)
