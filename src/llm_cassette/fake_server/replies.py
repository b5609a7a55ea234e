"""What the fake server answers, as pure functions of the request: text, ids, token counts, chunking."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "CREATED",
    "MODELS",
    "JSONDict",
    "argument_pieces",
    "compact_json",
    "content_pieces",
    "reply_for",
    "sha256_hex",
    "text_of",
    "truncate_words",
    "word_count",
]


#: The fixed ``created`` timestamp of every answer (2023-11-14T22:13:20Z).
CREATED = 1_700_000_000
#: Model ids listed by ``GET /v1/models``.
MODELS: tuple[str, ...] = (
    "gpt-4o-mini",
    "gpt-4o",
    "text-embedding-3-small",
    "claude-haiku-4-5",
    "claude-opus-4-6",
)

_CANNED: tuple[tuple[str, str], ...] = (
    ("capital of france", "The capital of France is Paris."),
    ("2+2", "2 + 2 = 4."),
    ("2 + 2", "2 + 2 = 4."),
    ("say hello", "Hello! How can I help you today?"),
    ("tell me a joke", "Why do programmers prefer dark mode? Because light attracts bugs."),
)
_EMPTY_REPLY = "Hello from the fake LLM server."
_ARGUMENT_FRAGMENT_CHARS = 8

#: A JSON object as the routes build it.
JSONDict = dict[str, Any]


def sha256_hex(raw: bytes) -> str:
    """The hex sha256 of a request body: the seed of every id in its answer."""
    return hashlib.sha256(raw).hexdigest()


def compact_json(obj: object) -> str:
    """JSON without spaces, non-ASCII kept (as the providers send it)."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def word_count(text: str) -> int:
    """The fake token count of a text: its number of words."""
    return len(text.split())


def text_of(content: object) -> str:
    """The plain text of an OpenAI/Anthropic message content (string or list of parts)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, Mapping):
        for key in ("text", "content"):
            if key in content:
                return text_of(content[key])
        return ""
    if isinstance(content, Sequence):
        return " ".join(text for text in (text_of(part) for part in content) if text)
    return str(content)


def reply_for(user_text: str) -> str:
    """The deterministic answer to a user message."""
    lowered = user_text.lower()
    for needle, answer in _CANNED:
        if needle in lowered:
            return answer
    stripped = " ".join(user_text.split())
    return f"Echo: {stripped}" if stripped else _EMPTY_REPLY


def truncate_words(text: str, max_tokens: object) -> tuple[str, bool]:
    """``text`` cut to ``max_tokens`` words, and whether it was cut."""
    if isinstance(max_tokens, int) and not isinstance(max_tokens, bool) and max_tokens >= 0:
        words = text.split()
        if len(words) > max_tokens:
            return " ".join(words[:max_tokens]), True
    return text, False


def _word_pieces(text: str) -> list[str]:
    """Split into word-sized pieces that concatenate back to ``text`` (' world' style)."""
    pieces = re.findall(r"\s*\S+", text)
    rest = text[len("".join(pieces)) :]
    if rest:
        if pieces:
            pieces[-1] += rest
        else:
            pieces.append(rest)
    return pieces or [""]


def content_pieces(text: str, chunks: int | None) -> list[str]:
    """Word pieces of ``text``; with ``chunks``, exactly that many (grouped, or padded by repetition)."""
    pieces = _word_pieces(text)
    if chunks is None:
        return pieces
    if len(pieces) >= chunks:
        size, extra = divmod(len(pieces), chunks)
        grouped: list[str] = []
        start = 0
        for index in range(chunks):
            end = start + size + (1 if index < extra else 0)
            grouped.append("".join(pieces[start:end]))
            start = end
        return grouped
    words = text.split() or ["fake"]
    padded = list(pieces)
    index = 0
    while len(padded) < chunks:
        padded.append(" " + words[index % len(words)])
        index += 1
    return padded


def argument_pieces(arguments: str, chunks: int | None) -> list[str]:
    """Tool call arguments split into 8-character fragments, or into exactly ``chunks`` pieces."""
    if chunks is None:
        step = _ARGUMENT_FRAGMENT_CHARS
        return [arguments[i : i + step] for i in range(0, len(arguments), step)] or [""]
    size, extra = divmod(len(arguments), chunks)
    pieces: list[str] = []
    start = 0
    for index in range(chunks):
        end = start + size + (1 if index < extra else 0)
        pieces.append(arguments[start:end])
        start = end
    return pieces
