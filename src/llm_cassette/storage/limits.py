"""The limits every cassette reader keeps: how deep a document may nest, and how much of a file an
error message may quote. Plain Python: the reader, the writer and the checks share them without
importing PyYAML.
"""

from __future__ import annotations

from typing import Any

EXCERPT_LENGTH = 8


def quoted(value: Any) -> str:
    """At most EXCERPT_LENGTH characters of a scalar from a file, quoted, for an error message.

    A cassette path may be a symlink to any file (`/etc/passwd`, a `.env`): an error must not
    become a way to read it, nor print a key it holds. Eight characters are less than any key.
    """
    text = value if isinstance(value, str) else repr(value)
    shown = "".join(c if c.isprintable() else "?" for c in text[:EXCERPT_LENGTH])
    return repr(shown + ("…" if len(text) > EXCERPT_LENGTH else ""))


def excerpt(value: Any) -> str:
    """A value's type and `quoted` start (`a string 'root:x:0…'`); only the type for a collection."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    scalars: dict[type, str] = {str: "a string", int: "an integer", float: "a number", bool: "a boolean"}
    kind = scalars.get(type(value), "null" if value is None else type(value).__name__)
    return f"{kind} {quoted(value)}"


# Deeper than any real cassette (a JSON body nests a few dozen levels), far below what overflows
# libyaml's recursive composer (the C stack) or Python's recursion limit.
MAX_DEPTH = 200


class TooDeep(Exception):
    def __init__(self, line: int) -> None:
        super().__init__(line)
        self.line = line


def json_depth(value: Any) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, depth)
            stack.extend((v, depth + 1) for v in (item.values() if isinstance(item, dict) else item))
    return deepest
