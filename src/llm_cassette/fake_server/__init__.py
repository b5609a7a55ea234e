"""A deterministic fake OpenAI/Anthropic-compatible LLM server.

This is the real upstream used by llm-cassette's own tests, benchmarks and demo
(``llm-cassette fake-server --port N``).  It speaks just enough of both wire
protocols for the official ``openai`` and ``anthropic`` SDKs to work against it
unchanged:

* ``POST /v1/chat/completions`` -- OpenAI chat completions (text, tool calls,
  ``response_format`` JSON, and SSE streaming with ``stream_options.include_usage``),
* ``POST /v1/embeddings`` -- deterministic vectors, ``encoding_format`` float or base64,
* ``GET /v1/models`` -- a model list (Anthropic shape when an ``anthropic-version`` header is sent),
* ``POST /v1/responses`` -- a minimal, non-streamed OpenAI Responses API reply,
* ``POST /v1/messages`` -- Anthropic messages (text, tool use, and the full SSE event sequence),
* ``POST /v1/messages/count_tokens`` -- Anthropic token counting.

Every answer is a pure function of the request: the reply text is ``"Echo: <last user
text>"`` unless the text matches one of a few canned questions ("capital of France"...),
ids are derived from a sha256 of the request body, ``created`` is a constant, and token
counts are word counts.

Failure and timing behaviour is selected per request with *knobs*, given either as
``x-fake-*`` request headers or as ``+token`` suffixes of the ``model`` name (for SDK users
who cannot easily set headers); a header wins over the same knob in the model name:

=================================  ====================  ===========================================
header                             model suffix          effect
=================================  ====================  ===========================================
``x-fake-fail: 429x2``             ``+fail429x2``        first 2 matching requests answer 429, then OK
``x-fake-fail: 500``               ``+fail500``          always answer 500 (any status 400-599 works)
``x-fake-scenario: name``          ``+scenario=name``    separate fail counter for this scenario
``x-fake-retry-after-ms: 1000``    ``+retryafter1000``   ``retry-after(-ms)`` headers sent on failures
``x-fake-first-byte-delay-ms: N``  ``+slowN``            sleep N ms before the response headers
``x-fake-chunk-delay-ms: N``       ``+delayN``           sleep N ms between SSE events
``x-fake-drop-after: N``           ``+dropN``            send N SSE events, then drop the connection
``x-fake-chunks: N``               ``+chunksN``          exactly N content (or argument) delta events
``x-fake-echo-headers: 1``         ``+echo``             add ``echo_headers``/``echo_query`` to the JSON
``x-fake-drift: reword,tools``     ``+drift=reword``     answer as a changed provider (:mod:`.drift`)
=================================  ====================  ===========================================

:meth:`FakeServer.set_default_knobs` (or ``POST /_fake/knobs``) sets knobs for every request
that does not set them itself: a test can make "the provider" change without touching the client.

Suffix tokens may also be written ``+delay=50``.  The model is always echoed back exactly
as sent, suffix included.  Fail counters are kept per app, keyed by (path, fail spec,
scenario); ``POST /_fake/reset`` (or :meth:`FakeServer.reset`) clears them.  Injected
failures carry ``retry-after: 1`` and ``retry-after-ms: 1000`` (unless overridden) and the
provider's error body (Anthropic's for ``/v1/messages``, OpenAI's elsewhere).

``drop`` counts every SSE event written, including the OpenAI role chunk, Anthropic's
``ping`` and ``data: [DONE]``; it only affects streamed answers.  The drop is real: the
body generator raises, uvicorn closes the socket without the terminating zero-length
chunk, and httpx/httpx2 raise ``RemoteProtocolError("peer closed connection without
sending complete message body (incomplete chunked read)")`` (uvicorn's traceback for it
is filtered out of the ``uvicorn.error`` log).  ``chunks`` groups the reply's words into
exactly N deltas, or pads it by repeating its words when it is shorter than N words.
``max_tokens`` / ``max_completion_tokens`` truncate text replies to that many words
(``finish_reason: "length"`` / ``stop_reason: "max_tokens"``).

``app.state.request_count`` and ``app.state.requests`` (a list of ``(method, path)``)
count every request except the ``/_fake/*`` control endpoints; ``GET /_fake/stats``
returns ``{"requests": N}``.

:class:`FakeServer` runs the app with uvicorn in a background thread (for tests) and
:func:`serve` runs it in the foreground (for the CLI).  This package needs the ``server``
extra (fastapi and uvicorn).
"""

from __future__ import annotations

from .app import create_app
from .knobs import Knobs, parse_knobs
from .openai_routes import DEFAULT_EMBEDDING_DIMENSIONS
from .replies import CREATED, MODELS
from .runner import FakeServer, serve

__all__ = [
    "CREATED",
    "DEFAULT_EMBEDDING_DIMENSIONS",
    "MODELS",
    "FakeServer",
    "Knobs",
    "create_app",
    "parse_knobs",
    "serve",
]
