"""Prices and the cost/latency estimate of a path. Prices are passed in, never fetched here."""

from __future__ import annotations

import math
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field

from routelab.router_core.config import ModelSpec
from routelab.router_core.errors import PriceError


class ModelPrice(BaseModel):
    """Per-token prices of one model."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    input_per_token: float = Field(ge=0, description="USD per prompt token.")
    output_per_token: float = Field(ge=0, description="USD per completion token.")


class PriceTable(BaseModel):
    """A dated snapshot of per-token prices (litellm's bundled map plus overrides), stamped on replays."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    prices: dict[str, ModelPrice] = Field(description="Model id → price.")
    source: str = Field(default="inline", description="Where the prices came from (e.g. litellm 1.110.2).")
    as_of: str | None = Field(default=None, description="Date of the snapshot, ISO 8601.")

    @classmethod
    def from_mapping(cls, prices: Mapping[str, tuple[float, float]], source: str = "inline") -> PriceTable:
        """Build a table from `{model: (input_per_token, output_per_token)}`."""
        return cls(
            prices={m: ModelPrice(input_per_token=i, output_per_token=o) for m, (i, o) in prices.items()},
            source=source,
        )


def resolve_prices(models: Mapping[str, ModelSpec], table: PriceTable | None) -> dict[str, ModelPrice]:
    """The price of every model: its override, else the table's entry.

    Raises:
        PriceError: naming every model without a price (never a silent $0).
    """
    out: dict[str, ModelPrice] = {}
    missing: list[str] = []
    for model_id, spec in models.items():
        if spec.price is not None:
            out[model_id] = ModelPrice(
                input_per_token=spec.price.input_per_token, output_per_token=spec.price.output_per_token
            )
        elif table is not None and model_id in table.prices:
            out[model_id] = table.prices[model_id]
        else:
            missing.append(model_id)
    if missing:
        where = f"price table `{table.source}`" if table is not None else "no price table given"
        raise PriceError(
            f"no price for model(s) {', '.join(missing)} ({where}); add a `price:` override to the model "
            "in the router config or an entry to the price overrides file"
        )
    return out


def effective_prompt_tokens(prompt_tokens: int | None, prompt: str | None) -> float:
    """Prompt tokens for estimates: the recorded count, else ceil(characters / 4), else 0."""
    if prompt_tokens is not None:
        return float(prompt_tokens)
    if prompt is not None:
        return float(math.ceil(len(prompt) / 4))
    return 0.0


def model_cost(price: ModelPrice, prompt_tokens: float, output_tokens: float) -> float:
    """Cost of one call: prompt tokens × input price + output tokens × output price."""
    return prompt_tokens * price.input_per_token + output_tokens * price.output_per_token


def model_latency(spec: ModelSpec, output_tokens: float, percentile: str = "p50") -> float:
    """Latency of one call: time to first token at the percentile plus generation time."""
    first = spec.latency.p50_ms if percentile == "p50" else spec.latency.p95_ms
    return first + output_tokens / spec.latency.output_tokens_per_s * 1000.0
