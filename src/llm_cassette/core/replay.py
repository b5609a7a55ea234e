"""What a replayed response carries, the same for every HTTP stack."""

from __future__ import annotations

from .models import Headers, Response

# Statuses after which SDKs back off before retrying; replayed with a near-zero `retry-after-ms`.
RETRYABLE_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504, 529})


def replay_headers(resp: Response, *, keep_retry_headers: bool) -> Headers:
    """The recorded headers, with an SDK's back-off shortened after a retryable status.

    SDKs honour `retry-after-ms` before `retry-after`: 1 ms makes the recorded back-off
    near-instant without changing what else the caller sees.
    """
    if resp.status not in RETRYABLE_STATUSES or keep_retry_headers:
        return resp.headers
    headers = [(k, v) for k, v in resp.headers if k.lower() != "retry-after-ms"]
    headers.append(("retry-after-ms", "1"))
    return tuple(headers)
