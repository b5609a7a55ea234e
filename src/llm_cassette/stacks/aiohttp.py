"""The seam of `aiohttp`: one client middleware, innermost, on every `ClientSession` request.

`ClientSession._request` is wrapped at class level (every session, wherever and whenever it was
built) to append one middleware to the session's own. It sees the request exactly as it goes out
(URL with params, default and automatic headers, the encoded body), answers it from the cassette
without connecting, or lets it through and tees the body as the caller reads it. The SDKs' aiohttp
transports (openai and anthropic `DefaultAioHttpClient`, litellm's) send through `ClientSession`,
so they are covered without a patch of their own, whatever the import order.

aiohttp is optional and never imported here: `install()` patches it when the application imports
it (`import_hook`), or at once if it already has. Middlewares need aiohttp 3.12 or later.
"""

from __future__ import annotations

import asyncio
import builtins
import re
import sys
from collections.abc import AsyncIterator, Callable
from http import HTTPStatus
from types import ModuleType, SimpleNamespace
from typing import TYPE_CHECKING, Any

from ..core.models import Interaction, Request, TransportFailure
from ..core.recording import Recording
from ..core.registry import active_session
from ..core.replay import ReplayClock, replay_chunks, replay_clock, stays_open
from ..faults import DROPPED
from .guard import forwarding
from .import_hook import when_imported
from .streams import DropAsync, ReplayAsync, TeeAsync, async_sleep

if TYPE_CHECKING:
    from ..core.session import Session

MIN_VERSION = (3, 12)

# The core's stack-agnostic failure names (httpx's; the faults use them) as aiohttp raises them,
# before a response and in the middle of a body.
_BEFORE_RESPONSE = {
    "ConnectError": "ClientConnectorError",
    "ConnectTimeout": "ConnectionTimeoutError",
    "PoolTimeout": "ConnectionTimeoutError",
    "ReadTimeout": "SocketTimeoutError",
    "WriteTimeout": "SocketTimeoutError",
    "RemoteProtocolError": "ServerDisconnectedError",
    "ReadError": "ClientOSError",
}
_IN_BODY = {
    "RemoteProtocolError": "ClientPayloadError",
    "ReadError": "ClientPayloadError",
    "ReadTimeout": "SocketTimeoutError",
}


class _NoFlowControl:
    """The protocol a pull-fed reader reports to: nothing to pause, it reads on demand."""

    connected = True

    def pause_reading(self, *args: Any, **kwargs: Any) -> None:
        pass

    def resume_reading(self, *args: Any, **kwargs: Any) -> None:
        pass


def _pull_reader_class(stream_reader: Any) -> Any:
    class PullStreamReader(stream_reader):  # type: ignore[misc]
        """A `StreamReader` fed one chunk of `source` each time a read finds its buffer empty.

        Whatever the caller's reads (`read()`, `json()`, `iter_chunked(n)`, `iter_any()`,
        `readline()`, `async for line`), they see the chunks of `source` in order and nothing
        ahead of them: a replay gives back the recorded chunks, a recording tees the live ones.
        """

        _waiter: asyncio.Future[None] | None  # StreamReader's own slots
        _loop: asyncio.AbstractEventLoop

        def __init__(
            self, source: AsyncIterator[bytes], loop: asyncio.AbstractEventLoop, on_release: Callable[[], None] | None
        ) -> None:
            super().__init__(_NoFlowControl(), 2**16, loop=loop)
            self._source = source
            self._on_release = on_release

        async def _wait(self, func_name: str) -> None:
            if self._waiter is not None:
                raise RuntimeError(f"{func_name}() called while another coroutine is already waiting for incoming data")
            # Marks "a read is in progress"; already done, so that release() (which fails a
            # pending waiter) never leaves an exception nobody retrieves.
            self._waiter = waiter = self._loop.create_future()
            waiter.set_result(None)
            try:
                chunk = await self._source.__anext__()
            except StopAsyncIteration:
                self._waiter = None
                self.feed_eof()
            except Exception as exc:
                self._waiter = None
                super().set_exception(exc)
                raise
            else:
                self._waiter = None
                self.feed_data(chunk)
            finally:
                self._waiter = None

        def set_exception(self, exc: BaseException, exc_cause: Any = None) -> None:
            # `ClientResponse.release()` and `close()` end the body this way: the caller is done.
            on_release, self._on_release = self._on_release, None
            if on_release is not None:
                on_release()
            if exc_cause is None:
                super().set_exception(exc)
            else:
                super().set_exception(exc, exc_cause)

    return PullStreamReader


class AiohttpAdapter:
    """Records and replays `aiohttp.ClientSession` requests through the core session."""

    def __init__(self, client_module: ModuleType) -> None:
        self.client_module = client_module
        self.session_cls: Any = client_module.ClientSession
        self.original_request: Any = self.session_cls._request
        self._reader_cls: type | None = None

    @property
    def aiohttp(self) -> ModuleType:
        # Resolved at the first request: at patch time the package may still be importing.
        return sys.modules["aiohttp"]

    @property
    def reader_cls(self) -> Any:
        if self._reader_cls is None:
            self._reader_cls = _pull_reader_class(self.aiohttp.StreamReader)
        return self._reader_cls

    # -- patch ---------------------------------------------------------------------------------

    def install(self) -> None:
        adapter = self
        original = self.original_request

        async def _request(client: Any, method: str, str_or_url: Any, **kwargs: Any) -> Any:
            __tracebackhide__ = True
            session = active_session()
            if session is None:
                return await original(client, method, str_or_url, **kwargs)
            auto_decompress = kwargs.get("auto_decompress")
            if auto_decompress is None:
                auto_decompress = client._auto_decompress
            started: list[Recording] = []

            async def llm_cassette(req: Any, handler: Any) -> Any:
                __tracebackhide__ = True
                return await adapter.handle(session, req, handler, bool(auto_decompress), started)

            given = kwargs.get("middlewares")
            kwargs["middlewares"] = (*(client._middlewares if given is None else given), llm_cassette)
            try:
                return await original(client, method, str_or_url, **kwargs)
            except Exception as exc:
                # aiohttp turns its total timeout into TimeoutError around the middleware: the
                # request it cut before any response is recorded with it.
                for rec in started:
                    if rec.status is None:
                        rec.fail(exc)
                raise

        _request.__wrapped__ = original  # type: ignore[attr-defined]
        _request._llm_cassette = True  # type: ignore[attr-defined]
        self.session_cls._request = _request

    def uninstall(self) -> None:
        self.session_cls._request = self.original_request

    # -- one request ---------------------------------------------------------------------------

    async def handle(
        self, session: Session, req: Any, handler: Any, auto_decompress: bool, started: list[Recording]
    ) -> Any:
        __tracebackhide__ = True
        # as_bytes() caches what it reads, so even a streamed body is still sent in full.
        body = b"" if req.body == b"" else await req.body.as_bytes()
        plan = session.plan(Request(req.method, str(req.url), tuple(req.headers.items()), body))
        if plan.kind == "passthrough":
            with forwarding(req.url.host or ""):
                return await handler(req)
        if plan.kind == "replay":
            assert plan.interaction is not None
            clock = replay_clock(session, plan)
            if clock is not None and (delay := clock.headers_wait(plan.interaction)) > 0:
                await async_sleep(delay)
            return self.replay(session, plan.interaction, req, clock)
        rec = plan.recording
        assert rec is not None
        started.append(rec)
        try:
            with forwarding(req.url.host or ""):
                response = await handler(req)
        except Exception as exc:
            rec.fail(exc)
            raise
        # With auto_decompress (the default) the caller reads decoded bytes under headers that
        # still name the encoding: the recording keeps the bytes as they are, headers fixed.
        rec.start_response(response.status, tuple(response.headers.items()), decoded=auto_decompress)
        tee = TeeAsync(_live_chunks(response.content), rec, Exception)
        source = tee.__aiter__()
        if plan.drop_after is not None:
            source = _dropping(DropAsync(tee, plan.drop_after, self.dropped(req)))
        response.content = self.reader_cls(source, response._loop, lambda: _released(rec))
        return response

    # -- replay --------------------------------------------------------------------------------

    def replay(self, session: Session, interaction: Interaction, req: Any, clock: ReplayClock | None = None) -> Any:
        __tracebackhide__ = True
        if interaction.error is not None:
            raise self.exception(interaction.error, req, in_body=False)
        resp = interaction.response
        assert resp is not None
        aiohttp = self.aiohttp
        from multidict import CIMultiDict, CIMultiDictProxy  # aiohttp's own dependency

        headers = resp.headers  # as in the plan's interaction (`shorten_backoff`)
        loop = asyncio.get_running_loop()
        client = req._session
        response = (client._response_class if client is not None else aiohttp.ClientResponse)(
            req.method,
            req.original_url,
            writer=None,
            continue100=None,
            timer=req._timer,
            request_info=req.request_info,
            traces=[],
            loop=loop,
            session=client,
            stream_writer=SimpleNamespace(output_size=(req.body.size or 0) if req.body else 0),
        )
        response._closed = False
        response.version = aiohttp.HttpVersion11
        response.status = resp.status
        response.reason = _reason(resp.status)
        response._headers = CIMultiDictProxy(CIMultiDict(headers))
        response._raw_headers = tuple((k.encode("utf-8"), v.encode("utf-8")) for k, v in headers)
        cookies = tuple(v for k, v in headers if k.lower() == "set-cookie")
        if cookies:  # the session's cookie jar takes them, as from a live response
            response._raw_cookie_headers = cookies
        make_error = lambda f: self.exception(f, req, in_body=True)  # noqa: E731
        stream = ReplayAsync(replay_chunks(resp), resp.error, make_error, clock, hold_open=stays_open(interaction))
        response.content = self.reader_cls(stream.__aiter__(), loop, stream.release)
        return response

    def dropped(self, req: Any) -> BaseException:
        return self.exception(DROPPED, req, in_body=True)

    def exception(self, failure: TransportFailure, req: Any, *, in_body: bool) -> BaseException:
        """The recorded failure as the class aiohttp raises (or its nearest equivalent)."""
        aiohttp = self.aiohttp
        name = failure.type
        if not hasattr(aiohttp, name):
            name = (_IN_BODY if in_body else _BEFORE_RESPONSE).get(name, name)
        cls = getattr(aiohttp, name, None) or getattr(builtins, name, None)
        if not (isinstance(cls, type) and issubclass(cls, Exception)):
            cls = aiohttp.ClientPayloadError if in_body else aiohttp.ClientConnectionError
        if issubclass(cls, aiohttp.ClientConnectorError):
            # "Cannot connect to host h:p ssl:x [reason]": the same text, rebuilt from the reason.
            found = re.search(r"\[(.*)\]\s*$", failure.message)
            os_error = OSError(None, found.group(1) if found else failure.message)
            try:
                return cls(req.connection_key, os_error)  # type: ignore[no-any-return]
            except TypeError:  # a subclass with another signature
                return aiohttp.ClientConnectorError(req.connection_key, os_error)  # type: ignore[no-any-return]
        try:
            return cls(failure.message)  # type: ignore[no-any-return]
        except TypeError:
            return aiohttp.ClientConnectionError(failure.message)  # type: ignore[no-any-return]


async def _live_chunks(live: Any) -> AsyncIterator[bytes]:
    """The live body, one HTTP chunk (or what has arrived of it) at a time."""
    while True:
        data, end_of_http_chunk = await live.readchunk()
        if data:
            yield data
        elif not end_of_http_chunk:
            return


async def _dropping(drop: DropAsync) -> AsyncIterator[bytes]:
    """A `drop` fault while recording: the caller sees the connection drop, the recording gets
    the whole response (read on before the error reaches the caller)."""
    try:
        async for chunk in drop:
            yield chunk
    except Exception:
        await drop.aclose()
        raise


def _released(rec: Recording) -> None:
    """The caller released the response: what it did not read was never seen."""
    if not rec.finished:
        rec.finish(cut=not rec.saw_final_event())


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


_adapters: list[AiohttpAdapter] = []


def _patch(client_module: ModuleType) -> None:
    version = getattr(sys.modules.get("aiohttp"), "__version__", "") or ""
    parts = tuple(int(p) for p in re.findall(r"\d+", version)[:2])
    if parts and parts < MIN_VERSION:
        return  # no middlewares: the network guard refuses its traffic in replay instead
    if getattr(client_module.ClientSession._request, "_llm_cassette", False):
        return
    adapter = AiohttpAdapter(client_module)
    adapter.install()
    _adapters.append(adapter)


def install() -> None:
    """Patch aiohttp now if it is imported, else as soon as it is (idempotent)."""
    when_imported("aiohttp.client", _patch)


def uninstall() -> None:
    for adapter in _adapters:
        adapter.uninstall()
    _adapters.clear()
