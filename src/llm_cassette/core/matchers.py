"""Which recorded request answers a new one, and, when none does, why not.

One class per rule: each knows its match key and how to explain a difference, so a new matcher
is one class here and a name in `BUILTIN`. Every chat call POSTs to the same URL, so the body is
what tells LLM requests apart: JSON bodies are compared semantically (key order ignored, named
fields ignorable), other bodies byte for byte. Headers are ignored by default. Lookups go through
a hash index of the match keys (`core.interactions`), so a match costs the same at any size.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlencode, urlsplit

from ..errors import CassetteError
from . import jsonrpc
from .json_bodies import canonical_json, drop_path, json_differences, parse_json_body, short
from .models import Request, header_value
from .multipart import Part, is_multipart, parse_parts, part_differences, parts_key, without_boundary
from .options import DEFAULT_MATCH_ON, CustomMatcher

MatchOn = Sequence[str | CustomMatcher]

_DEFAULT_PORTS = {"http": 80, "https": 443}


def split_url(url: str) -> tuple[str, str, int | None, str, str]:
    """(scheme, host, port or None when default, path, query) with scheme and host lower-cased."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    port = parts.port if parts.port != _DEFAULT_PORTS.get(scheme) else None
    return scheme, host, port, parts.path or "/", parts.query


def query_key(query: str) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(parse_qsl(query, keep_blank_values=True)))


def normalize_url(url: str) -> str:
    """URL with lower-case scheme and host, default port dropped and the query sorted."""
    scheme, host, port, path, query = split_url(url)
    netloc = f"{host}:{port}" if port is not None else host
    q = urlencode(query_key(query))
    return f"{scheme}://{netloc}{path}" + (f"?{q}" if q else "")


# --- the rules ----------------------------------------------------------------------------------


class Matcher:
    """One match rule: requests match on it when their keys are equal."""

    name: ClassVar[str]
    #: Whether the key depends on headers (a request sent byte for byte as recorded may then
    #: still differ, so the method/URL/body shortcut of the index does not apply).
    reads_headers: ClassVar[bool] = False

    def key(self, req: Request) -> Hashable:
        raise NotImplementedError

    def explain(self, sent: Request, recorded: Request) -> list[str]:
        """Why the two requests differ on this rule (empty when they do not)."""
        if self.key(sent) == self.key(recorded):
            return []
        return [f"{self.name}: sent {self.shown(sent)!r}, recorded {self.shown(recorded)!r}"]

    def shown(self, req: Request) -> object:
        return self.key(req)


class MethodMatcher(Matcher):
    name = "method"

    def key(self, req: Request) -> Hashable:
        return req.method.upper()

    def explain(self, sent: Request, recorded: Request) -> list[str]:
        if self.key(sent) == self.key(recorded):
            return []
        return [f"method: sent {sent.method}, recorded {recorded.method}"]


#: `normalize_url` by URL (a pure function of the string): a test suite sends to a handful of
#: URLs, and every recorded request is keyed by its URL at load (bounded).
_normalized = functools.lru_cache(maxsize=1024)(normalize_url)


class URLMatcher(Matcher):
    name = "url"

    def key(self, req: Request) -> Hashable:
        return _normalized(req.url)

    def explain(self, sent: Request, recorded: Request) -> list[str]:
        if self.key(sent) == self.key(recorded):
            return []
        return [f"url: sent {sent.url}, recorded {recorded.url}"]


@dataclass(frozen=True)
class URLPartMatcher(Matcher):
    """`scheme`, `host`, `port` or `path` alone."""

    part: str

    _INDEX: ClassVar[dict[str, int]] = {"scheme": 0, "host": 1, "port": 2, "path": 3}

    @property
    def name(self) -> str:  # type: ignore[override]
        return self.part

    def key(self, req: Request) -> Hashable:
        return split_url(req.url)[self._INDEX[self.part]]


class QueryMatcher(Matcher):
    name = "query"

    def key(self, req: Request) -> Hashable:
        return query_key(split_url(req.url)[4])

    def shown(self, req: Request) -> object:
        return split_url(req.url)[4]


def multipart_parts(req: Request) -> list[Part] | None:
    """The parts of a multipart body (boundary from `content-type`, else from the body), or None."""
    if req.body[:2] != b"--":
        return None
    content_type = header_value(req.headers, "content-type") or ""
    if content_type and not is_multipart(content_type):
        return None
    return parse_parts(req.body, content_type)


@dataclass(frozen=True)
class BodyMatcher(Matcher):
    """JSON bodies semantically (key order ignored, `ignore_fields` left out), multipart bodies by
    their parts (the random boundary aside; `ignore_fields` names parts), others byte for byte.

    A JSON-RPC request (MCP) is compared without its `id`, a counter: calls replay in any order,
    answered with the id actually sent (`core.jsonrpc`)."""

    ignore_fields: tuple[str, ...] = ()
    name: ClassVar[str] = "body"

    def comparable(self, body: bytes) -> tuple[bool, Any]:
        """(True, JSON value without the ignored fields) or (False, None)."""
        is_json, value = parse_json_body(body)
        if is_json:
            value = jsonrpc.without_ids(value)
            try:
                for f in self.ignore_fields:
                    value = drop_path(value, f.split("."))
            except RecursionError:  # parsed, but too deep to walk: compared as bytes
                return False, None
        return is_json, value

    def key(self, req: Request) -> Hashable:
        parts = multipart_parts(req)
        if parts is not None:
            return parts_key(parts, self.ignore_fields)
        is_json, value = self.comparable(req.body)
        if is_json:
            try:
                return "json:" + canonical_json(value)
            except RecursionError:
                pass
        return req.body

    def explain(self, sent: Request, recorded: Request) -> list[str]:
        if self.key(sent) == self.key(recorded):
            return []
        a_parts, b_parts = multipart_parts(sent), multipart_parts(recorded)
        if a_parts is not None and b_parts is not None:
            return part_differences(a_parts, b_parts, self.ignore_fields)
        a_json, a = self.comparable(sent.body)
        b_json, b = self.comparable(recorded.body)
        if a_json and b_json:
            try:
                found = json_differences(a, b)
            except RecursionError:
                found = ["body: nested too deep to compare field by field"]
            return ["body." + d if not d.startswith("body") else d for d in found]
        return [
            f"body: sent {short(sent.body[:200].decode('utf-8', 'replace'))}, "
            f"recorded {short(recorded.body[:200].decode('utf-8', 'replace'))}"
        ]


# Headers whose values change with every session and never tell requests apart.
VOLATILE_HEADERS = frozenset({"mcp-session-id"})


class HeadersMatcher(Matcher):
    name = "headers"
    reads_headers = True

    def key(self, req: Request) -> Hashable:
        return self.pairs(req)

    @staticmethod
    def pairs(req: Request) -> tuple[tuple[str, str], ...]:
        """All headers, lower-case names, sorted; except what only reflects how the body was
        encoded (a multipart boundary, and the length it gives) and session ids."""
        out = []
        for k, v in req.headers:
            name = k.lower()
            if name != "content-length" and name not in VOLATILE_HEADERS:
                out.append((name, without_boundary(v) if name == "content-type" else v))
        return tuple(sorted(out))

    def explain(self, sent: Request, recorded: Request) -> list[str]:
        a, b = set(self.pairs(sent)), set(self.pairs(recorded))
        if a == b:
            return []
        return [f"headers differ: {', '.join(sorted({k for k, _ in a ^ b}))}"]


#: Built rules by their arguments: each session (one per test) builds its rules, and their
#: matchers and properties are computed once instead of at every session's first request.
_built: dict[tuple[tuple[str | CustomMatcher, ...], tuple[str, ...]], MatchRules] = {}


def _builtin(name: str, ignore_body_fields: tuple[str, ...]) -> Matcher:
    if name in URLPartMatcher._INDEX:
        return URLPartMatcher(name)
    if name == "body":
        return BodyMatcher(ignore_body_fields)
    return {"method": MethodMatcher, "url": URLMatcher, "query": QueryMatcher, "headers": HeadersMatcher}[name]()


# The order in which a miss message lists differences, whatever the order of `match_on`.
BUILTIN = ("method", "url", "scheme", "host", "port", "path", "query", "body", "headers")


@dataclass(frozen=True)
class MatchRules:
    """How requests are compared: `match_on` names (or callables) and JSON fields to ignore."""

    match_on: tuple[str | CustomMatcher, ...] = DEFAULT_MATCH_ON
    ignore_body_fields: tuple[str, ...] = ()

    BUILTIN: ClassVar[tuple[str, ...]] = BUILTIN

    @classmethod
    def build(cls, match_on: MatchOn | None = None, ignore_body_fields: Iterable[str] = ()) -> MatchRules:
        items = tuple(match_on) if match_on is not None else DEFAULT_MATCH_ON
        fields = tuple(ignore_body_fields)
        try:
            rules = _built.get((items, fields))
        except TypeError:  # an unhashable custom matcher: nothing to share
            rules = None
        if rules is not None:
            return rules  # validated when it was built
        for m in items:
            if isinstance(m, str) and m not in BUILTIN:
                raise CassetteError(
                    f"unknown matcher {m!r} in match_on (built-in matchers: {', '.join(BUILTIN)}; "
                    "or pass a callable taking (sent, recorded) requests)"
                )
            if not isinstance(m, str) and not callable(m):
                raise CassetteError(f"match_on items must be matcher names or callables, not {m!r}")
        for f in fields:
            if not isinstance(f, str) or not f:
                raise CassetteError(f"ignore_body_fields items must be dotted field paths, not {f!r}")
        rules = cls(match_on=items, ignore_body_fields=fields)
        try:
            if len(_built) >= 64:
                _built.clear()
            _built[items, fields] = rules
        except TypeError:
            pass
        return rules

    @functools.cached_property
    def matchers(self) -> tuple[Matcher, ...]:
        """The built-in rules in `match_on` order (which is the order of the key)."""
        return tuple(_builtin(m, self.ignore_body_fields) for m in self.match_on if isinstance(m, str))

    @functools.cached_property
    def drift_rule(self) -> BodyMatcher | None:
        """What tells a replay whose body differs from its recording's, when `match_on` leaves the
        body out (None when the body is matched)."""
        names = [m for m in self.match_on if isinstance(m, str)]
        return BodyMatcher(self.ignore_body_fields) if "body" not in names else None

    @functools.cached_property
    def custom(self) -> tuple[CustomMatcher, ...]:
        return tuple(m for m in self.match_on if not isinstance(m, str))

    @functools.cached_property
    def _key_functions(self) -> tuple[Callable[[Request], Hashable], ...]:
        return tuple(m.key for m in self.matchers)

    @functools.cached_property
    def reads_headers(self) -> bool:
        """True when a rule may look at headers (the `headers` rule, or a custom matcher): the
        sent request is then compared with its headers redacted, as the recording's are."""
        return bool(self.custom) or any(m.reads_headers for m in self.matchers)

    @functools.cached_property
    def keyed_by_method_url_body(self) -> bool:
        """True when `key()` depends on nothing but the method, URL and body of a request."""
        return not any(m.reads_headers for m in self.matchers)

    def key(self, req: Request) -> tuple[object, ...]:
        """The hashable key of the built-in matchers; equal keys mean a match on all of them."""
        return tuple(k(req) for k in self._key_functions)

    def custom_match(self, sent: Request, recorded: Request) -> bool:
        return all(m(sent, recorded) for m in self.custom)

    def differences(self, sent: Request, recorded: Request) -> list[str]:
        """Why `recorded` does not match `sent`, one line per differing part."""
        out: list[str] = []
        for m in sorted(self.matchers, key=lambda m: BUILTIN.index(m.name)):
            out.extend(m.explain(sent, recorded))
        for c in self.custom:
            if not c(sent, recorded):
                out.append(f"custom matcher {getattr(c, '__name__', repr(c))} said no")
        return out

    def closeness(self, sent: Request, recorded: Request) -> tuple[int, int, int]:
        """A sort key: higher is closer (same method, same URL, fewer differing parts)."""
        same_method = int(sent.method.upper() == recorded.method.upper())
        same_url = int(normalize_url(sent.url) == normalize_url(recorded.url))
        same_path = int(urlsplit(sent.url).path == urlsplit(recorded.url).path)
        return same_method + same_path, same_url, -len(self.differences(sent, recorded))
