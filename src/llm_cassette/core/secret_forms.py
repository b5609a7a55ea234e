"""Every form a secret value takes on the wire, found in one pass.

A key reaches a cassette not only as itself: a form body or a query string percent-encodes it
(`/` as `%2F`, `+` as `%2B`, a space as `+`), a JSON encoder may escape `/` as `\\/`, and a `Basic`
credential or any base64 field carries it base64-encoded, where its encoding depends on its
offset in the encoded data (three alignments) and on the alphabet (standard or URL-safe). One
compiled pattern per set of values matches all of these, so redaction is one scan of the data
(of a whole stream, joined, so that a value split across two chunks is found too).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable
from dataclasses import dataclass

# One replacement: bytes [start, end) of the scanned data become `text`.
Span = tuple[int, int, bytes]

_ALNUM = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_UNRESERVED = frozenset(_ALNUM + b"-._")
_ALPHABETS = (frozenset(_ALNUM + b"+/"), frozenset(_ALNUM + b"-_"))


def text_pattern(value: bytes) -> bytes:
    """Regex source matching `value` written as itself or with its reserved bytes percent-encoded
    (`%2f` or `%2F`), a space also as `+`, a `/` also as `\\/` (JSON)."""
    parts: list[bytes] = []
    for byte in value:
        if byte in _UNRESERVED:  # encoders leave these as they are
            parts.append(re.escape(bytes([byte])))
            continue
        hex_digits = b"%02X" % byte
        pct = b"%" + b"".join(b"[%c%c]" % (d, d + 32) if 0x41 <= d <= 0x46 else bytes([d]) for d in hex_digits)
        alternatives = [re.escape(bytes([byte])), pct]
        if byte == 0x20:
            alternatives.append(rb"\+")
        elif byte == 0x2F:
            alternatives.append(rb"\\/")
        parts.append(b"(?:" + b"|".join(alternatives) + b")")
    return b"".join(parts)


def _anchor(value: bytes) -> bytes:
    """The longest run of `value` that every form above writes literally: a fast pre-check."""
    runs = re.findall(rb"[A-Za-z0-9._-]+", value)
    return max(runs, key=len) if runs else b""


def base64_cores(value: bytes) -> set[bytes]:
    """The base64 text that `value` always encodes to, whatever precedes or follows it.

    At offset 0, 1 or 2 (mod 3) of the encoded data the value's bytes fall differently into the
    3-byte groups; only the groups made of the value's bytes alone are fixed. Standard and
    URL-safe alphabets both.
    """
    cores: set[bytes] = set()
    for align in range(3):
        encoded = base64.b64encode(b"\0" * align + value)
        first_group = -(-align // 3)  # the first group with no filler byte
        last_group = (align + len(value)) // 3  # groups before it hold value bytes only
        core = encoded[4 * first_group : 4 * last_group]
        if len(core) >= 8:
            cores.add(core)
            cores.add(core.replace(b"+", b"-").replace(b"/", b"_"))
    return cores


@dataclass(frozen=True)
class SecretForms:
    """A compiled matcher for a set of secret values in all their forms."""

    values: tuple[bytes, ...]
    _text: re.Pattern[bytes] | None
    _base64: re.Pattern[bytes] | None
    _anchors: tuple[bytes, ...] = ()
    _cores: tuple[bytes, ...] = ()

    @classmethod
    def build(cls, values: Iterable[str]) -> SecretForms:
        raw = tuple(sorted({v.encode("utf-8") for v in values if v}, key=len, reverse=True))
        if not raw:
            return cls((), None, None)
        text = re.compile(b"|".join(text_pattern(v) for v in raw))
        cores = tuple(sorted({c for v in raw for c in base64_cores(v)}, key=len, reverse=True))
        b64 = re.compile(b"|".join(re.escape(c) for c in cores)) if cores else None
        anchors = tuple(_anchor(v) for v in raw)
        # A value with no literal run of 4 bytes cannot be pre-checked: always scan.
        return cls(raw, text, b64, () if any(len(a) < 4 for a in anchors) else anchors, cores)

    def __bool__(self) -> bool:
        return bool(self.values)

    def spans(self, data: bytes, placeholder: bytes) -> list[Span]:
        """Non-overlapping replacements, in order, that remove every form of every value."""
        if self._text is None:
            return []
        found: list[Span] = []
        if not self._anchors or any(data.find(a) >= 0 for a in self._anchors):  # find: see jsonrpc._ID
            found = [(m.start(), m.end(), placeholder) for m in self._text.finditer(data)]
        if self._base64 is not None and any(data.find(c) >= 0 for c in self._cores):
            found.extend(self._base64_spans(data, placeholder))
        found.sort()
        out: list[Span] = []
        for span in found:
            if not out or span[0] >= out[-1][1]:
                out.append(span)
        return out

    def _base64_spans(self, data: bytes, placeholder: bytes) -> list[Span]:
        """A base64 token holding a value is decoded, redacted and encoded again, so a `Basic`
        credential stays readable (`user:REDACTED`); where the token does not decode, the
        value's encoded part alone is replaced."""
        assert self._base64 is not None
        out: list[Span] = []
        done_until = -1
        for m in self._base64.finditer(data):
            if m.start() < done_until:
                continue
            token = _token_around(data, m.start(), m.end())
            if token is not None:
                start, end = token
                decoded_fixed = self._reencode(data[start:end], placeholder)
                if decoded_fixed is not None:
                    out.append((start, end, decoded_fixed))
                    done_until = end
                    continue
            out.append((m.start(), m.end(), placeholder))
        return out

    def _reencode(self, token: bytes, placeholder: bytes) -> bytes | None:
        urlsafe = b"-" in token or b"_" in token
        padded = token + b"=" * (-len(token) % 4)
        try:
            decoded = base64.b64decode(padded, altchars=b"-_" if urlsafe else None, validate=True)
        except (binascii.Error, ValueError):
            return None
        redacted = self.redact(decoded, placeholder)
        if redacted == decoded:
            return None
        encoded = base64.urlsafe_b64encode(redacted) if urlsafe else base64.b64encode(redacted)
        return encoded if token.endswith(b"=") or len(token) % 4 == 0 else encoded.rstrip(b"=")

    def redact(self, data: bytes, placeholder: bytes) -> bytes:
        """`data` with every form of every value replaced."""
        spans = self.spans(data, placeholder)
        if not spans:
            return data
        out = bytearray()
        pos = 0
        for start, end, text in spans:
            out += data[pos:start]
            out += text
            pos = end
        out += data[pos:]
        return bytes(out)

    def redact_pieces(self, pieces: list[bytes], placeholder: bytes) -> list[bytes]:
        """Redact data delivered in pieces (stream chunks) as one, keeping the pieces' boundaries.

        A replacement is put where its match starts; the rest of a match that runs into later
        pieces is removed from them. Every other byte stays in the piece it came in.
        """
        joined = b"".join(pieces)
        spans = self.spans(joined, placeholder)
        if not spans:
            return pieces
        out: list[bytes] = []
        offset = 0
        index = 0
        for piece in pieces:
            start, end = offset, offset + len(piece)
            new = bytearray()
            pos = start
            while pos < end:
                while index < len(spans) and spans[index][1] <= pos:
                    index += 1
                if index == len(spans) or spans[index][0] >= end:
                    new += joined[pos:end]
                    break
                span_start, span_end, text = spans[index]
                if span_start > pos:
                    new += joined[pos:span_start]
                    pos = span_start
                if pos == span_start:
                    new += text
                pos = min(span_end, end)
            out.append(bytes(new))
            offset = end
        return out


def _token_around(data: bytes, start: int, end: int) -> tuple[int, int] | None:
    """The whole base64 token (with its padding) that the match [start, end) lies in."""
    for alphabet in _ALPHABETS:
        left, right = start, end
        while left > 0 and data[left - 1] in alphabet:
            left -= 1
        while right < len(data) and data[right] in alphabet:
            right += 1
        if all(b in alphabet for b in data[start:end]):
            for _ in range(2):
                if right < len(data) and data[right] == 0x3D:  # "=" padding
                    right += 1
            return left, right
    return None
