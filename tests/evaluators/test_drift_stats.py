"""Drift statistics: hand-computed cases, the METRICS.md test-selection table, properties, error rates.

Expected numbers come from the formulas (PSI's sum, KL divergences, (O − E)² / E, the pooled z with
`NormalDist`), never from the scipy function under test.
"""

from __future__ import annotations

import math
import subprocess
import sys
from collections.abc import Sequence
from statistics import NormalDist
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError
from scipy import stats  # type: ignore[import-untyped]  # no scipy stubs in the dev lock yet

from routelab.evaluators.drift_stats import (
    Alternative,
    Band,
    DriftThresholds,
    TestResult,
    category_counts,
    chi_square,
    chunk_band,
    column_drift,
    expected_calibration_error,
    js_distance,
    ks,
    psi,
    split_chunks,
    two_proportion_z,
    wasserstein_normalised,
    welch,
)
from routelab.evaluators.errors import (
    EmptySampleError,
    InvalidArgumentError,
    InvalidCountError,
    InvalidProbabilityError,
    LengthMismatchError,
    NotBinaryError,
    UnknownOptionError,
)

# ---- hand formulas ----------------------------------------------------------------------------------


def js_by_hand(p: Sequence[float], q: Sequence[float]) -> float:
    """sqrt((KL(p ‖ m) + KL(q ‖ m)) / 2) in bits, m the midpoint of the shares."""
    p = [x / sum(p) for x in p]
    q = [x / sum(q) for x in q]
    m = [(a + b) / 2 for a, b in zip(p, q, strict=True)]

    def kl(a: list[float]) -> float:
        return sum(x * math.log2(x / y) for x, y in zip(a, m, strict=True) if x > 0)

    return math.sqrt((kl(p) + kl(q)) / 2)


def chi_square_by_hand(ref: list[int], cur: list[int]) -> float:
    """Σ (O − E)² / E over the 2 × K table, E = row total · column total / N."""
    rows, n = (sum(ref), sum(cur)), sum(ref) + sum(cur)
    return sum(
        (observed - rows[i] * (r + c) / n) ** 2 / (rows[i] * (r + c) / n)
        for r, c in zip(ref, cur, strict=True)
        for i, observed in enumerate((r, c))
    )


def z_by_hand(k1: int, n1: int, k2: int, n2: int) -> tuple[float, float]:
    pooled = (k1 + k2) / (n1 + n2)
    z = (k2 / n2 - k1 / n1) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    return z, 2 * (1 - NormalDist().cdf(abs(z)))


def column(kind: str, distinct: int, n: int) -> list[Any]:
    """n values cycling through `distinct` values: numbers or text."""
    return [float(i % distinct) if kind == "numeric" else f"c{i % distinct}" for i in range(n)]


paired_counts = (
    st.integers(1, 8)
    .flatmap(lambda k: st.tuples(*[st.lists(st.integers(0, 50), min_size=k, max_size=k)] * 2))
    .filter(lambda rc: sum(rc[0]) > 0 and sum(rc[1]) > 0)
)


# ---- PSI and Jensen–Shannon -------------------------------------------------------------------------


def test_psi_by_hand_with_empty_shares_floored() -> None:
    # shares (.5, .3, .2) → (.3, .3, .4): −.2 · ln(.6) + 0 + .2 · ln 2
    assert psi([50, 30, 20], [30, 30, 40]) == pytest.approx(0.2 * math.log(2) - 0.2 * math.log(0.6))
    expected = (0.5 - 1) * math.log(0.5 / 1) + (0.5 - 1e-4) * math.log(0.5 / 1e-4)
    assert psi([10, 0], [5, 5]) == pytest.approx(expected)
    assert psi([2, 0, 1], [1, 0, 2]) == pytest.approx(psi([2, 1], [1, 2]))
    assert psi([10, 0], [5, 5], epsilon=1e-2) < psi([10, 0], [5, 5])


@pytest.mark.parametrize(
    ("p", "q"), [([1, 1], [1, 0]), ([5, 3, 2], [2, 3, 5]), ([1, 0, 0], [0, 0, 1]), ([4, 4], [1, 1])]
)
def test_js_distance_from_the_kl_formula(p: list[int], q: list[int]) -> None:
    assert js_distance(p, q) == pytest.approx(js_by_hand(p, q), abs=1e-12)
    assert js_distance([1, 0], [0, 3]) == pytest.approx(1.0)  # disjoint supports


@given(paired_counts, st.integers(1, 5))
def test_psi_and_js_properties(rc: tuple[list[int], list[int]], scale: int) -> None:
    ref, cur = rc
    assert psi(ref, cur) >= 0
    assert 0 <= js_distance(ref, cur) <= 1
    assert js_distance(ref, cur) == pytest.approx(js_distance(cur, ref), abs=1e-12)
    assert psi(ref, [x * scale for x in ref]) == pytest.approx(0, abs=1e-12)
    assert js_distance(ref, [x * scale for x in ref]) == pytest.approx(0, abs=1e-7)


# ---- tests: chi-square, z, KS, Wasserstein, Welch ----------------------------------------------------


@pytest.mark.parametrize(("ref", "cur"), [([20, 30, 50], [30, 30, 40]), ([10, 0, 5], [2, 8, 5])])
def test_chi_square_by_hand_on_two_degrees_of_freedom(ref: list[int], cur: list[int]) -> None:
    res = chi_square(ref, cur)
    x = chi_square_by_hand(ref, cur)
    assert (res.dof, res.test) == (2, "chi-square")
    assert res.statistic == pytest.approx(x)
    assert res.p_value == pytest.approx(math.exp(-x / 2))  # chi-square on 2 df: P(X > x) = e^(−x/2)


def test_chi_square_drops_empty_categories_and_needs_two() -> None:
    res = chi_square([10, 0, 5], [5, 0, 10])
    assert res.dof == 1
    assert res.p_value == pytest.approx(math.erfc(math.sqrt(chi_square_by_hand([10, 5], [5, 10]) / 2)))
    assert chi_square([4, 0], [9, 0]) == TestResult(statistic=0, p_value=1, dof=0, test="chi-square")


@given(paired_counts)
def test_chi_square_p_is_a_probability(rc: tuple[list[int], list[int]]) -> None:
    assert 0 <= chi_square(*rc).p_value <= 1


@pytest.mark.parametrize("args", [(30, 100, 45, 100), (5, 40, 2, 60), (0, 10, 3, 10)])
def test_two_proportion_z_by_hand(args: tuple[int, int, int, int]) -> None:
    z, p = z_by_hand(*args)
    res = two_proportion_z(*args)
    assert (res.statistic, res.p_value) == pytest.approx((z, p), abs=1e-9)
    greater = two_proportion_z(*args, alternative="greater").p_value
    assert greater == pytest.approx(1 - NormalDist().cdf(z), abs=1e-12)
    assert two_proportion_z(*args, alternative="less").p_value == pytest.approx(1 - greater)


def test_two_proportion_z_without_variance_has_no_evidence() -> None:
    assert (two_proportion_z(0, 5, 0, 9).statistic, two_proportion_z(5, 5, 9, 9).p_value) == (0.0, 1.0)


def test_ks_statistic_is_the_largest_cdf_gap() -> None:
    res = ks([1, 2, 3, 4], [3, 4, 5, 6])
    assert (res.statistic, res.test, res.dof) == (0.5, "ks", None)
    assert 0 < res.p_value <= 1


def test_wasserstein_of_a_constant_shift_is_the_shift_over_the_std() -> None:
    ref = [0.0, 1.0, 2.0, 3.0]  # population std sqrt(1.25)
    assert wasserstein_normalised(ref, [x + 0.7 for x in ref]) == pytest.approx(0.7 / math.sqrt(1.25))
    assert wasserstein_normalised([1, 1, 1], [1, 1, 2]) == pytest.approx((1 / 3) / 0.001)  # std floor


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_welch_matches_scipys_unequal_variance_t_test(alternative: Alternative) -> None:
    rng = np.random.default_rng(3)
    ref, cur = rng.normal(0, 1, 30), rng.normal(0.4, 2, 20)
    res = welch(ref, cur, alternative=alternative)
    other = stats.ttest_ind(cur, ref, equal_var=False, alternative=alternative)
    interval = stats.ttest_ind(cur, ref, equal_var=False).confidence_interval(0.95)
    assert res.p_value == pytest.approx(other.pvalue, rel=1e-9)
    assert (res.ci_low, res.ci_high) == pytest.approx((interval.low, interval.high))
    assert res.delta == pytest.approx(cur.mean() - ref.mean())
    assert (res.n_reference, res.n_current, res.test) == (30, 20, "welch-t")


def test_welch_without_variance_collapses() -> None:
    same, shifted = welch([2, 2], [2, 2, 2]), welch([2, 2], [3, 3], alternative="less")
    assert (same.p_value, same.ci_low, same.ci_high) == (1.0, 0.0, 0.0)
    assert (shifted.p_value, shifted.ci_low, shifted.delta) == (1.0, 1.0, 1.0)
    assert welch([2, 2], [3, 3]).p_value == 0.0


# ---- column drift: selection --------------------------------------------------------------------------

SELECTION = {
    "numeric-6-1000": ("numeric", 6, 1000, "ks"),
    "numeric-6-1001": ("numeric", 6, 1001, "wasserstein"),
    "numeric-40-30": ("numeric", 40, 30, "ks"),
    "numeric-5-1000": ("numeric", 5, 1000, "chi-square"),
    "numeric-3-1000": ("numeric", 3, 1000, "chi-square"),
    "numeric-3-1001": ("numeric", 3, 1001, "jensen-shannon"),
    "numeric-2-1000": ("numeric", 2, 1000, "z-test"),
    "numeric-1-10": ("numeric", 1, 10, "z-test"),
    "numeric-2-1001": ("numeric", 2, 1001, "jensen-shannon"),
    "categorical-40-1000": ("categorical", 40, 1000, "chi-square"),
    "categorical-3-1000": ("categorical", 3, 1000, "chi-square"),
    "categorical-3-1001": ("categorical", 3, 1001, "jensen-shannon"),
    "categorical-2-1000": ("categorical", 2, 1000, "z-test"),
    "categorical-1-1000": ("categorical", 1, 1000, "z-test"),
    "categorical-2-1001": ("categorical", 2, 1001, "jensen-shannon"),
}


@pytest.mark.parametrize(("kind", "distinct", "n", "test"), SELECTION.values(), ids=SELECTION.keys())
def test_column_drift_picks_the_metrics_table_test(kind: str, distinct: int, n: int, test: str) -> None:
    values = column(kind, distinct, n)
    res = column_drift(values, values)
    assert (res.kind, res.test, res.n_reference, res.drifted) == (kind, test, n, False)
    assert (res.p_value is None) == (res.distance is not None) == (test in ("wasserstein", "jensen-shannon"))
    assert res.psi == pytest.approx(0, abs=1e-12)


def test_column_drift_counts_rows_and_values_as_metrics_md_says() -> None:
    # Numeric: missing values dropped before counting rows. Categorical: missing is a category, not a value.
    assert column_drift([*column("numeric", 9, 1000), None, math.nan], [1.0, 2.0]).test == "ks"
    missing = column_drift([*column("categorical", 2, 999), None, None], ["c0"])
    assert (missing.test, missing.n_reference) == ("jensen-shannon", 1001)
    assert column_drift(["a", "b", None, None, None], ["a"]).test == "z-test"
    assert column_drift([True, False, True], [True]).kind == "categorical"
    assert column_drift([1, 2, 3, 4, 5, 6], [1.5], kind="categorical").test == "chi-square"
    small = DriftThresholds(small_sample=10)
    assert column_drift(column("numeric", 9, 20), [1.0], thresholds=small).test == "wasserstein"


def test_category_counts_align_the_union_with_missing_as_a_category() -> None:
    assert category_counts([1, 2], [1.0, 2.0, None]).categories == ["(missing)", "1", "2"]
    res = category_counts(["b", "a", None, "b"], ["c", math.nan, "a"]).model_dump()
    assert res == {
        "categories": ["(missing)", "a", "b", "c"],
        "reference": [1, 1, 2, 0],
        "current": [1, 1, 0, 1],
    }


def test_z_test_compares_the_share_of_the_first_value() -> None:
    res = column_drift(["x", "y"] * 15, ["x"] * 24 + ["y"] * 6)
    z, p = z_by_hand(15, 30, 24, 30)
    assert (res.statistic, res.p_value) == pytest.approx((z, p))
    assert res.drifted == (p < 0.05)


# ---- column drift: power and false positives -----------------------------------------------------------

SHARES, MOVED = [0.5, 0.3, 0.2], [0.2, 0.6, 0.2]


def draw(rng: np.random.Generator, n: int, shift: float, categorical: bool) -> list[Any]:
    if categorical:
        return list(rng.choice(["a", "b", "c"], size=n, p=MOVED if shift else SHARES))
    return list(rng.normal(shift, 1.0, size=n))


@pytest.mark.parametrize(
    ("categorical", "n", "shift", "test", "drifted"),
    [
        (False, 500, 0.5, "ks", True),
        (True, 500, 0.3, "chi-square", True),
        (False, 5000, 0.5, "wasserstein", True),
        (True, 5000, 0.3, "jensen-shannon", True),
        (False, 5000, 0.0, "wasserstein", False),
        (True, 5000, 0.0, "jensen-shannon", False),
    ],
)
def test_column_drift_detects_a_known_shift(
    categorical: bool, n: int, shift: float, test: str, drifted: bool
) -> None:
    rng = np.random.default_rng(11)
    res = column_drift(draw(rng, n, 0.0, categorical), draw(rng, n, shift, categorical))
    assert (res.test, res.drifted) == (test, drifted)
    assert (res.psi > 0.1) == drifted


@pytest.mark.parametrize(("categorical", "test"), [(False, "ks"), (True, "chi-square")])
def test_column_drift_false_positive_rate_is_the_level(categorical: bool, test: str) -> None:
    runs, drifts = 200, 0
    for seed in range(runs):
        rng = np.random.default_rng(seed)
        res = column_drift(draw(rng, 300, 0.0, categorical), draw(rng, 300, 0.0, categorical))
        assert res.test == test
        drifts += res.drifted
    low, high = stats.binom.ppf([0.0005, 0.9995], runs, 0.05)
    assert low <= drifts <= high


# ---- calibration and chunk bands ------------------------------------------------------------------------


def test_expected_calibration_error_by_hand() -> None:
    # Bin [0.2, 0.3): acc 0.5, conf 0.25. Last bin: acc 0.5, conf 0.975. Missing rows dropped.
    res = expected_calibration_error([0.25, 0.25, 0.95, 1.0, None, 0.5], [0, 1, 1, 0, 1, None])
    assert res.ece == pytest.approx(0.5 * 0.25 + 0.5 * 0.475)
    assert res.n == 4
    assert [b.n for b in res.bins] == [0, 0, 2, 0, 0, 0, 0, 0, 0, 2]
    assert (res.bins[9].low, res.bins[9].high, res.bins[9].confidence) == pytest.approx((0.9, 1.0, 0.975))


def test_expected_calibration_error_bin_edges() -> None:
    res = expected_calibration_error([0.0, 0.3, 0.7, 1.0], [True, True, False, False], bins=10)
    assert [i for i, b in enumerate(res.bins) if b.n] == [0, 3, 7, 9]
    assert expected_calibration_error([], []).model_dump()["ece"] is None


def test_chunk_band_by_hand() -> None:
    assert chunk_band([1, 2, 3, math.nan]) == Band(mean=2, std=1, lower=-1, upper=5, sigmas=3, n_chunks=3)
    assert chunk_band([4.0], sigmas=2) == Band(mean=4, std=0, lower=4, upper=4, sigmas=2, n_chunks=1)


@given(st.integers(0, 500), st.integers(1, 40))
def test_split_chunks_cover_each_row_once(n_rows: int, n_chunks: int) -> None:
    chunks = split_chunks(n_rows, n_chunks)
    assert [i for c in chunks for i in range(n_rows)[c]] == list(range(n_rows))
    sizes = [c.stop - c.start for c in chunks]
    assert len(chunks) == min(n_rows, n_chunks)
    assert not sizes or (min(sizes) >= 1 and max(sizes) - min(sizes) <= 1)
    assert sizes == [len(a) for a in np.array_split(np.arange(n_rows), len(chunks))] if chunks else True


# ---- errors -------------------------------------------------------------------------------------------

# (call, error, start of the message: the argument, then the problem)
ERRORS = {
    "psi-length": (lambda: psi([1, 2], [1, 2, 3]), LengthMismatchError, "current_counts: has 3 categories"),
    "psi-empty": (lambda: psi([0, 0], [1, 2]), EmptySampleError, "reference_counts: has no rows"),
    "psi-negative": (lambda: psi([1, -1], [1]), InvalidCountError, "reference_counts: holds a negative"),
    "psi-epsilon": (lambda: psi([1], [1], epsilon=0), InvalidArgumentError, "epsilon: is 0"),
    "js-length": (lambda: js_distance([1], [1, 2]), LengthMismatchError, "current_counts: has 2"),
    "chi-empty": (lambda: chi_square([1, 2], [0, 0]), EmptySampleError, "current_counts: has no rows"),
    "z-empty": (lambda: two_proportion_z(0, 0, 1, 2), EmptySampleError, "n_ref: is 0"),
    "z-k-above-n": (lambda: two_proportion_z(3, 2, 1, 2), InvalidCountError, "k_ref: is 3, more than n_ref"),
    "z-option": (lambda: two_proportion_z(1, 2, 1, 2, alternative="up"), UnknownOptionError, "alternative"),  # type: ignore[arg-type]
    "ks-empty": (lambda: ks([1.0], []), EmptySampleError, "current: is empty"),
    "welch-one": (lambda: welch([1.0], [1.0, 2.0]), EmptySampleError, "reference: has 1 value"),
    "drift-empty": (lambda: column_drift([], ["a"]), EmptySampleError, "reference: has no rows: the refer"),
    "drift-nan": (lambda: column_drift([1.0], [None]), EmptySampleError, "current: has no non-missing"),
    "drift-text": (lambda: column_drift([1, 2], ["a"]), InvalidArgumentError, "current: holds values that"),
    "drift-kind": (lambda: column_drift([1], [1], kind="ordinal"), UnknownOptionError, "kind: is 'ordinal'"),  # type: ignore[arg-type]
    "ece-range": (lambda: expected_calibration_error([2], [1]), InvalidProbabilityError, "confidence: holds"),
    "ece-length": (lambda: expected_calibration_error([0.5], [1, 0]), LengthMismatchError, "correct: has 2"),
    "ece-binary": (lambda: expected_calibration_error([0.5], [2]), NotBinaryError, "correct: holds a value"),
    "band-empty": (lambda: chunk_band([math.nan]), EmptySampleError, "chunk_values: has no values"),
    "chunks": (lambda: split_chunks(10, 0), InvalidCountError, "n_chunks: is 0"),
}


@pytest.mark.parametrize(("call", "error", "start"), ERRORS.values(), ids=ERRORS.keys())
def test_bad_input_raises_a_specific_error(call: Any, error: type[Exception], start: str) -> None:
    with pytest.raises(error) as info:
        call()
    assert str(info.value).startswith(start)
    assert str(info.value).count("; ") >= 1  # the fix follows the problem


@pytest.mark.parametrize(
    ("field", "value"),
    [("p_value", 0.0), ("p_value", 1.0), ("distance", 0.0), ("small_sample", 0), ("psi_significant", 0.05)],
)
def test_bad_thresholds_are_rejected_naming_the_field(field: str, value: float) -> None:
    with pytest.raises(ValidationError, match=field):
        DriftThresholds(**{field: value})


def test_importing_the_models_stays_cheap() -> None:
    code = (
        "import sys, routelab.evaluators.drift_stats\nprint({'numpy', 'pandas', 'scipy'} & set(sys.modules))"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout == "set()\n"
