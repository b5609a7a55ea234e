"""A network transport of `httpx` / `httpx2` built while the stacks are installed gets its
connection pool when it is first used for real, not when it is built.

`HTTPTransport.__init__` (and its async twin) imports httpcore and builds an SSL context that loads
the CA bundle: ~50 ms per client on a small machine, paid by every test that builds an SDK client,
for a pool that a replay never touches. So the original `__init__` runs on the first read of the
transport's `_pool` (the original `handle_request` when recording, passing through, or a miss that
goes out; `close()` of a built transport), and a replay answered from the cassette never pays it.

Only the exact classes are deferred, and only with arguments for which the original `__init__`
cannot fail and does nothing a caller could observe: no proxy, no client certificate, `verify`
True, False or an `ssl.SSLContext`, numeric limits, no `SSLKEYLOGFILE` (the SSL context would open
it), and a `SSL_CERT_FILE` (read with `trust_env`) that is a readable PEM bundle. Anything else, a
subclass or positional arguments included, is built at once, exactly as without us. The
environment is read at construction: a deferred transport trusts the CA file or directory that
`SSL_CERT_FILE` / `SSL_CERT_DIR` named then, whatever they say when it is built.
"""

from __future__ import annotations

import base64
import functools
import importlib.util
import inspect
import os
import stat
import sys
import threading
from typing import Any

from ..core.registry import active_session

#: Where a deferred transport keeps the arguments of its original `__init__` (its instance dict).
STATE = "_llm_cassette_deferred_init"

#: `HTTPTransport.__init__`'s parameters (httpx >= 0.27, httpx2) and the defaults this relies on:
#: another signature means another `__init__`, which is never deferred.
_PARAMETERS = frozenset(
    {
        *("verify", "cert", "trust_env", "http1", "http2", "limits"),
        *("proxy", "uds", "local_address", "retries", "socket_options"),
    }
)
_DEFAULTS = {"verify": True, "cert": None, "trust_env": True, "proxy": None}

#: What the original `__init__` imports, by stack: deferred only when they can be imported, so a
#: missing httpcore still fails at construction.
_POOL_PACKAGES = {"httpx": ("httpcore", "h11", "certifi"), "httpx2": ("httpcore2", "h11", "truststore")}

#: Methods that would build a pool just to close it (or enter it): a deferred transport skips them.
_RETURNS_SELF = {"__enter__", "__aenter__"}
_SYNC_LIFECYCLE = ("close", "__enter__", "__exit__")
_ASYNC_LIFECYCLE = ("aclose", "__aenter__", "__aexit__")


class _Limits:
    """The three numbers the original `__init__` reads from `limits`, as they were at construction
    (an `httpx.Limits` is mutable)."""

    __slots__ = ("keepalive_expiry", "max_connections", "max_keepalive_connections")

    def __init__(self, limits: Any) -> None:
        self.max_connections = limits.max_connections
        self.max_keepalive_connections = limits.max_keepalive_connections
        self.keepalive_expiry = limits.keepalive_expiry


class Deferred:
    """One transport's original `__init__` and its arguments, run once, by the first reader."""

    __slots__ = ("ca", "init", "kwargs", "lock", "pool")

    def __init__(self, init: Any, kwargs: dict[str, Any], ca: tuple[str | None, str | None] | None) -> None:
        self.init = init
        self.kwargs = kwargs
        self.ca = ca  # SSL_CERT_FILE, SSL_CERT_DIR at construction, when `verify=True` reads them
        self.lock = threading.Lock()  # two threads first using one transport build it once
        #: The pool built: a `copy.copy` of the transport made before that holds this same object,
        #: and shares the pool, as a copy of a built transport does (`_pool` is all `__init__` sets).
        self.pool: Any = None

    def build(self, transport: Any) -> Any:
        with self.lock:
            attributes = transport.__dict__
            if "_pool" not in attributes:
                if self.pool is None:
                    self.init(transport, **self.arguments())  # raises as the original would; kept to retry
                    self.pool = attributes["_pool"]
                else:
                    attributes["_pool"] = self.pool
                del attributes[STATE]
            return attributes["_pool"]

    def arguments(self) -> dict[str, Any]:
        if self.ca is None or _ca_environment() == self.ca:
            return self.kwargs
        # The environment changed since construction: the context the original built then.
        import ssl

        cafile, capath = self.ca
        context = ssl.create_default_context(cafile=cafile) if cafile else ssl.create_default_context(capath=capath)
        return {**self.kwargs, "verify": context}


class DeferredPool:
    """`_pool` on the transport class. A non-data descriptor: the original `__init__` stores the real
    pool in the instance dict, which every later read finds first, as a plain attribute."""

    def __get__(self, transport: Any, owner: type | None = None) -> Any:
        if transport is None:  # the class has no `_pool`, as without us
            raise AttributeError(f"type object {owner.__name__ if owner else '?'!r} has no attribute '_pool'")
        deferred = transport.__dict__.get(STATE)
        if deferred is None:  # never initialised (a subclass that skipped `__init__`): as without us
            message = f"{type(transport).__name__!r} object has no attribute '_pool'"
            raise AttributeError(message, name="_pool", obj=transport)
        return deferred.build(transport)


def unbuilt(transport: Any) -> bool:
    """Whether `transport` is deferred and still has no pool."""
    attributes = transport.__dict__
    return STATE in attributes and "_pool" not in attributes


def install(cls: Any, module: Any) -> None:
    """Defer `cls.__init__` (an `HTTPTransport` or `AsyncHTTPTransport` of `module`) while installed."""
    packages = _POOL_PACKAGES.get(module.__name__)
    original = cls.__dict__.get("__init__")
    limits_cls = getattr(module, "Limits", None)
    if packages is None or original is None or limits_cls is None or getattr(original, "_llm_cassette", False):
        return
    parameters = dict(inspect.signature(original).parameters)
    parameters.pop("self", None)
    if set(parameters) != _PARAMETERS or any(parameters[k].default is not v for k, v in _DEFAULTS.items()):
        return  # not the `__init__` this was written for
    # The wrappers that let a deferred transport be closed unbuilt, and `_pool`, stay once set:
    # transports deferred before an uninstall still build on first use.
    if not isinstance(cls.__dict__.get("_pool"), DeferredPool):
        cls._pool = DeferredPool()
    for name in _SYNC_LIFECYCLE if "close" in cls.__dict__ else _ASYNC_LIFECYCLE:
        method = cls.__dict__.get(name)
        if method is not None and not getattr(method, "_llm_cassette", False):
            setattr(cls, name, _skipping_unbuilt(method, name))
    cls.__init__ = _deferring_init(cls, original, packages, limits_cls, parameters["limits"].default)


def uninstall(cls: Any) -> None:
    """Stop deferring new transports of `cls` (deferred ones still build on first use)."""
    init = cls.__dict__.get("__init__")
    if getattr(init, "_llm_cassette", False):
        cls.__init__ = init.__wrapped__


def _deferring_init(cls: type, original: Any, packages: tuple[str, ...], limits_cls: Any, default_limits: Any) -> Any:
    importable: list[bool] = []  # found once: whether the original's imports are installed

    @functools.wraps(original)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        if type(self) is cls and not args and "_pool" not in self.__dict__ and not _recording_now():
            deferred = _deferred(kwargs, limits_cls, default_limits)
            if deferred is not None:
                if not importable:
                    importable.append(all(_importable(name) for name in packages))
                if importable[0]:
                    deferred.init = original
                    self.__dict__[STATE] = deferred
                    return
        original(self, *args, **kwargs)

    __init__._llm_cassette = True  # type: ignore[attr-defined]
    return __init__


def _recording_now() -> bool:
    """A transport built under a cassette that records is about to go out for real: it is built at
    once, so that its first request's time to first chunk is what it is without us."""
    session = active_session()
    return session is not None and session.records


def _deferred(kwargs: dict[str, Any], limits_cls: Any, default_limits: Any) -> Deferred | None:
    """What to build with later (without the original `__init__`, set by the caller), or None when
    the original could fail or have an effect now, so it must run now."""
    if not _PARAMETERS.issuperset(kwargs):
        return None  # the original raises TypeError
    if kwargs.get("proxy") is not None or kwargs.get("cert") is not None:
        return None  # a proxy URL to parse, a certificate chain to load, a deprecation warning
    verify = kwargs.get("verify", True)
    if verify is not True and verify is not False:
        ssl = sys.modules.get("ssl")  # an SSLContext implies ssl is imported
        if ssl is None or not isinstance(verify, ssl.SSLContext):
            return None  # a CA path to load, a deprecation warning
    trust_env = kwargs.get("trust_env", True)
    if type(trust_env) is not bool:
        return None
    if os.environ.get("SSLKEYLOGFILE") and not sys.flags.ignore_environment:
        return None  # `ssl.create_default_context()` opens the key log file now
    ca = None
    if verify is True and trust_env:
        ca = _ca_environment()
        if ca == (None, None):
            ca = None
        elif ca[0] is not None and not _pem_bundle(ca[0]):
            return None  # a CA file that may fail to load: load it now
    limits: Any = kwargs.get("limits", default_limits)
    counts = (limits.max_connections, limits.max_keepalive_connections) if type(limits) is limits_cls else None
    if counts is None or not all(v is None or type(v) in (int, bool, float) for v in counts):
        return None  # the pool compares the two counts now
    deferred = dict(kwargs)
    deferred["limits"] = _Limits(limits)
    if ca is None:
        # trust_env only decides whether the SSL context reads SSL_CERT_FILE / SSL_CERT_DIR (and,
        # in httpx 0.27, SSLKEYLOGFILE), unset now: building without it later is building as now.
        deferred["trust_env"] = False
    return Deferred(None, deferred, ca)


def _ca_environment() -> tuple[str | None, str | None]:
    environ = os.environ
    return environ.get("SSL_CERT_FILE") or None, environ.get("SSL_CERT_DIR") or None


def _importable(name: str) -> bool:
    if sys.modules.get(name) is not None:
        return True
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


#: CA files seen to be PEM bundles, by path: their identity then (re-checked when it changes).
_pem_files: dict[str, tuple[int, ...]] = {}
_CA_BLOCKS = (b"CERTIFICATE", b"TRUSTED CERTIFICATE", b"X509 CRL")


def _pem_bundle(path: str) -> bool:
    """Whether `path` is a readable file of well-formed PEM blocks, at least one a certificate or
    CRL: what OpenSSL refuses at construction otherwise (missing, a directory, unreadable, empty,
    not PEM, truncated). Checked once per identity of the file (inode, size, times)."""
    try:
        info = os.stat(path)
        identity = (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)
        if not stat.S_ISREG(info.st_mode):
            return False
        if _pem_files.get(path) == identity:
            return True
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return False
    labels = set()
    for block in data.split(b"-----BEGIN ")[1:]:
        label, begun, rest = block.partition(b"-----")
        body, ended, _ = rest.partition(b"-----END " + label + b"-----")
        if not (label and begun and ended):
            return False
        try:
            base64.b64decode(b"".join(body.split()), validate=True)
        except ValueError:  # binascii.Error
            return False
        labels.add(label)
    if labels.isdisjoint(_CA_BLOCKS):
        return False
    if len(_pem_files) >= 64:
        _pem_files.clear()
    _pem_files[path] = identity
    return True


def _skipping_unbuilt(method: Any, name: str) -> Any:
    """`method` (close, enter, exit), doing nothing on a transport that has no pool yet: closing a
    pool that never opened a connection does nothing either."""
    returns_self = name in _RETURNS_SELF
    wrapper: Any
    if inspect.iscoroutinefunction(method):

        @functools.wraps(method)
        async def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            if unbuilt(self):
                return self if returns_self else None
            return await method(self, *args, **kwargs)

    else:

        @functools.wraps(method)
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            if unbuilt(self):
                return self if returns_self else None
            return method(self, *args, **kwargs)

    wrapper._llm_cassette = True
    return wrapper
