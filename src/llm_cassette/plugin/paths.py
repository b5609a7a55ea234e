"""Which cassette file a test uses: `<llm_cassette_dir>/<module path>/<test name>.yaml`."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import pytest

_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-\[\]=,+@]")


def safe_file_name(name: str) -> str:
    """`name` as a file name: unchanged when every character is safe; otherwise the unsafe ones
    replaced and a short hash of the original added, so that `[a/b]` and `[a_b]` never share a
    file; very long names shortened with a hash."""
    safe = _UNSAFE.sub("_", name)
    if len(safe) > 150:
        return f"{safe[:120]}-{_digest(name, 12)}"
    if safe != name:
        return f"{safe}-{_digest(name, 8)}"
    return safe


def legacy_safe_file_name(name: str) -> str:
    """The file name versions before 0.2 gave `name` (replacements without a hash), still read."""
    safe = _UNSAFE.sub("_", name)
    return f"{safe[:120]}-{_digest(name, 12)}" if len(safe) > 150 else safe


def _digest(name: str, length: int) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:length]


def cassette_dir(config: pytest.Config) -> Path:
    return Path(config.rootpath) / str(config.getini("llm_cassette_dir") or "cassettes")


#: Each item's paths by cassette name: asked for at collection, at set-up and for the legacy name.
_PATHS = pytest.StashKey[dict[str | None, Path]]()


def default_cassette_path(item: pytest.Item, name: str | None = None) -> Path:
    """`<llm_cassette_dir>/<module path without .py>/<test name>.yaml`, or `name` in that folder."""
    known = item.stash.setdefault(_PATHS, {})
    path = known.get(name)
    if path is None:
        path = known[name] = _cassette_path(item, name)
    return path


#: Each test module's cassette folder, by module path: the tests of a module share it.
_FOLDERS = pytest.StashKey[dict[str, Path]]()


def _module_folder(item: pytest.Item) -> Path:
    folders = item.config.stash.setdefault(_FOLDERS, {})
    key = str(item.path)
    folder = folders.get(key)
    if folder is None:
        module_path = Path(key)
        try:
            rel = module_path.relative_to(item.config.rootpath)
        except ValueError:
            rel = Path(module_path.name)
        folder = folders[key] = cassette_dir(item.config) / rel.with_suffix("")
    return folder


def _cassette_path(item: pytest.Item, name: str | None) -> Path:
    folder = _module_folder(item)
    if name is not None:
        p = Path(name)
        if not p.is_absolute():
            p = folder / (name if p.suffix in (".yaml", ".yml") else f"{name}.yaml")
        # `"../other/test"`: resolved by name, as a reader of the marker means it (the system would
        # refuse `..` after a folder that does not exist, such as this test's own, never created).
        return Path(os.path.normpath(p))
    return folder / (safe_file_name(_test_name(item)) + ".yaml")


def legacy_cassette_path(item: pytest.Item) -> Path | None:
    """Where earlier versions put this test's default cassette, when that differs from today."""
    name = _test_name(item)
    if len(name) <= 150 and _UNSAFE.search(name) is None:
        return None  # a safe name: both versions spell it alike (and no file is looked for)
    path = default_cassette_path(item)
    legacy = path.with_name(legacy_safe_file_name(name) + ".yaml")
    return legacy if legacy != path else None


def _test_name(item: pytest.Item) -> str:
    parts = item.nodeid.split("::")[1:]  # class(es), then the test name with its parametrize id
    return ".".join(parts) or item.name
