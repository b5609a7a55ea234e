"""The seam: `HTTPTransport.handle_request` / `AsyncHTTPTransport.handle_async_request`.

One adapter, parametrised by module, serves `httpx` and `httpx2` (API twins). Only the network
transports are patched, at class level, so every client is covered wherever it was built, and
in-process transports (`ASGITransport`, `WSGITransport`, `MockTransport`) are never touched. The
patches stay installed; with no active session a request costs one context lookup.
"""

from __future__ import annotations

import importlib
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

from ._context import active_session, network_policy
from ._errors import NetworkBlocked
from ._models import Chunk, Interaction, Request, TransportFailure
from ._recording import Recording
from ._session import RETRYABLE_STATUSES, Session

STACKS = ("httpx", "httpx2")


class _TeeSync:
    """Passes each chunk to the caller as it arrives and appends it to the recording."""

    def __init__(
        self, inner: Any, recording: Recording, transport_error: type[BaseException], drain: bool = False
    ) -> None:
        self._inner = inner
        self._rec = recording
        self._error = transport_error
        self._drain = drain

    def __iter__(self) -> Iterator[bytes]:
        rec = self._rec
        try:
            for chunk in self._inner:
                rec.add_chunk(chunk)
                yield chunk
        except self._error as exc:
            rec.fail(exc)
            raise
        rec.finish()

    def close(self) -> None:
        rec = self._rec
        try:
            if not rec.finished:
                if rec.streamed and not self._drain:
                    rec.finish(cut=not rec.saw_final_event())
                else:
                    # SDKs close error responses unread: drain the body so the recording is whole.
                    try:
                        for chunk in self._inner:
                            rec.add_chunk(chunk)
                    except self._error as exc:
                        rec.fail(exc)
                    rec.finish()
        finally:
            self._inner.close()


class _TeeAsync:
    def __init__(
        self, inner: Any, recording: Recording, transport_error: type[BaseException], drain: bool = False
    ) -> None:
        self._inner = inner
        self._rec = recording
        self._error = transport_error
        self._drain = drain

    async def __aiter__(self) -> AsyncIterator[bytes]:
        rec = self._rec
        try:
            async for chunk in self._inner:
                rec.add_chunk(chunk)
                yield chunk
        except self._error as exc:
            rec.fail(exc)
            raise
        rec.finish()

    async def aclose(self) -> None:
        rec = self._rec
        try:
            if not rec.finished:
                if rec.streamed and not self._drain:
                    rec.finish(cut=not rec.saw_final_event())
                else:
                    try:
                        async for chunk in self._inner:
                            rec.add_chunk(chunk)
                    except self._error as exc:
                        rec.fail(exc)
                    rec.finish()
        finally:
            await self._inner.aclose()


class _DropSync:
    """What a `drop` fault shows the caller while recording: the first chunks, then a dropped
    connection. The recording underneath still gets the whole response."""

    def __init__(self, tee: Any, after: int, exc: BaseException) -> None:
        self._tee = tee
        self._after = after
        self._exc = exc
        self._it: Any = None

    def __iter__(self) -> Iterator[bytes]:
        # One iterator over the tee, kept for close(): the rest of the body is read through the
        # same stream the caller started, never through a second one.
        self._it = iter(self._tee)
        for _ in range(self._after):
            chunk = next(self._it, None)
            if chunk is None:
                break
            yield chunk
        raise self._exc

    def close(self) -> None:
        try:
            if self._it is not None:
                for _ in self._it:  # the recording gets the whole response
                    pass
        except Exception:  # a transport error here is already in the recording
            pass
        finally:
            self._tee.close()


class _DropAsync(_DropSync):
    async def __aiter__(self) -> AsyncIterator[bytes]:
        self._it = self._tee.__aiter__()
        for _ in range(self._after):
            try:
                chunk = await self._it.__anext__()
            except StopAsyncIteration:
                break
            yield chunk
        raise self._exc

    async def aclose(self) -> None:
        try:
            if self._it is not None:
                async for _ in self._it:
                    pass
        except Exception:  # a transport error here is already in the recording
            pass
        finally:
            await self._tee.aclose()


class _ReplaySync:
    """Yields recorded chunks (with their timing when asked), then raises the recorded error."""

    def __init__(
        self,
        chunks: tuple[Chunk, ...],
        error: TransportFailure | None,
        adapter: StackAdapter,
        request: Any,
        scale: float,
        started: float,
    ) -> None:
        self._chunks = chunks
        self._error = error
        self._adapter = adapter
        self._request = request
        self._scale = scale
        self._started = started

    def _delay(self, chunk: Chunk) -> float:
        """Seconds to wait before `chunk` so that it arrives at its recorded (scaled) time."""
        return self._started + chunk.t * self._scale / 1000.0 - time.perf_counter()

    def _end(self) -> None:
        if self._error is not None:
            raise self._adapter.exception(self._error, self._request)

    def __iter__(self) -> Iterator[bytes]:
        timed = bool(self._scale)  # default replay: as fast as possible, no clock per chunk
        for chunk in self._chunks:
            if timed and (delay := self._delay(chunk)) > 0:
                time.sleep(delay)
            yield chunk.data
        self._end()

    def close(self) -> None:
        pass


class _ReplayAsync(_ReplaySync):
    async def __aiter__(self) -> AsyncIterator[bytes]:
        timed = bool(self._scale)
        for chunk in self._chunks:
            if timed and (delay := self._delay(chunk)) > 0:
                await _async_sleep(delay)
            yield chunk.data
        self._end()

    async def aclose(self) -> None:
        pass


async def _async_sleep(seconds: float) -> None:
    import anyio

    await anyio.sleep(seconds)


def to_request(request: Any, body: bytes) -> Request:
    return Request(
        method=request.method,
        url=str(request.url),
        headers=tuple(request.headers.multi_items()),
        body=body,
    )


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
        # Other async transports of this stack that leave the process (the SDKs' aiohttp transport).
        self.extra_async: dict[type, Any] = {}
        # Response streams must be instances of this module's stream base classes.
        self.tee_sync: Any = type("TeeStream", (_TeeSync, module.SyncByteStream), {})
        self.tee_async: Any = type("AsyncTeeStream", (_TeeAsync, module.AsyncByteStream), {})
        self.replay_sync: Any = type("ReplayStream", (_ReplaySync, module.SyncByteStream), {})
        self.replay_async: Any = type("AsyncReplayStream", (_ReplayAsync, module.AsyncByteStream), {})
        self.drop_sync: Any = type("DropStream", (_DropSync, module.SyncByteStream), {})
        self.drop_async: Any = type("AsyncDropStream", (_DropAsync, module.AsyncByteStream), {})

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

    def add_async_transport(self, cls: type) -> None:
        """Also intercept another async transport class of this stack (idempotent)."""
        if cls in self.extra_async or getattr(cls.__dict__.get("handle_async_request"), "_llm_cassette", False):
            return
        original = cls.__dict__["handle_async_request"]
        self.extra_async[cls] = original
        cls.handle_async_request = self._async_handler(original)  # type: ignore[attr-defined]

    def uninstall(self) -> None:
        self.sync_cls.handle_request = self.original_sync
        self.async_cls.handle_async_request = self.original_async
        for cls, original in self.extra_async.items():
            cls.handle_async_request = original  # type: ignore[attr-defined]
        self.extra_async.clear()

    def check_network(self, request: Any) -> None:
        if network_policy.block:
            host = request.url.host
            if not network_policy.allows(host):
                raise NetworkBlocked(
                    f"llm-cassette: real network request to {host!r} blocked by --llm-block-network\n"
                    f"  request: {request.method} {request.url}\n"
                    "  The test has no cassette. Mark it with @pytest.mark.llm_cassette to record and replay "
                    f"this traffic, or allow the host with --llm-allowed-hosts={host} (ini: "
                    "llm_cassette_allowed_hosts; --llm-allow-localhost for local servers)."
                )

    # -- one request ---------------------------------------------------------------------------

    def handle_sync(self, session: Session, transport: Any, request: Any) -> Any:
        __tracebackhide__ = True
        plan = session.plan(to_request(request, request.read()))
        if plan.kind == "passthrough":
            return self.original_sync(transport, request)
        if plan.kind == "replay":
            assert plan.interaction is not None
            if session.replay_timing and plan.interaction.response is not None:
                time.sleep(plan.interaction.response.t * session.replay_timing / 1000.0)
            return self.replay(session, plan.interaction, request, sync=True)
        rec = plan.recording
        assert rec is not None
        try:
            response = self.original_sync(transport, request)
        except self.transport_error as exc:
            rec.fail(exc)
            raise
        rec.start_response(response.status_code, tuple(response.headers.multi_items()))
        drop = plan.drop_after is not None
        response.stream = self.tee_sync(response.stream, rec, self.transport_error, drain=drop)
        if drop:
            response.stream = self.drop_sync(response.stream, plan.drop_after, self.dropped(request))
        return response

    async def handle_async(self, session: Session, transport: Any, request: Any, original: Any) -> Any:
        __tracebackhide__ = True
        plan = session.plan(to_request(request, await request.aread()))
        if plan.kind == "passthrough":
            return await original(transport, request)
        if plan.kind == "replay":
            assert plan.interaction is not None
            if session.replay_timing and plan.interaction.response is not None:
                await _async_sleep(plan.interaction.response.t * session.replay_timing / 1000.0)
            return self.replay(session, plan.interaction, request, sync=False)
        rec = plan.recording
        assert rec is not None
        try:
            response = await original(transport, request)
        except self.transport_error as exc:
            rec.fail(exc)
            raise
        rec.start_response(response.status_code, tuple(response.headers.multi_items()))
        drop = plan.drop_after is not None
        response.stream = self.tee_async(response.stream, rec, self.transport_error, drain=drop)
        if drop:
            response.stream = self.drop_async(response.stream, plan.drop_after, self.dropped(request))
        return response

    def replay(self, session: Session, interaction: Interaction, request: Any, *, sync: bool) -> Any:
        if interaction.error is not None:
            raise self.exception(interaction.error, request)
        resp = interaction.response
        assert resp is not None
        headers: Any = resp.headers
        if resp.status in RETRYABLE_STATUSES and not session.keep_retry_headers:
            # SDKs honour `retry-after-ms` before `retry-after`: 1 ms makes the recorded back-off
            # near-instant without changing what else the caller sees.
            headers = [(k, v) for k, v in headers if k.lower() != "retry-after-ms"]
            headers.append(("retry-after-ms", "1"))
        if not all(v.isascii() for _, v in headers):
            # httpx encodes str header values as ASCII, but a recorded value may hold any text
            # (httpx decoded the server's bytes): UTF-8 bytes decode back to the same str.
            headers = [(k, v.encode("utf-8")) for k, v in headers]
        if resp.chunks is None and resp.error is None and not session.replay_timing:
            # A whole body with nothing to time or raise: one ByteStream, as httpx would build it.
            stream: Any = self.module.ByteStream(resp.body)
            return self.module.Response(resp.status, headers=headers, stream=stream, request=request)
        chunks = resp.chunks
        if chunks is None:
            chunks = (Chunk(resp.body, resp.t),) if resp.body else ()
        started = time.perf_counter() - resp.t * session.replay_timing / 1000.0
        stream_cls = self.replay_sync if sync else self.replay_async
        stream = stream_cls(chunks, resp.error, self, request, session.replay_timing, started)
        return self.module.Response(resp.status, headers=headers, stream=stream, request=request)

    def dropped(self, request: Any) -> BaseException:
        failure = TransportFailure("RemoteProtocolError", "peer closed connection (injected by llm-cassette)")
        return self.exception(failure, request)

    def exception(self, failure: TransportFailure, request: Any) -> BaseException:
        """The recorded transport error as this stack's exception class."""
        cls = getattr(self.module, failure.type, None)
        if not (isinstance(cls, type) and issubclass(cls, self.transport_error)):
            cls = self.transport_error
        return cls(failure.message, request=request)  # type: ignore[no-any-return, call-arg]


_adapters: dict[int, StackAdapter] = {}
_install_lock = threading.Lock()

# Async transports that bypass httpx's own network transport, by the module that defines them
# (looked up only once their SDK is imported): the SDKs' vendored aiohttp transports.
EXTRA_ASYNC_TRANSPORTS = (
    ("openai._vendor.httpx_aiohttp.transport", "AiohttpTransport"),
    ("anthropic._vendor.httpx_aiohttp.transport", "AiohttpTransport"),
    ("httpx_aiohttp.transport", "AiohttpTransport"),
    ("litellm.llms.custom_httpx.aiohttp_transport", "LiteLLMAiohttpTransport"),
)


_unavailable: set[str] = set()


def install_extra_transports() -> None:
    """Patch the SDKs' aiohttp transports that are imported by now (cheap; called on activation)."""
    for module_name, class_name in EXTRA_ASYNC_TRANSPORTS:
        parent = module_name.split(".", 1)[0]
        if parent not in sys.modules or module_name in _unavailable:
            continue
        try:
            module = importlib.import_module(module_name)
        except ImportError:  # aiohttp is not installed: that transport cannot be used either
            _unavailable.add(module_name)
            continue
        cls = getattr(module, class_name, None)
        base = getattr(module, "httpx", None)  # the vendored transport imports its stack as `httpx`
        if cls is None or base is None:
            continue
        with _install_lock:
            adapter = _adapters.get(id(base))
        if adapter is not None:
            adapter.add_async_transport(cls)


def install() -> list[StackAdapter]:
    """Patch every importable HTTP stack once (idempotent; an aliased httpx2 is patched once)."""
    with _install_lock:
        for name in STACKS:
            try:
                module = importlib.import_module(name)
            except ImportError:
                continue
            if id(module) in _adapters:
                continue
            current = getattr(module.HTTPTransport.handle_request, "_llm_cassette", False)
            if current:  # patched by another copy of this module (e.g. reloaded)
                continue
            adapter = StackAdapter(module)
            adapter.install()
            _adapters[id(module)] = adapter
        adapters = list(_adapters.values())
    install_extra_transports()
    return adapters


def uninstall() -> None:
    with _install_lock:
        for adapter in _adapters.values():
            adapter.uninstall()
        _adapters.clear()


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()
