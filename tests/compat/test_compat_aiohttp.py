"""aiohttp: `ClientSession` used directly, and the SDKs' aiohttp transports imported inside the
test body, after the cassette started (they send through `ClientSession`, which llm-cassette
patches when aiohttp is first imported, whenever that is).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from helpers import OPENAI_KEY, user

aiohttp = pytest.importorskip("aiohttp")

MODEL = "gpt-4o-mini"


@pytest.mark.asyncio
async def test_client_session(roundtrip: Any) -> None:
    async def call() -> Any:
        url = f"{roundtrip.server.base_url_openai}/chat/completions"
        headers = {"authorization": f"Bearer {OPENAI_KEY}"}
        async with aiohttp.ClientSession(headers=headers) as session:
            async with session.post(url, json={"model": MODEL, "messages": user("hi aiohttp")}) as r:
                reply = await r.json()
            stream = {"model": f"{MODEL}+chunks3", "messages": user("streamed aiohttp"), "stream": True}
            async with session.post(url, json=stream) as r:
                lines = [line async for line in r.content if line.strip()]
        return reply["choices"][0]["message"]["content"], lines

    result = await roundtrip.arun(call)
    assert result.value[0] == "Echo: hi aiohttp"
    assert result.value[1][-1] == b"data: [DONE]\n"


# The SDK, and aiohttp with it, imported for the first time inside the cassette: a fresh
# interpreter, since this one imported them long ago.
LAZY_IMPORT = """
import asyncio, json, sys
import llm_cassette

SDKS = ("aiohttp", "openai")
assert not any(name in sys.modules for name in SDKS), "imported too early"

async def call(url, key):
    import openai
    async with openai.AsyncOpenAI(
        base_url=url, api_key=key, max_retries=0, http_client=openai.DefaultAioHttpClient()
    ) as client:
        reply = await client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "lazy"}]
        )
        stream = await client.chat.completions.create(
            model="gpt-4o-mini+chunks3", messages=[{"role": "user", "content": "lazy stream"}], stream=True
        )
        pieces = [c.choices[0].delta.content async for c in stream if c.choices]
    return reply.choices[0].message.content, pieces

async def main(path, url, key):
    async with llm_cassette.use_cassette(path, record_mode="once") as rec:
        recorded = await call(url, key)
    async with llm_cassette.use_cassette(path, record_mode="none") as play:
        replayed = await call(url, key)
    runs = {"recorded": recorded, "replayed": replayed}
    print(json.dumps({**runs, "rec": len(rec.interactions), "played": play.play_count}))

asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3]))
"""


def test_sdk_aiohttp_transport_imported_inside_the_test(fake_server: Any, tmp_path: Path) -> None:
    # litellm's aiohttp transport goes the same way (test_compat_frameworks.py records it with no
    # patch of its own); importing litellm in a fresh interpreter costs seconds, so not here.
    path = tmp_path / "lazy.yaml"
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(LAZY_IMPORT), str(path), fake_server.base_url_openai, OPENAI_KEY],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["replayed"] == out["recorded"]
    assert out["recorded"][0] == "Echo: lazy"
    assert "".join(p or "" for p in out["recorded"][1]) == "Echo: lazy stream"
    assert out["rec"] == 2 == out["played"]  # once each: no second copy from another layer
    assert fake_server.request_count == 2, "the replay reached the server"
