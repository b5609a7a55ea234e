"""`llm-cassette report`: cassettes as one self-contained HTML page, to see what the model did.

The page is a single static file (inline CSS, a few lines of inline JS for the filter box, no
network): an index of cassettes with counts, models, statuses, errors and token usage, then per
cassette the conversation as a transcript in interaction order (messages sent, the reply as the
caller assembled it, tool calls, errors and retries where they happened) and, per streamed
response, a small SVG chart of when the chunks arrived.

Reading a request or response as an LLM call is `_llm_view`'s job; this module only lays it out.
Everything recorded is untrusted text: it is HTML-escaped wherever it appears, and a
Content-Security-Policy allows only the page's own script (by hash), so even a recorded
`<script>` that slipped through could not run.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import html
import json
import os
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ._errors import CassetteFormatError
from ._format import iter_cassette_files, load
from ._llm_view import LLMView, Message, describe
from ._models import Interaction

DEFAULT_TITLE = "LLM cassette report"
DEFAULT_OUTPUT = "cassette-report.html"
# Above this many cassettes, sections start collapsed so the page stays scannable.
OPEN_SECTIONS_LIMIT = 20
# Recorded texts longer than this are shortened on the page (the cassette keeps everything).
MAX_TEXT = 20_000


# --- one interaction, one cassette ------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """A recorded interaction and what it means as an LLM call."""

    interaction: Interaction
    view: LLMView

    @property
    def status(self) -> str:
        """The HTTP status, or the transport error's type when no response came."""
        if self.view.status is not None:
            return str(self.view.status)
        return self.view.error.type if self.view.error is not None else "?"

    @property
    def error(self) -> str | None:
        """What went wrong, as one readable line (an HTTP error with the provider's message, a timeout...)."""
        err, view = self.view.error, self.view
        if err is None:
            return None
        if err.kind == "transport":
            line = f"{err.type} after {_ms(err.t or 0)}, no response: {err.message}"
        elif err.kind == "stream":
            line = f"stream dropped after {view.chunk_count} chunks, at {_ms(err.t or 0)}: {err.type}: {err.message}"
        elif err.kind == "event":
            line = f"error event in the stream: {err.summary()}"
        else:
            line = err.summary()
        return line.rstrip(": ")

    @property
    def reply(self) -> Message | None:
        """The model's answer as one assistant turn, or None when there is none to show."""
        view = self.view
        if view.api in ("embeddings", "other") or (
            view.error is not None and not view.reply_text and not view.tool_calls
        ):
            return None
        return Message("assistant", view.reply_text, view.tool_calls)

    def same_request(self, other: Entry) -> bool:
        a, b = self.interaction.request, other.interaction.request
        return (a.method, a.url, a.body) == (b.method, b.url, b.body)


@dataclass
class CassetteReport:
    """A cassette as the page shows it, or the reason it could not be read."""

    path: Path
    rel: str
    anchor: str
    entries: list[Entry] = field(default_factory=list)
    invalid: str | None = None

    @property
    def group(self) -> str:
        """The folder of the test module the cassette belongs to."""
        parent = Path(self.rel).parent.as_posix()
        return "" if parent == "." else parent

    @property
    def streamed(self) -> int:
        return sum(e.view.streamed for e in self.entries)

    @property
    def models(self) -> list[str]:
        return sorted({e.view.model for e in self.entries if e.view.model})

    @property
    def statuses(self) -> Counter[str]:
        return Counter(e.status for e in self.entries)

    @property
    def error_count(self) -> int:
        return sum(e.error is not None for e in self.entries)

    @property
    def tokens(self) -> tuple[int, int]:
        usages = [e.view.usage for e in self.entries if e.view.usage is not None]
        return sum(u.input_tokens for u in usages), sum(u.output_tokens for u in usages)


def _read_cassette(path: Path, rel: str, anchor: str) -> CassetteReport:
    report = CassetteReport(path, rel, anchor)
    try:
        data = load(path)
    except CassetteFormatError as exc:
        report.invalid = str(exc)
    except OSError as exc:
        report.invalid = f"{path}: cannot read: {exc.strerror or exc}"
    else:
        report.entries = [Entry(it, describe(it)) for it in data.interactions]
    return report


def _collect(cassette_paths: Sequence[Path], root: Path | None) -> list[CassetteReport]:
    paths = [Path(p) for p in cassette_paths]
    base = root if root is not None else _common_folder(paths)
    files = list(dict.fromkeys(iter_cassette_files(paths)))
    return [_read_cassette(p, _relative(p, base), f"c{n}") for n, p in enumerate(files, 1)]


def _common_folder(paths: Sequence[Path]) -> Path:
    folders = [(p if p.is_dir() else p.parent).resolve() for p in paths]
    try:
        return Path(os.path.commonpath(folders)) if folders else Path.cwd()
    except ValueError:  # paths on different drives
        return Path.cwd()


def _relative(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


# --- HTML pieces ------------------------------------------------------------------------------


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _ms(t: float) -> str:
    return f"{t:,.0f} ms" if t >= 100 else f"{t:.1f} ms"


def _plural(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _pretty_json(text: str) -> str:
    """Tool arguments: compact when short, indented when long, as recorded when not JSON."""
    try:
        parsed = json.loads(text)
    except ValueError:
        return text
    compact = json.dumps(parsed, ensure_ascii=False)
    return compact if len(compact) <= 100 else json.dumps(parsed, ensure_ascii=False, indent=2)


def _param(value: object) -> str:
    return _short(value if isinstance(value, str) else json.dumps(value, ensure_ascii=False), 60)


def _status_chips(statuses: Counter[str]) -> str:
    chips = []
    for status, n in sorted(statuses.items()):
        kind = "ok" if status.isdigit() and int(status) < 400 else "bad"
        chips.append(f'<span class="chip {kind}">{_e(status)}{f" &times;{n}" if n > 1 else ""}</span>')
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
    call_id = f" <code>{_e(m.tool_call_id)}</code>" if m.tool_call_id else ""
    parts = [
        f'<div class="msg role-{_ROLE_CLASS.get(m.role, "other")}{" reply" if reply else ""}">',
        f'<div class="role">{_e(label)}{call_id}</div>',
    ]
    if text:
        parts.append(f'<div class="text">{_e(text)}</div>')
    for call in m.tool_calls:
        cid = f" <code>{_e(call.id)}</code>" if call.id else ""
        parts.append(
            f'<div class="call"><span class="call-label">tool call</span> <span class="fn">{_e(call.name)}'
            f'</span>{cid}<pre class="args">{_e(_pretty_json(call.arguments))}</pre></div>'
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
    title = f"{n} chunks over {_ms(times[-1])}; response headers at {_ms(view.time_to_headers or 0)}"
    return (
        f'<svg class="chart" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" '
        f'aria-label="chunk arrival chart"><title>{_e(title)}</title>'
        f'<path class="axis" d="M{left},{top}V{top + ph}H{left + pw}"/>{marks}'
        f'<line class="ttfc" x1="{x(first):.1f}" y1="{top}" x2="{x(first):.1f}" y2="{top + ph}"/>'
        f'<path class="line" d="{path}"/>'
        f'<text class="ttfc-t" x="{lx:.1f}" y="{top + 10}" text-anchor="{anchor}">first chunk {_e(_ms(first))}</text>'
        f'<text x="{left - 5}" y="{top + 4}" text-anchor="end">{n}</text>'
        f'<text x="{left - 5}" y="{top + ph + 3}" text-anchor="end">0</text>'
        f'<text x="{left}" y="{h - 9}">0 ms</text>'
        f'<text x="{left + pw}" y="{h - 9}" text-anchor="end">{_e(_ms(end))}</text>'
        f'<text x="{left + pw / 2:.0f}" y="{h - 9}" text-anchor="middle">ms since request</text>'
        f'<text x="12" y="{top + ph / 2:.0f}" text-anchor="middle" transform="rotate(-90 12 {top + ph / 2:.0f})">'
        "chunks</text></svg>"
    )


def _chart_caption(view: LLMView) -> str:
    times = view.chunk_times
    if not times:
        return ""
    parts = [f"{_plural(len(times), 'chunk')}", f"first {_ms(times[0])}", f"last {_ms(times[-1])}"]
    if view.time_to_headers is not None:
        parts.insert(1, f"headers {_ms(view.time_to_headers)} (dotted)")
    return f'<div class="small">{_e(" · ".join(parts))}</div>'


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
    meta = [f'<span class="num">#{i + 1}</span>', f"<code>{_e(request.method)} {_e(_short(request.path, 80))}</code>"]
    if view.model:
        meta.append(f'<span class="model">{_e(view.model)}</span>')
    meta.append(_status_chips(Counter([entry.status])))
    if view.streamed:
        meta.append(f'<span class="chip stream">streamed · {view.chunk_count} chunks</span>')
    if retry:
        meta.append(f'<span class="chip retry">retry {retry}</span>')
    if view.total_ms is not None:
        meta.append(f'<span class="muted">{_e(_ms(view.total_ms))}</span>')
    if view.usage is not None:
        meta.append(
            f'<span class="muted">{view.usage.input_tokens:,} in · {view.usage.output_tokens:,} out tokens</span>'
        )
    parts = [
        f'<div class="ix{" has-error" if entry.error else ""}" id="{_e(anchor)}-{i + 1}">',
        f'<div class="meta">{" ".join(meta)}</div>',
    ]
    extra = ([f"tools: {', '.join(view.tools)}"] if view.tools else []) + [
        f"{k}={_param(v)}" for k, v in view.params.items()
    ]
    if extra:
        parts.append(f'<div class="params">{_e(" · ".join(extra))}</div>')
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
        parts.append(f'<div class="note">{_plural(view.embeddings, "vector")}{_e(dims)}</div>')
    if view.stop_reason:
        parts.append(f'<div class="small">stop reason: {_e(view.stop_reason)}</div>')
    if view.streamed and not view.complete and view.error is None:
        parts.append(f'<div class="small">the caller stopped reading after {view.chunk_count} chunks</div>')
    if entry.error:
        parts.append(f'<div class="error">{_e(entry.error)}</div>')
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
    return f'<details class="raw"><summary>{_e(label)}</summary><pre>{_e(text)}</pre></details>'


def _cassette_html(c: CassetteReport, open_: bool) -> str:
    head = f'<summary><span class="path">{_e(c.rel)}</span> '
    if c.invalid is not None:
        return (
            f'<details class="cassette invalid" id="{_e(c.anchor)}" open>{head}<span class="chip bad">invalid'
            f'</span></summary><div class="error">{_e(c.invalid)}</div></details>'
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
    return f'<details class="cassette" id="{_e(c.anchor)}"{attr}>{head}</summary>{"".join(body)}</details>'


def _index_html(cassettes: list[CassetteReport]) -> str:
    groups: dict[str, list[CassetteReport]] = {}
    for c in cassettes:
        groups.setdefault(c.group, []).append(c)
    rows = [
        '<table class="index"><thead><tr><th>cassette</th><th class="n">interactions</th>'
        '<th class="n">streamed</th><th>models</th><th>status</th><th class="n">errors</th><th>tokens</th>'
        "</tr></thead>"
    ]
    for group, members in groups.items():
        rows.append(f'<tbody data-group="{_e(group)}"><tr class="group"><th colspan="7">{_e(group or ".")}/</th></tr>')
        for c in members:
            link = f'<a href="#{_e(c.anchor)}">{_e(Path(c.rel).name)}</a>'
            if c.invalid is not None:
                rows.append(
                    f'<tr data-target="{_e(c.anchor)}" class="invalid"><td>{link}</td>'
                    f'<td colspan="6" class="bad-t">{_e(c.invalid)}</td></tr>'
                )
                continue
            errors = f'<span class="bad-t">{c.error_count}</span>' if c.error_count else "0"
            rows.append(
                f'<tr data-target="{_e(c.anchor)}"><td>{link}</td><td class="n">{len(c.entries)}</td>'
                f'<td class="n">{c.streamed}</td><td>{_e(", ".join(c.models)) or "&ndash;"}</td>'
                f'<td>{_status_chips(c.statuses)}</td><td class="n">{errors}</td>'
                f'<td class="tok">{_tokens_html(c.tokens)}</td></tr>'
            )
        rows.append("</tbody>")
    rows.append("</table>")
    return "".join(rows)


# --- page -------------------------------------------------------------------------------------

_CSS = """
:root{--fg:#1f2328;--muted:#656d76;--bg:#f6f8fa;--card:#fff;--line:#d0d7de;--accent:#0969da;
--sys:#6e40c9;--user:#0969da;--asst:#1a7f37;--tool:#9a6700;--bad:#cf222e;--badbg:#ffebe9}
*{box-sizing:border-box}[hidden]{display:none!important}
body{margin:0;font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
color:var(--fg);background:var(--bg)}
header{background:#24292f;color:#fff;padding:20px 32px}header h1{margin:0 0 8px;font-size:22px;font-weight:600}
.totals{display:flex;flex-wrap:wrap;gap:8px 24px;font-size:13px;color:#d0d7de}.totals b{color:#fff;font-size:16px}
main{max-width:1200px;margin:0 auto;padding:20px 32px 48px}
h2{font-size:16px;margin:28px 0 10px}
code,pre,.args{font:12.5px/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
.filter{display:flex;align-items:center;gap:12px;margin:4px 0 12px}
.filter input{width:360px;max-width:100%;padding:7px 10px;border:1px solid var(--line);border-radius:6px;font:inherit}
.muted,.small{color:var(--muted)}.small{font-size:12px;margin:4px 0}
table.index{width:100%;border-collapse:collapse;background:var(--card);border:1px solid var(--line);border-radius:6px}
.index th,.index td{padding:6px 10px;border-bottom:1px solid #eaeef2;text-align:left;vertical-align:top}
.index thead th{font-size:12px;color:var(--muted);font-weight:600;background:#f6f8fa}
.index tr.group th{background:#eef1f4;font:600 12.5px ui-monospace,monospace;color:#424a53}
.index .n{text-align:right;font-variant-numeric:tabular-nums}.index .tok{white-space:nowrap}
.index a{color:var(--accent);text-decoration:none}
.index a:hover{text-decoration:underline}.bad-t{color:var(--bad)}.index tr:not(.group):hover td{background:#f6f8fa}
.chip{display:inline-block;padding:0 7px;border-radius:10px;font-size:12px;line-height:18px;border:1px solid}
.chip.ok{color:var(--asst);border-color:#aceebb;background:#dafbe1}
.chip.bad{color:var(--bad);border-color:#ffcecb;background:var(--badbg)}
.chip.stream{color:#8250df;border-color:#d8b9ff;background:#fbefff}
.chip.retry{color:var(--tool);border-color:#f5e0a0;background:#fff8c5}
details.cassette{background:var(--card);border:1px solid var(--line);border-radius:8px;margin:0 0 12px}
details.cassette>summary{padding:10px 14px;cursor:pointer;font-weight:600;list-style-position:inside}
details.cassette[open]>summary{border-bottom:1px solid var(--line)}
details.cassette .path{font-family:ui-monospace,monospace;font-size:13.5px}
summary .count{font-weight:400;color:var(--muted);font-size:13px}
details.invalid{border-color:#ffcecb}
.ix{padding:12px 16px;border-bottom:1px solid #eaeef2}.ix:last-child{border-bottom:0}
.ix.has-error{background:#fffafa}
.meta{display:flex;flex-wrap:wrap;align-items:center;gap:6px 10px;font-size:13px;margin-bottom:6px}
.num{font-weight:700;color:var(--muted)}.model{font-weight:600}.params{font-size:12px;color:var(--muted);margin:0 0 8px}
.msg{border-left:3px solid var(--line);padding:4px 12px;margin:6px 0;border-radius:0 6px 6px 0;background:#fafbfc}
.msg .role{font-size:11px;font-weight:700;text-transform:uppercase;letter-spacing:.04em}
.msg .role code{text-transform:none;letter-spacing:0;font-weight:400;color:var(--muted);font-size:11px}
.msg .text{white-space:pre-wrap;overflow-wrap:anywhere}
.role-system{border-color:var(--sys)}.role-system .role{color:var(--sys)}
.role-user{border-color:var(--user)}.role-user .role{color:var(--user)}.role-other .role{color:var(--muted)}
.role-assistant{border-color:var(--asst)}.role-assistant .role{color:var(--asst)}
.role-tool{border-color:var(--tool)}.role-tool .role{color:var(--tool)}
.msg.reply{background:#f0fbf3}
.call code{color:var(--muted);font-size:11px}
.call{margin:6px 0;padding:6px 10px;background:#fff8e6;border:1px solid #f5e0a0;border-radius:6px}
.call-label{font-size:11px;font-weight:700;text-transform:uppercase;color:var(--tool)}.fn{font-weight:700}
.args{margin:4px 0 0;white-space:pre-wrap;overflow-wrap:anywhere}
.error{margin:6px 0;padding:6px 10px;color:var(--bad);background:var(--badbg);border:1px solid #ffcecb;
border-radius:6px;white-space:pre-wrap;overflow-wrap:anywhere}
.note{margin:6px 0;color:var(--muted)}
.chart-wrap{margin:8px 0 0}
.chart{max-width:100%;height:auto;background:#fcfcfd;border:1px solid #eaeef2;border-radius:6px}
.chart text{font:10.5px system-ui,sans-serif;fill:var(--muted)}.chart .axis{stroke:#afb8c1;fill:none}
.chart .line{stroke:#8250df;stroke-width:1.6;fill:none}.chart .hdr{stroke:#afb8c1;stroke-dasharray:2 3}
.chart .ttfc{stroke:#1a7f37;stroke-dasharray:4 2}.chart .ttfc-t{fill:#1a7f37;font-weight:600}
.chart .drop{stroke:var(--bad);stroke-width:2}.chart .drop-t{fill:var(--bad)}
details.raw summary{cursor:pointer;font-size:12px;color:var(--muted)}details.raw pre{white-space:pre-wrap;margin:4px 0}
footer{color:var(--muted);font-size:12px;margin-top:24px}
"""

# Filtering only: the page is complete without it. Matches the index row and the transcript; `?q=` prefills it.
_JS = """
(function(){
var box=document.getElementById('filter');if(!box)return;
var rows=Array.prototype.slice.call(document.querySelectorAll('tr[data-target]'));
var secs=rows.map(function(r){return document.getElementById(r.getAttribute('data-target'));});
var hay=rows.map(function(r,i){return (r.textContent+' '+(secs[i]?secs[i].textContent:'')).toLowerCase();});
var groups=Array.prototype.slice.call(document.querySelectorAll('tbody[data-group]'));
var shown=document.getElementById('shown');
function apply(){
var words=box.value.toLowerCase().split(/\\s+/).filter(Boolean),n=0;
rows.forEach(function(r,i){
var ok=words.every(function(w){return hay[i].indexOf(w)>=0;});
r.hidden=!ok;if(secs[i])secs[i].hidden=!ok;if(ok)n++;});
groups.forEach(function(g){g.hidden=!g.querySelector('tr[data-target]:not([hidden])');});
shown.textContent=words.length?n+' of '+rows.length+' cassettes match':'';}
var q=new URLSearchParams(location.search).get('q');if(q)box.value=q;
box.addEventListener('input',apply);apply();
})();
"""


def _csp() -> str:
    # Only the page's own script may run: a recorded `<script>` could not, even if escaping failed.
    digest = base64.b64encode(hashlib.sha256(_JS.encode()).digest()).decode()
    return f"default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{digest}'; base-uri 'none'"


def _totals_html(cassettes: list[CassetteReport]) -> str:
    valid = [c for c in cassettes if c.invalid is None]
    tin = sum(c.tokens[0] for c in valid)
    tout = sum(c.tokens[1] for c in valid)
    items = [
        (len(cassettes), "cassettes"),
        (sum(len(c.entries) for c in valid), "interactions"),
        (sum(c.streamed for c in valid), "streamed"),
        (sum(c.error_count for c in valid), "with errors"),
        (f"{tin:,} / {tout:,}", "tokens in / out"),
    ]
    invalid = len(cassettes) - len(valid)
    if invalid:
        items.append((invalid, "invalid"))
    return '<div class="totals">' + "".join(f"<span><b>{_e(v)}</b> {_e(k)}</span>" for v, k in items) + "</div>"


def render_report(cassette_paths: list[Path], *, title: str = DEFAULT_TITLE, root: Path | None = None) -> str:
    """The HTML page for these cassette files (folders are searched for `*.yaml`/`*.yml`).

    Paths are shown relative to `root` (default: the folder the given paths have in common).
    A cassette that cannot be read is listed with its `file:line: reason`; it never stops the page.
    """
    return _page(_collect(cassette_paths, root), title)


def _page(cassettes: list[CassetteReport], title: str) -> str:
    open_ = len(cassettes) <= OPEN_SECTIONS_LIMIT
    sections = "".join(_cassette_html(c, open_) for c in cassettes) or '<p class="muted">No cassettes found.</p>'
    index = _index_html(cassettes) if cassettes else ""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_e(_csp())}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>"
        f"<header><h1>{_e(title)}</h1>{_totals_html(cassettes)}</header><main>"
        '<div class="filter"><input id="filter" type="search" placeholder="Filter cassettes: path, model, text…" '
        'aria-label="Filter cassettes"><span id="shown" class="muted"></span></div>'
        f"{index}<h2>Conversations</h2>{sections}"
        "<footer>Generated by llm-cassette report. Timings are as recorded (ms since each request).</footer>"
        f"</main><script>{_JS}</script></body></html>\n"
    )


def write_report(paths: Sequence[Path], out: Path, *, title: str = DEFAULT_TITLE, root: Path | None = None) -> int:
    """Render the cassettes under `paths` into the HTML file `out`; returns how many cassettes it lists."""
    return len(_write(paths, out, title, root))


def _write(paths: Sequence[Path], out: Path, title: str, root: Path | None) -> list[CassetteReport]:
    cassettes = _collect(paths, root)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(_page(cassettes, title), encoding="utf-8")
    return cassettes


# --- command line -----------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths",
        nargs="*",
        type=Path,
        default=[Path("cassettes")],
        help="cassette files or folders (default: cassettes)",
    )
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        default=Path(DEFAULT_OUTPUT),
        help=f"the HTML file to write (default: {DEFAULT_OUTPUT})",
    )
    parser.add_argument("--title", default=DEFAULT_TITLE, help="the page title")
    parser.add_argument(
        "--root",
        type=Path,
        default=None,
        help="show cassette paths relative to this folder (default: the paths' common folder)",
    )


def run(args: argparse.Namespace) -> int:
    missing = [p for p in args.paths if not p.exists()]
    if missing:
        for p in missing:
            print(f"llm-cassette report: no such file or folder: {p}", file=sys.stderr)
        return 2
    cassettes = _write(args.paths, args.output, args.title, args.root)
    invalid = sum(c.invalid is not None for c in cassettes)
    print(f"wrote {args.output} ({_plural(len(cassettes), 'cassette')}{f', {invalid} invalid' if invalid else ''})")
    return 0
