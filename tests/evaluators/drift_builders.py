"""Builders for drift tests: drift frames drawn with ``numpy.random.default_rng(seed)``, one row per request.

`draw_frame` draws stable traffic (every week from the same distribution); the tests plant a change with
`reroute` (new path components) or by overwriting drawn columns of the weeks `week_number` picks, then
`derive` recomputes what follows from the request and its model (tier, path, costs, latencies).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from routelab.evaluators.drift_types import AlarmSettings
from routelab.evaluators.silent import default_settings

MONDAY = datetime(2026, 9, 7)  # ISO 2026-W37
WEEK_SECONDS = 7 * 24 * 3600
TIERS = {"s1": "small", "s2": "small", "m1": "medium", "l1": "large"}
#: USD per 1k (input, output) tokens.
PRICES = {"s1": (0.0005, 0.0015), "s2": (0.0008, 0.002), "m1": (0.003, 0.015), "l1": (0.01, 0.03)}
LATENCY_MS = {"s1": 300.0, "s2": 350.0, "m1": 800.0, "l1": 1500.0}
#: Model mix per workflow; workflows not listed use ``DEFAULT_MIX``.
MODEL_MIX: dict[str, dict[str, float]] = {
    "support": {"m1": 0.9, "l1": 0.1},
    "sales": {"s1": 0.7, "m1": 0.3},
    "ops": {"s2": 0.5, "l1": 0.5},
}
DEFAULT_MIX = {"s1": 0.5, "m1": 0.5}
TASKS = {"qa": 0.5, "summarise": 0.3, "extract": 0.2}


def _choice(rng: np.random.Generator, shares: Mapping[str, float], size: int) -> np.ndarray:
    return rng.choice(list(shares), size=size, p=list(shares.values()))


def draw_frame(
    seed: int,
    *,
    weeks: int = 6,
    per_week: int = 300,
    start: datetime = MONDAY,
    workflows: Mapping[str, float] | None = None,
    labelled: float = 0.7,
    fallback_rate: float = 0.01,
) -> pd.DataFrame:
    """`weeks` weeks of `per_week` requests from `start`, every week drawn from the same distribution.

    Correctness is drawn as Bernoulli(confidence), so the router is calibrated; a share `labelled` of the
    requests carries a verdict, the others are NA.
    """
    rng = np.random.default_rng(seed)
    n = weeks * per_week
    workflows = workflows or {"support": 0.4, "sales": 0.35, "ops": 0.25}
    week = np.repeat(np.arange(weeks), per_week)
    seconds = rng.integers(0, WEEK_SECONDS, size=n)
    workflow = _choice(rng, workflows, n)
    model = np.empty(n, dtype=object)
    for name in workflows:
        rows = workflow == name
        model[rows] = _choice(rng, MODEL_MIX.get(name, DEFAULT_MIX), int(rows.sum()))
    prompt_tokens = rng.integers(200, 2000, size=n)
    output_tokens = rng.integers(50, 600, size=n)
    confidence = rng.uniform(0.5, 1.0, size=n)
    correct = rng.random(n) < confidence
    frame = pd.DataFrame(
        {
            "request_id": [f"r{i:05d}" for i in range(n)],
            "router": "acme@1",
            "ts": pd.Timestamp(start) + pd.to_timedelta(week * WEEK_SECONDS + seconds, unit="s"),
            "workflow": workflow,
            "task": _choice(rng, TASKS, n),
            "team": _choice(rng, {"t1": 0.5, "t2": 0.5}, n),
            "region": _choice(rng, {"eu": 0.6, "us": 0.4}, n),
            "data_class": _choice(rng, {"public": 0.7, "internal": 0.3}, n),
            "prompt_tokens": prompt_tokens,
            "model": model,
            "retrieval": _choice(rng, {"none": 0.6, "kb": 0.4}, n),
            "cache": "bypass",
            "escalation": "none",
            "action": "allow",
            "confidence": confidence,
            "correct": pd.array(np.where(rng.random(n) < labelled, correct, None), dtype="boolean"),
            "tokens": (prompt_tokens + output_tokens).astype(float),
            "quality": np.clip(rng.normal(0.7, 0.1, size=n), 0, 1),
            "error": pd.array(rng.random(n) < 0.02, dtype="boolean"),
            "logged_quality": np.clip(rng.normal(0.7, 0.1, size=n), 0, 1),
            "logged_error": pd.array(rng.random(n) < 0.02, dtype="boolean"),
            "logged_fallback": pd.array(rng.random(n) < fallback_rate, dtype="boolean"),
            "logged_cache_hit": pd.array(rng.random(n) < 0.2, dtype="boolean"),
        }
    )
    return derive(frame)


def derive(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy with the columns that follow from the request and its model recomputed."""
    out = frame.copy()
    retrieved = np.where(out["retrieval"] == "none", 0, 1500)
    prices = np.array([PRICES[m] for m in out["model"]])
    output_tokens = out["tokens"].to_numpy() - out["prompt_tokens"].to_numpy()
    cost = (out["prompt_tokens"].to_numpy() * prices[:, 0] + output_tokens * prices[:, 1]) / 1000
    latency = np.array([LATENCY_MS[m] for m in out["model"]]) * (0.5 + out["tokens"].to_numpy() / 2000)
    out["tier"] = out["model"].map(TIERS)
    out["path"] = out["model"] + " | " + out["retrieval"] + " | " + out["escalation"] + " | " + out["action"]
    out["context_tokens"] = out["prompt_tokens"] + retrieved
    out["est_cost_usd"] = cost
    out["est_latency_ms"] = latency
    out["cost_usd"] = cost
    out["latency_ms"] = latency
    out["logged_cost_usd"] = cost
    out["logged_latency_ms"] = latency
    return out


def reroute(frame: pd.DataFrame, rows: pd.Series | np.ndarray, **components: str) -> pd.DataFrame:
    """A copy where `rows` take the given path components (``model="s1"``), derived columns recomputed."""
    out = frame.copy()
    for name, value in components.items():
        out.loc[rows, name] = value
    return derive(out)


def week_number(frame: pd.DataFrame, start: datetime = MONDAY) -> pd.Series:
    """Each request's week, 1 for the week of `start`."""
    return (frame["ts"] - pd.Timestamp(start)).dt.days // 7 + 1


def pick(rng: np.random.Generator, rows: pd.Series, share: float) -> pd.Series:
    """A random `share` of the `True` rows of a boolean mask (each picked independently)."""
    return rows & (rng.random(len(rows)) < share)


def settings(slices: Sequence[str] = ("workflow",), **overrides: Any) -> AlarmSettings:
    """Alarm settings with routelab's defaults for `slices`, some of them overridden."""
    return AlarmSettings.model_validate({**default_settings(slices).model_dump(), **overrides})
