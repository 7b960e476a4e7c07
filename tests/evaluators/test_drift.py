"""Drift over time and across versions: planted shifts found after they start and not before.

Every frame is six weeks of drawn traffic from Monday 2026-09-07 (ISO 2026-W37 .. W42); the default
reference is W37..W39, and a change is planted from week 5 (W41). Expected numbers (shares, Wilson
intervals, ECE, McNemar's exact p) come from counts taken in the test and closed formulas.

"Not before" holds for this fixed seed: the rules that are a bare p-value (accuracy's z-test, KS,
chi-square) flag a stable week by chance at about their nominal 5 % per window, so another seed may flag
one stable week; the planted changes are found with p-values many orders of magnitude smaller.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest

from routelab.evaluators.drift import detect_drift, detect_version_drift
from routelab.evaluators.drift_stats import DriftThresholds
from routelab.evaluators.drift_types import DriftResult, WindowDrift
from routelab.evaluators.errors import EvaluatorError
from routelab.evaluators.windows import parse_range

from .drift_builders import derive, draw_frame, pick, reroute, settings, week_number

SEED = 20260907
ALARMS = settings(("workflow",))
BEFORE = ("2026-W37", "2026-W38", "2026-W39", "2026-W40")
AFTER = ("2026-W41", "2026-W42")
WEEKS = BEFORE + AFTER
Z = NormalDist().inv_cdf(0.975)


def run(frame: pd.DataFrame, **kwargs: object) -> DriftResult:
    return detect_drift(frame, alarms=ALARMS, **kwargs)  # type: ignore[arg-type]


def windows(result: DriftResult) -> dict[str, WindowDrift]:
    return {w.window.label: w for w in result.windows}


def rows_of(frame: pd.DataFrame, week: int, reference: bool) -> pd.DataFrame:
    """The rows drift compares for `week`: the week itself, or W37..W39 without it (leave-one-out)."""
    n = week_number(frame)
    return frame[((n <= 3) & (n != week)) if reference else (n == week)]


def wilson_by_hand(k: int, n: int) -> tuple[float, float]:
    centre = (k / n + Z**2 / (2 * n)) / (1 + Z**2 / n)
    half = Z / (1 + Z**2 / n) * math.sqrt(k / n * (1 - k / n) / n + Z**2 / (4 * n**2))
    return centre - half, centre + half


def later(frame: pd.DataFrame) -> pd.Series:
    return week_number(frame) >= 5


# ---- planted shifts ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def route_shift() -> tuple[pd.DataFrame, DriftResult]:
    """From W41, 40 % of support's m1 requests go to s1."""
    frame = draw_frame(SEED)
    rng = np.random.default_rng([SEED, 1])
    moved = pick(rng, later(frame) & (frame["workflow"] == "support") & (frame["model"] == "m1"), 0.4)
    frame = reroute(frame, moved, model="s1")
    return frame, run(frame)


def test_route_mix_shift_is_flagged_in_its_slice_from_week_5(
    route_shift: tuple[pd.DataFrame, DriftResult],
) -> None:
    frame, result = route_shift
    assert list(windows(result)) == list(WEEKS)
    for i, (label, window) in enumerate(windows(result).items(), start=1):
        (support,) = [
            r
            for r in window.route_mix
            if (r.component, r.slice_field, r.slice_value) == ("model", "workflow", "support")
        ]
        assert support.drifted is (label in AFTER), label
        cur = rows_of(frame, i, reference=False)
        cur = cur[cur["workflow"] == "support"]
        s1 = next(m for m in support.moves if m.value == "s1")
        assert s1.reference == 0.0
        assert s1.current == pytest.approx((cur["model"] == "s1").mean())


def test_a_shift_to_an_equally_good_cheaper_path_raises_no_alarm(
    route_shift: tuple[pd.DataFrame, DriftResult],
) -> None:
    _, result = route_shift
    assert result.alarms == []
    assert result.n_slices_tested == 3 * len(WEEKS)  # support, sales, ops in every window


@pytest.fixture(scope="module", params=[300, 1000], ids=["reference-900-rows", "reference-3000-rows"])
def input_shift(request: pytest.FixtureRequest) -> DriftResult:
    """From W41 a new task `translate` in 30 % of requests, and prompts twice as long."""
    frame = draw_frame(SEED, per_week=request.param)
    rng = np.random.default_rng([SEED, 2])
    frame.loc[pick(rng, later(frame), 0.3), "task"] = "translate"
    frame.loc[later(frame), "prompt_tokens"] *= 2
    return run(derive(frame), features=["task", "prompt_tokens"])


@pytest.mark.parametrize(
    ("feature", "small", "large"),
    [("task", "chi-square", "jensen-shannon"), ("prompt_tokens", "ks", "wasserstein")],
    ids=["categorical-task", "numeric-prompt-tokens"],
)
def test_input_drift_is_flagged_by_the_test_the_table_picks(
    input_shift: DriftResult, feature: str, small: str, large: str
) -> None:
    for label, window in windows(input_shift).items():
        (found,) = [i.drift for i in window.inputs if i.feature == feature]
        assert found.test == (small if window.n_reference <= 1000 else large), label
        assert found.n_reference == window.n_reference
        assert found.drifted is (label in AFTER), label


@pytest.fixture(scope="module")
def outcome_shift() -> tuple[pd.DataFrame, DriftResult]:
    """From W41 m1's unit price is 25 % higher and production's fallback rate goes from 1 % to 10 %."""
    frame = draw_frame(SEED)
    rng = np.random.default_rng([SEED, 3])
    pricier = later(frame) & (frame["model"] == "m1")
    frame.loc[pricier, ["cost_usd", "logged_cost_usd"]] *= 1.25
    frame.loc[later(frame), "logged_fallback"] = rng.random(int(later(frame).sum())) < 0.10
    return frame, run(frame, chunks=10)


def test_a_price_rise_drifts_that_models_unit_cost_only(
    outcome_shift: tuple[pd.DataFrame, DriftResult],
) -> None:
    frame, result = outcome_shift
    frame = frame.assign(unit_cost=1000 * frame["cost_usd"] / frame["tokens"])
    for i, (label, window) in enumerate(windows(result).items(), start=1):
        unit = {o.slice_value: o for o in window.outcomes if o.metric == "unit_cost_per_1k_tokens"}
        assert {"m1", "l1", "s1"} <= set(unit)  # s2 (ops only) may miss min_requests in a week
        assert {m for m, o in unit.items() if o.drifted} == ({"m1"} if label in AFTER else set()), label
        sides = [rows_of(frame, i, reference) for reference in (True, False)]
        for model, row in unit.items():
            ref, cur = (s.loc[s["model"] == model, "unit_cost"].mean() for s in sides)
            assert (row.reference, row.current) == (pytest.approx(ref), pytest.approx(cur))
            assert (row.test, row.slice_field, row.source) == ("welch-t", "model", "version")


def test_a_fallback_jump_drifts_the_production_fallback_rate(
    outcome_shift: tuple[pd.DataFrame, DriftResult],
) -> None:
    frame, result = outcome_shift
    for i, (label, window) in enumerate(windows(result).items(), start=1):
        (rate,) = [
            o
            for o in window.outcomes
            if (o.metric, o.source, o.slice_field) == ("fallback_rate", "production", "all")
        ]
        assert rate.test == "z-test"
        assert rate.current == pytest.approx(rows_of(frame, i, reference=False)["logged_fallback"].mean())
        assert rate.drifted is (label in AFTER), label


def test_chunked_thresholds_flag_the_jump_and_keep_a_stable_week_inside(
    outcome_shift: tuple[pd.DataFrame, DriftResult],
) -> None:
    checks = {label: {c.metric: c for c in w.chunks} for label, w in windows(outcome_shift[1]).items()}
    for label, by_metric in checks.items():
        assert {"accuracy", "fallback_rate", "cost_per_request", "psi:model", "psi:path"} <= set(by_metric)
        for check in by_metric.values():
            assert check.band.n_chunks == 10
            assert check.outside is not (check.band.lower <= check.current <= check.band.upper)
        assert by_metric["fallback_rate"].outside is (label in AFTER), label


@pytest.fixture(scope="module")
def accuracy_drop() -> tuple[pd.DataFrame, DriftResult]:
    """From W41 support's labelled requests are right 30 % of the time instead of ~75 %."""
    frame = draw_frame(SEED)
    rng = np.random.default_rng([SEED, 4])
    hit = later(frame) & (frame["workflow"] == "support") & frame["correct"].notna()
    frame.loc[hit, "correct"] = rng.random(int(hit.sum())) < 0.3
    return frame, run(frame)


def test_an_accuracy_drop_is_flagged_with_the_wilson_intervals_of_the_counts(
    accuracy_drop: tuple[pd.DataFrame, DriftResult],
) -> None:
    frame, result = accuracy_drop
    for i, (label, window) in enumerate(windows(result).items(), start=1):
        acc = window.accuracy
        for estimate, reference in ((acc.reference, True), (acc.current, False)):
            labelled = rows_of(frame, i, reference)["correct"].dropna()
            k, n = int(labelled.sum()), len(labelled)
            assert (estimate.value, estimate.n, estimate.method) == (pytest.approx(k / n), n, "wilson")
            assert (estimate.ci_low, estimate.ci_high) == pytest.approx(wilson_by_hand(k, n))
        assert acc.drifted is (label in AFTER), label
    assert result.alarms == []  # worse, but on the same paths: not a silent routing failure


# ---- confidence and calibration -------------------------------------------------------------------


def test_a_confidence_shift_is_flagged_and_breaks_calibration() -> None:
    frame = draw_frame(SEED)
    frame.loc[later(frame), "confidence"] -= 0.25  # correctness unchanged: now under-confident
    result = run(frame, current=parse_range("2026-W41"))
    (window,) = result.windows
    conf = window.confidence
    assert conf is not None
    assert conf.drifted
    assert conf.current_mean == pytest.approx(rows_of(frame, 5, reference=False)["confidence"].mean())
    assert conf.calibration_reference.ece is not None
    assert conf.calibration_reference.ece < 0.08  # calibrated: only sampling noise
    assert conf.ece_change is not None
    assert conf.ece_change > 0.15


def test_ece_of_a_tiny_calibrated_and_miscalibrated_pair_of_weeks() -> None:
    # Reference week: confidence 0.75 with 3 of 4 right, 0.25 with 1 of 4 right: perfectly calibrated.
    # Current week: 0.95 with 2 of 4 right (gap 0.45), 0.15 with 3 of 4 right (gap 0.60).
    # ECE = 4/8 · 0.45 + 4/8 · 0.60 = 0.525. The ninth row of each week is unlabelled and left out.
    frame = draw_frame(SEED, weeks=2, per_week=9).sort_values("ts", ignore_index=True)
    frame["confidence"] = [0.75] * 4 + [0.25] * 4 + [0.9] + [0.95] * 4 + [0.15] * 4 + [0.1]
    right = [True, True, True, False, True, False, False, False, None]
    right += [True, True, False, False, True, True, True, False, None]
    frame["correct"] = pd.array(right, dtype="boolean")
    result = run(frame, reference=parse_range("2026-W37"), current=parse_range("2026-W38"))
    conf = result.windows[0].confidence
    assert conf is not None
    assert (conf.calibration_reference.n, conf.calibration_current.n) == (8, 8)
    assert conf.calibration_reference.ece == pytest.approx(0.0, abs=1e-12)
    assert conf.calibration_current.ece == pytest.approx(0.525)
    assert conf.ece_change == pytest.approx(0.525)


# ---- parameters and errors ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_frame() -> pd.DataFrame:
    return draw_frame(SEED, weeks=2, per_week=100)


@pytest.mark.parametrize(
    ("kwargs", "missing"),
    [
        ({"features": ["task", "nope"]}, "nope"),
        ({"route_slices": ["workflow*nope"]}, "nope"),
        ({"alarms": settings(("workflow", "tenant"))}, "tenant"),
    ],
    ids=["feature", "route-slice-cross", "alarm-slice"],
)
def test_an_unknown_field_is_refused_with_the_known_ones(
    small_frame: pd.DataFrame, kwargs: dict[str, object], missing: str
) -> None:
    with pytest.raises(EvaluatorError, match=f"field\\(s\\) {missing} not in the requests") as raised:
        detect_drift(small_frame, **{"alarms": ALARMS, **kwargs})  # type: ignore[arg-type]
    known = str(raised.value).split("known: ")[1].split(", ")
    assert {"workflow", "task", "prompt_tokens", "region"} <= set(known)


@pytest.mark.parametrize("chunks", [1, 0, -3])
def test_fewer_than_two_chunks_is_refused(small_frame: pd.DataFrame, chunks: int) -> None:
    with pytest.raises(EvaluatorError, match=f"chunks is {chunks}; pass at least 2"):
        run(small_frame, chunks=chunks)


def test_explicit_windows_give_one_window_and_the_params_record_the_run(small_frame: pd.DataFrame) -> None:
    thresholds = DriftThresholds(p_value=0.01, distance=0.2)
    result = run(
        small_frame,
        reference=parse_range("2026-W37"),
        current=parse_range("2026-W38"),
        features=["task", "prompt_tokens"],
        thresholds=thresholds,
        min_change=0.2,
        chunks=5,
        gold_counts={"human": 3},
    )
    (window,) = result.windows
    assert (window.window.label, window.reference.label, window.excluded) == ("2026-W38", "2026-W37", None)
    assert (window.n_reference, window.n_current) == (100, 100)
    params = result.params
    assert (params.router, params.versus, params.by) == ("acme@1", None, None)
    assert params.features == ["task", "prompt_tokens"]
    assert (params.thresholds, params.min_change, params.chunks) == (thresholds, 0.2, 5)
    assert params.alarms == ALARMS
    assert params.route_slices == ["workflow"]  # the alarm slices unless told otherwise
    assert params.components == ["model", "tier", "retrieval", "cache", "escalation", "action"]
    assert params.gold_counts == {"human": 3}
    assert DriftResult.model_validate_json(result.model_dump_json()) == result


def test_a_week_with_nothing_left_to_compare_is_skipped_with_a_warning(small_frame: pd.DataFrame) -> None:
    # Two weeks: the reference is W37 alone, so W37 minus itself is empty.
    result = run(small_frame, features=["task"])
    assert [w.window.label for w in result.windows] == ["2026-W38"]
    assert result.warnings == ["window 2026-W37: no request left to compare with; skipped"]
    assert result.params.by == "week"
    assert DriftResult.model_validate_json(result.model_dump_json()) == result


# ---- across versions ------------------------------------------------------------------------------


def wrong_cheaper_candidate(base: pd.DataFrame) -> pd.DataFrame:
    """Every support request goes to s1, where labelled ones are right 30 % of the time."""
    rng = np.random.default_rng([SEED, 5])
    support = base["workflow"] == "support"
    cand = reroute(base, support, model="s1").assign(router="acme@2")
    hit = support & cand["correct"].notna()
    cand.loc[hit, "correct"] = rng.random(int(hit.sum())) < 0.3
    return cand


def test_a_candidate_routing_a_slice_to_a_wrong_cheaper_path_raises_an_alarm() -> None:
    base = draw_frame(SEED, weeks=2)
    cand = wrong_cheaper_candidate(base)
    result = detect_version_drift(base, cand, alarms=ALARMS)
    assert (result.base, result.candidate, result.n) == ("acme@1", "acme@2", len(base))
    (alarm,) = result.alarms
    assert (alarm.slice_field, alarm.slice_value, alarm.shift_test) == ("workflow", "support", "none")
    support = base["workflow"] == "support"
    assert alarm.shift == pytest.approx((base.loc[support, "model"] != "s1").mean())
    accuracy = next(h for h in alarm.harms if h.metric == "accuracy")
    assert accuracy.test == "mcnemar-exact"
    labelled = support & base["correct"].notna()
    before, after = base.loc[labelled, "correct"], cand.loc[labelled, "correct"]
    b, c = int((before & ~after).sum()), int((~before & after).sum())
    assert accuracy.p_value == pytest.approx(
        sum(math.comb(b + c, k) for k in range(b, b + c + 1)) / 2 ** (b + c)
    )
    assert (accuracy.reference, accuracy.current) == (
        pytest.approx(before.mean()),
        pytest.approx(after.mean()),
    )
    moved = {
        r.value: r
        for r in result.route_shares.rows
        if (r.slice_field, r.slice_value, r.component) == ("workflow", "support", "model")
    }
    assert (moved["s1"].share_base, moved["s1"].share_candidate) == (0.0, 1.0)
    assert moved["s1"].significant
    assert moved["m1"].share_candidate == 0.0
    assert moved["m1"].share_base == pytest.approx((base.loc[support, "model"] == "m1").mean())


def test_identical_versions_raise_no_alarm() -> None:
    base = draw_frame(SEED, weeks=2)
    result = detect_version_drift(base, base.assign(router="acme@2"), alarms=ALARMS)
    assert result.alarms == []
    assert result.n_slices_tested == 3
    assert not any(r.significant for r in result.route_shares.rows)
    assert all(r.delta.value == 0.0 for r in result.route_shares.rows)


def test_versions_refuse_an_unknown_slice_field_with_the_known_ones(small_frame: pd.DataFrame) -> None:
    with pytest.raises(
        EvaluatorError, match=r"slice field\(s\) tenant not in the requests; known: .*workflow"
    ):
        detect_version_drift(small_frame, small_frame, alarms=settings(("workflow*tenant",)))
