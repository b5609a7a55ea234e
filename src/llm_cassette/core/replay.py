"""What a replayed response carries, the same for every HTTP stack."""

from __future__ import annotations

from dataclasses import replace

from .models import Headers, Interaction, Response

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


def replay_headers(resp: Response, *, keep_retry_headers: bool = False) -> Headers:
    """The headers a stack replays: as in the plan's interaction (see `shorten_backoff`)."""
    return resp.headers
