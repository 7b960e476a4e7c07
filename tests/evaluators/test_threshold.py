"""Threshold routers and RouteLLM's metrics on hand-made curves; the published figures are elsewhere."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from routelab.evaluators import registry
from routelab.evaluators.errors import (
    InvalidArgumentError,
    InvalidProbabilityError,
    LengthMismatchError,
    MissingSeedError,
)
from routelab.evaluators.threshold import (
    DuplicateThresholdsError,
    ThresholdCurve,
    apgr,
    auc,
    cpt,
    oracle_at_budget,
    pgr,
    random_router_apgr,
    sweep_metrics,
    threshold_curve,
)

Points = list[tuple[float, float]]

MONOTONE: Points = [(100, 0.8), (0, 0.5), (50, 0.7)]  # any order: sorted by share
#: Dips at 50 %: np.interp reads the 0.65 crossing on the rising 50→75 % segment, the envelope earlier.
DIPPING: Points = [(0, 0.0), (25, 0.6), (50, 0.4), (75, 0.7), (100, 1.0)]

# ---- AUC, APGR, PGR -------------------------------------------------------------------------------------

AREA_CASES = {
    # id: (points, r_weak, r_strong, auc, apgr)
    "monotone": (MONOTONE, 0.5, 0.8, 0.5 * (0.5 + 0.7) / 2 + 0.5 * (0.7 + 0.8) / 2, (0.675 - 0.5) / 0.3),
    "weak-only": ([(0, 0.5), (40, 0.5), (100, 0.5)], 0.5, 0.8, 0.5, 0.0),
    "strong-only": ([(0, 0.8), (60, 0.8), (100, 0.8)], 0.5, 0.8, 0.8, 1.0),
    "dipping": (DIPPING, 0.0, 1.0, 0.25 * (0.6 + 1.0 + 1.1 + 1.7) / 2, 0.55),
    "partial-range": ([(20, 0.6), (60, 0.7)], 0.5, 0.8, 0.4 * 0.65, (0.65 - 0.5) / 0.3),
}


@pytest.mark.parametrize(("points", "r_weak", "r_strong", "area", "gap"), AREA_CASES.values(), ids=AREA_CASES)
def test_auc_and_apgr(points: Points, r_weak: float, r_strong: float, area: float, gap: float) -> None:
    assert auc(points) == pytest.approx(area)
    assert apgr(points, r_weak, r_strong) == pytest.approx(gap)


def test_a_curve_and_its_points_give_the_same_metrics() -> None:
    curve = ThresholdCurve(thresholds=(3.0, 2.0, 1.0), strong_share_pct=(0, 50, 100), quality=(0.5, 0.7, 0.8))
    assert sweep_metrics(curve, 0.5, 0.8) == sweep_metrics(MONOTONE, 0.5, 0.8)


def test_pgr() -> None:
    assert pgr(0.65, 0.5, 0.8) == pytest.approx(0.5)
    assert pgr(0.5, 0.5, 0.8) == 0
    assert pgr(0.8, 0.5, 0.8) == 1
    with pytest.raises(InvalidArgumentError, match="r_strong: equals r_weak"):
        pgr(0.6, 0.5, 0.5)


@pytest.mark.parametrize(
    ("points", "match"),
    [([], "holds 0 points"), ([(0, 0.5, 1)], "not all pairs"), ([(0, 0.5), (120, 0.7)], "0–100")],
    ids=["empty", "triple", "fraction-not-percent"],
)
def test_bad_curves_are_rejected(points: Points, match: str) -> None:
    with pytest.raises(InvalidArgumentError, match=match):
        auc(points)


def test_apgr_needs_two_strong_shares() -> None:
    with pytest.raises(InvalidArgumentError, match="single strong share"):
        apgr([(30, 0.6), (30, 0.7)], 0.5, 0.8)


# ---- CPT ---------------------------------------------------------------------------------------------

CPT_CASES = {
    # id: (points, r_weak, r_strong, x, default, envelope)
    "monotone-mid": (MONOTONE, 0.5, 0.8, 0.5, 50 * 0.15 / 0.2, 50 * 0.15 / 0.2),
    "monotone-at-a-point": (MONOTONE, 0.5, 0.8, 2 / 3, 50.0, 50.0),
    "below-the-first-point": (MONOTONE, 0.4, 0.8, 0.1, 0.0, 0.0),
    "dipping-before-the-dip": (DIPPING, 0.0, 1.0, 0.5, 25 * 0.5 / 0.6, 25 * 0.5 / 0.6),
    "dipping-after-the-dip": (DIPPING, 0.0, 1.0, 0.65, 50 + 25 * 0.25 / 0.3, 50 + 25 * 0.05 / 0.1),
    "never-reached": ([(0, 0.5), (100, 0.7)], 0.5, 0.8, 0.8, None, None),
}


@pytest.mark.parametrize(
    ("points", "r_weak", "r_strong", "x", "default", "envelope"), CPT_CASES.values(), ids=CPT_CASES
)
def test_cpt_default_and_envelope(
    points: Points, r_weak: float, r_strong: float, x: float, default: float | None, envelope: float | None
) -> None:
    assert cpt(points, x, r_weak, r_strong) == pytest.approx(default)
    assert cpt(points, x, r_weak, r_strong, envelope=True) == pytest.approx(envelope)


def test_default_cpt_is_numpys_interp_even_where_it_misreads_the_curve() -> None:
    share, quality = zip(*DIPPING, strict=True)
    assert cpt(DIPPING, 0.65, 0.0, 1.0) == np.interp(0.65, quality, share)
    with pytest.raises(InvalidArgumentError, match="x: gives the target nan"):
        cpt(DIPPING, float("nan"), 0.0, 1.0)


def test_sweep_metrics_keys_levels_and_is_the_registered_threshold_evaluator() -> None:
    out = sweep_metrics(DIPPING, 0.0, 1.0, cpt_levels=(0.5, 0.65))
    assert out.evaluator == "threshold"
    assert registry.get_evaluator("threshold").function is sweep_metrics
    assert out.cpt == pytest.approx({"50%": 25 * 0.5 / 0.6, "65%": 50 + 25 * 0.25 / 0.3})
    assert out.cpt_envelope == pytest.approx({"50%": 25 * 0.5 / 0.6, "65%": 62.5})
    assert (out.auc, out.apgr, out.r_weak, out.r_strong) == pytest.approx((0.55, 0.55, 0.0, 1.0))
    with pytest.raises(InvalidArgumentError, match="repeat a level"):
        sweep_metrics(DIPPING, 0.0, 1.0, cpt_levels=(0.5, 0.5))


# ---- the threshold curve --------------------------------------------------------------------------------


def test_curve_of_ten_distinct_scores_steps_by_ten_percent() -> None:
    scores = np.arange(1, 11)
    strong, weak = np.ones(10), np.zeros(10)
    curve = threshold_curve(scores, strong, weak)
    assert curve.strong_share_pct == pytest.approx(tuple(range(0, 101, 10)))
    assert curve.quality == pytest.approx(tuple(np.arange(11) / 10))
    # the highest edge is the maximum, and only scores strictly above it go strong: 0 %
    assert curve.thresholds == pytest.approx(tuple(np.linspace(10, 1, 11)))


def test_edges_are_pandas_qcuts() -> None:
    scores = np.random.default_rng(7).normal(size=97)
    _, edges = pd.qcut(scores, 10, retbins=True)
    assert sorted(threshold_curve(scores, scores, scores).thresholds) == list(edges)


def test_tied_scores_at_an_edge_go_strong_together() -> None:
    scores = [0, 1, 2, 2, *range(4, 21)]  # 21 scores: the 10 % edge is the third, a 2 tied with the fourth
    curve = threshold_curve(scores, np.ones(21), np.zeros(21))
    assert curve.thresholds[-2] == 2.0
    assert curve.strong_share_pct[-2] == pytest.approx(19 / 21 * 100)  # both 2s are ">= edge"


def test_tied_edges_raise_like_routellm_unless_dropped() -> None:
    scores = np.array([0.0] * 6 + [1.0, 2.0, 3.0, 4.0])
    with pytest.raises(DuplicateThresholdsError, match='duplicates="drop"'):
        threshold_curve(scores, np.ones(10), np.zeros(10))
    with pytest.raises(ValueError, match="Bin edges must be unique"):
        pd.qcut(scores, 10, retbins=True)  # what RouteLLM calls
    curve = threshold_curve(scores, np.ones(10), np.zeros(10), duplicates="drop")
    _, edges = pd.qcut(scores, 10, retbins=True, duplicates="drop")
    assert sorted(curve.thresholds) == list(edges)
    assert (curve.strong_share_pct[0], curve.strong_share_pct[-1]) == (0, 100)
    assert list(curve.strong_share_pct) == sorted(curve.strong_share_pct)


def test_curve_inputs_are_checked() -> None:
    with pytest.raises(LengthMismatchError, match="weak_quality"):
        threshold_curve([1, 2, 3], [1, 1, 1], [0, 0])
    with pytest.raises(InvalidArgumentError, match="duplicates"):
        threshold_curve([1, 2, 3], [1, 1, 1], [0, 0, 0], duplicates="keep")  # type: ignore[arg-type]


# ---- baselines ---------------------------------------------------------------------------------------

#: 5 requests: weak right on 1 and 2; strong gains on 0 and 3 (weak wrong, strong right); 4 both wrong.
STRONG = [1, 1, 0, 1, 0]
WEAK = [0, 1, 1, 0, 0]
ORACLE_CASES = {
    "0": (0.0, 2 / 5),
    "10%": (0.1, 2.5 / 5),
    "20%": (0.2, 3 / 5),
    "40%": (0.4, 4 / 5),
    "all": (1, 4 / 5),
}


@pytest.mark.parametrize(("budget", "expected"), ORACLE_CASES.values(), ids=ORACLE_CASES)
def test_oracle_at_budget(budget: float, expected: float) -> None:
    assert oracle_at_budget(STRONG, WEAK, budget) == pytest.approx(expected)


def test_oracle_at_zero_budget_is_the_weak_models_accuracy_exactly() -> None:
    weak = np.random.default_rng(3).random(1001) < 0.6
    strong = np.random.default_rng(4).random(1001) < 0.8
    assert oracle_at_budget(strong, weak, 0) == weak.mean()


def test_oracle_spends_a_graded_budget_on_the_largest_gains() -> None:
    strong, weak = [9.0, 8.0, 7.0, 6.0], [5.0, 7.5, 8.0, 4.0]  # gains 4, 0.5, -1, 2
    assert oracle_at_budget(strong, weak, 0.25) == pytest.approx((24.5 + 4) / 4)
    assert oracle_at_budget(strong, weak, 0.375) == pytest.approx((24.5 + 4 + 1) / 4)
    assert oracle_at_budget(strong, weak, 1) == pytest.approx((24.5 + 6.5) / 4)


@pytest.mark.parametrize("budget", [-0.1, 1.5, True])
def test_oracle_budget_is_a_share(budget: float) -> None:
    with pytest.raises(InvalidProbabilityError, match="budget"):
        oracle_at_budget(STRONG, WEAK, budget)


def test_random_router_is_seeded_and_centred_on_one_half() -> None:
    rng = np.random.default_rng(11)
    strong, weak = rng.random(2000) < 0.8, rng.random(2000) < 0.6
    est = random_router_apgr(strong, weak, seed=5, n_draws=50)
    assert est == random_router_apgr(strong, weak, seed=5, n_draws=50)
    assert est.ci_low <= 0.5 <= est.ci_high
    assert est.ci_low <= (est.value or -1) <= est.ci_high
    assert (est.n, est.method) == (50, "random-draws-percentile")
    with pytest.raises(MissingSeedError):
        random_router_apgr(strong, weak, seed=None)  # type: ignore[arg-type]
