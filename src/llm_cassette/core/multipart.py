"""Multipart bodies (file uploads, audio transcriptions) compared by their parts.

Clients pick a random boundary for every `multipart/form-data` request, so the same upload never
has the same bytes twice. Matching compares what the boundary separates instead: each part's
headers (its field name, file name and content type) and its content.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_BOUNDARY_PARAM = re.compile(r"""(?i);\s*boundary=("[^"]*"|[^;\s]*)""")
_NAME_PARAM = re.compile(r"""(?i);\s*(name|filename)="((?:[^"\\]|\\.)*)\"""")
# RFC 2046: a boundary is 1 to 70 characters; a body's first line names it when the header does not.
_FIRST_LINE = re.compile(rb"--([ -~]{1,70}?)[ \t]*\r\n")


@dataclass(frozen=True)
class Part:
    """One part of a multipart body: its headers (lower-case names, in order) and its content."""

    headers: tuple[tuple[str, str], ...]
    content: bytes

    @property
    def name(self) -> str:
        """The form field name (`Content-Disposition: form-data; name="..."`), or ""."""
        return self._disposition_param("name")

    @property
    def filename(self) -> str | None:
        value = self._disposition_param("filename")
        return value or None

    def _disposition_param(self, wanted: str) -> str:
        for key, value in self.headers:
            if key == "content-disposition":
                for m in _NAME_PARAM.finditer(value):
                    if m.group(1).lower() == wanted:
                        return m.group(2)
        return ""

    @property
    def key(self) -> tuple[tuple[tuple[str, str], ...], bytes]:
        return tuple(sorted(self.headers)), self.content


def is_multipart(content_type: str) -> bool:
    return content_type.split(";", 1)[0].strip().lower().startswith("multipart/")


def boundary_of(content_type: str) -> str | None:
    m = _BOUNDARY_PARAM.search(content_type)
    return m.group(1).strip('"') if m else None


def without_boundary(content_type: str) -> str:
    """A `content-type` value with its (random) boundary parameter removed."""
    return _BOUNDARY_PARAM.sub("", content_type)


def parse_parts(body: bytes, content_type: str = "") -> list[Part] | None:
    """The parts of a multipart body, or None when it is not one.

    The boundary comes from the `content-type` header when given, else from the body's first line
    (a recording whose headers were dropped still matches by parts).
    """
    if not body.startswith(b"--"):
        return None
    boundary = boundary_of(content_type) if content_type else None
    if boundary is None:
        m = _FIRST_LINE.match(body)
        if m is None:
            return None
        boundary = m.group(1).decode("ascii")
    delimiter = b"--" + boundary.encode("latin-1")
    if not body.startswith(delimiter):
        return None
    parts: list[Part] = []
    rest = body[len(delimiter) :]
    while not rest.startswith(b"--"):  # the close delimiter ends the body
        line_end = rest.find(b"\r\n")
        if line_end < 0 or rest[:line_end].strip(b" \t"):
            return None
        end = rest.find(b"\r\n" + delimiter, line_end)
        if end < 0:
            return None
        part = _parse_part(rest[line_end + 2 : end])
        if part is None:
            return None
        parts.append(part)
        rest = rest[end + 2 + len(delimiter) :]
    return parts


def _parse_part(raw: bytes) -> Part | None:
    head, sep, content = raw.partition(b"\r\n\r\n")
    if not sep:
        if raw.startswith(b"\r\n"):  # a part with no headers
            return Part((), raw[2:])
        return None
    headers: list[tuple[str, str]] = []
    for line in head.split(b"\r\n"):
        name, colon, value = line.partition(b":")
        if not colon:
            return None
        headers.append((name.decode("latin-1").strip().lower(), value.decode("utf-8", "replace").strip()))
    return Part(tuple(headers), content)


def parts_key(parts: Iterable[Part], ignore_names: Iterable[str] = ()) -> tuple[object, ...]:
    """A hashable key equal for two bodies with the same parts (in any order), boundary aside."""
    ignored = set(ignore_names)
    return ("multipart", *sorted(p.key for p in parts if p.name not in ignored))


def _label(part: Part) -> str:
    label = f"part {part.name!r}" if part.name else "unnamed part"
    return label + (f" (file {part.filename!r})" if part.filename else "")


def _excerpt(content: bytes) -> str:
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return f"{len(content)} bytes of binary data"
    shown = text if len(text) <= 40 else text[:39] + "…"
    return f"{len(content)} bytes {shown!r}"


def part_differences(sent: list[Part], recorded: list[Part], ignore_names: Iterable[str] = ()) -> list[str]:
    """Human-readable differences between two multipart bodies, part by part (paired by field name)."""
    ignored = set(ignore_names)
    out: list[str] = []
    unmatched = [p for p in recorded if p.name not in ignored]
    for part in sent:
        if part.name in ignored:
            continue
        same_key = next((r for r in unmatched if r.key == part.key), None)
        if same_key is not None:
            unmatched.remove(same_key)
            continue
        other = next((r for r in unmatched if r.name == part.name and r.key != part.key), None)
        if other is None:
            out.append(f"body {_label(part)}: sent ({_excerpt(part.content)}), not in the recording")
            continue
        unmatched.remove(other)
        for name in sorted({k for k, _ in part.headers} | {k for k, _ in other.headers}):
            a = dict(part.headers).get(name)
            b = dict(other.headers).get(name)
            if a != b:
                out.append(f"body {_label(part)}: header {name}: sent {a!r}, recorded {b!r}")
        if part.content != other.content:
            sent_text, recorded_text = _excerpt(part.content), _excerpt(other.content)
            out.append(f"body {_label(part)}: content: sent {sent_text}, recorded {recorded_text}")
    out.extend(f"body {_label(r)}: recorded ({_excerpt(r.content)}), not sent" for r in unmatched)
    return out
