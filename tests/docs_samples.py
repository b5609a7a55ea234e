"""The code samples of the user guide, read from the pages themselves: a page is its samples' source.

The pages hold their code inline, so that they read the same on GitHub as in the built site, and the
tests in tests/test_docs.py run that code. A fenced block is tied to a test by an HTML comment on
the line before its fence (invisible on GitHub and in the site):

    <!-- sample: tests/test_summary.py -->               a whole sample file, or its first part
    <!-- sample: tests/test_matching.py, continued -->  the next part of the same file (same page)
    <!-- excerpt: tests/test_markers.py -->             lines found, in one piece, in that sample
    <!-- copy: docs/examples/agent_api/tests/conftest.py -->  a file of the repository, byte for byte
    <!-- tree: fastapi -->                              the files of a group's project, as a tree
    <!-- not-run: the reason -->                        a Python block no test runs, and why

A sample's name is `<group>/<path>`: the group says which test runs it (tests/test_docs.py), the
path is where the file goes in the project that test builds. A sample shown on two pages is shown
identically on both. `LLM_CASSETTE_UPDATE_DOCS=1` rewrites command outputs and copies in place.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"

FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*([\w+-]*)")
MARKER = re.compile(r"^\s*<!--\s*(sample|excerpt|copy|tree|not-run):\s*(\S.*?)\s*-->\s*$")
CONTINUED = ", continued"


@dataclass(frozen=True)
class Block:
    """One fenced code block of a page."""

    page: Path
    line: int  # 1-based line of the opening fence
    indent: str
    lang: str
    lines: list[str]
    marker: str  # the nearest non-blank line before the fence

    @property
    def text(self) -> str:
        return "\n".join(self.lines) + "\n"

    @property
    def tag(self) -> tuple[str, str] | None:
        """("sample" | "excerpt" | "copy" | "tree" | "not-run", its argument), from the comment before the fence."""
        m = MARKER.match(self.marker)
        return (m.group(1), m.group(2)) if m else None

    def __str__(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def pages() -> list[Path]:
    return sorted(DOCS.glob("*.md"))


def blocks(page: Path) -> Iterator[Block]:
    lines = page.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, ticks, lang = m.groups()
        start = i
        body: list[str] = []
        i += 1
        while i < len(lines) and not lines[i].strip().startswith(ticks):
            body.append(lines[i][len(indent) :])
            i += 1
        before = next((line for line in reversed(lines[:start]) if line.strip()), "")
        yield Block(page, start + 1, indent, lang.lower(), body, before)
        i += 1


def all_blocks() -> list[Block]:
    return [block for page in pages() for block in blocks(page)]


def tagged(kind: str) -> list[tuple[str, Block]]:
    return [(tag[1], block) for block in all_blocks() if (tag := block.tag) and tag[0] == kind]


def samples(check: bool = True) -> dict[str, str]:
    """Every sample's text by name: its parts joined, each copy checked to be the same (unless not `check`)."""
    texts: dict[str, str] = {}
    shown: dict[str, Block] = {}
    for page in pages():
        last: str | None = None
        for block in blocks(page):
            tag = block.tag
            if not tag or tag[0] != "sample":
                continue
            name = tag[1]
            if name.endswith(CONTINUED):
                name = name.removesuffix(CONTINUED)
                assert last == name, f"{block}: a continued part of {name!r} must follow a part of it on the page"
                texts[name] = texts[name].rstrip("\n") + "\n\n\n" + block.text
                continue
            last = name
            if name in shown:
                assert not check or block.text == texts[name], f"{block}: {name!r} differs from {shown[name]}"
                continue
            shown[name] = block
            texts[name] = block.text
    return texts


def group(prefix: str) -> dict[str, str]:
    """The samples under `prefix/`, by their path in that group's project."""
    return {name.removeprefix(prefix + "/"): text for name, text in samples().items() if name.startswith(prefix + "/")}


def rewrite(kind: str, name: str, text: str) -> int:
    """Replace the content of every block tagged `<!-- kind: name -->` by `text`; how many there were."""
    count = 0
    for page in pages():
        found = [b for b in blocks(page) if b.tag == (kind, name)]
        if not found:
            continue
        lines = page.read_text(encoding="utf-8").splitlines()
        for block in reversed(found):  # from the end, so that the earlier line numbers still hold
            new = [block.indent + line if line else "" for line in text.removesuffix("\n").split("\n")]
            lines[block.line : block.line + len(block.lines)] = new
        page.write_text("\n".join(lines) + "\n", encoding="utf-8")
        count += len(found)
    return count


def tree(name: str) -> list[str]:
    """The file paths the `<!-- tree: name -->` block draws (`├── a/`, `│   └── b.py`: 4 columns a level)."""
    [(_, block)] = [(n, b) for n, b in tagged("tree") if n == name]
    paths: list[str] = []
    stack: list[str] = []
    for line in block.lines[1:]:  # the first line is the project folder itself
        m = re.match(r"^([│ ]   )*[├└]── (.+)$", line)
        assert m, f"{block}: not a line of a tree: {line!r}"
        depth = (len(line) - len(m.group(2))) // 4 - 1
        del stack[depth:]
        entry = m.group(2).split("  #", 1)[0].strip()
        if entry.endswith("/"):
            stack.append(entry)
        else:
            paths.append("".join(stack) + entry)
    return paths
