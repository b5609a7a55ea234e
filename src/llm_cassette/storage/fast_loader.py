"""Safe YAML parsing for cassettes, fast: built straight from libyaml's events.

Never an unsafe loader: aliases are refused (no "billion laughs"), duplicate keys are errors, and
nesting is capped (`MAX_DEPTH`) so neither libyaml's recursive composer nor Python can overflow.
`schema` imports this module only for a document `block_reader` leaves to it (and for the line of
an error): what our writer writes is read without PyYAML.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml

from . import block_reader
from .limits import MAX_DEPTH, TooDeep, quoted

BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class Loader(BaseLoader):  # type: ignore[misc]
    """Safe loader that refuses aliases: a cassette never needs them, and they enable alias bombs."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        if node in self.constructed_objects:
            raise yaml.constructor.ConstructorError(
                None, None, "YAML aliases are not allowed in a cassette", node.start_mark
            )
        return super().construct_object(node, deep)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        # A duplicate key (a bad merge, a hand edit) would silently drop one of the two values.
        self.flatten_mapping(node)
        mapping: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                duplicate = key in mapping
            except TypeError:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping", node.start_mark, "found unhashable key", key_node.start_mark
                ) from None
            if duplicate:
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key {quoted(key)}", key_node.start_mark)
            mapping[key] = self.construct_object(value_node, deep=deep)
        return mapping


def check_depth(text: str | bytes) -> None:
    """Raise `TooDeep` where `text` nests deeper than MAX_DEPTH (from events: no recursion)."""
    depth = 0
    for event in yaml.parse(text, Loader=BaseLoader):
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                raise TooDeep(event.start_mark.line + 1 if event.start_mark is not None else 1)
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1


_STR_TAG = "tag:yaml.org,2002:str"
_COLLECTION_TAGS = (None, "!", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")
_NO_KEY: Any = object()
# Plain scalar text -> its value (keys, statuses, small numbers: the same few hundred in every
# cassette). Values are immutable, the resolution depends on the text alone; bounded.
_plain_values: dict[str, Any] = {}


class _Unusual(Exception):
    """The document uses a YAML feature the fast builder leaves to PyYAML's constructor."""


def parse_yaml(text: str | bytes) -> Any:
    """`yaml.load(text, Loader=Loader)`, built straight from the parser's events.

    PyYAML composes a node per value (resolving every scalar in Python) and then walks the nodes
    again to construct; building from events skips the nodes and resolves each distinct plain
    scalar once: five times faster on a large cassette. Anything unusual (aliases, explicit
    collection tags, merge keys, unhashable keys, several documents) goes the PyYAML way, so the
    result and the errors are the same either way.
    """
    try:
        return block_reader.read(text)  # what our writer writes, line by line: faster still
    except block_reader.Unusual:
        return parse_unusual(text)


def parse_unusual(text: str | bytes) -> Any:
    """`parse_yaml` for a text the block reader leaves to PyYAML."""
    try:
        return _parse_events(text)
    except _Unusual:
        check_depth(text)  # PyYAML's composer recurses: refuse what would overflow it
        return yaml.load(text, Loader=Loader)


def _parse_events(text: str | bytes) -> Any:
    loader = Loader(text)
    try:
        get_event = loader.get_event
        resolve = loader.resolve
        constructors = loader.yaml_constructors
        containers: list[Any] = []  # the open mappings and sequences, innermost last
        keys: list[Any] = []  # for each open container: the key awaiting its value (mappings)
        root: Any = None
        get_event()  # StreamStartEvent
        event = get_event()
        if isinstance(event, yaml.StreamEndEvent):
            return None
        while True:
            event = get_event()
            cls = event.__class__
            if cls is yaml.ScalarEvent:
                tag, text_value = event.tag, event.value
                if tag is None or tag == "!":
                    if event.implicit[0]:  # plain: its type depends on how it reads
                        value = _plain_values.get(text_value, _NO_KEY)
                        if value is _NO_KEY:
                            tag = resolve(yaml.ScalarNode, text_value, event.implicit)
                            value = _construct_scalar(loader, constructors, tag, event)
                            if len(text_value) <= 40 and len(_plain_values) < 8192:
                                _plain_values[text_value] = value
                    else:
                        value = text_value
                elif tag == _STR_TAG:
                    value = text_value
                else:
                    value = _construct_scalar(loader, constructors, tag, event)
            elif cls is yaml.MappingStartEvent or cls is yaml.SequenceStartEvent:
                if event.tag not in _COLLECTION_TAGS:
                    raise _Unusual
                if len(containers) >= MAX_DEPTH:
                    raise TooDeep(event.start_mark.line + 1)
                containers.append({} if cls is yaml.MappingStartEvent else [])
                keys.append(_NO_KEY)
                continue
            elif cls is yaml.MappingEndEvent or cls is yaml.SequenceEndEvent:
                keys.pop()
                value = containers.pop()
            elif cls is yaml.AliasEvent:
                raise _Unusual  # refused by `Loader`, whose error names the anchor's line
            else:  # DocumentEndEvent
                if not isinstance(get_event(), yaml.StreamEndEvent):
                    raise _Unusual  # several documents: PyYAML reports it
                return root
            if not containers:
                root = value
                continue
            parent = containers[-1]
            if parent.__class__ is list:
                parent.append(value)
            elif keys[-1] is _NO_KEY:
                if value.__class__ is dict or value.__class__ is list:
                    raise _Unusual  # unhashable key: PyYAML reports it
                if value in parent:
                    message = f"duplicate key {quoted(value)}"
                    raise yaml.constructor.ConstructorError(None, None, message, event.start_mark)
                keys[-1] = value
            else:
                parent[keys[-1]] = value
                keys[-1] = _NO_KEY
    finally:
        loader.dispose()


def _construct_scalar(loader: Any, constructors: dict[Any, Any], tag: str, event: Any) -> Any:
    if tag == _STR_TAG:
        return event.value
    construct = constructors.get(tag)
    if construct is None or tag == "tag:yaml.org,2002:merge":
        raise _Unusual
    node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, style=event.style)
    return construct(loader, node)


def problem(exc: Exception, text: str | bytes) -> tuple[str, int | None] | None:
    """(message, line) for an error YAML raised while parsing `text`; None for any other error."""
    if isinstance(exc, yaml.reader.ReaderError):
        # Bad UTF-8 or a control character: the position is an offset into what was read.
        before = text[: exc.position]
        at = (before.count(b"\n") if isinstance(before, bytes) else before.count("\n")) + 1
        return f"invalid YAML: {exc}", at
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        return f"invalid YAML: {exc.problem or str(exc)}", line
    if isinstance(exc, yaml.YAMLError):
        return f"invalid YAML: {exc}", None
    return None


def line_of(text: str, path: Sequence[str | int]) -> int | None:
    """1-based line of the node at `path`, found by composing the document with marks."""
    try:
        node: yaml.Node | None = yaml.compose(text, Loader=BaseLoader)  # libyaml when present
    except (yaml.YAMLError, RecursionError):
        return None
    line = node.start_mark.line + 1 if node is not None else None
    for key in path:
        if isinstance(node, yaml.MappingNode) and isinstance(key, str):
            for k, v in node.value:
                if k.value == key:
                    line, node = k.start_mark.line + 1, v
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
            line = node.start_mark.line + 1
        else:
            return line
    if isinstance(node, yaml.ScalarNode):
        line = node.start_mark.line + 1
    return line
