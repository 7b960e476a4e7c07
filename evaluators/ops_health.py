"""Health sections of the operations view: errors, timeouts and latency; fallbacks.

- **Reliability** per slice (default workflow, model, provider; `a*b` crosses two), over the window and per
  ISO week: the error rate (the primary call logged an error, whether or not a fallback then answered), the
  timeout rate (errors of class timeout, `ops_fields.error_class`) and the failure rate (errors no fallback
  answered: the caller got nothing), each a Wilson interval over the slice's calls; errors per class; and
  latency p50/p95/p99 (type-7 quantiles, `quantiles`) over the calls with a latency that were not cache
  hits, since a hit's few milliseconds say nothing about the model. Rows: worst error rate first.
- **Fallbacks** per primary model (the model the path chose; a fallback row logs its failure in `error` and
  the model that answered in `fallback_model`) and workflow, for every model that fell back at least once:
  the fallback rate (Wilson), which fallback served, the median cost of the fallen-back calls against the
  median cost of the primary's clean calls in that workflow (no error, no fallback, no cache hit), their
  ratio, and the extra spend Σ (fallen-back cost − that median).
- **Fallback spikes** per model and day: a one-sided binomial test of the day's fallbacks against the
  model's rate over the window (P(X ≥ k) for X ~ Binomial(n, rate)), Benjamini–Hochberg over every
  model-day cell; a spike when the adjusted p is at most the false discovery rate.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from routelab.evaluators.arguments import scipy_stats
from routelab.evaluators.frames import is_missing
from routelab.evaluators.intervals import wilson
from routelab.evaluators.ops_frame import counts, examples, keys, wilson_rates
from routelab.evaluators.ops_types import FallbackDay, FallbackRow, Fallbacks, Reliability, ReliabilityRow
from routelab.evaluators.rank_tests import benjamini_hochberg

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped,unused-ignore]  # no pandas-stubs in the dev lock yet

QUANTILES = (0.5, 0.95, 0.99)


def _optional(value: Any) -> float | None:
    return None if is_missing(value) else float(value)


def _slice_rows(
    f: pd.DataFrame, field: str, weekly: bool, confidence: float, n_examples: int
) -> list[ReliabilityRow]:
    frame = f.assign(_key=keys(f, field))
    if weekly:
        frame = frame[frame["week"].notna()]
    group: Any = ["_key", "week"] if weekly else "_key"
    sums = frame.groupby(group, sort=True)[["is_error", "is_timeout", "failed"]].sum()
    sums["requests"] = frame.groupby(group, sort=True).size()
    timed = frame[~frame["hit"] & frame["latency_ms"].notna()]
    lat = timed.groupby(group, sort=True)["latency_ms"]
    quant = lat.quantile(list(QUANTILES)).unstack() if len(timed) else None
    n_lat = lat.size()
    classes = {k: counts(g) for k, g in frame[frame["is_error"]].groupby(group, sort=True)["error_class"]}
    ordered = frame.assign(_err=frame["is_error"].astype(int), _lat=frame["latency_ms"].fillna(-1.0))
    by = ordered["_key"] if not weekly else ordered["_key"] + "|" + ordered["week"].astype(str)
    ids = examples(ordered, by, ["_err", "_lat"], [False, False], n_examples)
    n_all = sums["requests"].to_list()
    rates = {
        c: wilson_rates(sums[c].to_list(), n_all, confidence) for c in ("is_error", "is_timeout", "failed")
    }
    rows = []
    for i, (k, s) in enumerate(sums.iterrows()):
        n = int(s["requests"])
        q = quant.loc[k] if quant is not None and k in quant.index else None
        value, period = k if weekly else (k, None)
        key = f"{value}|{period}" if weekly else value
        rows.append(
            ReliabilityRow(
                field=field,
                value=str(value),
                period=None if period is None else str(period),
                requests=n,
                errors=int(s["is_error"]),
                error_rate=rates["is_error"][i],
                timeouts=int(s["is_timeout"]),
                timeout_rate=rates["is_timeout"][i],
                failed=int(s["failed"]),
                failure_rate=rates["failed"][i],
                error_classes=classes.get(k, {}),
                latency_n=int(n_lat.get(k, 0)),
                latency_p50_ms=None if q is None else _optional(q[0.5]),
                latency_p95_ms=None if q is None else _optional(q[0.95]),
                latency_p99_ms=None if q is None else _optional(q[0.99]),
                examples=list(ids.get(key, [])),
            )
        )
    return rows


def reliability(f: pd.DataFrame, by: Sequence[str], confidence: float, n_examples: int) -> Reliability:
    """Error, timeout and failure rates and latency quantiles per slice, over the window and per week."""
    rows: list[ReliabilityRow] = []
    weekly: list[ReliabilityRow] = []
    for field in by:
        found = _slice_rows(f, field, False, confidence, n_examples)
        rows += sorted(found, key=lambda r: (-(r.error_rate.value or 0.0), -r.requests, r.value))
        weekly += _slice_rows(f, field, True, confidence, n_examples)
    return Reliability(rows=rows, weekly=weekly)


def _median(values: pd.Series) -> float | None:
    known = values.dropna()
    return float(known.median()) if len(known) else None


def fallbacks(f: pd.DataFrame, confidence: float, fdr: float, n_examples: int) -> Fallbacks:
    """Fallback rates per primary model and workflow, what served and cost, and per-day spikes."""
    fell = f[f["is_fallback"]]
    models = sorted(set(fell["model"]))
    scope = f[f["model"].isin(models)]
    clean = scope[~scope["is_error"] & ~scope["is_fallback"] & ~scope["hit"]]
    rows = []
    ids = examples(fell, fell["model"] + "|" + fell["workflow"], ["cost_usd"], [False], n_examples)
    for (model, workflow), g in scope.groupby(["model", "workflow"], sort=True):
        fb = g[g["is_fallback"]]
        primary = _median(clean.loc[(clean["model"] == model) & (clean["workflow"] == workflow), "cost_usd"])
        fb_median = _median(fb["cost_usd"])
        extra = None
        if primary is not None and fb["cost_usd"].notna().any():
            extra = float((fb["cost_usd"].dropna() - primary).sum())
        rows.append(
            FallbackRow(
                model=str(model),
                workflow=str(workflow),
                requests=len(g),
                fallbacks=len(fb),
                fallback_rate=wilson(len(fb), len(g), confidence),
                served_by=counts(fb["fallback_model"]),
                fallback_cost_median=fb_median,
                primary_cost_median=primary,
                cost_ratio=fb_median / primary if fb_median is not None and primary else None,
                extra_cost_usd=extra,
                examples=list(ids.get(f"{model}|{workflow}", [])),
            )
        )
    rows.sort(key=lambda r: (-r.fallbacks, -(r.fallback_rate.value or 0.0), r.model, r.workflow))
    return Fallbacks(
        recorded=bool(len(fell)), rows=rows, daily=_daily(scope, confidence, fdr, n_examples), fdr=fdr
    )


def _daily(scope: pd.DataFrame, confidence: float, fdr: float, n_examples: int) -> list[FallbackDay]:
    dated = scope[scope["day"].notna()]
    if dated.empty:
        return []
    rate = dated.groupby("model")["is_fallback"].mean()
    cells = dated.groupby(["model", "day"], sort=True)["is_fallback"].agg(["size", "sum"])
    expected = rate.reindex(cells.index.get_level_values(0)).to_numpy()
    k, n = cells["sum"].to_numpy(), cells["size"].to_numpy()
    rates = wilson_rates(k.tolist(), n.tolist(), confidence)
    p = scipy_stats().binom.sf(k - 1, n, expected)
    adjusted = benjamini_hochberg([min(1.0, max(0.0, float(x))) for x in p])
    fell = dated[dated["is_fallback"]]
    served = {key: counts(g) for key, g in fell.groupby(["model", "day"], sort=True)["fallback_model"]}
    ids = examples(fell, fell["model"] + "|" + fell["day"].astype(str), ["cost_usd"], [False], n_examples)
    out = []
    for i, ((model, day), c) in enumerate(cells.iterrows()):
        out.append(
            FallbackDay(
                model=str(model),
                day=day,
                requests=int(c["size"]),
                fallbacks=int(c["sum"]),
                fallback_rate=rates[i],
                expected_rate=float(expected[i]),
                p_adjusted=adjusted[i],
                spike=adjusted[i] <= fdr,
                served_by=served.get((model, day), {}),
                examples=list(ids.get(f"{model}|{day}", [])),
            )
        )
    return out
