"""Pure statistics for drift detection (``METRICS.md``, "Drift"): tests, distances, PSI, ECE, chunk bands.

`column_drift` follows Evidently's selection by the reference's distinct values and rows: KS or normalised
Wasserstein for numeric columns, chi-square or Jensen–Shannon for few values and categories, a two-proportion
z-test or Jensen–Shannon for at most two values. PSI and the JS distance are always reported next to the
chosen test. `chunk_band` and `split_chunks` give NannyML's data-driven thresholds (mean ± 3σ of the
reference chunks). The models import only pydantic; numpy, pandas and scipy are imported on first use.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from routelab.evaluators.arguments import (
    as_sample,
    check_confidence,
    check_count,
    scipy_special,
    scipy_stats,
)
from routelab.evaluators.errors import (
    EmptySampleError,
    InvalidArgumentError,
    InvalidCountError,
    InvalidProbabilityError,
    LengthMismatchError,
    NonFiniteValueError,
    NotBinaryError,
    UnknownOptionError,
)
from routelab.evaluators.frames import is_missing

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd  # type: ignore[import-untyped,unused-ignore]  # no pandas-stubs in the dev lock yet
    from numpy.typing import ArrayLike, NDArray

ColumnKind = Literal["numeric", "categorical"]
TestName = Literal["ks", "wasserstein", "chi-square", "z-test", "jensen-shannon"]
Alternative = Literal["two-sided", "greater", "less"]
#: The category that missing values (None, NaN, NA) become in categorical columns.
MISSING = "(missing)"
#: Reference quantile bins behind PSI and the JS distance of numeric columns with more than 5 values.
NUMERIC_BINS = 10
_FROZEN = ConfigDict(frozen=True, extra="forbid")


class DriftThresholds(BaseModel):
    """When a column counts as drifted, and which test applies (``METRICS.md`` defaults)."""

    model_config = _FROZEN

    p_value: float = Field(0.05, gt=0, lt=1, description="Tests drift below it (KS: at or below it).")
    distance: float = Field(0.1, gt=0, description="Distances (Wasserstein, JS) drift at or above it.")
    small_sample: int = Field(
        1000, ge=1, description="Reference rows up to this use a test, above a distance."
    )
    psi_moderate: float = Field(0.1, gt=0, description="PSI from which a shift is moderate (a convention).")
    psi_significant: float = Field(0.2, gt=0, description="PSI from which a shift is significant.")

    @model_validator(mode="after")
    def _psi_bands_ascend(self) -> Self:
        if self.psi_significant < self.psi_moderate:
            raise ValueError("psi_significant must be >= psi_moderate")
        return self


DEFAULT_THRESHOLDS = DriftThresholds()


class TestResult(BaseModel):
    """A hypothesis test's statistic and p-value."""

    __test__ = False  # not a pytest test class, despite the name
    model_config = _FROZEN

    statistic: float = Field(description="The test statistic: KS D, chi-square or z.")
    p_value: float = Field(ge=0, le=1, description="The p-value.")
    dof: int | None = Field(description="Degrees of freedom (chi-square); None where none apply.")
    test: str = Field(description="The test: `ks`, `chi-square` or `z-test`.")


class CategoryCounts(BaseModel):
    """Counts of both windows over the union of their categories, sorted by category."""

    model_config = _FROZEN

    categories: list[str] = Field(description=f"Categories as text, sorted; missing values are `{MISSING}`.")
    reference: list[int] = Field(description="Reference rows per category.")
    current: list[int] = Field(description="Current rows per category.")


class ColumnDrift(BaseModel):
    """Drift of one column between a reference and a current window, with the test that decided it."""

    model_config = _FROZEN

    kind: ColumnKind = Field(description="`numeric` or `categorical`, given or inferred from the dtype.")
    test: TestName = Field(description="The test chosen by the METRICS.md table.")
    statistic: float = Field(description="KS D, chi-square, z, or the distance itself.")
    p_value: float | None = Field(description="p-value of a test; None for distances.")
    distance: float | None = Field(description="Normalised Wasserstein or JS distance; None for tests.")
    threshold: float = Field(description="The p-value or distance threshold applied.")
    drifted: bool = Field(description="Whether the test or distance crossed its threshold.")
    n_reference: int = Field(ge=1, description="Reference rows used (non-missing ones for numeric).")
    n_current: int = Field(ge=1, description="Current rows used (non-missing ones for numeric).")
    psi: float = Field(ge=0, description="PSI over the categories, values or 10 reference-quantile bins.")
    js_distance: float = Field(ge=0, le=1, description="Jensen–Shannon distance (base 2) over the same.")


class MeanShift(BaseModel):
    """Welch's t-test and interval for mean(current) − mean(reference)."""

    model_config = _FROZEN

    reference_mean: float = Field(description="Mean of the reference window.")
    current_mean: float = Field(description="Mean of the current window.")
    delta: float = Field(description="current_mean − reference_mean.")
    ci_low: float = Field(description="Lower end of the two-sided Welch interval of `delta`.")
    ci_high: float = Field(description="Upper end of the two-sided Welch interval of `delta`.")
    confidence: float = Field(gt=0, lt=1, description="Confidence level of the interval.")
    p_value: float = Field(ge=0, le=1, description="p-value of `alternative`.")
    alternative: Alternative = Field(description="H1: `greater` means mean(current) > mean(reference).")
    n_reference: int = Field(ge=2, description="Reference values.")
    n_current: int = Field(ge=2, description="Current values.")
    test: Literal["welch-t"] = Field("welch-t", description="The test behind `p_value`.")


class CalibrationBin(BaseModel):
    """One equal-width confidence bin [low, high) (the last one includes 1)."""

    model_config = _FROZEN

    low: float = Field(description="Lower edge, included.")
    high: float = Field(description="Upper edge, excluded except for the last bin.")
    n: int = Field(ge=0, description="Rows whose confidence falls in the bin.")
    accuracy: float | None = Field(description="Share correct in the bin; None when it is empty.")
    confidence: float | None = Field(description="Mean confidence in the bin; None when it is empty.")


class Calibration(BaseModel):
    """Expected calibration error Σ_b (n_b / n) · |acc_b − conf_b| with its bins."""

    model_config = _FROZEN

    ece: float | None = Field(description="The ECE in [0, 1]; None without rows.")
    n: int = Field(ge=0, description="Rows with both a confidence and a correctness.")
    bins: list[CalibrationBin] = Field(description="Every bin, empty ones included, in order.")


class Band(BaseModel):
    """NannyML's data-driven band: mean ± sigmas · std of a measure over the reference chunks."""

    model_config = _FROZEN

    mean: float = Field(description="Mean of the chunk values.")
    std: float = Field(ge=0, description="Sample standard deviation (ddof=1); 0 with one chunk.")
    lower: float = Field(description="mean − sigmas · std; alert below it.")
    upper: float = Field(description="mean + sigmas · std; alert above it.")
    sigmas: float = Field(ge=0, description="Width of the band in standard deviations.")
    n_chunks: int = Field(ge=1, description="Chunk values used (NaN ones dropped).")


# ---- counts and distances ---------------------------------------------------------------------------


def _series(values: ArrayLike | pd.Series, argument: str) -> pd.Series:
    import pandas as pd

    if isinstance(values, pd.Series):
        return values.reset_index(drop=True)
    try:
        return pd.Series(values)
    except (TypeError, ValueError):
        raise InvalidArgumentError(argument, "is not 1-D", "pass a list, array or Series of values") from None


def _text(value: object) -> str:
    """A value's category; whole floats are written as ints (1.0 → "1") so int and float columns agree."""
    if is_missing(value):
        return MISSING
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _labels(values: ArrayLike | pd.Series, argument: str) -> pd.Series:
    """`_text` of every value, computed once per distinct value (missing ones read `MISSING`)."""
    import numpy as np
    import pandas as pd

    series = _series(values, argument).astype(object)
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    kinds = {isinstance(u, bool | np.bool_) for u in uniques}
    if len(kinds) > 1:  # True == 1 in a hash table: a column mixing bools and numbers goes value by value
        return series.map(_text)
    table = np.empty(len(uniques) + 1, dtype=object)
    table[:] = [*(_text(u) for u in uniques), MISSING]
    return pd.Series(table[codes], index=series.index, dtype=object)  # code -1 (missing) picks MISSING


def _counts(reference: pd.Series, current: pd.Series) -> CategoryCounts:
    ref, cur = reference.value_counts(), current.value_counts()
    categories = sorted(set(ref.index) | set(cur.index))
    return CategoryCounts(
        categories=categories,
        reference=[int(ref.get(c, 0)) for c in categories],
        current=[int(cur.get(c, 0)) for c in categories],
    )


def category_counts(reference: ArrayLike | pd.Series, current: ArrayLike | pd.Series) -> CategoryCounts:
    """Counts of both windows aligned over the union of their categories.

    Values are compared as text (``str``, with whole floats written as ints), missing ones (None, NaN, NA)
    counted as the category ``(missing)``; the categories are sorted as text.
    """
    return _counts(_labels(reference, "reference"), _labels(current, "current"))


def _shares(
    reference_counts: ArrayLike, current_counts: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Both count vectors as shares, after checking they are aligned, finite, non-negative and non-empty."""
    import numpy as np

    out = []
    for argument, values in (("reference_counts", reference_counts), ("current_counts", current_counts)):
        try:
            arr = np.asarray(values, dtype=np.float64)
        except (TypeError, ValueError):
            raise InvalidCountError(argument, "is not numeric", "pass one count per category") from None
        if arr.ndim != 1:
            raise InvalidCountError(argument, f"has shape {arr.shape}", "pass a 1-D sequence of counts")
        if not np.isfinite(arr).all() or (arr < 0).any():
            raise InvalidCountError(argument, "holds a negative or non-finite count", "pass counts >= 0")
        if arr.sum() <= 0:
            raise EmptySampleError(argument, "has no rows", "pass counts of a non-empty window")
        out.append(arr / arr.sum())
    if out[0].shape != out[1].shape:
        raise LengthMismatchError(
            "current_counts",
            f"has {out[1].size} categories but reference_counts has {out[0].size}",
            "align both over the same categories, e.g. with category_counts",
        )
    return out[0], out[1]


def psi(reference_counts: ArrayLike, current_counts: ArrayLike, *, epsilon: float = 1e-4) -> float:
    """Population stability index Σ_k (cur_k − ref_k) · ln(cur_k / ref_k) over the shares.

    Shares are floored at ``epsilon`` (in both factors, as Evidently does), so a category empty on one side
    contributes a large but finite term, one empty on both sides contributes 0, and every term is >= 0.

    Raises:
        InvalidCountError: A count vector is not 1-D, negative or non-finite.
        EmptySampleError: A side has no rows.
        LengthMismatchError: The vectors differ in length.
        InvalidArgumentError: ``epsilon`` is not in (0, 1).
    """
    import numpy as np

    if not 0 < epsilon < 1:
        raise InvalidArgumentError("epsilon", f"is {epsilon!r}", "pass a small share such as 1e-4")
    ref, cur = (np.maximum(s, epsilon) for s in _shares(reference_counts, current_counts))
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def js_distance(reference_counts: ArrayLike, current_counts: ArrayLike) -> float:
    """Jensen–Shannon distance (base 2, the square root of the divergence) of the two shares, in [0, 1].

    The same as ``scipy.spatial.distance.jensenshannon(p, q, base=2)``; 0 for identical shares.

    Raises:
        The errors of `psi`, except for ``epsilon``.
    """
    import numpy as np

    ref, cur = _shares(reference_counts, current_counts)
    mid = (ref + cur) / 2

    def kl(p: NDArray[np.float64]) -> float:
        # Σ p log2(p / mid) over p > 0 (then mid > 0 too); numpy here, not scipy's wrapped `entropy`, which
        # costs a millisecond a call and drift calls this thousands of times.
        nz = p > 0
        return float(np.sum(p[nz] * np.log2(p[nz] / mid[nz])))

    divergence = (kl(ref) + kl(cur)) / 2
    return float(np.clip(math.sqrt(max(divergence, 0.0)), 0.0, 1.0))


def wasserstein_normalised(reference: ArrayLike, current: ArrayLike) -> float:
    """Wasserstein distance divided by max(std(reference), 0.001), population std as in Evidently.

    Raises:
        EmptySampleError, NonFiniteValueError, InvalidArgumentError: A sample is empty, holds NaN or is not
            numeric.
    """
    import numpy as np

    ref, cur = as_sample(reference, "reference"), as_sample(current, "current")
    return float(scipy_stats().wasserstein_distance(ref, cur)) / max(float(np.std(ref)), 0.001)


# ---- tests --------------------------------------------------------------------------------------------


def ks(reference: ArrayLike, current: ArrayLike) -> TestResult:
    """Two-sided two-sample Kolmogorov–Smirnov test (scipy's ``ks_2samp``).

    Raises:
        EmptySampleError, NonFiniteValueError, InvalidArgumentError: A sample is empty, holds NaN or is not
            numeric.
    """
    res = scipy_stats().ks_2samp(as_sample(reference, "reference"), as_sample(current, "current"))
    return TestResult(statistic=float(res.statistic), p_value=float(res.pvalue), dof=None, test="ks")


def chi_square(reference_counts: ArrayLike, current_counts: ArrayLike) -> TestResult:
    """Chi-square test of homogeneity on the 2 × K table of counts, without continuity correction.

    Categories empty on both sides are dropped first; with fewer than two left there is nothing to compare:
    statistic 0, p = 1, dof 0.

    Raises:
        The errors of `psi`, except for ``epsilon``.
    """
    import numpy as np

    _shares(reference_counts, current_counts)  # validates
    table = np.asarray([reference_counts, current_counts], dtype=np.float64)
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        return TestResult(statistic=0.0, p_value=1.0, dof=0, test="chi-square")
    # Pearson's statistic on the expected counts of the margins, as chi2_contingency(correction=False)
    # computes it, without its per-call overhead (drift runs thousands of these).
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0, keepdims=True) / table.sum()
    statistic = float(np.sum((table - expected) ** 2 / expected))
    dof = table.shape[1] - 1
    p_value = float(scipy_special().chdtrc(dof, statistic))
    return TestResult(statistic=statistic, p_value=min(max(p_value, 0.0), 1.0), dof=dof, test="chi-square")


def _normal_p(z: float, alternative: Alternative) -> float:
    if alternative == "two-sided":
        return math.erfc(abs(z) / math.sqrt(2))
    return 0.5 * math.erfc((z if alternative == "greater" else -z) / math.sqrt(2))  # accurate in the tails


def _check_alternative(alternative: str) -> None:
    if alternative not in ("two-sided", "greater", "less"):
        raise UnknownOptionError(
            "alternative", f"is {alternative!r}", "pass one of: greater, less, two-sided"
        )


def two_proportion_z(
    k_ref: int, n_ref: int, k_cur: int, n_cur: int, *, alternative: Alternative = "two-sided"
) -> TestResult:
    """Pooled two-proportion z-test of p_cur − p_ref (``greater``: H1 p_cur > p_ref).

    With a pooled proportion of 0 or 1 there is no variance and no evidence: z = 0, p = 1.

    Raises:
        InvalidCountError: A count is negative or not an integer, or k > n on a side.
        EmptySampleError: ``n_ref`` or ``n_cur`` is 0.
        UnknownOptionError: ``alternative`` is not one of the three names.
    """
    _check_alternative(alternative)
    for k_name, k, n_name, n in (("k_ref", k_ref, "n_ref", n_ref), ("k_cur", k_cur, "n_cur", n_cur)):
        if check_count(n, n_name) == 0:
            raise EmptySampleError(n_name, "is 0", "pass a window with at least one row")
        if check_count(k, k_name) > n:
            raise InvalidCountError(k_name, f"is {k}, more than {n_name}={n}", "pass the hits among the rows")
    pooled = (k_ref + k_cur) / (n_ref + n_cur)
    if pooled in (0.0, 1.0):
        return TestResult(statistic=0.0, p_value=1.0, dof=None, test="z-test")
    z = (k_cur / n_cur - k_ref / n_ref) / math.sqrt(pooled * (1 - pooled) * (1 / n_ref + 1 / n_cur))
    return TestResult(statistic=z, p_value=_normal_p(z, alternative), dof=None, test="z-test")


def welch(
    reference: ArrayLike,
    current: ArrayLike,
    *,
    alternative: Alternative = "two-sided",
    confidence: float = 0.95,
) -> MeanShift:
    """Welch's t-test of mean(current) − mean(reference) with its two-sided Welch interval.

    With zero variance on both sides the test degenerates: p = 0 when the means differ in the direction of
    ``alternative``, else 1, and the interval collapses to the delta.

    Raises:
        EmptySampleError: A side has fewer than 2 values.
        NonFiniteValueError, InvalidArgumentError: A sample holds NaN or is not numeric.
        InvalidConfidenceError: ``confidence`` is not in (0, 1).
        UnknownOptionError: ``alternative`` is not one of the three names.
    """
    _check_alternative(alternative)
    confidence = check_confidence(confidence)
    ref, cur = as_sample(reference, "reference"), as_sample(current, "current")
    for argument, arr in (("reference", ref), ("current", cur)):
        if arr.size < 2:
            raise EmptySampleError(argument, f"has {arr.size} value", "pass at least 2 values for a t-test")
    return welch_from_moments(
        (ref.size, float(ref.mean()), float(ref.var(ddof=1))),
        (cur.size, float(cur.mean()), float(cur.var(ddof=1))),
        alternative=alternative,
        confidence=confidence,
    )


def welch_from_moments(
    reference: tuple[int, float, float],
    current: tuple[int, float, float],
    *,
    alternative: Alternative = "two-sided",
    confidence: float = 0.95,
) -> MeanShift:
    """`welch` from each side's (size >= 2, mean, sample variance with ddof 1), e.g. of grouped values."""
    _check_alternative(alternative)
    confidence = check_confidence(confidence)
    (n_ref, ref_mean, var_ref), (n_cur, cur_mean, var_cur) = reference, current
    delta = cur_mean - ref_mean
    v_ref, v_cur = var_ref / n_ref, var_cur / n_cur
    se = math.sqrt(v_ref + v_cur)
    if se == 0:
        low = high = delta
        favoured = {"two-sided": delta != 0, "greater": delta > 0, "less": delta < 0}[alternative]
        p = 0.0 if favoured else 1.0
    else:
        dof = (v_ref + v_cur) ** 2 / (v_ref**2 / (n_ref - 1) + v_cur**2 / (n_cur - 1))
        t_dist = scipy_stats().t(dof)
        t = delta / se
        p = {"two-sided": 2 * t_dist.sf(abs(t)), "greater": t_dist.sf(t), "less": t_dist.cdf(t)}[alternative]
        half = float(t_dist.ppf(0.5 + confidence / 2)) * se
        low, high = delta - half, delta + half
    return MeanShift(
        reference_mean=ref_mean,
        current_mean=cur_mean,
        delta=delta,
        ci_low=low,
        ci_high=high,
        confidence=confidence,
        p_value=min(1.0, float(p)),
        alternative=alternative,
        n_reference=n_ref,
        n_current=n_cur,
    )


# ---- column drift -------------------------------------------------------------------------------------


def _numeric(s: pd.Series, argument: str) -> NDArray[np.float64]:
    import numpy as np
    import pandas as pd

    try:
        arr: NDArray[np.float64] = pd.to_numeric(s.dropna()).to_numpy(dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidArgumentError(
            argument, "holds values that are not numbers", "pass kind='categorical' or clean the column"
        ) from None
    if not np.isfinite(arr).all():
        raise NonFiniteValueError(argument, "holds an infinite value", "drop or clip infinite values first")
    return arr


def _binned(ref: NDArray[np.float64], cur: NDArray[np.float64]) -> tuple[list[int], list[int]]:
    """Counts over the reference's decile bins [e_i, e_i+1), open at both ends, duplicate edges merged."""
    import numpy as np

    edges = np.unique(np.quantile(ref, np.arange(1, NUMERIC_BINS) / NUMERIC_BINS))
    ref_b, cur_b = (
        np.bincount(np.searchsorted(edges, x, side="right"), minlength=edges.size + 1) for x in (ref, cur)
    )
    return ref_b.tolist(), cur_b.tolist()


def _select_test(kind: ColumnKind, distinct: int, small: bool) -> TestName:
    """The METRICS.md table: ``small`` is reference rows <= small_sample."""
    if kind == "numeric" and distinct > 5:
        return "ks" if small else "wasserstein"
    if distinct > 2:
        return "chi-square" if small else "jensen-shannon"
    return "z-test" if small else "jensen-shannon"


def column_drift(
    reference: ArrayLike | pd.Series,
    current: ArrayLike | pd.Series,
    *,
    kind: ColumnKind | None = None,
    thresholds: DriftThresholds = DEFAULT_THRESHOLDS,
) -> ColumnDrift:
    """Whether one column drifted, by the test ``METRICS.md`` picks for it.

    The choice depends on the reference's distinct non-missing values d and its rows n (non-missing rows
    for numeric columns), with n <= ``thresholds.small_sample`` choosing the test, else the distance:

    - numeric, d > 5: KS (drift if p <= p_value) / normalised Wasserstein (drift if >= distance);
    - numeric with 3 <= d <= 5, categorical with d > 2: chi-square (p < p_value) / Jensen–Shannon;
    - d <= 2: two-proportion z-test (p < p_value) on the share of the reference's first value (the smallest
      number, or the first category as text) / Jensen–Shannon.

    Numeric columns drop missing values; categorical ones count them as the category ``(missing)``. PSI and
    the JS distance are always reported: over the categories, over the values of numeric columns with at
    most 5 of them (so they match the chi-square and JS choices), else over 10 reference-quantile bins.

    Args:
        reference: The reference window's values (list, array or Series).
        current: The current window's values.
        kind: ``numeric`` or ``categorical``; None infers it from the reference's dtype (numbers are
            numeric, booleans and everything else categorical).
        thresholds: Thresholds and the small-sample boundary.

    Raises:
        EmptySampleError: A window has no rows (no non-missing ones for numeric columns).
        InvalidArgumentError: A numeric column holds text; NonFiniteValueError: it holds infinity.
        UnknownOptionError: ``kind`` is not one of the two names.
    """
    import pandas as pd

    ref_s, cur_s = _series(reference, "reference"), _series(current, "current")
    if kind is None:
        numeric = pd.api.types.is_numeric_dtype(ref_s) and not pd.api.types.is_bool_dtype(ref_s)
        kind = "numeric" if numeric else "categorical"
    elif kind not in ("numeric", "categorical"):
        raise UnknownOptionError("kind", f"is {kind!r}", "pass categorical, numeric or None to infer it")
    if kind == "numeric":
        ref, cur = _numeric(ref_s, "reference"), _numeric(cur_s, "current")
        ref_l, cur_l = _labels(ref, "reference"), _labels(cur, "current")
        values = [_text(v) for v in sorted(set(ref.tolist()))]
    else:
        ref_l, cur_l = _labels(ref_s, "reference"), _labels(cur_s, "current")
        values = sorted(set(ref_l) - {MISSING}) or [MISSING]
    n_ref, n_cur = len(ref_l), len(cur_l)
    what = "non-missing values" if kind == "numeric" else "rows"
    for argument, size in (("reference", n_ref), ("current", n_cur)):
        if size == 0:
            raise EmptySampleError(argument, f"has no {what}: the {argument} window is empty", "widen it")
    test = _select_test(kind, len(values), n_ref <= thresholds.small_sample)
    if test in ("ks", "wasserstein"):
        ref_b, cur_b = _binned(ref, cur)
    else:
        counts = _counts(ref_l, cur_l)
        ref_b, cur_b = counts.reference, counts.current
    js = js_distance(ref_b, cur_b)
    p_value: float | None = None
    if test == "jensen-shannon":
        statistic = js
    elif test == "wasserstein":
        statistic = wasserstein_normalised(ref, cur)
    else:
        first = values[0]
        res = (
            ks(ref, cur)
            if test == "ks"
            else chi_square(ref_b, cur_b)
            if test == "chi-square"
            else two_proportion_z(int((ref_l == first).sum()), n_ref, int((cur_l == first).sum()), n_cur)
        )
        statistic, p_value = res.statistic, res.p_value
    return column_result(kind, test, statistic, p_value, thresholds, n_ref, n_cur, psi(ref_b, cur_b), js)


def column_result(
    kind: ColumnKind,
    test: TestName,
    statistic: float,
    p_value: float | None,
    thresholds: DriftThresholds,
    n_ref: int,
    n_cur: int,
    psi_value: float,
    js: float,
) -> ColumnDrift:
    """A column's drift from its test's result: a test drifts below the p-value threshold (KS at or
    below it), a distance (no p-value) at or above the distance threshold."""
    if p_value is None:
        threshold, drifted = thresholds.distance, statistic >= thresholds.distance
    else:
        threshold = thresholds.p_value
        drifted = p_value <= threshold if test == "ks" else p_value < threshold
    return ColumnDrift(
        kind=kind,
        test=test,
        statistic=statistic,
        p_value=p_value,
        distance=statistic if p_value is None else None,
        threshold=threshold,
        drifted=drifted,
        n_reference=n_ref,
        n_current=n_cur,
        psi=psi_value,
        js_distance=js,
    )


# ---- calibration and chunk thresholds ------------------------------------------------------------------


def _floats(values: ArrayLike | pd.Series, argument: str) -> NDArray[np.float64]:
    """Values as floats, missing ones as NaN."""
    import numpy as np

    s = _series(values, argument).astype(object)
    try:
        arr: NDArray[np.float64] = s.where(s.notna(), np.nan).to_numpy(dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidArgumentError(argument, "holds values that are not numbers", "pass numbers") from None
    return arr


def expected_calibration_error(
    confidence: ArrayLike | pd.Series, correct: ArrayLike | pd.Series, *, bins: int = 10
) -> Calibration:
    """Expected calibration error over equal-width confidence bins.

    Bin b is [b / bins, (b + 1) / bins), with 1.0 in the last bin; ECE = Σ_b (n_b / n) · |acc_b − conf_b|.
    Rows missing a confidence or a correctness are dropped.

    Raises:
        InvalidProbabilityError: A confidence lies outside [0, 1].
        NotBinaryError: A correctness is not 0/1 or a boolean.
        LengthMismatchError: The two differ in length.
        InvalidCountError: ``bins`` is not a whole number >= 1.
    """
    import numpy as np

    bins = check_count(bins, "bins", minimum=1)
    conf, corr = _floats(confidence, "confidence"), _floats(correct, "correct")
    if conf.size != corr.size:
        raise LengthMismatchError(
            "correct", f"has {corr.size} values but confidence has {conf.size}", "pass one per decision"
        )
    keep = ~(np.isnan(conf) | np.isnan(corr))
    conf, corr = conf[keep], corr[keep]
    if ((conf < 0) | (conf > 1)).any():
        bad = conf[(conf < 0) | (conf > 1)][0]
        raise InvalidProbabilityError("confidence", f"holds {bad}", "pass confidences in [0, 1]")
    if ((corr != 0) & (corr != 1)).any():
        raise NotBinaryError("correct", "holds a value other than 0/1", "pass booleans or 0/1")
    edges = np.arange(bins + 1) / bins  # exact b / bins, unlike linspace
    index = np.clip(np.searchsorted(edges, conf, side="right") - 1, 0, bins - 1)
    out, ece = [], 0.0
    for b in range(bins):
        members = index == b
        n_b = int(members.sum())
        acc = float(corr[members].mean()) if n_b else None
        mean_conf = float(conf[members].mean()) if n_b else None
        if acc is not None and mean_conf is not None:
            ece += n_b / conf.size * abs(acc - mean_conf)
        out.append(CalibrationBin(low=edges[b], high=edges[b + 1], n=n_b, accuracy=acc, confidence=mean_conf))
    return Calibration(ece=ece if conf.size else None, n=int(conf.size), bins=out)


def chunk_band(chunk_values: ArrayLike, *, sigmas: float = 3.0) -> Band:
    """NannyML's data-driven threshold band over a measure computed per reference chunk.

    Raises:
        EmptySampleError: No chunk value is left after dropping NaN.
        InvalidArgumentError: ``sigmas`` is negative or not finite.
    """
    import numpy as np

    if not (math.isfinite(sigmas) and sigmas >= 0):
        raise InvalidArgumentError("sigmas", f"is {sigmas!r}", "pass a band width >= 0, e.g. 3")
    arr = _floats(chunk_values, "chunk_values")
    arr = arr[~np.isnan(arr)]
    if arr.size == 0:
        raise EmptySampleError("chunk_values", "has no values", "pass the measure of at least one chunk")
    mean = float(arr.mean())
    std = float(arr.std(ddof=1)) if arr.size > 1 else 0.0
    return Band(
        mean=mean,
        std=std,
        lower=mean - sigmas * std,
        upper=mean + sigmas * std,
        sigmas=sigmas,
        n_chunks=arr.size,
    )


def split_chunks(n_rows: int, n_chunks: int = 10) -> list[slice]:
    """Contiguous, nearly equal chunks of ``range(n_rows)`` as ``numpy.array_split`` cuts them.

    At most ``n_rows`` chunks, none empty (no chunks for no rows); the first ``n_rows % k`` are one longer.

    Raises:
        InvalidCountError: ``n_rows`` is negative or ``n_chunks`` below 1.
    """
    n_rows = check_count(n_rows, "n_rows")
    k = min(check_count(n_chunks, "n_chunks", minimum=1), n_rows)
    if k == 0:
        return []
    size, extra = divmod(n_rows, k)
    bounds = [b * size + min(b, extra) for b in range(k + 1)]
    return [slice(bounds[b], bounds[b + 1]) for b in range(k)]
