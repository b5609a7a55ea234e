"""What recorded tokens cost: a price table (dollars per million tokens) and the lookup of a model in it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from ..storage import read_regular_file


@dataclass(frozen=True)
class Price:
    """Dollars per million tokens."""

    input: float = 0.0
    output: float = 0.0


_SNAPSHOT = re.compile(r"[-@](\d{4}-\d{2}-\d{2}|\d{8})$")


def price_for(model: str, prices: dict[str, Price]) -> Price | None:
    """The price of `model`: an exact entry, else the entry for it without a date snapshot suffix.

    `gpt-4o-mini-2024-07-18` and `claude-3-5-haiku-20241022` find `gpt-4o-mini` and
    `claude-3-5-haiku`; a bare prefix never matches, so `gpt-4o` is not priced as `gpt-4o-mini`.
    """
    if model in prices:
        return prices[model]
    base = _SNAPSHOT.sub("", model)
    return prices.get(base)


class PriceTableError(ValueError):
    """A price table that cannot be used; the message names the file."""


def load_prices(path: Path) -> dict[str, Price]:
    """Read a price table: a YAML (or JSON) mapping of model to `{input: N, output: N}`."""
    try:
        doc = yaml.safe_load(read_regular_file(path).decode("utf-8", "replace"))
    except OSError as exc:
        raise PriceTableError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise PriceTableError(f"{path}: invalid YAML: {exc}") from None
    if not isinstance(doc, dict):
        raise PriceTableError(f"{path}: expected a mapping of model name to {{input: N, output: N}}")
    prices: dict[str, Price] = {}
    for model, entry in doc.items():
        if not isinstance(entry, dict) or not entry or set(entry) - {"input", "output"}:
            raise PriceTableError(
                f"{path}: {model}: expected {{input: N, output: N}} in dollars per million tokens, got {entry!r}"
            )
        values: dict[str, float] = {}
        for key, value in entry.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise PriceTableError(f"{path}: {model}.{key}: expected a non-negative number, got {value!r}")
            values[key] = float(value)
        prices[str(model)] = Price(**values)
    return prices
