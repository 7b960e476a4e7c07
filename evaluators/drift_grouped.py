"""The measures of `drift_measures` over a *grouped* drift frame: distinct rows with their counts ``n``.

A grouped drift frame has the drift frame's columns (`drift_frame`), ``day`` (the day of ``ts``) instead of
``ts``, ``correct`` and the flags as floats (NaN missing, 0, 1), and ``n``, the requests sharing the row
(`datasets.drift_sql.grouped_rows` builds it in DuckDB). Every function here returns what its namesake in
`drift_measures` returns on the expanded frame (counts and tests exactly; means up to rounding), so drift
over millions of requests costs the distinct rows, not the requests.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from routelab.evaluators import weighted
from routelab.evaluators.drift_codes import FrameCodes
from routelab.evaluators.drift_measures import (
    MIN_QUANTILE_VALUES,
    OUTCOME_METRICS,
    OUTCOME_SLICES,
    is_numeric,
    mix_results,
    mix_row,
    outcome_results,
    outcome_row,
    testable,
)
from routelab.evaluators.drift_stats import (
    MISSING,
    NUMERIC_BINS,
    Calibration,
    CalibrationBin,
    ColumnDrift,
    ColumnKind,
    DriftThresholds,
    _labels,
    _select_test,
    _text,
    chi_square,
    column_result,
    js_distance,
    psi,
    two_proportion_z,
)
from routelab.evaluators.drift_types import (
    AccuracyDrift,
    ConfidenceDrift,
    InputDrift,
    OutcomeDrift,
    RouteMixDrift,
)
from routelab.evaluators.frames import is_missing
from routelab.evaluators.intervals import wilson

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd  # type: ignore[import-untyped,unused-ignore]  # no pandas-stubs in the dev lock yet
    from numpy.typing import NDArray


def values_of(frame: pd.DataFrame, column: str) -> weighted.Sample:
    """The column's known values in `frame`, each counted ``n`` times."""
    return weighted.sample(frame[column].to_numpy(dtype=float, na_value=float("nan")), frame["n"].to_numpy())


# `known` and `hits` run thousands of times per drift run: numpy arrays, not pandas boolean indexing.
def known(frame: pd.DataFrame, column: str) -> int:
    """Requests of `frame` whose `column` is known."""
    import pandas as pd

    return int(frame["n"].to_numpy()[~pd.isna(frame[column].to_numpy())].sum())


def hits(frame: pd.DataFrame, column: str) -> int:
    """Requests of `frame` whose flag `column` is true (1)."""
    return int(frame["n"].to_numpy()[frame[column].to_numpy() == 1].sum())


def route_mix(
    codes: FrameCodes,
    ref: NDArray[np.bool_],
    cur: NDArray[np.bool_],
    components: Sequence[str],
    slices: Sequence[str],
    thresholds: DriftThresholds,
    min_requests: int,
) -> list[RouteMixDrift]:
    """`drift_measures.route_mix` of the grouped windows (`ref`, `cur`: their rows of the coded frame)."""
    import numpy as np

    rows: list[dict[str, object]] = []
    for field in ("all", *slices):
        rn, cn = codes.counts(ref, field), codes.counts(cur, field)
        keep = np.flatnonzero((rn > 0) & (cn > 0) & (rn >= min_requests) & (cn >= min_requests))
        labels = codes.keys[field].labels
        for component in (*components, "path"):
            present = np.union1d(codes.present(ref, component), codes.present(cur, component))
            values = [codes.columns[component].labels[j] for j in present]
            rt = codes.counts(ref, field, component)[:, present]
            ct = codes.counts(cur, field, component)[:, present]
            for i in keep:
                r, c = rt[i].astype(float), ct[i].astype(float)
                rows.append(mix_row(field, labels[i], component, r, c, values))
    return mix_results(rows, thresholds)


def _label_counts(frame: pd.DataFrame, column: str) -> pd.Series:
    """Requests per category text (`drift_stats._labels`: missing ones read `MISSING`), by text."""
    import pandas as pd

    raw = frame["n"].groupby(frame[column], dropna=False).sum()
    texts = _labels(pd.Series(raw.index, dtype=object), column)
    index = pd.Index(texts.to_numpy(), dtype=object)  # object text: Arrow strings index slowly
    return pd.Series(raw.to_numpy(), index=index).groupby(level=0).sum()


def _text_counts(s: weighted.Sample) -> pd.Series:
    """Requests per value text (`drift_stats._text`: whole floats read as ints) of a numeric sample."""
    import pandas as pd

    index = pd.Index([_text(v) for v in s.values.tolist()], dtype=object)
    return pd.Series(s.counts, index=index).groupby(level=0).sum()


def column_drift(
    ref: pd.DataFrame, cur: pd.DataFrame, column: str, numeric: bool, thresholds: DriftThresholds
) -> ColumnDrift:
    """`drift_stats.column_drift` of one column of the grouped windows (`numeric`: the kind)."""
    if numeric:
        rs, cs = values_of(ref, column), values_of(cur, column)
        values = [_text(v) for v in rs.values.tolist()]
        n_ref, n_cur = rs.n, cs.n
    else:
        rl, cl = _label_counts(ref, column), _label_counts(cur, column)
        values = sorted(set(rl.index) - {MISSING}) or [MISSING]
        n_ref, n_cur = int(rl.sum()), int(cl.sum())
    test = _select_test(
        "numeric" if numeric else "categorical", len(values), n_ref <= thresholds.small_sample
    )
    if test in ("ks", "wasserstein"):
        ref_b, cur_b = weighted.binned(rs, cs, NUMERIC_BINS)
    else:
        if numeric:  # few values: counted as their texts, as the frame path does
            rl, cl = _text_counts(rs), _text_counts(cs)
        categories = sorted(set(rl.index) | set(cl.index))
        ref_b = [int(rl.get(c, 0)) for c in categories]
        cur_b = [int(cl.get(c, 0)) for c in categories]
    js = js_distance(ref_b, cur_b)
    p_value: float | None = None
    if test == "jensen-shannon":
        statistic = js
    elif test == "wasserstein":
        statistic = weighted.wasserstein_normalised(rs, cs)
    else:
        first = values[0]
        res = (
            weighted.ks_test(rs, cs)
            if test == "ks"
            else chi_square(ref_b, cur_b)
            if test == "chi-square"
            else two_proportion_z(int(rl.get(first, 0)), n_ref, int(cl.get(first, 0)), n_cur)
        )
        statistic, p_value = res.statistic, res.p_value
    kind: ColumnKind = "numeric" if numeric else "categorical"
    return column_result(kind, test, statistic, p_value, thresholds, n_ref, n_cur, psi(ref_b, cur_b), js)


def input_drift(
    ref: pd.DataFrame,
    cur: pd.DataFrame,
    features: Sequence[str],
    thresholds: DriftThresholds,
    warnings: list[str],
) -> list[InputDrift]:
    """`drift_measures.input_drift` of the grouped windows."""
    out = []
    for feature in features:
        numeric = is_numeric(ref[feature])
        distinct = ref[feature].nunique()
        if testable(feature, numeric, known(ref, feature), known(cur, feature), distinct, warnings):
            drift = column_drift(ref, cur, feature, numeric, thresholds)
            out.append(InputDrift(feature=feature, drift=drift))
    return out


def calibration(frame: pd.DataFrame, bins: int = 10) -> Calibration:
    """`drift_stats.expected_calibration_error` of the rows with a confidence and a verdict."""
    import numpy as np

    both = frame[frame["confidence"].notna() & frame["correct"].notna()]
    conf = both["confidence"].to_numpy(dtype=float)
    corr, n = both["correct"].to_numpy(dtype=float), both["n"].to_numpy(dtype=np.int64)
    edges = np.arange(bins + 1) / bins
    index = np.clip(np.searchsorted(edges, conf, side="right") - 1, 0, bins - 1)
    total, out, ece = int(n.sum()), [], 0.0
    for b in range(bins):
        members = index == b
        n_b = int(n[members].sum())
        acc = float(np.dot(corr[members], n[members]) / n_b) if n_b else None
        mean_conf = float(np.dot(conf[members], n[members]) / n_b) if n_b else None
        if acc is not None and mean_conf is not None:
            ece += n_b / total * abs(acc - mean_conf)
        out.append(CalibrationBin(low=edges[b], high=edges[b + 1], n=n_b, accuracy=acc, confidence=mean_conf))
    return Calibration(ece=ece if total else None, n=total, bins=out)


def confidence_drift(
    ref: pd.DataFrame, cur: pd.DataFrame, thresholds: DriftThresholds
) -> ConfidenceDrift | None:
    """`drift_measures.confidence_drift` of the grouped windows."""
    rc, cc = values_of(ref, "confidence"), values_of(cur, "confidence")
    if rc.n == 0 and cc.n == 0:
        return None
    test = weighted.ks_test(rc, cc) if rc.n and cc.n else None
    cal_r, cal_c = calibration(ref), calibration(cur)
    change = cal_c.ece - cal_r.ece if cal_c.ece is not None and cal_r.ece is not None else None
    return ConfidenceDrift(
        reference_mean=weighted.mean(rc) if rc.n else None,
        current_mean=weighted.mean(cc) if cc.n else None,
        ks_statistic=test.statistic if test else None,
        p_value=test.p_value if test else None,
        drifted=test is not None and test.p_value <= thresholds.p_value,
        calibration_reference=cal_r,
        calibration_current=cal_c,
        ece_change=change,
    )


def accuracy_drift(ref: pd.DataFrame, cur: pd.DataFrame, thresholds: DriftThresholds) -> AccuracyDrift:
    """`drift_measures.accuracy_drift` of the grouped windows."""
    (k_r, n_r), (k_c, n_c) = ((hits(f, "correct"), known(f, "correct")) for f in (ref, cur))
    er, ec = wilson(k_r, n_r), wilson(k_c, n_c)
    if not n_r or not n_c:
        return AccuracyDrift(reference=er, current=ec, change=None, p_value=None, drifted=False)
    test = two_proportion_z(k_r, n_r, k_c, n_c)
    change = float(ec.value) - float(er.value)  # type: ignore[arg-type]  # both defined: n > 0
    return AccuracyDrift(
        reference=er,
        current=ec,
        change=change,
        p_value=test.p_value,
        drifted=test.p_value < thresholds.p_value,
    )


@dataclass(frozen=True)
class _Column:
    """One window's values of an outcome column and the counts of its rows, as numpy arrays."""

    values: NDArray[np.float64]
    n: NDArray[np.int64]

    @classmethod
    def of(cls, frame: pd.DataFrame, column: str) -> _Column:
        """The column of a grouped window (outcome tests run per slice: no pandas indexing per slice)."""
        import numpy as np

        values: NDArray[np.float64] = frame[column].to_numpy(dtype=float, na_value=np.nan)
        return cls(values, frame["n"].to_numpy(dtype=np.int64))

    def known(self, rows: NDArray[np.bool_]) -> int:
        """Requests of `rows` with a value."""
        import numpy as np

        return int(self.n[rows][~np.isnan(self.values[rows])].sum())

    def hits(self, rows: NDArray[np.bool_]) -> int:
        """Requests of `rows` whose flag is 1."""
        return int(self.n[rows][self.values[rows] == 1].sum())

    def sample(self, rows: NDArray[np.bool_]) -> weighted.Sample:
        """The known values of `rows`, each counted ``n`` times."""
        return weighted.sample(self.values[rows], self.n[rows])


def _outcome_test(
    r: _Column, c: _Column, rows: tuple[NDArray[np.bool_], NDArray[np.bool_]], statistic: str
) -> tuple[float, float, str, float, int, int] | None:
    """(reference, current, test, p, n_reference, n_current) of one metric over the `rows` of each side;
    None with too few values."""
    if statistic == "rate":
        n_r, n_c = r.known(rows[0]), c.known(rows[1])
        if not n_r or not n_c:
            return None
        k_r, k_c = r.hits(rows[0]), c.hits(rows[1])
        return k_r / n_r, k_c / n_c, "z-test", two_proportion_z(k_r, n_r, k_c, n_c).p_value, n_r, n_c
    rs, cs = r.sample(rows[0]), c.sample(rows[1])
    if statistic == "mean":
        if rs.n < 2 or cs.n < 2:
            return None
        shift = weighted.welch(rs, cs)
        return shift.reference_mean, shift.current_mean, "welch-t", shift.p_value, rs.n, cs.n
    if rs.n < MIN_QUANTILE_VALUES or cs.n < MIN_QUANTILE_VALUES:
        return None
    before, after = weighted.quantiles(rs, (0.95,))[0], weighted.quantiles(cs, (0.95,))[0]
    return before, after, "ks", weighted.ks_test(rs, cs).p_value, rs.n, cs.n


def _slices(
    ref: pd.DataFrame, cur: pd.DataFrame, field: str
) -> list[tuple[str, NDArray[np.bool_], NDArray[np.bool_]]]:
    """Each value of `field` both windows hold (missing ones left out, as by a groupby), sorted as text,
    with its rows on each side."""
    import pandas as pd

    if field not in ref.columns:
        return []
    rk, ck = ref[field].to_numpy(dtype=object), cur[field].to_numpy(dtype=object)
    seen = [{v for v in pd.unique(k) if not is_missing(v)} for k in (rk, ck)]
    return [(str(v), rk == v, ck == v) for v in sorted(seen[0] & seen[1], key=str)]


def outcome_drift(
    ref: pd.DataFrame, cur: pd.DataFrame, thresholds: DriftThresholds, min_change: float, min_requests: int
) -> list[OutcomeDrift]:
    """`drift_measures.outcome_drift` of the grouped windows."""
    import numpy as np

    ref, cur = (f.assign(unit_cost=1000 * f["cost_usd"] / f["tokens"]) for f in (ref, cur))
    every = (np.ones(len(ref), dtype=bool), np.ones(len(cur), dtype=bool))
    sliced = {f: _slices(ref, cur, f) for f in set(OUTCOME_SLICES.values())}
    rows: list[dict[str, object]] = []
    for metric, source, column, statistic in OUTCOME_METRICS:
        r, c = _Column.of(ref, column), _Column.of(cur, column)
        if r.known(every[0]) == 0 or c.known(every[1]) == 0:
            continue
        field = OUTCOME_SLICES[source]
        groups = [("all", "all", every)] if metric != "unit_cost_per_1k_tokens" else []
        groups += [
            (field, value, (rr, cr))
            for value, rr, cr in sliced[field]
            if r.known(rr) >= min_requests and c.known(cr) >= min_requests
        ]
        for slice_field, slice_value, picked in groups:
            measured = _outcome_test(r, c, picked, statistic)
            if measured is None:
                continue
            before, after, test, p, n_r, n_c = measured
            rows.append(
                outcome_row(metric, source, slice_field, slice_value, before, after, test, p, n_r, n_c)
            )
    return outcome_results(rows, thresholds, min_change)
