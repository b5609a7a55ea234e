"""The seam of `httpx` and `httpx2` (API twins): `HTTPTransport.handle_request` /
`AsyncHTTPTransport.handle_async_request`.

One adapter, parametrised by module, serves both. Only the network transports are patched, at
class level, so every client is covered wherever it was built, and in-process transports
(`ASGITransport`, `WSGITransport`, `MockTransport`) are never touched. The patches stay
installed; with no active session a request costs one context lookup. A transport built while
they are installed builds its connection pool on first real use (`deferred_pool`).
"""

from __future__ import annotations

import time
from types import ModuleType
from typing import TYPE_CHECKING, Any

from ..core.models import Chunk, Headers, Interaction, Request, TransportFailure
from ..core.network import Connection, journal, network_policy
from ..core.registry import active_session
from ..core.replay import ReplayClock, replay_clock, stays_open
from ..errors import NetworkBlocked
from ..faults import DROPPED
from . import deferred_pool
from .guard import forwarding
from .streams import DropAsync, DropSync, ReplayAsync, ReplaySync, TeeAsync, TeeSync, async_sleep

if TYPE_CHECKING:
    from ..core.session import Plan, Session


#: Decoded request headers by their raw items: a client sends the same headers again and again,
#: so most requests decode nothing (bounded: cleared when full, so it never grows with a run).
_decoded_headers: dict[object, Headers] = {}
_DECODED_MAX = 512


def _decode_headers(headers: Any, items: list[tuple[bytes, bytes, bytes]], key: object) -> Headers:
    """The pairs of `headers.multi_items()` (lower-cased names, decoded values), remembered by `key`."""
    encoding = headers.encoding  # a property that `multi_items()` would look up twice per header
    decoded = tuple((lower.decode(encoding), value.decode(encoding)) for _, lower, value in items)
    if len(_decoded_headers) >= _DECODED_MAX:
        _decoded_headers.clear()
    _decoded_headers[key] = decoded
    return decoded


#: URL strings by the parsed parts they are built from (`URL.__str__` joins them anew on every
#: call, a tenth of a replay): exact, as the string depends on those parts alone (bounded).
_url_strings: dict[object, str] = {}


def url_string(url: Any) -> str:
    """`str(url)` of an httpx or httpx2 `URL`, memoised."""
    parts = getattr(url, "_uri_reference", None)
    text = _url_strings.get(parts) if isinstance(parts, tuple) else None
    return text if text is not None else _new_url_string(url, parts)


def _new_url_string(url: Any, parts: object) -> str:
    """`str(url)`, remembered by `parts` when they are the layout this was written for (a tuple)."""
    text = str(url)
    if isinstance(parts, tuple) and len(text) <= 2048:  # long queries are rarely sent twice
        if len(_url_strings) >= _DECODED_MAX:
            _url_strings.clear()
        _url_strings[parts] = text
    return text


def read_timeout(request: Any) -> float | None:
    """The request's read timeout: what caps a `replay_timing` wait."""
    timeout: float | None = request.extensions.get("timeout", {}).get("read")
    return timeout


def to_request(request: Any, body: bytes) -> Request:
    """The core's `Request` of an httpx one: its URL string and decoded headers, both memoised
    (looked up here, not through `url_string`: on every replay the call would cost as much as the
    lookup). Headers or a URL not laid out as this was written for are converted every time."""
    url, headers = request.url, request.headers
    parts = getattr(url, "_uri_reference", None)
    text = _url_strings.get(parts) if isinstance(parts, tuple) else None
    if text is None:
        text = _new_url_string(url, parts)
    items = getattr(headers, "_list", None)
    if items is None:
        decoded: Headers = tuple(headers.multi_items())
    else:
        key = (headers._encoding, tuple(items))
        found = _decoded_headers.get(key)
        decoded = found if found is not None else _decode_headers(headers, items, key)
    return Request(request.method, text, decoded, body)


class StackAdapter:
    """Intercepts one HTTP stack (`httpx` or `httpx2`) at its transport seam."""

    def __init__(self, module: ModuleType) -> None:
        self.module = module
        self.name = module.__name__
        self.sync_cls: Any = module.HTTPTransport
        self.async_cls: Any = module.AsyncHTTPTransport
        self.transport_error: type[BaseException] = module.TransportError
        self.original_sync: Any = self.sync_cls.handle_request
        self.original_async: Any = self.async_cls.handle_async_request
        # Response streams must be instances of this module's stream base classes.
        self.tee_sync: Any = type("TeeStream", (TeeSync, module.SyncByteStream), {})
        self.tee_async: Any = type("AsyncTeeStream", (TeeAsync, module.AsyncByteStream), {})
        self.replay_sync: Any = type("ReplayStream", (ReplaySync, module.SyncByteStream), {})
        self.replay_async: Any = type("AsyncReplayStream", (ReplayAsync, module.AsyncByteStream), {})
        self.drop_sync: Any = type("DropStream", (DropSync, module.SyncByteStream), {})
        self.drop_async: Any = type("AsyncDropStream", (DropAsync, module.AsyncByteStream), {})
        self._response_headers: dict[Headers, Any] = {}

    # -- patches -------------------------------------------------------------------------------

    def install(self) -> None:
        adapter = self
        original_sync = self.original_sync

        def handle_request(transport: Any, request: Any) -> Any:
            __tracebackhide__ = True
            session = active_session()
            if session is None:
                adapter.check_network(request)
                return original_sync(transport, request)
            return adapter.handle_sync(session, transport, request)

        handle_request.__wrapped__ = original_sync  # type: ignore[attr-defined]
        handle_request._llm_cassette = True  # type: ignore[attr-defined]
        self.sync_cls.handle_request = handle_request
        self.async_cls.handle_async_request = self._async_handler(self.original_async)
        # A replay never touches the real pool: build it on first real use (`deferred_pool`).
        deferred_pool.install(self.sync_cls, self.module)
        deferred_pool.install(self.async_cls, self.module)

    def _async_handler(self, original: Any) -> Any:
        adapter = self

        async def handle_async_request(transport: Any, request: Any) -> Any:
            __tracebackhide__ = True
            session = active_session()
            if session is None:
                adapter.check_network(request)
                return await original(transport, request)
            return await adapter.handle_async(session, transport, request, original)

        handle_async_request.__wrapped__ = original  # type: ignore[attr-defined]
        handle_async_request._llm_cassette = True  # type: ignore[attr-defined]
        return handle_async_request

    def uninstall(self) -> None:
        self.sync_cls.handle_request = self.original_sync
        self.async_cls.handle_async_request = self.original_async
        deferred_pool.uninstall(self.sync_cls)
        deferred_pool.uninstall(self.async_cls)

    def check_network(self, request: Any) -> None:
        if network_policy.blocking:
            host = request.url.host
            if not network_policy.allows(host):
                refusal = NetworkBlocked(
                    f"llm-cassette: real network request to {host!r} blocked by --llm-block-network\n"
                    f"  request: {request.method} {request.url}\n"
                    "  The test has no cassette. Mark it with @pytest.mark.llm_cassette to record and replay "
                    f"this traffic, or allow the host with --llm-allowed-hosts={host} (ini: "
                    "llm_cassette_allowed_hosts; --llm-allow-localhost for local servers)."
                )
                # Journaled like the guard's refusals: the test fails even if the code caught it.
                journal.add(Connection(host, request.url.port, self.name, refused=True), refusal, None)
                raise refusal

    # -- one request ---------------------------------------------------------------------------

    def handle_sync(self, session: Session, transport: Any, request: Any) -> Any:
        __tracebackhide__ = True
        plan = session.plan(to_request(request, request.read()))
        if plan.kind == "passthrough":
            with forwarding(request.url.host):
                return self.original_sync(transport, request)
        if plan.kind == "replay":
            assert plan.interaction is not None
            if not session.options.replay_timing:  # the default: nothing to time
                return self.replay(plan.interaction, request, sync=True)
            clock = replay_clock(session, plan, cap=read_timeout(request))
            if clock is not None and (delay := clock.headers_wait(plan.interaction)) > 0:
                time.sleep(delay)
            return self.replay(plan.interaction, request, sync=True, clock=clock)
        rec = plan.recording
        assert rec is not None
        try:
            with forwarding(request.url.host):
                response = self.original_sync(transport, request)
        except self.transport_error as exc:
            rec.fail(exc)
            raise
        return self.recorded(response, plan, request, sync=True)

    async def handle_async(self, session: Session, transport: Any, request: Any, original: Any) -> Any:
        __tracebackhide__ = True
        plan = session.plan(to_request(request, await request.aread()))
        if plan.kind == "passthrough":
            with forwarding(request.url.host):
                return await original(transport, request)
        if plan.kind == "replay":
            assert plan.interaction is not None
            if not session.options.replay_timing:  # the default: nothing to time
                return self.replay(plan.interaction, request, sync=False)
            clock = replay_clock(session, plan, cap=read_timeout(request))
            if clock is not None and (delay := clock.headers_wait(plan.interaction)) > 0:
                await async_sleep(delay)
            return self.replay(plan.interaction, request, sync=False, clock=clock)
        rec = plan.recording
        assert rec is not None
        try:
            with forwarding(request.url.host):
                response = await original(transport, request)
        except self.transport_error as exc:
            rec.fail(exc)
            raise
        return self.recorded(response, plan, request, sync=False)

    def recorded(self, response: Any, plan: Plan, request: Any, *, sync: bool) -> Any:
        """`response` from upstream, its body teed into the plan's recording (cut by a `drop` fault)."""
        rec = plan.recording
        assert rec is not None
        rec.start_response(response.status_code, tuple(response.headers.multi_items()))
        tee, drop_after = (self.tee_sync, self.drop_sync) if sync else (self.tee_async, self.drop_async)
        drop = plan.drop_after is not None
        response.stream = tee(response.stream, rec, self.transport_error, drain=drop)
        if drop:
            response.stream = drop_after(response.stream, plan.drop_after, self.dropped(request))
        return response

    def replay(self, interaction: Interaction, request: Any, *, sync: bool, clock: ReplayClock | None = None) -> Any:
        if interaction.error is not None:
            raise self.exception(interaction.error, request)
        resp = interaction.response
        assert resp is not None
        # The stack's `Headers` of the plan's interaction (`shorten_backoff`), built once per tuple.
        headers = self._response_headers.get(resp.headers)
        if headers is None:
            headers = self._new_response_headers(resp.headers)
        if resp.chunks is None and resp.error is None and clock is None:
            # A whole body with nothing to time or raise: one ByteStream, as httpx would build it.
            stream: Any = self.module.ByteStream(resp.body)
            return self.module.Response(resp.status, headers=headers, stream=stream, request=request)
        chunks = resp.chunks
        if chunks is None:
            chunks = (Chunk(resp.body, resp.t),) if resp.body else ()
        make_error = lambda f: self.exception(f, request)  # noqa: E731
        if sync:  # a sync caller reading past a cut would block forever: it ends there
            stream = self.replay_sync(chunks, resp.error, make_error, clock)
        else:
            stream = self.replay_async(chunks, resp.error, make_error, clock, hold_open=stays_open(interaction))
        return self.module.Response(resp.status, headers=headers, stream=stream, request=request)

    def _new_response_headers(self, recorded: Headers) -> Any:
        """The stack's `Headers` for recorded response headers, remembered by the tuple (a
        `Response` copies them: nothing the caller does to its headers reaches this one)."""
        pairs: Any = recorded
        if not all(v.isascii() for _, v in recorded):
            # httpx encodes str header values as ASCII, but a recorded value may hold any text
            # (httpx decoded the server's bytes): UTF-8 bytes decode back to the same str.
            pairs = [(k, v.encode("utf-8")) for k, v in recorded]
        headers = self.module.Headers(pairs)
        if len(self._response_headers) >= _DECODED_MAX:
            self._response_headers.clear()
        self._response_headers[recorded] = headers
        return headers

    def dropped(self, request: Any) -> BaseException:
        return self.exception(DROPPED, request)

    def exception(self, failure: TransportFailure, request: Any) -> BaseException:
        """The recorded transport error as this stack's exception class."""
        cls = getattr(self.module, failure.type, None)
        if not (isinstance(cls, type) and issubclass(cls, self.transport_error)):
            cls = self.transport_error
        return cls(failure.message, request=request)  # type: ignore[no-any-return, call-arg]
