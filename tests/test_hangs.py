"""Nothing hangs: closing an unread download, the command line on special files, replay timing with
a hand-edited `t`.

A hang shows as a worker thread still running after a generous deadline: the assertion fails
instead of the suite blocking (these are not speed targets; those live in benchmarks/).
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
import openai
import pytest
import uvicorn
import yaml
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from llm_cassette import load, use_cassette
from llm_cassette.cli import main as cli_main
from llm_cassette.fake_server import FakeServer

OPENAI_KEY = "sk-fake-openai-key-for-tests-0000"
DEADLINE = 20.0  # seconds; a hang never ends, a working close takes milliseconds
PIECE = b"0123456789abcdef" * 64  # 1 KiB


def finishes(work: Callable[[], Any], deadline: float = DEADLINE) -> Any:
    """Run `work` in a thread; fail (instead of hanging) when it is still running at the deadline."""
    result: list[Any] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            result.append(work())
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(deadline)
    assert not thread.is_alive(), f"still running after {deadline} s: it hangs"
    if errors:
        raise errors[0]
    return result[0] if result else None


# --- an upstream whose download never ends ----------------------------------------------------------


async def endless(request: Request) -> StreamingResponse:
    """A file download (not SSE, no content-length) that never ends, like a stuck or huge export."""

    async def body() -> Any:
        while True:
            yield PIECE
            await asyncio.sleep(0.01)

    return StreamingResponse(body(), media_type="application/octet-stream")


@pytest.fixture(scope="module")
def endless_url() -> Iterator[str]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # no 40 ms keep-alive stall
    sock.bind(("127.0.0.1", 0))
    app = Starlette(routes=[Route("/files/export", endless)])
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=1))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/files/export"
    server.should_exit = server.force_exit = True
    thread.join(10)


@pytest.mark.parametrize("stack", [httpx, httpx2], ids=["httpx", "httpx2"])
@pytest.mark.parametrize("read", [0, 3], ids=["unread", "three-pieces-read"])
def test_closing_an_endless_download_returns_at_once_and_records_what_was_read_as_cut(
    stack: Any, read: int, tmp_path: Path, endless_url: str
) -> None:
    cassette = tmp_path / "c.yaml"

    def download() -> bytes:
        seen = b""
        with (
            use_cassette(cassette, record_mode="once"),
            stack.Client() as client,
            client.stream("GET", endless_url) as response,
        ):
            assert response.status_code == 200
            pieces = response.iter_raw()
            for _ in range(read):
                seen += next(pieces)
        return seen

    seen = finishes(download)
    recorded = load(cassette).interactions[0].response
    assert recorded is not None and recorded.status == 200
    assert recorded.cut and recorded.error is None
    assert recorded.content == seen  # what the caller read, nothing more, nothing made up

    def replay() -> bytes:
        with use_cassette(cassette, record_mode="none"), stack.Client() as client:
            return bytes(client.get(endless_url).content)

    assert finishes(replay) == seen


@pytest.mark.parametrize("stack", [httpx, httpx2], ids=["httpx", "httpx2"])
def test_closing_an_endless_async_download_returns_at_once(stack: Any, tmp_path: Path, endless_url: str) -> None:
    cassette = tmp_path / "c.yaml"

    async def download() -> bytes:
        seen = b""
        with anyio.fail_after(DEADLINE):
            async with (
                use_cassette(cassette, record_mode="once"),
                stack.AsyncClient() as client,
                client.stream("GET", endless_url) as response,
            ):
                async for piece in response.aiter_raw():
                    seen += piece
                    if len(seen) >= 2 * len(PIECE):
                        break
        return seen

    seen = anyio.run(download)
    recorded = load(cassette).interactions[0].response
    assert recorded is not None and recorded.cut and recorded.content == seen


def test_an_sdk_error_response_it_reads_is_still_recorded_whole(tmp_path: Path, fake_server: FakeServer) -> None:
    # No drain on close does not lose what SDKs raise: they read the error body before raising.
    cassette = tmp_path / "c.yaml"
    with (
        use_cassette(cassette, record_mode="once"),
        openai.OpenAI(base_url=fake_server.base_url_openai, api_key=OPENAI_KEY, max_retries=0) as client,
        pytest.raises(openai.InternalServerError),
    ):
        client.chat.completions.create(
            model="gpt-4o-mini+fail500", messages=[{"role": "user", "content": "hi"}], stream=True
        )
    recorded = load(cassette).interactions[0].response
    assert recorded is not None and recorded.status == 500 and not recorded.cut
    assert b'"type":"server_error"' in recorded.content


# --- the command line on files that are not cassettes -------------------------------------------------


@pytest.fixture
def special_files(tmp_path: Path) -> Iterator[dict[str, Path]]:
    """A FIFO, a symlink to /dev/zero and a listening unix socket, each named like a cassette."""
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    zero = tmp_path / "zero.yaml"
    zero.symlink_to("/dev/zero")
    sock = tmp_path / "sock.yaml"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind(str(sock))
        listener.listen()
        yield {"fifo": fifo, "symlink to /dev/zero": zero, "unix socket": sock}


COMMANDS: dict[str, Callable[[Path, Path], list[str]]] = {
    "check": lambda p, out: ["check", str(p)],
    "show": lambda p, out: ["show", str(p)],
    "stats": lambda p, out: ["stats", str(p)],
    "report": lambda p, out: ["report", str(p), "-o", str(out / "report.html")],
    "scrub": lambda p, out: ["scrub", str(p)],
    "import": lambda p, out: ["import", str(p), "--out", str(out / "imported")],
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_refuses_a_fifo_a_device_and_a_socket_without_reading_them(
    command: str, special_files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for kind, path in special_files.items():
        code = finishes(lambda path=path: cli_main(COMMANDS[command](path, tmp_path)))  # type: ignore[misc]
        captured = capsys.readouterr()
        said = captured.out + captured.err
        if command == "report":  # the page lists what it could not read, and is still written
            said = (tmp_path / "report.html").read_text(encoding="utf-8")
        else:
            assert code != 0, (kind, captured)
        assert "not a regular file" in said and path.name in said, (kind, said)
    assert not list(tmp_path.glob("imported/**/*.yaml"))


def test_a_folder_with_special_files_is_checked_without_them(
    special_files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "good.yaml"
    good.write_text("version: 1\ninteractions: []\n", encoding="utf-8")
    for command in ("check", "show", "stats"):
        assert finishes(lambda command=command: cli_main([command, str(tmp_path)])) == 0  # type: ignore[misc]
    assert "1 cassette file checked: no problems" in capsys.readouterr().out


# --- replay timing with a hand-edited `t` ----------------------------------------------------------------


def test_replay_timing_clamps_an_absurd_recorded_wait_and_says_so(tmp_path: Path, fake_server: FakeServer) -> None:
    cassette = tmp_path / "c.yaml"
    with (
        use_cassette(cassette, record_mode="once"),
        openai.OpenAI(base_url=fake_server.base_url_openai, api_key=OPENAI_KEY, max_retries=0) as client,
    ):
        list(
            client.chat.completions.create(
                model="gpt-4o-mini+chunks5", messages=[{"role": "user", "content": "hi"}], stream=True
            )
        )
    doc = yaml.safe_load(cassette.read_text(encoding="utf-8"))
    doc["interactions"][0]["response"]["chunks"][2]["t"] = 1.0e12  # 31 years, by hand
    cassette.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")

    def replay() -> int:
        with (
            use_cassette(cassette, record_mode="none", replay_timing=True),
            openai.OpenAI(
                base_url=fake_server.base_url_openai, api_key=OPENAI_KEY, max_retries=0, timeout=0.5
            ) as client,
        ):
            stream = client.chat.completions.create(
                model="gpt-4o-mini+chunks5", messages=[{"role": "user", "content": "hi"}], stream=True
            )
            return len(list(stream))

    with pytest.warns(UserWarning, match=r"c\.yaml: interaction #1 waits 1e\+12 ms .* waiting 0\.5 s"):
        assert finishes(replay) == 7  # role, five pieces, the final chunk: every event, in order
