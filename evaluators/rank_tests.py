"""Signed-rank test of paired differences and multiple-testing control.

- **Signed-rank test**: Wilcoxon with ``zero_method="pratt"`` (unchanged pairs are ranked, not silently
  dropped), the share unchanged reported, and a recorded null distribution (exact enumeration when few
  pairs changed).
- **Many slices**: Benjamini–Hochberg adjusted p-values; NaN (no test) stays NaN and is not counted.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from routelab.evaluators.arguments import as_sample, check_same_length, scipy_stats
from routelab.evaluators.errors import InvalidArgumentError, InvalidProbabilityError, UnknownOptionError
from routelab.evaluators.estimates import WilcoxonResult, ZeroMethod

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import ArrayLike, NDArray

#: Most changed pairs for which `wilcoxon_paired` enumerates every sign pattern (2**16 of them).
WILCOXON_EXHAUSTIVE_MAX = 16


def _sign_flip_p(diff: NDArray[np.float64], zero_method: ZeroMethod) -> float:
    """Exact two-sided p of R+ over all 2**k sign patterns of the k non-zero differences.

    Flipping the sign of a zero changes nothing, so only the changed pairs are enumerated, whatever n is.
    Ranks come from all |differences| for ``pratt`` and ``zsplit`` (zsplit only adds a constant to R+) and
    from the non-zero ones for ``wilcox``.
    """
    import numpy as np

    stats = scipy_stats()
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
    base_arr, cand_arr = as_sample(base, "base"), as_sample(cand, "cand")
    check_same_length(base_arr, cand_arr, ("base", "cand"))
    diff = cand_arr - base_arr
    n = diff.shape[0]
    n_zero = int((diff == 0).sum())
    common = {"n": n, "n_unchanged": n_zero, "share_unchanged": n_zero / n, "zero_method": zero_method}
    if n_zero == n:
        return WilcoxonResult(statistic=0.0, p_value=1.0, method="none", **common)

    stats = scipy_stats()
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
        adjusted[present] = scipy_stats().false_discovery_control(arr[present], method="bh")
    return [float(x) for x in adjusted]
