"""What the benchmarks replay: payloads, and one cassette per tool in that tool's own format.

The small cassettes (one chat completion, one ~500-event SSE stream, one chat completion sent by
the openai SDK) are recorded by each tool itself against the bundled fake server, so every tool
replays a file it wrote. The 2,000-interaction cassette is too slow to record request by request
on every run, so it is written through each tool's own writer (`llm_cassette.save`,
vcrpy's `Cassette._save`, cassetter's `Cassette.record` + `save`) from the same interactions.
After recording, the fake server is stopped: a request that a tool failed to intercept meets a
closed port and fails loudly instead of being measured.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import cassetter
import httpx
import openai
import vcr

from llm_cassette import CassetteData, Chunk, Interaction, Request, Response, use_cassette
from llm_cassette import load as llm_load
from llm_cassette import save as llm_save
from llm_cassette.fake_server import FakeServer

FAKE_KEY = "sk-fake-benchmark-key-0000"

# ~1.1 KB request whose reply is a ~1.5 KB chat.completion JSON.
CHAT_BODY: dict[str, Any] = {
    "model": "gpt-4o-mini",
    "messages": [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": " ".join(["word"] * 200)},
    ],
}
SSE_BODY: dict[str, Any] = {
    "model": "gpt-4o-mini+chunks500",
    "stream": True,
    "messages": [{"role": "user", "content": "Count to five hundred."}],
}
TOOLS_THAT_RECORD = ("llm-cassette", "vcrpy", "cassetter")


def recorder(tool: str, path: Path) -> AbstractContextManager[Any]:
    """The tool's context manager that records everything into `path`."""
    if tool == "llm-cassette":
        return use_cassette(path, record_mode="all")
    if tool == "vcrpy":
        return cast("AbstractContextManager[Any]", vcr.VCR(record_mode="all").use_cassette(str(path)))
    if tool == "cassetter":
        return cassetter.use_cassette(path, record_mode="all")
    raise ValueError(tool)


@dataclass
class Recorded:
    """One response as the wire delivered it, for the floor and the mocking libraries."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes
    chunks: list[bytes] = field(default_factory=list)


@dataclass
class Corpus:
    """Every file and payload the workloads need (all under one temporary folder)."""

    root: Path
    base_url: str  # the fake server's address the cassettes were recorded with (now closed)
    chat: dict[str, Path] = field(default_factory=dict)  # tool -> cassette (raw httpx chat)
    sdk: dict[str, Path] = field(default_factory=dict)  # tool -> cassette (openai SDK chat)
    sse: dict[str, Path] = field(default_factory=dict)  # tool -> cassette (SSE stream)
    big: dict[str, Path] = field(default_factory=dict)  # tool -> 2,000-interaction cassette
    mid: dict[str, Path] = field(default_factory=dict)  # tool -> 1,500 interactions (llm-cassette, cassetter)
    small: dict[str, Path] = field(default_factory=dict)  # tool -> 20-interaction cassette
    chat_response: Recorded | None = None
    sse_response: Recorded | None = None
    big_requests: list[bytes] = field(default_factory=list)  # request bodies of `big`, in order
    big_responses: list[bytes] = field(default_factory=list)

    @property
    def chat_url(self) -> str:
        return self.base_url + "/v1/chat/completions"

    @property
    def openai_base(self) -> str:
        return self.base_url + "/v1"


def _read_stream(client: httpx.Client, url: str, body: dict[str, Any]) -> int:
    with client.stream("POST", url, json=body) as r:
        return sum(1 for _ in r.iter_bytes())


def _split_events(chunks: tuple[Chunk, ...]) -> tuple[Chunk, ...]:
    """One chunk per SSE event: TCP sometimes coalesces two events, which would make the chunk
    count (and so the work per replay) differ from run to run."""
    out: list[Chunk] = []
    for c in chunks:
        parts = c.data.split(b"\n\n")
        for i, p in enumerate(parts):
            piece = p + b"\n\n" if i < len(parts) - 1 else p
            if piece:
                out.append(Chunk(piece, c.t))
    return tuple(out)


def build(root: Path, *, big_count: int, mid_count: int, small_count: int, log: Callable[[str], None]) -> Corpus:
    """Record the small cassettes with every tool, then write the large ones."""
    root.mkdir(parents=True, exist_ok=True)
    with FakeServer() as server:
        corpus = Corpus(root=root, base_url=server.url)
        for tool in TOOLS_THAT_RECORD:
            slug = tool.replace("-", "_")
            for kind, target in (("chat", corpus.chat), ("sdk", corpus.sdk), ("sse", corpus.sse)):
                path = root / slug / f"{kind}.yaml"
                with recorder(tool, path):
                    if kind == "chat":
                        with httpx.Client() as client:
                            client.post(corpus.chat_url, json=CHAT_BODY).raise_for_status()
                    elif kind == "sse":
                        with httpx.Client() as client:
                            _read_stream(client, corpus.chat_url, SSE_BODY)
                    else:
                        sdk = openai.OpenAI(base_url=corpus.openai_base, api_key=FAKE_KEY, max_retries=0)
                        try:
                            sdk.chat.completions.create(**CHAT_BODY)
                        finally:
                            sdk.close()
                target[tool] = path
        log(f"recorded 9 small cassettes against the fake server ({server.request_count} requests)")

    # Normalise llm-cassette's SSE recording to one chunk per event (see _split_events).
    sse_path = corpus.sse["llm-cassette"]
    data = llm_load(sse_path)
    it = data.interactions[0]
    assert it.response is not None and it.response.chunks is not None
    resp = Response(
        status=it.response.status,
        headers=it.response.headers,
        chunks=_split_events(it.response.chunks),
        t=it.response.t,
    )
    llm_save(sse_path, CassetteData([Interaction(request=it.request, response=resp)]))
    corpus.sse_response = Recorded(resp.status, list(resp.headers), resp.content, [c.data for c in resp.chunks or ()])

    chat = llm_load(corpus.chat["llm-cassette"]).interactions[0]
    assert chat.response is not None
    corpus.chat_response = Recorded(chat.response.status, list(chat.response.headers), chat.response.body)

    _write_big(corpus, chat, big_count, mid_count, small_count)
    sizes = ", ".join(f"{t} {os.path.getsize(p) / 1e6:.1f} MB" for t, p in corpus.big.items())
    log(f"wrote the {big_count}-interaction cassettes ({sizes})")
    return corpus


# --- the large cassette -----------------------------------------------------------------------


def _big_interactions(template: Interaction, count: int) -> Iterator[tuple[Request, Response]]:
    """`count` chat completions with distinct request bodies, shaped like the recorded one."""
    assert template.response is not None
    reply = json.loads(template.response.body)
    filler = " ".join(f"context-{k}" for k in range(50))  # ~0.7 KB request, ~1.2 KB reply: ~5 MB in all
    for i in range(count):
        body = {
            "model": "gpt-4o-mini",
            "messages": [
                {"role": "system", "content": "You are a helpful assistant."},
                {"role": "user", "content": f"Question {i}: {filler}"},
            ],
        }
        raw = json.dumps(body, separators=(",", ":")).encode()
        headers = tuple((k, str(len(raw)) if k == "content-length" else v) for k, v in template.request.headers)
        out = copy.deepcopy(reply)
        out["id"] = f"chatcmpl-{i:024x}"
        out["choices"][0]["message"]["content"] = f"Echo: Question {i}: {filler}"
        resp_raw = json.dumps(out, separators=(",", ":")).encode()
        resp_headers = tuple(
            (k, str(len(resp_raw)) if k == "content-length" else v) for k, v in template.response.headers
        )
        yield (
            Request(template.request.method, template.request.url, headers, raw),
            Response(template.response.status, resp_headers, resp_raw, t=template.response.t),
        )


def _multi(headers: tuple[tuple[str, str], ...]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for k, v in headers:
        out.setdefault(k.lower(), []).append(v)
    return out


def _write_one(tool: str, path: Path, pairs: list[tuple[Request, Response]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if tool == "llm-cassette":
        llm_save(path, CassetteData([Interaction(request=q, response=r) for q, r in pairs]))
    elif tool == "vcrpy":
        from vcr.cassette import Cassette
        from vcr.record_mode import RecordMode
        from vcr.request import Request as VcrRequest

        cas = Cassette(str(path), record_mode=RecordMode.ALL)
        for q, r in pairs:
            cas.append(
                VcrRequest(q.method, q.url, q.body, dict(q.headers)),
                {
                    "status": {"code": r.status, "message": "OK"},
                    "headers": _multi(r.headers),
                    "body": {"string": r.body},
                },
            )
        cas._save(force=True)
    elif tool == "cassetter":
        cas2 = cassetter.Cassette(path, record_mode=cassetter.RecordMode.ALL)
        cas2.load()
        for q, r in pairs:
            cas2.record(q.method, q.url, _multi(q.headers), q.body, r.status, _multi(r.headers), r.body)
        cas2.save()
    else:
        raise ValueError(tool)


def _write_big(corpus: Corpus, template: Interaction, big_count: int, mid_count: int, small_count: int) -> None:
    pairs = list(_big_interactions(template, big_count))
    corpus.big_requests = [q.body for q, _ in pairs]
    corpus.big_responses = [r.body for _, r in pairs]
    for tool in TOOLS_THAT_RECORD:
        slug = tool.replace("-", "_")
        corpus.big[tool] = corpus.root / slug / "big.yaml"
        corpus.small[tool] = corpus.root / slug / "small.yaml"
        _write_one(tool, corpus.big[tool], pairs)
        _write_one(tool, corpus.small[tool], pairs[:small_count])
        if tool != "vcrpy":
            corpus.mid[tool] = corpus.root / slug / "mid.yaml"
            _write_one(tool, corpus.mid[tool], pairs[:mid_count])


def cleanup_root(root: Path) -> None:
    shutil.rmtree(root, ignore_errors=True)
