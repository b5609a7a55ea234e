"""`llm-cassette report`: real cassettes, recorded through the real SDKs, rendered as one HTML page.

Every test records against the fake server (OpenAI and Anthropic, streamed and not, a tool call,
an HTTP error, retries), renders the page and reads it back with the stdlib HTML parser, comparing
what the page shows with what the SDKs saw when they made the calls.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest

from helpers import ANTHROPIC_KEY, OPENAI_KEY
from llm_cassette import CassetteFormatError, load, use_cassette
from llm_cassette.cli import main
from llm_cassette.fake_server import FakeServer
from llm_cassette.report import render_report, write_report

CLAUDE = "claude-haiku-4-5"
XSS = "<script>alert(1)</script>"
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


# --- a tiny DOM from html.parser ---------------------------------------------------------------

VOID = {"meta", "input", "br", "hr", "img", "link", "col", "wbr", "source"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node | str] = field(default_factory=list)

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def walk(self) -> Iterator[Node]:
        yield self
        for c in self.children:
            if isinstance(c, Node):
                yield from c.walk()

    def find_all(self, tag: str | None = None, cls: str | None = None) -> list[Node]:
        return [n for n in self.walk() if (tag is None or n.tag == tag) and (cls is None or cls in n.classes)]

    def find(self, tag: str | None = None, cls: str | None = None) -> Node:
        found = self.find_all(tag, cls)
        assert found, f"no <{tag or '*'} class={cls}> in <{self.tag} {self.attrs}>"
        return found[0]


class TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Node(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(page: str) -> Node:
    builder = TreeBuilder()
    builder.feed(page)
    builder.close()
    return builder.root


def section(doc: Node, rel: str) -> Node:
    """The `<details>` of the cassette whose relative path is `rel`."""
    for d in doc.find_all("details", "cassette"):
        if d.find("span", "path").text() == rel:
            return d
    raise AssertionError(f"no section for {rel}")


def index_row(doc: Node, name: str) -> Node:
    for row in doc.find_all("tr"):
        if "data-target" in row.attrs and row.find("a").text() == name:
            return row
    raise AssertionError(f"no index row for {name}")


def messages(node: Node, role: str) -> list[str]:
    return [m.find("div", "text").text() for m in node.find_all("div", f"role-{role}") if "reply" not in m.classes]


def replies(node: Node) -> list[Node]:
    return node.find_all("div", "reply")


# --- recording real traffic ------------------------------------------------------------------


@dataclass
class Seen:
    """What the SDKs returned while the cassettes were recorded."""

    root: Path
    stream_text: str = ""
    stream_usage: Any = None
    tool_name: str = ""
    tool_arguments: str = ""
    error_message: str = ""
    claude_stream_text: str = ""
    claude_text: str = ""


def record_all(server: FakeServer, root: Path) -> Seen:
    seen = Seen(root)
    folder = root / "tests"
    with openai.OpenAI(base_url=server.base_url_openai, api_key=OPENAI_KEY, max_retries=0) as client:
        with use_cassette(folder / "test_chat" / "test_stream.yaml", record_mode="once"):
            stream = client.chat.completions.create(
                model="gpt-4o-mini",
                messages=[
                    {"role": "system", "content": "Answer in one sentence."},
                    {"role": "user", "content": "What is the capital of France?"},
                ],
                stream=True,
                stream_options={"include_usage": True},
            )
            chunks = list(stream)
            seen.stream_text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
            seen.stream_usage = chunks[-1].usage
        with use_cassette(folder / "test_chat" / "test_plain.yaml", record_mode="once"):
            client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": XSS}])
        with use_cassette(folder / "test_chat" / "test_tool.yaml", record_mode="once"):
            reply = client.chat.completions.create(
                model="gpt-4o-mini",
                messages=[{"role": "user", "content": "Weather in Lyon?"}],
                tools=[WEATHER_TOOL],  # type: ignore[list-item]
            )
            call = reply.choices[0].message.tool_calls[0]  # type: ignore[index]
            seen.tool_name, seen.tool_arguments = call.function.name, call.function.arguments  # type: ignore[union-attr]
        with use_cassette(folder / "test_chat" / "test_error.yaml", record_mode="once"):
            with pytest.raises(openai.InternalServerError) as exc_info:
                client.chat.completions.create(
                    model="gpt-4o-mini+fail500", messages=[{"role": "user", "content": "hi"}]
                )
            seen.error_message = exc_info.value.body["message"]  # type: ignore[index]
    with anthropic.Anthropic(base_url=server.base_url_anthropic, api_key=ANTHROPIC_KEY, max_retries=0) as claude:
        with (
            use_cassette(folder / "test_claude" / "test_stream.yaml", record_mode="once"),
            claude.messages.stream(
                model=CLAUDE, max_tokens=64, system="Be concise.", messages=[{"role": "user", "content": "Say hello"}]
            ) as s,
        ):
            seen.claude_stream_text = "".join(s.text_stream)
        with use_cassette(folder / "test_claude" / "test_plain.yaml", record_mode="once"):
            message = claude.messages.create(
                model=CLAUDE, max_tokens=64, messages=[{"role": "user", "content": "Capital of France?"}]
            )
            seen.claude_text = message.content[0].text  # type: ignore[union-attr]
    return seen


@pytest.fixture(scope="module")
def seen(fake_server_session: FakeServer, tmp_path_factory: pytest.TempPathFactory) -> Seen:
    """The cassettes, recorded once for the module; tests only read them (or copy them first)."""
    fake_server_session.reset()
    return record_all(fake_server_session, tmp_path_factory.mktemp("report") / "cassettes")


@pytest.fixture(scope="module")
def doc(seen: Seen) -> Node:
    return parse(render_report([seen.root]))


# --- the transcript --------------------------------------------------------------------------


def test_streamed_reply_is_assembled_as_the_caller_saw_it(seen: Seen, doc: Node) -> None:
    chat = section(doc, "tests/test_chat/test_stream.yaml")
    assert messages(chat, "system") == ["Answer in one sentence."]
    assert messages(chat, "user") == ["What is the capital of France?"]
    [reply] = replies(chat)
    assert reply.find("div", "text").text() == seen.stream_text == "The capital of France is Paris."

    claude = section(doc, "tests/test_claude/test_stream.yaml")
    assert messages(claude, "system") == ["Be concise."]
    assert messages(claude, "user") == ["Say hello"]
    assert replies(claude)[0].find("div", "text").text() == seen.claude_stream_text


def test_non_streamed_replies(seen: Seen, doc: Node) -> None:
    claude = section(doc, "tests/test_claude/test_plain.yaml")
    assert messages(claude, "user") == ["Capital of France?"]
    assert replies(claude)[0].find("div", "text").text() == seen.claude_text
    assert claude.find_all("svg") == []


def test_tool_call_shows_name_and_arguments(seen: Seen, doc: Node) -> None:
    tool = section(doc, "tests/test_chat/test_tool.yaml")
    assert "tools: get_weather" in tool.find("div", "params").text()
    [call] = replies(tool)[0].find_all("div", "call")
    assert call.find("span", "fn").text() == seen.tool_name == "get_weather"
    assert json.loads(call.find("pre", "args").text()) == json.loads(seen.tool_arguments)


def test_http_error_shows_status_and_provider_message(seen: Seen, doc: Node) -> None:
    err = section(doc, "tests/test_chat/test_error.yaml")
    [error] = err.find_all("div", "error")
    assert "HTTP 500" in error.text()
    assert seen.error_message and seen.error_message in error.text()
    assert [c.text() for c in err.find_all("span", "chip") if "bad" in c.classes][-1] == "500"
    assert replies(err) == []  # no reply came, none is invented

    row = index_row(doc, "test_error.yaml")
    assert row.find_all("td")[5].text() == "1"  # errors column


def test_one_chart_per_streamed_interaction_with_time_to_first_chunk(seen: Seen, doc: Node) -> None:
    streamed = {"tests/test_chat/test_stream.yaml", "tests/test_claude/test_stream.yaml"}
    assert len(doc.find_all("svg")) == len(streamed)
    for rel in streamed:
        [svg] = section(doc, rel).find_all("svg")
        first_chunk = load(seen.root / rel).interactions[0].response.chunks[0].t  # type: ignore[union-attr,index]
        label = svg.find("text", "ttfc-t").text()
        match = re.fullmatch(r"first chunk ([\d.,]+) ms", label)
        assert match, label
        assert abs(float(match.group(1).replace(",", "")) - first_chunk) <= 0.5


def test_index_counts_models_statuses_and_tokens(seen: Seen, doc: Node) -> None:
    groups = {g.attrs["data-group"]: g for g in doc.find_all("tbody")}
    assert set(groups) == {"tests/test_chat", "tests/test_claude"}
    names = [a.text() for a in groups["tests/test_chat"].find_all("a")]
    assert sorted(names) == ["test_error.yaml", "test_plain.yaml", "test_stream.yaml", "test_tool.yaml"]

    cells = [td.text() for td in index_row(doc, "test_stream.yaml").find_all("td")]
    assert cells[1:4] == ["1", "1", "gpt-4o-mini"]  # interactions, streamed, models
    usage = seen.stream_usage
    assert cells[6] == f"{usage.prompt_tokens} in · {usage.completion_tokens} out"

    totals = doc.find("div", "totals").text()
    assert "6 cassettes" in totals and "6 interactions" in totals and "2 streamed" in totals
    # Every index row links to a section that exists.
    ids = {n.attrs["id"] for n in doc.walk() if "id" in n.attrs}
    assert all(row.attrs["data-target"] in ids for row in doc.find_all("tr") if "data-target" in row.attrs)


# --- safety: escaping, no network, only our script ------------------------------------------


def test_recorded_script_is_text_not_markup(seen: Seen) -> None:
    page = render_report([seen.root])
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert XSS not in page
    doc = parse(page)
    assert messages(section(doc, "tests/test_chat/test_plain.yaml"), "user") == [XSS]
    [script] = doc.find_all("script")  # only the page's own filter script
    assert "alert" not in script.text()


def test_page_is_self_contained(doc: Node) -> None:
    for node in doc.walk():
        for attr in ("src", "href"):
            if attr in node.attrs:
                assert node.attrs[attr].startswith("#"), (node.tag, node.attrs)
    assert doc.find_all("link") == [] and doc.find_all("img") == [] and doc.find_all("iframe") == []


def test_content_security_policy_allows_exactly_the_page_script(doc: Node) -> None:
    [csp] = [m for m in doc.find_all("meta") if m.attrs.get("http-equiv") == "Content-Security-Policy"]
    policy = csp.attrs["content"]
    assert "default-src 'none'" in policy
    [script] = doc.find_all("script")
    digest = base64.b64encode(hashlib.sha256(script.text().encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in policy


def test_filter_box_and_collapsible_sections(doc: Node) -> None:
    [box] = [i for i in doc.find_all("input") if i.attrs.get("id") == "filter"]
    assert box.attrs["type"] == "search"
    sections = doc.find_all("details", "cassette")
    assert len(sections) == 6
    assert all(s.children and isinstance(s.children[0], Node) and s.children[0].tag == "summary" for s in sections)


# --- conversations over several interactions --------------------------------------------------


def test_agent_loop_with_retries_in_interaction_order(fake_server: FakeServer, tmp_path: Path) -> None:
    path = tmp_path / "agent.yaml"
    tools: Any = [WEATHER_TOOL]
    with (
        openai.OpenAI(base_url=fake_server.base_url_openai, api_key=OPENAI_KEY, max_retries=2) as client,
        use_cassette(path, record_mode="once"),
    ):
        history: list[Any] = [{"role": "user", "content": "Weather in Lyon?"}]
        first = client.chat.completions.create(model="gpt-4o-mini", messages=history, tools=tools)
        call = first.choices[0].message.tool_calls[0]  # type: ignore[index]
        history += [
            first.choices[0].message.model_dump(exclude_none=True),
            {"role": "tool", "tool_call_id": call.id, "content": '{"temp_c": 21}'},
        ]
        # Two 429s (retry-after 10 ms) and then the answer: the SDK retries twice.
        final = client.chat.completions.create(
            model="gpt-4o-mini+fail429x2+retryafter10", messages=history, tools=tools
        )
    doc = parse(render_report([path]))
    cassette = section(doc, "agent.yaml")
    items = cassette.find_all("div", "ix")
    assert [i.find("span", "chip").text() for i in items] == ["200", "429", "429", "200"]
    assert [[c.text() for c in i.find_all("span", "retry")] for i in items] == [[], [], ["retry 1"], ["retry 2"]]
    assert all("HTTP 429" in i.find("div", "error").text() for i in items[1:3])
    # The second turn shows only what is new: the tool result, not the question again.
    assert messages(cassette, "user") == ["Weather in Lyon?"]
    assert [m for m in items[1].find_all("div", "role-assistant") if "reply" not in m.classes] == []
    [tool_turn] = items[1].find_all("div", "role-tool")
    assert tool_turn.find("div", "text").text() == '{"temp_c": 21}'
    assert call.id in tool_turn.find("div", "role").text()
    assert replies(items[3])[0].find("div", "text").text() == final.choices[0].message.content


def test_transport_failures_where_they_happened(fake_server: FakeServer, tmp_path: Path) -> None:
    path = tmp_path / "failures.yaml"
    with (
        openai.OpenAI(base_url=fake_server.base_url_openai, api_key=OPENAI_KEY, max_retries=0, timeout=0.2) as client,
        use_cassette(path, record_mode="once"),
    ):
        with pytest.raises(openai.APITimeoutError):
            client.chat.completions.create(model="gpt-4o-mini+slow1000", messages=[{"role": "user", "content": "hi"}])
        stream = client.chat.completions.create(
            model="gpt-4o-mini+drop3+chunks8", messages=[{"role": "user", "content": "tell me more"}], stream=True
        )
        with pytest.raises(openai.APIConnectionError):
            list(stream)
    recorded = load(path).interactions
    assert recorded[0].error is not None and recorded[1].response is not None and recorded[1].response.error
    doc = parse(render_report([path]))
    timeout, dropped = section(doc, "failures.yaml").find_all("div", "ix")
    assert timeout.find("span", "chip").text() == recorded[0].error.type
    assert timeout.find("div", "error").text().startswith(f"{recorded[0].error.type} after ")
    assert "no response" in timeout.find("div", "error").text()
    assert timeout.find_all("svg") == [] and replies(timeout) == []

    failure = recorded[1].response.error
    error = dropped.find("div", "error").text()
    assert error.startswith(f"stream dropped after {len(recorded[1].response.chunks or ())} chunks")
    assert failure.type in error
    [svg] = dropped.find_all("svg")
    assert svg.find("text", "drop-t").text() == "dropped"


# --- invalid cassettes, the library API and the CLI -------------------------------------------


def test_invalid_cassette_is_listed_with_file_line_and_reason(seen: Seen, tmp_path: Path) -> None:
    root = tmp_path / "cassettes"
    shutil.copytree(seen.root, root)
    broken = root / "tests" / "test_chat" / "broken.yaml"
    broken.write_text("version: 1\ninteractions:\n- request: {method: POST}\n  bogus: [\n", encoding="utf-8")
    with pytest.raises(CassetteFormatError) as exc_info:
        load(broken)
    doc = parse(render_report([root]))
    row = index_row(doc, "broken.yaml")
    assert row.find("td", "bad-t").text() == str(exc_info.value)
    assert re.search(r"broken\.yaml:\d+: ", str(exc_info.value))
    assert section(doc, "tests/test_chat/broken.yaml").find("div", "error").text() == str(exc_info.value)
    # The others still render.
    assert len(doc.find_all("details", "cassette")) == 7
    assert "1 invalid" in doc.find("div", "totals").text()


def test_write_report_returns_the_number_of_cassettes(seen: Seen, tmp_path: Path) -> None:
    out = tmp_path / "site" / "report.html"
    assert write_report([seen.root], out) == 6
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert section(parse(page), "tests/test_chat/test_stream.yaml")


def test_root_and_title(seen: Seen) -> None:
    doc = parse(render_report([seen.root / "tests" / "test_chat"], title="Nightly <run>", root=seen.root))
    assert doc.find("title").text() == "Nightly <run>"
    assert section(doc, "tests/test_chat/test_tool.yaml")
    assert {g.attrs["data-group"] for g in doc.find_all("tbody")} == {"tests/test_chat"}


def test_cli_report(seen: Seen, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "report.html"
    assert main(["report", str(seen.root), "-o", str(out), "--title", "CI cassettes"]) == 0
    assert "6 cassettes" in capsys.readouterr().out
    doc = parse(out.read_text(encoding="utf-8"))
    assert doc.find("h1").text() == "CI cassettes"
    assert section(doc, "tests/test_chat/test_tool.yaml")

    assert main(["report", str(tmp_path / "missing"), "-o", str(out)]) == 2
    assert "no such file or folder" in capsys.readouterr().err


def test_installed_executable(seen: Seen, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    exe = Path(sys.executable).with_name("llm-cassette")
    result = subprocess.run(
        [str(exe), "report", str(seen.root / "tests" / "test_claude"), "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    doc = parse(out.read_text(encoding="utf-8"))
    assert len(doc.find_all("details", "cassette")) == 2
    assert section(doc, "test_stream.yaml")  # relative to the folder given
