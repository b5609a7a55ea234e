"""Run a patch when a module is imported, whatever the import order: a stack imported inside a
test body (`import requests` after the cassette started) is intercepted like one imported first,
and nothing is imported before the code under test asks for it (aiohttp alone costs half a
second). One `sys.meta_path` finder for every watched module.

A watched module stays watched: imported again as a new module object (pytester's in-process runs
restore `sys.modules` afterwards), it gets the callbacks again. Callbacks tell for themselves
whether a module is already patched.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import threading
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

_callbacks: dict[str, list[Callable[[ModuleType], None]]] = {}
_lock = threading.Lock()


class _PatchAfterImport(importlib.abc.MetaPathFinder):
    """Finds nothing itself: wraps the loader of a watched module so callbacks run once it is loaded."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in _callbacks:
            return None
        for finder in sys.meta_path:  # the finders after this one decide
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is None:
                continue
            if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                spec.loader = _Loader(spec.loader)
            return spec
        return None


class _Loader(importlib.abc.Loader):
    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self._inner.create_module(spec)  # type: ignore[no-any-return]

    def exec_module(self, module: ModuleType) -> None:
        self._inner.exec_module(module)
        with _lock:
            callbacks = list(_callbacks.get(module.__name__, ()))
        for callback in callbacks:
            callback(module)

    def __getattr__(self, name: str) -> Any:  # is_package, get_code, get_resource_reader, ...
        return getattr(self._inner, name)


_finder = _PatchAfterImport()


def watching() -> bool:
    """Whether the finder is still first to see imports (code may have rebuilt `sys.meta_path`)."""
    return _finder in sys.meta_path


def when_imported(name: str, callback: Callable[[ModuleType], None]) -> None:
    """Call `callback(module)` now if `name` is imported, and after every later import of it.

    Registering the same callback again (every cassette start does) adds nothing.
    """
    with _lock:
        waiting = _callbacks.setdefault(name, [])
        if callback not in waiting:
            waiting.append(callback)
        if _finder not in sys.meta_path:
            sys.meta_path.insert(0, _finder)
        module = sys.modules.get(name)
    if module is not None:
        callback(module)
