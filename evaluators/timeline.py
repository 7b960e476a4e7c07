"""The drift timeline of one router version: per ISO week (or day), where it routed and how that went.

Input: the drift frame (`drift_frame`), one row per decision. Rows without a timestamp are left out and
counted (`n_undated`). Per period:

- **Route shares**: per path component, each value's share of the period's requests, largest first (ties by
  value); a missing value reads ``(missing)``, so the shares of a component sum to 1.
- **Cost per request**: the mean outcome ``cost_usd`` over the period's rows that have one when the frame has
  any outcome cost at all, else the mean router estimate ``est_cost_usd``. The source is chosen once for the
  whole frame, so a line never switches from outcomes to estimates midway (a jump that would look like
  drift); ``cost_source`` names it. Latency p50/p95 alike from ``latency_ms`` / ``est_latency_ms``, type-7
  quantiles (`quantiles`).
- **Quality** (outcome ``quality``): the mean; a Wilson interval when every quality in the frame is 0 or 1,
  else a t interval, mean ± t(n − 1) · s / √n (method ``t``; a single value gives the degenerate interval).
- **Rates**, Wilson over the rows where the flag is known: ``error_rate`` (outcome ``error``),
  ``fallback_rate`` and ``cache_hit_rate`` (production logs). None when the frame has no known flag at all;
  a period without one has value None and n = 0. Production cost per request and latency p95 likewise come
  from ``logged_cost_usd`` / ``logged_latency_ms``.
- **Accuracy**: Wilson over the rows whose ``correct`` is known (``labelled``); value None without any.

`timeline_grouped.timeline_grouped` gives the same timeline from a grouped drift frame (`drift_grouped`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from routelab.evaluators.accuracy_types import COMPONENTS, MISSING
from routelab.evaluators.arguments import check_confidence, scipy_stats
from routelab.evaluators.errors import UnknownOptionError
from routelab.evaluators.estimates import Estimate
from routelab.evaluators.frames import FrameError, iso_week, require_columns
from routelab.evaluators.intervals import wilson
from routelab.evaluators.quantiles import quantiles_sorted
from routelab.evaluators.registry import evaluator

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd  # type: ignore[import-untyped,unused-ignore]  # no pandas-stubs in the dev lock yet
    from numpy.typing import NDArray

PERIODS = ("week", "day")
KNOWN_COMPONENTS = (*COMPONENTS, "path")
Source = Literal["outcomes", "estimate"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Period(_Frozen):
    """One week or day of the timeline."""

    label: str = Field(description="ISO week (`2026-W37`) or date (`2026-09-07`).")
    start: datetime = Field(description="Monday 00:00 of the ISO week, or the day at 00:00 (naive UTC).")
    n: int = Field(ge=1, description="Requests decided in the period.")
    route_shares: dict[str, dict[str, float]] = Field(
        description="Component → value → share of the period's requests, largest first."
    )
    cost_per_request: float | None = Field(description="Mean cost per request in USD; None without data.")
    cost_source: Source | None = Field(description="`outcomes` or the router's `estimate`; None without.")
    cost_per_1k_usd: float | None = Field(description="1000 × cost_per_request.")
    latency_p50_ms: float | None = Field(description="Median latency in ms; None without data.")
    latency_p95_ms: float | None = Field(description="95th percentile latency in ms; None without data.")
    latency_source: Source | None = Field(description="`outcomes` or the router's `estimate`; None without.")
    quality: Estimate | None = Field(description="Mean outcome quality (Wilson for 0/1, else t interval).")
    error_rate: Estimate | None = Field(description="Share of outcome errors among known ones (Wilson).")
    fallback_rate: Estimate | None = Field(description="Share of logged fallbacks among known (Wilson).")
    cache_hit_rate: Estimate | None = Field(description="Share of logged cache hits among known (Wilson).")
    production_cost_per_request: float | None = Field(description="Mean logged cost in USD; None without.")
    production_latency_p95_ms: float | None = Field(description="p95 of logged latency in ms; None without.")
    accuracy: Estimate = Field(description="Share of labelled requests routed correctly (Wilson).")
    labelled: int = Field(ge=0, description="Requests with a resolved gold label (`correct` known).")
    mean_confidence: float | None = Field(description="Mean router confidence; None without any.")


class Timeline(_Frozen):
    """Per-period route shares, cost, latency, rates and accuracy of one router version."""

    evaluator: Literal["timeline"] = Field(default="timeline", description="The evaluator's name.")
    period: Literal["week", "day"] = Field(description="Period length: ISO week or calendar day (UTC).")
    router: str | None = Field(description="The version (`router` column) if the frame names exactly one.")
    n: int = Field(ge=0, description="Dated requests, the sum of the periods' n.")
    n_undated: int = Field(ge=0, description="Rows without a timestamp, left out.")
    components: list[str] = Field(description="Path components whose shares are reported.")
    confidence: float = Field(description="Confidence level of every interval.")
    periods: list[Period] = Field(description="Periods with at least one request, oldest first.")

    def frame(self) -> pd.DataFrame:
        """One row per period, flat columns; an estimate as e.g. fallback_rate, fallback_low/_high."""
        import pandas as pd

        rows = []
        for p in self.periods:
            row = {c: getattr(p, c) for c in _SCALARS}
            for field in _ESTIMATES:
                est = getattr(p, field)
                known = est is not None and est.value is not None  # no value: no interval to draw
                low, high = _ends(field)
                row[field], row[low], row[high] = (
                    (est.value, est.ci_low, est.ci_high) if known else (None,) * 3
                )
            rows.append(row)
        cols = [*_SCALARS, *(c for f in _ESTIMATES for c in (f, *_ends(f)))]
        floats = {c: "float64" for c in cols if c not in ("label", "start", "cost_source", "latency_source")}
        return pd.DataFrame(rows, columns=cols).astype(floats | {"n": "int64", "labelled": "int64"})

    def shares_frame(self, component: str) -> pd.DataFrame:
        """Long shares of one component: label, value, share (one row per period and value routed to)."""
        import pandas as pd

        if component not in self.components:
            raise UnknownOptionError(
                "component", f"is {component!r}", f"pass one of: {', '.join(self.components)}"
            )
        rows = [(p.label, v, s) for p in self.periods for v, s in p.route_shares[component].items()]
        out = pd.DataFrame(rows, columns=["label", "value", "share"])
        return out.astype({"label": object, "value": object, "share": "float64"})


_ESTIMATES = ("quality", "error_rate", "fallback_rate", "cache_hit_rate", "accuracy")
_SCALARS = tuple(f for f in Period.model_fields if f not in ("route_shares", *_ESTIMATES))


def _ends(field: str) -> tuple[str, str]:
    short = field.removesuffix("_rate")
    return f"{short}_low", f"{short}_high"


class _Groups:
    """The dated rows split into periods: each row's period code and the row order grouping them."""

    def __init__(self, frame: pd.DataFrame, dated: NDArray[np.bool_], codes: NDArray[np.intp], k: int):
        import numpy as np

        self.frame, self.dated, self.codes, self.k = frame, dated, codes, k
        self.order = np.argsort(codes, kind="stable")
        self.bounds = np.cumsum(np.bincount(codes, minlength=k))[:-1]

    def floats(self, name: str, *, binary: bool = False) -> NDArray[np.float64] | None:
        """A column of the dated rows as floats (NaN = missing); None if absent or without any value."""
        import numpy as np

        if name not in self.frame.columns:
            return None
        try:
            values = self.frame[name].to_numpy(dtype="float64", na_value=np.nan)[self.dated]
        except (TypeError, ValueError):
            raise FrameError(f"drift frame: column {name} is not numeric; pass numbers or booleans") from None
        known = values[~np.isnan(values)]
        if binary and not np.isin(known, (0.0, 1.0)).all():
            raise FrameError(f"drift frame: column {name} holds values other than true/false; fix the frame")
        return values if known.size else None

    def sums(self, values: NDArray[np.float64]) -> tuple[NDArray[Any], NDArray[Any]]:
        """Per period, the sum and the count of the known values."""
        import numpy as np

        known = ~np.isnan(values)
        sums = np.bincount(self.codes[known], weights=values[known], minlength=self.k)
        return sums, np.bincount(self.codes[known], minlength=self.k)

    def means(self, values: NDArray[np.float64] | None) -> list[float | None]:
        """Per period, the mean of the known values (None without any)."""
        if values is None:
            return [None] * self.k
        sums, counts = self.sums(values)
        return [float(s / c) if c else None for s, c in zip(sums, counts, strict=True)]

    def quantiles(self, values: NDArray[np.float64] | None, q: tuple[float, ...]) -> list[list[float | None]]:
        """Per period, the type-7 quantiles `q` of the known values (Nones without any)."""
        import numpy as np

        if values is None:
            return [[None] * len(q)] * self.k
        parts = [np.sort(p[~np.isnan(p)]) for p in np.split(values[self.order], self.bounds)]
        return [[*quantiles_sorted(p, q)] if p.size else [None] * len(q) for p in parts]

    def rates(self, values: NDArray[np.float64] | None, confidence: float) -> list[Estimate | None]:
        """Per period, the Wilson interval of the share of 1s among the known values."""
        if values is None:
            return [None] * self.k
        hits, counts = self.sums(values)
        return [wilson(round(h), int(c), confidence) for h, c in zip(hits, counts, strict=True)]

    def t_means(self, values: NDArray[np.float64], confidence: float) -> list[Estimate | None]:
        """Per period, the mean with its t interval (the degenerate interval for a single value)."""
        import numpy as np

        sums, counts = self.sums(values)
        mean = sums / np.maximum(counts, 1)
        squares, _ = self.sums((values - mean[self.codes]) ** 2)
        df = np.maximum(counts - 1, 1)
        half = scipy_stats().t.ppf((1 + confidence) / 2, df) * np.sqrt(squares / df / np.maximum(counts, 1))
        return [
            Estimate(value=float(m), ci_low=m - h, ci_high=m + h, n=int(c), method="t", confidence=confidence)
            if c
            else Estimate(value=None, ci_low=0.0, ci_high=0.0, n=0, method="t", confidence=confidence)
            for m, h, c in zip(mean, half, counts, strict=True)
        ]

    def shares(self, name: str) -> list[dict[str, float]]:
        """Per period, each value's share of the period's requests, largest first (ties by value)."""
        import numpy as np
        import pandas as pd

        if name not in self.frame.columns:
            return [{} for _ in range(self.k)]
        raw, uniques = pd.factorize(self.frame[name].to_numpy()[self.dated])  # missing → −1
        # Labels as text, MISSING last so that code −1 picks it; values printing alike (1, "1") share one.
        codes, labels = pd.factorize(np.array([*map(str, uniques), MISSING], dtype=object))
        m = len(labels)
        table = np.bincount(self.codes * m + codes[raw], minlength=self.k * m).reshape(self.k, m)
        return [
            {
                labels[j]: row[j] / row.sum()
                for j in sorted(np.flatnonzero(row), key=lambda j: (-row[j], labels[j]))
            }
            for row in table
        ]


def _timestamps(frame: pd.DataFrame) -> pd.Series:
    """The ts column as naive UTC datetimes (aware ones converted); unreadable values raise."""
    import pandas as pd

    try:
        stamps = pd.to_datetime(frame["ts"], format="ISO8601")
    except (TypeError, ValueError):
        raise FrameError(
            "drift frame: column ts holds values that are not timestamps; fix the frame"
        ) from None
    if stamps.dt.tz is not None:
        stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
    return stamps


@evaluator(
    "timeline",
    "Drift timeline of one version: per week or day, route shares, cost, latency, rates and accuracy.",
)
def timeline(
    frame: pd.DataFrame,
    *,
    period: Literal["week", "day"] = "week",
    components: Sequence[str] = COMPONENTS,
    confidence: float = 0.95,
) -> Timeline:
    """Per-period route shares, cost, latency, quality, rates and accuracy (see the module docstring).

    Args:
        frame: The drift frame: one row per decision of one version, with request_id and ts (naive UTC);
            the other columns are optional and the metrics needing an absent one are None.
        period: ``week`` (ISO weeks, Monday 00:00 UTC) or ``day``.
        components: Path components whose shares to report (``path`` for the joined key).
        confidence: Confidence level of every interval.

    Raises:
        EvaluatorError: an unknown period or component, a missing column, an unreadable ts or flag column.
    """
    import numpy as np
    import pandas as pd

    if period not in PERIODS:
        raise UnknownOptionError("period", f"is {period!r}", f"pass one of: {', '.join(PERIODS)}")
    wanted = list(dict.fromkeys([components] if isinstance(components, str) else components))
    unknown = [repr(c) for c in wanted if c not in KNOWN_COMPONENTS]
    if unknown:
        raise UnknownOptionError(
            "components", f"names {', '.join(unknown)}", f"pass any of: {', '.join(KNOWN_COMPONENTS)}"
        )
    confidence = check_confidence(confidence)
    require_columns(frame, ("request_id", "ts"), "drift frame")
    stamps = _timestamps(frame)
    dated = stamps.notna().to_numpy()
    starts = stamps[dated].dt.normalize()
    if period == "week":
        starts = starts - pd.to_timedelta(starts.dt.day_of_week, unit="D")
    codes, uniques = pd.factorize(starts, sort=True)
    g = _Groups(frame, dated, np.asarray(codes, dtype=np.intp), len(uniques))
    begins = pd.Series(uniques)
    labels = iso_week(begins) if period == "week" else begins.dt.strftime("%Y-%m-%d")

    # One source per frame (outcomes if it has any), so a line never switches source midway.
    cost, latency = g.floats("cost_usd"), g.floats("latency_ms")
    cost_source: Source = "outcomes" if cost is not None else "estimate"
    latency_source: Source = "outcomes" if latency is not None else "estimate"
    cost = g.floats("est_cost_usd") if cost is None else cost
    latency = g.floats("est_latency_ms") if latency is None else latency
    quality = g.floats("quality")
    if quality is not None and not np.isin(quality[~np.isnan(quality)], (0.0, 1.0)).all():
        qualities = g.t_means(quality, confidence)
    else:
        qualities = g.rates(quality, confidence)
    correct = g.floats("correct", binary=True)
    columns: dict[str, list[Any]] = {
        "n": np.bincount(g.codes, minlength=g.k).tolist(),
        "cost_per_request": g.means(cost),
        "latency": g.quantiles(latency, (0.5, 0.95)),
        "quality": qualities,
        "error_rate": g.rates(g.floats("error", binary=True), confidence),
        "fallback_rate": g.rates(g.floats("logged_fallback", binary=True), confidence),
        "cache_hit_rate": g.rates(g.floats("logged_cache_hit", binary=True), confidence),
        "production_cost_per_request": g.means(g.floats("logged_cost_usd")),
        "production_latency_p95_ms": [q[0] for q in g.quantiles(g.floats("logged_latency_ms"), (0.95,))],
        "accuracy": g.rates(correct, confidence) if correct is not None else [wilson(0, 0, confidence)] * g.k,
        "mean_confidence": g.means(g.floats("confidence")),
    }
    shares = {c: g.shares(c) for c in wanted}
    periods = build_periods(columns, shares, labels, begins, cost_source, latency_source)
    routers = frame["router"].dropna().unique() if "router" in frame.columns else []
    return Timeline(
        period=period,
        router=str(routers[0]) if len(routers) == 1 else None,
        n=int(dated.sum()),
        n_undated=int((~dated).sum()),
        components=wanted,
        confidence=confidence,
        periods=periods,
    )


def build_periods(
    columns: dict[str, list[Any]],
    shares: dict[str, list[dict[str, float]]],
    labels: pd.Series,
    begins: pd.Series,
    cost_source: Source | None,
    latency_source: Source | None,
) -> list[Period]:
    """One `Period` per position of the per-period `columns` (``latency`` holds (p50, p95) pairs; the other
    keys are `Period` fields), with its route `shares` per component, label and start."""
    periods = []
    for i in range(len(labels)):
        row = {name: values[i] for name, values in columns.items()}
        (p50, p95), money = row.pop("latency"), row["cost_per_request"]
        periods.append(
            Period(
                label=str(labels.iloc[i]),
                start=begins.iloc[i].to_pydatetime(),
                route_shares={c: share[i] for c, share in shares.items()},
                cost_source=cost_source if money is not None else None,
                cost_per_1k_usd=None if money is None else 1000 * money,
                latency_p50_ms=p50,
                latency_p95_ms=p95,
                latency_source=latency_source if p95 is not None else None,
                labelled=row["accuracy"].n,
                **row,
            )
        )
    return periods
