"""The suite's vcrpy serializer: JSON bodies stored parsed (`parsed_body`), volatile headers dropped.

Written the way several projects (pydantic-ai among them) store readable vcrpy cassettes.
"""

import json
from typing import Any

import yaml

DROPPED_HEADERS = {"authorization", "x-api-key", "date", "server", "user-agent", "set-cookie"}
DROPPED_PREFIXES = ("x-stainless-", "anthropic-ratelimit-", "openai-")


def _keep(name: str) -> bool:
    return name not in DROPPED_HEADERS and not name.startswith(DROPPED_PREFIXES)


def deserialize(cassette_string: str) -> dict[str, Any]:
    cassette = yaml.safe_load(cassette_string)
    for interaction in cassette["interactions"]:
        for kind, data in interaction.items():
            parsed = data.pop("parsed_body", None)
            if parsed is not None:
                text = json.dumps(parsed)
                data["body"] = {"string": text} if kind == "response" else text
    return cassette


def serialize(cassette: dict[str, Any]) -> str:
    for interaction in cassette["interactions"]:
        for _kind, data in interaction.items():
            headers = {k.lower(): v for k, v in data.get("headers", {}).items() if _keep(k.lower())}
            data["headers"] = headers
            types = headers.get("content-type", [])
            if "content-encoding" in headers:
                continue  # a compressed body stays as recorded (!!binary)
            if any(isinstance(t, str) and t.startswith("application/json") for t in types):
                body = data.get("body")
                if isinstance(body, dict):
                    body = body.get("string")
                if isinstance(body, bytes):
                    body = body.decode("utf-8")
                if body:
                    data["parsed_body"] = json.loads(body)
                    del data["body"]
    return yaml.safe_dump(cassette, allow_unicode=True, width=120, sort_keys=False)
