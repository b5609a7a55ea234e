"""The ``drift`` knob: the same request answered as a provider that changed would answer it.

For testing drift detection (``llm-cassette diff``, ``pytest --llm-verify``) without touching the
client: set it per request (``x-fake-drift: reword``) or for the whole server
(:meth:`FakeServer.set_default_knobs`). Kinds, combinable with commas:

* ``ids`` -- only volatile fields change: ids, request ids, ``created``, ``system_fingerprint``;
* ``reword`` -- every text reply (and every string of a structured reply) is worded differently;
* ``tools`` -- tool calls get different argument values;
* ``shape`` -- structured (JSON) replies get an extra key.
"""

from __future__ import annotations

import json
from typing import Any

from .knobs import Knobs

__all__ = ["DRIFT_KINDS", "drifted_arguments", "drifted_json", "reworded"]

DRIFT_KINDS = frozenset({"ids", "reword", "tools", "shape"})


def reworded(text: str, knobs: Knobs) -> str:
    """`text`, said differently when the ``reword`` drift is on."""
    return f"In short: {text}" if "reword" in knobs.drift else text


def drifted_arguments(arguments: dict[str, Any], knobs: Knobs) -> dict[str, Any]:
    """Tool-call arguments, with every string value changed when the ``tools`` drift is on."""
    if "tools" not in knobs.drift:
        return arguments
    return {k: (v.upper() if isinstance(v, str) else v) for k, v in arguments.items()}


def drifted_json(text: str | None, knobs: Knobs) -> str | None:
    """A structured reply, with one more key when the ``shape`` drift is on."""
    if text is None or "shape" not in knobs.drift:
        return text
    value = json.loads(text)
    value = {**value, "confidence": 0.5} if isinstance(value, dict) else {"items": value}
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
