"""The metrics of `compare` over the paired frame: flips, accuracy, cost, latency and ranked slices.

Each takes `PairedDecisions.frame` (see `compare`) and returns its part of `CompareResult`; the statistics
are the shared ones (`intervals`, `bootstrap`, `quantiles`, `rank_tests`) with one seed for every bootstrap.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from routelab.evaluators.accuracy_types import MISSING
from routelab.evaluators.bootstrap import paired_bootstrap, paired_bootstrap_set
from routelab.evaluators.compare_types import (
    PATH_KEY_COMPONENTS,
    AccuracyComparison,
    Bucket,
    CostComparison,
    CostTotals,
    FlipMatrix,
    Flips,
    LatencyComparison,
    LatencyQuantile,
    SliceComparison,
    SliceDelta,
)
from routelab.evaluators.errors import EvaluatorError, ZeroBaselineError
from routelab.evaluators.estimates import BootstrapEstimate, Estimate, StatisticName
from routelab.evaluators.frames import is_missing, iso_week, require_columns, require_unique
from routelab.evaluators.intervals import paired_accuracy_delta, wilson
from routelab.evaluators.quantiles import quantile
from routelab.evaluators.rank_tests import benjamini_hochberg

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd  # type: ignore[import-untyped,unused-ignore]  # no pandas-stubs in the dev lock yet
    from numpy.typing import NDArray

SIDES = ("base", "cand")


def per_1k(x: NDArray[np.float64]) -> NDArray[np.float64]:
    """Bootstrap statistic of `delta_per_1k`: 1000 × the mean of the last axis (cost per 1,000 requests)."""
    out: NDArray[np.float64] = 1000.0 * x.mean(axis=-1)
    return out


def _observed(value: float, n: int, confidence: float) -> Estimate:
    """A quantity computed from all the data, not estimated: its interval is the value itself."""
    return Estimate(value=value, ci_low=value, ci_high=value, n=n, method="observed", confidence=confidence)


def path_text(value: object) -> str:
    """A path component as text; None reads as ``-``."""
    return "-" if value is None else str(value)


@dataclass(frozen=True)
class Settings:
    """Seed, resamples and confidence shared by every paired bootstrap of one comparison."""

    seed: int
    n_resamples: int
    confidence: float

    def boot(self, frame: pd.DataFrame, column: str, statistic: StatisticName) -> BootstrapEstimate:
        base = frame[f"{column}_base"].to_numpy(dtype=float)
        cand = frame[f"{column}_cand"].to_numpy(dtype=float)
        return paired_bootstrap(
            base,
            cand,
            statistic=statistic,
            n_resamples=self.n_resamples,
            confidence=self.confidence,
            seed=self.seed,
        )


def _path_texts(values: pd.Series) -> pd.Series:
    """`path_text` of every value, computed once per distinct value."""
    import numpy as np
    import pandas as pd

    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    table = np.array([*(path_text(u) for u in uniques), path_text(None)], dtype=object)
    return pd.Series(table[codes], index=values.index, dtype=object)  # code -1 (missing) reads "-"


def _flip_matrix(base: pd.Series, cand: pd.Series, confidence: float) -> FlipMatrix:
    counts = base.to_frame("a").assign(b=cand.to_numpy()).groupby(["a", "b"], sort=True).size()
    matrix: dict[str, dict[str, int]] = {}
    for (a, b), k in counts.items():
        matrix.setdefault(str(a), {})[str(b)] = int(k)
    changed = int((base.to_numpy() != cand.to_numpy()).sum())
    return FlipMatrix(matrix=matrix, changed=changed, rate=wilson(changed, len(base), confidence))


def flip_summary(frame: pd.DataFrame, examples: int, confidence: float) -> Flips:
    """Flip matrices per component and the flip buckets, with example request ids."""
    path = _flip_matrix(frame["path_base"], frame["path_cand"], confidence)
    components = {
        c: _flip_matrix(_path_texts(frame[f"{c}_base"]), _path_texts(frame[f"{c}_cand"]), confidence)
        for c in PATH_KEY_COMPONENTS
    }
    lab = frame[frame["labelled"]]
    ok_b, ok_c = lab["ok_base"].astype(bool), lab["ok_cand"].astype(bool)
    moved = lab["path_base"] != lab["path_cand"]
    masks = {
        "fixed": ~ok_b & ok_c,
        "broken": ok_b & ~ok_c,
        "changed_both_right": ok_b & ok_c & moved,
        "changed_both_wrong": ~ok_b & ~ok_c & moved,
        "unchanged_right": ok_b & ok_c & ~moved,
        "unchanged_wrong": ~ok_b & ~ok_c & ~moved,
    }
    buckets = {
        name: Bucket(
            count=int(mask.sum()),
            share=wilson(int(mask.sum()), len(lab), confidence),
            examples=tuple(lab.loc[mask, "request_id"].iloc[:examples]),  # frame is ordered by request_id
        )
        for name, mask in masks.items()
    }
    return Flips(**path.model_dump(), n=len(frame), components=components, labelled=len(lab), buckets=buckets)


def accuracy_comparison(frame: pd.DataFrame, confidence: float) -> AccuracyComparison:
    """Accuracy of both versions and the paired delta over the labelled requests."""
    lab = frame[frame["labelled"]]
    ok_b, ok_c = lab["ok_base"].to_numpy(dtype=bool), lab["ok_cand"].to_numpy(dtype=bool)
    return AccuracyComparison(
        baseline=wilson(int(ok_b.sum()), len(lab), confidence),
        candidate=wilson(int(ok_c.sum()), len(lab), confidence),
        delta=paired_accuracy_delta(ok_b, ok_c, confidence=confidence),
    )


def _cost_totals(frame: pd.DataFrame, s: Settings) -> CostTotals:
    n = len(frame)
    return CostTotals(
        baseline=_observed(float(frame["est_cost_usd_base"].sum()), n, s.confidence),
        candidate=_observed(float(frame["est_cost_usd_cand"].sum()), n, s.confidence),
        delta=s.boot(frame, "est_cost_usd", "sum"),
    )


def cost_comparison(frame: pd.DataFrame, s: Settings, warnings: list[str]) -> CostComparison:
    """Cost totals and paired-bootstrap deltas (per 1,000 requests and in percent), from one set of draws."""
    n = len(frame)
    delta, pct = paired_bootstrap_set(
        frame["est_cost_usd_base"].to_numpy(dtype=float),
        frame["est_cost_usd_cand"].to_numpy(dtype=float),
        [("sum", "absolute"), ("sum", "percent")],
        n_resamples=s.n_resamples,
        confidence=s.confidence,
        seed=s.seed,
    )
    assert isinstance(delta, BootstrapEstimate)  # an absolute change is always defined
    totals = CostTotals(
        baseline=_observed(float(frame["est_cost_usd_base"].sum()), n, s.confidence),
        candidate=_observed(float(frame["est_cost_usd_cand"].sum()), n, s.confidence),
        delta=delta,
    )
    scale = 1000.0 / n  # sum/n = mean on every resample: the same resamples give the per-1k delta
    per_1k_delta = delta.model_copy(
        update={
            "value": None if delta.value is None else delta.value * scale,
            "ci_low": delta.ci_low * scale,
            "ci_high": delta.ci_high * scale,
            "statistic": "per_1k",
        }
    )
    if isinstance(pct, ZeroBaselineError):
        warnings.append("cost.delta_pct undefined: the baseline's total cost is 0 and the candidate's is not")
        return CostComparison(**dict(totals), delta_per_1k=per_1k_delta, delta_pct=None)
    return CostComparison(**dict(totals), delta_per_1k=per_1k_delta, delta_pct=pct)


def latency_comparison(frame: pd.DataFrame, s: Settings) -> LatencyComparison:
    """Latency p50/p95 of both versions and their paired-bootstrap deltas, from one set of draws."""
    base = frame["est_latency_ms_base"].to_numpy(dtype=float)
    cand = frame["est_latency_ms_cand"].to_numpy(dtype=float)
    deltas = paired_bootstrap_set(
        base,
        cand,
        [("p50", "absolute"), ("p95", "absolute")],
        n_resamples=s.n_resamples,
        confidence=s.confidence,
        seed=s.seed,
    )

    def one(q: float, delta: BootstrapEstimate | ZeroBaselineError) -> LatencyQuantile:
        assert isinstance(delta, BootstrapEstimate)  # absolute changes are always defined
        return LatencyQuantile(
            baseline=_observed(quantile(base, q), len(frame), s.confidence),
            candidate=_observed(quantile(cand, q), len(frame), s.confidence),
            delta=delta,
        )

    return LatencyComparison(p50=one(0.5, deltas[0]), p95=one(0.95, deltas[1]))


def _slice_keys(frame: pd.DataFrame, requests: pd.DataFrame | None, by: Sequence[str]) -> pd.DataFrame:
    """The `by` fields of each paired request as text, aligned with `frame`."""
    if requests is None:
        raise EvaluatorError(f"slices by {', '.join(by)} need the requests frame; pass `requests`")
    need = ["request_id", *dict.fromkeys("ts" if f == "week" else f for f in by)]
    require_columns(requests, need, "requests")
    require_unique(requests, "request_id", "requests")
    fields = requests[need].assign(request_id=requests["request_id"].astype(str))
    if "week" in by:
        fields["week"] = iso_week(fields["ts"])
    keys = frame[["request_id"]].merge(fields, on="request_id", how="left", validate="one_to_one")
    return keys[list(dict.fromkeys(by))].map(lambda v: MISSING if is_missing(v) else str(v))


def slice_comparison(
    frame: pd.DataFrame, requests: pd.DataFrame | None, by: Sequence[str], s: Settings, fdr_level: float
) -> SliceComparison:
    """Accuracy and cost deltas per slice of each `by` field, ranked, with BH-adjusted p-values."""
    if not by:
        return SliceComparison(fdr_level=fdr_level, n_tests=0, by={})
    keys = _slice_keys(frame, requests, by)
    rows: list[dict[str, Any]] = []
    for order, field in enumerate(dict.fromkeys(by)):
        for value, group in frame.groupby(keys[field].to_numpy(), sort=True):
            acc = accuracy_comparison(group, s.confidence)
            cost = _cost_totals(group, s)
            delta = acc.delta.value
            rows.append(
                {
                    "field": field,
                    "order": order,
                    "value": str(value),
                    "n": len(group),
                    "labelled": int(group["labelled"].sum()),
                    "accuracy": acc,
                    "cost": cost,
                    "impact": len(group) * abs(delta) if delta is not None else 0.0,
                    "cost_impact_usd": abs(cost.delta.value or 0.0),
                }
            )
    tested = [r["labelled"] > 0 for r in rows]
    raw = [r["accuracy"].delta.p_value if t else float("nan") for r, t in zip(rows, tested, strict=True)]
    for r, t, p in zip(rows, tested, benjamini_hochberg(raw), strict=True):
        r["p_adjusted"] = p if t else None
        r["significant"] = t and p <= fdr_level
    rows.sort(key=lambda r: (-r["impact"], -r["cost_impact_usd"], r["order"], r["value"]))
    out: dict[str, list[SliceDelta]] = {f: [] for f in dict.fromkeys(by)}
    for rank, r in enumerate(rows, start=1):
        field = r.pop("field")
        del r["order"]
        out[field].append(SliceDelta(**r, rank=rank))
    return SliceComparison(fdr_level=fdr_level, n_tests=sum(tested), by=out)
