"""JSON bodies as matching compares them: parsed, canonical (key order aside), a field left out,
and the differences between two values by field path, as a miss message lists them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

#: The first bytes of the JSON bodies compared semantically (as ints: `bytes in bytes` costs an
#: internal TypeError first, every time).
_JSON_STARTS = frozenset(b'{["')


def parse_json_body(body: bytes) -> tuple[bool, Any]:
    """(True, value) when the body is JSON, else (False, None)."""
    if not body or body[0] not in _JSON_STARTS:
        return False, None
    try:
        return True, json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return False, None


#: `json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`, built once:
#: `dumps` builds this encoder on every call, and every recorded body is keyed at load.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_json(value: Any) -> str:
    return _CANONICAL.encode(value)


def drop_path(value: Any, path: Sequence[str]) -> Any:
    """A copy of `value` without the field at dotted `path` (`*` matches every list item or key)."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if head in ("*", k):
                if rest:
                    out[k] = drop_path(v, rest)
            else:
                out[k] = v
        return out
    if isinstance(value, list):
        if head == "*":
            return [drop_path(v, rest) for v in value] if rest else []
        if head.isdigit():
            i = int(head)
            return [(drop_path(v, rest) if j == i else v) for j, v in enumerate(value) if rest or j != i]
    return value


def short(value: Any, limit: int = 80) -> str:
    """A value as it reads in a miss message, cut to `limit` characters."""
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def json_differences(sent: Any, recorded: Any, path: str = "", limit: int = 8) -> list[str]:
    """Human-readable differences between two JSON values, by field path."""
    out: list[str] = []

    def walk(a: Any, b: Any, p: str) -> None:
        if len(out) >= limit:
            return
        if isinstance(a, dict) and isinstance(b, dict):
            for k in list(a) + [k for k in b if k not in a]:
                sub = f"{p}.{k}" if p else str(k)
                if k not in b:
                    out.append(f"{sub}: sent {short(a[k])}, not in the recording")
                elif k not in a:
                    out.append(f"{sub}: recorded {short(b[k])}, not sent")
                else:
                    walk(a[k], b[k], sub)
        elif isinstance(a, list) and isinstance(b, list):
            for i in range(max(len(a), len(b))):
                sub = f"{p}[{i}]"
                if i >= len(b):
                    out.append(f"{sub}: sent {short(a[i])}, not in the recording")
                elif i >= len(a):
                    out.append(f"{sub}: recorded {short(b[i])}, not sent")
                else:
                    walk(a[i], b[i], sub)
        elif canonical_json(a) != canonical_json(b):
            out.append(f"{p or 'body'}: sent {short(a)}, recorded {short(b)}")

    walk(sent, recorded, path)
    return out
