"""Secrets never reach disk: credentials are replaced before an interaction is stored.

Applied on record to headers, query strings, JSON fields, raw bodies and streamed chunks; applied
the same way to a request before it is matched, so a replayed request still matches its redacted
recording.
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .models import Chunk, Headers, Interaction, Request, Response, TransportFailure
from .recording import decode_request_body
from .secret_forms import SecretForms

PLACEHOLDER = "REDACTED"

SECRET_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "api-key",
        "x-api-key",
        "x-goog-api-key",
        "cookie",
        "set-cookie",
        "openai-organization",
        "openai-project",
        "anthropic-admin-api-key",
        "x-amz-security-token",
        "x-amz-access-token",
        # AWS SigV4: the signed date and body hash change with every request (never matched).
        "x-amz-date",
        "x-amz-content-sha256",
        "x-auth-token",
        "x-access-token",
        "ocp-apim-subscription-key",
    }
)

SECRET_QUERY_KEYS = frozenset(
    {
        "key",
        "api_key",
        "apikey",
        "api-key",
        "access_token",
        "token",
        "auth",
        "client_secret",
        "secret",
        "password",
        "sig",
        "signature",
        "x-amz-signature",
        "x-amz-credential",
        "x-amz-security-token",
        "x-amz-date",
    }
)

SECRET_ENV_VARS = (
    "OPENAI_API_KEY",
    "OPENAI_ORG_ID",
    "OPENAI_PROJECT_ID",
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "AZURE_OPENAI_API_KEY",
    "AZURE_API_KEY",
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "MISTRAL_API_KEY",
    "GROQ_API_KEY",
    "COHERE_API_KEY",
    "CO_API_KEY",
    "TOGETHER_API_KEY",
    "OPENROUTER_API_KEY",
    "FIREWORKS_API_KEY",
    "DEEPSEEK_API_KEY",
    "XAI_API_KEY",
    "PERPLEXITY_API_KEY",
    "REPLICATE_API_TOKEN",
    "HF_TOKEN",
    "HUGGINGFACE_API_KEY",
    "HUGGING_FACE_HUB_TOKEN",
    "VOYAGE_API_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "LANGCHAIN_API_KEY",
    "LANGSMITH_API_KEY",
)

# Shorter values are too likely to occur by chance (and to be meaningless as secrets).
MIN_SECRET_LENGTH = 8


def env_secrets(environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """Values of known provider credentials in the environment, longest first."""
    if environ is None:
        found = environ_values(SECRET_ENV_VARS)  # every session asks: most find none
        if not found:
            return ()
        values = {v.strip() for v in found.values() if v}
    else:
        values = {environ[name].strip() for name in SECRET_ENV_VARS if environ.get(name)}
    return tuple(sorted((v for v in values if len(v) >= MIN_SECRET_LENGTH), key=len, reverse=True))


def environ_values(names: tuple[str, ...]) -> dict[str, str]:
    """The variables of `names` set in `os.environ` (empty ones too), by name. Read through the
    encoded mapping `os.environ` keeps current, the names found by one set intersection instead of
    `os.environ.get`'s encode-lookup-raise per name (most are unset): every test asks."""
    raw: Any = getattr(os.environ, "_data", None)
    if not isinstance(raw, dict):
        return {name: value for name in names if (value := os.environ.get(name)) is not None}
    encoded = _encoded_names(names)
    found = encoded.keys() & raw.keys()
    if not found:
        return {}
    decode = os.environ.decodevalue  # type: ignore[attr-defined]
    return {encoded[key]: decode(raw[key]) for key in found}


@functools.cache
def _encoded_names(names: tuple[str, ...]) -> dict[Any, str]:
    return {os.environ.encodekey(name): name for name in names}  # type: ignore[attr-defined]


#: Built redactors by their arguments (the secrets found in the environment included): every
#: session builds one, and a redactor is immutable, its compiled secret forms too (bounded).
_built: dict[tuple[object, ...], Redactor] = {}
_BUILT_MAX = 64


@dataclass(frozen=True)
class Redactor:
    """What to redact. User options add to the defaults, never replace them."""

    headers: frozenset[str] = SECRET_HEADERS
    query_keys: frozenset[str] = SECRET_QUERY_KEYS
    json_fields: frozenset[str] = frozenset()
    values: tuple[str, ...] = ()
    placeholder: str = PLACEHOLDER

    @functools.cached_property
    def forms(self) -> SecretForms:
        """Every value in every encoding a client or server may give it (see `core.secret_forms`)."""
        return SecretForms.build(self.values)

    @classmethod
    def build(
        cls,
        *,
        headers: Iterable[str] = (),
        query_keys: Iterable[str] = (),
        json_fields: Iterable[str] = (),
        values: Iterable[str] = (),
        environ: Mapping[str, str] | None = None,
    ) -> Redactor:
        secrets = env_secrets(environ)
        if not (headers or query_keys or json_fields or values):  # the options' defaults: most sessions
            key: tuple[Any, ...] = (cls, (), (), (), secrets)  # already longest first
        else:
            literal = set(filter(None, values))
            literal.update(secrets)
            key = (
                cls,
                tuple(map(str.lower, headers)),
                tuple(map(str.lower, query_keys)),
                tuple(json_fields),
                tuple(sorted(literal, key=len, reverse=True)) if literal else (),
            )
        built = _built.get(key)
        if built is None:
            _, extra_headers, extra_keys, fields, ordered = key
            built = cls(
                headers=SECRET_HEADERS | set(extra_headers) if extra_headers else SECRET_HEADERS,
                query_keys=SECRET_QUERY_KEYS | set(extra_keys) if extra_keys else SECRET_QUERY_KEYS,
                json_fields=frozenset(fields),
                values=ordered,
            )
            if len(_built) >= _BUILT_MAX:
                _built.clear()
            _built[key] = built
        return built

    # -- pieces --------------------------------------------------------------------------------

    def redact_bytes(self, data: bytes) -> bytes:
        if not self.values:
            return data
        return self.forms.redact(data, self.placeholder.encode())

    def redact_text(self, text: str) -> str:
        if not self.values:
            return text
        raw = text.encode("utf-8", "surrogatepass")
        new = self.forms.redact(raw, self.placeholder.encode())
        return text if new is raw else new.decode("utf-8", "surrogatepass")

    def redact_chunks(self, chunks: tuple[Chunk, ...]) -> tuple[Chunk, ...]:
        """Redact a stream as the caller read it, joined, so that a value split across two chunks
        is found; every other byte stays in its chunk, so the boundaries replay as recorded."""
        if not self.values:
            return chunks
        pieces = [c.data for c in chunks]
        new = self.forms.redact_pieces(pieces, self.placeholder.encode())
        if new is pieces:
            return chunks
        return tuple(Chunk(data, c.t) for data, c in zip(new, chunks, strict=True))

    def redact_message(self, message: str) -> str:
        """An error message: known values, and credentials in any URL it quotes."""
        message = _URL_IN_TEXT.sub(lambda m: self.redact_url(m.group(0)), message)
        return self.redact_text(message)

    def redact_failure(self, failure: TransportFailure | None) -> TransportFailure | None:
        if failure is None:
            return None
        message = self.redact_message(failure.message)
        return failure if message == failure.message else replace(failure, message=message)

    def redact_headers(self, headers: Headers) -> Headers:
        return tuple((k, self.placeholder if k.lower() in self.headers else self.redact_text(v)) for k, v in headers)

    def redact_url(self, url: str) -> str:
        parts = urlsplit(url)
        netloc = parts.netloc
        if "@" in netloc:  # user:password@host
            netloc = f"{self.placeholder}@{netloc.rsplit('@', 1)[1]}"
        query = parts.query
        if query:
            pairs = parse_qsl(query, keep_blank_values=True)
            if any(k.lower() in self.query_keys for k, _ in pairs):
                query = urlencode([(k, self.placeholder if k.lower() in self.query_keys else v) for k, v in pairs])
        return self.redact_text(urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment)))

    def redact_body(self, body: bytes) -> bytes:
        if self.json_fields and body[:1] in (b"{", b"["):
            try:
                value = json.loads(body)
            except (ValueError, UnicodeDecodeError, RecursionError):
                pass
            else:
                try:
                    new = _redact_fields(value, self.json_fields, self.placeholder)
                except RecursionError:  # too deep to walk: the literal values are still redacted below
                    new = value
                if new != value:
                    body = json.dumps(new, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        return self.redact_bytes(body)

    # -- whole objects -------------------------------------------------------------------------

    def redact_request(self, req: Request) -> Request:
        """The request as it is stored: a compressed body decoded (a key inside it is found), then
        every credential replaced."""
        headers, body = decode_request_body(req.headers, req.body)
        return Request(
            method=req.method,
            url=self.redact_url(req.url),
            headers=self.redact_headers(headers),
            body=self.redact_body(body),
        )

    def request_for_matching(self, req: Request, *, headers: bool = False) -> Request:
        """The parts of a request that matching looks at, decoded and redacted as the recording
        was (the headers too, when `headers`: compare redacted to redacted)."""
        url = req.url
        if "?" in url or "@" in url:
            url = self.redact_url(url)
        elif self.values:
            url = self.redact_text(url)  # all redact_url could change here (matching normalises the rest)
        new_headers, body = decode_request_body(req.headers, req.body)
        if self.values or self.json_fields:
            body = self.redact_body(body)
        if headers:
            new_headers = self.redact_headers(new_headers)
        if url == req.url and body is req.body and new_headers is req.headers:
            return req
        return replace(req, url=url, headers=new_headers, body=body)

    def redact_response(self, resp: Response) -> Response:
        return replace(
            resp,
            headers=self.redact_headers(resp.headers),
            body=self.redact_body(resp.body) if resp.body else resp.body,
            chunks=self.redact_chunks(resp.chunks) if resp.chunks is not None else None,
            error=self.redact_failure(resp.error),
        )

    def redact_interaction(self, it: Interaction) -> Interaction:
        return replace(
            it,
            request=self.redact_request(it.request),
            response=self.redact_response(it.response) if it.response is not None else None,
            error=self.redact_failure(it.error),
        )


# A URL quoted in an error message ("... for url 'https://h/?key=...'"): its query is redacted too.
_URL_IN_TEXT = re.compile(r"""https?://[^\s'"<>]+""")


def _redact_fields(value: object, fields: frozenset[str], placeholder: str) -> object:
    """Replace the value of every JSON key named in `fields` (at any depth) or at a dotted path."""
    names = {f for f in fields if "." not in f}
    paths = [f.split(".") for f in fields if "." in f]

    def walk(v: object, path: tuple[str, ...]) -> object:
        if isinstance(v, dict):
            out: dict[str, object] = {}
            for k, item in v.items():
                sub = (*path, str(k))
                if k in names or any(_path_matches(p, sub) for p in paths):
                    out[k] = placeholder
                else:
                    out[k] = walk(item, sub)
            return out
        if isinstance(v, list):
            return [walk(item, (*path, str(i))) for i, item in enumerate(v)]
        return v

    return walk(value, ())


def _path_matches(pattern: list[str], path: tuple[str, ...]) -> bool:
    return len(pattern) == len(path) and all(p in ("*", q) for p, q in zip(pattern, path, strict=True))
