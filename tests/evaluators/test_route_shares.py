"""Route shares across two versions: hand-computed tables, a planted move, slices, properties, bad input."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from routelab.evaluators.errors import EvaluatorError, InvalidCountError
from routelab.evaluators.frames import FrameError
from routelab.evaluators.intervals import mcnemar
from routelab.evaluators.rank_tests import benjamini_hochberg
from routelab.evaluators.route_shares import (
    RouteShare,
    RouteShareResult,
    paired_share_delta,
    route_share_shift,
)

from .builders import make_decision


def decisions(models: dict[str, str | None], router: str = "acme@1") -> pd.DataFrame:
    return pd.DataFrame([make_decision(r, m, router=router) for r, m in models.items()])


def row(result: RouteShareResult, field: str, slice_value: str, component: str, value: str) -> RouteShare:
    (found,) = [
        r
        for r in result.rows
        if (r.slice_field, r.slice_value, r.component, r.value) == (field, slice_value, component, value)
    ]
    return found


# Paired r1–r6; r7 only in the base, r8 only in the candidate. r5 is blocked by the base, r6 by the candidate.
BASE = decisions({"r1": "s1", "r2": "s1", "r3": "m1", "r4": "m1", "r5": None, "r6": "l1", "r7": "s1"})
CAND = decisions(
    {"r1": "s1", "r2": "m1", "r3": "m1", "r4": "s1", "r5": "s1", "r6": None, "r8": "s1"}, "acme@2"
)


def planted(n_moved: int = 40) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """100 requests: of the 50 `support` ones, `n_moved` go from m1 to s1; 2 `sales` ones go s1 → m1."""
    ids = [f"q{i:03d}" for i in range(100)]
    base = {r: "m1" if i < 50 else ("s1" if i % 2 else "m1") for i, r in enumerate(ids)}
    cand = dict(base) | {r: "s1" for r in ids[:n_moved]} | {ids[51]: "m1", ids[53]: "m1"}
    requests = pd.DataFrame(
        {
            "request_id": ids,
            "workflow": ["support"] * 50 + ["sales"] * 50,
            "task": ["refund", "billing"] * 50,
            "ts": [datetime(2026, 9, 7)] * 60 + [datetime(2026, 9, 14)] * 40,
        }
    )
    return decisions(base), decisions(cand, "acme@2"), requests


def test_pairs_on_request_id_and_counts_the_unpaired() -> None:
    result = route_share_shift(BASE, CAND, min_requests=1)
    assert (result.base_version, result.candidate_version) == ("acme@1", "acme@2")
    assert (result.n_paired, result.n_base_only, result.n_candidate_only) == (6, 1, 1)
    assert result.by == []
    assert result.components == ["model", "tier", "retrieval", "cache", "escalation", "action"]


@pytest.mark.parametrize(
    # (k_base, k_cand, a both, b leaving, c entering) counted by hand over r1–r6
    ("value", "k_base", "k_cand", "a", "b", "c"),
    [("s1", 2, 3, 1, 1, 2), ("m1", 2, 2, 1, 1, 1), ("none", 1, 1, 0, 1, 1), ("l1", 1, 0, 0, 1, 0)],
    ids=["s1", "m1", "blocked-none", "l1"],
)
def test_hand_computed_shares_and_mcnemar_counts(
    value: str, k_base: int, k_cand: int, a: int, b: int, c: int
) -> None:
    r = row(route_share_shift(BASE, CAND, min_requests=1), "all", "all", "model", value)
    assert (r.n, r.share_base, r.share_candidate, r.moved) == (6, k_base / 6, k_cand / 6, b + c)
    assert r.delta == paired_share_delta(a, b, c, 6 - a - b - c, 0.95)
    assert r.delta.value == pytest.approx((c - b) / 6)
    assert r.delta.p_value == mcnemar(b, c).p_value
    assert (r.delta.method, r.delta.test) == ("newcombe-paired-score", "mcnemar-exact")
    assert not r.significant


def test_rows_sorted_by_component_then_largest_shift() -> None:
    result = route_share_shift(BASE, CAND, min_requests=1)
    assert [r.value for r in result.rows if r.component == "model"] == ["l1", "s1", "m1", "none"]
    assert list(dict.fromkeys(r.component for r in result.rows)) == result.components
    assert {r.value for r in result.rows if r.component == "tier"} == {"small", "medium", "large", "none"}


def test_identical_versions_move_nothing() -> None:
    base, _, requests = planted()
    result = route_share_shift(base, base.assign(router="acme@2"), requests, by=["workflow", "task"])
    assert result.rows
    assert all(r.delta.value == 0 and r.moved == 0 and r.share_base == r.share_candidate for r in result.rows)
    assert all(r.p_adjusted == 1.0 and not r.significant for r in result.rows)
    assert result.top(5) == []


def test_planted_move_is_significant_with_the_right_sign() -> None:
    base, cand, requests = planted()
    result = route_share_shift(base, cand, requests, by=["workflow"])
    into, out_of = (row(result, "workflow", "support", "model", v) for v in ("s1", "m1"))
    assert (into.share_base, into.share_candidate, into.moved) == (0.0, 0.8, 40)
    assert into.delta.value == pytest.approx(0.8)
    assert into.delta.ci_low > 0
    assert into.significant
    assert out_of.delta.value == pytest.approx(-0.8)
    assert out_of.delta.ci_high < 0
    assert out_of.significant
    assert into.delta.test == "mcnemar-chi-square-cc"
    sales = [r for r in result.rows if r.slice_value == "sales"]
    assert len(sales) == 8  # model m1, s1; tier medium, small; one value of each unchanged component
    assert not any(r.significant for r in sales)
    assert row(result, "workflow", "sales", "model", "m1").moved == 2
    assert row(result, "all", "all", "model", "s1").delta.value == pytest.approx(0.38)
    top = result.top(1)[0]
    assert (top.slice_value, top.component, top.value) == (
        "support",
        "model",
        "m1",
    )  # 40 moved; `all` nets 40 − 2 = 38


def test_benjamini_hochberg_over_tested_rows_with_a_move() -> None:
    base, cand, requests = planted(n_moved=4)
    result = route_share_shift(base, cand, requests, by=["workflow*task"], min_requests=20)
    family = [r for r in result.rows if r.p_adjusted is not None and r.moved]
    assert [r.p_adjusted for r in family] == pytest.approx(
        benjamini_hochberg([r.delta.p_value for r in family])
    )
    assert all(r.p_adjusted == 1.0 for r in result.rows if not r.moved)
    assert all(r.significant == (r.p_adjusted < 0.05) for r in family)
    loose = route_share_shift(base, cand, requests, by=["workflow*task"], min_requests=20, alpha=0.5)
    assert sum(r.significant for r in loose.rows) >= sum(r.significant for r in result.rows)


def test_cross_and_week_slices_in_the_order_given() -> None:
    base, cand, requests = planted()
    result = route_share_shift(base, cand, requests.iloc[1:], by=["workflow*task", "week"])
    assert list(dict.fromkeys(r.slice_field for r in result.rows)) == ["all", "workflow*task", "week"]
    n = {(r.slice_field, r.slice_value): r.n for r in result.rows}
    assert n[("workflow*task", "support × refund")] == 24  # q000 has no request row
    assert n[("workflow*task", "(missing) × (missing)")] == 1
    assert n[("workflow*task", "sales × billing")] == 25
    assert (n[("week", "2026-W37")], n[("week", "2026-W38")]) == (59, 40)
    cross = row(result, "workflow*task", "support × refund", "model", "s1")
    assert (cross.share_candidate, cross.moved) == (19 / 24, 19)


def test_small_slices_are_reported_but_not_tested() -> None:
    base, cand, requests = planted()
    result = route_share_shift(base, cand, requests, by=["workflow*task"])  # 25 per cross slice < 30
    small = row(result, "workflow*task", "support × refund", "model", "s1")
    assert (small.delta.p_value, small.delta.test, small.p_adjusted, small.significant) == (
        None,
        None,
        None,
        False,
    )
    assert small.delta.value == pytest.approx(0.8)
    assert small.delta.ci_low < 0.8 < small.delta.ci_high
    assert row(result, "all", "all", "model", "s1").delta.p_value is not None


@given(
    st.integers(0, 60),
    st.integers(0, 60),
    st.integers(0, 60),
    st.integers(0, 60),
    st.sampled_from([0.8, 0.95, 0.99]),
)
def test_interval_contains_the_delta(a: int, b: int, c: int, d: int, confidence: float) -> None:
    est = paired_share_delta(a, b, c, d, confidence)
    assert est.p_value == mcnemar(b, c).p_value
    if a + b + c + d == 0:
        assert (est.value, est.ci_low, est.ci_high) == (None, -1.0, 1.0)
        return
    assert est.value is not None
    assert -1.0 <= est.ci_low <= est.value <= est.ci_high <= 1.0


def test_unknown_by_field_lists_the_available_ones() -> None:
    base, cand, requests = planted()
    with pytest.raises(EvaluatorError, match=r"region.*workflow, task, ts, week"):
        route_share_shift(base, cand, requests, by=["workflow", "region"])
    with pytest.raises(EvaluatorError, match=r"workflow\*team"):
        route_share_shift(base, cand, requests, by=["workflow*team"])
    with pytest.raises(EvaluatorError, match="pass `requests`"):
        route_share_shift(base, cand, by=["workflow"])
    with pytest.raises(EvaluatorError, match=r"week"):
        route_share_shift(base, cand, requests.drop(columns="ts"), by=["week"])


@pytest.mark.parametrize(
    ("base", "cand", "message"),
    [
        (BASE, CAND.drop(columns="tier"), "candidate decisions: missing column.*tier"),
        (pd.concat([BASE, BASE.iloc[:1]]), CAND, "base decisions: request_id must be unique; repeated: r1"),
        (BASE, CAND.assign(request_id=lambda f: "x" + f["request_id"]), "share no request_id"),
        (pd.concat([BASE, CAND.iloc[-1:]]), CAND, "several router versions"),
    ],
    ids=["missing-column", "repeated-id", "nothing-paired", "two-versions"],
)
def test_bad_decisions_are_named(base: pd.DataFrame, cand: pd.DataFrame, message: str) -> None:
    with pytest.raises(EvaluatorError, match=message):
        route_share_shift(base, cand)


def test_bad_parameters_and_repeated_requests() -> None:
    base, cand, requests = planted()
    with pytest.raises(FrameError, match="requests: request_id must be unique"):
        route_share_shift(base, cand, pd.concat([requests, requests.iloc[:1]]), by=["workflow"])
    for kw in ({"confidence": 1.0}, {"alpha": 0.0}, {"min_requests": -1}):
        with pytest.raises(EvaluatorError):
            route_share_shift(base, cand, **kw)
    with pytest.raises(InvalidCountError):
        route_share_shift(base, cand).top(-1)


def test_inputs_are_not_mutated_and_the_result_round_trips() -> None:
    base, cand, requests = planted()
    copies: list[Any] = [base.copy(), cand.copy(), requests.copy()]
    result = route_share_shift(base, cand, requests, by=["week", "workflow*task"])
    for before, after in zip(copies, (base, cand, requests), strict=True):
        pd.testing.assert_frame_equal(before, after)
    assert RouteShareResult.model_validate_json(result.model_dump_json()) == result
    assert (result.evaluator, result.min_requests, result.alpha) == ("route-shares", 30, 0.05)
    assert all(word in result.method_note for word in ("Newcombe", "McNemar", "Benjamini–Hochberg"))
