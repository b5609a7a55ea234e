"""The URL a replay matches on is `str(request.url)`, memoised by the URL's parsed parts: the same
string for every spelling either stack builds, and never another URL's."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import httpx
import httpx2
import pytest

from llm_cassette import CassetteMiss, use_cassette
from llm_cassette.fake_server import FakeServer
from llm_cassette.stacks.httpx import _url_strings, to_request, url_string

URLS = [
    "http://127.0.0.1:8000/v1/chat/completions",
    "http://127.0.0.1:8001/v1/chat/completions",
    "https://127.0.0.1/v1/chat/completions",
    "https://127.0.0.1:443/v1/chat/completions",
    "http://127.0.0.1:8000/v1/models?a=1",
    "http://127.0.0.1:8000/v1/models?a=2",
    "http://127.0.0.1:8000/v1/models?a=1&b=%20x",
    "http://127.0.0.1:8000/v1/models?",
    "http://127.0.0.1:8000/v1/models#frag",
    "http://user:secret@127.0.0.1:8000/v1/models",
    "http://127.0.0.1:8000/v1/caf%C3%A9/é?q=é",
    "http://bücher.example/v1",
    "http://[::1]:8000/v1",
    "HTTP://127.0.0.1:8000/V1/Models",
]


@pytest.mark.parametrize("module", [httpx, httpx2], ids=["httpx", "httpx2"])
def test_a_url_string_is_what_str_gives_for_every_url(module: ModuleType) -> None:
    _url_strings.clear()
    for _ in range(2):  # built, then from the memo
        for text in URLS:
            url = module.URL(text)
            assert url_string(url) == str(url), text
            merged = module.URL("http://127.0.0.1:8000/v1/").join("models?a=1")
            assert url_string(merged) == str(merged)
    assert len(_url_strings) == len({module.URL(u)._uri_reference for u in URLS})  # one per URL
    long = module.URL("http://127.0.0.1:8000/v1?q=" + "x" * 5000)
    assert url_string(long) == str(long) and long._uri_reference not in _url_strings


def test_a_replay_matches_the_url_sent_not_one_memoised_before(tmp_path: Path, fake_server: FakeServer) -> None:
    cassette = tmp_path / "urls.yaml"
    base = fake_server.base_url_openai
    headers = {"authorization": "Bearer sk-fake-url-test-0000000000"}
    with use_cassette(cassette, record_mode="once"), httpx.Client() as client:
        assert client.get(f"{base}/models?a=1", headers=headers).status_code == 200

    for module in (httpx, httpx2):
        with use_cassette(cassette, record_mode="none"), module.Client() as client:
            assert client.get(f"{base}/models?a=1", headers=headers).status_code == 200
        with (
            pytest.raises(CassetteMiss, match="a=2"),
            use_cassette(cassette, record_mode="none"),
            module.Client() as client,
        ):
            client.get(f"{base}/models?a=2", headers=headers)


@pytest.mark.parametrize("module", [httpx, httpx2], ids=["httpx", "httpx2"])
def test_a_request_of_another_layout_is_converted_without_the_memos(module: ModuleType) -> None:
    """`to_request` looks the memos up inline; a URL or headers object not laid out as this
    httpx's (an unhashable `_uri_reference`, no `_list`) goes the long way, and says the same."""

    class OtherURL:
        _uri_reference = ["not", "a", "tuple"]  # unhashable: a memo lookup would raise

        def __str__(self) -> str:
            return "http://127.0.0.1:8000/v1/other?x=1"

    class OtherHeaders:
        def multi_items(self) -> list[tuple[str, str]]:
            return [("content-type", "application/json"), ("x-a", "1")]

    class OtherRequest:
        method = "POST"
        url = OtherURL()
        headers = OtherHeaders()

    req = to_request(OtherRequest(), b"{}")
    assert (req.method, req.url, req.headers, req.body) == (
        "POST",
        "http://127.0.0.1:8000/v1/other?x=1",
        (("content-type", "application/json"), ("x-a", "1")),
        b"{}",
    )
    real = module.Request("POST", "http://127.0.0.1:8000/v1/chat?a=1", headers={"X-A": "1"}, content=b"{}")
    for _ in range(2):  # the second time through both memos
        got = to_request(real, b"{}")
        assert got.url == str(real.url)
        assert ("x-a", "1") in got.headers
