"""Full-information outcomes: every request on every acme model, as matrices and as `kind='full'` rows."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from routelab.datasets.demo.models import TIER_SKILL, TRAITS, Catalogue
from routelab.datasets.demo.segments import LONG_DOC, SEGMENTS, Lane
from routelab.datasets.demo.story import PRICE_FACTOR, PRICE_MODEL

TIMEOUT_MS = 120_000.0


def success_prob(skill: np.ndarray, difficulty: np.ndarray) -> np.ndarray:
    """The probability of success: 0.02 + 0.95 sigmoid(9 (skill - difficulty))."""
    return np.asarray(0.02 + 0.95 / (1 + np.exp(-9 * (skill - difficulty))))


@dataclass(frozen=True)
class FullOutcomes:
    """Full-information outcomes as request x model matrices."""

    quality: np.ndarray
    error: np.ndarray
    cost: np.ndarray
    latency: np.ndarray
    ttft: np.ndarray
    input_tokens: np.ndarray
    output_tokens: np.ndarray
    context: np.ndarray
    index: np.ndarray


def _skill(t: pd.DataFrame, cat: Catalogue) -> np.ndarray:
    """Request x model skill: tier skill, model offset, strengths on code and long documents."""
    ids = cat.ids
    base = TIER_SKILL[cat.tier] + np.array([TRAITS[i][0] for i in ids])
    code = np.array([0.04 if "sonnet" in i else 0.02 if i == PRICE_MODEL else 0.0 for i in ids])
    long = np.array([0.05 if i.startswith("gemini/") else -0.05 if "llama" in i else 0.0 for i in ids])
    coding = t["workflow"].eq("coding").to_numpy()[:, None]
    is_long = (t["prompt_tokens"].to_numpy() > LONG_DOC)[:, None]
    return np.asarray(base[None, :] + coding * code[None, :] + is_long * long[None, :])


def draw_full(
    rng: np.random.Generator, t: pd.DataFrame, cat: Catalogue, lanes: list[Lane], effective: datetime
) -> FullOutcomes:
    """Every request on every model: success draws, tokens, cost, latency and errors."""
    n, m = len(t), len(cat.ids)
    index = np.array([SEGMENTS[s].index for s in t["segment"]], dtype=object)
    has_index = np.array([i is not None for i in index])
    context = np.where(has_index, [ln.context for ln in lanes], 0)
    retrieved = np.round(context * rng.uniform(0.4, 1.0, n)).astype(np.int64)
    pt = t["prompt_tokens"].to_numpy()
    p = success_prob(_skill(t, cat), t["difficulty"].to_numpy()[:, None])
    latent = 0.6 * rng.standard_normal((n, 1)) + 0.8 * rng.standard_normal(
        (n, m)
    )  # shared part: hard for all
    success = 1 / (1 + np.exp(-1.702 * latent)) < p  # logistic approximation of the normal CDF
    eot = np.where(t["eot"].to_numpy() > 0, t["eot"].to_numpy(), 400)
    verbosity = np.array([TRAITS[i][1] for i in cat.ids])
    out = np.round(0.8 * eot[:, None] * verbosity * np.exp(0.3 * rng.standard_normal((n, m)) - 0.045))
    out = np.maximum(1, out)
    out = np.where(t["task"].eq("completion").to_numpy()[:, None], np.minimum(out, 256), out).astype(np.int64)
    inp = np.repeat((pt + retrieved)[:, None], m, axis=1)
    sigma = np.log(cat.p95 / cat.p50) / 1.645
    prefill_ms = inp / np.where(cat.private, 4000, 20000) * 1000
    ttft = cat.p50 * np.exp(sigma * rng.standard_normal((n, m))) + prefill_ms
    ret_ms = np.array([cat.index_latency[i] if i else 0.0 for i in index]) * np.exp(
        0.2 * rng.standard_normal(n)
    )
    latency = ttft + out / cat.tps * 1000 * np.exp(0.15 * rng.standard_normal((n, m))) + ret_ms[:, None]
    late = (t["ts"].to_numpy() >= np.datetime64(effective))[:, None]
    factor = np.where(late & (np.array(cat.ids) == PRICE_MODEL)[None, :], PRICE_FACTOR, 1.0)
    in_cost = inp * cat.price_in * factor
    ret_cost = np.array([cat.index_cost[i] if i else 0.0 for i in index])[:, None]
    cost = in_cost + out * cat.price_out * factor + ret_cost
    u = rng.random((n, m))
    error = np.full((n, m), None, dtype=object)
    error[u < 0.002] = "server_error"
    error[(u > 0.997) & ~cat.private[None, :]] = "rate_limited"
    error[latency > TIMEOUT_MS] = "timeout"
    error[inp > cat.window[None, :]] = "context_length_exceeded"
    failed = error != None  # noqa: E711 -- element-wise
    quick = np.isin(error, ["context_length_exceeded", "rate_limited"])  # refused before any work
    latency = np.where(error == "timeout", TIMEOUT_MS, np.where(quick, rng.uniform(50, 400, (n, m)), latency))
    return FullOutcomes(
        quality=np.where(failed, 0.0, success.astype(float)),
        error=error,
        cost=np.where(quick, 0.0, np.where(failed, in_cost, cost)),
        latency=latency,
        ttft=np.where(failed, np.nan, ttft),
        input_tokens=np.where(quick, 0, inp),
        output_tokens=np.where(failed, 0, out),
        context=context,
        index=index,
    )


def full_frame(t: pd.DataFrame, cat: Catalogue, f: FullOutcomes) -> pd.DataFrame:
    n, m = len(t), len(cat.ids)
    model_json = [json.dumps(i) for i in cat.ids]
    index_json = [json.dumps(i) for i in f.index]
    path = [
        f'{{"context_tokens": {f.context[r]}, "model": {model_json[k]}, "retrieval": {index_json[r]}}}'
        for r in range(n)
        for k in range(m)
    ]
    return pd.DataFrame(
        {
            "request_id": np.repeat(t["request_id"].to_numpy(), m),
            "model": np.tile(np.array(cat.ids, dtype=object), n),
            "kind": "full",
            "eval_group": np.repeat(t["workflow"].to_numpy(), m),
            "quality": f.quality.ravel(),
            "quality_scale": "binary",
            "cost_usd": f.cost.ravel(),
            "latency_ms": f.latency.ravel(),
            "ttft_ms": f.ttft.ravel(),
            "input_tokens": f.input_tokens.ravel(),
            "output_tokens": f.output_tokens.ravel(),
            "error": f.error.ravel(),
            "fallback_model": None,
            "cache_hit": False,
            "propensity": np.nan,
            "path": path,
            "ts": np.repeat(t["ts"].to_numpy(), m),
        }
    )
