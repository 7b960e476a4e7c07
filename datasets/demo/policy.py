"""The production policy and the `kind='logged'` outcomes it leaves: one row per request.

v1's lanes with its privacy and residency reroutes, 10 % uniform exploration over the allowed models, cache
hits on cached lanes, fallbacks after failed calls, and the gpt-4o incident.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd

from routelab.datasets.demo.models import Catalogue, eligible
from routelab.datasets.demo.outcomes import FullOutcomes
from routelab.datasets.demo.segments import Lane
from routelab.datasets.demo.story import INCIDENT

EXPLORE = 0.10


@dataclass(frozen=True)
class _Choice:
    """What the production policy chose per request."""

    model: np.ndarray  # model position in the catalogue
    propensity: np.ndarray
    rerouted: np.ndarray  # a policy moved the lane's model (and the choice was not exploration)
    allowed: np.ndarray  # request x model


def _policy(rng: np.random.Generator, t: pd.DataFrame, cat: Catalogue, lanes: list[Lane]) -> _Choice:
    """The production policy: v1's lane, rerouted like v1 when privacy, residency or the window forbid its
    model, and 10 % uniform exploration over the allowed models."""
    n, m = len(t), len(cat.ids)
    pos = {i: k for k, i in enumerate(cat.ids)}
    ok = eligible(t, cat, np.array([ln.context for ln in lanes]))
    ok[~ok.any(axis=1), :] = True  # cannot happen with the demo's sizes; keeps the policy total
    first = np.array([pos[ln.model] for ln in lanes])
    eot = t["eot"].to_numpy()
    est = (
        t["prompt_tokens"].to_numpy()[:, None] * cat.price_in
        + np.where(eot > 0, eot, 400)[:, None] * cat.price_out
    )
    up = ok & (cat.tier[None, :] >= cat.tier[first][:, None])
    cheapest_up = np.where(up, est, np.inf).argmin(axis=1)
    best_down = np.where(ok, -cat.tier[None, :] * 1e6 + est, np.inf).argmin(axis=1)
    rerouted = ~ok[np.arange(n), first]
    primary = np.where(rerouted, np.where(up.any(axis=1), cheapest_up, best_down), first)
    explored = rng.random(n) < EXPLORE
    chosen = np.where(explored, np.where(ok, rng.random((n, m)), -1.0).argmax(axis=1), primary)
    propensity = (1 - EXPLORE) * (chosen == primary) + EXPLORE / ok.sum(axis=1)
    return _Choice(model=chosen, propensity=propensity, rerouted=rerouted & ~explored, allowed=ok)


def draw_logged(
    rng: np.random.Generator, t: pd.DataFrame, cat: Catalogue, lanes: list[Lane], f: FullOutcomes
) -> pd.DataFrame:
    """One outcome per request from the production policy, with its propensity."""
    n = len(t)
    pos = {i: k for k, i in enumerate(cat.ids)}
    choice = _policy(rng, t, cat, lanes)
    chosen, ok = choice.model, choice.allowed
    r = np.arange(n)
    quality, cost, latency = f.quality[r, chosen], f.cost[r, chosen], f.latency[r, chosen]
    ttft, inp, out = f.ttft[r, chosen], f.input_tokens[r, chosen], f.output_tokens[r, chosen]
    error = f.error[r, chosen].copy()
    ts = t["ts"]
    day = (ts.dt.normalize() - ts.iloc[0].normalize()).dt.days.to_numpy()
    hour = ts.dt.hour.to_numpy()
    in_incident = (day == INCIDENT[0]) & (hour >= INCIDENT[1]) & (hour < INCIDENT[2])
    incident = (np.array(cat.ids)[chosen] == "gpt-4o") & in_incident
    u = rng.random(n)
    error = np.where((error == None) & ((u < 0.008) | (incident & (u < 0.6))), "server_error", error)  # noqa: E711
    fallback = np.full(n, None, dtype=object)
    cache_hit = np.zeros(n, dtype=bool)
    hit_u = rng.random(n)
    paths = []
    for i, ln in enumerate(lanes):
        fbs = [fb for fb in ln.fallbacks if ok[i, pos[fb]] and pos[fb] != chosen[i]]
        if error[i] in ("server_error", "rate_limited", "timeout") and fbs:
            k = pos[fbs[0]]
            fallback[i] = fbs[0]
            quality[i], latency[i], ttft[i] = f.quality[i, k], latency[i] + f.latency[i, k], f.ttft[i, k]
            cost[i], inp[i], out[i] = (
                cost[i] + f.cost[i, k],
                inp[i] + f.input_tokens[i, k],
                f.output_tokens[i, k],
            )
        elif error[i] is not None:
            quality[i], out[i] = 0.0, 0
        elif ln.cache == "serve" and hit_u[i] < (0.15 if ln.retrieval is None else 0.3):
            cache_hit[i] = True
            cost[i], inp[i], out[i] = 0.0, 0, 0
            latency[i] = ttft[i] = 20 + 60 * hit_u[i]
        elif ln.retrieval and f.index[i] is None:  # v1's FAQ lane retrieves; the full rows assume it does not
            cost[i] += cat.index_cost[ln.retrieval]
            latency[i] += cat.index_latency[ln.retrieval]
        path = {
            "action": "reroute" if choice.rerouted[i] else "allow",
            "cache": ln.cache,
            "context_tokens": ln.context,
            "escalation": ln.escalation,
            "fallbacks": fbs,
            "model": cat.ids[chosen[i]],
            "retrieval": ln.retrieval,
        }
        paths.append(json.dumps(path, sort_keys=True))
    return pd.DataFrame(
        {
            "request_id": t["request_id"].to_numpy(),
            "model": np.array(cat.ids, dtype=object)[chosen],
            "kind": "logged",
            "eval_group": t["workflow"].to_numpy(),
            "quality": quality,
            "quality_scale": "binary",
            "cost_usd": cost,
            "latency_ms": latency,
            "ttft_ms": ttft,
            "input_tokens": inp,
            "output_tokens": out,
            "error": error,
            "fallback_model": fallback,
            "cache_hit": cache_hit,
            "propensity": choice.propensity,
            "path": paths,
            "ts": ts.to_numpy(),
        }
    )
