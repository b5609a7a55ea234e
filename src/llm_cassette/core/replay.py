"""What a replayed response carries, the same for every HTTP stack."""

from __future__ import annotations

import time
import warnings
from dataclasses import replace
from typing import TYPE_CHECKING

from ..errors import ReplayTimingWarning
from . import jsonrpc
from .models import Chunk, Interaction, Request, Response, header_map, header_value
from .recording import is_final_chunk, is_stream_content_type

if TYPE_CHECKING:  # the session module imports this one
    from .session import Plan, Session

# Statuses after which SDKs back off before retrying.
RETRYABLE_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504, 529})


def shorten_backoff(interaction: Interaction) -> Interaction:
    """The interaction with an SDK's back-off made near-instant, after a retryable status.

    Only for a response the cassette shows was retried (or an injected fault): SDKs honour
    `retry-after-ms` before `retry-after`, so `retry-after-ms: 1` skips the recorded wait and
    leaves `retry-after` as the server sent it. Every other response replays its headers exactly.
    """
    resp = interaction.response
    if resp is None or resp.status not in RETRYABLE_STATUSES:
        return interaction
    headers = [(k, v) for k, v in resp.headers if k.lower() != "retry-after-ms"]
    headers.append(("retry-after-ms", "1"))
    return replace(interaction, response=replace(resp, headers=tuple(headers)))


def replay_chunks(resp: Response) -> tuple[Chunk, ...]:
    """The chunks a stack replays: as recorded, or a whole body as one chunk (none when empty)."""
    if resp.chunks is not None:
        return resp.chunks
    return (Chunk(resp.body, resp.t),) if resp.body else ()


#: The longest one replayed part (headers, a chunk) waits with `replay_timing`, in seconds: the
#: OpenAI and Anthropic SDKs' default timeout; a real server could not have kept them waiting longer.
MAX_REPLAY_WAIT = 600.0


class ReplayClock:
    """When each part of a replayed response is due with `replay_timing`: at its recorded time
    (milliseconds since the request was sent) times `scale`.

    No single wait is longer than `cap` (the caller's read timeout, at most `MAX_REPLAY_WAIT`): a
    hand-edited `t: 1.0e+12` would otherwise sleep for decades. A clamped wait moves the later
    parts along with it, so they keep their recorded gaps, and says so once with a
    `ReplayTimingWarning` naming the interaction.
    """

    def __init__(self, scale: float, *, cap: float | None, where: str) -> None:
        self.scale = scale
        self.cap = MAX_REPLAY_WAIT if cap is None else min(cap, MAX_REPLAY_WAIT)
        self.where = where
        self.origin = time.perf_counter()
        self._warned = False

    def wait_for(self, t: float) -> float:
        """Seconds to wait now before the part recorded at `t` ms (0 or less: it is due)."""
        delay = self.origin + t * self.scale / 1000.0 - time.perf_counter()
        if delay > self.cap:
            self.origin -= delay - self.cap
            if not self._warned:
                self._warned = True
                warnings.warn(
                    ReplayTimingWarning(
                        f"{self.where} waits {t:g} ms (replay_timing={self.scale:g}); waiting {self.cap:g} s "
                        "instead, the longest the caller would have waited (its read timeout, at most "
                        f"{MAX_REPLAY_WAIT:g} s)"
                    ),
                    stacklevel=2,
                )
            delay = self.cap
        return delay

    def headers_wait(self, interaction: Interaction) -> float:
        """Seconds to wait now before the response's status and headers (0 or less: they are due)."""
        resp = interaction.response
        return self.wait_for(resp.t) if resp is not None else 0.0


def replay_clock(session: Session, plan: Plan, cap: float | None = None) -> ReplayClock | None:
    """The clock of one replayed response, or None when `replay_timing` is off (the default:
    replay as fast as possible, nothing timed). `cap`: the caller's read timeout, if known."""
    scale = session.options.replay_timing
    if not scale:
        return None
    which = f"interaction #{plan.index + 1}" if plan.index is not None else "an injected fault"
    return ReplayClock(scale, cap=cap, where=f"{session.path}: {which}")


# A session id the server hands out at initialisation (MCP's streamable HTTP): the client sends it
# back with every request and never expects another one.
SESSION_HEADERS = ("mcp-session-id",)


def answer_for(interaction: Interaction, sent: Request, *, with_ids: bool = True) -> Interaction:
    """The recorded `interaction` as the answer to `sent`: JSON-RPC responses carry the ids `sent`
    used, and a session id header the one it sent (a cassette may hold calls recorded by another
    session). The interaction itself when nothing differs.

    `with_ids=False`: the recorded request is known to carry no JSON-RPC id (decided at load,
    `MatchIndex.with_ids`), so there is no id to rewrite.
    """
    if with_ids:
        interaction = jsonrpc.answer_with_sent_ids(interaction, sent)
    resp = interaction.response
    if resp is None or not sent.headers:
        return interaction
    sent_headers = header_map(sent.headers)
    for name in SESSION_HEADERS:
        session_id = sent_headers.get(name)
        if session_id is None:
            continue
        recorded = header_value(resp.headers, name)
        if recorded is not None and recorded != session_id:
            headers = tuple((k, session_id if k.lower() == name else v) for k, v in resp.headers)
            interaction = replace(interaction, response=replace(resp, headers=headers))
    return interaction


def stays_open(interaction: Interaction) -> bool:
    """Whether a replayed (async) event stream stays open after its last chunk until the caller
    closes it.

    Only an event stream (`text/event-stream`, and the other long-lived streaming types of
    `STREAM_CONTENT_TYPES`: NDJSON, JSON Lines, JSON text sequences, AWS eventstream) that the
    client cut while recording, or a GET event stream that ended without a final event: a feed
    the server kept open for the session (MCP's GET stream) and closed only as the session ended.
    Ending it early in replay would make the client reconnect. Any other body whose download was
    cut ends where the recording does: nothing would ever arrive to end the wait.
    """
    resp = interaction.response
    if resp is None or resp.error is not None or resp.chunks is None:
        return False
    if resp.cut:
        return is_stream_content_type(resp.content_type)
    # Checked in this order so that a whole stream (the usual replay) costs no header lookup.
    feed = interaction.request.method.upper() == "GET" and resp.content_type == "text/event-stream"
    return feed and not (resp.chunks and is_final_chunk(resp.chunks[-1].data))
