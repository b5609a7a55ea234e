"""The cold load's fast paths give what the general ones give: the bytes read, the documents parsed,
the data validated, and the same errors."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from llm_cassette import CassetteData, CassetteFormatError
from llm_cassette.storage import block_reader, fast_loader, plain_scalars, read_regular_file, schema, yaml_format


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


# --- parsing: the block reader reads what YAML reads, or leaves the text to the full parser --------


def same(a: Any, b: Any) -> bool:
    """Equal, with the same types all the way down (1, 1.0 and True differ) and keys in order."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        pairs = zip(a.items(), b.items(), strict=False)
        return len(a) == len(b) and all(same(k, k2) and same(v, v2) for (k, v), (k2, v2) in pairs)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(v, w) for v, w in zip(a, b, strict=False))
    return bool(a == b) or (a != a and b != b)  # NaN


def read_or_none(text: str) -> tuple[Any] | None:
    """(what the block reader read,), or None when it left the text to the full parser."""
    try:
        return (block_reader.read(text),)
    except block_reader.Unusual:
        return None


def check_agrees(text: str) -> bool:
    """Assert the block reader reads `text` as libyaml and PyYAML do; whether it read it at all."""
    got = read_or_none(text)
    if got is None:
        return False
    for loader in (fast_loader.Loader, yaml.SafeLoader):
        expected = yaml.load(text, Loader=loader)  # a text YAML refuses must never be read
        assert same(got[0], expected), (text, got[0], expected)
    return True


def test_the_block_reader_reads_every_committed_cassette_as_yaml_does() -> None:
    read = [p for p in COMMITTED if check_agrees(p.read_text("utf-8"))]
    assert len(read) == len(COMMITTED)  # every cassette we wrote, the streamed ones included


def test_the_characters_that_make_a_text_unusual_are_those_outside_the_printable_ranges() -> None:
    # `_ODD` names them one by one (a class of the printable ranges' complement costs 50 M
    # instructions to compile): every other character from U+0080 up is in one of these ranges.
    printable = [(0xA0, 0x2027), (0x202A, 0xD7FF), (0xE000, 0xFEFE), (0xFF00, 0xFFFD), (0x10000, 0x10FFFF)]
    starts, ends = [0x80] + [hi + 1 for _, hi in printable], [lo for lo, _ in printable] + [0x110000]
    odd = "".join(chr(c) for lo, hi in zip(starts, ends, strict=True) for c in range(lo, hi))
    every = "".join(map(chr, range(0x80, 0x110000)))
    assert "".join(block_reader._ODD.findall(every)) == odd


SNIPPETS = [
    "a: 1\n", "a:\n", "a: ~\n", "a: null\nb: yes\nc: 0x1F\nd: 1_000\ne: 1:20\nf: .inf\ng: 2024-01-01\n",
    "a: '1'\nb: \"x\\ty\"\nc: 'it''s'\nd: \"\\u00e9\\U0001F600\\x41\\N\\_\\/\"\n",
    "a:\n- 1\n- - 2\n  - 3\n- b: 4\n  c: 5\n-\n- []\n- {}\n", "a:\n  - x\n  -   y\n", "a:\n    b:\n        c: d\n",
    "# c\na: 1 # c\n", "# c\n\na: 1\n\n# d\nb:\n  # e\n  c: 2\n", "a: 1\n  b: 2\n", "a: b\n  c\n", "a: b: c\n",
    "a: |\n  x\n  y\n", "a: |-\n  x\n\n", "a: |+\n  x\n\n\nb: 1\n", "a: |2\n    x\n   y\n", "a: |-2\n   x\n",
    "a: |\n  x\n   \n  y\n    \n", "a: |\n\n  x\n", "a: |\n  # x\n # y\nb: 1\n", "- |\n  x\n", "a:\n- |+\n  x\n\n...\n",
    "a: >\n  x\n", "a: &x 1\nb: *x\n", "a: !!str 1\n", "? a\n: b\n", "a: [1, 2]\n", "a: {b: 1}\n", "a: 1\na: 2\n",
    "1: a\n1.0: b\n", "true: a\nnull: b\n", "<<: {a: 1}\n", "a: =\n", "a:  1\n", "a: 1 \n", "a :1\n", "a:1\n",
    "a: 'x\n  y'\n", 'a: "x\\\n  y"\n', "a: x\n  y\n", "---\na: 1\n", "a: 1\n...\n", "%YAML 1.1\n---\na: 1\n",
    "a: 1", "a: \t1\n", "a: 1\r\n", "\ufeffa: 1\n", "a: \x85\n", "a: '\u2028'\n", "a: -\n", "a: - b\n", "a: -b\n",
    "-a: 1\n", ":a: 1\n", "?a: 1\n", "a: '\n", 'a: "\\q"\n', 'a: "\\uD800"\n', "a: ''\n", 'a: ""\n', "'a: b': c\n",
    '"a\\"b": c\n', "'': 1\n", "- a\n", "a\n", "", "# only\n", "   \n", "a: 1\n- b\n", "a:\n- b\nc: d\n", "a: [\n",
    "a: 1\n---\nb: 2\n", "a: 1\n... x: y\n", "a: 1\n--- b: 2\n", "...: 1\n", "---a: 1\n",
]  # fmt: skip


@pytest.mark.parametrize("text", SNIPPETS)
def test_a_snippet_is_read_as_yaml_reads_it_or_left_to_the_full_parser(text: str) -> None:
    check_agrees(text)


# The same lines in other places: in a mapping, after a dash, twice (a duplicate), at a key's column.
IN_CONTEXT = [
    "a:\n  b: 1\n", "b: 1\n", "  b: 1\n", "a:\n  b: 1\n  b: 1\n", "a:\n- b: 1\n  b: 1\n", "a:\n  - b: 1\n  b: 1\n",
    "a:\n  - b: 1\n    b: 1\n", "a:\n  b:\n  c: 1\n", "a:\n  b:\n  - 1\n", "a:\n  b:\n    c: 1\n", "- b: 1\n",
    "- - b: 1\n", "a:\n  b:\n", "b:\n- b: 1\n", "a: 1\n  b: 1\n", "- a\n  b: 1\n", "a:\n  b: |\n    b: 1\n",
]  # fmt: skip


def read_afresh(text: str) -> tuple[Any] | None:
    block_reader._lines.clear()
    return read_or_none(text)


def test_a_line_read_before_means_what_it_means_where_it_is_now() -> None:
    """The reader keeps what a line's text says (its column, key and value) across documents; what
    it means in the document is decided anew: every text reads the same after any other one."""
    texts = SNIPPETS + IN_CONTEXT
    alone = {text: read_afresh(text) for text in texts}
    assert sum(v is not None for v in alone.values()) >= 30
    for before in texts:
        for text in texts:
            read_afresh(before)
            again = read_or_none(text)
            assert (again is None) is (alone[text] is None), (before, text)
            assert again is None or same(again[0], alone[text][0]), (before, text, again, alone[text])  # type: ignore[index]
    for text in IN_CONTEXT:
        check_agrees(text)
    block_reader._lines.clear()


@pytest.mark.parametrize("text", [b"a: \xc3A\xa9\n", b"a: |\n  x\xc3A\xa9\n", b"\xc3A\xa9: 1\n", b"a: 1\nb: \xff\n"])
def test_a_line_that_is_not_utf_8_is_left_to_the_full_parser(text: bytes) -> None:
    # Lines are decoded one by one: a lead byte before an ASCII one (whose high bytes alone would
    # decode) is still found, and reported as YAML reports it, with its line.
    assert read_or_none(text) is None
    with pytest.raises(CassetteFormatError, match=r"c\.yaml:\d: invalid YAML: .*UTF-8"):
        schema.loads(text, "c.yaml")


def test_a_consumed_document_gives_the_same_data_and_lets_go_of_its_interactions() -> None:
    for path in COMMITTED:
        text = path.read_bytes()
        kept, consumed = block_reader.read(text), block_reader.read(text)
        assert schema.from_document(consumed, consume=True) == schema.from_document(kept)
        assert set(consumed["interactions"]) <= {None} and None not in kept["interactions"]


SCALARS = [
    *("yes", "no", "on", "Off", "y", "true", "False", "~", "null", "0x1F", "0o17", "017", "1e3", "1_000", "+1", "-0"),
    *("1.", ".5", "1:20", ".inf", ".nan", "2024-01-01", "2001-12-14t21:59:43.10-05:00", "12:30:45", "<<", "="),
    *("- a", "-", ": x", "a: b", "? q", "#c", " #c", "a #c", "'", '"', "''", "&a", "*a", "!tag", "%Y", "@x", "`x"),
    *("|", "|-", ">", "---", "...", "{", "}", "[", "]", ",", "\\", "\\n", "", " ", "  lead", "trail  ", "a\n", "\na"),
    *("a\n\n", " \n", "\n ", "\t", "a\tb", "\r\n", "\x85", "\u2028", "\ufeff", "\x00", "\x7f", "\x9f", "\xa0", "é"),
    *("😀", "日本語", "data: x\n\n", "it's", 'say "hi"', "http://127.0.0.1:9/v1?a=b#c", "a:b", "a,b", "x" * 50),
]  # fmt: skip
scalars = st.one_of(
    st.sampled_from(SCALARS),
    st.text(st.sampled_from("ab :#-'\"\n\t\\é"), max_size=12),
    st.integers(),
    st.floats(),
    st.booleans(),
    st.none(),
)
documents = st.dictionaries(
    st.one_of(st.sampled_from(SCALARS), st.text(max_size=6), st.integers()),
    st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(SCALARS[:40]), inner, max_size=4)
        ),
        max_leaves=12,
    ),
    min_size=1,
    max_size=5,
)


# 25 derandomized documents keep the suite in budget; HYPOTHESIS_PROFILE=long writes and reads 2,000.
@settings(
    max_examples=2000 if os.environ.get("HYPOTHESIS_PROFILE") == "long" else 25,
    derandomize=True,
    deadline=None,
    database=None,
)
@given(doc=documents, width=st.sampled_from([4096, 4096, 12]), pure=st.booleans())
def written_and_read(read: list[bool], doc: dict[Any, Any], width: int, pure: bool) -> None:
    if pure:  # the writer without libyaml: PyYAML's own emitter
        text = yaml.dump(doc, Dumper=yaml.SafeDumper, sort_keys=False, allow_unicode=True, width=width, indent=2)
    else:
        text = yaml_format.dump_document(doc, width)
    read.append(check_agrees(text))


def test_what_our_writer_writes_is_read_as_yaml_reads_it() -> None:
    read: list[bool] = []
    written_and_read(read)
    assert sum(read) > len(read) // 3  # the rest has tabs, control characters or folded lines


# --- plain scalars without PyYAML: what PyYAML's resolver and safe constructor make of each -------


def test_the_plain_scalar_table_is_pyyaml_s() -> None:
    # Pattern for pattern, first character for first character, in PyYAML's order: the type of a
    # plain scalar is decided as PyYAML decides it (a PyYAML that changes its table fails here).
    def table(resolvers: dict[Any, list[tuple[str, Any]]]) -> dict[Any, list[tuple[str, str, int]]]:
        return {first: [(tag, p.pattern, p.flags) for tag, p in pairs] for first, pairs in resolvers.items()}

    for loader in (fast_loader.Loader, yaml.SafeLoader, yaml.CSafeLoader):
        assert table(loader.yaml_implicit_resolvers) == table(plain_scalars.BY_FIRST), loader
        assert not loader.yaml_path_resolvers


def pyyaml_value(text: str) -> tuple[Any] | None:
    """(the value SafeLoader gives the plain scalar `text`,), or None where PyYAML raises."""
    loader = yaml.SafeLoader("")
    tag = loader.resolve(yaml.ScalarNode, text, (True, False))
    try:
        return (loader.construct_object(yaml.ScalarNode(tag, text)),)
    except (ValueError, yaml.YAMLError):
        return None
    finally:
        loader.dispose()


def short_texts() -> list[str]:
    """Every text of up to 3 characters from the characters numbers, bools and nulls are made of,
    and 3,000 longer ones (fixed seed)."""
    import itertools
    import random

    alphabet = "0179+-._:eEx~nNyo"
    texts = ["".join(t) for n in (1, 2, 3) for t in itertools.product(alphabet, repeat=n)]
    rng = random.Random(14)
    pieces = [*"0123456789+-._:eEbxo", "inf", "Inf", "nan", "NaN", "yes", "No", "ON", "null", "~", "<<", "=", "T", " "]
    texts += ["".join(rng.choices(pieces, k=rng.randint(2, 9))) for _ in range(3000)]
    return [t for t in texts if t.strip() == t and t]


def test_every_short_plain_scalar_is_built_as_pyyaml_builds_it_or_left_to_pyyaml() -> None:
    answered = 0
    texts = short_texts()
    for text in texts:
        expected = pyyaml_value(text)
        try:
            got = plain_scalars.resolve(text)
        except plain_scalars.Unusual:
            continue  # left to PyYAML: the document is parsed by it, with its value or its error
        assert expected is not None and same(got, expected[0]), (text, got, expected)
        answered += 1
    assert answered > len(texts) * 3 // 4  # most of them are certain (strings, decimals, floats)


# (text, whether the block reader reads it itself): every YAML 1.1 form, as a key and as a value.
TRICKY = [
    *((t, True) for t in ("~", "null", "Null", "NULL", "nULL", "yes", "Yes", "YES", "yES", "no", "No", "NO")),
    *((t, True) for t in ("true", "True", "TRUE", "tRUE", "false", "False", "FALSE", "on", "On", "ON", "off")),
    *((t, True) for t in ("Off", "OFF", "y", "Y", "n", "N", "0", "-0", "+0", "7", "-7", "+7", "1700000000")),
    *((t, True) for t in ("9.3", "-1.5", "+1.5", "1.", "0.0", "-0.0", ".5", "01.5", "1.0e+17", "1.0e-05", "1.E+3")),
    *((t, True) for t in (".inf", ".Inf", ".INF", "-.inf", "+.INF", ".nan", ".NaN", ".NAN", "-.nan", ".iNf")),
    *((t, True) for t in ("1e3", "1E3", "1.5e3", "-.5", "0o17", "0O17", "08", "09.x", "_1", "1-2", "x1")),
    *((t, True) for t in ("127.0.0.1", "1.2.3", "6ms", "1.2s", "2024-1-1", "0b", "1:60", "+", "-1-", "--1")),
    *((t, True) for t in ("<", "<<<", "==", "=x", "~x", "nulls", "yes!", "Tue, 01 Dec 2026 16:15:48 GMT")),
    *((t, False) for t in ("0x1F", "0x_", "-0x1f", "0b101", "1__", "017", "-017", "00", "0_", "1_000", "1_0.5")),
    *((t, False) for t in ("1:30", "-1:30", "12:30:45", "190:20:30", "1:30.5", "1.5_", "2024-01-01", "<<", "=")),
    *((t, False) for t in ("2001-12-14t21:59:43.10-05:00", "2001-12-14 21:59:43.10 -5", "2002-12-14")),
    *((t, False) for t in ("1" * 1200, "1." + "5" * 1200)),
]  # fmt: skip


@pytest.mark.parametrize("place", ["{0}: x\n", "a: {0}\n", "a:\n- {0}\n", "a:\n  {0}: {0}\n"])
def test_tricky_plain_scalars_read_as_libyaml_and_pyyaml_read_them(place: str) -> None:
    for text, certain in TRICKY:
        document = place.format(text)
        assert check_agrees(document) == certain, document


REPLAY = """
import sys
import httpx
import llm_cassette

paths = sys.argv[1:]
for path in paths:
    llm_cassette.load(path)
request = llm_cassette.load(paths[0]).interactions[0].request
with llm_cassette.use_cassette(paths[0], record_mode="none") as cassette, httpx.Client() as client:
    reply = client.request(request.method, request.url, content=request.body, headers=dict(request.headers))
assert cassette.play_count == 1 and reply.status_code == 200, (cassette.play_count, reply.status_code)
print(" ".join(sorted(m for m in sys.modules if m == "yaml" or m.startswith(("yaml.", "_yaml")))))
"""


def test_replaying_a_committed_cassette_imports_no_yaml() -> None:
    # Importing PyYAML costs more than reading a small cassette: what our writer wrote is read
    # without it (the writer, the full parser and the line of an error import it when used).
    chat = ROOT / "cassettes/docs/examples/agent_api/tests/test_chat/test_chat_happy_path.yaml"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    args = [sys.executable, "-c", REPLAY, str(chat), *map(str, COMMITTED)]
    out = subprocess.run(args, capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == ""
