"""Cassettes on disk: the YAML format (written by `yaml_format`, read by `schema`, parsed by
`fast_loader`) and the files themselves (`files`: cached loads, atomic saves, discovery).

Depends only on `core.models` and `errors`.
"""

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
