"""The acme models as the demo sees them: tiers, quality traits, prices, indexes, eligibility.

`catalogue()` reads the acme example router and price table shipped in `routelab.router_core` (cached);
everything else here is pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd
import yaml

from routelab.datasets.errors import DatasetError
from routelab.router_core.pricing import PriceTable, resolve_prices
from routelab.router_core.validate import load_router

TIERS = ("small", "medium", "large", "frontier")
TIER_SKILL = np.array([0.45, 0.62, 0.72, 0.82])

#: Per model: skill offset on its tier, output verbosity.
MODEL_TRAITS = """
model                                               offset  verbosity
gpt-4o-mini                                         0       0.90
gemini/gemini-2.5-flash-lite                        -0.03   0.85
azure/eu/gpt-4o-mini                                0       0.90
ollama/llama3.1                                     -0.08   0.90
claude-haiku-4-5-20251001                           0.02    1.00
gemini/gemini-2.5-flash                             0       1.05
gpt-4o                                              0       1.00
hosted_vllm/meta-llama/Llama-3.1-70B-Instruct       -0.05   1.00
claude-sonnet-4-5-20250929                          0.02    1.15
gemini/gemini-2.5-pro                               -0.01   1.20
hosted_vllm/meta-llama/Llama-3.1-405B-Instruct-FP8  -0.04   1.05
"""


def read_table(text: str) -> dict[str, list[str]]:
    """A whitespace-aligned table without its header row: first cell → the other cells."""
    rows = [line.split() for line in text.strip().splitlines()[1:]]
    return {row[0]: row[1:] for row in rows}


TRAITS = {m: (float(a), float(b)) for m, (a, b) in read_table(MODEL_TRAITS).items()}


@dataclass(frozen=True)
class Catalogue:
    """The acme models as arrays in config order, with the prices and indexes."""

    ids: tuple[str, ...]
    tier: np.ndarray
    private: np.ndarray
    eu: np.ndarray
    window: np.ndarray
    price_in: np.ndarray
    price_out: np.ndarray
    p50: np.ndarray
    p95: np.ndarray
    tps: np.ndarray
    index_cost: dict[str, float]
    index_latency: dict[str, float]
    prices: PriceTable


@lru_cache(maxsize=1)
def catalogue() -> Catalogue:
    """The models, prices and indexes of the acme example router (v1; v2 and v3 share them)."""
    examples = resources.files("routelab.router_core").joinpath("examples")
    router = load_router(examples.joinpath("acme_v1.yaml").read_text(encoding="utf-8"), "acme_v1.yaml")
    raw = yaml.safe_load(examples.joinpath("prices.yaml").read_text(encoding="utf-8"))
    prices = PriceTable.model_validate(raw)
    resolved = resolve_prices(router.models, prices)
    specs = list(router.models.values())
    missing = [s.id for s in specs if s.id not in TRAITS]
    if missing:
        raise DatasetError(f"demo: no quality traits for model(s) {missing}; add them to MODEL_TRAITS")

    def arr(f: Any) -> np.ndarray:
        return np.array([f(s) for s in specs])

    return Catalogue(
        ids=tuple(s.id for s in specs),
        tier=arr(lambda s: TIERS.index(s.tier)),
        private=arr(lambda s: s.boundary == "private"),
        eu=arr(lambda s: not s.regions or "eu" in s.regions),
        window=arr(lambda s: s.context_window),
        price_in=arr(lambda s: resolved[s.id].input_per_token),
        price_out=arr(lambda s: resolved[s.id].output_per_token),
        p50=arr(lambda s: s.latency.p50_ms),
        p95=arr(lambda s: s.latency.p95_ms),
        tps=arr(lambda s: s.latency.output_tokens_per_s),
        index_cost={i.id: i.cost_per_query for i in router.indexes.values()},
        index_latency={i.id: i.latency_ms for i in router.indexes.values()},
        prices=prices,
    )


def eligible(t: pd.DataFrame, cat: Catalogue, context: np.ndarray) -> np.ndarray:
    """Request x model: privacy (confidential or PII → private), EU residency, context window."""
    private = (t["data_class"].eq("confidential") | t["pii"].ne("")).to_numpy()
    eu = t["region"].eq("eu").to_numpy()
    fits = t["prompt_tokens"].to_numpy()[:, None] + context[:, None] <= cat.window[None, :]
    return np.asarray((~private[:, None] | cat.private[None, :]) & (~eu[:, None] | cat.eu[None, :]) & fits)
