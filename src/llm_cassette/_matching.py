"""Which recorded request answers a new one, and, when none does, why not.

Every chat call POSTs to the same URL, so the body is what tells LLM requests apart: JSON bodies are
compared semantically (key order ignored, named fields ignorable), other bodies byte for byte.
Headers are ignored by default. Lookups go through a hash index of the built-in match keys, so the
cost of a match does not grow with the cassette.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from ._errors import CassetteError
from ._models import Request

CustomMatcher = Callable[[Request, Request], bool]
MatchOn = Sequence[str | CustomMatcher]

DEFAULT_MATCH_ON: tuple[str, ...] = ("method", "url", "body")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _split(url: str) -> tuple[str, str, int | None, str, str]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    port = parts.port if parts.port != _DEFAULT_PORTS.get(scheme) else None
    return scheme, host, port, parts.path or "/", parts.query


def _query_key(query: str) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(parse_qsl(query, keep_blank_values=True)))


def normalize_url(url: str) -> str:
    """URL with lower-case scheme and host, default port dropped and the query sorted."""
    scheme, host, port, path, query = _split(url)
    netloc = f"{host}:{port}" if port is not None else host
    q = urlencode(_query_key(query))
    return f"{scheme}://{netloc}{path}" + (f"?{q}" if q else "")


def _drop_path(value: Any, path: Sequence[str]) -> Any:
    """A copy of `value` without the field at dotted `path` (`*` matches every list item or key)."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if head in ("*", k):
                if rest:
                    out[k] = _drop_path(v, rest)
            else:
                out[k] = v
        return out
    if isinstance(value, list):
        if head == "*":
            return [_drop_path(v, rest) for v in value] if rest else []
        if head.isdigit():
            i = int(head)
            return [(_drop_path(v, rest) if j == i else v) for j, v in enumerate(value) if rest or j != i]
    return value


def parse_json_body(body: bytes) -> tuple[bool, Any]:
    """(True, value) when the body is JSON, else (False, None)."""
    if not body or body[:1] not in b'{["':
        return False, None
    try:
        return True, json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return False, None


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True)
class MatchRules:
    """How requests are compared: `match_on` names (or callables) and JSON fields to ignore."""

    match_on: tuple[str | CustomMatcher, ...] = DEFAULT_MATCH_ON
    ignore_body_fields: tuple[str, ...] = ()

    BUILTIN = ("method", "url", "scheme", "host", "port", "path", "query", "body", "headers")

    @classmethod
    def build(cls, match_on: MatchOn | None = None, ignore_body_fields: Iterable[str] = ()) -> MatchRules:
        items = tuple(match_on) if match_on is not None else DEFAULT_MATCH_ON
        for m in items:
            if isinstance(m, str) and m not in cls.BUILTIN:
                raise CassetteError(
                    f"unknown matcher {m!r} in match_on (built-in matchers: {', '.join(cls.BUILTIN)}; "
                    "or pass a callable taking (sent, recorded) requests)"
                )
            if not isinstance(m, str) and not callable(m):
                raise CassetteError(f"match_on items must be matcher names or callables, not {m!r}")
        fields = tuple(ignore_body_fields)
        for f in fields:
            if not isinstance(f, str) or not f:
                raise CassetteError(f"ignore_body_fields items must be dotted field paths, not {f!r}")
        return cls(match_on=items, ignore_body_fields=fields)

    @functools.cached_property
    def custom(self) -> tuple[CustomMatcher, ...]:
        return tuple(m for m in self.match_on if not isinstance(m, str))

    def body_key(self, body: bytes) -> str | bytes:
        is_json, value = parse_json_body(body)
        if not is_json:
            return body
        for f in self.ignore_body_fields:
            value = _drop_path(value, f.split("."))
        return "json:" + canonical_json(value)

    @property
    def keyed_by_method_url_body(self) -> bool:
        """True when `key()` depends on nothing but the method, URL and body of a request."""
        return "headers" not in self.match_on

    def key(self, req: Request) -> tuple[object, ...]:
        """The hashable key of the built-in matchers; equal keys mean a match on all of them."""
        out: list[object] = []
        split = None
        for m in self.match_on:
            if not isinstance(m, str):
                continue
            if m == "method":
                out.append(req.method.upper())
            elif m == "url":
                out.append(normalize_url(req.url))
            elif m == "body":
                out.append(self.body_key(req.body))
            elif m == "headers":
                out.append(tuple(sorted((k.lower(), v) for k, v in req.headers)))
            else:
                split = split or _split(req.url)
                scheme, host, port, path, query = split
                value = {"scheme": scheme, "host": host, "port": port, "path": path}.get(m)
                out.append(_query_key(query) if m == "query" else value)
        return tuple(out)

    def custom_match(self, sent: Request, recorded: Request) -> bool:
        return all(m(sent, recorded) for m in self.custom)


# --- explaining a miss -----------------------------------------------------------------------


def _short(value: Any, limit: int = 80) -> str:
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
                    out.append(f"{sub}: sent {_short(a[k])}, not in the recording")
                elif k not in a:
                    out.append(f"{sub}: recorded {_short(b[k])}, not sent")
                else:
                    walk(a[k], b[k], sub)
        elif isinstance(a, list) and isinstance(b, list):
            for i in range(max(len(a), len(b))):
                sub = f"{p}[{i}]"
                if i >= len(b):
                    out.append(f"{sub}: sent {_short(a[i])}, not in the recording")
                elif i >= len(a):
                    out.append(f"{sub}: recorded {_short(b[i])}, not sent")
                else:
                    walk(a[i], b[i], sub)
        elif canonical_json(a) != canonical_json(b):
            out.append(f"{p or 'body'}: sent {_short(a)}, recorded {_short(b)}")

    walk(sent, recorded, path)
    return out


def differences(rules: MatchRules, sent: Request, recorded: Request) -> list[str]:
    """Why `recorded` does not match `sent` under `rules`, one line per differing part."""
    out: list[str] = []
    names = [m for m in rules.match_on if isinstance(m, str)]
    if "method" in names and sent.method.upper() != recorded.method.upper():
        out.append(f"method: sent {sent.method}, recorded {recorded.method}")
    if "url" in names and normalize_url(sent.url) != normalize_url(recorded.url):
        out.append(f"url: sent {sent.url}, recorded {recorded.url}")
    a_parts, b_parts = _split(sent.url), _split(recorded.url)
    for i, part in enumerate(("scheme", "host", "port", "path", "query")):
        a_val = _query_key(a_parts[i]) if part == "query" else a_parts[i]  # type: ignore[arg-type]
        b_val = _query_key(b_parts[i]) if part == "query" else b_parts[i]  # type: ignore[arg-type]
        if part in names and a_val != b_val:
            out.append(f"{part}: sent {a_parts[i]!r}, recorded {b_parts[i]!r}")
    if "body" in names and rules.body_key(sent.body) != rules.body_key(recorded.body):
        a_json, a = parse_json_body(sent.body)
        b_json, b = parse_json_body(recorded.body)
        if a_json and b_json:
            for f in rules.ignore_body_fields:
                a = _drop_path(a, f.split("."))
                b = _drop_path(b, f.split("."))
            out.extend("body." + d if not d.startswith("body") else d for d in json_differences(a, b))
        else:
            out.append(
                f"body: sent {_short(sent.body[:200].decode('utf-8', 'replace'))}, "
                f"recorded {_short(recorded.body[:200].decode('utf-8', 'replace'))}"
            )
    if "headers" in names:
        a_h = sorted((k.lower(), v) for k, v in sent.headers)
        b_h = sorted((k.lower(), v) for k, v in recorded.headers)
        if a_h != b_h:
            names_differing = sorted({k for k, _ in set(a_h) ^ set(b_h)})
            out.append(f"headers differ: {', '.join(names_differing)}")
    for m in rules.custom:
        if not m(sent, recorded):
            out.append(f"custom matcher {getattr(m, '__name__', repr(m))} said no")
    return out


def closeness(rules: MatchRules, sent: Request, recorded: Request) -> tuple[int, int, int]:
    """A sort key: higher is closer (same method, same URL, fewer differing body fields)."""
    same_method = int(sent.method.upper() == recorded.method.upper())
    same_url = int(normalize_url(sent.url) == normalize_url(recorded.url))
    same_path = int(urlsplit(sent.url).path == urlsplit(recorded.url).path)
    return same_method + same_path, same_url, -len(differences(rules, sent, recorded))
