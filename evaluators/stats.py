"""Shared statistics for every evaluator: intervals, paired tests, multiple-testing control.

One definition each, used everywhere (``METRICS.md``, "Accuracy and version comparison"):

- **Proportion**: Wilson score interval, named explicitly (scipy's default is exact Clopper–Pearson).
  With no trials the proportion is undefined: ``value=None`` and the interval is the whole range (0, 1).
- **McNemar** on the discordant pairs b (base right, candidate wrong) and c (base wrong, candidate
  right): exact two-sided binomial test of b against b + c at 0.5 when b + c < ``exact_below`` (25),
  else chi-square with continuity correction, max(|b − c| − 1, 0)² / (b + c) on 1 degree of freedom
  (clipped at zero like scipy's Yates correction, so b = c gives p = 1 in both branches). No
  discordant pairs: p = 1.
- **Paired accuracy delta** acc(candidate) − acc(base) = (c − b) / n: Newcombe's (1998) square-and-add
  interval for paired proportions (his method 10: the Wilson limits of both accuracies, combined through
  the phi correlation of the 2×2 table). Deterministic, sensible at small counts, and it contains the
  estimate by construction. A percentile bootstrap is available as an option.
- **Cost and latency deltas**: paired bootstrap over requests with a percentile interval. BCa's bias
  and acceleration terms degenerate when most paired differences are zero (same path in both versions).
  Relative changes (``delta_pct``) resample the same way.
- **Signed-rank test**: Wilcoxon with ``zero_method="pratt"`` (unchanged pairs are ranked, not silently
  dropped), the share unchanged reported, and a recorded null distribution (exact enumeration when few
  pairs changed).
- **Many slices**: Benjamini–Hochberg adjusted p-values; NaN (no test) stays NaN and is not counted.
- **Quantile**: numpy's default, linear interpolation between order statistics (Hyndman–Fan type 7);
  ``p50`` and ``p95`` in the bootstrap use it too.

Nothing here does I/O, reads a clock or draws randomness without a ``seed``. numpy and scipy are
imported inside the functions, so importing the result types costs nothing beyond pydantic.
"""

from __future__ import annotations

import math
import numbers
import operator
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from routelab.evaluators.errors import (
    EmptySampleError,
    InvalidArgumentError,
    InvalidConfidenceError,
    InvalidCountError,
    InvalidProbabilityError,
    LengthMismatchError,
    MissingSeedError,
    NonFiniteValueError,
    NotBinaryError,
    UnknownOptionError,
    ZeroBaselineError,
)

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import ArrayLike, NDArray

StatisticName = Literal["mean", "sum", "p50", "p95"]
#: A custom bootstrap statistic: reduces the last axis of a (rows, n) array to shape (rows,).
StatisticFn = Callable[["NDArray[np.float64]"], "NDArray[np.float64]"]
ZeroMethod = Literal["pratt", "zsplit", "wilcox"]

#: Discordant-pair count from which McNemar switches from the exact binomial test to chi-square.
MCNEMAR_EXACT_BELOW = 25
#: Most changed pairs for which `wilcoxon_paired` enumerates every sign pattern (2**16 of them).
WILCOXON_EXHAUSTIVE_MAX = 16
#: Upper bound on resampled values held in memory at once; resamples are drawn in blocks of rows.
_BLOCK_ELEMENTS = 1 << 22


class Estimate(BaseModel):
    """A point estimate with its interval; the CLI prints it as ``{value, ci_low, ci_high, n[, p_value]}``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    value: float | None = Field(description="The point estimate; None where it is undefined (no data).")
    ci_low: float = Field(description="Lower end of the confidence interval.")
    ci_high: float = Field(description="Upper end of the confidence interval.")
    n: int = Field(ge=0, description="Observations behind the estimate: trials, or pairs of requests.")
    method: str = Field(description="How the interval was computed, e.g. `wilson` or `bootstrap-percentile`.")
    confidence: float = Field(default=0.95, gt=0, lt=1, description="Confidence level of the interval.")
    p_value: float | None = Field(default=None, ge=0, le=1, description="p-value of `test`, if one was run.")
    test: str | None = Field(default=None, description="The test behind `p_value`, e.g. `mcnemar-exact`.")

    @model_validator(mode="after")
    def _p_value_names_its_test(self) -> Self:
        if (self.p_value is None) != (self.test is None):
            raise ValueError("p_value and test go together: set both or neither")
        return self


class BootstrapEstimate(Estimate):
    """An `Estimate` from a paired bootstrap, with everything needed to recompute it."""

    statistic: str = Field(
        description="Statistic compared: `mean`, `sum`, `p50`, `p95` or a callable's name."
    )
    scale: Literal["absolute", "percent"] = Field(
        description="`absolute`: stat(cand) − stat(base); `percent`: 100 · that / stat(base)."
    )
    n_resamples: int = Field(ge=1, description="Number of bootstrap resamples.")
    seed: int = Field(ge=0, description="Seed of `numpy.random.default_rng` that drew the resamples.")


class McNemarResult(BaseModel):
    """McNemar's test of paired correctness on the discordant pairs."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    b: int = Field(ge=0, description="Pairs where the base was right and the candidate wrong.")
    c: int = Field(ge=0, description="Pairs where the base was wrong and the candidate right.")
    statistic: float | None = Field(description="Continuity-corrected chi-square; None for the exact test.")
    p_value: float = Field(ge=0, le=1, description="Two-sided p-value.")
    method: Literal["exact", "chi-square-cc"] = Field(description="Exact binomial or corrected chi-square.")
    exact_below: int = Field(ge=0, description="The exact test was used when b + c was below this.")

    @property
    def test(self) -> str:
        """Name of the test for `Estimate.test`, e.g. ``mcnemar-exact``."""
        return f"mcnemar-{self.method}"


class WilcoxonResult(BaseModel):
    """Wilcoxon signed-rank test of paired differences cand − base."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    statistic: float = Field(description="min(R+, R−), scipy's two-sided statistic; 0 when nothing changed.")
    p_value: float = Field(ge=0, le=1, description="Two-sided p-value; 1 when every pair is unchanged.")
    n: int = Field(ge=1, description="Number of pairs, unchanged ones included.")
    n_unchanged: int = Field(ge=0, description="Pairs whose difference is exactly zero.")
    share_unchanged: float = Field(ge=0, le=1, description="n_unchanged / n.")
    zero_method: ZeroMethod = Field(description="How zero differences were treated (scipy's `zero_method`).")
    method: Literal["exact", "permutation", "asymptotic", "none"] = Field(
        description="Null distribution used; `none` when every difference is zero."
    )


def _scipy_stats() -> Any:
    """``scipy.stats``, imported on first use: it is slow to import, and the result types must stay cheap."""
    import scipy.stats  # type: ignore[import-untyped]  # no scipy stubs in the dev lock yet

    return scipy.stats


# ---- input validation -------------------------------------------------------------------------------


def _check_confidence(confidence: float) -> float:
    if isinstance(confidence, bool) or not isinstance(confidence, numbers.Real) or not 0 < confidence < 1:
        raise InvalidConfidenceError(
            "confidence", f"is {confidence!r}", "pass a level strictly between 0 and 1, e.g. 0.95"
        )
    return float(confidence)


def _check_count(value: int, argument: str, *, minimum: int = 0) -> int:
    if isinstance(value, bool):
        raise InvalidCountError(argument, f"is {value!r}, a bool", "pass a whole number")
    try:
        count = operator.index(value)
    except TypeError:
        raise InvalidCountError(argument, f"is {value!r}, not an integer", "pass a whole number") from None
    if count < minimum:
        raise InvalidCountError(argument, f"is {count}", f"pass a whole number >= {minimum}")
    return count


def _check_seed(seed: int | None) -> int:
    if seed is None:
        raise MissingSeedError(
            "seed", "is missing", "pass an integer >= 0 so the resamples can be reproduced"
        )
    return _check_count(seed, "seed")


def _sample(values: ArrayLike, argument: str) -> NDArray[np.float64]:
    """``values`` as a non-empty 1-D float array of finite numbers."""
    import numpy as np

    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidArgumentError(argument, "is not numeric", "pass a 1-D sequence of numbers") from None
    if arr.ndim != 1:
        raise InvalidArgumentError(argument, f"has shape {arr.shape}", "pass a 1-D sequence of numbers")
    if arr.size == 0:
        raise EmptySampleError(argument, "is empty", "pass at least one value")
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        raise NonFiniteValueError(
            argument,
            f"holds {arr[bad[0]]} at position {bad[0]} ({bad.size} non-finite values)",
            "drop or impute missing values before comparing",
        )
    return arr


def _binary(values: ArrayLike, argument: str) -> NDArray[np.bool_]:
    """``values`` as a 1-D boolean array; accepts bools or the numbers 0 and 1."""
    import numpy as np

    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise NotBinaryError(
            argument, "cannot be read as 0/1 values", "pass booleans or 0/1, without missing values"
        ) from None
    if arr.ndim != 1:
        raise NotBinaryError(argument, f"has shape {arr.shape}", "pass a 1-D sequence of booleans")
    bad = np.flatnonzero((arr != 0) & (arr != 1))
    if bad.size:
        raise NotBinaryError(
            argument,
            f"holds {arr[bad[0]]} at position {bad[0]}",
            "pass booleans or 0/1 values; drop requests without a verdict first",
        )
    flags: NDArray[np.bool_] = arr == 1
    return flags


def _same_length(base: NDArray[np.generic], cand: NDArray[np.generic], names: tuple[str, str]) -> None:
    if base.shape[0] != cand.shape[0]:
        raise LengthMismatchError(
            names[1],
            f"has {cand.shape[0]} values but {names[0]} has {base.shape[0]}",
            "pass one value per request for both versions, aligned by request",
        )


# ---- proportions and accuracy ----------------------------------------------------------------------


def _wilson_bounds(k: int, n: int, confidence: float) -> tuple[float, float]:
    ci = _scipy_stats().binomtest(k, n).proportion_ci(confidence_level=confidence, method="wilson")
    return float(ci.low), float(ci.high)


def wilson(k: int, n: int, confidence: float = 0.95) -> Estimate:
    """Proportion k / n with its Wilson score interval.

    Args:
        k: Successes, 0 <= k <= n.
        n: Trials, >= 0.
        confidence: Confidence level, strictly between 0 and 1.

    Returns:
        An `Estimate` with ``method="wilson"``. With ``n == 0`` the proportion is undefined: ``value`` is None
        and the interval is (0, 1).

    Raises:
        InvalidCountError: ``k`` or ``n`` is negative or not an integer, or ``k > n``.
        InvalidConfidenceError: ``confidence`` is not in (0, 1).
    """
    k = _check_count(k, "k")
    n = _check_count(n, "n")
    if k > n:
        raise InvalidCountError("k", f"is {k}, more than n={n}", "pass the successes among the n trials")
    confidence = _check_confidence(confidence)
    if n == 0:
        return Estimate(value=None, ci_low=0.0, ci_high=1.0, n=0, method="wilson", confidence=confidence)
    low, high = _wilson_bounds(k, n, confidence)
    return Estimate(value=k / n, ci_low=low, ci_high=high, n=n, method="wilson", confidence=confidence)


def mcnemar(b: int, c: int, *, exact_below: int = MCNEMAR_EXACT_BELOW) -> McNemarResult:
    """McNemar's test on the discordant pairs of two paired correctness vectors.

    Args:
        b: Pairs where the base was right and the candidate wrong.
        c: Pairs where the base was wrong and the candidate right.
        exact_below: Use the exact binomial test when ``b + c`` is below this, else chi-square.

    Returns:
        The test result; symmetric in ``b`` and ``c``. ``p_value`` is 1 when ``b + c == 0``.

    Raises:
        InvalidCountError: A count is negative or not an integer.
    """
    b = _check_count(b, "b")
    c = _check_count(c, "c")
    exact_below = _check_count(exact_below, "exact_below")
    m = b + c
    if m < exact_below:
        p = 1.0
        if m > 0:
            # The null is symmetric at 0.5, so testing min(b, c) gives the same p as testing b and makes the
            # result exactly symmetric in floating point.
            p = min(1.0, float(_scipy_stats().binomtest(min(b, c), m, 0.5).pvalue))
        return McNemarResult(b=b, c=c, statistic=None, p_value=p, method="exact", exact_below=exact_below)
    statistic, p = 0.0, 1.0
    if m > 0:
        statistic = max(abs(b - c) - 1, 0) ** 2 / m
        p = float(_scipy_stats().chi2.sf(statistic, 1))
    return McNemarResult(
        b=b, c=c, statistic=statistic, p_value=p, method="chi-square-cc", exact_below=exact_below
    )


def _newcombe_paired(a: int, b: int, c: int, d: int, confidence: float) -> tuple[float, float]:
    """Newcombe's method-10 interval for acc(cand) − acc(base); a, b, c, d as in `paired_accuracy_delta`."""
    n = a + b + c + d
    p_base, p_cand = (a + b) / n, (a + c) / n
    low_base, high_base = _wilson_bounds(a + b, n, confidence)
    low_cand, high_cand = _wilson_bounds(a + c, n, confidence)
    margins = (a + b) * (c + d) * (a + c) * (b + d)
    cross = a * d - b * c
    # Newcombe's phi: positive association shrunk by n/2 (a continuity correction), 0 if a margin is empty.
    if margins == 0 or 0 <= cross <= n / 2:
        phi = 0.0
    else:
        phi = (cross - n / 2 if cross > 0 else cross) / math.sqrt(margins)
    theta = p_cand - p_base
    down_cand, up_base = p_cand - low_cand, high_base - p_base
    up_cand, down_base = high_cand - p_cand, p_base - low_base
    lower = theta - math.sqrt(max(0.0, down_cand**2 + up_base**2 - 2 * phi * down_cand * up_base))
    upper = theta + math.sqrt(max(0.0, up_cand**2 + down_base**2 - 2 * phi * up_cand * down_base))
    return max(-1.0, lower), min(1.0, upper)


def paired_accuracy_delta(
    base_correct: ArrayLike,
    cand_correct: ArrayLike,
    *,
    confidence: float = 0.95,
    method: Literal["newcombe", "bootstrap"] = "newcombe",
    seed: int | None = None,
    n_resamples: int = 2000,
    exact_below: int = MCNEMAR_EXACT_BELOW,
) -> Estimate:
    """Accuracy change acc(cand) − acc(base) on the same requests, with its interval and McNemar p-value.

    Args:
        base_correct: Per request, whether the base version was right (bools or 0/1).
        cand_correct: The same for the candidate, aligned with ``base_correct``.
        confidence: Confidence level, strictly between 0 and 1.
        method: ``newcombe`` (default, Newcombe's paired score interval, deterministic) or ``bootstrap``
            (percentile interval of the paired bootstrap; needs ``seed``).
        seed: Seed for ``method="bootstrap"``; ignored by ``newcombe``.
        n_resamples: Resamples for ``method="bootstrap"``.
        exact_below: McNemar threshold, see `mcnemar`.

    Returns:
        An `Estimate` (a `BootstrapEstimate` for ``bootstrap``) whose ``p_value`` is McNemar's and
        whose ``test`` names its branch. With no requests: ``value=None``, interval (−1, 1), p = 1.

    Raises:
        NotBinaryError: A vector holds something other than booleans or 0/1.
        LengthMismatchError: The vectors differ in length.
        MissingSeedError: ``method="bootstrap"`` without a seed.
        UnknownOptionError: ``method`` is not one of the two names.
    """
    if method not in ("newcombe", "bootstrap"):
        raise UnknownOptionError("method", f"is {method!r}", "pass one of: bootstrap, newcombe")
    base = _binary(base_correct, "base_correct")
    cand = _binary(cand_correct, "cand_correct")
    _same_length(base, cand, ("base_correct", "cand_correct"))
    confidence = _check_confidence(confidence)
    if method == "bootstrap":
        _check_seed(seed)  # before any work: a missing seed is a usage error, whatever the data
    b = int((base & ~cand).sum())
    c = int((~base & cand).sum())
    test = mcnemar(b, c, exact_below=exact_below)
    n = base.shape[0]
    name = "newcombe-paired-score" if method == "newcombe" else "bootstrap-percentile"
    if n == 0:
        return Estimate(
            value=None,
            ci_low=-1.0,
            ci_high=1.0,
            n=0,
            method=name,
            confidence=confidence,
            p_value=test.p_value,
            test=test.test,
        )
    if method == "bootstrap":
        boot = paired_bootstrap(
            base.astype(float),
            cand.astype(float),
            n_resamples=n_resamples,
            confidence=confidence,
            seed=_check_seed(seed),
        )
        return BootstrapEstimate.model_validate(
            {**boot.model_dump(), "p_value": test.p_value, "test": test.test}
        )
    a = int((base & cand).sum())
    low, high = _newcombe_paired(a, b, c, n - a - b - c, confidence)
    return Estimate(
        value=(c - b) / n,
        ci_low=low,
        ci_high=high,
        n=n,
        method=name,
        confidence=confidence,
        p_value=test.p_value,
        test=test.test,
    )


# ---- quantiles and the paired bootstrap ------------------------------------------------------------


def _quantiles_sorted(ordered: NDArray[np.float64], qs: tuple[float, ...]) -> list[float]:
    """Type-7 quantiles of sorted, NaN-free values; infinities are handled as limits, not as NaN."""
    import numpy as np

    if bool(np.isfinite(ordered).all()):
        return [float(x) for x in np.quantile(ordered, qs, method="linear")]
    out = []
    last = ordered.shape[0] - 1
    for q in qs:
        h = last * q
        lo = math.floor(h)
        hi = min(lo + 1, last)
        a, b, frac = float(ordered[lo]), float(ordered[hi]), h - lo
        if frac == 0 or a == b:
            out.append(a)
        elif math.isinf(a) and math.isinf(b):
            out.append(math.nan)  # between −inf and +inf: no limit exists
        elif math.isinf(a) or math.isinf(b):
            out.append(a if math.isinf(a) else b)
        else:
            out.append(a + (b - a) * frac)
    return out


def quantile(values: ArrayLike, q: float) -> float:
    """The q-quantile of ``values`` by numpy's default definition, used everywhere in routelab.

    Linear interpolation between order statistics (Hyndman & Fan type 7): with the n values sorted,
    position h = (n − 1) · q, result x[⌊h⌋] + (h − ⌊h⌋) · (x[⌊h⌋ + 1] − x[⌊h⌋]). Infinite values are
    allowed and give the limit of that formula.

    Args:
        values: A non-empty 1-D sequence of numbers, without NaN.
        q: Quantile level in [0, 1]; 0.5 is the median, 0.95 the p95.

    Returns:
        The quantile as a float.

    Raises:
        EmptySampleError: ``values`` is empty.
        NonFiniteValueError: ``values`` holds NaN.
        InvalidProbabilityError: ``q`` is outside [0, 1].
    """
    import numpy as np

    if isinstance(q, bool) or not isinstance(q, numbers.Real) or not 0 <= q <= 1:
        raise InvalidProbabilityError("q", f"is {q!r}", "pass a level in [0, 1], e.g. 0.95 for p95")
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidArgumentError("values", "is not numeric", "pass a 1-D sequence of numbers") from None
    if arr.ndim != 1 or arr.size == 0:
        raise EmptySampleError("values", f"has shape {arr.shape}", "pass a non-empty 1-D sequence")
    if bool(np.isnan(arr).any()):
        raise NonFiniteValueError("values", "holds NaN", "drop missing values first")
    return _quantiles_sorted(np.sort(arr), (float(q),))[0]


def _mean(x: NDArray[np.float64]) -> NDArray[np.float64]:
    out: NDArray[np.float64] = x.mean(axis=-1)
    return out


def _sum(x: NDArray[np.float64]) -> NDArray[np.float64]:
    out: NDArray[np.float64] = x.sum(axis=-1)
    return out


def _p50(x: NDArray[np.float64]) -> NDArray[np.float64]:
    import numpy as np

    return np.quantile(x, 0.5, axis=-1, method="linear")


def _p95(x: NDArray[np.float64]) -> NDArray[np.float64]:
    import numpy as np

    return np.quantile(x, 0.95, axis=-1, method="linear")


STATISTICS: dict[str, StatisticFn] = {"mean": _mean, "sum": _sum, "p50": _p50, "p95": _p95}
"""The named bootstrap statistics; each reduces the last axis (quantiles by `quantile`'s definition)."""


def _resolve_statistic(statistic: StatisticName | StatisticFn) -> tuple[str, StatisticFn]:
    if callable(statistic):
        return getattr(statistic, "__name__", type(statistic).__name__), statistic
    if statistic not in STATISTICS:
        raise UnknownOptionError(
            "statistic",
            f"is {statistic!r}",
            f"pass one of: {', '.join(sorted(STATISTICS))}, or a callable reducing the last axis",
        )
    return statistic, STATISTICS[statistic]


def _apply(fn: StatisticFn, x: NDArray[np.float64]) -> NDArray[np.float64]:
    """``fn`` over the rows of ``x``, checked to return one finite number per row."""
    import numpy as np

    out = np.asarray(fn(x), dtype=np.float64)
    if out.shape != (x.shape[0],):
        raise InvalidArgumentError(
            "statistic",
            f"returned shape {out.shape} for input of shape {x.shape}",
            "reduce the last axis, e.g. lambda x: x.mean(axis=-1)",
        )
    if not bool(np.isfinite(out).all()):
        raise NonFiniteValueError("statistic", "returned NaN or infinity", "return finite numbers")
    return out


def _pct_change(cand: NDArray[np.float64], base: NDArray[np.float64]) -> NDArray[np.float64]:
    """100 · (cand − base) / base; 0 where both are 0 (nothing changed), ±inf where only base is 0."""
    import numpy as np

    with np.errstate(divide="ignore", invalid="ignore"):
        pct = 100.0 * (cand - base) / base
    pct[(base == 0) & (cand == 0)] = 0.0
    return pct


def _bootstrap(
    base: ArrayLike,
    cand: ArrayLike,
    statistic: StatisticName | StatisticFn,
    n_resamples: int,
    confidence: float,
    seed: int,
    scale: Literal["absolute", "percent"],
) -> BootstrapEstimate:
    import numpy as np

    base_arr, cand_arr = _sample(base, "base"), _sample(cand, "cand")
    _same_length(base_arr, cand_arr, ("base", "cand"))
    n_resamples = _check_count(n_resamples, "n_resamples", minimum=1)
    confidence = _check_confidence(confidence)
    seed = _check_seed(seed)
    name, fn = _resolve_statistic(statistic)

    observed_base = _apply(fn, base_arr[np.newaxis, :])
    observed_cand = _apply(fn, cand_arr[np.newaxis, :])
    if scale == "percent" and observed_base[0] == 0 and observed_cand[0] != 0:
        raise ZeroBaselineError(
            f"base {name} is 0, so a percent change is undefined; compare with paired_bootstrap (absolute)"
        )
    n = base_arr.shape[0]
    rng = np.random.default_rng(seed)
    stats_base = np.empty(n_resamples)
    stats_cand = np.empty(n_resamples)
    # Blocks keep memory bounded; consecutive integers() calls continue one stream, so the draws (and the
    # result) do not depend on the block size. Base and candidate share the indices: that is the pairing.
    rows = max(1, _BLOCK_ELEMENTS // n)
    for start in range(0, n_resamples, rows):
        stop = min(start + rows, n_resamples)
        idx = rng.integers(0, n, size=(stop - start, n))
        stats_base[start:stop] = _apply(fn, base_arr[idx])
        stats_cand[start:stop] = _apply(fn, cand_arr[idx])

    if scale == "percent":
        value = float(_pct_change(observed_cand, observed_base)[0])
        deltas = _pct_change(stats_cand, stats_base)
    else:
        value = float(observed_cand[0] - observed_base[0])
        deltas = stats_cand - stats_base
    alpha = 1 - confidence
    low, high = _quantiles_sorted(np.sort(deltas), (alpha / 2, 1 - alpha / 2))
    return BootstrapEstimate(
        value=value,
        ci_low=low,
        ci_high=high,
        n=n,
        method="bootstrap-percentile",
        confidence=confidence,
        statistic=name,
        scale=scale,
        n_resamples=n_resamples,
        seed=seed,
    )


def paired_bootstrap(
    base: ArrayLike,
    cand: ArrayLike,
    *,
    statistic: StatisticName | StatisticFn = "mean",
    n_resamples: int = 2000,
    confidence: float = 0.95,
    seed: int,
) -> BootstrapEstimate:
    """stat(cand) − stat(base) over paired samples, with a percentile bootstrap interval.

    Requests are resampled with replacement, the same indices for both versions, ``n_resamples``
    times; the interval is the (α/2, 1 − α/2) quantiles of the resampled differences (α = 1 −
    confidence), by `quantile`'s definition. Percentile rather than BCa: when most paired differences
    are zero, BCa's bias and acceleration estimates degenerate. The interval is not widened to contain
    the estimate; for the four named statistics it does (a property test checks it). The same seed gives
    the same result, independent of how the resamples are blocked in memory.

    Args:
        base: One number per request (cost, latency, ...) for the base version.
        cand: The same for the candidate, aligned with ``base``.
        statistic: ``mean``, ``sum``, ``p50``, ``p95``, or a callable mapping a (rows, n) array to (rows,).
        n_resamples: Number of bootstrap resamples, >= 1.
        confidence: Confidence level, strictly between 0 and 1.
        seed: Seed for ``numpy.random.default_rng``; recorded in the result.

    Returns:
        A `BootstrapEstimate` with ``scale="absolute"``.

    Raises:
        EmptySampleError, NonFiniteValueError, LengthMismatchError: Bad samples.
        UnknownOptionError: ``statistic`` is an unknown name.
        InvalidCountError, InvalidConfidenceError: Bad ``n_resamples``, ``seed`` or ``confidence``.
    """
    return _bootstrap(base, cand, statistic, n_resamples, confidence, seed, "absolute")


def paired_bootstrap_pct(
    base: ArrayLike,
    cand: ArrayLike,
    *,
    statistic: StatisticName | StatisticFn = "mean",
    n_resamples: int = 2000,
    confidence: float = 0.95,
    seed: int,
) -> BootstrapEstimate:
    """Percent change 100 · (stat(cand) − stat(base)) / stat(base) (``delta_pct``), paired bootstrap interval.

    Same resampling as `paired_bootstrap` (the same seed draws the same indices). Meant for positive
    quantities such as cost and latency. A resample whose base statistic is 0 counts as a 0 % change if
    the candidate's is 0 too, else as ±infinity, so an interval end may be infinite: the data cannot
    bound the relative change.

    Args:
        base: One number per request for the base version.
        cand: The same for the candidate, aligned with ``base``.
        statistic: ``mean``, ``sum``, ``p50``, ``p95``, or a callable mapping a (rows, n) array to (rows,).
        n_resamples: Number of bootstrap resamples, >= 1.
        confidence: Confidence level, strictly between 0 and 1.
        seed: Seed for ``numpy.random.default_rng``; recorded in the result.

    Returns:
        A `BootstrapEstimate` with ``scale="percent"``; ``value`` is in percent.

    Raises:
        ZeroBaselineError: The base statistic is 0 and the candidate's is not.
        EmptySampleError, NonFiniteValueError, LengthMismatchError, UnknownOptionError, InvalidCountError,
            InvalidConfidenceError: As for `paired_bootstrap`.
    """
    return _bootstrap(base, cand, statistic, n_resamples, confidence, seed, "percent")


# ---- signed-rank test and multiple testing ---------------------------------------------------------


def _sign_flip_p(diff: NDArray[np.float64], zero_method: ZeroMethod) -> float:
    """Exact two-sided p of R+ over all 2**k sign patterns of the k non-zero differences.

    Flipping the sign of a zero changes nothing, so only the changed pairs are enumerated, whatever n is.
    Ranks come from all |differences| for ``pratt`` and ``zsplit`` (zsplit only adds a constant to R+) and
    from the non-zero ones for ``wilcox``.
    """
    import numpy as np

    stats = _scipy_stats()
    changed = diff != 0
    ranks = stats.rankdata(np.abs(diff[changed]) if zero_method == "wilcox" else np.abs(diff))
    if zero_method != "wilcox":
        ranks = ranks[changed]

    def r_plus(x: NDArray[np.float64], axis: int) -> NDArray[np.float64]:
        out: NDArray[np.float64] = np.sum((x > 0) * ranks, axis=axis)
        return out

    res = stats.permutation_test(
        (diff[changed],), r_plus, permutation_type="samples", n_resamples=math.inf, vectorized=True
    )
    return min(1.0, float(res.pvalue))


def wilcoxon_paired(base: ArrayLike, cand: ArrayLike, *, zero_method: ZeroMethod = "pratt") -> WilcoxonResult:
    """Wilcoxon signed-rank test of cand − base, with the share of unchanged pairs.

    ``zero_method="pratt"`` by default: zero differences (both versions took the same path) are ranked and
    then dropped, so they still shrink the statistic's null mean and variance instead of vanishing as with
    scipy's default ``"wilcox"``. The null distribution is chosen explicitly and recorded in ``method``:

    - ``exact``: no zeros, no ties, at most 50 pairs (scipy's exact distribution);
    - ``permutation``: at most `WILCOXON_EXHAUSTIVE_MAX` changed pairs: every sign pattern of the changed
      pairs is enumerated, so the p-value is exact and deterministic even when thousands of pairs are
      unchanged (the usual case for two router versions, where a normal approximation would be poor);
    - ``asymptotic``: otherwise, the normal approximation (Cureton's adjustment for pratt, tie correction,
      no continuity correction).

    If every difference is zero the test is undefined; this returns statistic 0 and p = 1 (no evidence).

    Args:
        base: One number per request for the base version.
        cand: The same for the candidate, aligned with ``base``.
        zero_method: ``pratt`` (default), ``zsplit`` or ``wilcox``.

    Returns:
        A `WilcoxonResult`; ``statistic`` is scipy's two-sided min(R+, R−) in every branch.

    Raises:
        EmptySampleError, NonFiniteValueError, LengthMismatchError: Bad samples.
        UnknownOptionError: ``zero_method`` is not one of the three names.
    """
    import numpy as np

    if zero_method not in ("pratt", "zsplit", "wilcox"):
        raise UnknownOptionError("zero_method", f"is {zero_method!r}", "pass one of: pratt, wilcox, zsplit")
    base_arr, cand_arr = _sample(base, "base"), _sample(cand, "cand")
    _same_length(base_arr, cand_arr, ("base", "cand"))
    diff = cand_arr - base_arr
    n = diff.shape[0]
    n_zero = int((diff == 0).sum())
    common = {"n": n, "n_unchanged": n_zero, "share_unchanged": n_zero / n, "zero_method": zero_method}
    if n_zero == n:
        return WilcoxonResult(statistic=0.0, p_value=1.0, method="none", **common)

    stats = _scipy_stats()
    has_ties = np.unique(np.abs(diff)).shape[0] < n
    if n_zero == 0 and not has_ties and n <= 50:
        res = stats.wilcoxon(cand_arr, base_arr, zero_method=zero_method, method="exact")
        return WilcoxonResult(
            statistic=float(res.statistic), p_value=float(res.pvalue), method="exact", **common
        )
    # The asymptotic call also yields the statistic for the permutation branch, which only replaces the p.
    res = stats.wilcoxon(cand_arr, base_arr, zero_method=zero_method, correction=False, method="asymptotic")
    if n - n_zero <= WILCOXON_EXHAUSTIVE_MAX:
        p, method = _sign_flip_p(diff, zero_method), "permutation"
    else:
        p, method = min(1.0, float(res.pvalue)), "asymptotic"
    return WilcoxonResult(statistic=float(res.statistic), p_value=p, method=method, **common)


def benjamini_hochberg(p_values: ArrayLike) -> list[float]:
    """Benjamini–Hochberg adjusted p-values (false discovery rate), in input order.

    Uses ``scipy.stats.false_discovery_control(p, method="bh")``. NaN entries (a slice where no test could
    run) stay NaN and are left out of the number of tests m, so they neither receive nor cause an adjustment.

    Args:
        p_values: One p-value per test, each in [0, 1] or NaN.

    Returns:
        Adjusted p-values, same length and order; reject at FDR level q where the adjusted value is <= q.

    Raises:
        InvalidProbabilityError: A p-value lies outside [0, 1].
    """
    import numpy as np

    try:
        arr = np.asarray(p_values, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidArgumentError("p_values", "is not numeric", "pass a 1-D sequence of p-values") from None
    if arr.ndim != 1:
        raise InvalidArgumentError("p_values", f"has shape {arr.shape}", "pass a 1-D sequence of p-values")
    present = ~np.isnan(arr)
    bad = np.flatnonzero(present & ((arr < 0) | (arr > 1)))
    if bad.size:
        raise InvalidProbabilityError(
            "p_values", f"holds {arr[bad[0]]} at position {bad[0]}", "pass p-values in [0, 1] (NaN for none)"
        )
    adjusted = np.full(arr.shape, np.nan)
    if present.any():
        adjusted[present] = _scipy_stats().false_discovery_control(arr[present], method="bh")
    return [float(x) for x in adjusted]
