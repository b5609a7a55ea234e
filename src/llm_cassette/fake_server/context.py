"""The common prelude of every endpoint: parse the body, apply the knobs (delay, failure), answer."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from .errors import error_response
from .knobs import KnobError, Knobs, parse_knobs
from .replies import CREATED, JSONDict, sha256_hex
from .state import fail_counts

__all__ = ["Handler", "RequestContext", "bad_request", "handle"]


def echo_fields(request: Request, knobs: Knobs) -> JSONDict:
    """The request's headers and query to add to the answer when the echo knob is on."""
    if not knobs.echo_headers:
        return {}
    return {
        "echo_headers": {key: value for key, value in request.headers.items()},
        "echo_query": request.url.query,
    }


async def sleep_unless_disconnected(request: Request, seconds: float) -> bool:
    """Sleep, waking early when the client goes away; returns True if it did."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        remaining = deadline - loop.time()
        if remaining <= 0:
            return False
        await asyncio.sleep(min(remaining, 0.02))
        if await request.is_disconnected():
            return True


@dataclass
class RequestContext:
    """One request as the answer functions see it: parsed body, knobs, digest, echo fields."""

    request: Request
    body: JSONDict
    knobs: Knobs
    digest: str
    echo: JSONDict

    @property
    def model(self) -> str:
        model = self.body.get("model")
        return model if isinstance(model, str) else ""

    def ident(self, prefix: str, length: int = 24) -> str:
        return f"{prefix}{self.digest[:length]}"

    @property
    def request_id(self) -> str:
        return self.ident("req_")

    @property
    def created(self) -> int:
        """The answer's `created` time: fixed, a day later under the ``ids`` drift."""
        return CREATED + 86_400 if "ids" in self.knobs.drift else CREATED

    @property
    def fingerprint(self) -> str:
        return "fp_fake2" if "ids" in self.knobs.drift else "fp_fake"


Handler = Callable[[RequestContext], Response]


async def handle(request: Request, handler: Handler, *, needs_body: bool = True) -> Response:
    """Common prelude of every endpoint: parse, apply knobs (delay, failure), then answer."""
    raw = await request.body()
    digest = sha256_hex(raw)
    body: JSONDict = {}
    if needs_body:
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict):
            return error_response(
                request, 400, "The request body must be a JSON object.", request_id=f"req_{digest[:24]}"
            )
        body = parsed
    try:
        knobs = parse_knobs(request.headers, body.get("model"), request.app.state.default_knobs)
    except KnobError as exc:
        return error_response(request, 400, str(exc), request_id=f"req_{digest[:24]}")
    if "ids" in knobs.drift:  # the same answer under new ids, as from another deployment
        digest = sha256_hex(raw + b"\0drift")
    ctx = RequestContext(request=request, body=body, knobs=knobs, digest=digest, echo=echo_fields(request, knobs))
    if knobs.first_byte_delay_ms and await sleep_unless_disconnected(request, knobs.first_byte_delay_ms / 1000):
        return Response(status_code=499)  # nobody is listening any more
    if knobs.fail_status is not None:
        fail = True
        if knobs.fail_times is not None:
            counts = fail_counts(cast(FastAPI, request.app))
            key = (request.url.path, knobs.fail_spec, knobs.scenario)
            seen = counts.get(key, 0)
            counts[key] = seen + 1
            fail = seen < knobs.fail_times
        if fail:
            return error_response(
                request,
                knobs.fail_status,
                retry_after_ms=knobs.retry_after_ms,
                extra=ctx.echo,
                request_id=ctx.request_id,
            )
    try:
        return handler(ctx)
    except KnobError as exc:
        return error_response(request, 400, str(exc), request_id=ctx.request_id)


def bad_request(ctx: RequestContext, message: str, param: str | None = None) -> JSONResponse:
    """A 400 in the provider's error shape."""
    return error_response(ctx.request, 400, message, param=param, extra=ctx.echo, request_id=ctx.request_id)
