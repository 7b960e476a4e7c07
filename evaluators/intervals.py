"""Proportions and paired accuracy: Wilson intervals, McNemar's test and Newcombe's paired delta.

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
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Literal

from routelab.evaluators.arguments import (
    as_binary,
    check_confidence,
    check_count,
    check_same_length,
    check_seed,
    scipy_stats,
)
from routelab.evaluators.bootstrap import paired_bootstrap
from routelab.evaluators.errors import InvalidCountError, UnknownOptionError
from routelab.evaluators.estimates import BootstrapEstimate, Estimate, McNemarResult

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

#: Discordant-pair count from which McNemar switches from the exact binomial test to chi-square.
MCNEMAR_EXACT_BELOW = 25


def _wilson_bounds(k: int, n: int, confidence: float) -> tuple[float, float]:
    ci = scipy_stats().binomtest(k, n).proportion_ci(confidence_level=confidence, method="wilson")
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
    k = check_count(k, "k")
    n = check_count(n, "n")
    if k > n:
        raise InvalidCountError("k", f"is {k}, more than n={n}", "pass the successes among the n trials")
    confidence = check_confidence(confidence)
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
    b = check_count(b, "b")
    c = check_count(c, "c")
    exact_below = check_count(exact_below, "exact_below")
    m = b + c
    if m < exact_below:
        p = 1.0
        if m > 0:
            # The null is symmetric at 0.5, so testing min(b, c) gives the same p as testing b and makes the
            # result exactly symmetric in floating point.
            p = min(1.0, float(scipy_stats().binomtest(min(b, c), m, 0.5).pvalue))
        return McNemarResult(b=b, c=c, statistic=None, p_value=p, method="exact", exact_below=exact_below)
    statistic, p = 0.0, 1.0
    if m > 0:
        statistic = max(abs(b - c) - 1, 0) ** 2 / m
        p = float(scipy_stats().chi2.sf(statistic, 1))
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
    base = as_binary(base_correct, "base_correct")
    cand = as_binary(cand_correct, "cand_correct")
    check_same_length(base, cand, ("base_correct", "cand_correct"))
    confidence = check_confidence(confidence)
    if method == "bootstrap":
        check_seed(seed)  # before any work: a missing seed is a usage error, whatever the data
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
            seed=check_seed(seed),
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
