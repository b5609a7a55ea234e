"""The cold load's fast paths give what the general ones give: the bytes read, the documents parsed,
the data validated, and the same errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from llm_cassette import CassetteData
from llm_cassette.storage import fast_loader, read_regular_file, schema


@pytest.mark.parametrize("size", [0, 1, 999, 1000, 1001, 70_000, 200_000])
def test_read_regular_file_reads_it_all_or_one_byte_over_the_limit(tmp_path: Path, size: int) -> None:
    data = bytes(i % 251 for i in range(size))
    path = tmp_path / "f.yaml"
    path.write_bytes(data)
    assert read_regular_file(path) == data
    assert read_regular_file(path, 1000) == data[:1001]
    assert read_regular_file(path, 100_000) == data[:100_001]
    assert read_regular_file(path, 0) == data[:1]


# --- validation: the fast path builds what the full checks build, and defers every error to them ---

ROOT = Path(__file__).resolve().parent.parent
COMMITTED = sorted(
    p
    for folder in (ROOT / "cassettes", ROOT / "tests" / "data" / "example_cassettes_v1")
    for p in folder.rglob("*.yaml")
)
ODD_VALUES: list[Any] = [None, True, 0, 1.5, 404, "x", "GET", [], ["a"], {}, {"text": "a"}, {"json": {"a": 1}}]


def full_checks(doc: Any) -> Any:
    """`schema.from_document` without its fast path: the value, or the error's (path, message)."""
    try:
        version = doc["version"]
        items = [schema._interaction_from(v, ["interactions", i], version) for i, v in enumerate(doc["interactions"])]
        return CassetteData(items, version)
    except schema._Invalid as exc:
        return (exc.path, exc.message)


def checked(doc: Any) -> Any:
    try:
        return schema.from_document(doc)
    except schema._Invalid as exc:
        return (exc.path, exc.message)


def variants(node: Any) -> Iterator[Any]:
    """Copies of `node` with one value replaced by another type, one key removed, or one added."""
    if isinstance(node, dict):
        yield {**node, "surprise": 1}
        for key, value in node.items():
            yield {k: v for k, v in node.items() if k != key}
            for odd in ODD_VALUES:
                yield {**node, key: odd}
            for inner in variants(value):
                yield {**node, key: inner}
    elif isinstance(node, list):
        for i, value in enumerate(node):
            for odd in ODD_VALUES[:4]:
                yield [*node[:i], odd, *node[i + 1 :]]
            for inner in variants(value):
                yield [*node[:i], inner, *node[i + 1 :]]


def test_fast_validation_gives_what_the_full_checks_give_on_every_committed_cassette() -> None:
    assert len(COMMITTED) >= 10
    for path in COMMITTED:
        doc = fast_loader.parse_yaml(path.read_bytes())
        assert checked(doc) == full_checks(doc), path


def test_fast_validation_leaves_every_broken_interaction_to_the_full_checks() -> None:
    docs = [fast_loader.parse_yaml(p.read_bytes()) for p in COMMITTED[:3]]
    count = 0
    for doc in docs:
        for interaction in doc["interactions"][:1]:
            for variant in variants(interaction):
                broken = {"version": doc["version"], "interactions": [variant]}
                assert checked(broken) == full_checks(broken), variant
                count += 1
    assert count > 500
