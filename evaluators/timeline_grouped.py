"""`timeline.timeline` of a grouped drift frame (`drift_grouped`): per period, from the rows' counts.

The same `Timeline` as the per-request evaluator: counts and quantiles exactly (`weighted.quantiles`), means
up to rounding. Periods come from the rows' ``day``; rows without one are the undated requests.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from routelab.evaluators import weighted
from routelab.evaluators.accuracy_types import COMPONENTS, MISSING
from routelab.evaluators.arguments import scipy_stats
from routelab.evaluators.estimates import Estimate
from routelab.evaluators.frames import FrameError, is_missing, iso_week
from routelab.evaluators.intervals import wilson
from routelab.evaluators.timeline import Source, Timeline, build_periods

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped,unused-ignore]  # no pandas-stubs in the dev lock yet


class _Periods:
    """The dated grouped rows split by period (`parts[i]` holds period i's rows)."""

    def __init__(self, dated: pd.DataFrame, codes: Any, k: int) -> None:
        self.dated, self.k = dated, k
        self.parts = [dated[codes == i] for i in range(k)]

    def has(self, name: str, *, binary: bool = False) -> bool:
        """Whether any dated row has a value of `name` (checking flags are 0/1)."""
        if name not in self.dated.columns:
            return False
        values = self.dated[name].dropna()
        if binary and not values.isin((0.0, 1.0)).all():
            raise FrameError(f"drift frame: column {name} holds values other than true/false; fix the frame")
        return bool(len(values))

    def means(self, name: str | None) -> list[float | None]:
        """Per period, the mean of the known values (None without any)."""
        if name is None:
            return [None] * self.k
        out: list[float | None] = []
        for p in self.parts:
            s = weighted.sample(p[name].to_numpy(dtype=float), p["n"])
            out.append(_sum_mean(s) if s.n else None)
        return out

    def quantiles(self, name: str | None, q: tuple[float, ...]) -> list[list[float | None]]:
        """Per period, the type-7 quantiles of the known values."""
        out: list[list[float | None]] = []
        for p in self.parts:
            s = weighted.sample(p[name].to_numpy(dtype=float), p["n"]) if name else None
            out.append([*weighted.quantiles(s, q)] if s is not None and s.n else [None] * len(q))
        return out

    def rates(self, name: str | None, confidence: float) -> list[Estimate | None]:
        """Per period, the Wilson interval of the share of 1s among the known values."""
        if name is None:
            return [None] * self.k
        return [
            wilson(int(p["n"][p[name] == 1].sum()), int(p["n"][p[name].notna()].sum()), confidence)
            for p in self.parts
        ]

    def t_means(self, name: str, confidence: float) -> list[Estimate | None]:
        """Per period, the mean with its t interval (as `timeline._Groups.t_means`)."""
        import math

        out: list[Estimate | None] = []
        for p in self.parts:
            s = weighted.sample(p[name].to_numpy(dtype=float), p["n"])
            if not s.n:
                out.append(
                    Estimate(value=None, ci_low=0.0, ci_high=0.0, n=0, method="t", confidence=confidence)
                )
                continue
            m = _sum_mean(s)
            squares = float(((s.values - m) ** 2 * s.counts).sum())
            df = max(s.n - 1, 1)
            half = scipy_stats().t.ppf((1 + confidence) / 2, df) * math.sqrt(squares / df / s.n)
            out.append(
                Estimate(value=m, ci_low=m - half, ci_high=m + half, n=s.n, method="t", confidence=confidence)
            )
        return out

    def shares(self, name: str) -> list[dict[str, float]]:
        """Per period, each value's share of the period's requests, largest first (ties by value)."""
        out = []
        for p in self.parts:
            labels = p[name].map(lambda v: MISSING if is_missing(v) else str(v))
            counts = p["n"].groupby(labels.to_numpy()).sum()
            total = counts.sum()
            order = sorted(counts.index, key=lambda v: (-counts[v], v))
            out.append({v: counts[v] / total for v in order if counts[v]})
        return out


def _sum_mean(s: weighted.Sample) -> float:
    """The mean as a sum over values / count, as `timeline`'s bincount sums give it."""
    return float((s.values * s.counts).sum() / s.n)


def timeline_grouped(
    grouped: pd.DataFrame,
    *,
    router: str | None,
    period: Literal["week", "day"] = "week",
    components: Sequence[str] = COMPONENTS,
    confidence: float = 0.95,
) -> Timeline:
    """`timeline.timeline` of a grouped drift frame (``day`` and ``n`` instead of ``ts`` and rows)."""
    import pandas as pd

    wanted = list(dict.fromkeys(components))
    dated = grouped[grouped["day"].notna()]
    starts = pd.to_datetime(dated["day"]).dt.normalize()
    if period == "week":
        starts = starts - pd.to_timedelta(starts.dt.day_of_week, unit="D")
    codes, uniques = pd.factorize(starts, sort=True)
    g = _Periods(dated, codes, len(uniques))
    begins = pd.Series(uniques)
    labels = iso_week(begins) if period == "week" else begins.dt.strftime("%Y-%m-%d")
    cost_source: Source = "outcomes" if g.has("cost_usd") else "estimate"
    latency_source: Source = "outcomes" if g.has("latency_ms") else "estimate"
    cost = "cost_usd" if cost_source == "outcomes" else ("est_cost_usd" if g.has("est_cost_usd") else None)
    latency = (
        "latency_ms"
        if latency_source == "outcomes"
        else ("est_latency_ms" if g.has("est_latency_ms") else None)
    )
    has_quality = g.has("quality")
    binary_quality = not has_quality or dated["quality"].dropna().isin((0.0, 1.0)).all()
    pick = {
        c: (c if g.has(c, binary=True) else None) for c in ("error", "logged_fallback", "logged_cache_hit")
    }
    columns: dict[str, list[Any]] = {
        "n": [int(p["n"].sum()) for p in g.parts],
        "cost_per_request": g.means(cost),
        "latency": g.quantiles(latency, (0.5, 0.95)),
        "quality": g.rates("quality" if has_quality else None, confidence)
        if binary_quality
        else g.t_means("quality", confidence),
        "error_rate": g.rates(pick["error"], confidence),
        "fallback_rate": g.rates(pick["logged_fallback"], confidence),
        "cache_hit_rate": g.rates(pick["logged_cache_hit"], confidence),
        "production_cost_per_request": g.means("logged_cost_usd" if g.has("logged_cost_usd") else None),
        "production_latency_p95_ms": [
            q[0] for q in g.quantiles("logged_latency_ms" if g.has("logged_latency_ms") else None, (0.95,))
        ],
        "accuracy": g.rates("correct", confidence)
        if g.has("correct", binary=True)
        else [wilson(0, 0, confidence)] * g.k,
        "mean_confidence": g.means("confidence" if g.has("confidence") else None),
    }
    shares = {c: g.shares(c) for c in wanted}
    periods = build_periods(columns, shares, labels, begins, cost_source, latency_source)
    return Timeline(
        period=period,
        router=router,
        n=int(dated["n"].sum()),
        n_undated=int(grouped["n"].sum()) - int(dated["n"].sum()),
        components=wanted,
        confidence=confidence,
        periods=periods,
    )
