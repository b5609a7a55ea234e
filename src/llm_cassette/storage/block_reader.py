"""A reader for the block YAML that `yaml_format` writes: one line per key or list entry, scalars
plain, quoted or literal (`|`), empty collections as `[]`/`{}`.

It reads only that subset, and only where the answer is certain to be the one libyaml and PyYAML
give: plain scalars are resolved by `plain_scalars`, PyYAML's resolver without PyYAML, and only
the values certain to be built as its safe constructor builds them. Anything else (flow
collections, anchors, tags, folded or multi-line flow scalars, complex keys, tabs, CR or other
line breaks, control characters, a key twice, deep nesting) raises `Unusual`, and the caller parses
the text with `fast_loader.parse_yaml`, so the result and every error are the same either way.
Pure Python, yet several times faster than building from libyaml's events: a line costs a few
string operations, an event a Python object. It imports no PyYAML (whose import costs more than
reading a small cassette): only the documents it leaves to `fast_loader` do.
"""

from __future__ import annotations

import re
from typing import Any

from . import plain_scalars
from .plain_scalars import resolve

#: Raised for a text outside the subset this reader reads: parse it with `fast_loader.parse_yaml`.
Unusual = plain_scalars.Unusual

# Bytes every YAML reader takes as they are; any other ASCII byte (controls, DEL, CR, tab) makes a
# document unusual, and so do characters YAML readers refuse (C1 controls, U+FFFE/FFFF) or read as
# line breaks (NEL, U+2028/9), and BOMs.
_PLAIN_ASCII = bytes([10, *range(0x20, 0x7F)])
_HIGH = bytes(range(0x80, 0x100))
_ASCII_OK = bytes(1 if b in _PLAIN_ASCII else 0 for b in range(256))
# The non-ASCII characters that make a document unusual, named one by one: the same class written
# as the complement of the allowed ranges costs 50 M instructions to compile (`re` builds a bitmap
# of the whole Basic Multilingual Plane), more than reading a hundred small cassettes.
_ODD = re.compile("[\x80-\x9f\u2028\u2029\ud800-\udfff\ufeff\ufffe\uffff]")
# A plain scalar cannot start with these (`-`, `?` and `:` can, followed by a non-space).
_INDICATORS = frozenset(" -?:,[]{}#&*!|>'\"%@`")
_ESCAPED = r'\\(?:[0abtnvfre "/\\N_LP]|x[0-9A-Fa-f]{2}|u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8})'
_DOUBLE_BODY = re.compile(rf'[^"\\]*(?:{_ESCAPED}[^"\\]*)*')
_SINGLE_KEY = re.compile(r"'([^']*(?:''[^']*)*)':(?: |$)")
_DOUBLE_KEY = re.compile(rf'"({_DOUBLE_BODY.pattern})":(?: |$)')
_ESCAPE = re.compile(r"\\(?:([0abtnvfre \"/\\N_LP])|x([0-9A-Fa-f]{2})|u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8}))")
_ESCAPES = {
    "0": "\0", "a": "\a", "b": "\b", "t": "\t", "n": "\n", "v": "\v", "f": "\f", "r": "\r", "e": "\x1b",
    " ": " ", '"': '"', "/": "/", "\\": "\\", "N": "\x85", "_": "\xa0", "L": "\u2028", "P": "\u2029",
}  # fmt: skip
_LITERAL = re.compile(r"\|(?:([1-9])?([-+])?|([-+])([1-9]))")
# Simple keys are at most 1024 characters to YAML; our writer makes longer ones complex (`? key`).
_MAX_KEY = 1000
_MAX_DEPTH = 100  # deeper documents go the libyaml way, which enforces limits.MAX_DEPTH

_MISSING: Any = object()
# Scalar text (plain or quoted, at most 40 characters) -> its value: the keys, header values and
# small numbers every cassette repeats. Values are immutable and depend on the text alone; bounded.
_scalars: dict[str, Any] = {}
# Whole lines (at most `_LINE_MAX` bytes) of the form `key: scalar` or `key:` -> (column, key, value,
# or _OPEN for a key with nothing after it): the keys, header lines and small values cassettes
# repeat, read once. What a line means in the document (its collection, a duplicate key) is still
# decided per use; only what depends on the line's text alone is kept. Values immutable; bounded.
_lines: dict[bytes, tuple[int, Any, Any]] = {}
_LINE_MAX, _LINES_MAX = 120, 8192
_OPEN: Any = object()


def read(source: str | bytes) -> Any:
    """The document in `source`, as `yaml.load` with the safe loader gives it (raises `Unusual`)."""
    try:
        raw = source.encode("utf-8") if isinstance(source, str) else source
        if raw.isascii():
            if 0 in raw.translate(_ASCII_OK):  # one pass: each byte to 1 (fine) or 0 (unusual)
                raise Unusual
        else:
            others = raw.translate(None, _PLAIN_ASCII)
            if others.translate(None, _HIGH) or _ODD.search(others.decode("utf-8")):
                raise Unusual
    except UnicodeError:
        raise Unusual from None
    if not raw.endswith(b"\n"):
        raise Unusual  # a last line without its line break
    # Split as bytes and decoded line by line (a line read before, not at all): no decoded copy
    # of the whole text beside the lines (peak memory, large cassettes). A line break is one byte
    # in UTF-8, so each line decodes alone as it would in the whole text.
    lines = raw.split(b"\n")
    del raw
    lines.pop()
    if lines[-1:] == [b"..."]:  # the end marker our writer adds after a `|+` scalar at the very end
        lines.pop()
    try:
        return _parse(lines)
    except UnicodeDecodeError:
        raise Unusual from None


def _parse(lines: list[bytes]) -> dict[Any, Any]:
    """The document's lines, read in one pass with the stack of open collections."""
    root: dict[Any, Any] = {}
    # (collection, its column, is it a mapping): the open collections, innermost last
    stack: list[tuple[Any, int, bool]] = [(root, 0, True)]
    top: Any = root  # with column and is_map: stack[-1]
    column, is_map = 0, True
    # a key (or a dash) with nothing after it: (its collection, the key or None, its column, is it a key)
    pending: tuple[Any, Any, int, bool] | None = None
    memo = _scalars
    known = _lines
    n = len(lines)
    i = 0
    while i < n:
        raw = lines[i]
        lines[i] = b""  # read lines are let go as the document is built (peak memory, large cassettes)
        i += 1
        op = known.get(raw)
        if op is not None:
            at = op[0]
            entry = False
        else:
            line = raw.decode("utf-8")
            content = line.lstrip(" ")
            if not content:
                continue
            first = content[0]
            if first == "#":
                continue
            at = len(line) - len(content)
            if at == 0 and (first == "-" or first == ".") and content.startswith(("---", "...")):
                raise Unusual  # a document marker (or a key that starts like one)
            entry = first == "-" and (len(content) == 1 or content[1] == " ")
        if pending is not None:
            parent, key, owner, keyed = pending
            pending = None
            if at > owner or (at == owner and keyed and entry):  # a collection below, or a list at the key's column
                value: Any = [] if entry else {}
                top, column, is_map = value, at, not entry
                stack.append((top, column, is_map))
                if len(stack) > _MAX_DEPTH:
                    raise Unusual
            else:
                value = None
            if keyed:
                parent[key] = value
            else:
                parent.append(value)
        if at != column or (not is_map and not entry):
            while True:
                top, column, is_map = stack[-1]
                if at < column:
                    stack.pop()
                elif at > column:
                    raise Unusual  # a continued scalar, or worse
                elif not is_map and not entry:
                    stack.pop()  # a list at its key's column ends at the next key
                else:
                    break
        if op is not None:  # a `key: scalar` or `key:` line read before, in a mapping again
            _, key, value = op
            if key in top:
                raise Unusual
            if value is _OPEN:
                pending = (top, key, at, True)
            else:
                top[key] = value
            continue
        while True:  # one line can open a list and a mapping in it: `- - key: value`
            if is_map:
                if entry:
                    raise Unusual
                if first == "'" or first == '"':
                    key, rest = _quoted_key(content)
                else:
                    cut = content.find(": ")
                    if cut < 0:
                        if content[-1] != ":":
                            raise Unusual
                        cut = len(content) - 1
                        rest = None
                    else:
                        rest = content[cut + 2 :]
                    text = content[:cut]
                    key = memo.get(text, _MISSING)
                    if key is _MISSING:
                        if cut > _MAX_KEY:
                            raise Unusual
                        key = _scalar(text)
                if key in top:
                    raise Unusual  # a duplicate: the full parser names it
                # (not a key after a dash: that line is a list entry)
                keep = len(raw) <= _LINE_MAX and len(known) < _LINES_MAX and line[at - 2 : at] != "- "
                if rest is None:
                    pending = (top, key, at, True)
                    if keep:
                        known[raw] = (at, key, _OPEN)
                    break
                value = memo.get(rest, _MISSING)
                after = i
                if value is _MISSING:
                    value, after = _value(rest, lines, i, at)
                top[key] = value
                # Kept when the value is the line's alone: not a block scalar's lines below (`after`
                # moved), not a new collection (`[]`, `{}`) that each use must get afresh.
                if keep and after == i and value.__class__ is not list and value.__class__ is not dict:
                    known[raw] = (at, key, value)
                i = after
                break
            if len(content) == 1:
                pending = (top, None, at, False)
                break
            rest = content[2:]
            value = memo.get(rest, _MISSING)
            if value is not _MISSING:
                top.append(value)
                break
            if not rest:
                raise Unusual
            first = rest[0]
            if first == "-" and (len(rest) == 1 or rest[1] == " "):
                is_map = False  # `- - x`: a list in this entry, from the next column
            elif first == "[" or first == "{" or first == "|" or _is_scalar(rest):
                value, i = _value(rest, lines, i, at)
                top.append(value)
                break
            else:
                is_map = True  # `- key: value`: a mapping in this entry, from the next column
            value = {} if is_map else []
            top.append(value)
            top, column, content = value, at + 2, rest
            at = column
            stack.append((top, column, is_map))
            if len(stack) > _MAX_DEPTH:
                raise Unusual
            entry = not is_map
    if pending is not None:
        parent, key, _, keyed = pending
        if keyed:
            parent[key] = None
        else:
            parent.append(None)
    if not root:
        raise Unusual  # nothing but comments: the full parser reads it as null
    return root


def _quoted_key(content: str) -> tuple[Any, str | None]:
    found = (_SINGLE_KEY if content[0] == "'" else _DOUBLE_KEY).match(content)
    if found is None or found.end() > _MAX_KEY:
        raise Unusual
    key = _single(found.group(1)) if content[0] == "'" else _double(found.group(1))
    return key, content[found.end() :] if found.end() < len(content) else None


def _is_scalar(rest: str) -> bool:
    """Whether an entry's text is one scalar (else it starts a mapping)."""
    first = rest[0]
    if first == "'" or first == '"':
        try:
            _quoted(rest)
        except Unusual:
            return False
        return True
    return ": " not in rest and rest[-1] != ":"


def _value(rest: str, lines: list[bytes], i: int, column: int) -> tuple[Any, int]:
    """The value written after a key or a dash at `column`; `i` is the next line (and the line
    after the value is returned with it: a block scalar takes the lines below)."""
    if not rest:
        raise Unusual
    first = rest[0]
    if first == "|":
        return _literal(rest, lines, i, column)
    if rest == "[]":
        return [], i
    if rest == "{}":
        return {}, i
    return _scalar(rest), i


def _scalar(text: str) -> Any:
    """A plain or quoted scalar's value (memoised for short texts)."""
    if not text:
        raise Unusual
    value = _quoted(text) if text[0] == "'" or text[0] == '"' else _plain(text)
    if len(text) <= 40 and len(_scalars) < 8192:
        _scalars[text] = value
    return value


def _quoted(text: str) -> str:
    """The value of a scalar quoted on one line, `text` from its opening to its closing quote."""
    quote = text[0]
    if len(text) < 2 or text[-1] != quote:
        raise Unusual
    inner = text[1:-1]
    if quote == "'":
        if "'" not in inner:
            return inner
        if "'" in inner.replace("''", ""):
            raise Unusual  # a lone quote ends the scalar before the end of the line
        return inner.replace("''", "'")
    if "\\" not in inner:
        if '"' in inner:
            raise Unusual
        return inner
    if _DOUBLE_BODY.fullmatch(inner) is None:
        raise Unusual
    return _ESCAPE.sub(_unescape, inner)


def _single(text: str) -> str:
    return text.replace("''", "'") if "'" in text else text


def _double(text: str) -> str:
    return _ESCAPE.sub(_unescape, text) if "\\" in text else text


def _unescape(found: re.Match[str]) -> str:
    short, x, u, big = found.groups()
    if short is not None:
        return _ESCAPES[short]
    code = int(x or u or big, 16)
    if 0xD800 <= code <= 0xDFFF or code > 0x10FFFF:
        raise Unusual  # libyaml refuses these, PyYAML does not: the full parser decides
    return chr(code)


def _plain(text: str) -> Any:
    if not text:
        raise Unusual
    first = text[0]
    if first in _INDICATORS and (first not in "-?:" or len(text) == 1 or text[1] == " "):
        raise Unusual
    if ": " in text or " #" in text or text[-1] == " " or text[-1] == ":":
        raise Unusual
    return resolve(text)  # octal, base 60, timestamps, merge keys...: Unusual, for the full parser


def _literal(header: str, lines: list[bytes], i: int, indent: int) -> tuple[str, int]:
    """A `|` block scalar whose header is `header`, its lines from `i`; `indent` is the column of
    the collection that holds it (YAML counts an indentation indicator from there)."""
    found = _LITERAL.fullmatch(header)
    if found is None:
        raise Unusual
    step = found.group(1) or found.group(4)
    chomp = found.group(2) or found.group(3)
    n = len(lines)
    if step is not None:
        column = indent + int(step)
    else:  # the first line sets the indentation; a blank first line is left to the full parser
        if i == n:
            raise Unusual
        line = lines[i]
        content = line.lstrip(b" ")
        column = len(line) - len(content)
        if not content or column <= indent:
            raise Unusual
    margin = b" " * column  # spaces: a column counts bytes and characters alike
    parts: list[bytes] = []
    last = -1  # index in `parts` of the last line with content
    j = i
    while j < n:
        line = lines[j]
        if line.startswith(margin):
            part = line[column:]
        elif not line.strip(b" "):
            part = b""  # a blank line, shorter than the indentation: a line break
        else:
            break  # a line indented less: the scalar ended on the line before
        parts.append(part)
        lines[j] = b""
        if part:
            last = len(parts) - 1
        j += 1
    if last < 0:
        raise Unusual
    body = b"\n".join(parts[: last + 1]).decode("utf-8")
    if chomp == "-":
        return body, j
    if chomp == "+":
        return body + "\n" * (len(parts) - last), j
    return body + "\n", j
