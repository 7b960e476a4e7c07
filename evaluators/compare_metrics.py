"""The metrics of `compare` over the paired counts: flips, accuracy, cost, latency and ranked slices.

Each takes `paired_counts.PairedCounts` (or a part of it) and returns its part of `CompareResult`; the
statistics are the shared ones (`intervals`, `bootstrap`, `rank_tests`) with one seed for every bootstrap.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from routelab.evaluators.bootstrap import paired_bootstrap_counts, quantile_of_counts
from routelab.evaluators.compare_types import (
    BUCKETS,
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
from routelab.evaluators.errors import ZeroBaselineError
from routelab.evaluators.estimates import BootstrapEstimate, Estimate, StatisticName
from routelab.evaluators.intervals import paired_accuracy_delta, wilson
from routelab.evaluators.paired_counts import PairedCounts, bucket_of
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

    def boot(
        self, pairs: pd.DataFrame, specs: Sequence[tuple[StatisticName, Literal["absolute", "percent"]]]
    ) -> list[BootstrapEstimate | ZeroBaselineError]:
        """The paired bootstrap of a `PAIR_COLUMNS` frame (distinct base/cand pairs and their requests)."""
        return paired_bootstrap_counts(
            pairs[["base", "cand"]].to_numpy(dtype=float),
            pairs["n"].to_numpy(dtype="int64"),
            specs,
            n_resamples=self.n_resamples,
            confidence=self.confidence,
            seed=self.seed,
        )


def _text_of(values: pd.Series) -> list[str]:
    return [path_text(v) for v in values.tolist()]


def _flip_matrix(a: Sequence[str], b: Sequence[str], n: Sequence[int], confidence: float) -> FlipMatrix:
    """The flip matrix of cells given as (base text, candidate text, requests)."""
    cells: dict[tuple[str, str], int] = {}
    for x, y, k in zip(a, b, n, strict=True):
        cells[(x, y)] = cells.get((x, y), 0) + int(k)
    matrix: dict[str, dict[str, int]] = {}
    for (x, y), k in sorted(cells.items()):
        if k:
            matrix.setdefault(x, {})[y] = k
    total = sum(cells.values())
    changed = sum(k for (x, y), k in cells.items() if x != y)
    return FlipMatrix(matrix=matrix, changed=changed, rate=wilson(changed, total, confidence))


def flip_summary(counts: PairedCounts, confidence: float) -> Flips:
    """Flip matrices per component and the flip buckets, with example request ids."""
    import numpy as np

    cells, tuples = counts.cells, counts.tuples
    tb, tc, n = cells["tb"].to_numpy(), cells["tc"].to_numpy(), cells["n"].tolist()
    paths = tuples["path"].to_numpy(dtype=object)
    path = _flip_matrix(paths[tb].tolist(), paths[tc].tolist(), n, confidence)
    components = {}
    for c in PATH_KEY_COMPONENTS:
        texts = np.array(_text_of(tuples[c]), dtype=object)
        components[c] = _flip_matrix(texts[tb].tolist(), texts[tc].tolist(), n, confidence)
    totals = dict.fromkeys(BUCKETS, 0)
    for b, c, m, k in zip(
        cells["ok_b"].tolist(), cells["ok_c"].tolist(), (paths[tb] != paths[tc]).tolist(), n, strict=True
    ):
        bucket = bucket_of(b, c, m)
        if bucket is not None:
            totals[bucket] += int(k)
    labelled = sum(totals.values())
    buckets = {
        name: Bucket(
            count=count,
            share=wilson(count, labelled, confidence),
            examples=tuple(counts.examples.get(name, ())),
        )
        for name, count in totals.items()
    }
    return Flips(**path.model_dump(), n=counts.n, components=components, labelled=labelled, buckets=buckets)


def accuracy_comparison(cells: pd.DataFrame, confidence: float) -> AccuracyComparison:
    """Accuracy of both versions and the paired delta over labelled cells (ok_b, ok_c, n; -1: unlabelled)."""
    import numpy as np

    lab = cells[(cells["ok_b"] >= 0) & (cells["ok_c"] >= 0)]
    k = lab["n"].to_numpy(dtype="int64")
    ok_b = np.repeat(lab["ok_b"].to_numpy(dtype=bool), k)
    ok_c = np.repeat(lab["ok_c"].to_numpy(dtype=bool), k)
    return AccuracyComparison(
        baseline=wilson(int(ok_b.sum()), len(ok_b), confidence),
        candidate=wilson(int(ok_c.sum()), len(ok_c), confidence),
        delta=paired_accuracy_delta(ok_b, ok_c, confidence=confidence),
    )


def _totals(pairs: pd.DataFrame) -> tuple[float, float, int]:
    k = pairs["n"].to_numpy(dtype=float)
    return (
        float(k @ pairs["base"].to_numpy(dtype=float)),
        float(k @ pairs["cand"].to_numpy(dtype=float)),
        int(pairs["n"].sum()),
    )


def _cost_totals(pairs: pd.DataFrame, s: Settings) -> CostTotals:
    base, cand, n = _totals(pairs)
    (delta,) = s.boot(pairs, [("sum", "absolute")])
    assert isinstance(delta, BootstrapEstimate)  # an absolute change is always defined
    return CostTotals(
        baseline=_observed(base, n, s.confidence), candidate=_observed(cand, n, s.confidence), delta=delta
    )


def cost_comparison(counts: PairedCounts, s: Settings, warnings: list[str]) -> CostComparison:
    """Cost totals and paired-bootstrap deltas (per 1,000 requests and in percent), from one set of draws."""
    base, cand, n = _totals(counts.cost)
    delta, pct = s.boot(counts.cost, [("sum", "absolute"), ("sum", "percent")])
    assert isinstance(delta, BootstrapEstimate)  # an absolute change is always defined
    totals = CostTotals(
        baseline=_observed(base, n, s.confidence), candidate=_observed(cand, n, s.confidence), delta=delta
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


def latency_comparison(counts: PairedCounts, s: Settings) -> LatencyComparison:
    """Latency p50/p95 of both versions and their paired-bootstrap deltas, from one set of draws."""
    pairs = counts.latency
    deltas = s.boot(pairs, [("p50", "absolute"), ("p95", "absolute")])
    n = int(pairs["n"].sum())

    def one(q: float, delta: BootstrapEstimate | ZeroBaselineError) -> LatencyQuantile:
        assert isinstance(delta, BootstrapEstimate)  # absolute changes are always defined
        base, cand = (
            quantile_of_counts(pairs[c].to_numpy(dtype=float), pairs["n"], q) for c in ("base", "cand")
        )
        return LatencyQuantile(
            baseline=_observed(base, n, s.confidence),
            candidate=_observed(cand, n, s.confidence),
            delta=delta,
        )

    return LatencyComparison(p50=one(0.5, deltas[0]), p95=one(0.95, deltas[1]))


def slice_comparison(counts: PairedCounts, s: Settings, fdr_level: float) -> SliceComparison:
    """Accuracy and cost deltas per slice of each `by` field, ranked, with BH-adjusted p-values."""
    if not counts.slices:
        return SliceComparison(fdr_level=fdr_level, n_tests=0, by={})
    rows: list[dict[str, Any]] = []
    for order, (field, sc) in enumerate(counts.slices.items()):
        cells_by = dict(tuple(sc.cells.groupby("value", sort=True)))
        for value, pairs in sc.cost.groupby("value", sort=True):
            cells = cells_by[value]
            acc = accuracy_comparison(cells, s.confidence)
            cost = _cost_totals(pairs, s)
            delta = acc.delta.value
            n = int(cells["n"].sum())
            rows.append(
                {
                    "field": field,
                    "order": order,
                    "value": str(value),
                    "n": n,
                    "labelled": int(cells.loc[(cells["ok_b"] >= 0) & (cells["ok_c"] >= 0), "n"].sum()),
                    "accuracy": acc,
                    "cost": cost,
                    "impact": n * abs(delta) if delta is not None else 0.0,
                    "cost_impact_usd": abs(cost.delta.value or 0.0),
                }
            )
    tested = [r["labelled"] > 0 for r in rows]
    raw = [r["accuracy"].delta.p_value if t else float("nan") for r, t in zip(rows, tested, strict=True)]
    for r, t, p in zip(rows, tested, benjamini_hochberg(raw), strict=True):
        r["p_adjusted"] = p if t else None
        r["significant"] = t and p <= fdr_level
    rows.sort(key=lambda r: (-r["impact"], -r["cost_impact_usd"], r["order"], r["value"]))
    out: dict[str, list[SliceDelta]] = {f: [] for f in counts.slices}
    for rank, r in enumerate(rows, start=1):
        field = r.pop("field")
        del r["order"]
        out[field].append(SliceDelta(**r, rank=rank))
    return SliceComparison(fdr_level=fdr_level, n_tests=sum(tested), by=out)
