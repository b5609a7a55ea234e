"""Write docs/compatibility.md from the compatibility suite's list of what it covers.

    python tests/compat/make_table.py            # rewrite the page with the installed versions
    python tests/compat/make_table.py --check    # exit 1 if the page's rows differ from ENTRIES

`ENTRIES` is the single list of (client, feature, status, test node id). `test_compat_table.py`
checks that the committed page has exactly these rows (versions aside: they drift with every
install) and that every test named here is collected.
"""

from __future__ import annotations

import argparse
import platform
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "compatibility.md"
COMPAT = "tests/compat"


@dataclass(frozen=True)
class Entry:
    """One row: a client or runner, what is exercised, the outcome, and the test that proves it."""

    client: str
    feature: str
    test: str  # node id relative to the repository root (without parametrize ids: every case)
    status: str = "recorded and replayed"

    @property
    def row(self) -> tuple[str, str, str, str]:
        return (self.client, self.feature, self.status, self.test)


def _module(module: str) -> Callable[[str], str]:
    """Node ids in one module of the suite: `_module("openai")("test_chat_sync")`."""
    return lambda name: f"{COMPAT}/test_compat_{module}.py::{name}"


_openai = _module("openai")
_anthropic = _module("anthropic")
_frameworks = _module("frameworks")
_httpx = _module("httpx")
_mocks = _module("mocks")
_aiohttp = _module("aiohttp")
_genai = _module("google_genai")
_mcp = _module("mcp")
_runners = _module("runners")
_urllib3 = _module("urllib3")
_dspy = _module("dspy")
_realtime = _module("openai_realtime")


ENTRIES: tuple[Entry, ...] = (
    Entry("openai", "chat completions, sync", _openai("test_chat_sync")),
    Entry("openai", "chat completions, async", _openai("test_chat_async")),
    Entry("openai", "chat completions, stream (sync)", _openai("test_chat_stream_sync")),
    Entry("openai", "chat completions, stream (async)", _openai("test_chat_stream_async")),
    Entry("openai", "tool calls, two turns", _openai("test_tool_calls")),
    Entry("openai", "tool calls, streamed", _openai("test_tool_calls_streamed")),
    Entry("openai", "`response_format` json_schema", _openai("test_response_format_json_schema")),
    Entry("openai", "`chat.completions.parse` with a Pydantic model", _openai("test_parse_with_pydantic_model")),
    Entry("openai", "embeddings, `encoding_format=float`", _openai("test_embeddings[float]")),
    Entry("openai", "embeddings, `encoding_format=base64`", _openai("test_embeddings[base64]")),
    Entry(
        "openai",
        "embeddings, SDK default (base64 decoded)",
        _openai("test_embeddings_default_encoding_is_decoded_by_the_sdk"),
    ),
    Entry("openai", "Responses API, `output_text` (sync)", _openai("test_responses_api")),
    Entry("openai", "Responses API, `output_text` (async)", _openai("test_responses_api_async")),
    Entry("openai + aiohttp", "`DefaultAioHttpClient`: chat and stream", _openai("test_aiohttp_backend")),
    Entry("anthropic", "messages, sync", _anthropic("test_messages_sync")),
    Entry("anthropic", "messages, async", _anthropic("test_messages_async")),
    Entry("anthropic", "messages, stream helper (sync)", _anthropic("test_messages_stream_sync")),
    Entry("anthropic", "messages, raw event stream (async)", _anthropic("test_messages_stream_async")),
    Entry("anthropic", "tool use, two turns", _anthropic("test_tool_use")),
    Entry("anthropic", "tool use, streamed", _anthropic("test_tool_use_streamed")),
    Entry("anthropic + aiohttp", "`DefaultAioHttpClient`: message and stream", _anthropic("test_aiohttp_backend")),
    Entry("langchain-openai", "`ChatOpenAI.invoke`", _frameworks("test_langchain_openai_invoke")),
    Entry("langchain-openai", "`ChatOpenAI.stream`", _frameworks("test_langchain_openai_stream")),
    Entry("langchain-openai", "`ChatOpenAI.ainvoke`", _frameworks("test_langchain_openai_ainvoke")),
    Entry("litellm", "`completion` with `api_base`", _frameworks("test_litellm_completion")),
    Entry("litellm", "`completion`, stream", _frameworks("test_litellm_completion_stream")),
    Entry("litellm", "`acompletion` and stream, default (aiohttp) transport", _frameworks("test_litellm_acompletion")),
    Entry(
        "litellm",
        "`acompletion` and stream, `disable_aiohttp_transport = True`",
        _frameworks("test_litellm_acompletion_over_httpx"),
    ),
    Entry("ollama", "chat", _frameworks("test_ollama_chat"), "skipped: the fake server has no Ollama route"),
    Entry("httpx", "`Client`, sync", _httpx("test_sync[httpx]")),
    Entry("httpx", "`AsyncClient`", _httpx("test_async[httpx]")),
    Entry("httpx", "streamed response, sync", _httpx("test_stream_sync[httpx]")),
    Entry("httpx", "streamed response, async: the same chunks", _httpx("test_stream_async[httpx]")),
    Entry("httpx2", "`Client`, sync", _httpx("test_sync[httpx2]")),
    Entry("httpx2", "`AsyncClient`", _httpx("test_async[httpx2]")),
    Entry("httpx2", "streamed response, sync", _httpx("test_stream_sync[httpx2]")),
    Entry("httpx2", "streamed response, async: the same chunks", _httpx("test_stream_async[httpx2]")),
    Entry("httpx + httpx2", "both stacks in one cassette", _httpx("test_both_stacks_in_one_cassette")),
    Entry("aiohttp", "`ClientSession` used directly: JSON and a stream", _aiohttp("test_client_session")),
    Entry(
        "openai + aiohttp",
        "SDK and aiohttp first imported inside the test, after the cassette started",
        _aiohttp("test_sdk_aiohttp_transport_imported_inside_the_test"),
    ),
    Entry("google-genai", "`generate_content`, sync (httpx2)", _genai("test_generate_content_sync")),
    Entry("google-genai", "`generate_content_stream`, sync (SSE)", _genai("test_generate_content_stream_sync")),
    Entry("google-genai", "`aio.models.generate_content` (its aiohttp session)", _genai("test_generate_content_async")),
    Entry(
        "google-genai",
        "`aio.models.generate_content_stream` (aiohttp, SSE)",
        _genai("test_generate_content_stream_async"),
    ),
    Entry(
        "mcp 2.x", "streamable HTTP, modern protocol: tools called in another order", _mcp("test_mcp2_modern_protocol")
    ),
    Entry(
        "mcp 2.x",
        '`mode="legacy"` session: a pause past the reconnect delay, tools in another order',
        _mcp("test_mcp2_legacy_session"),
    ),
    Entry(
        "mcp 1.x",
        "streamable HTTP (httpx + httpx-sse): stateful/stateless, SSE/JSON, pause, other order",
        _mcp("test_mcp1"),
    ),
    Entry("respx", '`respx.mock(using="httpx")` beside a cassette', _mocks("test_respx_using_httpx_mocker")),
    Entry(
        "respx", "default (httpcore) mocker with `ignore_hosts`", _mocks("test_respx_default_mocker_with_ignore_hosts")
    ),
    Entry("pytest-httpx", "`httpx_mock` with `should_mock`", _mocks("test_pytest_httpx")),
    Entry(
        "respx + pytest-httpx", "beside `@pytest.mark.llm_cassette`", _mocks("test_marker_beside_both_mock_libraries")
    ),
    Entry("pytest-asyncio", "auto mode: async fixture, module-level client", _runners("test_pytest_asyncio_auto_mode")),
    Entry("pytest-asyncio", "strict mode", _runners("test_pytest_asyncio_strict_mode")),
    Entry("anyio", "`@pytest.mark.anyio` (asyncio; trio when installed)", _runners("test_anyio_plugin")),
    Entry("pytest-xdist", "`-n 4`: record and replay 12 tests", _runners("test_xdist_records_and_replays_in_parallel")),
    Entry("unittest", "`use_cassette` on `TestCase` methods", _runners("test_unittest_testcase_with_the_decorator")),
    Entry(
        "unittest",
        "replay with no cassette",
        _runners("test_unittest_replay_without_cassette_fails"),
        "refused: no request leaves",
    ),
    Entry("plain script", "`with use_cassette(...)`, sync and async", _runners("test_plain_script")),
    Entry("requests", "`post`, JSON body", _urllib3("test_requests_plain")),
    Entry("requests", "`stream=True`, `iter_lines`", _urllib3("test_requests_streamed")),
    Entry(
        "urllib.request",
        "`urlopen` in replay",
        _urllib3("test_urllib_request_is_refused"),
        "refused by the network guard, with the error shown",
    ),
    Entry("boto3 (Bedrock)", "`converse`", _urllib3("test_bedrock_converse")),
    Entry("boto3 (Bedrock)", "`converse_stream`: eventstream frames", _urllib3("test_bedrock_converse_stream")),
    Entry(
        "dspy",
        "`dspy.LM` default engine (its own socket-level client) in replay",
        _dspy("test_default_engine_is_refused"),
        "refused by the network guard, with the error shown",
    ),
    Entry("dspy", '`dspy.LM(..., engine="litellm")`', _dspy("test_litellm_engine")),
    Entry(
        "openai Realtime",
        "`client.realtime.connect` (websockets) in replay",
        _realtime("test_realtime_connect_is_refused"),
        "refused by the network guard, with the error shown",
    ),
    Entry(
        "openai Realtime",
        "`AsyncOpenAI().realtime.connect` (websockets) in replay",
        _realtime("test_realtime_connect_async_is_refused"),
        "refused by the network guard, with the error shown",
    ),
)

# The distributions whose versions a client row reports; () is the Python version.
DISTRIBUTIONS: dict[str, tuple[str, ...]] = {
    "openai": ("openai",),
    "openai + aiohttp": ("openai", "aiohttp"),
    "anthropic": ("anthropic",),
    "anthropic + aiohttp": ("anthropic", "aiohttp"),
    "langchain-openai": ("langchain-openai",),
    "litellm": ("litellm",),
    "ollama": ("ollama",),
    "httpx": ("httpx",),
    "httpx2": ("httpx2",),
    "httpx + httpx2": ("httpx", "httpx2"),
    "aiohttp": ("aiohttp",),
    "google-genai": ("google-genai", "aiohttp"),
    "mcp 2.x": ("mcp",),
    "mcp 1.x": (),
    "respx": ("respx",),
    "pytest-httpx": ("pytest-httpx",),
    "respx + pytest-httpx": ("respx", "pytest-httpx"),
    "pytest-asyncio": ("pytest-asyncio",),
    "anyio": ("anyio",),
    "pytest-xdist": ("pytest-xdist",),
    "unittest": (),
    "plain script": (),
    "requests": ("requests", "urllib3"),
    "urllib.request": (),
    "boto3 (Bedrock)": ("boto3", "urllib3"),
    "dspy": ("dspy", "litellm"),
    "openai Realtime": ("openai", "websockets"),
}

COLUMNS = ("Client or runner", "Version", "Feature", "Status", "Test")

HEADER = """\
# Compatibility

<!-- Generated by `python tests/compat/make_table.py` from its ENTRIES list; edit that list, not this
table. `tests/compat/test_compat_table.py` fails when the rows below drift from the suite. -->

What the compatibility suite (`tests/compat/`) proves works, and with which versions it last ran.
Every row is one test: it drives the real client against the bundled fake server, records a fresh
cassette, replays it with the server untouched, and checks that the caller saw the same thing both
times. Regenerate the page with `python tests/compat/make_table.py`.

Run with: Python {python}, pytest {pytest}, llm-cassette {ours}.
"""

FOOTER = """
## Notes

- **litellm** pins `openai<3`; the suite runs it beside `openai` 3.x, which its `openai/...` models
  work with. Install it without letting it downgrade the SDK, e.g.
  `pip install litellm && pip install -U "openai>=3"`. Import it with
  `LITELLM_LOCAL_MODEL_COST_MAP=True` so that it does not fetch its price map from the network.
  Its async calls go through its own aiohttp transport, which sends through `aiohttp.ClientSession`
  and is recorded there, like the SDKs' aiohttp backends; `litellm.disable_aiohttp_transport = True`
  works as well.
- **mcp**: an agent's MCP session over streamable HTTP (initialize, list and call tools, read a
  resource) is recorded like any other traffic; JSON-RPC ids are not matched and are answered
  with the ids sent, so tools may be called in another order (see `tests/test_mcp.py`, mcp 2.x and
  1.x, stateful and stateless servers, SSE and JSON answers). A live server cannot continue a
  replayed session: re-record an MCP flow whole (`all`), not with `new_episodes`.
- **aiohttp** (3.12 or later) is recorded at `ClientSession`, as soon as the application imports
  it, so the SDKs' aiohttp transports are covered whatever the import order, even an SDK imported
  inside the test body.
- **respx**: `respx.mock(using="httpx")` mocks above the cassette and needs nothing else. Its default
  mocker patches httpcore, below the cassette: pass the mocked hosts in `ignore_hosts`, or the
  cassette records the mocked answers and replays them without respx seeing the call; a
  pass-through route to the model server is only reached while recording.
- **respx** and **pytest-httpx** patch `httpx` only; the `openai` and `anthropic` SDKs send through
  `httpx2` and are never seen by them.
- **ollama** has no route in the fake server yet, so its row is skipped.
- **requests**, **urllib.request** and **boto3** rows replay under `LLM_CASSETTE_BLOCK_NETWORK=1`
  with the upstream still listening behind a connection-counting listener: the replay opens no
  connection. Bedrock runs against a local stub of bedrock-runtime's wire format (JSON, and
  `application/vnd.amazon.eventstream` frames). See [HTTP stacks and the network guard](stacks.md).
- **dspy**: `dspy.LM`'s default engine (`engine="auto"`, lm15 for the common providers) sends
  through an HTTP client of its own, on raw sockets, which llm-cassette does not record: in replay
  the network guard refuses it and says to use `engine="litellm"`, which sends through a recorded
  stack. dspy depends on litellm: install it beside litellm (`pip install litellm dspy`), before
  the SDKs. Pass `cache=False` (or point `DSPY_CACHEDIR` at a temporary folder) while recording:
  a call dspy's disk cache answers sends nothing, so nothing is recorded for it.
- **openai Realtime** (`client.realtime.connect`) speaks websockets, which are not recorded: in
  replay the guard refuses the connection (sync and async), and the test fails even if the code
  around it catches every exception. Tests that need a Realtime session should fake it.
"""


def installed(distribution: str) -> str:
    try:
        return version(distribution)
    except PackageNotFoundError:
        return "not installed"


def versions_of(client: str) -> str:
    """`3.54.0` for one distribution, `openai 3.54.0, aiohttp 3.14.5` for several."""
    names = DISTRIBUTIONS[client]
    if not names:
        return f"Python {platform.python_version()}"
    if len(names) == 1:
        return installed(names[0])
    return ", ".join(f"{name} {installed(name)}" for name in names)


def render() -> str:
    """The whole page, with the versions installed now."""
    lines = [
        HEADER.format(
            python=platform.python_version(), pytest=installed("pytest"), ours=installed("pytest-llm-cassette")
        ),
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "|".join("---" for _ in COLUMNS) + "|",
    ]
    for e in ENTRIES:
        cells = (e.client, versions_of(e.client), e.feature, e.status, f"`{e.test}`")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n" + FOOTER


_CELL_SPLIT = re.compile(r"(?<!\\)\|")


def rows_of(page: str) -> list[tuple[str, str, str, str]]:
    """(client, feature, status, test) of every table row of a page, versions dropped."""
    rows = []
    for line in page.splitlines():
        if not line.startswith("|") or line.startswith("|---"):
            continue
        cells = [c.strip() for c in _CELL_SPLIT.split(line.strip())[1:-1]]
        if tuple(cells) == COLUMNS:
            continue
        client, _version, feature, status, test = cells
        rows.append((client, feature, status, test.strip("`")))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="only compare the page's rows with ENTRIES")
    args = parser.parse_args(argv)
    if args.check:
        current = rows_of(PAGE.read_text(encoding="utf-8")) if PAGE.exists() else []
        if current != [e.row for e in ENTRIES]:
            print(f"{PAGE} is out of date: run `python tests/compat/make_table.py`", file=sys.stderr)
            return 1
        return 0
    PAGE.write_text(render(), encoding="utf-8")
    print(f"wrote {PAGE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
