"""Request headers that never matter for matching or replay, and are not stored by default.

The SDKs send a dozen of them with every request (`x-stainless-*`: OS, architecture, runtime and
package versions, retry count, timeout), plus version strings (`user-agent`), framing
(`content-length`) and connection management. Stored, they make every re-recording and SDK
upgrade a wall of changed lines; nothing reads them back. `keep_volatile_headers=True` keeps them.
"""

from __future__ import annotations

from .models import Headers, Request

VOLATILE_REQUEST_HEADERS = frozenset(
    {
        "user-agent",
        "content-length",
        "host",
        "connection",
        "keep-alive",
        "proxy-connection",
        "transfer-encoding",
        "te",
        "upgrade",
        "accept-encoding",
        "idempotency-key",
    }
)
VOLATILE_REQUEST_PREFIXES = ("x-stainless-",)


def is_volatile_request_header(name: str) -> bool:
    lname = name.lower()
    return lname in VOLATILE_REQUEST_HEADERS or lname.startswith(VOLATILE_REQUEST_PREFIXES)


#: What `without_volatile_headers` returned, by its argument: a client sends the same headers
#: with every request, so replaying filters each set once (bounded: cleared when full).
_kept: dict[Headers, Headers] = {}
_KEPT_MAX = 512


def without_volatile_headers(headers: Headers) -> Headers:
    kept = _kept.get(headers)
    if kept is None:
        kept = tuple((k, v) for k, v in headers if not is_volatile_request_header(k))
        if len(kept) == len(headers):
            kept = headers
        if len(_kept) >= _KEPT_MAX:
            _kept.clear()
        _kept[headers] = kept
    return kept


def strip_volatile_headers(request: Request) -> Request:
    """`request` without the headers that are not stored (the same object when there are none)."""
    kept = without_volatile_headers(request.headers)
    if len(kept) == len(request.headers):
        return request
    return Request(request.method, request.url, kept, request.body)
