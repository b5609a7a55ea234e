"""The HTTP stacks llm-cassette records and replays, each through one thin adapter over the
shared stream layer (`streams`) and the same core session, and the network guard below them all.

`install()` patches every stack once, and the guard; the doors call it before a cassette
starts. A stack is patched when the application imports it, or at once if it already has (the
SDKs' aiohttp transports send through aiohttp, so they need nothing of their own).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any

from . import guard, import_hook
from .import_hook import when_imported

if TYPE_CHECKING:
    from .httpx import StackAdapter

#: The httpx-compatible modules patched (named here: installing imports no adapter before them).
MODULES = ("httpx", "httpx2")

_adapters: dict[int, StackAdapter] = {}
_install_lock = threading.Lock()
_urllib3: list[Any] = []  # the urllib3 adapter, once installed
#: The watched modules as `install()` last saw them in `sys.modules` (cleared by `uninstall()`):
#: while they are the same objects and the import hook is still in place, every later start (each
#: test, each block) has nothing to patch.
_installed: dict[str, ModuleType | None] = {}


def install() -> list[StackAdapter]:
    """Patch every HTTP stack once (idempotent; an aliased httpx2 is patched once): those already
    imported now, the others when the application imports them (never imported here: httpx2
    alone takes tens of milliseconds, paid by every run that never sends through it)."""
    if _installed and import_hook.watching():
        modules = sys.modules
        with _install_lock:
            # Modules compare by identity: the same objects as when installed, nothing to patch.
            if list(map(modules.get, _installed)) == list(_installed.values()):
                return list(_adapters.values())
    for name, patch in _PATCHES.items():
        when_imported(name, patch)
    guard.install()
    with _install_lock:
        _installed.update((name, sys.modules.get(name)) for name in _PATCHES)
        return list(_adapters.values())


def _install_httpx(module: ModuleType) -> None:
    from .httpx import StackAdapter

    with _install_lock:
        if id(module) in _adapters:
            return
        if getattr(module.HTTPTransport.handle_request, "_llm_cassette", False):
            return  # patched by another copy of this module (e.g. reloaded)
        adapter = StackAdapter(module)
        adapter.install()
        _adapters[id(module)] = adapter


def _install_urllib3(_module: ModuleType) -> None:
    from .urllib3 import load_adapter

    with _install_lock:
        if _urllib3:
            return
        adapter = load_adapter()
        if adapter is not None:
            adapter.install()
            _urllib3.append(adapter)


def _install_aiohttp(module: ModuleType) -> None:
    from . import aiohttp

    aiohttp.install()  # patches `module` now: it is imported


#: Each watched module and its patch: httpx and httpx2, urllib3 (requests, botocore), and aiohttp
#: (its adapter, and asyncio with it, imported only with aiohttp).
_PATCHES: dict[str, Callable[[ModuleType], None]] = {
    **dict.fromkeys(MODULES, _install_httpx),
    "urllib3": _install_urllib3,
    "aiohttp.client": _install_aiohttp,
}


def uninstall() -> None:
    with _install_lock:
        _installed.clear()
        for adapter in _adapters.values():
            adapter.uninstall()
        _adapters.clear()
        for u in _urllib3:
            u.uninstall()
        _urllib3.clear()
    guard.uninstall()
    aiohttp = sys.modules.get(f"{__name__}.aiohttp")
    if aiohttp is not None:
        aiohttp.uninstall()


__all__ = ["StackAdapter", "install", "uninstall"]
