"""The HTML report in a real headless browser (Debian's `chromium`): it renders, its filter script
runs under the page's Content-Security-Policy without console errors, and a recorded `<script>`
stays text. Writes a screenshot (copied to `$LLM_CASSETTE_ARTIFACTS` when set).

Needs `chromium` on PATH (`apt-get install -y chromium`); skipped otherwise.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import anthropic
import openai
import pytest

from helpers import ANTHROPIC_KEY, OPENAI_KEY
from llm_cassette import use_cassette
from llm_cassette.fake_server import FakeServer
from llm_cassette.report import write_report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="needs a headless chromium on PATH (Debian: apt-get install -y chromium)"
)

XSS = "<script>alert(1)</script>"


@dataclass
class Node:
    """An element of the DOM chromium dumped, as the stdlib HTML parser reads it."""

    tag: str
    attrs: dict[str, str]
    children: list[Node | str] = field(default_factory=list)

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def walk(self) -> list[Node]:
        return [self] + [n for c in self.children if isinstance(c, Node) for n in c.walk()]

    def find_all(self, tag: str, cls: str | None = None) -> list[Node]:
        return [n for n in self.walk() if n.tag == tag and (cls is None or cls in n.attrs.get("class", "").split())]


class _TreeBuilder(HTMLParser):
    VOID = frozenset({"meta", "input", "br", "hr", "img", "link"})

    def __init__(self) -> None:
        super().__init__()
        self.stack = [Node("#document", {})]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in self.VOID:
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
    builder = _TreeBuilder()
    builder.feed(page)
    builder.close()
    return builder.stack[0]


def section(dom: Node, rel: str) -> Node:
    """The `<details>` of the cassette at relative path `rel`."""
    [found] = [d for d in dom.find_all("details", "cassette") if d.find_all("span", "path")[0].text() == rel]
    return found


def user_messages(node: Node) -> list[str]:
    return [m.find_all("div", "text")[0].text() for m in node.find_all("div", "role-user")]


def reply_text(node: Node) -> str:
    return node.find_all("div", "reply")[0].find_all("div", "text")[0].text()


def run_chromium(url: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """One headless chromium run, isolated (own profile, no network services), logging the console."""
    assert CHROMIUM is not None
    command = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        # Console messages (script errors, CSP violations) go to stderr as `...:CONSOLE...] "message"`.
        "--enable-logging=stderr",
        "--v=0",
        *args,
        url,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def console_messages(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in result.stderr.splitlines() if ":CONSOLE" in line]


@pytest.fixture(scope="module")
def report(fake_server_session: FakeServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    fake_server_session.reset()
    root = tmp_path_factory.mktemp("browser") / "cassettes"
    server = fake_server_session
    with openai.OpenAI(base_url=server.base_url_openai, api_key=OPENAI_KEY, max_retries=0) as client:
        with use_cassette(root / "tests" / "test_chat" / "test_stream.yaml", record_mode="once"):
            stream = client.chat.completions.create(
                model="gpt-4o-mini",
                messages=[{"role": "user", "content": "What is the capital of France?"}],
                stream=True,
                stream_options={"include_usage": True},
            )
            list(stream)
        with use_cassette(root / "tests" / "test_chat" / "test_xss.yaml", record_mode="once"):
            client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": XSS}])
    with (
        anthropic.Anthropic(base_url=server.base_url_anthropic, api_key=ANTHROPIC_KEY, max_retries=0) as claude,
        use_cassette(root / "tests" / "test_claude" / "test_plain.yaml", record_mode="once"),
    ):
        claude.messages.create(model="claude-haiku-4-5", max_tokens=64, messages=[{"role": "user", "content": "hello"}])
    out = root.parent / "report.html"
    assert write_report([root], out) == 3
    return out


def test_page_renders_and_its_script_runs_cleanly(report: Path, tmp_path: Path) -> None:
    result = run_chromium(report.as_uri(), tmp_path / "profile", "--dump-dom")
    assert result.returncode == 0, result.stderr[-2000:]
    assert console_messages(result) == []
    dom = parse(result.stdout)
    chat = section(dom, "tests/test_chat/test_stream.yaml")
    assert user_messages(chat) == ["What is the capital of France?"]
    assert reply_text(chat) == "The capital of France is Paris."
    assert reply_text(section(dom, "tests/test_claude/test_plain.yaml")) == "Echo: hello"
    # The recorded <script> is text inside the transcript: no element was created from it.
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in result.stdout
    assert user_messages(section(dom, "tests/test_chat/test_xss.yaml")) == [XSS]
    [script] = dom.find_all("script")
    assert "alert" not in script.text()
    # Collapsible sections, open while the report is small; one chart for the one stream.
    sections = dom.find_all("details", "cassette")
    assert len(sections) == 3 and all("open" in s.attrs for s in sections)
    assert len(dom.find_all("svg")) == 1 and chat.find_all("svg")


def test_filter_script_hides_what_does_not_match(report: Path, tmp_path: Path) -> None:
    # `?q=` prefills the filter box: the dumped DOM is the page after the script applied it.
    result = run_chromium(report.as_uri() + "?q=haiku", tmp_path / "profile", "--dump-dom")
    assert result.returncode == 0, result.stderr[-2000:]
    assert console_messages(result) == []
    dom = parse(result.stdout)
    rows = {r.find_all("a")[0].text(): "hidden" in r.attrs for r in dom.find_all("tr") if "data-target" in r.attrs}
    assert rows == {"test_stream.yaml": True, "test_xss.yaml": True, "test_plain.yaml": False}
    assert "hidden" in section(dom, "tests/test_chat/test_stream.yaml").attrs
    assert "hidden" not in section(dom, "tests/test_claude/test_plain.yaml").attrs
    groups = {g.attrs["data-group"]: "hidden" in g.attrs for g in dom.find_all("tbody")}
    assert groups == {"tests/test_chat": True, "tests/test_claude": False}
    [shown] = [n for n in dom.walk() if n.attrs.get("id") == "shown"]
    assert shown.text() == "1 of 3 cassettes match"


def test_screenshot(report: Path, tmp_path: Path) -> None:
    png = tmp_path / "report.png"
    result = run_chromium(report.as_uri(), tmp_path / "profile", f"--screenshot={png}", "--window-size=1280,2000")
    assert result.returncode == 0, result.stderr[-2000:]
    assert console_messages(result) == []
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    print(f"report screenshot: {png}")
    artifacts = os.environ.get("LLM_CASSETTE_ARTIFACTS")
    if artifacts:
        target = Path(artifacts)
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(png, target / "report.png")
        shutil.copy(report, target / "report.html")
        print(f"copied to {target}")


def test_console_check_sees_script_errors(tmp_path: Path) -> None:
    """The console check above is not vacuous: this chromium reports script errors and CSP blocks."""
    page = tmp_path / "broken.html"
    page.write_text(
        '<!DOCTYPE html><meta http-equiv="Content-Security-Policy" content="script-src \'sha256-AAAA\'">'
        "<p>x</p><script>notDefined()</script>",
        encoding="utf-8",
    )
    blocked = run_chromium(page.as_uri(), tmp_path / "p1", "--dump-dom")
    assert any("Content Security Policy" in line for line in console_messages(blocked)), blocked.stderr[-2000:]
    page.write_text("<!DOCTYPE html><p>x</p><script>notDefined()</script>", encoding="utf-8")
    failing = run_chromium(page.as_uri(), tmp_path / "p2", "--dump-dom")
    assert any("Uncaught ReferenceError" in line for line in console_messages(failing)), failing.stderr[-2000:]
