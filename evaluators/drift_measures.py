"""The measures drift takes of one current window against its reference (definitions in `drift`).

Each function takes the two windows' rows of the drift frame (`drift_frame`) and returns result models;
none of them adjusts for multiple tests across windows, `drift` does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, cast

from routelab.evaluators.drift_stats import (
    DriftThresholds,
    chi_square,
    column_drift,
    expected_calibration_error,
    js_distance,
    ks,
    psi,
    two_proportion_z,
    welch,
)
from routelab.evaluators.drift_types import (
    AccuracyDrift,
    ConfidenceDrift,
    InputDrift,
    OutcomeDrift,
    OutcomeSource,
    RouteMixDrift,
    ShareMove,
)
from routelab.evaluators.frames import slice_key
from routelab.evaluators.intervals import wilson
from routelab.evaluators.quantiles import quantile
from routelab.evaluators.rank_tests import benjamini_hochberg

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd  # type: ignore[import-untyped,unused-ignore]  # no pandas-stubs in the dev lock yet
    from numpy.typing import NDArray

#: Outcome metrics: (name, source, column, statistic). `mean` → Welch, `rate` → z-test, `p95` → KS.
OUTCOME_METRICS: tuple[tuple[str, OutcomeSource, str, str], ...] = (
    ("cost_per_request", "version", "cost_usd", "mean"),
    ("unit_cost_per_1k_tokens", "version", "unit_cost", "mean"),
    ("latency_p95_ms", "version", "latency_ms", "p95"),
    ("quality", "version", "quality", "mean"),
    ("error_rate", "version", "error", "rate"),
    ("cost_per_request", "production", "logged_cost_usd", "mean"),
    ("latency_p95_ms", "production", "logged_latency_ms", "p95"),
    ("quality", "production", "logged_quality", "mean"),
    ("error_rate", "production", "logged_error", "rate"),
    ("fallback_rate", "production", "logged_fallback", "rate"),
    ("cache_hit_rate", "production", "logged_cache_hit", "rate"),
)
#: Slice field of each source's outcome metrics besides all traffic: the model the version chose (a price
#: change shows there), and the workflow for production.
OUTCOME_SLICES: dict[OutcomeSource, str] = {"version": "model", "production": "workflow"}
#: A categorical feature with more distinct values than this (and than 20 % of its rows) is not tested.
MAX_CATEGORIES = 50
#: Least values per side for a p95 comparison.
MIN_QUANTILE_VALUES = 20


def _moves(ref: NDArray[np.float64], cur: NDArray[np.float64], values: Sequence[str]) -> list[ShareMove]:
    import numpy as np

    rs, cs = ref / max(ref.sum(), 1), cur / max(cur.sum(), 1)
    order = np.argsort(-np.abs(cs - rs), kind="stable")[:5]
    return [ShareMove(value=str(values[i]), reference=float(rs[i]), current=float(cs[i])) for i in order]


def _counts(frame: pd.DataFrame, key: pd.Series, component: str) -> pd.DataFrame:
    """Requests per (key, component value), keys as rows: `groupby([key, component]).size().unstack()`.

    Counted on factorised codes (a groupby over text columns was the drift run's hot spot). As the groupby,
    missing keys or values are left out and only observed keys and values appear, both sorted.
    """
    import numpy as np
    import pandas as pd

    k_codes, k_values = pd.factorize(key, sort=True, use_na_sentinel=True)
    c_codes, c_values = pd.factorize(frame[component], sort=True, use_na_sentinel=True)
    seen = (k_codes >= 0) & (c_codes >= 0)
    table = np.zeros((len(k_values), len(c_values)), dtype=np.int64)
    np.add.at(table, (k_codes[seen], c_codes[seen]), 1)
    rows, cols = table.sum(axis=1) > 0, table.sum(axis=0) > 0
    out = pd.DataFrame(
        table[np.ix_(rows, cols)],
        index=pd.Index(np.asarray(k_values)[rows], name=key.name),
        columns=pd.Index(np.asarray(c_values)[cols], name=component),
    )
    return out


def route_mix(
    ref: pd.DataFrame,
    cur: pd.DataFrame,
    components: Sequence[str],
    slices: Sequence[str],
    thresholds: DriftThresholds,
    min_requests: int,
) -> list[RouteMixDrift]:
    """Per component (and the whole `path`) and slice: PSI, JS distance and chi-square of the route shares.

    Slices with fewer than `min_requests` requests on either side are left out. p-values are adjusted by
    Benjamini–Hochberg over every row returned.
    """
    import pandas as pd

    rows: list[dict[str, object]] = []
    for field in ("all", *slices):
        rkey = pd.Series("all", index=ref.index) if field == "all" else slice_key(ref, field)
        ckey = pd.Series("all", index=cur.index) if field == "all" else slice_key(cur, field)
        rn, cn = rkey.value_counts(), ckey.value_counts()
        keep = sorted(
            v for v in set(rn.index) & set(cn.index) if rn[v] >= min_requests and cn[v] >= min_requests
        )
        for component in (*components, "path"):
            rt, ct = _counts(ref, rkey, component), _counts(cur, ckey, component)
            values = sorted(set(rt.columns) | set(ct.columns))
            rt = rt.reindex(index=keep, columns=values, fill_value=0)
            ct = ct.reindex(index=keep, columns=values, fill_value=0)
            for v in keep:
                r, c = rt.loc[v].to_numpy(dtype=float), ct.loc[v].to_numpy(dtype=float)
                rows.append(mix_row(field, str(v), component, r, c, values))
    return mix_results(rows, thresholds)


def mix_row(
    field: str,
    value: str,
    component: str,
    ref: NDArray[np.float64],
    cur: NDArray[np.float64],
    values: Sequence[str],
) -> dict[str, object]:
    """One slice's route-mix comparison for `component`: counts per component value in the reference and
    the current window (`values` name the positions), before the Benjamini–Hochberg step (`mix_results`)."""
    test = chi_square(ref, cur)
    return {
        "slice_field": field,
        "slice_value": value,
        "component": component,
        "n_reference": int(ref.sum()),
        "n_current": int(cur.sum()),
        "psi": psi(ref, cur),
        "js_distance": js_distance(ref, cur),
        "chi_square": test.statistic,
        "p_value": test.p_value,
        "moves": _moves(ref, cur, values),
    }


def mix_results(rows: Sequence[dict[str, object]], thresholds: DriftThresholds) -> list[RouteMixDrift]:
    """The window's `mix_row`s with p-values adjusted across them (Benjamini–Hochberg) and the drift flag."""
    adjusted = benjamini_hochberg([cast(float, r["p_value"]) for r in rows]) if rows else []
    out = []
    for row, p_adj in zip(rows, adjusted, strict=True):
        drifted = p_adj < thresholds.p_value and float(row["psi"]) >= thresholds.psi_moderate  # type: ignore[arg-type]
        out.append(RouteMixDrift.model_validate({**row, "p_adjusted": p_adj, "drifted": drifted}))
    return out


def input_drift(
    ref: pd.DataFrame,
    cur: pd.DataFrame,
    features: Sequence[str],
    thresholds: DriftThresholds,
    warnings: list[str],
) -> list[InputDrift]:
    """Per request feature, `drift_stats.column_drift` (test chosen by type and reference size)."""
    out = []
    for feature in features:
        r, c = ref[feature], cur[feature]
        numeric = is_numeric(r)
        if testable(feature, numeric, int(r.notna().sum()), int(c.notna().sum()), r.nunique(), warnings):
            out.append(InputDrift(feature=feature, drift=column_drift(r, c, thresholds=thresholds)))
    return out


def is_numeric(values: pd.Series) -> bool:
    """Whether input drift treats a feature column as numeric (else categorical)."""
    return values.dtype.kind in "iuf" or str(values.dtype) in ("Int64", "Float64")


def testable(
    feature: str, numeric: bool, known_ref: int, known_cur: int, distinct: int, warnings: list[str]
) -> bool:
    """Whether input drift tests `feature`, given its requests with a value in each window and its distinct
    reference values; when not, the reason is appended to `warnings`."""
    if numeric and (known_ref == 0 or known_cur == 0):
        warnings.append(f"input drift: {feature} has no value in one window; not tested")
        return False
    if not numeric and distinct > MAX_CATEGORIES and distinct > 0.2 * known_ref:
        warnings.append(
            f"input drift: {feature} looks like an identifier or free text ({distinct:,} distinct "
            "values); not tested (pass --feature to choose the features)"
        )
        return False
    return True


def confidence_drift(
    ref: pd.DataFrame, cur: pd.DataFrame, thresholds: DriftThresholds
) -> ConfidenceDrift | None:
    """KS on decision confidence, and the ECE of confidence against annotated correctness per window."""
    rc, cc = ref["confidence"].dropna(), cur["confidence"].dropna()
    if rc.empty and cc.empty:
        return None
    test = ks(rc, cc) if len(rc) and len(cc) else None
    cal_r = expected_calibration_error(ref["confidence"], ref["correct"])
    cal_c = expected_calibration_error(cur["confidence"], cur["correct"])
    change = cal_c.ece - cal_r.ece if cal_c.ece is not None and cal_r.ece is not None else None
    return ConfidenceDrift(
        reference_mean=float(rc.mean()) if len(rc) else None,
        current_mean=float(cc.mean()) if len(cc) else None,
        ks_statistic=test.statistic if test else None,
        p_value=test.p_value if test else None,
        drifted=test is not None and test.p_value <= thresholds.p_value,
        calibration_reference=cal_r,
        calibration_current=cal_c,
        ece_change=change,
    )


def accuracy_drift(ref: pd.DataFrame, cur: pd.DataFrame, thresholds: DriftThresholds) -> AccuracyDrift:
    """Annotated accuracy per window (Wilson) and the two-sided two-proportion z-test of the change."""
    r, c = ref["correct"].dropna(), cur["correct"].dropna()
    er, ec = wilson(int(r.sum()), len(r)), wilson(int(c.sum()), len(c))
    if not len(r) or not len(c):
        return AccuracyDrift(reference=er, current=ec, change=None, p_value=None, drifted=False)
    test = two_proportion_z(int(r.sum()), len(r), int(c.sum()), len(c))
    change = float(ec.value) - float(er.value)  # type: ignore[arg-type]  # both defined: n > 0
    return AccuracyDrift(
        reference=er,
        current=ec,
        change=change,
        p_value=test.p_value,
        drifted=test.p_value < thresholds.p_value,
    )


def _outcome_test(r: pd.Series, c: pd.Series, statistic: str) -> tuple[float, float, str, float] | None:
    """(reference value, current value, test, p) of one metric, or None when a side has too few values."""
    if statistic == "mean":
        if len(r) < 2 or len(c) < 2:
            return None
        shift = welch(r.to_numpy(dtype=float), c.to_numpy(dtype=float))
        return shift.reference_mean, shift.current_mean, "welch-t", shift.p_value
    if statistic == "rate":
        if not len(r) or not len(c):
            return None
        k_r, k_c = int(r.astype(bool).sum()), int(c.astype(bool).sum())
        z = two_proportion_z(k_r, len(r), k_c, len(c))
        return k_r / len(r), k_c / len(c), "z-test", z.p_value
    if len(r) < MIN_QUANTILE_VALUES or len(c) < MIN_QUANTILE_VALUES:
        return None
    return quantile(r, 0.95), quantile(c, 0.95), "ks", ks(r, c).p_value


def _with_unit_cost(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(unit_cost=1000 * frame["cost_usd"] / frame["tokens"])


def outcome_drift(
    ref: pd.DataFrame, cur: pd.DataFrame, thresholds: DriftThresholds, min_change: float, min_requests: int
) -> list[OutcomeDrift]:
    """Every outcome metric with values on both sides, overall and per `OUTCOME_SLICES` value.

    Drifted: Benjamini–Hochberg-adjusted p (over this window's outcome tests) below the threshold and
    |relative change| at least `min_change`. The unit cost is computed per model only. A slice (not all
    traffic) needs `min_requests` values on each side.
    """
    ref, cur = _with_unit_cost(ref), _with_unit_cost(cur)
    rows: list[dict[str, object]] = []
    for metric, source, column, statistic in OUTCOME_METRICS:
        if ref[column].notna().sum() == 0 or cur[column].notna().sum() == 0:
            continue
        field = OUTCOME_SLICES[source]
        groups: list[tuple[str, str, pd.Series, pd.Series]] = []
        if metric != "unit_cost_per_1k_tokens":
            groups.append(("all", "all", ref[column].dropna(), cur[column].dropna()))
        if field in ref.columns:
            rg, cg = ref.groupby(field)[column], cur.groupby(field)[column]
            for value in sorted(set(rg.groups) & set(cg.groups), key=str):
                r, c = rg.get_group(value).dropna(), cg.get_group(value).dropna()
                if len(r) >= min_requests and len(c) >= min_requests:
                    groups.append((field, str(value), r, c))
        for slice_field, slice_value, r, c in groups:
            measured = _outcome_test(r, c, statistic)
            if measured is None:
                continue
            before, after, test, p = measured
            rows.append(
                outcome_row(metric, source, slice_field, slice_value, before, after, test, p, len(r), len(c))
            )
    return outcome_results(rows, thresholds, min_change)


def outcome_row(
    metric: str,
    source: str,
    slice_field: str,
    slice_value: str,
    before: float,
    after: float,
    test: str,
    p_value: float,
    n_reference: int,
    n_current: int,
) -> dict[str, object]:
    """One slice's outcome comparison (reference and current value, change, relative change, test), before
    the Benjamini–Hochberg step (`outcome_results`)."""
    change = after - before
    return {
        "metric": metric,
        "source": source,
        "slice_field": slice_field,
        "slice_value": slice_value,
        "reference": before,
        "current": after,
        "change": change,
        "relative_change": change / before if before else None,
        "test": test,
        "p_value": p_value,
        "n_reference": n_reference,
        "n_current": n_current,
    }


def outcome_results(
    rows: Sequence[dict[str, object]], thresholds: DriftThresholds, min_change: float
) -> list[OutcomeDrift]:
    """The window's `outcome_row`s with p-values adjusted across them (Benjamini–Hochberg); a row drifts
    when its adjusted p-value is below the threshold and it changed by at least `min_change` (relative;
    any change from a zero reference)."""
    adjusted = benjamini_hochberg([cast(float, r["p_value"]) for r in rows]) if rows else []
    out = []
    for row, p_adj in zip(rows, adjusted, strict=True):
        rel = row["relative_change"]
        big = (rel is None and row["change"] != 0) or (rel is not None and abs(float(rel)) >= min_change)  # type: ignore[arg-type]
        out.append(
            OutcomeDrift.model_validate(
                {**row, "p_adjusted": p_adj, "drifted": big and p_adj < thresholds.p_value}
            )
        )
    return out
