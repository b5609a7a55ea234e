"""`llm-cassette fake-server`: run the bundled fake OpenAI/Anthropic-compatible server."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on (default: 8000)")


def run(args: argparse.Namespace) -> int:
    try:
        from ..fake_server import serve
    except ImportError as exc:  # the `server` extra is not installed
        print(f"llm-cassette fake-server needs FastAPI and uvicorn: pip install 'pytest-llm-cassette[server]' ({exc})")
        return 2
    print(f"fake LLM server on http://{args.host}:{args.port} (OpenAI base_url: /v1; Anthropic: /)", flush=True)
    serve(args.host, args.port)
    return 0
