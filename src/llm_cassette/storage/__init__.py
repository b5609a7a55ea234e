"""Cassettes on disk: the YAML format (written by `yaml_format`, read by `schema`, parsed by
`fast_loader`) and the files themselves (`files`: cached loads, atomic saves, discovery).

Depends only on `core.models` and `errors`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .files import (
        NotRegularFile,
        atomic_write,
        cassette_files,
        iter_cassette_files,
        load,
        orphan_cassettes,
        other_yaml_files,
        read_regular_file,
        remove_empty_folders,
        save,
    )
    from .schema import line_of, loads
    from .yaml_format import FORMAT_VERSION, dumps

# Each name's module, imported on first use: the plugin sets the parse cache's directory when
# pytest starts (`storage.parse_cache`), which must not import the YAML reader and writer.
_FILES = (
    "NotRegularFile", "atomic_write", "cassette_files", "iter_cassette_files", "load", "orphan_cassettes",
    "other_yaml_files", "read_regular_file", "remove_empty_folders", "save",
)  # fmt: skip
_LAZY = {
    **dict.fromkeys(_FILES, ".files"),
    "line_of": ".schema",
    "loads": ".schema",
    "FORMAT_VERSION": ".yaml_format",
    "dumps": ".yaml_format",
}


def __getattr__(name: str) -> Any:
    where = _LAZY.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(where, __name__), name)
    globals()[name] = value  # once: later lookups are plain module attributes
    return value


__all__ = [
    "FORMAT_VERSION",
    "NotRegularFile",
    "atomic_write",
    "cassette_files",
    "dumps",
    "iter_cassette_files",
    "line_of",
    "load",
    "loads",
    "orphan_cassettes",
    "other_yaml_files",
    "read_regular_file",
    "remove_empty_folders",
    "save",
]
