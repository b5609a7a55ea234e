"""`llm-cassette report`: cassettes as one self-contained HTML page, to see what the model did.

The page is a single static file (inline CSS, a few lines of inline JS for the filter box, no
network): an index of cassettes with counts, models, statuses, errors and token usage, then per
cassette the conversation as a transcript in interaction order (messages sent, the reply as the
caller assembled it, tool calls, errors and retries where they happened) and, per streamed
response, a small SVG chart of when the chunks arrived.

Reading a request or response as an LLM call is `llm_cassette.describe`'s job; this package only lays it out.
Everything recorded is untrusted text: it is HTML-escaped wherever it appears, and a
Content-Security-Policy allows only the page's own script (by hash), so even a recorded
`<script>` that slipped through could not run.

Modules: `model` (cassettes read once), `html` (the pieces), `page` (the whole page, written to a file);
`report.css` and `report.js` are inlined into every page.
"""

from .page import DEFAULT_OUTPUT, DEFAULT_TITLE, render_report, write_cassettes, write_report

__all__ = ["DEFAULT_OUTPUT", "DEFAULT_TITLE", "render_report", "write_cassettes", "write_report"]
