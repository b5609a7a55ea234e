"""The report's HTML pieces: one interaction as a transcript entry, one cassette as a section, the index.

Everything recorded is untrusted text: it goes through `escape` wherever it appears.
"""

from __future__ import annotations

import html
import json
from collections import Counter
from pathlib import Path

from ..describe import LLMView, Message
from .model import CassetteReport, Entry, format_ms

# Recorded texts longer than this are shortened on the page (the cassette keeps everything).
MAX_TEXT = 20_000


def escape(value: object) -> str:
    return html.escape(str(value), quote=True)


def _plural(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _pretty_json(text: str) -> str:
    """Tool arguments: compact when short, indented when long, as recorded when not JSON."""
    try:
        parsed = json.loads(text)
        compact = json.dumps(parsed, ensure_ascii=False)
        return compact if len(compact) <= 100 else json.dumps(parsed, ensure_ascii=False, indent=2)
    except (ValueError, RecursionError):  # not JSON, or nested too deep to indent
        return text


def _param(value: object) -> str:
    try:
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    except RecursionError:
        text = "(nested too deep to show)"
    return _short(text, 60)


def _status_chips(statuses: Counter[str]) -> str:
    chips = []
    for status, n in sorted(statuses.items()):
        kind = "ok" if status.isdigit() and int(status) < 400 else "bad"
        chips.append(f'<span class="chip {kind}">{escape(status)}{f" &times;{n}" if n > 1 else ""}</span>')
    return " ".join(chips)


def _tokens_html(tokens: tuple[int, int]) -> str:
    if tokens == (0, 0):
        return '<span class="muted">&ndash;</span>'
    return f'{tokens[0]:,} <span class="muted">in</span> · {tokens[1]:,} <span class="muted">out</span>'


_ROLE_CLASS = {"system": "system", "developer": "system", "user": "user", "input": "user",
               "assistant": "assistant", "tool": "tool"}  # fmt: skip


def _message_html(m: Message, *, reply: bool = False) -> str:
    text = m.content
    if len(text) > MAX_TEXT:
        text = text[:MAX_TEXT] + f"\n… ({len(text) - MAX_TEXT:,} more characters in the cassette)"
    label = "assistant · reply" if reply else m.role
    call_id = f" <code>{escape(m.tool_call_id)}</code>" if m.tool_call_id else ""
    parts = [
        f'<div class="msg role-{_ROLE_CLASS.get(m.role, "other")}{" reply" if reply else ""}">',
        f'<div class="role">{escape(label)}{call_id}</div>',
    ]
    if text:
        parts.append(f'<div class="text">{escape(text)}</div>')
    for call in m.tool_calls:
        cid = f" <code>{escape(call.id)}</code>" if call.id else ""
        parts.append(
            f'<div class="call"><span class="call-label">tool call</span> <span class="fn">{escape(call.name)}'
            f'</span>{cid}<pre class="args">{escape(_pretty_json(call.arguments))}</pre></div>'
        )
    if not text and not m.tool_calls:
        parts.append('<div class="text muted">(empty)</div>')
    parts.append("</div>")
    return "".join(parts)


def _chart_svg(view: LLMView) -> str:
    """Chunk arrival: x = ms since the request, y = chunks received so far."""
    times = view.chunk_times
    if not times:
        return ""
    w, h, left, right, top, bottom = 480, 128, 40, 14, 14, 28
    pw, ph, n = w - left - right, h - top - bottom, len(times)
    end = max(view.total_ms or 0.0, times[-1], 1e-6)

    def x(t: float) -> float:
        return left + pw * t / end

    def y(k: int) -> float:
        return top + ph * (1 - k / n)

    path = f"M{x(0):.1f},{y(0):.1f}" + "".join(f"H{x(t):.1f}V{y(k):.1f}" for k, t in enumerate(times, 1))
    first = times[0]
    # The label sits beside its marker, on whichever side has room.
    anchor, lx = ("end", x(first) - 5) if x(first) > left + pw * 0.6 else ("start", x(first) + 5)
    marks = ""
    if view.time_to_headers is not None:
        hx = x(view.time_to_headers)
        marks += f'<line class="hdr" x1="{hx:.1f}" y1="{top}" x2="{hx:.1f}" y2="{top + ph}"/>'
    err = view.error
    if err is not None and err.kind == "stream" and err.t is not None:
        dx, dy = x(err.t), y(n)
        marks += (
            f'<path class="drop" d="M{dx - 4:.1f},{dy - 4:.1f}l8,8m0,-8l-8,8"/>'
            f'<text class="drop-t" x="{dx - 8:.1f}" y="{dy + 14:.1f}" text-anchor="end">dropped</text>'
        )
    title = f"{n} chunks over {format_ms(times[-1])}; response headers at {format_ms(view.time_to_headers or 0)}"
    return (
        f'<svg class="chart" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" '
        f'aria-label="chunk arrival chart"><title>{escape(title)}</title>'
        f'<path class="axis" d="M{left},{top}V{top + ph}H{left + pw}"/>{marks}'
        f'<line class="ttfc" x1="{x(first):.1f}" y1="{top}" x2="{x(first):.1f}" y2="{top + ph}"/>'
        f'<path class="line" d="{path}"/>'
        f'<text class="ttfc-t" x="{lx:.1f}" y="{top + 10}" text-anchor="{anchor}">'
        f"first chunk {escape(format_ms(first))}</text>"
        f'<text x="{left - 5}" y="{top + 4}" text-anchor="end">{n}</text>'
        f'<text x="{left - 5}" y="{top + ph + 3}" text-anchor="end">0</text>'
        f'<text x="{left}" y="{h - 9}">0 ms</text>'
        f'<text x="{left + pw}" y="{h - 9}" text-anchor="end">{escape(format_ms(end))}</text>'
        f'<text x="{left + pw / 2:.0f}" y="{h - 9}" text-anchor="middle">ms since request</text>'
        f'<text x="12" y="{top + ph / 2:.0f}" text-anchor="middle" transform="rotate(-90 12 {top + ph / 2:.0f})">'
        "chunks</text></svg>"
    )


def _chart_caption(view: LLMView) -> str:
    times = view.chunk_times
    if not times:
        return ""
    parts = [f"{_plural(len(times), 'chunk')}", f"first {format_ms(times[0])}", f"last {format_ms(times[-1])}"]
    if view.time_to_headers is not None:
        parts.insert(1, f"headers {format_ms(view.time_to_headers)} (dotted)")
    return f'<div class="small">{escape(" · ".join(parts))}</div>'


def _attempt(entries: list[Entry], i: int) -> int:
    """How many failed identical requests came right before entry `i` (0: not a retry)."""
    n = 0
    for prev in reversed(entries[:i]):
        if prev.error is None or not prev.same_request(entries[i]):
            break
        n += 1
    return n


def _entry_html(entries: list[Entry], i: int, shown: list[Message], anchor: str) -> str:
    """One interaction; `shown` holds the turns already on the page for this conversation."""
    entry = entries[i]
    view, request = entry.view, entry.interaction.request
    retry = _attempt(entries, i)
    meta = [
        f'<span class="num">#{i + 1}</span>',
        f"<code>{escape(request.method)} {escape(_short(request.path, 80))}</code>",
    ]
    if view.model:
        meta.append(f'<span class="model">{escape(view.model)}</span>')
    meta.append(_status_chips(Counter([entry.status])))
    if view.streamed:
        meta.append(f'<span class="chip stream">streamed · {view.chunk_count} chunks</span>')
    if retry:
        meta.append(f'<span class="chip retry">retry {retry}</span>')
    if view.total_ms is not None:
        meta.append(f'<span class="muted">{escape(format_ms(view.total_ms))}</span>')
    if view.usage is not None:
        meta.append(
            f'<span class="muted">{view.usage.input_tokens:,} in · {view.usage.output_tokens:,} out tokens</span>'
        )
    parts = [
        f'<div class="ix{" has-error" if entry.error else ""}" id="{escape(anchor)}-{i + 1}">',
        f'<div class="meta">{" ".join(meta)}</div>',
    ]
    extra = ([f"tools: {', '.join(view.tools)}"] if view.tools else []) + [
        f"{k}={_param(v)}" for k, v in view.params.items()
    ]
    if extra:
        parts.append(f'<div class="params">{escape(" · ".join(extra))}</div>')
    messages = list(view.messages)
    if retry:
        parts.append(
            f'<div class="small">same request as #{i}, sent again'
            f" ({_plural(len(messages), 'message')} not repeated)</div>"
        )
    else:
        # A conversation's next request repeats the earlier turns: show only what is new.
        skip = len(shown) if shown and messages[: len(shown)] == shown else 0
        if skip:
            parts.append(f'<div class="small">… {_plural(skip, "earlier turn")} as above</div>')
        parts.extend(_message_html(m) for m in messages[skip:])
    reply = entry.reply
    if reply is not None:
        parts.append(_message_html(reply, reply=True))
    if view.api == "embeddings" and view.embeddings:
        dims = f" of {view.dimensions} dimensions" if view.dimensions else ""
        parts.append(f'<div class="note">{_plural(view.embeddings, "vector")}{escape(dims)}</div>')
    if view.stop_reason:
        parts.append(f'<div class="small">stop reason: {escape(view.stop_reason)}</div>')
    if view.streamed and not view.complete and view.error is None:
        parts.append(f'<div class="small">the caller stopped reading after {view.chunk_count} chunks</div>')
    if entry.error:
        parts.append(f'<div class="error">{escape(entry.error)}</div>')
    if view.streamed:
        parts.append(f'<div class="chart-wrap">{_chart_svg(view)}{_chart_caption(view)}</div>')
    if view.api == "other":
        parts.append(_raw_html("request body", request.body))
        if entry.interaction.response is not None:
            parts.append(_raw_html("response body", entry.interaction.response.content))
    parts.append("</div>")
    if not retry:
        shown[:] = [*messages, *([reply] if reply is not None else [])]
    return "".join(parts)


def _raw_html(label: str, raw: bytes) -> str:
    if not raw:
        return ""
    try:
        text = _short(raw.decode("utf-8"), 4000)
    except UnicodeDecodeError:
        text = f"({len(raw):,} bytes of binary data)"
    return f'<details class="raw"><summary>{escape(label)}</summary><pre>{escape(text)}</pre></details>'


def cassette_html(c: CassetteReport, open_: bool) -> str:
    head = f'<summary><span class="path">{escape(c.rel)}</span> '
    if c.invalid is not None:
        return (
            f'<details class="cassette invalid" id="{escape(c.anchor)}" open>{head}<span class="chip bad">invalid'
            f'</span></summary><div class="error">{escape(c.invalid)}</div></details>'
        )
    head += f'<span class="count">{_plural(len(c.entries), "interaction")}</span>'
    if c.error_count:
        head += f' <span class="chip bad">{_plural(c.error_count, "error")}</span>'
    if c.streamed:
        head += f' <span class="chip stream">{c.streamed} streamed</span>'
    shown: list[Message] = []
    body = [_entry_html(c.entries, i, shown, c.anchor) for i in range(len(c.entries))]
    if not c.entries:
        body.append('<div class="ix small">no interactions recorded</div>')
    attr = " open" if open_ else ""
    return f'<details class="cassette" id="{escape(c.anchor)}"{attr}>{head}</summary>{"".join(body)}</details>'


def index_html(cassettes: list[CassetteReport]) -> str:
    groups: dict[str, list[CassetteReport]] = {}
    for c in cassettes:
        groups.setdefault(c.group, []).append(c)
    rows = [
        '<table class="index"><thead><tr><th>cassette</th><th class="n">interactions</th>'
        '<th class="n">streamed</th><th>models</th><th>status</th><th class="n">errors</th><th>tokens</th>'
        "</tr></thead>"
    ]
    for group, members in groups.items():
        rows.append(
            f'<tbody data-group="{escape(group)}"><tr class="group"><th colspan="7">{escape(group or ".")}/</th></tr>'
        )
        for c in members:
            link = f'<a href="#{escape(c.anchor)}">{escape(Path(c.rel).name)}</a>'
            if c.invalid is not None:
                rows.append(
                    f'<tr data-target="{escape(c.anchor)}" class="invalid"><td>{link}</td>'
                    f'<td colspan="6" class="bad-t">{escape(c.invalid)}</td></tr>'
                )
                continue
            errors = f'<span class="bad-t">{c.error_count}</span>' if c.error_count else "0"
            rows.append(
                f'<tr data-target="{escape(c.anchor)}"><td>{link}</td><td class="n">{len(c.entries)}</td>'
                f'<td class="n">{c.streamed}</td><td>{escape(", ".join(c.models)) or "&ndash;"}</td>'
                f'<td>{_status_chips(c.statuses)}</td><td class="n">{errors}</td>'
                f'<td class="tok">{_tokens_html(c.tokens)}</td></tr>'
            )
        rows.append("</tbody>")
    rows.append("</table>")
    return "".join(rows)
