"""Cassettes on disk: the YAML format (written by `yaml_format`, read by `schema`, parsed by
`fast_loader`) and the files themselves (`files`: cached loads, atomic saves, discovery).

Depends only on `core.models` and `errors` (and `core.lazy_names`, which resolves its names on first use).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..core.lazy_names import resolver

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


__getattr__ = resolver(__name__, _LAZY, globals())


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
