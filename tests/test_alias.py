"""`httpx2.alias_httpx()` makes `httpx` and `httpx2` one module: it is patched once and still works."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from llm_cassette.fake_server import FakeServer


def test_aliased_httpx_is_patched_once(tmp_path: Path, fake_server: FakeServer) -> None:
    pytest.importorskip("httpx2")
    script = tmp_path / "aliased.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import httpx2
            httpx2.alias_httpx()  # before anything imports httpx

            import httpx
            assert httpx is httpx2

            from llm_cassette import stacks, use_cassette
            adapters = stacks.install()
            assert len(adapters) == 1, adapters
            assert httpx.HTTPTransport.handle_request.__wrapped__ is adapters[0].original_sync

            url = {fake_server.base_url_openai!r} + "/models"
            for mode in ("once", "none"):
                with use_cassette({str(tmp_path / "alias.yaml")!r}, record_mode=mode) as session:
                    with httpx.Client() as client:
                        assert client.get(url).status_code == 200
                print(mode, session.recorded_count, session.play_count)
            """
        )
    )
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["once", "1", "0", "none", "0", "1"]
    assert fake_server.request_count == 1


def test_shipped_fake_server_fixture(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import openai

        def test_fixture(llm_fake_server):
            with openai.OpenAI(base_url=llm_fake_server.base_url_openai, api_key="sk-fake-fixture-0000") as c:
                r = c.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
            assert r.choices[0].message.content == "Echo: hi"
            assert llm_fake_server.request_count == 1
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)
