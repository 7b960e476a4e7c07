"""Routing accuracy of one router version against gold labels, with cost, latency and breakdowns.

Population: every decision of the version counts for cost and latency; accuracy counts the *labelled*
decisions (gold source adjudicated, annotations or import). Abstains, unresolved and unlabelled requests are
excluded from every rate and counted.

- *Exact path*: the decision matches the best (first) acceptable path; *acceptable set*: it matches any.
  A decision matches a partial path when every component the path names equals the decision's (a NULL
  retrieval or escalation in decisions is "none"; a path naming a model judges its tier through it).
- *Per component* (model, tier, retrieval, cache, escalation, action): against the best acceptable path, over
  the labelled decisions whose best path judges the component (the tier of a path naming a model is that
  model's tier in `model_tiers`). Confusion matrices count gold value → decided value on the same rows.
- *Over-/under-routing*: the decision's tier above/below the cheapest acceptable tier (the lowest tier among
  the acceptable paths; a path naming neither model nor tier accepts the cheapest tier). Rates over the
  labelled decisions whose tier and cheapest acceptable tier are both known (a blocked decision has no tier;
  a path naming a model missing from `model_tiers` has none either, and `warnings` names it).
- *Money* (`cost_basis`): the cost the cheapest acceptable model would have had is, with full-information
  `outcomes`, the lowest outcome cost among the acceptable models of the cheapest acceptable tier, against
  the outcome cost of the decided model (like with like: never estimate minus outcome). Without outcomes but
  with `model_prices`, it is the decision's `est_cost_usd` scaled by the price ratio (cheapest acceptable
  model / decided model): an approximation that scales retrieval and cache costs too. Without either, money
  is unavailable (None). Over-routing spend sums decided minus cheapest acceptable cost over over-routed
  decisions (net: a pricey small model can make a term negative); under-routing spend sums what reaching the
  cheapest acceptable tier would have cost more, over under-routed decisions.
- *Savings* against sending everything to `baseline_model`: on the same basis, over the decisions where both
  costs are known.
- Cost per 1,000 requests and latency p50/p95 use the decisions' estimates (`est_cost_usd`,
  `est_latency_ms`). Every rate is a Wilson interval (`stats.wilson`) with its n (n = 0: value None);
  money carries the number of decisions it sums over. Nothing here is random (`params.seed` is None).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from routelab.evaluators.errors import EvaluatorError
from routelab.evaluators.frames import is_missing, iso_week, require_columns, require_unique
from routelab.evaluators.gold import (
    LABELLED_SOURCES,
    GoldLabels,
    GoldSource,
    Path,
    PathValue,
    matches,
    normalise_value,
)
from routelab.evaluators.stats import Estimate, quantile, wilson

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped,unused-ignore]  # no pandas-stubs in the dev lock yet

COMPONENTS = ("model", "tier", "retrieval", "cache", "escalation", "action")
PATH_COLUMNS = ("model", "tier", "retrieval", "context_tokens", "cache", "escalation", "action")
DECISION_COLUMNS = ("request_id", *PATH_COLUMNS, "est_cost_usd", "est_latency_ms")
MISSING = "(missing)"
CostBasis = Literal["outcomes", "price_ratio"]


class Counts(BaseModel):
    """How many decisions fell where."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    decisions: int = Field(description="Decisions of the version in scope.")
    labelled: int = Field(description="Decisions whose request has acceptable paths.")
    abstain: int = Field(description="Decisions whose request's label abstains (excluded from accuracy).")
    unresolved: int = Field(description="Decisions whose request's annotations tie (excluded).")
    unlabelled: int = Field(description="Decisions whose request has no gold at all (excluded).")


class Misrouting(BaseModel):
    """Over- or under-routing: a rate and the money at stake."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rate: Estimate = Field(
        description="Share of the labelled decisions whose tiers compare (value None when n is 0)."
    )
    spend_usd: float | None = Field(
        description="Money at stake (see the module docstring); None without a basis."
    )
    n_costed: int = Field(description="Misrouted decisions whose money could be computed.")


class Savings(BaseModel):
    """Cost of the version against sending every request to one baseline model."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    baseline_model: str = Field(description="The model everything would go to.")
    basis: CostBasis = Field(description="Where the per-model costs came from.")
    n: int = Field(description="Decisions where both costs are known.")
    router_cost_usd: float = Field(description="The version's cost on those decisions.")
    baseline_cost_usd: float = Field(description="The baseline model's cost on the same decisions.")
    savings_usd: float = Field(description="baseline − router (negative: the version costs more).")
    savings_share: float | None = Field(
        description="savings / baseline cost; None when the baseline costs 0."
    )


class Summary(BaseModel):
    """The metrics of one set of decisions (all of them, or one slice)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    counts: Counts = Field(description="Decisions by gold status.")
    exact_path: Estimate = Field(description="Share matching the best acceptable path.")
    acceptable_set: Estimate = Field(description="Share matching any acceptable path.")
    components: dict[str, Estimate] = Field(description="Per-component accuracy against the best path.")
    over_routing: Misrouting = Field(description="Decisions above the cheapest acceptable tier.")
    under_routing: Misrouting = Field(description="Decisions below the cheapest acceptable tier.")
    total_cost_usd: float = Field(description="Sum of est_cost_usd.")
    cost_per_1k_usd: float | None = Field(
        description="1000 · total cost / decisions; None without decisions."
    )
    latency_p50_ms: float | None = Field(description="Median est_latency_ms.")
    latency_p95_ms: float | None = Field(description="95th percentile of est_latency_ms.")
    savings: Savings | None = Field(description="Against `baseline_model`; None when not asked or no basis.")


class Slice(BaseModel):
    """The summary of the decisions sharing one value of a request field."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    value: str = Field(description=f"The field's value (`{MISSING}` when the request has none).")
    summary: Summary = Field(description="Metrics of this slice.")


class AccuracyParams(BaseModel):
    """Everything that produced an `AccuracyResult`, so it can be recomputed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    router: str | None = Field(description="The version evaluated (`router` column of the decisions).")
    by: tuple[str, ...] = Field(description="Request fields broken down by (`week` = ISO week of ts).")
    baseline_model: str | None = Field(description="Model of the savings baseline.")
    tier_order: tuple[str, ...] = Field(description="Tiers, cheapest first.")
    model_tiers: dict[str, str] = Field(description="Model → tier.")
    model_prices: dict[str, float] | None = Field(description="Relative per-token prices for ratio costs.")
    cost_basis: CostBasis | None = Field(description="Basis of money metrics; None when unavailable.")
    confidence: float = Field(description="Confidence level of every interval.")
    gold_rule: str = Field(description="The gold resolution rule.")
    gold_counts: dict[str, int] = Field(description="Requests per gold source, before joining decisions.")
    seed: int | None = Field(default=None, description="Random seed; None: nothing here is random.")


class AccuracyResult(BaseModel):
    """Routing accuracy of one router version."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    evaluator: Literal["accuracy"] = Field(default="accuracy", description="The evaluator's name.")
    params: AccuracyParams = Field(description="What produced the result.")
    overall: Summary = Field(description="Metrics over every decision.")
    confusion: dict[str, dict[str, dict[str, int]]] = Field(
        description="Component → gold value → decided value → count, over labelled decisions."
    )
    breakdowns: dict[str, list[Slice]] = Field(description="Field → slices, ordered by value.")
    warnings: tuple[str, ...] = Field(description="Data the evaluation had to leave out, and why.")


# --- costs ------------------------------------------------------------------------------------------------


class _Costs:
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


class _Scorer:
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

    def score(self, d: dict[str, Any], costs: _Costs, baseline: str | None) -> dict[str, Any]:
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


def _normalised_decisions(decisions: pd.DataFrame) -> list[dict[str, Any]]:
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


# --- summaries ----------------------------------------------------------------------------------------------


def _rate(flags: pd.Series, confidence: float) -> Estimate:
    """The Wilson interval of the share of True among the non-missing flags (value None without any)."""
    known = flags.dropna()
    return wilson(int(known.astype(bool).sum()), len(known), confidence=confidence)


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    import pandas as pd

    return frame[name] if name in frame.columns else pd.Series(None, index=frame.index, dtype=object)


def _misrouting(frame: pd.DataFrame, flag: str, confidence: float, basis: CostBasis | None) -> Misrouting:
    hit = _column(frame, flag).fillna(False).astype(bool)
    money = _column(frame, "misroute_usd")[hit].dropna()
    return Misrouting(
        rate=_rate(_column(frame, flag), confidence),
        spend_usd=float(money.sum()) if basis is not None else None,
        n_costed=len(money),
    )


def _savings(frame: pd.DataFrame, baseline: str | None, basis: CostBasis | None) -> Savings | None:
    if baseline is None or basis is None:
        return None
    both = frame[["router_cost", "baseline_cost"]].dropna()
    mine, base = float(both["router_cost"].sum()), float(both["baseline_cost"].sum())
    return Savings(
        baseline_model=baseline,
        basis=basis,
        n=len(both),
        router_cost_usd=mine,
        baseline_cost_usd=base,
        savings_usd=base - mine,
        savings_share=(base - mine) / base if base else None,
    )


def _summary(
    frame: pd.DataFrame, confidence: float, basis: CostBasis | None, baseline: str | None
) -> Summary:
    status = frame["status"].value_counts()
    labelled = frame["status"].isin([s.value for s in LABELLED_SOURCES])
    lab = frame[labelled]
    n = len(frame)
    cost = float(frame["est_cost_usd"].sum())
    lat = frame["est_latency_ms"].dropna().tolist()
    return Summary(
        counts=Counts(
            decisions=n,
            labelled=int(labelled.sum()),
            abstain=int(status.get(GoldSource.ABSTAIN.value, 0)),
            unresolved=int(status.get(GoldSource.UNRESOLVED.value, 0)),
            unlabelled=int(status.get("unlabelled", 0)),
        ),
        exact_path=_rate(_column(lab, "exact"), confidence),
        acceptable_set=_rate(_column(lab, "acceptable"), confidence),
        components={c: _rate(_column(lab, f"ok_{c}"), confidence) for c in COMPONENTS},
        over_routing=_misrouting(lab, "over", confidence, basis),
        under_routing=_misrouting(lab, "under", confidence, basis),
        total_cost_usd=cost,
        cost_per_1k_usd=1000 * cost / n if n else None,
        latency_p50_ms=float(quantile(lat, 0.5)) if lat else None,
        latency_p95_ms=float(quantile(lat, 0.95)) if lat else None,
        savings=_savings(frame, baseline, basis),
    )


def _confusion(frame: pd.DataFrame, decided: pd.DataFrame) -> dict[str, dict[str, dict[str, int]]]:
    out: dict[str, dict[str, dict[str, int]]] = {}
    for c in COMPONENTS:
        judged = _column(frame, f"ok_{c}").notna()
        pairs = (
            Counter(
                zip(
                    map(_text, frame.loc[judged, f"gold_{c}"]),
                    map(_text, decided.loc[judged, c]),
                    strict=True,
                )
            )
            if judged.any()
            else Counter()
        )
        table: dict[str, dict[str, int]] = {}
        for (g, m), k in sorted(pairs.items()):
            table.setdefault(g, {})[m] = k
        out[c] = table
    return out


def _text(value: object) -> str:
    return "null" if is_missing(value) else str(value)


# --- the evaluator ------------------------------------------------------------------------------------------


def _slices(
    scored: pd.DataFrame,
    requests: pd.DataFrame | None,
    by: Sequence[str],
    confidence: float,
    basis: CostBasis | None,
    baseline: str | None,
) -> dict[str, list[Slice]]:
    if not by:
        return {}
    if requests is None:
        raise EvaluatorError(f"breakdowns by {', '.join(by)} need the requests frame; pass `requests`")
    need = ["request_id", *dict.fromkeys("ts" if f == "week" else f for f in by)]
    require_columns(requests, need, "requests")
    require_unique(requests, "request_id", "requests")
    fields = requests[need].copy()
    if "week" in by:
        fields["week"] = iso_week(fields["ts"])
    joined = scored.merge(fields, on="request_id", how="left", validate="one_to_one")
    out: dict[str, list[Slice]] = {}
    for field in by:
        keys = joined[field].map(lambda v: MISSING if is_missing(v) else str(v))
        out[field] = [
            Slice(value=str(value), summary=_summary(group, confidence, basis, baseline))
            for value, group in joined.groupby(keys, sort=True)
        ]
    return out


def evaluate_version(
    decisions: pd.DataFrame,
    gold: GoldLabels | pd.DataFrame,
    requests: pd.DataFrame | None,
    model_tiers: Mapping[str, str],
    tier_order: Sequence[str],
    by: Sequence[str] = (),
    baseline_model: str | None = None,
    outcomes: pd.DataFrame | None = None,
    model_prices: Mapping[str, float] | None = None,
    confidence: float = 0.95,
) -> AccuracyResult:
    """Routing accuracy, misrouting, cost and latency of one version's decisions (see the module docstring).

    Args:
        decisions: One row per request: request_id, model, tier, retrieval, context_tokens, cache, escalation,
            action, est_cost_usd, est_latency_ms (and optionally router, a single version).
        gold: `resolve_gold`'s result, or a frame of request_id, source, acceptable.
        requests: request_id and the `by` fields (ts for `week`); None when `by` is empty.
        model_tiers: Model → tier, from the version's config.
        tier_order: Tiers, cheapest first.
        by: Request fields to break the metrics down by; `week` is the ISO week of ts.
        baseline_model: Model for the savings comparison (needs `outcomes` or `model_prices`).
        outcomes: Full-information outcomes (request_id, model, cost_usd): the basis of money metrics.
        model_prices: Relative per-token price per model, the basis of money metrics without outcomes.
        confidence: Confidence level of every interval.

    Raises:
        EvaluatorError: a missing column, repeated request, several versions, an unknown baseline model.
    """
    import pandas as pd

    require_columns(decisions, DECISION_COLUMNS, "decisions")
    require_unique(decisions, "request_id", "decisions")
    routers = decisions["router"].dropna().unique().tolist() if "router" in decisions.columns else []
    if len(routers) > 1:
        raise EvaluatorError(f"decisions: several router versions ({', '.join(map(str, routers))}); pass one")
    if decisions.empty:
        raise EvaluatorError("decisions: no rows to evaluate; replay the version or widen the selection")
    if not isinstance(gold, GoldLabels):
        gold = GoldLabels.from_frame(gold)
    gold_map = {g.request_id: (g.source.value, [dict(p) for p in g.acceptable]) for g in gold.labels}
    costs = _Costs(outcomes, model_prices)
    if baseline_model is not None and costs.basis is not None and baseline_model not in costs.models():
        raise EvaluatorError(
            f"baseline_model {baseline_model!r} has no cost in the {costs.basis}; "
            f"known: {', '.join(sorted(costs.models()))}"
        )
    scorer = _Scorer(gold_map, tier_order, model_tiers)
    rows = _normalised_decisions(decisions)
    scored = pd.DataFrame([scorer.score(d, costs, baseline_model) for d in rows], index=range(len(rows)))
    decided = pd.DataFrame(rows, columns=[*COMPONENTS, "request_id", "est_cost_usd", "est_latency_ms"])
    scored = pd.concat([decided[["request_id", "est_cost_usd", "est_latency_ms"]], scored], axis=1)
    for col in ("router_cost", "baseline_cost"):
        if baseline_model is not None and col not in scored.columns:
            scored[col] = None
    warnings = []
    if scorer.unknown:
        warnings.append(
            "acceptable paths name what the version's config does not know, so their tier is unknown: "
            + ", ".join(sorted(scorer.unknown))
        )
    unknown_tiers = sorted({str(t) for t in decided["tier"].dropna()} - set(tier_order))
    if unknown_tiers:
        warnings.append(f"decisions name tiers outside tier_order: {', '.join(unknown_tiers)}")
    if baseline_model is not None and costs.basis is None:
        warnings.append("savings unavailable: per-model costs need full-information outcomes or model_prices")
    params = AccuracyParams(
        router=str(routers[0]) if routers else None,
        by=tuple(by),
        baseline_model=baseline_model,
        tier_order=tuple(tier_order),
        model_tiers=dict(model_tiers),
        model_prices=dict(model_prices) if model_prices is not None else None,
        cost_basis=costs.basis,
        confidence=confidence,
        gold_rule=gold.rule,
        gold_counts=gold.counts,
    )
    return AccuracyResult(
        params=params,
        overall=_summary(scored, confidence, costs.basis, baseline_model),
        confusion=_confusion(scored, decided),
        breakdowns=_slices(scored, requests, by, confidence, costs.basis, baseline_model),
        warnings=tuple(warnings),
    )
