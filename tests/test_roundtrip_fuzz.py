"""Round-trip fuzzing: whatever a recording holds comes back from the YAML file byte for byte.

Hypothesis generates interactions a real recording can contain (binary, text and JSON bodies full
of characters and scalars YAML treats specially, JSON in every serialisation style, repeated
headers, SSE streams split mid-line, transport failures, cut streams) and checks that they survive
`dumps` → `loads` and `save` → `load` with every field equal, that matching sees the same key, and
that replay through a real httpx / httpx2 client hands back the recorded chunks unchanged.

Profiles: "ci" (the default; deterministic) and "long" (`HYPOTHESIS_PROFILE=long`, see
docs/robustness.md).
"""

from __future__ import annotations

import importlib
import importlib.util
import itertools
import json
import os
import socket
import string
import sys
import tempfile
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from llm_cassette import (
    CassetteData,
    Chunk,
    Interaction,
    Request,
    Response,
    TransportFailure,
    dumps,
    load,
    loads,
    save,
    use_cassette,
)
from llm_cassette.core.matchers import MatchRules
from llm_cassette.core.redaction import Redactor

# --- hypothesis profiles ---------------------------------------------------------------------------

_BASE = settings(
    deadline=None,
    database=None,  # keep the tree clean; a failure prints its own reproduction blob
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
# "ci" (the default) keeps the suite inside its time budget; HYPOTHESIS_PROFILE=long searches far more.
settings.register_profile("ci", _BASE, max_examples=50, derandomize=True)
settings.register_profile("long", _BASE, max_examples=5000)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
# Applied per test, so that this module never changes the settings of other test modules.
FUZZ = settings(settings.get_profile(PROFILE))
# Replay goes through a whole HTTP client per example: fewer examples, same determinism.
REPLAY = settings(FUZZ, max_examples=10 if PROFILE == "ci" else 500)


# --- strings that YAML treats specially ----------------------------------------------------------

HOSTILE = [
    *("yes", "no", "on", "off", "y", "n", "Yes", "NO", "true", "False", "~", "null", "Null", "NULL"),
    *("0x1F", "0o17", "017", "0b101", "1e3", "1E3", "1_000", "+1", "-0", "1.", ".5", "1:20", ".inf", "-.inf", ".nan"),
    *("2024-01-01", "2001-12-14t21:59:43.10-05:00", "12:30:45"),
    *("- a", "-", ": x", "a: b", "? q", "#c", " #c", "'", '"', "''", "&a", "*a", "!tag", "!!str", "%YAML 1.1"),
    *("@x", "`x", "|", "|-", ">", ">+", "---", "...", "<<", "=", "{", "}", "[", "]", ",", "\\", "\\n"),
    *("", " ", "  lead", "trail  ", " both ", "\n", "\n\n", "a\n", "\na", "a\n\n", " \n", "\n ", "\t", "a\tb"),
    *("\r\n", "\r", "a\rb", "a\r\nb\r\n", "\x85", "a\x85b", "\u2028", "\u2029", "\ufeff", "a\ufeffb"),
    *("\x00", "\x07", "\x1b[0m", "\x7f", "\x80", "\x9f", "\xa0", "\u200b", "\ufffe", "\uffff", "\ufffd"),
    *("é", "😀", "\U0001f9ea", "\U0010fffd", "日本語", "مرحبا", "a\u0301"),
    *("data: x\n\n", "data: [DONE]\n\n", "event: ping\r\ndata: {}\r\n\r\n", ": keep-alive\n"),
]

# Strings as they come out of str(exc), URLs and SDK payloads: anything but lone surrogates.
texts = st.one_of(
    st.text(max_size=40),
    st.sampled_from(HOSTILE),
    st.lists(st.one_of(st.sampled_from(HOSTILE), st.text(max_size=6)), max_size=8).map("".join),
)
long_lines = st.builds(
    lambda unit, n: unit * n, st.sampled_from(["a", "a ", "é ", "😀", " ", "-", "'\"", "x\\"]), st.integers(2000, 6000)
)
any_text = st.one_of(texts, long_lines)

# --- JSON values and their serialisations ----------------------------------------------------------

json_strings = st.one_of(texts, st.text(alphabet=st.characters(categories=["Cs"]), min_size=1, max_size=3))
json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=False, allow_infinity=False),
        json_strings,
    ),
    lambda children: st.one_of(st.lists(children, max_size=5), st.dictionaries(json_strings, children, max_size=5)),
    max_leaves=25,
)
JSON_STYLES: list[dict[str, Any]] = [
    {"separators": (",", ":"), "ensure_ascii": False},
    {"separators": (",", ":"), "ensure_ascii": True},
    {"ensure_ascii": True},
    {"ensure_ascii": False},
    {"indent": 2, "ensure_ascii": False},
    {"indent": 2, "ensure_ascii": True},
    {"indent": 4},
    {"sort_keys": True},
    {"separators": (", ", ": "), "indent": "\t"},
]


@st.composite
def json_bodies(draw: st.DrawFn) -> bytes:
    value = draw(st.one_of(st.lists(json_values), st.dictionaries(json_strings, json_values)))
    text = json.dumps(value, **draw(st.sampled_from(JSON_STYLES)))
    text += draw(st.sampled_from(["", "", "\n", "\r\n", " ", "\n\n"]))
    # ensure_ascii=False with a lone surrogate is not UTF-8: it stays bytes (and so base64).
    return text.encode("utf-8", "surrogatepass")


# Times are stored to 0.1 ms, so generate them on that grid.
ms = st.integers(0, 10**8).map(lambda n: n / 10)

# --- streams ---------------------------------------------------------------------------------------

sse_events = st.one_of(
    json_values.map(lambda v: f"data: {json.dumps(v, ensure_ascii=False, separators=(',', ':'))}\n\n"),
    texts.map(lambda t: f"event: {t}\ndata: {t}\n\n"),
    st.sampled_from(["data: [DONE]\n\n", ": ping\n\n", "event: message_stop\r\ndata: {}\r\n\r\n", "retry: 10\n"]),
)


@st.composite
def split_payload(draw: st.DrawFn, payload: bytes) -> list[bytes]:
    """`payload` cut at arbitrary byte offsets: mid-line, mid-event, even mid-UTF-8 character."""
    cuts = sorted(set(draw(st.lists(st.integers(0, len(payload)), max_size=12))))
    bounds = [0, *cuts, len(payload)]
    return [payload[a:b] for a, b in itertools.pairwise(bounds) if b > a]


@st.composite
def chunk_lists(draw: st.DrawFn) -> tuple[Chunk, ...]:
    payload = draw(
        st.one_of(
            st.lists(sse_events, max_size=8).map(lambda evs: "".join(evs).encode("utf-8", "surrogatepass")),
            st.binary(max_size=200),
        )
    )
    pieces = draw(split_payload(payload))
    times = sorted(draw(st.lists(ms, min_size=len(pieces), max_size=len(pieces))))
    return tuple(Chunk(data, t) for data, t in zip(pieces, times, strict=True))


# --- bodies, headers, requests, responses ---------------------------------------------------------

bodies = st.one_of(
    st.just(b""),
    st.binary(max_size=300),
    any_text.map(lambda t: t.encode("utf-8")),
    json_bodies(),
)

TCHAR = "!#$%&'*+-.^_`|~" + string.digits + string.ascii_lowercase
YAML_HOSTILE_NAMES = [
    *("yes", "no", "on", "off", "y", "n", "true", "null", "~", "1e3", "0x1f"),
    *("-", "-a", "#", "'", "*", "&", "!", "%", "|", "`", "^"),
]
header_names = st.one_of(
    st.text(alphabet=TCHAR, min_size=1, max_size=16),
    st.sampled_from(
        [*YAML_HOSTILE_NAMES, "content-type", "set-cookie", "x-request-id", "retry-after", "authorization"]
    ),
)
# Field values: visible ASCII, spaces and tabs, and YAML-hostile scalars that are valid values.
ascii_values = st.one_of(
    st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E) | st.just("\t"), max_size=30),
    st.sampled_from([h for h in HOSTILE if all(c == "\t" or 0x20 <= ord(c) <= 0x7E for c in h)]),
)
# What httpx hands over when a server sends obs-text bytes (decoded as UTF-8 or latin-1).
latin1_values = st.text(alphabet=st.characters(codec="latin-1", exclude_categories=["Cc"]) | st.just("\t"), max_size=20)


@st.composite
def header_lists(draw: st.DrawFn, values: st.SearchStrategy[str] = ascii_values) -> tuple[tuple[str, str], ...]:
    """Lower-case names (as httpx reports them), repeated names grouped in order, as on the wire."""
    names = draw(st.lists(header_names, unique=True, max_size=6))
    return tuple((name, value) for name in names for value in draw(st.lists(values, min_size=1, max_size=3)))


methods = st.one_of(
    st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "PROPFIND"]),
    st.text(alphabet=string.ascii_uppercase + "-_", min_size=1, max_size=10),
)
failure_types = st.one_of(
    st.sampled_from(["ReadTimeout", "ConnectTimeout", "ConnectError", "RemoteProtocolError", "ReadError"]),
    texts,
)
failures = st.builds(TransportFailure, type=failure_types, message=any_text, t=ms)

requests = st.builds(
    Request,
    method=methods,
    url=st.one_of(any_text, texts.map(lambda t: "http://127.0.0.1:8000/v1/" + t)),
    headers=header_lists(st.one_of(ascii_values, latin1_values)),
    body=bodies,
)


@st.composite
def responses(draw: st.DrawFn, values: st.SearchStrategy[str] = ascii_values) -> Response:
    streamed = draw(st.booleans())
    return Response(
        status=draw(st.integers(100, 999)),
        headers=draw(header_lists(values)),
        body=b"" if streamed else draw(bodies),
        chunks=draw(chunk_lists()) if streamed else None,
        error=draw(st.none() | failures),
        cut=draw(st.booleans()),
        t=draw(ms),
    )


@st.composite
def interactions(draw: st.DrawFn) -> Interaction:
    request = draw(requests)
    if draw(st.integers(0, 5)) == 0:
        return Interaction(request=request, error=draw(failures))
    return Interaction(request=request, response=draw(responses(st.one_of(ascii_values, latin1_values))))


cassettes = st.lists(interactions(), min_size=1, max_size=4).map(lambda its: CassetteData(interactions=its))


def one_body(body: bytes) -> CassetteData:
    return CassetteData([Interaction(Request("POST", "http://127.0.0.1/", (), body), Response(200, body=body))])


def assert_same(loaded: CassetteData, original: CassetteData) -> None:
    assert len(loaded.interactions) == len(original.interactions)
    for got, want in zip(loaded.interactions, original.interactions, strict=True):
        assert got.request == want.request
        assert got.response == want.response
        assert got.error == want.error


ALL_MATCHERS = MatchRules.build(["method", "url", "scheme", "host", "port", "path", "query", "body", "headers"])


def assert_same_match_keys(loaded: CassetteData, original: CassetteData) -> None:
    for got, want in zip(loaded.interactions, original.interactions, strict=True):
        assert MatchRules().key(got.request) == MatchRules().key(want.request)
        assert ALL_MATCHERS.key(got.request) == ALL_MATCHERS.key(want.request)


# --- dumps / loads, save / load ---------------------------------------------------------------------


@FUZZ
@given(cassettes)
@example(one_body("a\nb\x85c\u2028d\u2029e\r\nf\rg\n".encode()))
@example(one_body(b'{"k":"\\ud800","yes":[1e3,-0.0,1.5e-07,12345678901234567890]}\n'))
@example(one_body(b'{"\xf0\x9f\x98\x80":"\xe2\x80\xa8","~":null}'))
@example(one_body(("x " * 5000 + "\n" + "y" * 9000).encode()))
@example(one_body(b"\xef\xbb\xbfBOM first"))
def test_dumps_then_loads_gives_back_every_field(data: CassetteData) -> None:
    text = dumps(data)
    loaded = loads(text)
    assert_same(loaded, data)
    assert_same_match_keys(loaded, data)
    # Saving an unchanged cassette again changes no byte (no diff noise in review).
    assert dumps(loaded) == text


@FUZZ
@given(cassettes)
def test_save_then_load_through_a_real_file(data: CassetteData) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.yaml"
        save(path, data)
        assert path.read_bytes() == dumps(data).encode("utf-8")
        loaded = load(path)
        assert_same(loaded, data)
        assert_same_match_keys(loaded, data)
        # Only the cassette is left behind: the temporary file was renamed over it.
        assert os.listdir(folder) == ["fuzz.yaml"]


# --- machines without libyaml ----------------------------------------------------------------------


def format_without_libyaml() -> SimpleNamespace:
    """A second copy of the cassette format (`llm_cassette.storage`'s parser, writer and reader)
    built where PyYAML has no libyaml bindings.

    That is the pure-Python emitter and parser users get from a PyYAML built from source (no
    libyaml headers), on PyPy, or on platforms without a binary wheel.
    """
    import llm_cassette.storage as storage

    names = ("fast_loader", "yaml_format", "schema")
    for n in names:
        importlib.import_module(f"llm_cassette.storage.{n}")
    saved_modules = {n: sys.modules.pop(f"llm_cassette.storage.{n}") for n in names}
    saved_attrs = {n: getattr(storage, n) for n in names}
    hidden = {name: getattr(yaml, name) for name in ("CSafeLoader", "CSafeDumper") if hasattr(yaml, name)}
    for name in hidden:
        delattr(yaml, name)
    try:
        fresh = {n: importlib.import_module(f"llm_cassette.storage.{n}") for n in names}
        # The reader imports `fast_loader` and the writer PyYAML's dumper on first use: here.
        fresh["schema"]._fast_loader()
        fresh["yaml_format"].yaml_dumper()
    finally:
        for name, value in hidden.items():
            setattr(yaml, name, value)
        for n in names:
            sys.modules[f"llm_cassette.storage.{n}"] = saved_modules[n]
            setattr(storage, n, saved_attrs[n])
    assert fresh["yaml_format"].yaml_dumper().__mro__[1] is yaml.SafeDumper
    assert fresh["schema"]._fast_loader() is fresh["fast_loader"]
    assert fresh["fast_loader"].BaseLoader is yaml.SafeLoader
    return SimpleNamespace(loads=fresh["schema"].loads, dumps=fresh["yaml_format"].dumps)


PURE = format_without_libyaml()


@FUZZ
@given(cassettes)
def test_cassettes_written_with_libyaml_read_back_without_it(data: CassetteData) -> None:
    loaded = PURE.loads(dumps(data))
    assert_same(loaded, data)


@FUZZ
@given(cassettes)
@example(one_body("a\x85b".encode()))
def test_cassettes_written_without_libyaml_read_back_exactly(data: CassetteData) -> None:
    text = PURE.dumps(data)
    assert_same(PURE.loads(text), data)
    assert_same(loads(text), data)


# --- normalisations the format makes on purpose ---------------------------------------------------


def test_repeated_headers_keep_their_order_per_name_even_when_interleaved() -> None:
    # HTTP gives no meaning to the order of different field names, only to the order of values of
    # one name; the format groups repeats into a list, so interleaved repeats come back grouped.
    headers = (("set-cookie", "a=1"), ("x-id", "7"), ("set-cookie", "b=2"), ("Set-Cookie", "c=3"))
    data = CassetteData([Interaction(Request("GET", "http://h/"), Response(200, headers=headers))])
    loaded = loads(dumps(data)).interactions[0].response
    assert loaded is not None
    assert loaded.headers == (("set-cookie", "a=1"), ("set-cookie", "b=2"), ("set-cookie", "c=3"), ("x-id", "7"))


@pytest.mark.parametrize("depth", [10_000])
def test_a_deeply_nested_json_body_is_saved_and_matched(depth: int, tmp_path: Path) -> None:
    body = b"[" * depth + b"]" * depth
    data = one_body(body)
    save(tmp_path / "deep.yaml", data)
    loaded = load(tmp_path / "deep.yaml")
    assert_same(loaded, data)
    assert_same_match_keys(loaded, data)


# --- replay through real clients -----------------------------------------------------------------


def closed_port() -> int:
    """A port nothing listens on: any request that escaped the cassette would fail to connect."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


url_paths = st.lists(st.text(alphabet=string.ascii_letters + string.digits + "-._~", max_size=8), max_size=4).map(
    "/".join
)
query_items = st.lists(st.tuples(st.text(max_size=6), texts), max_size=3)


@st.composite
def replayable(draw: st.DrawFn, stack: ModuleType, port: int) -> tuple[Request, Interaction]:
    """A request a client can send to 127.0.0.1 on `port`, and its interaction as a recording stores
    it: redacted (a generated query key may well be `key` or `token`)."""
    url = stack.URL(f"http://127.0.0.1:{port}/{draw(url_paths)}", params=draw(query_items))
    request = Request(method=draw(methods), url=str(url), headers=draw(header_lists()), body=draw(bodies))
    if draw(st.integers(0, 5)) == 0:
        it = Interaction(request=request, error=draw(failures))
    else:
        it = Interaction(request=request, response=draw(responses()))
    return request, Redactor.build().redact_interaction(it)


STACKS = ["httpx", "httpx2"]


def replay_one(stack: ModuleType, client: Any, sent: Request, it: Interaction) -> None:
    request = client.build_request(sent.method, sent.url, content=sent.body)
    if it.error is not None:
        with pytest.raises(stack.TransportError) as exc_info:
            client.send(request, stream=True)
        assert type(exc_info.value).__name__ == _expected_error_name(stack, it.error)
        assert str(exc_info.value) == it.error.message
        return
    recorded = it.response
    assert recorded is not None
    response = client.send(request, stream=True)
    try:
        assert response.status_code == recorded.status
        assert response.headers.multi_items() == list(recorded.headers)
        want = [c.data for c in recorded.chunks] if recorded.chunks is not None else [recorded.body]
        got: list[bytes] = []
        if recorded.error is not None:
            with pytest.raises(stack.TransportError) as exc_info:
                for piece in response.iter_raw():
                    got.append(piece)
            assert type(exc_info.value).__name__ == _expected_error_name(stack, recorded.error)
        else:
            got = list(response.iter_raw())
        # httpx skips empty pieces; every other piece arrives exactly as recorded, boundaries kept.
        assert got == [w for w in want if w]
    finally:
        response.close()


def _expected_error_name(stack: ModuleType, failure: TransportFailure) -> str:
    cls = getattr(stack, failure.type, None)
    if isinstance(cls, type) and issubclass(cls, stack.TransportError):
        return failure.type
    return "TransportError"


@pytest.mark.parametrize("stack_name", STACKS)
def test_replay_through_a_real_client_returns_the_recorded_bytes(stack_name: str) -> None:
    stack = pytest.importorskip(stack_name)
    port = closed_port()

    @REPLAY
    @given(st.lists(replayable(stack, port), min_size=1, max_size=3))
    def check(pairs: list[tuple[Request, Interaction]]) -> None:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "replay.yaml"
            save(path, CassetteData(interactions=[it for _, it in pairs]))
            with use_cassette(path, keep_retry_headers=True) as session, stack.Client() as client:
                for sent, it in pairs:
                    replay_one(stack, client, sent, it)
            assert session.play_count == len(pairs)
            assert not session.misses

    check()


@pytest.mark.parametrize("stack_name", STACKS)
def test_a_non_ascii_response_header_replays(stack_name: str, tmp_path: Path) -> None:
    stack = pytest.importorskip(stack_name)
    url = f"http://127.0.0.1:{closed_port()}/file"
    headers = (("content-disposition", 'attachment; filename="café.txt"'), ("content-length", "2"))
    path = tmp_path / "c.yaml"
    save(path, CassetteData([Interaction(Request("GET", url), Response(200, headers=headers, body=b"ok"))]))
    with use_cassette(path), stack.Client() as client:
        response = client.get(url)
    assert response.headers["content-disposition"] == 'attachment; filename="café.txt"'
    assert response.content == b"ok"
