"""Silent routing failures: hand-built slices with their evidence, and the alarm rate under no change.

Unit tests build the two sides of a slice from groups of requests (path, right, wrong, cost) so the shift,
accuracies and costs are known by construction; p-values come from the closed forms (pooled z with
`NormalDist`, chi-square on 1 degree of freedom as erfc, McNemar's binomial tail with `math.comb`).
The error-rate tests run the alarm procedure of `detect_drift` over 100 seeds of drawn traffic.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import NormalDist
from typing import NamedTuple

import numpy as np
import pandas as pd
import pytest
from scipy import stats  # type: ignore[import-untyped]  # no scipy stubs in the dev lock yet

from routelab.evaluators.drift import detect_drift
from routelab.evaluators.drift_types import Alarm, AlarmSettings
from routelab.evaluators.silent import raise_alarms, version_candidates, window_candidates
from routelab.evaluators.windows import plan_windows

from .drift_builders import draw_frame, pick, settings, week_number

A, B = "m1 | none | none | allow", "s1 | none | none | allow"
SETTINGS = settings(("workflow",))
NEW_PATH = "s2 | web | none | allow"
NO_GUARDS = settings(("workflow",), min_shift=0, min_accuracy_drop=0, min_cost_increase=0)


class Group(NamedTuple):
    """Requests on one path: `right` correct ones, then `wrong` ones, each costing `cost`."""

    path: str
    right: int
    wrong: int
    cost: float = 1.0


def side(prefix: str, slices: dict[str, Sequence[Group]]) -> pd.DataFrame:
    """One side of a comparison: the groups of every slice, ids numbered in group order."""
    rows = []
    for workflow, groups in slices.items():
        for g in groups:
            for ok in [True] * g.right + [False] * g.wrong:
                rid = f"{prefix}-{workflow}-{len(rows):04d}"
                rows.append(
                    {
                        "request_id": rid,
                        "workflow": workflow,
                        "path": g.path,
                        "correct": ok,
                        "est_cost_usd": g.cost,
                    }
                )
    frame = pd.DataFrame(rows).assign(cost_usd=np.nan, quality=np.nan)
    frame["correct"] = frame["correct"].astype("boolean")
    return frame


def alarms_of(ref: pd.DataFrame, cur: pd.DataFrame, s: AlarmSettings = SETTINGS) -> list[Alarm]:
    return raise_alarms(window_candidates(ref, cur, "W2", "W1", s), s)


def one_sided_z(k_ref: int, n_ref: int, k_cur: int, n_cur: int) -> float:
    """P(Z <= z) for the pooled two-proportion z of the current side against the reference."""
    pooled = (k_ref + k_cur) / (n_ref + n_cur)
    z = (k_cur / n_cur - k_ref / n_ref) / math.sqrt(pooled * (1 - pooled) * (1 / n_ref + 1 / n_cur))
    return NormalDist().cdf(z)


REFERENCE = side("ref", {"support": [Group(A, 90, 10)], "sales": [Group(A, 45, 5)]})
STABLE_SALES = [Group(A, 45, 5)]


def test_a_shift_with_an_accuracy_drop_raises_one_alarm_with_its_evidence() -> None:
    current = side("cur", {"support": [Group(A, 54, 6), Group(B, 16, 24)], "sales": STABLE_SALES})
    (alarm,) = alarms_of(REFERENCE, current)
    assert (alarm.slice_field, alarm.slice_value) == ("workflow", "support")
    assert (alarm.n_reference, alarm.n_current) == (100, 100)
    assert alarm.shift == pytest.approx(0.5 * (abs(0.6 - 1.0) + abs(0.4 - 0.0)))
    # 2 × 2 table [[100, 0], [60, 40]]: expected 80 / 20 per side, chi-square = 2 · 20²/80 + 2 · 20²/20 = 50.
    assert alarm.shift_p_value == pytest.approx(math.erfc(math.sqrt(50 / 2)))
    assert [(m.value, m.reference, m.current) for m in alarm.moves] == [(A, 1.0, 0.6), (B, 0.0, 0.4)]
    (harm,) = alarm.harms
    p_accuracy = one_sided_z(90, 100, 70, 100)
    assert (harm.metric, harm.test, harm.n) == ("accuracy", "z-test", 100)
    assert (harm.reference, harm.current, harm.change) == pytest.approx((0.9, 0.7, -0.2))
    assert harm.p_value == pytest.approx(p_accuracy)
    # Two harm tests ran (accuracy, cost): Bonferroni × 2; the shift p is far smaller, so the harm decides.
    assert alarm.p_value == pytest.approx(2 * p_accuracy)
    # BH over two slices, sales with p = 1: the smaller p is doubled.
    assert alarm.p_adjusted == pytest.approx(2 * alarm.p_value)
    assert alarm.p_adjusted >= alarm.p_value
    assert (alarm.affected, alarm.extra_wrong, alarm.extra_cost_usd) == (40, pytest.approx(20.0), None)
    # The path that gained share is B; its right requests carry the smaller ids, yet the wrong come first.
    on_b = current[(current["workflow"] == "support") & (current["path"] == B)]
    assert alarm.examples == sorted(on_b.loc[~on_b["correct"], "request_id"])[:5]
    assert min(on_b.loc[on_b["correct"], "request_id"]) < min(alarm.examples)


@pytest.mark.parametrize(
    "support",
    [
        [Group(A, 54, 6), Group(B, 36, 4)],
        [Group(A, 70, 30)],
        [Group(A, 60, 35), Group(B, 0, 5)],
        [Group(A, 54, 6), Group(B, 34, 6)],
    ],
    ids=["shift-without-harm", "harm-without-shift", "shift-below-min-shift", "drop-below-min-drop"],
)
def test_a_shift_or_a_harm_alone_raises_no_alarm(support: list[Group]) -> None:
    current = side("cur", {"support": support, "sales": STABLE_SALES})
    candidates = window_candidates(REFERENCE, current, "W2", "W1", SETTINGS)
    assert [c.fields["slice_value"] for c in candidates] == ["sales", "support"]
    assert all(c.p_value == 1.0 for c in candidates)
    assert raise_alarms(candidates, SETTINGS) == []


def test_a_cost_only_harm_raises_an_alarm_counted_in_dollars() -> None:
    current = side("cur", {"support": [Group(A, 54, 6), Group(B, 36, 4, cost=2.0)], "sales": STABLE_SALES})
    (alarm,) = alarms_of(REFERENCE, current)
    (harm,) = alarm.harms
    assert (harm.metric, harm.test) == ("cost_per_request", "welch-t")
    assert (harm.reference, harm.current, harm.change) == pytest.approx((1.0, 1.4, 0.4))
    # Welch with a constant reference: se² = s²_cur / 100, s²_cur = (60 · 0.4² + 40 · 0.6²) / 99, dof = 99.
    t = 0.4 / math.sqrt((60 * 0.4**2 + 40 * 0.6**2) / 99 / 100)
    assert harm.p_value == pytest.approx(stats.t.sf(t, 99))
    assert alarm.extra_cost_usd == pytest.approx(100 * 0.4)
    assert alarm.extra_wrong is None


def test_alarms_are_ranked_by_extra_wrong_then_extra_cost() -> None:
    reference = side("ref", {w: [Group(A, 90, 10)] for w in ("a", "b", "c", "d", "e")})
    current = side(
        "cur",
        {
            "a": [Group(A, 54, 6), Group(B, 16, 24)],  # 20 more wrong
            "b": [Group(A, 54, 6), Group(B, 6, 34)],  # 30 more wrong
            "c": [Group(A, 54, 6), Group(B, 36, 4, cost=2.0)],  # $40 more
            "d": [Group(A, 54, 6), Group(B, 36, 4, cost=3.0)],  # $80 more
            "e": [Group(A, 54, 6), Group(B, 16, 24, cost=2.0)],  # 20 more wrong and $40 more
        },
    )
    alarms = alarms_of(reference, current)
    assert [a.slice_value for a in alarms] == ["b", "e", "a", "d", "c"]
    assert [(a.extra_wrong, a.extra_cost_usd) for a in alarms] == [
        (pytest.approx(30.0), None),
        (pytest.approx(20.0), pytest.approx(40.0)),
        (pytest.approx(20.0), None),
        (None, pytest.approx(80.0)),
        (None, pytest.approx(40.0)),
    ]


@pytest.mark.parametrize(
    ("n_reference", "n_current", "tested"),
    [(29, 100, False), (100, 29, False), (30, 30, True)],
    ids=["reference-29", "current-29", "both-30"],
)
def test_slices_below_min_requests_are_not_tested(n_reference: int, n_current: int, tested: bool) -> None:
    reference = side("ref", {"tiny": [Group(A, n_reference, 0)], "sales": STABLE_SALES})
    current = side("cur", {"tiny": [Group(B, 0, n_current)], "sales": STABLE_SALES})
    candidates = window_candidates(reference, current, "W2", "W1", SETTINGS)
    assert [c.fields["slice_value"] for c in candidates] == (["sales", "tiny"] if tested else ["sales"])


def paired(groups: Sequence[tuple[str, bool, bool, float, int]]) -> pd.DataFrame:
    """Two versions of support's requests joined per request, as `detect_version_drift` joins them.

    A group is (candidate path, base right, candidate right, candidate cost, count); the base is on A at $1.
    """
    rows = []
    for path, base_ok, cand_ok, cost, count in groups:
        for _ in range(count):
            rows.append(
                {
                    "request_id": f"q{len(rows):03d}",
                    "workflow": "support",
                    **{"path_base": A, "correct_base": base_ok, "est_cost_usd_base": 1.0},
                    **{"path_cand": path, "correct_cand": cand_ok, "est_cost_usd_cand": cost},
                }
            )
    frame = pd.DataFrame(rows).assign(
        cost_usd_base=np.nan, cost_usd_cand=np.nan, quality_base=np.nan, quality_cand=np.nan
    )
    return frame.astype({"correct_base": "boolean", "correct_cand": "boolean"})


def test_a_version_that_flips_a_slice_to_a_worse_path_raises_an_alarm() -> None:
    kept = [(A, True, True, 1.0, 55), (A, False, False, 1.0, 5)]
    flipped = [
        (B, True, False, 0.5, 20),
        (B, True, True, 0.5, 15),
        (B, False, True, 0.5, 2),
        (B, False, False, 0.5, 3),
    ]
    joined = paired([*kept, *flipped])
    (alarm,) = raise_alarms(version_candidates(joined, "acme@1", "acme@2", SETTINGS), SETTINGS)
    assert (alarm.window, alarm.reference) == ("acme@2", "acme@1")
    assert (alarm.shift_test, alarm.shift_p_value) == (
        "none",
        0.0,
    )  # the same requests: measured, not sampled
    assert (alarm.shift, alarm.affected) == (pytest.approx(0.4), 40)
    (harm,) = alarm.harms
    b, c = 20, 2  # base right & candidate wrong; base wrong & candidate right
    p_exact = sum(math.comb(b + c, k) for k in range(b, b + c + 1)) / 2 ** (b + c)
    assert (harm.metric, harm.test, harm.p_value) == ("accuracy", "mcnemar-exact", pytest.approx(p_exact))
    assert (harm.reference, harm.current) == pytest.approx((0.90, 0.72))
    assert alarm.p_value == pytest.approx(2 * p_exact)  # accuracy and cost tested: Bonferroni × 2
    assert alarm.extra_wrong == pytest.approx(100 * 0.18)
    flipped_wrong = joined[(joined["path_cand"] == B) & ~joined["correct_cand"]]["request_id"]
    assert alarm.examples == sorted(flipped_wrong)[:5]


def test_the_same_paths_on_both_versions_raise_no_alarm() -> None:
    joined = paired([(A, True, False, 1.0, 40), (A, True, True, 1.0, 60)])
    candidates = version_candidates(joined, "acme@1", "acme@2", SETTINGS)
    assert [(c.fields["shift"], c.p_value, c.harms) for c in candidates] == [(0.0, 1.0, [])]


# ---- error rates over seeds --------------------------------------------------------------------------

SEEDS = range(100)
WORKFLOWS = {f"w{i}": 0.2 for i in range(5)}
COLUMNS = ["request_id", "ts", "workflow", "path", "correct", "cost_usd", "est_cost_usd", "quality"]
#: 99 % upper quantile of the number of seeds with an alarm if each had exactly a 5 % chance.
LIMIT = stats.binom.ppf(0.99, len(SEEDS), 0.05)


def traffic(seed: int) -> pd.DataFrame:
    """Three weeks of 1,000 labelled requests over five workflows, every week from one distribution."""
    return draw_frame(seed, weeks=3, per_week=1000, workflows=WORKFLOWS, labelled=1.0)


def move_w0(frame: pd.DataFrame, seed: int, right: float | None = None) -> pd.DataFrame:
    """From week 2, 40 % of w0's requests on a new path, right at the rate `right` (None: as drawn).

    Costs and quality stay as drawn, so the only harm that can show is the accuracy one.
    """
    rng = np.random.default_rng([seed, 1])
    moved = pick(rng, (frame["workflow"] == "w0") & (week_number(frame) >= 2), 0.4)
    out = frame.assign(path=frame["path"].mask(moved, NEW_PATH))
    if right is not None:
        out.loc[moved, "correct"] = rng.random(int(moved.sum())) < right
    return out


def alarm_procedure(frame: pd.DataFrame, s: AlarmSettings) -> list[Alarm]:
    """What `detect_drift` does for alarms: every week against the reference (leave-one-out), one BH step."""
    candidates = []
    for plan in plan_windows(frame["ts"]):
        ref, cur = frame[plan.reference_mask(frame["ts"])], frame[plan.current.mask(frame["ts"])]
        if len(ref) and len(cur):
            candidates += window_candidates(ref, cur, plan.current.label, plan.reference.label, s)
    return raise_alarms(candidates, s)


def test_the_procedure_here_is_the_one_detect_drift_runs() -> None:
    frame = move_w0(traffic(0), 0, right=0.25)
    expected = detect_drift(frame, alarms=SETTINGS, route_slices=[], components=["model"]).alarms
    assert expected
    assert alarm_procedure(frame[COLUMNS], SETTINGS) == expected


@pytest.fixture(scope="module")
def unchanged() -> list[pd.DataFrame]:
    return [traffic(seed)[COLUMNS] for seed in SEEDS]


@pytest.mark.parametrize("s", [SETTINGS, NO_GUARDS], ids=["default-guards", "no-guards"])
def test_without_change_the_share_of_seeds_with_an_alarm_stays_within_five_percent(
    unchanged: list[pd.DataFrame], s: AlarmSettings
) -> None:
    # Global null: BH keeps the family-wise error at the FDR level, the intersection-union test is
    # conservative, and without guards only the statistics stand between the noise and an alarm.
    with_alarm = sum(bool(alarm_procedure(frame, s)) for frame in unchanged)
    assert with_alarm <= LIMIT


def test_a_harmless_route_shift_alarms_in_at_most_five_percent_of_seeds_without_guards(
    unchanged: list[pd.DataFrame],
) -> None:
    # A real shift makes the shift p tiny, so the slice p is the (Bonferroni) harm p alone: this is the
    # sharper check of the one-sided harm tests and of the BH step (the global null is at about alpha²).
    shifted = (move_w0(frame, seed) for seed, frame in zip(SEEDS, unchanged, strict=True))
    assert sum(bool(alarm_procedure(frame, NO_GUARDS)) for frame in shifted) <= LIMIT


def test_a_planted_shift_with_a_20_point_drop_is_found_in_at_least_90_of_100_seeds(
    unchanged: list[pd.DataFrame],
) -> None:
    # Drawn correctness is right ~75 % of the time; 40 % moved to a path right 25 % of the time: -20 points.
    planted = (move_w0(frame, seed, right=0.25) for seed, frame in zip(SEEDS, unchanged, strict=True))
    found = sum(
        any(a.slice_value == "w0" and "accuracy" in {h.metric for h in a.harms} for a in alarms)
        for alarms in (alarm_procedure(frame, SETTINGS) for frame in planted)
    )
    assert found >= 90
