"""Find secret-shaped strings in cassette text: the last line of defence before a commit.

Redaction on record removes the credentials it knows about; this scanner looks at the text that
reached disk for anything that still looks like one: provider API keys, AWS access key ids, bearer
tokens, JWTs, and long random values under credential-like keys. It works on raw text, line by
line, so every finding points at an exact line, even in a file that is not valid YAML. A finding
never carries the secret itself, only a masked excerpt, so reports and CI logs are safe to share.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import itertools
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .redaction import PLACEHOLDER

# Values llm-cassette itself writes: the redaction placeholder and the fake keys and AWS
# credentials the pytest plugin puts in the environment during replay (plugin/replay_env.py).
# Anything else that looks like a key is reported, however fake it may be, because the scanner
# cannot tell a convincing fake from a real key.
ALLOWED_VALUES = frozenset(
    {
        PLACEHOLDER,
        "sk-llm-cassette-placeholder-not-a-real-key",
        "AKIALLMCASSETTEFAKE00",
        "llm-cassette-placeholder-not-a-real-aws-secret",
    }
)

# A long random value under a credential-like key: at least this long, at least this many bits of
# Shannon entropy per character (random base62 of length 20 scores about 4; words repeated or a
# single repeated character score well under 3).
MIN_CREDENTIAL_LENGTH = 20
MIN_ENTROPY = 3.0

# A key is a whole token, never the middle of a longer one ("task-..." holds no "sk-" key).
_NOT_KEY_CHAR = r"(?<![A-Za-z0-9_-])"
_END = r"(?![A-Za-z0-9_-])"


@dataclass(frozen=True)
class _Pattern:
    kind: str
    description: str
    regex: re.Pattern[str]


# Most specific first: where two patterns cover the same text, the first one wins
# (an "sk-ant-" key is an Anthropic key, not an OpenAI one; "Bearer sk-..." is an OpenAI key).
_PATTERNS: tuple[_Pattern, ...] = (
    _Pattern("anthropic-key", "Anthropic API key", re.compile(_NOT_KEY_CHAR + r"sk-ant-[A-Za-z0-9_-]{20,}")),
    _Pattern(
        "openai-key",
        "OpenAI API key",
        re.compile(_NOT_KEY_CHAR + r"sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}"),
    ),
    _Pattern("google-api-key", "Google API key", re.compile(_NOT_KEY_CHAR + r"AIza[0-9A-Za-z_-]{35}" + _END)),
    _Pattern(
        "aws-access-key-id",
        "AWS access key id",
        re.compile(r"(?<![A-Za-z0-9])(?:AKIA|ASIA)[0-9A-Z]{16}(?![A-Za-z0-9])"),
    ),
    _Pattern(
        "jwt",
        "JSON Web Token",
        re.compile(_NOT_KEY_CHAR + r"eyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"),
    ),
    _Pattern(
        "bearer-token",
        "bearer token",
        re.compile(r"(?i)\bbearer\s+([A-Za-z0-9._~+/=-]{20,})"),
    ),
)

# `key: value` (YAML), `"key": "value"` (JSON, possibly escaped inside a YAML string) and
# `key=value` (query strings, form bodies). Group `value` stops at quotes, separators and spaces,
# except that an auth scheme word ("Basic xyz") is kept with its token. Zero-width (a look-ahead)
# so that matches may overlap: the value of `url: https://h/?key=v` must not hide the `key=v`.
_KEY_VALUE = re.compile(
    r"""(?<![A-Za-z0-9_.-])(?=(?P<key>[A-Za-z_][A-Za-z0-9_.-]*)\\?["']?\s*[:=]\s*\\?["']?"""
    r"""(?P<value>(?:(?:basic|token|bearer|bot)\s+)?[^\s"'\\,;&}\]]+))""",
    re.IGNORECASE,
)

# Credential-like key names, compared after lowercasing and turning "-" and "." into "_":
# the whole name, or its last "_"-separated words. "prompt_tokens" is not one; "x-api-key" is.
_CREDENTIAL_SUFFIXES = (
    "api_key",
    "apikey",
    "secret",
    "secret_key",
    "token",
    "password",
    "passwd",
    "pwd",
    "authorization",
    "private_key",
    "access_key",
    "credential",
    "credentials",
    "auth",
    "subscription_key",
)
_CREDENTIAL_NAMES = frozenset({"key"})
# Names that end like a credential but hold pagination cursors and the like.
_NOT_CREDENTIAL_NAMES = frozenset({"page_token", "next_page_token", "next_token", "continuation_token", "sync_token"})

_BASE64_LINE = re.compile(r"""^\s*(?:-\s+)?["']?base64["']?\s*:\s*["']?(?P<value>[A-Za-z0-9+/=]{16,})["']?\s*$""")


@dataclass(frozen=True)
class SecretFinding:
    """A secret-shaped string in a file: where it is and what it looks like, never the value itself."""

    path: Path | None
    line: int
    kind: str
    excerpt: str
    description: str

    @property
    def message(self) -> str:
        return f"possible {self.description} {self.excerpt!r}"


def mask(value: str) -> str:
    """The first 6 characters of a secret and an ellipsis: enough to find it, not enough to use it."""
    return value[:6] + "…"


def shannon_entropy(value: str) -> float:
    """Bits of entropy per character of `value`, from its character frequencies."""
    if not value:
        return 0.0
    total = len(value)
    return -sum(n / total * math.log2(n / total) for n in Counter(value).values())


def is_credential_key(name: str) -> bool:
    """Whether a JSON/YAML key or query parameter name is one a credential is stored under."""
    norm = re.sub(r"[-.\s]", "_", name.strip().lower())
    if norm in _NOT_CREDENTIAL_NAMES or any(norm.endswith("_" + n) for n in _NOT_CREDENTIAL_NAMES):
        return False
    if norm in _CREDENTIAL_NAMES:
        return True
    return any(norm == s or norm.endswith("_" + s) for s in _CREDENTIAL_SUFFIXES)


def _is_allowed(value: str, allow: Sequence[re.Pattern[str]]) -> bool:
    return value in ALLOWED_VALUES or any(p.search(value) for p in allow)


def _credential_value(raw: str) -> str:
    # "Basic dXNlcjpw..." → the token after the scheme word.
    parts = raw.split()
    return parts[-1] if parts else ""


def scan_line(text: str, allow: Sequence[re.Pattern[str]] = ()) -> list[tuple[int, str, str, str]]:
    """(column, kind, description, value) for every secret-shaped string on one line of text."""
    found: list[tuple[int, int, str, str, str]] = []

    def overlaps(start: int, end: int) -> bool:
        return any(start < e and s < end for s, e, *_ in found)

    for pattern in _PATTERNS:
        for m in pattern.regex.finditer(text):
            group = 1 if pattern.regex.groups else 0
            value = m.group(group)
            start, end = m.span(group)
            if _is_allowed(value, allow) or overlaps(m.start(), m.end()):
                continue
            found.append((start, end, pattern.kind, pattern.description, value))
    for m in _KEY_VALUE.finditer(text):
        if not is_credential_key(m.group("key")):
            continue
        value = _credential_value(m.group("value"))
        start = m.end("value") - len(value)
        end = m.end("value")
        if (
            len(value.replace(PLACEHOLDER, "")) < MIN_CREDENTIAL_LENGTH
            or shannon_entropy(value) < MIN_ENTROPY
            or _is_allowed(value, allow)
            or overlaps(start, end)
        ):
            continue
        description = f"credential under {m.group('key')!r}"
        found.append((start, end, "high-entropy-credential", description, value))
    return [(start, kind, description, value) for start, _, kind, description, value in sorted(found)]


# Runs of printable ASCII in binary data (what `strings` prints): a key keeps its bytes inside an
# audio file, an image's metadata or a packed upload.
_PRINTABLE_RUN = re.compile(rb"[\x20-\x7e]{8,}")
# A token that may be base64 (standard or URL-safe), long enough to hide a key.
_BASE64_TOKEN = re.compile(r"(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/_-]{16,}={0,2}(?![A-Za-z0-9+/_=-])")


def _decoded_base64(value: str) -> str | None:
    """The text hidden in a base64 value: all of it when it is text, its printable runs when binary."""
    padded = value + "=" * (-len(value.rstrip("=")) % 4) if "=" not in value else value
    try:
        if "-" in value or "_" in value:
            raw = base64.urlsafe_b64decode(padded)
        else:
            raw = base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        return None
    text = raw.decode("utf-8", "replace")
    printable = sum(c.isprintable() or c in "\r\n\t" for c in text)
    if text and printable / len(text) > 0.9:
        return text
    runs = [m.group(0).decode("ascii") for m in _PRINTABLE_RUN.finditer(raw)]
    return "\n".join(runs) or None


def _hidden_in_base64(line: str, allow: Sequence[re.Pattern[str]]) -> list[tuple[int, str, str, str]]:
    """Secrets inside base64 on one line: a `base64:` body (text or binary), a `Basic` credential
    or any other base64-looking token."""
    b64 = _BASE64_LINE.match(line)
    tokens = [b64.group("value")] if b64 is not None else [m.group(0) for m in _BASE64_TOKEN.finditer(line)]
    hits: list[tuple[int, str, str, str]] = []
    for token in tokens:
        decoded = _decoded_base64(token)
        if decoded is None:
            continue
        for inner in decoded.splitlines():
            hits.extend(scan_line(inner, allow))
    return hits


def split_across_chunks(
    chunks: Sequence[bytes], allow: Iterable[re.Pattern[str]] = ()
) -> list[tuple[int, str, str, str]]:
    """Secrets that only the joined stream shows (one chunk ends inside them): (index of the chunk
    where each starts, kind, description, value). A cassette on disk holds chunks one per item, so
    a line-by-line scan cannot see them."""
    allowed = tuple(allow)
    joined = b"".join(chunks)
    ends = list(itertools.accumulate(len(c) for c in chunks))
    out: list[tuple[int, str, str, str]] = []
    for line in joined.decode("utf-8", "replace").splitlines():
        for _, kind, description, value in scan_line(line, allowed):
            raw = value.encode("utf-8")
            start = joined.find(raw)
            if start < 0 or any(raw in c for c in chunks):
                continue
            out.append((bisect.bisect_right(ends, start), kind, description, value))
    return out


def scan_text(text: str, path: Path | None = None, *, allow: Iterable[re.Pattern[str]] = ()) -> list[SecretFinding]:
    """Every secret-shaped string in `text`, with its 1-based line.

    `base64:` bodies are decoded and scanned too; what they hide is reported at the line of the
    base64 value. Values matching any `allow` pattern (searched anywhere in the value) are skipped.
    """
    allowed = tuple(allow)
    findings: list[SecretFinding] = []
    for number, line in enumerate(text.splitlines(), start=1):
        hits = scan_line(line, allowed)
        seen = {value for *_, value in hits}
        # What base64 hides, unless the line shows the same value in the clear already.
        hits.extend(h for h in _hidden_in_base64(line, allowed) if h[3] not in seen)
        for _, kind, description, value in hits:
            findings.append(SecretFinding(path, number, kind, mask(value), description))
    return findings
