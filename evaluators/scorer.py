"""Judging one decision at a time for `accuracy`: right or wrong per component, and its misrouting cost.

`Costs` holds per-request, per-model costs on one basis (outcomes or price ratio); `Scorer` compares a
normalised decision with its gold paths and the tier order.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from routelab.evaluators.accuracy_types import (
    COMPONENTS,
    DECISION_COLUMNS,
    PATH_COLUMNS,
    CostBasis,
)
from routelab.evaluators.errors import EvaluatorError
from routelab.evaluators.frames import require_columns
from routelab.evaluators.gold import LABELLED_SOURCES
from routelab.evaluators.gold_paths import Path, PathValue, matches, normalise_value

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped,unused-ignore]  # no pandas-stubs in the dev lock yet


# --- costs ------------------------------------------------------------------------------------------------


class Costs:
    """Per-request, per-model costs on one basis."""

    def __init__(self, outcomes: pd.DataFrame | None, prices: Mapping[str, float] | None) -> None:
        self.basis: CostBasis | None = None
        self.prices = dict(prices or {})
        if outcomes is not None:
            require_columns(outcomes, ("request_id", "model", "cost_usd"), "outcomes")
            if "kind" in outcomes.columns and not outcomes["kind"].eq("full").all():
                raise EvaluatorError(
                    "outcomes: per-model costs need full-information outcomes; pass only kind='full' rows"
                )
            if outcomes.duplicated(["request_id", "model"]).any():
                raise EvaluatorError("outcomes: (request_id, model) repeats; pass one outcome kind")
            wide = outcomes.pivot(index="request_id", columns="model", values="cost_usd")
            self.matrix = wide.to_numpy(dtype=float)
            self.row = {r: i for i, r in enumerate(wide.index)}
            self.col = {m: j for j, m in enumerate(wide.columns)}
            self.basis = "outcomes"
        elif prices:
            self.basis = "price_ratio"

    def models(self) -> set[str]:
        return set(self.col) if self.basis == "outcomes" else set(self.prices)

    def cost(self, rid: str, model: str | None, est: float, decided: str | None) -> float | None:
        """What `model` would have cost on this request (`est` is the decided model's estimate)."""
        if model is None or decided is None:  # a blocked request has no model to cost
            return None
        if self.basis == "outcomes":
            i, j = self.row.get(rid), self.col.get(model)
            if i is None or j is None or math.isnan(self.matrix[i, j]):
                return None
            return float(self.matrix[i, j])
        if self.basis == "price_ratio":
            p_model, p_decided = self.prices.get(model), self.prices.get(decided)
            if p_model is None or not p_decided or math.isnan(est):
                return None
            return float(est * p_model / p_decided)
        return None


# --- scoring one decision at a time -------------------------------------------------------------------------


class Scorer:
    """Scores decisions against gold: one record of flags and costs per decision."""

    def __init__(
        self, gold: dict[str, tuple[str, list[Path]]], tiers: Sequence[str], model_tiers: Mapping[str, str]
    ) -> None:
        self.gold = gold
        self.rank = {t: k for k, t in enumerate(tiers)}
        self.model_tiers = dict(model_tiers)
        self.by_rank: dict[int, list[str]] = {}
        for m, t in self.model_tiers.items():
            if t in self.rank:
                self.by_rank.setdefault(self.rank[t], []).append(m)
        self.unknown: set[str] = set()

    def path_tier(self, path: Path) -> str | None:
        if "model" in path:
            tier = self.model_tiers.get(str(path["model"]))
            if tier is None:
                self.unknown.add(f"model {path['model']}")
            return tier
        return None if path.get("tier") is None else str(path["tier"])

    def path_rank(self, path: Path) -> int | None:
        if "model" not in path and "tier" not in path:
            return 0
        tier = self.path_tier(path)
        if tier is not None and tier not in self.rank:
            self.unknown.add(f"tier {tier}")
        return None if tier is None else self.rank.get(tier)

    def score(self, d: dict[str, Any], costs: Costs, baseline: str | None) -> dict[str, Any]:
        rid, est = d["request_id"], float(d["est_cost_usd"])
        source, paths = self.gold.get(rid, (None, []))
        rec: dict[str, Any] = {"status": source or "unlabelled"}
        if baseline is not None:
            mine = costs.cost(rid, d["model"], est, d["model"])
            base = costs.cost(rid, baseline, est, d["model"])
            rec["router_cost"], rec["baseline_cost"] = (
                (mine, base) if None not in (mine, base) else (None, None)
            )
        if source not in LABELLED_SOURCES:
            return rec
        best = paths[0]
        rec["exact"] = matches(best, d)
        rec["acceptable"] = any(matches(p, d) for p in paths)
        for c in COMPONENTS:
            want: PathValue
            if c == "tier":
                want = self.path_tier(best) if "model" in best or "tier" in best else None
                if want is None:  # the best path does not judge the tier, or names an unknown model
                    continue
            elif c in best:
                want = best[c]
            else:
                continue
            rec[f"gold_{c}"], rec[f"ok_{c}"] = want, want == d[c]
        ranks = [r for r in map(self.path_rank, paths) if r is not None]
        mine_rank = self.rank.get(d["tier"]) if d["tier"] is not None else None
        if not ranks or mine_rank is None:
            return rec
        cheap = min(ranks)
        rec["over"], rec["under"] = mine_rank > cheap, mine_rank < cheap
        if mine_rank != cheap and costs.basis is not None:
            cands = {
                m
                for p, r in zip(paths, map(self.path_rank, paths), strict=True)
                if r == cheap
                for m in ([str(p["model"])] if "model" in p else self.by_rank.get(cheap, []))
            }
            alt = [c for c in (costs.cost(rid, m, est, d["model"]) for m in cands) if c is not None]
            mine = costs.cost(rid, d["model"], est, d["model"])
            if alt and mine is not None:
                rec["misroute_usd"] = (mine - min(alt)) * (1 if mine_rank > cheap else -1)
        return rec


def normalised_decisions(decisions: pd.DataFrame) -> list[dict[str, Any]]:
    """Decisions as dicts of normalised path values plus id and estimates."""
    out = []
    for row in decisions[list(DECISION_COLUMNS)].to_dict(orient="records"):
        d: dict[str, Any] = {c: normalise_value(c, row[c]) for c in PATH_COLUMNS}
        d.update(
            request_id=str(row["request_id"]),
            est_cost_usd=float(row["est_cost_usd"]),
            est_latency_ms=float(row["est_latency_ms"]),
        )
        out.append(d)
    return out
