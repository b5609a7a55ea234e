"""A network transport built while llm-cassette is installed (here: all the time, the plugin is)
builds its connection pool and SSL context on first real use: a replay never pays for them, and
everything else behaves as without us (`stacks/deferred_pool.py`).

"Built" is read from the transport's instance dict: `_pool` is there once httpx's own `__init__`
ran, exactly as without llm-cassette, and nothing else is.
"""

from __future__ import annotations

import asyncio
import copy
import os
import ssl
import threading
import warnings
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import httpx2
import pytest

from helpers import OPENAI_KEY, anthropic_client, async_openai_client, openai_client, record_then_replay, user
from llm_cassette import load, use_cassette
from llm_cassette.fake_server import FakeServer
from llm_cassette.stacks import deferred_pool

STACKS = [pytest.param(httpx, id="httpx"), pytest.param(httpx2, id="httpx2")]
ANSWER = "The capital of France is Paris."  # the fake server knows this one
BODY = {"model": "gpt-4o-mini", "messages": user("Capital of France?")}
SYSTEM_BUNDLE = next(
    (p for p in ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt") if os.path.isfile(p)), None
)


@pytest.fixture(autouse=True)
def _no_key_log(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SSLKEYLOGFILE", raising=False)  # with it, every transport is built at once


def built(transport: Any) -> bool:
    """Whether the transport holds its pool, as httpx's `__init__` leaves it (and nothing else)."""
    attributes = set(vars(transport))
    assert attributes <= {"_pool", deferred_pool.STATE}, attributes
    return attributes == {"_pool"}


def chat(client: Any, server: FakeServer) -> str:
    r = client.post(
        server.base_url_openai + "/chat/completions", json=BODY, headers={"authorization": f"Bearer {OPENAI_KEY}"}
    )
    return str(r.json()["choices"][0]["message"]["content"])


async def achat(client: Any, server: FakeServer) -> str:
    r = await client.post(server.base_url_openai + "/chat/completions", json=BODY)
    return str(r.json()["choices"][0]["message"]["content"])


@pytest.mark.parametrize("stack", STACKS)
def test_a_replay_builds_no_pool_sync_and_async(stack: ModuleType, tmp_path: Path, fake_server: FakeServer) -> None:
    clients: list[Any] = []

    def call() -> str:
        clients.append(stack.Client())
        with clients[-1] as c:
            return chat(c, fake_server)

    async def acall() -> str:
        clients.append(stack.AsyncClient())
        async with clients[-1] as c:
            return await achat(c, fake_server)

    sync = record_then_replay(tmp_path / "sync.yaml", call)
    asynchronous = record_then_replay(tmp_path / "async.yaml", lambda: asyncio.run(acall()))
    assert sync.replayed == sync.recorded == asynchronous.replayed == ANSWER
    assert sync.replay.play_count == asynchronous.replay.play_count == 1
    assert fake_server.request_count == 2  # the recordings only
    recording_sync, replay_sync, recording_async, replay_async = (c._transport for c in clients)
    assert built(recording_sync) and built(recording_async)
    assert not built(replay_sync) and not built(replay_async)


@pytest.mark.parametrize("stack", STACKS)
def test_recording_builds_the_pool_once(stack: ModuleType, tmp_path: Path, fake_server: FakeServer) -> None:
    """Built under a cassette that records: at once, so its first request's time to first chunk is
    as without us. Built before (a session fixture's client): on its first request, then kept."""
    early = stack.Client()
    assert not built(early._transport)
    path = tmp_path / "two.yaml"
    with use_cassette(path, record_mode="once"), stack.Client() as client:
        transport = client._transport
        assert built(transport)
        pool = vars(transport)["_pool"]
        chat(client, fake_server)
        chat(early, fake_server)
        assert built(early._transport)
        early_pool = vars(early._transport)["_pool"]
        chat(client, fake_server)
        chat(early, fake_server)
        assert vars(transport)["_pool"] is pool and vars(early._transport)["_pool"] is early_pool
    early.close()
    assert len(load(path).interactions) == 4


@pytest.mark.parametrize("stack", STACKS)
def test_traffic_that_goes_out_builds_the_pool(stack: ModuleType, tmp_path: Path, fake_server: FakeServer) -> None:
    async def without_a_cassette() -> str:
        async with stack.AsyncClient() as c:
            return await achat(c, fake_server)

    assert asyncio.run(without_a_cassette()) == ANSWER
    with use_cassette(tmp_path / "pass.yaml", ignore_hosts=["127.0.0.1"]) as cassette, stack.Client() as client:
        assert chat(client, fake_server) == ANSWER  # passed through
        assert built(client._transport)
    assert cassette.play_count == 0 and fake_server.request_count == 2


@pytest.mark.parametrize("stack", STACKS)
def test_closing_an_unused_transport_builds_nothing(stack: ModuleType, fake_server: FakeServer) -> None:
    with stack.Client() as entered:
        pass
    closed = stack.Client()
    closed.close()

    async def unused() -> Any:
        async with stack.AsyncClient() as c:
            pass
        other = stack.AsyncClient()
        await other.aclose()
        transport = stack.AsyncHTTPTransport()
        async with transport as same:
            assert same is transport
        return c._transport, other._transport

    transports = [entered._transport, closed._transport, *asyncio.run(unused())]
    assert not any(built(t) for t in transports)
    # Closed unbuilt, a transport still serves, as a closed pool that never connected does.
    transport = stack.HTTPTransport()
    transport.close()
    with stack.Client(transport=transport) as client:
        assert chat(client, fake_server) == ANSWER
    assert built(transport)


def _garbage(tmp_path: Path) -> str:
    path = tmp_path / "garbage.pem"
    path.write_text("not a certificate\n")
    return str(path)


def _truncated(tmp_path: Path) -> str:
    path = tmp_path / "truncated.pem"
    path.write_text("-----BEGIN CERTIFICATE-----\nMIIDdzCCAl+gAwIBAgIEAgAAuTANBgkqhkiG9w0BAQUFADBaMQswCQYDVQQGEwJJ\n")
    return str(path)


#: Arguments and environment with which httpx's own `__init__` raises: (tmp_path, stack) -> both.
FAILING: dict[str, Any] = {
    "verify=missing file": lambda tmp, _: ({"verify": str(tmp / "missing.pem")}, {}),
    "SSL_CERT_FILE missing": lambda tmp, _: ({}, {"SSL_CERT_FILE": str(tmp / "missing.pem")}),
    "SSL_CERT_FILE a directory": lambda tmp, _: ({}, {"SSL_CERT_FILE": str(tmp)}),
    "SSL_CERT_FILE not PEM": lambda tmp, _: ({}, {"SSL_CERT_FILE": _garbage(tmp)}),
    "SSL_CERT_FILE truncated": lambda tmp, _: ({}, {"SSL_CERT_FILE": _truncated(tmp)}),
    "proxy of an unknown scheme": lambda tmp, _: ({"proxy": "ftp://127.0.0.1:9"}, {}),
    "limits that cannot compare": lambda tmp, stack: (
        {"limits": stack.Limits(max_connections="ten"), "verify": False},
        {},
    ),
}


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("case", FAILING)
def test_arguments_that_can_fail_fail_at_construction_as_without_us(
    stack: ModuleType, case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kwargs, environ = FAILING[case](tmp_path, stack)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    for cls in (stack.HTTPTransport, stack.AsyncHTTPTransport):
        original = cls.__init__.__wrapped__  # httpx's own, which the patch wraps
        with warnings.catch_warnings(record=True) as theirs_warned, pytest.raises(Exception) as theirs:
            warnings.simplefilter("always")
            original(object.__new__(cls), **kwargs)
        with warnings.catch_warnings(record=True) as ours_warned, pytest.raises(Exception) as ours:
            warnings.simplefilter("always")
            cls(**kwargs)
        assert (type(ours.value), str(ours.value)) == (type(theirs.value), str(theirs.value))
        assert [str(w.message) for w in ours_warned] == [str(w.message) for w in theirs_warned]


@pytest.mark.parametrize("stack", STACKS)
def test_what_has_an_effect_or_is_not_ours_to_defer_is_built_at_once(
    stack: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Subclass(stack.HTTPTransport):  # type: ignore[name-defined, misc]
        pass

    class Limits(stack.Limits):  # type: ignore[name-defined, misc]
        pass

    eager = [
        Subclass(verify=False),  # `verify=False`: no CA bundle to load, a cheaper test
        stack.HTTPTransport(False),  # positional arguments
        stack.HTTPTransport(verify=False, proxy="http://127.0.0.1:9"),
        stack.AsyncHTTPTransport(verify=False, limits=Limits()),
    ]
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    key_log = tmp_path / "keys.log"
    monkeypatch.setenv("SSLKEYLOGFILE", str(key_log))
    eager.append(stack.HTTPTransport())
    assert all("_pool" in vars(t) for t in eager)
    assert key_log.exists() is (stack is httpx)  # opened at construction (httpx2's own context logs no keys)
    monkeypatch.delenv("SSLKEYLOGFILE")
    deferred = [
        stack.HTTPTransport(verify=False, http2=True, retries=2, uds="/nonexistent.sock", socket_options=[]),
        stack.AsyncHTTPTransport(
            verify=ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT), limits=stack.Limits(max_connections=1)
        ),
    ]
    assert not any(built(t) for t in deferred)


@pytest.mark.skipif(SYSTEM_BUNDLE is None, reason="no system CA bundle to copy a certificate from")
@pytest.mark.parametrize("stack", STACKS)
def test_the_ca_environment_is_read_at_construction(
    stack: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert SYSTEM_BUNDLE is not None
    text = Path(SYSTEM_BUNDLE).read_text()
    one = tmp_path / "one.pem"
    one.write_text(
        text[text.index("-----BEGIN CERTIFICATE-----") : text.index("-----END CERTIFICATE-----") + 25] + "\n"
    )
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    monkeypatch.setenv("SSL_CERT_FILE", str(one))
    with_one = stack.HTTPTransport()
    unchanged = stack.AsyncHTTPTransport()
    monkeypatch.delenv("SSL_CERT_FILE")
    without = stack.HTTPTransport()
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "missing.pem"))  # would fail if read now
    assert not any(built(t) for t in (with_one, unchanged, without))
    assert len(with_one._pool._ssl_context.get_ca_certs()) == 1
    assert len(without._pool._ssl_context.get_ca_certs()) != 1  # the default bundle, as at construction
    monkeypatch.setenv("SSL_CERT_FILE", str(one))
    assert len(unchanged._pool._ssl_context.get_ca_certs()) == 1


@pytest.mark.parametrize("stack", STACKS)
def test_two_threads_first_using_one_transport_build_it_once(stack: ModuleType) -> None:
    transport = stack.HTTPTransport()
    start = threading.Barrier(4)
    pools: list[Any] = []

    def use() -> None:
        start.wait()
        pools.append(transport._pool)

    threads = [threading.Thread(target=use) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(pools) == 4 and all(p is pools[0] for p in pools)
    assert built(transport) and vars(transport)["_pool"] is pools[0]


@pytest.mark.parametrize("stack", STACKS)
def test_transports_deferred_before_an_uninstall_still_build(stack: ModuleType, fake_server: FakeServer) -> None:
    deferred = stack.HTTPTransport()
    deferred_pool.uninstall(stack.HTTPTransport)
    try:
        assert built(stack.HTTPTransport(verify=False))  # no longer deferred
        assert not built(deferred)
        with stack.Client(transport=deferred) as client:
            assert chat(client, fake_server) == ANSWER
        assert built(deferred)
    finally:
        deferred_pool.install(stack.HTTPTransport, stack)
    assert not built(stack.HTTPTransport())


def test_sdk_clients_replay_without_building_their_pool(tmp_path: Path, fake_server: FakeServer) -> None:
    clients: list[Any] = []

    def openai_call() -> str:
        clients.append(openai_client(fake_server))
        reply = clients[-1].chat.completions.create(model="gpt-4o-mini", messages=user("hi"))
        return str(reply.choices[0].message.content)

    def anthropic_call() -> str:
        clients.append(anthropic_client(fake_server))
        reply = clients[-1].messages.create(model="claude-3-5-haiku-latest", max_tokens=16, messages=user("hi"))
        return str(reply.content[0].text)

    async def async_openai_call() -> str:
        async with async_openai_client(fake_server) as client:
            clients.append(client)
            reply = await client.chat.completions.create(model="gpt-4o-mini", messages=user("hi"))
        return str(reply.choices[0].message.content)

    runs = [
        record_then_replay(tmp_path / "openai.yaml", openai_call),
        record_then_replay(tmp_path / "anthropic.yaml", anthropic_call),
        record_then_replay(tmp_path / "async_openai.yaml", lambda: asyncio.run(async_openai_call())),
    ]
    transports = [c._client._transport for c in clients]
    for client in clients[:4]:  # the sync ones: the async ones closed themselves
        client.close()
    assert all(r.replayed == r.recorded and r.replay.play_count == 1 for r in runs)
    assert all(type(t).__module__.startswith("httpx2") for t in transports)
    assert [built(t) for t in transports] == [True, False] * 3


@pytest.mark.parametrize("stack", STACKS)
def test_init_called_again_replaces_the_pool_as_httpx_does(stack: ModuleType) -> None:
    transport = stack.HTTPTransport(verify=False)
    first = transport._pool
    transport.__init__(verify=False)
    assert built(transport) and vars(transport)["_pool"] is not first
    unused = stack.HTTPTransport(verify=False)
    unused.__init__(verify=False, retries=3)  # still unbuilt: built later with the new arguments
    assert not built(unused) and unused._pool._retries == 3


@pytest.mark.parametrize("stack", STACKS)
def test_a_copy_of_an_unbuilt_transport_shares_its_pool_as_a_copy_of_a_built_one_does(stack: ModuleType) -> None:
    reference = stack.HTTPTransport(verify=False)
    assert copy.copy(reference)._pool is reference._pool  # httpx: a copy shares the pool
    transport = stack.HTTPTransport(verify=False)
    twin = copy.copy(transport)
    assert not built(transport) and not built(twin)
    pool = twin._pool  # the copy builds first
    assert transport._pool is pool and built(transport)
    with transport:
        pass  # closing one closes the pool both use, as with httpx
    assert not pool.connections
    reference.close()
