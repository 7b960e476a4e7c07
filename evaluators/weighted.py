"""Statistics of a sample given as distinct values with counts, equal to those of the expanded sample.

Drift over millions of requests reads grouped rows (`evaluators.drift_grouped`): each distinct value once,
with how many requests carry it. These functions give what the per-request functions of `drift_stats` and
`quantiles` give on the expanded sample: quantiles exactly as numpy's type-7 computes them, the
Kolmogorov–Smirnov statistic exactly (its p-value as scipy's ``ks_2samp`` computes it: exact for samples of
at most 10,000 values, which are expanded, else Smirnov's asymptotic distribution), means and variances up
to rounding (a sum of value × count instead of numpy's pairwise sum).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from routelab.evaluators.arguments import scipy_stats
from routelab.evaluators.drift_stats import (
    Alternative,
    MeanShift,
    TestResult,
    ks,
    welch_from_moments,
)
from routelab.evaluators.errors import EmptySampleError

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import ArrayLike, NDArray

#: scipy's ``ks_2samp`` computes the exact p-value up to this many values per side (``MAX_AUTO_N``).
KS_EXACT_MAX = 10_000


@dataclass(frozen=True)
class Sample:
    """Sorted distinct finite values and how often each occurs."""

    values: NDArray[np.float64]
    counts: NDArray[np.int64]

    @property
    def n(self) -> int:
        """Values in the expanded sample."""
        return int(self.counts.sum())

    def expand(self) -> NDArray[np.float64]:
        """The expanded, sorted sample (for small samples only)."""
        import numpy as np

        return np.repeat(self.values, self.counts)


def sample(values: ArrayLike, counts: ArrayLike) -> Sample:
    """The sample of `values` (missing ones dropped) each repeated `counts` times, merged and sorted."""
    import numpy as np

    v = np.asarray(values, dtype=np.float64)
    c = np.asarray(counts, dtype=np.int64)
    keep = ~np.isnan(v) & (c > 0)
    uniques, inverse = np.unique(v[keep], return_inverse=True)
    merged = np.bincount(inverse, weights=c[keep], minlength=uniques.size).astype(np.int64)
    return Sample(uniques, merged)


def mean(s: Sample) -> float:
    """The sample mean."""
    import numpy as np

    return float(np.dot(s.values, s.counts) / s.n)


def variance(s: Sample, ddof: int = 0) -> float:
    """The sample variance (two passes: the mean, then the squared deviations)."""
    import numpy as np

    m = mean(s)
    return float(np.dot((s.values - m) ** 2, s.counts) / (s.n - ddof))


def quantiles(s: Sample, qs: tuple[float, ...]) -> list[float]:
    """Type-7 quantiles computed as ``numpy.quantile(expanded, qs, method="linear")`` does, bit for bit.

    Raises:
        EmptySampleError: the sample is empty.
    """
    import numpy as np

    n = s.n
    if n == 0:
        raise EmptySampleError("values", "has no value", "pass a non-empty sample")
    q = np.asarray(qs, dtype=np.float64)
    virtual = (n - 1) * q  # numpy's virtual index of method linear
    lower = np.floor(virtual)
    gamma = virtual - lower
    lo = np.clip(lower, 0, n - 1).astype(np.int64)
    hi = np.clip(lower + 1, 0, n - 1).astype(np.int64)
    lo[virtual >= n - 1] = n - 1
    ends = np.cumsum(s.counts)
    a = s.values[np.searchsorted(ends, lo, side="right")]
    b = s.values[np.searchsorted(ends, hi, side="right")]
    diff = b - a
    out = np.where(gamma >= 0.5, b - diff * (1 - gamma), a + diff * gamma)  # numpy's _lerp
    return [float(x) for x in out]


def ks_test(reference: Sample, current: Sample) -> TestResult:
    """Two-sided two-sample KS test, as `drift_stats.ks` on the expanded samples.

    Raises:
        EmptySampleError: a side is empty.
    """
    import numpy as np

    n1, n2 = reference.n, current.n
    if max(n1, n2) <= KS_EXACT_MAX:
        return ks(reference.expand(), current.expand())
    if min(n1, n2) == 0:
        raise EmptySampleError("reference" if n1 == 0 else "current", "is empty", "pass values")
    grid = np.union1d(reference.values, current.values)
    cdf1, cdf2 = (
        np.concatenate([[0], np.cumsum(x.counts)])[np.searchsorted(x.values, grid, side="right")]
        for x in (reference, current)
    )
    diffs = cdf1 / n1 - cdf2 / n2
    min_s, max_s = float(np.clip(-diffs.min(), 0, 1)), float(diffs.max())
    d = min_s if min_s > max_s else max_s
    m, k = sorted([float(n1), float(n2)], reverse=True)
    prob = scipy_stats().kstwo.sf(d, np.round(m * k / (m + k)))  # scipy's asymptotic branch
    return TestResult(statistic=d, p_value=float(np.clip(prob, 0, 1)), dof=None, test="ks")


def wasserstein_normalised(reference: Sample, current: Sample) -> float:
    """Wasserstein distance / max(population std of the reference, 0.001), as `drift_stats` defines it."""
    distance = scipy_stats().wasserstein_distance(
        reference.values, current.values, reference.counts, current.counts
    )
    return float(distance) / max(math.sqrt(variance(reference)), 0.001)


def welch(
    reference: Sample, current: Sample, *, alternative: Alternative = "two-sided", confidence: float = 0.95
) -> MeanShift:
    """`drift_stats.welch` of the expanded samples.

    Raises:
        EmptySampleError: a side has fewer than 2 values.
    """
    for argument, s in (("reference", reference), ("current", current)):
        if s.n < 2:
            raise EmptySampleError(argument, f"has {s.n} value", "pass at least 2 values for a t-test")
    return welch_from_moments(
        (reference.n, mean(reference), variance(reference, ddof=1)),
        (current.n, mean(current), variance(current, ddof=1)),
        alternative=alternative,
        confidence=confidence,
    )


def binned(reference: Sample, current: Sample, bins: int) -> tuple[list[int], list[int]]:
    """Counts over the reference's `bins`-quantile bins, as `drift_stats._binned` computes them."""
    import numpy as np

    edges = np.unique(quantiles(reference, tuple(np.arange(1, bins) / bins)))
    out = []
    for s in (reference, current):
        where = np.searchsorted(edges, s.values, side="right")
        out.append(np.bincount(where, weights=s.counts, minlength=edges.size + 1).astype(np.int64).tolist())
    return out[0], out[1]
