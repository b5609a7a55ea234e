"""Cassettes on disk: the YAML format (written by `yaml_format`, read by `schema`, parsed by
`fast_loader`) and the files themselves (`files`: cached loads, atomic saves, discovery).

Depends only on `core.models` and `errors`.
"""

from .files import NotRegularFile, atomic_write, iter_cassette_files, load, orphan_cassettes, read_regular_file, save
from .schema import line_of, loads
from .yaml_format import FORMAT_VERSION, dumps

__all__ = [
    "FORMAT_VERSION",
    "NotRegularFile",
    "atomic_write",
    "dumps",
    "iter_cassette_files",
    "line_of",
    "load",
    "loads",
    "orphan_cassettes",
    "read_regular_file",
    "save",
]
