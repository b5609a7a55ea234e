"""The parse cache: a large cassette is parsed once, and an entry is used only for the exact bytes
it was made from; a corrupt, foreign or stale entry is ignored and rewritten."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from llm_cassette import CassetteData, Chunk, Interaction, Request, Response, TransportFailure, loads, save
from llm_cassette.storage import files, parse_cache

URL = "http://127.0.0.1:9/v1/chat/completions"


def big_cassette(path: Path, count: int = 60) -> CassetteData:
    """Over the size worth caching: JSON bodies, raw bytes, a stream cut by an error, a failure."""
    items = []
    for i in range(count):
        body = json.dumps({"model": "m", "messages": [{"role": "user", "content": f"hello {i} " * 20}]}).encode()
        items.append(
            Interaction(
                request=Request("POST", URL, (("content-type", "application/json"),), body),
                response=Response(status=200, headers=(("content-type", "application/json"),), body=body, t=1.5),
            )
        )
    items.append(
        Interaction(
            request=Request("POST", URL, (), b"\x00\xff raw"),
            response=Response(
                status=200,
                headers=(("content-type", "text/event-stream"),),
                chunks=(Chunk(b"data: {}\n\n", 0.5), Chunk("data: é\n\n".encode(), 2.0)),
                error=TransportFailure("ReadTimeout", "timed out", 3.0),
            ),
        )
    )
    items.append(Interaction(request=Request("GET", URL + "?q=1"), error=TransportFailure("ConnectError", "refused")))
    data = CassetteData(interactions=items)
    save(path, data)
    assert path.stat().st_size > parse_cache.MIN_SIZE
    return data


@pytest.fixture
def cache_dir(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "parse-cache"
    before = parse_cache.directory()
    parse_cache.set_directory(folder)
    yield folder
    parse_cache.set_directory(before)


def fresh_load(path: Path) -> CassetteData:
    """A load as a new process does it (the in-process cache forgotten)."""
    files._cache.clear()
    return files.load(path)


def entries(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.json")) if folder.exists() else []


def test_an_entry_gives_back_exactly_what_parsing_gives(tmp_path: Path, cache_dir: Path) -> None:
    path = tmp_path / "big.yaml"
    written = big_cassette(path)
    first = fresh_load(path)
    [entry] = entries(cache_dir)
    again = fresh_load(path)
    assert again.interactions == first.interactions == loads(path.read_bytes()).interactions
    assert again.interactions == written.interactions
    assert entry.read_bytes().startswith(b'{"magic":"llm-cassette parse cache"')


def test_a_new_process_reads_the_entry_instead_of_the_yaml(tmp_path: Path, cache_dir: Path) -> None:
    path = tmp_path / "big.yaml"
    big_cassette(path)
    fresh_load(path)
    [entry] = entries(cache_dir)
    # Prove the entry is what a new process reads: an entry for these exact bytes that says
    # something else is believed (the cache directory is the user's own, like the cassette).
    doc = json.loads(entry.read_bytes())
    doc["interactions"][0][1][0] = 418
    entry.write_text(json.dumps(doc))
    script = textwrap.dedent(
        f"""
        from llm_cassette import load
        from llm_cassette.storage import parse_cache
        parse_cache.set_directory({str(cache_dir)!r})
        print(load({str(path)!r}).interactions[0].response.status)
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "418"


@pytest.mark.parametrize(
    "damage",
    [
        "truncated",
        "not json",
        "foreign json",
        "other format tag",
        "stale hash",
        "wrong types",
        "missing field",
    ],
)
def test_a_corrupt_or_foreign_entry_is_ignored_and_rewritten(tmp_path: Path, cache_dir: Path, damage: str) -> None:
    path = tmp_path / "big.yaml"
    big_cassette(path)
    expected = fresh_load(path).interactions
    [entry] = entries(cache_dir)
    good = entry.read_bytes()
    doc = json.loads(good)
    if damage == "truncated":
        entry.write_bytes(good[: len(good) // 2])
    elif damage == "not json":
        entry.write_bytes(b"\x80\x00 garbage")
    elif damage == "foreign json":
        entry.write_text(json.dumps({"interactions": doc["interactions"]}))
    elif damage == "other format tag":
        entry.write_text(json.dumps({**doc, "tag": "layout 0, format 0"}))
    elif damage == "stale hash":
        entry.write_text(json.dumps({**doc, "sha256": "0" * 64}))
    elif damage == "wrong types":
        doc["interactions"][0][0][3] = 12345  # a body that is not text
        entry.write_text(json.dumps(doc))
    else:
        del doc["interactions"][0][1][2]
        entry.write_text(json.dumps(doc))
    assert fresh_load(path).interactions == expected
    assert entry.read_bytes() == good  # rewritten from the real parse


def test_a_changed_cassette_is_parsed_again(tmp_path: Path, cache_dir: Path) -> None:
    path = tmp_path / "big.yaml"
    big_cassette(path)
    fresh_load(path)
    data = big_cassette(path, count=70)
    assert fresh_load(path).interactions == data.interactions
    assert len(entries(cache_dir)) == 1  # one entry per cassette file, replaced


def test_no_directory_means_no_cache(tmp_path: Path) -> None:
    before = parse_cache.directory()
    parse_cache.set_directory(None)
    try:
        path = tmp_path / "big.yaml"
        big_cassette(path)
        fresh_load(path)
        assert not list(tmp_path.rglob("*.json"))
    finally:
        parse_cache.set_directory(before)


def test_small_cassettes_are_not_cached(tmp_path: Path, cache_dir: Path) -> None:
    path = tmp_path / "small.yaml"
    save(path, CassetteData(interactions=[Interaction(request=Request("GET", URL), response=Response(status=204))]))
    fresh_load(path)
    assert entries(cache_dir) == []


def test_an_unwritable_cache_is_no_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder would be")
    before = parse_cache.directory()
    parse_cache.set_directory(blocker / "cache")
    try:
        path = tmp_path / "big.yaml"
        data = big_cassette(path)
        assert fresh_load(path).interactions == data.interactions
    finally:
        parse_cache.set_directory(before)


PLUGIN_TEST = """
import httpx, pytest

@pytest.mark.llm_cassette("big.yaml", record_mode="none")
def test_replays():
    assert httpx.get("http://127.0.0.1:9/v1/chat/completions?q=1").status_code == 200
"""


@pytest.mark.parametrize(
    ("args", "where"),
    [
        ((), ".pytest_cache/d/llm-cassette-parse"),
        (("--llm-parse-cache-dir=mine",), "mine"),
        (("--llm-no-parse-cache",), None),
        (("-o", "llm_parse_cache=false"), None),
    ],
)
def test_the_plugin_keeps_entries_where_the_user_says(
    pytester: pytest.Pytester, args: tuple[str, ...], where: str | None
) -> None:
    path = pytester.path / "cassettes" / "test_big" / "big.yaml"
    path.parent.mkdir(parents=True)
    data = big_cassette(path)
    # The test's request is the GET above: answer it from this cassette.
    items = [Interaction(request=Request("GET", URL + "?q=1"), response=Response(status=200)), *data.interactions]
    save(path, CassetteData(interactions=items))
    pytester.makepyfile(test_big=PLUGIN_TEST)
    pytester.runpytest_inprocess(*args).assert_outcomes(passed=1)
    found = [
        p.relative_to(pytester.path) for p in pytester.path.rglob("*.json") if "parse" in str(p) or "mine" in str(p)
    ]
    if where is None:
        assert found == []
    else:
        assert len(found) == 1 and str(found[0].parent) == where


def test_the_cache_tags_entries_with_the_format_the_writer_writes() -> None:
    from llm_cassette.storage import yaml_format

    assert parse_cache.FORMAT_VERSION == yaml_format.FORMAT_VERSION
