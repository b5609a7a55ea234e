"""`use_cassette`: the Python API outside pytest, as a context manager and a decorator."""

from __future__ import annotations

import functools
import inspect
import os
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar

from . import stacks
from .core.cassette import Cassette
from .core.lifecycle import ActiveCassette
from .core.options import CassetteOptions, RecordMode, mode_from_env
from .core.session import Session

F = TypeVar("F", bound=Callable[..., Any])


class use_cassette:
    """Record and replay the HTTP traffic of a block or a function.

        with use_cassette("cassettes/summary.yaml", record_mode="once") as cassette:
            client.chat.completions.create(...)

        @use_cassette("cassettes/summary.yaml")
        async def main(): ...

    `record_mode` defaults to the `LLM_CASSETTE_RECORD_MODE` environment variable, else "none".
    Other options are those of the pytest marker (`match_on`, `ignore_body_fields`, `faults`, ...;
    see `CassetteOptions`). On exit, the cassette is saved atomically when the mode records; a
    request that matched nothing fails the block even when the code inside caught the error.
    """

    def __init__(self, path: str | os.PathLike[str], record_mode: str | RecordMode | None = None, **options: Any):
        self.path = path
        self.options = CassetteOptions.from_mapping(options, "use_cassette")
        self.record_mode = RecordMode.parse(record_mode) if record_mode is not None else mode_from_env()
        self._raw_options = options
        self._stack: list[ActiveCassette] = []

    def __enter__(self) -> Cassette:
        stacks.install()
        options = self.options.merged({"record_mode": self.record_mode or RecordMode.NONE})
        active = ActiveCassette(Session(self.path, options))
        active.start()
        self._stack.append(active)
        return Cassette(active.session)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        active = self._stack.pop()
        active.stop(failed=exc is not None)
        refusal = active.claim_refusal()
        miss = active.first_miss or refusal
        if exc is None and miss is not None:
            raise miss

    async def __aenter__(self) -> Cassette:
        return self.__enter__()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.__exit__(exc_type, exc, tb)

    def __call__(self, func: F) -> F:
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                async with use_cassette(self.path, self.record_mode, **self._raw_options):
                    return await func(*args, **kwargs)

            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with use_cassette(self.path, self.record_mode, **self._raw_options):
                return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]
