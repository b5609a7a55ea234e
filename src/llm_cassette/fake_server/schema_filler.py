"""Plausible values for JSON schemas: structured output (``response_format``) and tool call arguments."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .replies import JSONDict, compact_json

__all__ = ["fill_schema", "json_reply", "tool_arguments"]


def _resolve_ref(ref: str, root: Mapping[str, Any]) -> Mapping[str, Any]:
    node: Any = root
    if not ref.startswith("#/"):
        return {}
    for part in ref[2:].split("/"):
        if not isinstance(node, Mapping) or part not in node:
            return {}
        node = node[part]
    return node if isinstance(node, Mapping) else {}


def fill_schema(
    schema: object, text: str, root: Mapping[str, Any], *, only_required: bool = False, depth: int = 0
) -> Any:
    """A plausible value matching a JSON schema: strings get ``text``, numbers 1, arrays one item."""
    if not isinstance(schema, Mapping) or depth > 12:
        return text
    if isinstance(schema.get("$ref"), str):
        return fill_schema(_resolve_ref(schema["$ref"], root), text, root, only_required=only_required, depth=depth + 1)
    if "const" in schema:
        return schema["const"]
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return enum[0]
    if "default" in schema and only_required:
        return schema["default"]
    for key in ("anyOf", "oneOf", "allOf"):
        options = schema.get(key)
        if isinstance(options, list) and options:
            chosen = next(
                (opt for opt in options if not (isinstance(opt, Mapping) and opt.get("type") == "null")),
                options[0],
            )
            return fill_schema(chosen, text, root, only_required=only_required, depth=depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None and isinstance(schema.get("properties"), Mapping):
        kind = "object"
    if kind == "object":
        properties = schema.get("properties")
        if not isinstance(properties, Mapping):
            return {}
        names: list[str] = list(properties)
        required = schema.get("required")
        if only_required and isinstance(required, list):
            names = [name for name in names if name in required]
        return {
            name: fill_schema(properties[name], text, root, only_required=only_required, depth=depth + 1)
            for name in names
        }
    if kind == "array":
        return [fill_schema(schema.get("items", {}), text, root, only_required=only_required, depth=depth + 1)]
    if kind == "integer":
        return 1
    if kind == "number":
        return 1.0
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return text


def tool_arguments(parameters: object, user_text: str) -> JSONDict:
    """Arguments for a tool call: the tool's required parameters filled, else ``{"query": text}``."""
    if isinstance(parameters, Mapping) and isinstance(parameters.get("properties"), Mapping):
        filled = fill_schema(parameters, user_text, parameters, only_required=True)
        if isinstance(filled, dict):
            return filled
    return {"query": user_text}


def json_reply(response_format: object, text: str) -> str | None:
    """The JSON text answering a ``response_format`` (``json_object`` or ``json_schema``); None otherwise."""
    if not isinstance(response_format, Mapping):
        return None
    kind = response_format.get("type")
    if kind == "json_object":
        return compact_json({"answer": text})
    if kind == "json_schema":
        spec = response_format.get("json_schema")
        schema = spec.get("schema") if isinstance(spec, Mapping) else None
        if isinstance(schema, Mapping) and isinstance(schema.get("properties"), Mapping) and schema["properties"]:
            return compact_json(fill_schema(schema, text, schema))
        return compact_json({"answer": text})
    return None
