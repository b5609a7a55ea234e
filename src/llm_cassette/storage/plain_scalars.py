"""Plain YAML scalars resolved as PyYAML's safe loaders resolve them (YAML 1.1), without PyYAML.

`IMPLICIT` is PyYAML's table of implicit resolvers (`yaml.resolver.Resolver`), pattern for pattern
and in its order (tests/test_fast_load.py compares the two), so the type of a plain scalar is
decided exactly as PyYAML decides it. Only values whose construction is certain are built here:
the bools and nulls, decimal ints, floats in the forms Python's `float` reads as PyYAML does, and
`.inf`/`.nan`. A plain scalar that resolves to anything else (octal, hex, binary, underscores,
sexagesimal, a timestamp, a merge key, `=`) raises `Unusual`: the document is left to PyYAML,
so no value and no error can differ. Importing PyYAML costs more than reading a small cassette.
"""

from __future__ import annotations

import re
from typing import Any

BOOL = "tag:yaml.org,2002:bool"
FLOAT = "tag:yaml.org,2002:float"
INT = "tag:yaml.org,2002:int"
NULL = "tag:yaml.org,2002:null"

# (tag, pattern, first characters), as `yaml/resolver.py` adds them.
IMPLICIT: list[tuple[str, re.Pattern[str], list[str | None]]] = [
    (
        BOOL,
        re.compile(r'''^(?:yes|Yes|YES|no|No|NO
                    |true|True|TRUE|false|False|FALSE
                    |on|On|ON|off|Off|OFF)$''', re.X),
        list("yYnNtTfFoO"),
    ),
    (
        FLOAT,
        re.compile(r'''^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?
                    |\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?
                    |[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*
                    |[-+]?\.(?:inf|Inf|INF)
                    |\.(?:nan|NaN|NAN))$''', re.X),
        list("-+0123456789."),
    ),
    (
        INT,
        re.compile(r'''^(?:[-+]?0b[0-1_]+
                    |[-+]?0[0-7_]+
                    |[-+]?(?:0|[1-9][0-9_]*)
                    |[-+]?0x[0-9a-fA-F_]+
                    |[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$''', re.X),
        list("-+0123456789"),
    ),
    ("tag:yaml.org,2002:merge", re.compile(r"^(?:<<)$"), ["<"]),
    (
        NULL,
        re.compile(r'''^(?: ~
                    |null|Null|NULL
                    | )$''', re.X),
        ["~", "n", "N", ""],
    ),
    (
        "tag:yaml.org,2002:timestamp",
        re.compile(r'''^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]
                    |[0-9][0-9][0-9][0-9] -[0-9][0-9]? -[0-9][0-9]?
                     (?:[Tt]|[ \t]+)[0-9][0-9]?
                     :[0-9][0-9] :[0-9][0-9] (?:\.[0-9]*)?
                     (?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$''', re.X),
        list("0123456789"),
    ),
    ("tag:yaml.org,2002:value", re.compile(r"^(?:=)$"), ["="]),
    ("tag:yaml.org,2002:yaml", re.compile(r"^(?:!|&|\*)$"), list("!&*")),
]  # fmt: skip

# First character -> the (tag, pattern) pairs to try, in order: what `Resolver.resolve` looks up.
BY_FIRST: dict[str | None, list[tuple[str, re.Pattern[str]]]] = {}
for _tag, _pattern, _firsts in IMPLICIT:
    for _first in _firsts:
        BY_FIRST.setdefault(_first, []).append((_tag, _pattern))

# SafeConstructor's values: the bools by lower-case text, and its infinity and NaN, made its way
# (a NaN from -inf/inf has the sign bit set; `float("nan")` has not).
_BOOLS = {"yes": True, "no": False, "true": True, "false": False, "on": True, "off": False}
_INF = 1e300
while _INF != _INF * _INF:
    _INF *= _INF
_NAN = -_INF / _INF
_SPECIAL = {".inf": _INF, "+.inf": _INF, "-.inf": -_INF, ".nan": _NAN}
# The int and float forms `int` and `float` read exactly as SafeConstructor builds them (once the
# pattern above has said the text is an int or a float). Not underscores, prefixes, leading zeros
# (octal) or colons (base 60).
_DECIMAL = re.compile(r"[-+]?(?:0|[1-9][0-9]*)")
_DECIMAL_FLOAT = re.compile(r"[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+][0-9]+)?")
# `int` refuses more than 4,300 digits (and PyYAML with it): such texts go to PyYAML, for its error.
_LONGEST = 1000


class Unusual(Exception):
    """Not certain here: parse the document with PyYAML."""


def resolve(text: str) -> Any:
    """The value of the one-line plain scalar `text` (not empty), as SafeLoader constructs it."""
    resolvers = BY_FIRST.get(text[0])
    if resolvers is None:
        return text  # no implicit type starts with this character: a string
    for tag, pattern in resolvers:
        if pattern.match(text):
            return _construct(tag, text)
    return text


def _construct(tag: str, text: str) -> Any:
    if tag == BOOL:
        return _BOOLS[text.lower()]
    if tag == NULL:
        return None
    if len(text) <= _LONGEST:
        if tag == INT and _DECIMAL.fullmatch(text):
            return int(text)
        if tag == FLOAT:
            special = _SPECIAL.get(text.lower())
            if special is not None:
                return special
            if _DECIMAL_FLOAT.fullmatch(text):
                return float(text)
    raise Unusual
