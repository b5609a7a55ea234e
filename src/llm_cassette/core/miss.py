"""Explaining a miss: the cassette, the request, the closest recording and how they differ."""

from __future__ import annotations

from pathlib import Path

from .interactions import InteractionList
from .models import Request
from .options import RecordMode
from .redaction import Redactor

DEFAULT_HINT = (
    "run again with record_mode='new_episodes' (or LLM_CASSETTE_RECORD_MODE=new_episodes) to record "
    "what is missing, or 'all' to record the cassette from scratch"
)


def miss_message(
    *,
    path: Path,
    mode: RecordMode,
    request: Request,
    redactor: Redactor,
    recorded: InteractionList,
    existed: bool,
    hint: str,
    why: str | None = None,
    record_hint: str | None = None,
    read_only: bool = False,
) -> str:
    """The miss's explanation: the cassette, the request, why nothing matched, and what to do.

    `hint` says how to re-record a cassette that holds recordings; `record_hint` (default: `hint`)
    how to record one that was never recorded. A `read_only` cassette is never written, so the
    message says what to do instead of recording.
    """
    lines = [f"llm-cassette: no recorded interaction matches this request ({mode.value} mode)"]
    lines.append(f"  cassette: {path}")
    # The message lands in CI logs: show the request as it would be recorded, secrets redacted.
    shown = redactor.request_for_matching(request, headers=recorded.rules.reads_headers)
    lines.append(f"  request:  {request.method} {shown.url}")
    if request.body:
        body = shown.body[:300].decode("utf-8", "replace")
        lines.append(f"            {body}{'…' if len(request.body) > 300 else ''}")
    if why:
        lines.append(f"  why:      {why}")
    elif not existed:
        lines.append("  why:      the cassette file does not exist")
    elif not len(recorded):
        lines.append("  why:      the cassette holds no interactions")
    else:
        same = recorded.same_requests(shown)
        if same:
            lines.append(
                f"  why:      this request was recorded {len(same)} time(s) and the test sent it again "
                "(set allow_playback_repeats=True to replay the last one)"
            )
        else:
            rules, items = recorded.rules, recorded.items
            best = max(range(len(items)), key=lambda i: rules.closeness(shown, items[i].request))
            rec = items[best].request
            lines.append(f"  closest:  interaction #{best + 1}: {rec.method} {rec.url}")
            for d in rules.differences(shown, rec):
                lines.append(f"  differs:  {d}")
    if read_only:
        lines.append(
            "This test uses the cassette read_only (it replays it and never writes it), so recording "
            "cannot add this request: record it in the test that owns the cassette (without read_only), "
            "or remove read_only from this test"
        )
    elif not existed or not len(recorded):
        lines.append(f"To record: {record_hint or hint}")
    else:
        lines.append(f"To re-record: {hint}")
    return "\n".join(lines)
