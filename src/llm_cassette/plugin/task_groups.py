"""A miss inside a task group, handed to the async test runner as the miss itself.

A miss is a pytest outcome (like `pytest.fail`), which anyio's and pytest-asyncio's runners let
through as a test result. Raised inside a task of an `anyio.create_task_group()` or an
`asyncio.TaskGroup`, it reaches the runner wrapped in a `BaseExceptionGroup` instead: no outcome,
so anyio's runner task dies with it, and every async fixture after it never finishes. The test
function of a test with a cassette is therefore wrapped, for the call only, so that such a group
is raised as the miss it holds (the group kept as its cause).
"""

from __future__ import annotations

import builtins
import functools
import inspect
from collections.abc import Callable, Coroutine, Generator
from typing import Any

import pytest

from ..errors import CassetteMiss
from .failure_report import cassette_failure
from .state import ACTIVE


def _group_types() -> tuple[type[BaseException], ...]:
    builtin = getattr(builtins, "BaseExceptionGroup", None)
    if builtin is not None:
        return (builtin,)
    try:  # Python 3.10: the backport anyio brings
        from exceptiongroup import BaseExceptionGroup as backport  # type: ignore[import-not-found]
    except ImportError:
        return ()
    return (backport,)


_GROUPS = _group_types()


def miss_out_of_groups(func: Callable[..., Coroutine[Any, Any, Any]]) -> Callable[..., Coroutine[Any, Any, Any]]:
    """`func`, raising the miss an exception group of non-`Exception`s holds as the miss itself."""

    @functools.wraps(func)
    async def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return await func(*args, **kwargs)
        except _GROUPS as group:
            miss = cassette_failure(group)
            if isinstance(group, Exception) or not isinstance(miss, CassetteMiss):
                raise  # a group of plain exceptions is a plain failure: the runners handle it
            raise miss from group

    return call


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> Generator[None, Any, Any]:
    original = pyfuncitem.obj
    # Hypothesis keeps state on the test function that anyio rewires: such tests are left as they are.
    wrap = bool(_GROUPS) and ACTIVE in pyfuncitem.stash and inspect.iscoroutinefunction(original)
    if wrap and not hasattr(original, "hypothesis"):
        pyfuncitem.obj = miss_out_of_groups(original)
    try:
        return (yield)
    finally:
        pyfuncitem.obj = original
