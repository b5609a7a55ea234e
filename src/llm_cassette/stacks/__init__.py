"""The HTTP stacks llm-cassette records and replays, each through one thin adapter over the
shared stream layer (`streams`) and the same core session.

`install()` patches every importable stack once; the doors call it before a cassette starts.
httpx and httpx2 are patched at once (they are imported anyway); aiohttp when the application
imports it (the SDKs' aiohttp transports send through it, so they need nothing of their own).
"""

from __future__ import annotations

import importlib
import threading

from . import aiohttp
from .httpx import MODULES, StackAdapter

_adapters: dict[int, StackAdapter] = {}
_install_lock = threading.Lock()


def install() -> list[StackAdapter]:
    """Patch every importable HTTP stack once (idempotent; an aliased httpx2 is patched once)."""
    with _install_lock:
        for name in MODULES:
            try:
                module = importlib.import_module(name)
            except ImportError:
                continue
            if id(module) in _adapters:
                continue
            current = getattr(module.HTTPTransport.handle_request, "_llm_cassette", False)
            if current:  # patched by another copy of this module (e.g. reloaded)
                continue
            adapter = StackAdapter(module)
            adapter.install()
            _adapters[id(module)] = adapter
        adapters = list(_adapters.values())
    aiohttp.install()
    return adapters


def uninstall() -> None:
    with _install_lock:
        for adapter in _adapters.values():
            adapter.uninstall()
        _adapters.clear()
    aiohttp.uninstall()


__all__ = ["StackAdapter", "install", "uninstall"]
