"""Each tool, driven the way its documentation says, for one HTTP stack.

A *stack* is how the caller sends: raw `httpx`, raw `httpx2`, or the `openai` SDK (which sends
through `httpx2`). `replay_context(tool, stack, ...)` returns the tool's context manager, and
`client(tool, stack, ...)` the client to send with: the floor gets a `MockTransport` returning the
same bytes, every other tool a default client whose real transport the tool intercepts.
`supports(tool, stack)` says what a tool cannot do, which the report prints as "n/a".

pytest-httpx only exists as a pytest fixture; `pytest_httpx_mock()` performs exactly what that
fixture does (an `HTTPXMock` behind a patched `httpx.HTTPTransport.handle_request`), so its
request path is the one a test sees.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any, cast

import cassetter
import httpx
import httpx2
import openai
import respx
import vcr

from llm_cassette import use_cassette

from ._corpus import FAKE_KEY, Recorded

FLOOR = "MockTransport (floor)"
TOOLS = (FLOOR, "llm-cassette", "vcrpy", "cassetter", "respx", "pytest-httpx")
STACKS = ("httpx", "httpx2", "openai SDK")

# Why a tool cannot take part, per stack.
NOT_SUPPORTED = {
    ("respx", "httpx2"): "patches httpx only",
    ("respx", "openai SDK"): "patches httpx only (the SDK sends through httpx2)",
    ("pytest-httpx", "httpx2"): "patches httpx only",
    ("pytest-httpx", "openai SDK"): "patches httpx only (the SDK sends through httpx2)",
}


def supports(tool: str, stack: str) -> bool:
    return (tool, stack) not in NOT_SUPPORTED


def module_of(stack: str) -> Any:
    return httpx if stack == "httpx" else httpx2


@contextlib.contextmanager
def pytest_httpx_mock(configure: Callable[[Any], None]) -> Iterator[Any]:
    """What the `httpx_mock` fixture does around a test (pytest_httpx/__init__.py), minus pytest."""
    from pytest_httpx import HTTPXMock
    from pytest_httpx._options import _HTTPXMockOptions

    options = _HTTPXMockOptions()
    mock = HTTPXMock(options)
    real_sync = httpx.HTTPTransport.handle_request

    def mocked_handle_request(transport: httpx.HTTPTransport, request: httpx.Request) -> httpx.Response:
        if options.should_mock(request):
            return mock._handle_request(transport, request)
        return real_sync(transport, request)

    httpx.HTTPTransport.handle_request = mocked_handle_request  # type: ignore[method-assign, assignment]
    try:
        configure(mock)
        yield mock
    finally:
        httpx.HTTPTransport.handle_request = real_sync  # type: ignore[method-assign]
        mock.reset()


def _respx_router(url: str, respond: Callable[[httpx.Request], httpx.Response]) -> AbstractContextManager[Any]:
    router = respx.mock(assert_all_called=False, assert_all_mocked=True)
    router.post(url).mock(side_effect=respond)
    return router


def replay_context(
    tool: str,
    cassette: str | None,
    *,
    url: str,
    response: Recorded,
    stream: bool = False,
    match_body: bool = False,
    repeats: bool = True,
) -> AbstractContextManager[Any]:
    """The tool's context that answers `url` (from `cassette` for the record/replay tools).

    `repeats` lets one recorded interaction answer every request of a loop (vcrpy's and
    llm-cassette's `allow_playback_repeats`; cassetter and the mocking libraries repeat anyway).
    `match_body` makes the request body part of the match for vcrpy and cassetter, whose
    defaults ignore it (llm-cassette matches the body by default).
    """
    if tool == FLOOR:
        return contextlib.nullcontext()
    if tool == "llm-cassette":
        assert cassette is not None
        return use_cassette(cassette, record_mode="none", allow_playback_repeats=repeats)
    if tool == "vcrpy":
        assert cassette is not None
        match_on = ("method", "uri", "body") if match_body else ("method", "scheme", "host", "port", "path", "query")
        ctx = vcr.VCR(record_mode="none").use_cassette(cassette, allow_playback_repeats=repeats, match_on=match_on)
        return cast("AbstractContextManager[Any]", ctx)
    if tool == "cassetter":
        assert cassette is not None
        return cassetter.use_cassette(
            cassette, record_mode="none", match_on=["method", "uri", "body"] if match_body else None
        )
    if tool == "respx":
        return _respx_router(url, lambda request: mock_response(httpx, response, stream))
    if tool == "pytest-httpx":
        if stream:
            from pytest_httpx import IteratorStream

            return pytest_httpx_mock(
                lambda m: m.add_response(
                    url=url,
                    status_code=response.status,
                    headers=_no_length(response.headers),
                    stream=IteratorStream(response.chunks),
                    is_reusable=True,
                )
            )
        return pytest_httpx_mock(
            lambda m: m.add_response(
                url=url,
                status_code=response.status,
                headers=_no_length(response.headers),
                content=response.body,
                is_reusable=True,
            )
        )
    raise ValueError(tool)


def _no_length(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    # httpx.Response(content=...) sets content-length itself; a second copy would be a duplicate.
    return [(k, v) for k, v in headers if k.lower() not in ("content-length", "transfer-encoding")]


def mock_response(module: Any, response: Recorded, stream: bool) -> Any:
    """A fresh response carrying the recorded bytes (as the recorded chunks when `stream`)."""
    if stream:
        return module.Response(response.status, headers=_no_length(response.headers), content=iter(response.chunks))
    return module.Response(response.status, headers=_no_length(response.headers), content=response.body)


def client(tool: str, stack: str, response: Recorded, *, base_url: str, stream: bool = False) -> Any:
    """The object the caller sends through: an httpx/httpx2 client, or an `openai.OpenAI`.

    The SDK builds its own default client for the tools; the floor gets the SDK's
    `DefaultHttpxClient` (same defaults) over a `MockTransport`.
    """
    module = module_of(stack)
    transport = None
    if tool == FLOOR:

        def handler(request: Any) -> Any:
            request.read()
            return mock_response(module, response, stream)

        transport = module.MockTransport(handler)
    if stack == "openai SDK":
        http = openai.DefaultHttpxClient(transport=transport) if transport is not None else None
        return openai.OpenAI(base_url=base_url + "/v1", api_key=FAKE_KEY, max_retries=0, http_client=http)
    return module.Client(transport=transport) if transport is not None else module.Client()
