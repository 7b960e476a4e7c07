"""The operations frame: logged calls with the derived columns every `ops` section reads.

Input: one row per logged outcome (`OPS_COLUMNS`), joined with its request's fields; a `prompt_group`
column, or a `prompt` column the groups are computed from (`ops_fields.prompt_template`). `prepare` checks
the columns and returns a new frame (the input is never changed) with, besides the inputs:
``provider``, ``error_class``, ``is_error`` (the primary call logged an error), ``is_timeout``,
``is_fallback`` (a fallback model answered), ``failed`` (an error no fallback answered), ``hit`` (a cache
hit; unknown counts as no hit, ``cache_known`` says where the flag was logged), ``tokens`` (input + output,
missing counts 0), ``week`` (ISO week) and ``day``.

**Week over week** (`week_comparison`), like for like: the latest ISO week of the window is compared with
the week before on the same weekdays: when the latest timestamp falls on day d of its week (Monday = 1),
the first d days of both weeks. No comparison when the week before starts before the window does (`since`,
else the first timestamp's day), since a partial base would show growth that is not there. A relative
change (last − previous) / previous is None when the previous value is 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from routelab.evaluators.accuracy_types import MISSING
from routelab.evaluators.arguments import scipy_special
from routelab.evaluators.estimates import Estimate
from routelab.evaluators.frames import FrameError, iso_week, require_columns, slice_key
from routelab.evaluators.ops_fields import NO_PROMPT, error_class, prompt_template, provider_of
from routelab.evaluators.ops_types import WeekComparison

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped,unused-ignore]  # no pandas-stubs in the dev lock yet

OPS_COLUMNS = (
    "request_id",
    "ts",
    "workflow",
    "team",
    "model",
    "cost_usd",
    "latency_ms",
    "input_tokens",
    "output_tokens",
    "error",
    "fallback_model",
    "cache_hit",
)
#: Columns `prepare` derives; a slice may name them too (`provider`, `error_class`).
DERIVED = ("provider", "error_class", "week", "day", "prompt_group")


def _mapped(values: pd.Series, function: Any) -> pd.Series:
    """`function` over a column, called once per distinct value (logs repeat few models and errors)."""
    uniques = values.dropna().unique()
    table = {v: function(v) for v in uniques}
    return values.map(table).astype(object)


def prepare(frame: pd.DataFrame) -> pd.DataFrame:
    """The operations frame (see the module docstring).

    Raises:
        FrameError: a required column is missing, or `request_id`/`model` has a missing value.
    """
    import pandas as pd

    require_columns(frame, OPS_COLUMNS, "logged outcomes")
    for key in ("request_id", "model"):
        if frame[key].isna().any():
            raise FrameError(f"logged outcomes: {key} has missing values; every logged call needs one")
    out = frame.copy()
    out["ts"] = pd.to_datetime(out["ts"])
    if "prompt_group" not in out:
        prompts = out["prompt"] if "prompt" in out else pd.Series(None, index=out.index, dtype=object)
        out["prompt_group"] = _mapped(prompts, prompt_template)
    out["prompt_group"] = out["prompt_group"].astype(object).where(out["prompt_group"].notna(), NO_PROMPT)
    for key in ("workflow", "team", "model"):
        out[key] = out[key].astype(object).where(out[key].notna(), MISSING).astype(str)
    out["cost_usd"] = pd.to_numeric(out["cost_usd"], errors="coerce").astype("float64")
    out["latency_ms"] = pd.to_numeric(out["latency_ms"], errors="coerce").astype("float64")
    for key in ("input_tokens", "output_tokens"):
        out[key] = pd.to_numeric(out[key], errors="coerce").fillna(0).astype("int64")
    out["tokens"] = out["input_tokens"] + out["output_tokens"]
    out["provider"] = _mapped(out["model"], provider_of)
    out["error"] = out["error"].astype(object).where(out["error"].notna(), None)
    out["error_class"] = _mapped(out["error"], error_class)
    out["is_error"] = out["error"].notna()
    out["is_timeout"] = out["error_class"].eq("timeout")
    out["is_fallback"] = out["fallback_model"].notna()
    out["failed"] = out["is_error"] & ~out["is_fallback"]
    cache = out["cache_hit"].astype("boolean")
    out["cache_known"] = cache.notna().to_numpy(dtype=bool)
    out["hit"] = cache.fillna(False).to_numpy(dtype=bool)
    out["week"] = iso_week(out["ts"])
    out["day"] = out["ts"].dt.date.astype(object).where(out["ts"].notna(), None)
    return out


def keys(frame: pd.DataFrame, field: str) -> pd.Series:
    """The slice value of every row (`a*b` crosses two fields, a missing value reads `(missing)`)."""
    return slice_key(frame, field)


def check_fields(frame: pd.DataFrame, fields: Sequence[str]) -> None:
    """Fail early on a slice field the frame lacks (after `prepare`).

    Raises:
        FrameError: naming the field and the fields that can be sliced by.
    """
    for field in fields:
        missing = [p for p in field.split("*") if p not in frame.columns]
        if missing:
            known = [c for c in frame.columns if c not in ("ts", "day", "cost_usd", "latency_ms")]
            raise FrameError(
                f"slice {field!r}: no field {', '.join(missing)}; known: {', '.join(map(str, known))}"
            )


def week_comparison(frame: pd.DataFrame, since: date | None) -> WeekComparison | None:
    """The weeks compared week over week (see the module docstring); None without a full base week."""
    dated = frame["ts"].dropna()
    if dated.empty:
        return None
    last_day = dated.max().date()
    last_start = last_day - timedelta(days=last_day.weekday())
    previous_start = last_start - timedelta(days=7)
    window_start = since or dated.min().date()
    if previous_start < window_start:
        return None
    year, number, _ = last_start.isocalendar()
    p_year, p_number, _ = previous_start.isocalendar()
    return WeekComparison(
        last_week=f"{year}-W{number:02d}",
        previous_week=f"{p_year}-W{p_number:02d}",
        days=last_day.weekday() + 1,
        last_start=last_start,
        previous_start=previous_start,
    )


def compared(frame: pd.DataFrame, comparison: WeekComparison | None) -> tuple[pd.Series, pd.Series]:
    """Masks of the rows in the last and the previous compared windows (all False without a comparison)."""
    import pandas as pd

    if comparison is None:
        none = pd.Series(False, index=frame.index)
        return none, none
    day = pd.to_datetime(frame["ts"]).dt.normalize()

    def inside(start: date) -> pd.Series:
        lo = pd.Timestamp(start)
        return (day >= lo) & (day < lo + pd.Timedelta(days=comparison.days))

    return inside(comparison.last_start), inside(comparison.previous_start)


def change(last: float, previous: float) -> float | None:
    """Relative change (last − previous) / previous; None when previous is 0."""
    return None if previous == 0 else float((last - previous) / previous)


def examples(
    frame: pd.DataFrame, key: pd.Series, order: Sequence[str], ascending: Sequence[bool], n: int
) -> Any:
    """Per key, the request ids of the first `n` rows sorted by `order` (then request id)."""
    ranked = frame.assign(_key=key.to_numpy()).sort_values(
        [*order, "request_id"], ascending=[*ascending, True], kind="stable"
    )
    return ranked.groupby("_key", sort=False)["request_id"].apply(lambda s: [str(x) for x in s.head(n)])


def counts(values: pd.Series) -> dict[str, int]:
    """Value → count, most frequent first (ties by value)."""
    vc = values.dropna().astype(str).value_counts()
    return {str(k): int(v) for k, v in sorted(vc.items(), key=lambda kv: (-kv[1], kv[0]))}


def mode(values: pd.Series) -> str:
    """The most frequent value (ties: the smallest)."""
    found = counts(values)
    return next(iter(found)) if found else MISSING


def wilson_rates(k: Sequence[int], n: Sequence[int], confidence: float) -> list[Estimate]:
    """`intervals.wilson` for many counts at once (tables have hundreds of rows; scipy's one-at-a-time
    `binomtest` also computes a p-value nobody reads). The same formula as scipy's `proportion_ci`
    (Newcombe 1998, no continuity correction; 0 below at k = 0, 1 above at k = n); n = 0 gives value None
    and the interval (0, 1), as `wilson` does."""
    import numpy as np

    ks, ns = np.asarray(k, dtype=np.float64), np.asarray(n, dtype=np.float64)
    z = float(scipy_special().ndtri(0.5 + 0.5 * confidence))
    with np.errstate(divide="ignore", invalid="ignore"):
        p = ks / ns
        denom = 2 * (ns + z**2)
        center = (2 * ns * p + z**2) / denom
        delta = z / denom * np.sqrt(4 * ns * p * (1 - p) + z**2)
    low = np.where(ks == 0, 0.0, center - delta)
    high = np.where(ks == ns, 1.0, center + delta)
    return [
        Estimate(value=None, ci_low=0.0, ci_high=1.0, n=0, method="wilson", confidence=confidence)
        if ni == 0
        else Estimate(
            value=float(pi),
            ci_low=float(lo),
            ci_high=float(hi),
            n=int(ni),
            method="wilson",
            confidence=confidence,
        )
        for pi, lo, hi, ni in zip(p, low, high, ns, strict=True)
    ]
