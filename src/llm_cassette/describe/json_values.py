"""Lenient readers for recorded JSON: odd traffic yields empty values, never an exception.

That includes JSON nested deeper than Python's recursion limit (a hostile upstream can get one
recorded): it reads as "not JSON" here, so `show`, `report` and `stats` describe the rest.
"""

from __future__ import annotations

import json
from typing import Any


def json_object(raw: bytes) -> dict[str, Any]:
    """The body as a JSON object, or {} when it is not one."""
    if not raw or raw.lstrip()[:1] != b"{":
        return {}
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return {}
    return value if isinstance(value, dict) else {}


def parse_json(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def json_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    except RecursionError:
        return "(nested too deep to show)"


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def first(value: Any) -> Any:
    items = as_list(value)
    return items[0] if items else None


def as_str(value: Any) -> str:
    return value if isinstance(value, str) else ""
