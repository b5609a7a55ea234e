"""Fault injection: make a chosen call fail the way a real provider fails, without recording a failure.

    from llm_cassette import faults

    @pytest.mark.llm_cassette(faults=[faults.rate_limit(call=1)])
    def test_rate_limit_is_retried(): ...

A fault applies to the `call`-th request the test sends (1-based, counting only requests whose
path contains `path` when given) and to the `times - 1` requests after it (`times=None`: every
request from `call` on). HTTP faults answer without consuming a recorded interaction, so an SDK's
retry replays the recorded success; `drop` serves the first chunks of the matching recorded
response and then breaks the connection.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

from .core.models import Chunk, Headers, Interaction, Request, Response, TransportFailure, header_value

__all__ = [
    "Fault",
    "connect_error",
    "drop",
    "overloaded",
    "rate_limit",
    "server_error",
    "timeout",
]


@dataclass(frozen=True)
class Fault:
    """One injected failure. Build it with the functions of this module."""

    kind: str
    call: int = 1
    times: int | None = 1
    status: int = 0
    retry_after: float | None = None
    error_type: str = ""
    after_chunks: int = 0
    path: str | None = None

    def __post_init__(self) -> None:
        if self.call < 1:
            raise ValueError(f"fault call numbers start at 1, not {self.call}")
        if self.times is not None and self.times < 1:
            raise ValueError(f"fault times must be at least 1 (or None for every call), not {self.times}")

    def applies(self, n: int) -> bool:
        """Whether this fault hits the n-th counted call (1-based)."""
        return n >= self.call and (self.times is None or n < self.call + self.times)

    def counts(self, request: Request) -> bool:
        return self.path is None or self.path in request.url

    @property
    def consumes_recording(self) -> bool:
        return self.kind == "drop"


def rate_limit(call: int = 1, *, times: int | None = 1, retry_after: float = 1.0, path: str | None = None) -> Fault:
    """HTTP 429 with `retry-after` (and `retry-after-ms`) and the provider's error body."""
    return Fault("http", call, times, status=429, retry_after=retry_after, path=path)


def server_error(status: int = 500, call: int = 1, *, times: int | None = 1, path: str | None = None) -> Fault:
    """An HTTP 5xx (500, 502, 503, 504, or Anthropic's 529) with the provider's error body."""
    if not 500 <= status <= 599:
        raise ValueError(f"server_error status must be 5xx, not {status}")
    return Fault("http", call, times, status=status, path=path)


def overloaded(call: int = 1, *, times: int | None = 1, path: str | None = None) -> Fault:
    """Anthropic's 529 `overloaded_error`."""
    return Fault("http", call, times, status=529, path=path)


def timeout(call: int = 1, *, times: int | None = 1, phase: str = "read", path: str | None = None) -> Fault:
    """A client-side timeout: `ReadTimeout` (phase="read"), `ConnectTimeout` ("connect") or
    `WriteTimeout` ("write"), raised by the same HTTP stack the caller uses."""
    names = {
        "read": "ReadTimeout",
        "connect": "ConnectTimeout",
        "write": "WriteTimeout",
        "pool": "PoolTimeout",
    }
    if phase not in names:
        raise ValueError(f"timeout phase must be one of {sorted(names)}, not {phase!r}")
    return Fault("error", call, times, error_type=names[phase], path=path)


def connect_error(call: int = 1, *, times: int | None = 1, path: str | None = None) -> Fault:
    """`ConnectError`: the host refused or could not be reached."""
    return Fault("error", call, times, error_type="ConnectError", path=path)


def drop(after_chunks: int = 3, call: int = 1, *, times: int | None = 1, path: str | None = None) -> Fault:
    """Serve the first `after_chunks` chunks of the recorded response, then drop the connection
    (`RemoteProtocolError`, as when a peer closes mid-stream)."""
    if after_chunks < 0:
        raise ValueError(f"after_chunks must be >= 0, not {after_chunks}")
    return Fault("drop", call, times, after_chunks=after_chunks, path=path)


# --- building what the caller sees ------------------------------------------------------------

#: What a `drop` fault shows a recording caller after its first chunks (each stack raises it as
#: its own class for a peer that closed the connection).
DROPPED = TransportFailure("RemoteProtocolError", "peer closed connection (injected by llm-cassette)")

_OPENAI_ERRORS = {
    429: ("rate_limit_exceeded", "requests", "Rate limit reached (injected by llm-cassette)."),
    500: ("server_error", "server_error", "The server had an error (injected by llm-cassette)."),
}
_ANTHROPIC_ERRORS = {
    429: "rate_limit_error",
    529: "overloaded_error",
}


def _is_anthropic(request: Request) -> bool:
    # Every Anthropic SDK request carries `anthropic-version`; fall back to the API's paths.
    if header_value(request.headers, "anthropic-version") is not None:
        return True
    return request.path.startswith("/v1/messages") or "anthropic.com" in request.url


def http_fault_interaction(fault: Fault, request: Request) -> Interaction:
    """The response a real provider would give for this HTTP fault."""
    status = fault.status
    headers: list[tuple[str, str]] = [("content-type", "application/json")]
    if fault.retry_after is not None:
        headers.append(("retry-after", str(max(1, math.ceil(fault.retry_after)))))
        headers.append(("retry-after-ms", str(int(fault.retry_after * 1000))))
    if _is_anthropic(request):
        etype = _ANTHROPIC_ERRORS.get(status, "api_error")
        body = {"type": "error", "error": {"type": etype, "message": f"{etype} (injected by llm-cassette)"}}
    else:
        code, etype, message = _OPENAI_ERRORS.get(status, _OPENAI_ERRORS[500])
        body = {"error": {"message": message, "type": etype, "param": None, "code": code}}
    payload = json.dumps(body).encode()
    headers.append(("content-length", str(len(payload))))
    hdrs: Headers = tuple(headers)
    return Interaction(request=request, response=Response(status=status, headers=hdrs, body=payload))


def error_fault_interaction(fault: Fault, request: Request) -> Interaction:
    return Interaction(
        request=request,
        error=TransportFailure(fault.error_type, f"{fault.error_type} (injected by llm-cassette)"),
    )


def drop_interaction(fault: Fault, recorded: Interaction) -> Interaction:
    """The recorded response cut after `after_chunks` chunks and ended by a dropped connection."""
    failure = TransportFailure(
        "RemoteProtocolError",
        "peer closed connection without sending complete message body (injected by llm-cassette)",
    )
    resp = recorded.response
    if resp is None:
        return Interaction(request=recorded.request, error=failure)
    chunks = resp.chunks if resp.chunks is not None else (Chunk(resp.body, resp.t),) if resp.body else ()
    kept = chunks[: fault.after_chunks]
    headers = tuple((k, v) for k, v in resp.headers if k.lower() != "content-length")
    return Interaction(
        request=recorded.request,
        response=Response(status=resp.status, headers=headers, chunks=kept, error=failure, t=resp.t),
    )


class FaultSet:
    """The faults of one session, counting the requests each watches.

    `hit(request)` is asked once per request: every fault counts every request it watches,
    whether or not an earlier fault answers it; the first fault whose turn it is answers.
    """

    def __init__(self, faults: tuple[Fault, ...]) -> None:
        self.faults = faults
        self._calls = [0] * len(faults)

    def __bool__(self) -> bool:
        return bool(self.faults)

    def hit(self, request: Request) -> Fault | None:
        hit: Fault | None = None
        for i, fault in enumerate(self.faults):
            if not fault.counts(request):
                continue
            self._calls[i] += 1
            if hit is None and fault.applies(self._calls[i]):
                hit = fault
        return hit

    @staticmethod
    def answer(fault: Fault, request: Request) -> Interaction:
        """What an HTTP or error fault answers, without any recording (not for `drop`)."""
        if fault.kind == "http":
            return http_fault_interaction(fault, request)
        return error_fault_interaction(fault, request)


#: The fault set of a session with no faults (most of them): it has nothing to count, so one
#: serves them all.
NO_FAULTS = FaultSet(())
