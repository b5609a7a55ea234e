"""`use_cassette`: the Python API outside pytest, as a context manager and a decorator."""

from __future__ import annotations

import functools
import inspect
import os
from collections.abc import Callable
from contextvars import Token
from types import TracebackType
from typing import Any, TypeVar

from . import _interceptor
from ._context import activate, deactivate
from ._errors import CassetteMiss
from ._session import RecordMode, Session, check_options

F = TypeVar("F", bound=Callable[..., Any])

RECORD_MODE_ENV = "LLM_CASSETTE_RECORD_MODE"


def mode_from_env() -> RecordMode | None:
    raw = os.environ.get(RECORD_MODE_ENV)
    return RecordMode.parse(raw, RECORD_MODE_ENV) if raw else None


class use_cassette:
    """Record and replay the HTTP traffic of a block or a function.

        with use_cassette("cassettes/summary.yaml", record_mode="once") as cassette:
            client.chat.completions.create(...)

        @use_cassette("cassettes/summary.yaml")
        async def main(): ...

    `record_mode` defaults to the `LLM_CASSETTE_RECORD_MODE` environment variable, else "none".
    Other options are those of the pytest marker (`match_on`, `ignore_body_fields`, `faults`, ...).
    On exit, the cassette is saved atomically when the mode records; a request that matched nothing
    fails the block even when the code inside caught the error.
    """

    def __init__(self, path: str | os.PathLike[str], record_mode: str | RecordMode | None = None, **options: Any):
        check_options(options, "use_cassette")
        self.path = path
        env_mode = mode_from_env()
        self.record_mode = RecordMode.parse(record_mode) if record_mode is not None else env_mode or RecordMode.NONE
        self.options = options
        self._stack: list[tuple[Session, Token[Session | None]]] = []

    def session(self) -> Session:
        return Session(self.path, self.record_mode, **self.options)

    def __enter__(self) -> Session:
        _interceptor.install()
        session = self.session()
        session.open()
        self._stack.append((session, activate(session)))
        return session

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        session, token = self._stack.pop()
        deactivate(session, token)
        session.close(failed=exc is not None)
        if exc is None and session.misses:
            raise session.misses[0]

    async def __aenter__(self) -> Session:
        return self.__enter__()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.__exit__(exc_type, exc, tb)

    def __call__(self, func: F) -> F:
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                async with use_cassette(self.path, self.record_mode, **self.options):
                    return await func(*args, **kwargs)

            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with use_cassette(self.path, self.record_mode, **self.options):
                return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


__all__ = ["CassetteMiss", "use_cassette"]
