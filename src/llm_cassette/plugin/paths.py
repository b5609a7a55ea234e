"""Which cassette file a test uses: `<llm_cassette_dir>/<module path>/<test name>.yaml`."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-\[\]=,+@]")


def safe_file_name(name: str) -> str:
    """`name` with characters unsafe in file names replaced; very long names shortened with a hash."""
    safe = _UNSAFE.sub("_", name)
    if len(safe) > 150:
        digest = hashlib.sha256(name.encode()).hexdigest()[:12]
        safe = f"{safe[:120]}-{digest}"
    return safe


def cassette_dir(config: pytest.Config) -> Path:
    return Path(config.rootpath) / str(config.getini("llm_cassette_dir") or "cassettes")


def default_cassette_path(item: pytest.Item, name: str | None = None) -> Path:
    """`<llm_cassette_dir>/<module path without .py>/<test name>.yaml`, or `name` in that folder."""
    module_path = Path(str(item.path))
    try:
        rel = module_path.relative_to(item.config.rootpath)
    except ValueError:
        rel = Path(module_path.name)
    folder = cassette_dir(item.config) / rel.with_suffix("")
    if name is not None:
        p = Path(name)
        if p.is_absolute():
            return p
        return folder / (name if p.suffix in (".yaml", ".yml") else f"{name}.yaml")
    parts = item.nodeid.split("::")[1:]  # class(es), then the test name with its parametrize id
    return folder / (safe_file_name(".".join(parts) or item.name) + ".yaml")
