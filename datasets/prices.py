"""Price tables: litellm's bundled price map (read offline, never fetched) and price files.

This is the one place that touches litellm. The bundled map is read from the installed package's JSON file
directly, which is what litellm itself loads with `LITELLM_LOCAL_MODEL_COST_MAP=True`, and avoids importing
litellm (seconds, and a network attempt without that variable).
"""

from __future__ import annotations

import json
from datetime import date
from importlib import metadata, util
from pathlib import Path

import yaml

from routelab.router_core.pricing import ModelPrice, PriceTable

BUNDLED_MAP = "model_prices_and_context_window_backup.json"


class PriceFileError(ValueError):
    """A price file cannot be read; the message names the file and the entry."""


def bundled_map_path() -> Path:
    """Path of litellm's bundled price map inside the installed package."""
    spec = util.find_spec("litellm")
    if spec is None or not spec.submodule_search_locations:
        raise PriceFileError("litellm is not installed; install routelab's dependencies (`make venv`)")
    path = Path(next(iter(spec.submodule_search_locations))) / BUNDLED_MAP
    if not path.is_file():
        raise PriceFileError(f"litellm {metadata.version('litellm')} has no bundled price map at {path}")
    return path


def litellm_price_table(today: date | None = None) -> PriceTable:
    """A snapshot of litellm's bundled map: every model with per-token input and output prices.

    Args:
        today: the snapshot date to record (default: today's date).
    """
    raw = json.loads(bundled_map_path().read_text(encoding="utf-8"))
    prices = {}
    for model_id, entry in raw.items():
        if not isinstance(entry, dict):
            continue
        inp, out = entry.get("input_cost_per_token"), entry.get("output_cost_per_token")
        if isinstance(inp, int | float) and isinstance(out, int | float):
            prices[model_id] = ModelPrice(input_per_token=float(inp), output_per_token=float(out))
    stamp = (today or date.today()).isoformat()
    return PriceTable(prices=prices, source=f"litellm {metadata.version('litellm')} bundled map", as_of=stamp)


def load_price_file(path: Path) -> PriceTable:
    """Read a price table file (YAML or JSON): `{source, as_of, prices: {model: {input_per_token, ...}}}`."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise PriceFileError(f"{path}: cannot read price file: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("prices"), dict):
        raise PriceFileError(f"{path}: expected a mapping with `prices: {{model: {{input_per_token, ...}}}}`")
    data.setdefault("source", str(path))
    try:
        return PriceTable.model_validate(data)
    except ValueError as exc:
        raise PriceFileError(f"{path}: {exc}") from exc


def merge(base: PriceTable, overrides: PriceTable) -> PriceTable:
    """`base` with every model of `overrides` replaced or added; the source names both."""
    return PriceTable(
        prices={**base.prices, **overrides.prices},
        source=f"{base.source} + {overrides.source}",
        as_of=overrides.as_of or base.as_of,
    )
