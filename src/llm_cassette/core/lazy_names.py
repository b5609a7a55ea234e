"""Public names a package resolves on first use (PEP 562): the module that defines a name is
imported only when the name is asked for, so importing the package (every pytest run imports the
plugin) does not pay for the YAML reader, the HTTP stacks or asyncio before a cassette is used."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def resolver(package: str, where: dict[str, str], namespace: dict[str, Any]) -> Callable[[str], Any]:
    """A module `__getattr__` for `package`: `where` maps each name to the relative module that
    defines it (`""`: the name is a submodule); the value found is kept in `namespace`, so later
    lookups are plain module attributes."""

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = importlib.import_module(module or f".{name}", package)
        if module:
            value = getattr(value, name)
        namespace[name] = value
        return value

    return __getattr__
