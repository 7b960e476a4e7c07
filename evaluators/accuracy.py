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
  `est_latency_ms`). Every rate is a Wilson interval (`intervals.wilson`) with its n (n = 0: value None);
  money carries the number of decisions it sums over. Nothing here is random (`params.seed` is None).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from routelab.evaluators.accuracy_types import (
    COMPONENTS,
    DECISION_COLUMNS,
    MISSING,
    AccuracyParams,
    AccuracyResult,
    CostBasis,
    Counts,
    Misrouting,
    Savings,
    Slice,
    Summary,
)
from routelab.evaluators.errors import EvaluatorError
from routelab.evaluators.estimates import Estimate
from routelab.evaluators.frames import is_missing, iso_week, require_columns, require_unique
from routelab.evaluators.gold import LABELLED_SOURCES, GoldLabels, GoldSource
from routelab.evaluators.intervals import wilson
from routelab.evaluators.quantiles import quantile
from routelab.evaluators.registry import evaluator
from routelab.evaluators.scorer import Costs, Scorer, normalised_decisions

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped,unused-ignore]  # no pandas-stubs in the dev lock yet


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


@evaluator(
    "accuracy",
    "Routing accuracy of one version against gold, with misrouting cost, savings and slices.",
)
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
    costs = Costs(outcomes, model_prices)
    if baseline_model is not None and costs.basis is not None and baseline_model not in costs.models():
        raise EvaluatorError(
            f"baseline_model {baseline_model!r} has no cost in the {costs.basis}; "
            f"known: {', '.join(sorted(costs.models()))}"
        )
    scorer = Scorer(gold_map, tier_order, model_tiers)
    rows = normalised_decisions(decisions)
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
