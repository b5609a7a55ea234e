"""The seam of urllib3 2.x (so `requests` and `botocore`): `HTTPConnectionPool._make_request`.

`_make_request` is one attempt of one request on one connection. urllib3's retries, redirects and
pooling run above it unchanged, so a recorded retry sequence replays in order, and a replayed
transport error is wrapped by urllib3 (then by requests or botocore) exactly as a live one was.
A pool's connections connect lazily, inside `_make_request`: a replay never opens a socket.

A replayed body is a `ChunkSource` in the place of `http.client`'s response; a live one is teed
read by read into the recording by switching the response to `TeeHTTPResponse`.
"""

from __future__ import annotations

import http.client
import time
from typing import TYPE_CHECKING, Any

from ..core.models import Interaction, Request, TransportFailure
from ..core.registry import active_session
from ..core.replay import ReplayClock, replay_chunks, replay_clock
from .guard import forwarding
from .streams import ReplaySync
from .urllib3_bodies import ChunkSource, ReplayResponse, TeeResponse, failure_message

if TYPE_CHECKING:
    from ..core.session import Session

# Transport errors of other stacks (httpx, the faults) by the urllib3 class that means the same.
URLLIB3_EQUIVALENTS = {
    "ConnectError": "NewConnectionError",
    "ConnectTimeout": "ConnectTimeoutError",
    "ReadTimeout": "ReadTimeoutError",
    "WriteTimeout": "ReadTimeoutError",
    "PoolTimeout": "ReadTimeoutError",
    "TimeoutException": "ReadTimeoutError",
    "RemoteProtocolError": "ProtocolError",
    "ReadError": "ProtocolError",
    "WriteError": "ProtocolError",
    "NetworkError": "ProtocolError",
    "LocalProtocolError": "ProtocolError",
}

_DROPPED = TransportFailure("ProtocolError", "Connection broken: peer closed connection (injected by llm-cassette)")


def _text(value: str | bytes) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else str(value)


def full_url(pool: Any, url: str) -> str:
    """The absolute URL of a request `_make_request` sends as `url` (a path, unless proxied)."""
    if url.startswith(("http://", "https://")):
        return url
    host = f"[{pool.host}]" if ":" in pool.host else pool.host
    default = 443 if pool.scheme == "https" else 80
    netloc = host if pool.port in (None, default) else f"{host}:{pool.port}"
    return f"{pool.scheme}://{netloc}{url}"


class Urllib3Adapter:
    """Intercepts urllib3's connection pools (requests, botocore, urllib3 itself) at `_make_request`."""

    name = "urllib3"

    def __init__(self, module: Any) -> None:
        import urllib3.connectionpool
        import urllib3.exceptions
        import urllib3.util.request

        self.module = module
        self.exceptions: Any = urllib3.exceptions
        self.pool_cls: Any = urllib3.connectionpool.HTTPConnectionPool
        self.original: Any = self.pool_cls._make_request
        self.body_to_chunks: Any = urllib3.util.request.body_to_chunks
        self.transport_errors: tuple[type[BaseException], ...] = (
            urllib3.exceptions.HTTPError,
            OSError,
            http.client.HTTPException,
        )
        self.replay_cls: Any = type("ReplayHTTPResponse", (ReplayResponse, module.HTTPResponse), {})
        self.tee_cls: Any = type(
            "TeeHTTPResponse", (TeeResponse, module.HTTPResponse), {"_llm_errors": self.transport_errors}
        )

    def install(self) -> None:
        adapter = self
        original = self.original

        def _make_request(
            pool: Any, conn: Any, method: str, url: str, body: Any = None, headers: Any = None, **kw: Any
        ) -> Any:
            __tracebackhide__ = True
            session = active_session()
            if session is None:
                return original(pool, conn, method, url, body, headers, **kw)
            return adapter.handle(session, pool, conn, method, url, body, headers, kw)

        _make_request.__wrapped__ = original  # type: ignore[attr-defined]
        _make_request._llm_cassette = True  # type: ignore[attr-defined]
        self.pool_cls._make_request = _make_request

    def uninstall(self) -> None:
        self.pool_cls._make_request = self.original

    # -- one request ---------------------------------------------------------------------------

    def handle(
        self, session: Session, pool: Any, conn: Any, method: str, url: str, body: Any, headers: Any, kw: dict[str, Any]
    ) -> Any:
        __tracebackhide__ = True
        if headers is None:
            headers = pool.headers
        data = self._body_bytes(body, method, conn)
        request = Request(
            method=method,
            url=full_url(pool, url),
            headers=tuple((str(k), _text(v)) for k, v in headers.items()),
            body=data,
        )
        plan = session.plan(request)
        if plan.kind == "passthrough":
            with forwarding(pool.host):
                return self.original(pool, conn, method, url, data, headers, **kw)
        if plan.kind == "replay":
            assert plan.interaction is not None
            clock = replay_clock(session, plan)
            if clock is not None and (delay := clock.headers_wait(plan.interaction)) > 0:
                time.sleep(delay)
            return self.replay(session, plan.interaction, pool, conn, method, url, kw, clock)
        rec = plan.recording
        assert rec is not None
        try:
            with forwarding(pool.host):
                # Unread, so that the tee sees every read (urllib3 would preload in the constructor).
                response = self.original(pool, conn, method, url, data, headers, **{**kw, "preload_content": False})
        except self.transport_errors as exc:
            rec.fail(exc, failure_message(exc))
            raise
        rec.start_response(response.status, tuple(response.headers.items()))
        drop = None if plan.drop_after is None else (plan.drop_after, self.exception(_DROPPED, pool, conn, url))
        response.__class__ = self.tee_cls
        response._llm_tee(rec, drop)
        if kw.get("preload_content", True):
            response._body = response.read(decode_content=kw.get("decode_content", True))
        return response

    def _body_bytes(self, body: Any, method: str, conn: Any) -> bytes:
        """The body as the bytes urllib3 would send (a file or an iterable is read once, here)."""
        if body is None:
            return b""
        if isinstance(body, bytes):
            return body
        chunks = self.body_to_chunks(body, method=method, blocksize=getattr(conn, "blocksize", 16384)).chunks
        return b"".join(c.encode("utf-8") if isinstance(c, str) else bytes(c) for c in chunks or ())

    def replay(
        self,
        session: Session,
        interaction: Interaction,
        pool: Any,
        conn: Any,
        method: str,
        url: str,
        kw: dict[str, Any],
        clock: ReplayClock | None = None,
    ) -> Any:
        if interaction.error is not None:
            raise self.exception(interaction.error, pool, conn, url)
        resp = interaction.response
        assert resp is not None
        headers = self.module.HTTPHeaderDict()
        for k, v in resp.headers:  # as in the plan's interaction (`shorten_backoff`)
            headers.add(k, v)
        replay = ReplaySync(replay_chunks(resp), resp.error, lambda f: self.exception(f, pool, conn, url), clock)
        return self.replay_cls(
            body=ChunkSource(replay),
            headers=headers,
            status=resp.status,
            version=11,
            version_string="HTTP/1.1",
            reason=http.client.responses.get(resp.status, ""),
            preload_content=kw.get("preload_content", True),
            decode_content=kw.get("decode_content", True),
            enforce_content_length=kw.get("enforce_content_length", True),
            pool=pool,
            connection=kw.get("response_conn"),
            retries=kw.get("retries"),
            request_method=method,
            request_url=url,
        )

    def exception(self, failure: TransportFailure, pool: Any, conn: Any, url: str) -> BaseException:
        """The recorded transport error as the class urllib3 (or http.client, or the OS) raised."""
        ex = self.exceptions
        name = URLLIB3_EQUIVALENTS.get(failure.type, failure.type)
        cls: Any = getattr(ex, name, None)
        if not (isinstance(cls, type) and issubclass(cls, ex.HTTPError)):
            cls = getattr(http.client, name, None) or getattr(__import__("builtins"), name, None)
            if not (isinstance(cls, type) and issubclass(cls, (OSError, http.client.HTTPException))):
                cls = ex.ProtocolError
        exc = cls.__new__(cls)
        # urllib3's errors take the pool or connection they happened on first.
        if issubclass(cls, ex.NewConnectionError):
            ex.NewConnectionError.__init__(exc, conn, failure.message)
        elif issubclass(cls, ex.RequestError):
            ex.RequestError.__init__(exc, pool, url, failure.message)
        elif issubclass(cls, ex.PoolError):
            ex.PoolError.__init__(exc, pool, failure.message)
        else:
            try:
                exc.__init__(failure.message)
            except TypeError:
                exc = ex.ProtocolError(failure.message)
        return exc  # type: ignore[no-any-return]


def load_adapter() -> Urllib3Adapter | None:
    """The adapter for the installed urllib3, or None (not installed, or 1.x: guarded, not recorded)."""
    try:
        import urllib3
    except ImportError:
        return None
    if not hasattr(urllib3, "BaseHTTPResponse"):  # urllib3 1.x
        return None
    return Urllib3Adapter(urllib3)
