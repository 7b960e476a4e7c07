"""The shared statistics: hand-computed cases, published values (`golden/stats_published.json`), properties.

Expected numbers are computed here from the textbook formulas (Wilson's closed form, binomial sums, rank
enumeration, the BH step-up rule), never by calling the scipy function under test.
"""

from __future__ import annotations

import itertools
import json
import math
import subprocess
import sys
from pathlib import Path
from statistics import NormalDist
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from routelab.evaluators import bootstrap
from routelab.evaluators.bootstrap import paired_bootstrap, paired_bootstrap_pct
from routelab.evaluators.errors import (
    EmptySampleError,
    EvaluatorError,
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
from routelab.evaluators.estimates import BootstrapEstimate, Estimate, McNemarResult, WilcoxonResult
from routelab.evaluators.intervals import mcnemar, paired_accuracy_delta, wilson
from routelab.evaluators.quantiles import quantile
from routelab.evaluators.rank_tests import benjamini_hochberg, wilcoxon_paired

GOLDEN: dict[str, Any] = json.loads((Path(__file__).parent / "golden" / "stats_published.json").read_text())


# ---- builders and hand formulas ---------------------------------------------------------------------


def make_pairs(
    both_right: int, base_only: int, cand_only: int, both_wrong: int
) -> tuple[list[int], list[int]]:
    """Correctness vectors (base, cand) with the given 2×2 table: a, b (base right only), c, d."""
    base = [1] * both_right + [1] * base_only + [0] * cand_only + [0] * both_wrong
    cand = [1] * both_right + [0] * base_only + [1] * cand_only + [0] * both_wrong
    return base, cand


def z_of(confidence: float) -> float:
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def wilson_by_hand(k: int, n: int, confidence: float) -> tuple[float, float]:
    """Wilson's closed form: (p + z²/2n ± z·sqrt(p(1−p)/n + z²/4n²)) / (1 + z²/n)."""
    z, p = z_of(confidence), k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def exact_mcnemar_by_hand(b: int, c: int) -> float:
    """Two-sided exact binomial test at 0.5: 2 · P(X <= min(b, c)), X ~ Bin(b + c, 1/2), capped at 1."""
    m = b + c
    return min(1.0, 2 * sum(math.comb(m, i) for i in range(min(b, c) + 1)) / 2**m)


def bh_by_hand(p_values: list[float]) -> list[float]:
    """Step-up rule: sorted p_(i) · m / i, then the running minimum from the largest down."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 1.0
    for rank in range(m, 0, -1):
        i = order[rank - 1]
        running = min(running, p_values[i] * m / rank)
        adjusted[i] = running
    return adjusted


def contains(est: Estimate) -> bool:
    assert est.value is not None
    return est.ci_low <= est.value <= est.ci_high


# ---- Wilson -----------------------------------------------------------------------------------------

WILSON_HAND = {
    "8of10": (8, 10, 0.95),
    "1of3": (1, 3, 0.95),
    "50of100-90": (50, 100, 0.90),
    "3of7-99": (3, 7, 0.99),
}


@pytest.mark.parametrize(("k", "n", "confidence"), WILSON_HAND.values(), ids=WILSON_HAND.keys())
def test_wilson_matches_the_closed_form(k: int, n: int, confidence: float) -> None:
    est = wilson(k, n, confidence)
    low, high = wilson_by_hand(k, n, confidence)
    assert est.value == pytest.approx(k / n)
    assert (est.ci_low, est.ci_high) == pytest.approx((low, high), abs=1e-12)
    assert (est.n, est.method, est.confidence) == (n, "wilson", confidence)


def test_wilson_8_of_10_is_the_textbook_interval() -> None:
    est = wilson(8, 10)
    assert (round(est.ci_low, 4), round(est.ci_high, 4)) == (0.4902, 0.9433)


@pytest.mark.parametrize("case", GOLDEN["wilson"], ids=[c["id"] for c in GOLDEN["wilson"]])
def test_wilson_reproduces_published_intervals(case: dict[str, Any]) -> None:
    est = wilson(case["k"], case["n"], case["confidence"])
    assert (est.ci_low, est.ci_high) == pytest.approx((case["ci_low"], case["ci_high"]), abs=5e-5)


def test_wilson_without_trials_is_undefined_over_the_whole_range() -> None:
    assert wilson(0, 0) == Estimate(value=None, ci_low=0.0, ci_high=1.0, n=0, method="wilson")


def test_wilson_ends_at_zero_and_one_exactly() -> None:
    assert wilson(0, 10).ci_low == 0.0
    assert wilson(10, 10).ci_high == 1.0


@given(
    st.integers(0, 5000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))), st.floats(0.5, 0.999)
)
def test_wilson_interval_contains_its_estimate(kn: tuple[int, int], confidence: float) -> None:
    k, n = kn
    est = wilson(k, n, confidence)
    if n == 0:
        assert est.value is None
    else:
        assert 0.0 <= est.ci_low <= est.value <= est.ci_high <= 1.0  # type: ignore[operator]


WILSON_ERRORS = {
    "negative-k": ((-1, 10), InvalidCountError, "k"),
    "k-above-n": ((11, 10), InvalidCountError, "k"),
    "negative-n": ((0, -1), InvalidCountError, "n"),
    "float-k": ((2.5, 10), InvalidCountError, "k"),
    "bool-n": ((1, True), InvalidCountError, "n"),
    "confidence-1": ((1, 10, 1.0), InvalidConfidenceError, "confidence"),
    "confidence-0": ((1, 10, 0.0), InvalidConfidenceError, "confidence"),
    "confidence-percent": ((1, 10, 95), InvalidConfidenceError, "confidence"),
    "confidence-nan": ((1, 10, math.nan), InvalidConfidenceError, "confidence"),
}


@pytest.mark.parametrize(("args", "error", "argument"), WILSON_ERRORS.values(), ids=WILSON_ERRORS.keys())
def test_wilson_rejects_bad_input(args: tuple[Any, ...], error: type[Exception], argument: str) -> None:
    with pytest.raises(error, match=rf"^{argument}: ") as info:
        wilson(*args)
    assert isinstance(info.value, EvaluatorError)
    assert isinstance(info.value, InvalidArgumentError)
    assert info.value.argument == argument


# ---- McNemar ----------------------------------------------------------------------------------------


def test_mcnemar_exact_small_counts() -> None:
    res = mcnemar(1, 6)
    assert res.p_value == pytest.approx(0.125)  # 2 · (1 + 7) / 2**7
    assert res.p_value == pytest.approx(exact_mcnemar_by_hand(1, 6))
    assert (res.method, res.statistic, res.test) == ("exact", None, "mcnemar-exact")


MCNEMAR_EXACT = {
    "6-16": (6, 16),
    "0-5": (0, 5),
    "3-3": (3, 3),
    "0-24": (0, 24),
    "12-12": (12, 12),
    "1-0": (1, 0),
}


@pytest.mark.parametrize(("b", "c"), MCNEMAR_EXACT.values(), ids=MCNEMAR_EXACT.keys())
def test_mcnemar_exact_matches_the_binomial_sum(b: int, c: int) -> None:
    res = mcnemar(b, c)
    assert res.method == "exact"
    assert res.p_value == pytest.approx(exact_mcnemar_by_hand(b, c), rel=1e-12)


def test_mcnemar_switches_to_corrected_chi_square_at_25_discordant_pairs() -> None:
    assert mcnemar(0, 24).method == "exact"
    res = mcnemar(10, 25)
    assert res.method == "chi-square-cc"
    assert res.statistic == pytest.approx(5.6)  # (|10 − 25| − 1)² / 35
    # chi-square on 1 df: P(X > x) = P(|Z| > sqrt(x)) = erfc(sqrt(x / 2))
    assert res.p_value == pytest.approx(math.erfc(math.sqrt(5.6 / 2)), rel=1e-12)


def test_mcnemar_threshold_is_configurable() -> None:
    assert mcnemar(1, 6, exact_below=0).method == "chi-square-cc"
    assert mcnemar(1, 6, exact_below=0).statistic == pytest.approx(16 / 7)  # (5 − 1)² / 7
    assert mcnemar(40, 60, exact_below=1000).method == "exact"


def test_mcnemar_correction_never_crosses_zero() -> None:
    res = mcnemar(30, 30)
    assert (res.statistic, res.p_value) == (0.0, 1.0)
    assert mcnemar(30, 31).statistic == 0.0


def test_mcnemar_without_discordant_pairs_has_p_one() -> None:
    assert mcnemar(0, 0).p_value == 1.0


@given(st.integers(0, 400), st.integers(0, 400), st.integers(0, 60))
def test_mcnemar_is_symmetric_in_b_and_c(b: int, c: int, exact_below: int) -> None:
    one, other = mcnemar(b, c, exact_below=exact_below), mcnemar(c, b, exact_below=exact_below)
    assert one.p_value == other.p_value
    assert one.statistic == other.statistic
    assert 0.0 <= one.p_value <= 1.0


@pytest.mark.parametrize(("b", "c", "argument"), [(-1, 2, "b"), (2, -1, "c"), (1.5, 2, "b")])
def test_mcnemar_rejects_bad_counts(b: Any, c: Any, argument: str) -> None:
    with pytest.raises(InvalidCountError, match=rf"^{argument}: "):
        mcnemar(b, c)


# ---- paired accuracy delta --------------------------------------------------------------------------


@pytest.mark.parametrize("case", GOLDEN["paired_accuracy"], ids=[c["id"] for c in GOLDEN["paired_accuracy"]])
def test_paired_accuracy_delta_reproduces_newcombe_published(case: dict[str, Any]) -> None:
    base, cand = make_pairs(case["both_right"], case["base_only"], case["cand_only"], case["both_wrong"])
    est = paired_accuracy_delta(base, cand, confidence=case["confidence"])
    assert est.value == pytest.approx(case["value"], abs=5e-5)
    assert (est.ci_low, est.ci_high) == pytest.approx((case["ci_low"], case["ci_high"]), abs=5e-5)
    # Swapping the versions mirrors the interval.
    swapped = paired_accuracy_delta(cand, base, confidence=case["confidence"])
    assert (swapped.ci_low, swapped.ci_high) == pytest.approx((-est.ci_high, -est.ci_low), abs=1e-12)


def test_paired_accuracy_delta_by_hand_with_an_empty_margin() -> None:
    # Both versions right on all 5: phi = 0 (a margin is empty), so each side is the Wilson distance of 5/5.
    est = paired_accuracy_delta([1] * 5, [True] * 5)
    low, _ = wilson_by_hand(5, 5, 0.95)
    assert est.value == 0.0
    assert (est.ci_low, est.ci_high) == pytest.approx((low - 1, 1 - low), abs=1e-12)
    assert (est.p_value, est.test, est.method) == (1.0, "mcnemar-exact", "newcombe-paired-score")


def test_paired_accuracy_delta_by_hand_with_negative_association() -> None:
    # a=1, b=2, c=3, d=0: n=6, ad − bc = −6 < 0 so phi = −6 / sqrt(3·3·4·2) = −1/sqrt(2).
    base, cand = make_pairs(1, 2, 3, 0)
    est = paired_accuracy_delta(base, cand)
    p_base, p_cand, phi = 3 / 6, 4 / 6, -6 / math.sqrt(3 * 3 * 4 * 2)
    l_b, u_b = wilson_by_hand(3, 6, 0.95)
    l_c, u_c = wilson_by_hand(4, 6, 0.95)
    lower = (p_cand - p_base) - math.sqrt(
        (p_cand - l_c) ** 2 + (u_b - p_base) ** 2 - 2 * phi * (p_cand - l_c) * (u_b - p_base)
    )
    upper = (p_cand - p_base) + math.sqrt(
        (u_c - p_cand) ** 2 + (p_base - l_b) ** 2 - 2 * phi * (u_c - p_cand) * (p_base - l_b)
    )
    assert est.value == pytest.approx(1 / 6)
    assert (est.ci_low, est.ci_high) == pytest.approx((lower, upper), abs=1e-12)
    assert est.p_value == pytest.approx(exact_mcnemar_by_hand(2, 3))


def test_paired_accuracy_delta_of_identical_versions_is_zero_with_p_one() -> None:
    base, _ = make_pairs(7, 0, 0, 3)
    est = paired_accuracy_delta(base, base)
    assert (est.value, est.p_value) == (0.0, 1.0)
    assert est.ci_low <= 0.0 <= est.ci_high


def test_paired_accuracy_delta_without_requests() -> None:
    est = paired_accuracy_delta([], [])
    assert (est.value, est.ci_low, est.ci_high, est.n, est.p_value) == (None, -1.0, 1.0, 0, 1.0)


def test_paired_accuracy_delta_bootstrap_option_records_its_seed() -> None:
    base, cand = make_pairs(30, 4, 9, 7)
    est = paired_accuracy_delta(base, cand, method="bootstrap", seed=7, n_resamples=500)
    assert isinstance(est, BootstrapEstimate)
    assert (est.method, est.seed, est.n_resamples, est.test) == (
        "bootstrap-percentile",
        7,
        500,
        "mcnemar-exact",
    )
    assert est.value == pytest.approx(5 / 50)
    assert est == paired_accuracy_delta(base, cand, method="bootstrap", seed=7, n_resamples=500)
    with pytest.raises(MissingSeedError, match=r"^seed: "):
        paired_accuracy_delta(base, cand, method="bootstrap")


def test_a_quantile_interval_may_leave_out_a_discrete_estimate() -> None:
    """Percentile intervals of a median need not contain the observed median delta on discrete data.

    Base 12 zeros and 11 ones (median 0), candidate 11 zeros and 12 ones (median 1): one pair moves the
    median, so most resamples see a delta of 0 and the central half of them is [0, 0] while the observed delta
    is 1. The estimate and its interval are reported as they are (hypothesis found this case); only smooth
    statistics (mean, sum) are checked for containment above.
    """
    base = [0.0] * 12 + [1.0] * 11
    cand = [0.0] * 11 + [1.0] * 12
    est = paired_bootstrap(base, cand, statistic="p50", n_resamples=400, seed=0, confidence=0.5)
    assert est.value == 1.0
    assert (est.ci_low, est.ci_high) == (0.0, 0.0)


@settings(max_examples=60)
@given(st.lists(st.tuples(st.booleans(), st.booleans()), min_size=1, max_size=200), st.floats(0.5, 0.99))
def test_paired_accuracy_delta_interval_contains_its_estimate(
    pairs: list[tuple[bool, bool]], conf: float
) -> None:
    base, cand = [p[0] for p in pairs], [p[1] for p in pairs]
    est = paired_accuracy_delta(base, cand, confidence=conf)
    assert contains(est)
    assert -1.0 <= est.ci_low <= est.ci_high <= 1.0


PAIRED_ERRORS = {
    "length": (([1, 0], [1]), {}, LengthMismatchError, "cand_correct"),
    "not-binary": (([1, 2], [1, 0]), {}, NotBinaryError, "base_correct"),
    "nan": (([1, 0], [1, math.nan]), {}, NotBinaryError, "cand_correct"),
    "text": ((["yes"], [1]), {}, NotBinaryError, "base_correct"),
    "method": (([1], [1]), {"method": "wald"}, UnknownOptionError, "method"),
    "confidence": (([1], [1]), {"confidence": 1.5}, InvalidConfidenceError, "confidence"),
}


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "argument"), PAIRED_ERRORS.values(), ids=PAIRED_ERRORS.keys()
)
def test_paired_accuracy_delta_rejects_bad_input(
    args: tuple[Any, ...], kwargs: dict[str, Any], error: type[Exception], argument: str
) -> None:
    with pytest.raises(error, match=rf"^{argument}: "):
        paired_accuracy_delta(*args, **kwargs)


# ---- quantile ---------------------------------------------------------------------------------------

QUANTILES = {
    "p95-of-4": ([1, 2, 3, 4], 0.95, 3.85),  # h = 3 · 0.95 = 2.85: 3 + 0.85 · (4 − 3)
    "median-even": ([4, 1, 3, 2], 0.5, 2.5),
    "median-odd": ([5, 1, 3], 0.5, 3.0),
    "min": ([2, 9, 4], 0.0, 2.0),
    "max": ([2, 9, 4], 1.0, 9.0),
    "single": ([7], 0.95, 7.0),
    "p25-of-5": ([10, 20, 30, 40, 50], 0.25, 20.0),
    "inf-above": ([1, 2, math.inf], 0.75, math.inf),  # between 2 and +inf
    "inf-not-reached": ([1, 2, math.inf], 0.5, 2.0),
    "minus-inf-below": ([-math.inf, 1, 2], 0.25, -math.inf),
}


@pytest.mark.parametrize(("values", "q", "expected"), QUANTILES.values(), ids=QUANTILES.keys())
def test_quantile_by_hand(values: list[float], q: float, expected: float) -> None:
    assert quantile(values, q) == pytest.approx(expected)


@given(
    st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=50),
    st.floats(0.0, 1.0),
)
def test_quantile_is_numpys_linear_definition(values: list[float], q: float) -> None:
    assert quantile(values, q) == np.quantile(np.asarray(values), q)


@pytest.mark.parametrize(
    ("values", "q", "error"),
    [
        ([], 0.5, EmptySampleError),
        ([1.0], 1.5, InvalidProbabilityError),
        ([1.0, math.nan], 0.5, NonFiniteValueError),
    ],
    ids=["empty", "q-above-1", "nan"],
)
def test_quantile_rejects_bad_input(values: list[float], q: float, error: type[Exception]) -> None:
    with pytest.raises(error):
        quantile(values, q)


# ---- paired bootstrap -------------------------------------------------------------------------------

SAMPLES = np.random.default_rng(0).exponential(1.0, size=80)


def test_bootstrap_sum_of_two_pairs_by_hand() -> None:
    # Differences (0, 2): a resample's summed difference is 0, 2 or 4 with chances 1/4, 1/2, 1/4, so the
    # 2.5 % and 97.5 % quantiles of thousands of resamples are 0 and 4.
    est = paired_bootstrap([1.0, 1.0], [1.0, 3.0], statistic="sum", n_resamples=4000, seed=1)
    assert (est.value, est.ci_low, est.ci_high) == (2.0, 0.0, 4.0)
    assert (est.n, est.statistic, est.scale, est.method) == (2, "sum", "absolute", "bootstrap-percentile")


def test_bootstrap_constant_shift_has_a_zero_width_interval() -> None:
    est = paired_bootstrap([1, 2, 4, 8], [3, 4, 6, 10], statistic="mean", seed=3)
    assert (est.value, est.ci_low, est.ci_high) == pytest.approx((2.0, 2.0, 2.0))


@pytest.mark.parametrize("statistic", ["mean", "sum", "p50", "p95"])
def test_bootstrap_point_estimate_is_the_statistic_difference(statistic: str) -> None:
    cand = SAMPLES * 1.2 + 0.1
    est = paired_bootstrap(SAMPLES, cand, statistic=statistic, n_resamples=300, seed=2)  # type: ignore[arg-type]
    named = {
        "mean": np.mean,
        "sum": np.sum,
        "p50": lambda x: quantile(x, 0.5),
        "p95": lambda x: quantile(x, 0.95),
    }[statistic]
    assert est.value == pytest.approx(float(named(cand)) - float(named(SAMPLES)))
    assert contains(est)
    assert est.ci_low > 0  # every request got dearer


def test_bootstrap_is_reproducible_and_depends_on_the_seed() -> None:
    cand = SAMPLES + np.random.default_rng(1).normal(0, 0.5, size=SAMPLES.size)
    first = paired_bootstrap(SAMPLES, cand, seed=11)
    assert first == paired_bootstrap(SAMPLES, cand, seed=11)
    other = paired_bootstrap(SAMPLES, cand, seed=12)
    assert (other.ci_low, other.ci_high) != (first.ci_low, first.ci_high)
    assert (first.seed, first.n_resamples, other.seed) == (11, 2000, 12)


def test_bootstrap_does_not_depend_on_the_block_size(monkeypatch: pytest.MonkeyPatch) -> None:
    cand = SAMPLES[::-1].copy()
    whole = paired_bootstrap(SAMPLES, cand, statistic="p95", n_resamples=500, seed=5)
    monkeypatch.setattr(bootstrap, "_BLOCK_ELEMENTS", 3 * SAMPLES.size + 1)  # blocks of 3 resamples
    assert paired_bootstrap(SAMPLES, cand, statistic="p95", n_resamples=500, seed=5) == whole


@pytest.mark.parametrize("compress", [True, False], ids=["counted", "rows"])
def test_bootstrap_does_not_depend_on_the_thread_count(
    compress: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chunks of resamples draw from their own streams, so threads change the speed, never the draws."""
    rng = np.random.default_rng(6)
    base = rng.choice([1.0, 2.5, 4.0, 9.0], size=400)
    cand = np.where(rng.random(400) < 0.4, rng.choice([0.5, 3.0], size=400), base)
    # 8 distinct pairs in 400 requests: resampled by counts unless forced to resample request indices
    monkeypatch.setattr(bootstrap, "_COMPRESS_RATIO", 8 if compress else 10**12)
    monkeypatch.setattr(bootstrap, "_THREADS", 1)
    specs = [("sum", "absolute"), ("sum", "percent"), ("p50", "absolute"), ("p95", "absolute")]
    serial = bootstrap.paired_bootstrap_set(base, cand, specs, n_resamples=1100, seed=9)
    monkeypatch.setattr(bootstrap, "_THREADED_ELEMENTS", 0)  # thread even this small sample
    for threads in (2, 3):
        monkeypatch.setattr(bootstrap, "_THREADS", threads)
        assert bootstrap.paired_bootstrap_set(base, cand, specs, n_resamples=1100, seed=9) == serial


def test_bootstrap_interval_narrows_with_lower_confidence() -> None:
    cand = SAMPLES + np.random.default_rng(4).normal(0, 1, size=SAMPLES.size)
    wide = paired_bootstrap(SAMPLES, cand, confidence=0.99, seed=1)
    narrow = paired_bootstrap(SAMPLES, cand, confidence=0.80, seed=1)
    assert wide.ci_low < narrow.ci_low <= narrow.ci_high < wide.ci_high


def test_bootstrap_accepts_a_vectorised_callable() -> None:
    def worst(x: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        return x.max(axis=-1)

    est = paired_bootstrap([1, 2, 3], [1, 2, 5], statistic=worst, n_resamples=200, seed=0)
    assert (est.statistic, est.value) == ("worst", 2.0)
    assert contains(est)


def test_bootstrap_rejects_a_callable_that_does_not_reduce() -> None:
    with pytest.raises(InvalidArgumentError, match=r"^statistic: returned shape"):
        paired_bootstrap([1, 2], [1, 3], statistic=lambda x: x, seed=0)


BOOTSTRAP_ERRORS = {
    "length": (([1, 2], [1]), {"seed": 0}, LengthMismatchError, "cand"),
    "empty": (([], []), {"seed": 0}, EmptySampleError, "base"),
    "nan": (([1, math.nan], [1, 2]), {"seed": 0}, NonFiniteValueError, "base"),
    "inf": (([1, 2], [1, math.inf]), {"seed": 0}, NonFiniteValueError, "cand"),
    "2-d": (([[1, 2]], [[1, 2]]), {"seed": 0}, InvalidArgumentError, "base"),
    "statistic": (([1], [1]), {"seed": 0, "statistic": "p99"}, UnknownOptionError, "statistic"),
    "resamples": (([1], [1]), {"seed": 0, "n_resamples": 0}, InvalidCountError, "n_resamples"),
    "seed-negative": (([1], [1]), {"seed": -1}, InvalidCountError, "seed"),
    "seed-none": (([1], [1]), {"seed": None}, MissingSeedError, "seed"),
    "confidence": (([1], [1]), {"seed": 0, "confidence": 0}, InvalidConfidenceError, "confidence"),
}


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "argument"), BOOTSTRAP_ERRORS.values(), ids=BOOTSTRAP_ERRORS.keys()
)
def test_bootstrap_rejects_bad_input(
    args: tuple[Any, ...], kwargs: dict[str, Any], error: type[Exception], argument: str
) -> None:
    with pytest.raises(error, match=rf"^{argument}: ") as info:
        paired_bootstrap(*args, **kwargs)
    assert "p50" not in str(info.value) or argument == "statistic"


def test_unknown_statistic_lists_the_known_ones() -> None:
    with pytest.raises(UnknownOptionError, match="mean, p50, p95, sum"):
        paired_bootstrap([1], [1], statistic="p99", seed=0)  # type: ignore[arg-type]


finite = st.floats(-1e3, 1e3, allow_nan=False).map(lambda x: round(x, 2))
paired_samples = st.integers(1, 30).flatmap(
    lambda n: st.tuples(st.lists(finite, min_size=n, max_size=n), st.lists(finite, min_size=n, max_size=n))
)


STATISTIC_NAMES = ["mean", "sum", "p50", "p95"]
positive = st.floats(0.01, 1e3, allow_nan=False).map(lambda x: round(x, 2))
positive_samples = st.integers(1, 30).flatmap(
    lambda n: st.tuples(
        st.lists(positive, min_size=n, max_size=n), st.lists(positive, min_size=n, max_size=n)
    )
)


def rounding_slack(*samples: list[float]) -> float:
    """Room for summation-order rounding between the point estimate and the resampled statistics."""
    return 1e-9 * max(1.0, *(abs(v) for sample in samples for v in sample)) * len(samples[0])


@settings(max_examples=80)
@given(paired_samples, st.sampled_from(["mean", "sum"]), st.integers(0, 2**32), st.floats(0.5, 0.99))
def test_bootstrap_interval_contains_its_estimate(
    samples: tuple[list[float], list[float]], statistic: Any, seed: int, confidence: float
) -> None:
    base, cand = samples
    est = paired_bootstrap(base, cand, statistic=statistic, n_resamples=400, seed=seed, confidence=confidence)
    tol = rounding_slack(base, cand)
    assert est.value is not None
    assert est.ci_low - tol <= est.value <= est.ci_high + tol


@settings(max_examples=60)
@given(positive_samples, st.sampled_from(STATISTIC_NAMES), st.integers(0, 2**32))
def test_bootstrap_pct_interval_contains_its_estimate(
    samples: tuple[list[float], list[float]], statistic: Any, seed: int
) -> None:
    base, cand = samples
    est = paired_bootstrap_pct(base, cand, statistic=statistic, n_resamples=400, seed=seed)
    assert est.value is not None
    tol = 1e-9 * max(1.0, abs(est.value))
    assert est.ci_low - tol <= est.value <= est.ci_high + tol


@settings(max_examples=40)
@given(
    st.lists(finite, min_size=1, max_size=30),
    st.sampled_from(["mean", "sum", "p50", "p95"]),
    st.integers(0, 99),
)
def test_identical_samples_give_a_zero_delta_with_a_zero_width_interval(
    values: list[float], statistic: str, seed: int
) -> None:
    est = paired_bootstrap(values, values, statistic=statistic, n_resamples=200, seed=seed)  # type: ignore[arg-type]
    assert (est.value, est.ci_low, est.ci_high) == (0.0, 0.0, 0.0)
    assert mcnemar(0, 0).p_value == 1.0
    assert wilcoxon_paired(values, values).p_value == 1.0
    flags = [v > 0 for v in values]
    assert paired_accuracy_delta(flags, flags).p_value == 1.0


# ---- percent change ---------------------------------------------------------------------------------


def test_bootstrap_pct_by_hand() -> None:
    est = paired_bootstrap_pct([1.0, 2.0, 3.0], [2.0, 4.0, 6.0], seed=0)
    assert (est.value, est.ci_low, est.ci_high) == pytest.approx((100.0, 100.0, 100.0))
    assert est.scale == "percent"
    halved = paired_bootstrap_pct([2, 4], [1, 2], statistic="sum", seed=0)
    assert halved.value == pytest.approx(-50.0)


def test_bootstrap_pct_draws_the_same_resamples_as_the_absolute_version() -> None:
    cand = SAMPLES * np.random.default_rng(2).uniform(0.5, 1.5, SAMPLES.size)
    absolute = paired_bootstrap(SAMPLES, cand, n_resamples=300, seed=9)
    relative = paired_bootstrap_pct(SAMPLES, cand, n_resamples=300, seed=9)
    assert relative.value == pytest.approx(100 * absolute.value / SAMPLES.mean())  # type: ignore[operator]
    assert (relative.seed, relative.n_resamples) == (absolute.seed, absolute.n_resamples)


def test_bootstrap_pct_unbounded_when_resampled_baselines_hit_zero() -> None:
    # A resample's base mean is 0 whenever only the three zero requests are drawn: chance (3/4)**4 ≈ 32 %.
    est = paired_bootstrap_pct([0, 0, 0, 4], [1, 0, 0, 4], seed=3)
    assert est.value == pytest.approx(25.0)
    assert est.ci_high == math.inf
    assert est.ci_low == 0.0  # resamples of the unchanged zero requests only: 0 → 0 counts as no change


def test_bootstrap_pct_of_nothing_to_nothing_is_no_change() -> None:
    est = paired_bootstrap_pct([0, 0], [0, 0], seed=0)
    assert (est.value, est.ci_low, est.ci_high) == (0.0, 0.0, 0.0)


def test_bootstrap_pct_with_zero_baseline_raises() -> None:
    with pytest.raises(ZeroBaselineError, match="base mean is 0"):
        paired_bootstrap_pct([0, 0], [1, 0], seed=0)


# ---- Wilcoxon ---------------------------------------------------------------------------------------


def signed_rank_p_by_enumeration(diffs: list[float], zero_method: str = "pratt") -> float:
    """Exact two-sided p of R+ by flipping the signs of the non-zero differences' ranks.

    Ranks are average ranks of |d| over every pair (pratt) or over the non-zero pairs only (wilcox).
    """
    pool = sorted(abs(d) for d in diffs if zero_method == "pratt" or d != 0)
    first = {v: pool.index(v) + 1 for v in set(pool)}
    rank = {v: first[v] + (pool.count(v) - 1) / 2 for v in set(pool)}
    nonzero = [rank[abs(d)] for d in diffs if d != 0]
    observed = sum(rank[abs(d)] for d in diffs if d > 0)
    sums = [
        sum(r for r, s in zip(nonzero, signs, strict=True) if s)
        for signs in itertools.product([0, 1], repeat=len(nonzero))
    ]
    greater = sum(s >= observed for s in sums) / len(sums)
    less = sum(s <= observed for s in sums) / len(sums)
    return min(1.0, 2 * min(greater, less))


def test_wilcoxon_pratt_small_sample_by_enumeration() -> None:
    base = [0.0] * 6
    cand = [0.0, 1.0, 2.0, -3.0, 4.0, 5.0]
    res = wilcoxon_paired(base, cand)
    # |d| ranks with the zero included: 1..6; the zero's rank is then dropped. R+ = 2+3+5+6 = 16, R− = 4.
    assert res.statistic == 4.0
    assert res.p_value == pytest.approx(signed_rank_p_by_enumeration(cand))
    assert res.p_value == pytest.approx(0.25)  # P(R+ >= 16) = 4/32 of the 2**5 sign patterns, doubled
    assert (res.n, res.n_unchanged, res.zero_method, res.method) == (6, 1, "pratt", "permutation")
    assert res.share_unchanged == pytest.approx(1 / 6)


def test_wilcoxon_exact_without_zeros_or_ties() -> None:
    res = wilcoxon_paired([0, 0, 0, 0, 0], [1, 2, 3, 4, 5])
    assert (res.statistic, res.method) == (0.0, "exact")
    assert res.p_value == pytest.approx(2 / 32)  # all five signs positive, two-sided


def test_wilcoxon_large_sample_uses_the_normal_approximation() -> None:
    diffs = np.arange(1, 61, dtype=float)
    diffs[::3] *= -1
    res = wilcoxon_paired(np.zeros(60), diffs)
    r_plus = float(np.arange(1, 61)[diffs > 0].sum())
    mean, sd = 60 * 61 / 4, math.sqrt(60 * 61 * 121 / 24)
    z = (r_plus - mean) / sd
    assert res.method == "asymptotic"
    assert res.p_value == pytest.approx(math.erfc(abs(z) / math.sqrt(2)), rel=1e-9)


def test_wilcoxon_few_changes_among_many_pairs_is_exact() -> None:
    # 1000 requests, 5 changed: the normal approximation would say p ≈ 0.18; enumerating the 2**5 sign
    # patterns gives the exact 4/32 (only "all positive" and "only the smallest negative" are as extreme).
    cand = [1.0, 2.0, -0.5, 3.0, 4.0] + [0.0] * 995
    res = wilcoxon_paired([0.0] * 1000, cand)
    assert (res.method, res.n_unchanged) == ("permutation", 995)
    assert res.p_value == pytest.approx(0.125)
    assert res.p_value == pytest.approx(signed_rank_p_by_enumeration(cand))


@pytest.mark.parametrize("zero_method", ["pratt", "wilcox"])
def test_wilcoxon_zero_method_matters_and_is_recorded(zero_method: Any) -> None:
    base = [0.0] * 20
    cand = [0.0] * 12 + [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, -0.5]
    res = wilcoxon_paired(base, cand, zero_method=zero_method)
    assert (res.zero_method, res.method) == (zero_method, "permutation")
    assert res.p_value == pytest.approx(signed_rank_p_by_enumeration(cand, zero_method))
    assert res.share_unchanged == pytest.approx(0.6)


def test_wilcoxon_zero_methods_differ_and_zsplit_tests_like_pratt() -> None:
    cand = [0.0, 0.0, 0.0, 1.0, 2.0, -3.0, 4.0, 5.0]
    by_method = {m: wilcoxon_paired([0.0] * 8, cand, zero_method=m) for m in ("pratt", "zsplit", "wilcox")}
    assert by_method["pratt"].p_value != by_method["wilcox"].p_value
    # zsplit adds half the zeros' ranks to both R+ and R−: a constant shift, same sign-flip p-value.
    assert by_method["zsplit"].p_value == pytest.approx(by_method["pratt"].p_value)
    assert by_method["zsplit"].statistic == by_method["pratt"].statistic + (1 + 2 + 3) / 2


def test_wilcoxon_all_unchanged_is_p_one() -> None:
    res = wilcoxon_paired([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    assert (res.statistic, res.p_value, res.share_unchanged, res.method) == (0.0, 1.0, 1.0, "none")


def test_wilcoxon_rejects_bad_input() -> None:
    with pytest.raises(UnknownOptionError, match=r"^zero_method: .*pratt, wilcox, zsplit"):
        wilcoxon_paired([1], [2], zero_method="drop")  # type: ignore[arg-type]
    with pytest.raises(LengthMismatchError, match=r"^cand: has 1 values but base has 2"):
        wilcoxon_paired([1, 2], [2])


# ---- Benjamini–Hochberg -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "case", GOLDEN["benjamini_hochberg"], ids=[c["id"] for c in GOLDEN["benjamini_hochberg"]]
)
def test_bh_textbook_example(case: dict[str, Any]) -> None:
    adjusted = benjamini_hochberg(case["p_values"])
    assert adjusted == pytest.approx(bh_by_hand(case["p_values"]), rel=1e-12)
    assert sum(a <= case["alpha"] for a in adjusted) == case["n_rejected"]
    # The first values by hand: 0.0001·15 = 0.0015, 0.0004·15/2 = 0.003, 0.0019·5, 0.0095·15/4 = 0.035625;
    # p_(6) = 0.0278·15/6 = 0.0695 is lowered to p_(7)'s 0.0298·15/7.
    assert adjusted[:4] == pytest.approx([0.0015, 0.003, 0.0095, 0.035625])
    assert adjusted[5] == pytest.approx(0.0298 * 15 / 7)


def test_bh_small_example_in_input_order() -> None:
    assert benjamini_hochberg([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.02, 0.04, 0.04, 0.02])


def test_bh_nan_stays_nan_and_is_not_counted() -> None:
    adjusted = benjamini_hochberg([0.01, math.nan, 0.04, 0.03, 0.005])
    assert math.isnan(adjusted[1])
    assert [adjusted[i] for i in (0, 2, 3, 4)] == pytest.approx([0.02, 0.04, 0.04, 0.02])  # m = 4, not 5
    assert all(math.isnan(a) for a in benjamini_hochberg([math.nan, math.nan]))
    assert benjamini_hochberg([]) == []


@given(st.lists(st.one_of(st.floats(0, 1), st.just(math.nan)), max_size=40))
def test_bh_properties(p_values: list[float]) -> None:
    adjusted = benjamini_hochberg(p_values)
    present = [(p, a) for p, a in zip(p_values, adjusted, strict=True) if not math.isnan(p)]
    assert all(math.isnan(a) for p, a in zip(p_values, adjusted, strict=True) if math.isnan(p))
    assert [a for _, a in present] == pytest.approx(bh_by_hand([p for p, _ in present]), rel=1e-9, abs=1e-15)
    for p, a in present:
        assert p <= a + 1e-15
        assert a <= 1.0
    for (p1, a1), (p2, a2) in itertools.combinations(present, 2):
        if p1 < p2:
            assert a1 <= a2


@pytest.mark.parametrize("bad", [1.5, -0.1, math.inf])
def test_bh_rejects_p_values_outside_0_1(bad: float) -> None:
    with pytest.raises(InvalidProbabilityError, match=r"^p_values: .* at position 1"):
        benjamini_hochberg([0.5, bad])


# ---- result types and import cost -------------------------------------------------------------------

MODELS = [Estimate, BootstrapEstimate, McNemarResult, WilcoxonResult]


@pytest.mark.parametrize("model", MODELS, ids=[m.__name__ for m in MODELS])
def test_result_models_are_frozen_strict_and_documented(model: type[BaseModel]) -> None:
    assert model.model_config.get("frozen") is True
    assert model.model_config.get("extra") == "forbid"
    assert model.__doc__
    undocumented = [name for name, field in model.model_fields.items() if not field.description]
    assert not undocumented


def test_estimate_cannot_change_or_grow() -> None:
    est = wilson(3, 4)
    with pytest.raises(ValidationError):
        est.value = 0.5  # type: ignore[misc]
    with pytest.raises(ValidationError):
        Estimate(value=0.5, ci_low=0, ci_high=1, n=2, method="x", extra_field=1)  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="p_value and test go together"):
        Estimate(value=0.5, ci_low=0, ci_high=1, n=2, method="x", p_value=0.3)


def test_estimate_serialises_to_the_cli_shape() -> None:
    dumped = wilson(8, 10).model_dump(include={"value", "ci_low", "ci_high", "n", "p_value"})
    assert set(dumped) == {"value", "ci_low", "ci_high", "n", "p_value"}


def test_importing_the_types_does_not_load_numpy_or_scipy() -> None:
    code = (
        "import sys; import routelab.evaluators.errors; "
        "from routelab.evaluators import arguments, bootstrap, estimates, intervals, quantiles, rank_tests; "
        "print(sorted({m.partition('.')[0] for m in sys.modules} & {'numpy', 'scipy', 'pandas'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
