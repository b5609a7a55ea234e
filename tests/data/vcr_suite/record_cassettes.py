"""Re-record this suite's vcrpy cassettes with pytest-recording, against the bundled fake server.

    python tests/data/vcr_suite/record_cassettes.py   (from the repository root)

The cassettes must look like a real project's: recorded against `https://api.openai.com` and
`https://api.anthropic.com`, which is where the suite's clients go when no base URL is set. So the
suite records against two fake servers on 127.0.0.1 (OpenAI and Anthropic; gzip on, as the real
APIs answer) and the servers' addresses are then replaced with the real hosts. One prompt is put
back to its wording before a later edit of the test, as happens in a suite whose matching never
compared bodies: `tests/test_chat.py::test_joke` replays a drifted body.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from starlette.middleware.gzip import GZipMiddleware

from llm_cassette.fake_server import FakeServer

HERE = Path(__file__).resolve().parent
HOSTS = {"openai": "https://api.openai.com", "anthropic": "https://api.anthropic.com"}
DRIFT = ("Tell me a short joke about cats", "Tell me a joke")


def main() -> int:
    for old in HERE.rglob("cassettes"):
        shutil.rmtree(old)
    with FakeServer() as openai_server, FakeServer() as anthropic_server:
        for server in (openai_server, anthropic_server):
            server.app.add_middleware(GZipMiddleware, minimum_size=200)
            server.app.middleware_stack = None  # rebuilt with gzip on the next request
        env = {
            **os.environ,
            "OPENAI_BASE_URL": openai_server.base_url_openai,
            "ANTHROPIC_BASE_URL": anthropic_server.base_url_anthropic,
            "OPENAI_API_KEY": "sk-fake-vcr-suite-openai-0000",
            "ANTHROPIC_API_KEY": "sk-ant-fake-vcr-suite-anthropic-0000",
        }
        cmd = [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:llm_cassette",
            "-p",
            "no:cassetter",
            "-p",
            "no:cacheprovider",
            "--record-mode=all",
        ]
        code = subprocess.call(cmd, cwd=HERE, env=env)
        if code:
            return code
        replacements = [DRIFT]
        for server, real in ((openai_server, HOSTS["openai"]), (anthropic_server, HOSTS["anthropic"])):
            address = server.url.removeprefix("http://")
            replacements += [(server.url, real), (address, real.removeprefix("https://"))]
    for cassette in sorted(HERE.rglob("cassettes/**/*.yaml")):
        text = cassette.read_text(encoding="utf-8")
        for old, new in replacements:
            text = text.replace(old, new)
        cassette.write_text(text, encoding="utf-8")
        print(cassette.relative_to(HERE))
    return 0


if __name__ == "__main__":
    sys.exit(main())
