"""The SDKs' own async transports that bypass httpx's network transport (their vendored aiohttp
transports, litellm's): each is intercepted through the adapter of the stack it imports.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable

from .httpx import StackAdapter

# Async transports that bypass httpx's own network transport, by the module that defines them
# (looked up only once their SDK is imported): the SDKs' vendored aiohttp transports.
EXTRA_ASYNC_TRANSPORTS = (
    ("openai._vendor.httpx_aiohttp.transport", "AiohttpTransport"),
    ("anthropic._vendor.httpx_aiohttp.transport", "AiohttpTransport"),
    ("httpx_aiohttp.transport", "AiohttpTransport"),
    ("litellm.llms.custom_httpx.aiohttp_transport", "LiteLLMAiohttpTransport"),
)


_unavailable: set[str] = set()


def install_extra_transports(adapter_for: Callable[[object], StackAdapter | None]) -> None:
    """Patch the SDKs' aiohttp transports that are imported by now (cheap; called on activation)."""
    for module_name, class_name in EXTRA_ASYNC_TRANSPORTS:
        parent = module_name.split(".", 1)[0]
        if parent not in sys.modules or module_name in _unavailable:
            continue
        try:
            module = importlib.import_module(module_name)
        except ImportError:  # aiohttp is not installed: that transport cannot be used either
            _unavailable.add(module_name)
            continue
        cls = getattr(module, class_name, None)
        base = getattr(module, "httpx", None)  # the vendored transport imports its stack as `httpx`
        if cls is None or base is None:
            continue
        adapter = adapter_for(base)
        if adapter is not None:
            adapter.add_async_transport(cls)
