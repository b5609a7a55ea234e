"""The cold load's fast paths give what the general ones give: the bytes read, the documents parsed,
the data validated, and the same errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from llm_cassette.storage import read_regular_file


@pytest.mark.parametrize("size", [0, 1, 999, 1000, 1001, 70_000, 200_000])
def test_read_regular_file_reads_it_all_or_one_byte_over_the_limit(tmp_path: Path, size: int) -> None:
    data = bytes(i % 251 for i in range(size))
    path = tmp_path / "f.yaml"
    path.write_bytes(data)
    assert read_regular_file(path) == data
    assert read_regular_file(path, 1000) == data[:1001]
    assert read_regular_file(path, 100_000) == data[:100_001]
    assert read_regular_file(path, 0) == data[:1]
