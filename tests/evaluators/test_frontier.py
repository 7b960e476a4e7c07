"""NDCH, AIQ and Pareto by hand; baselines and versions on tiny tables; properties."""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from routelab.evaluators.errors import EvaluatorError, InvalidArgumentError, UnknownOptionError
from routelab.evaluators.frontier import aiq, frontier, ndch, pareto
from routelab.evaluators.frontier_types import FrontierResult

Cell = tuple[float, float]  # (quality, cost)


def make_outcomes(table: dict[str, dict[str, Cell]], **columns: Any) -> pd.DataFrame:
    """The long outcomes frame from {request: {model: (quality, cost)}}."""
    rows = [
        {"request_id": r, "model": m, "quality": q, "cost_usd": c, **columns}
        for r, cells in table.items()
        for m, (q, c) in cells.items()
    ]
    return pd.DataFrame(rows)


def make_decisions(choices: dict[str, str | None]) -> pd.DataFrame:
    return pd.DataFrame({"request_id": list(choices), "model": list(choices.values())})


# cheap `a` is right on r1, r2; dear `b` on r1, r3; `c` never, at a middling price
TABLE: dict[str, dict[str, Cell]] = {
    "r1": {"a": (1, 1.0), "b": (1, 4.0), "c": (0, 2.0)},
    "r2": {"a": (1, 1.0), "b": (0, 4.0), "c": (0, 2.0)},
    "r3": {"a": (0, 1.0), "b": (1, 4.0), "c": (0, 2.0)},
    "r4": {"a": (0, 1.0), "b": (0, 4.0), "c": (0, 2.0)},
}


# ---- geometry -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("points", "hull"),
    [
        ([(1, 0.5), (2, 0.6), (3, 0.9)], [(1, 0.5), (3, 0.9)]),  # interior point under the chord
        ([(3, 0.9), (0.5, 0.1), (1, 0.5)], [(0.5, 0.1), (1, 0.5), (3, 0.9)]),  # cheaper but worse stays
        ([(1, 0.5), (3, 0.9), (4, 0.8), (5, 0.95)], [(1, 0.5), (3, 0.9), (5, 0.95)]),
        ([(1, 0.5), (3, 0.9), (4, 0.7)], [(1, 0.5), (3, 0.9)]),  # dearer and worse: cut
        ([(1, 0.2), (2, 0.4), (3, 0.6)], [(1, 0.2), (3, 0.6)]),  # collinear middle point
        ([(1, 0.2), (1, 0.7), (2, 0.7)], [(1, 0.7)]),  # equal cost: the best; equal quality: the cheaper
        ([(2.0, 0.3)], [(2.0, 0.3)]),
    ],
    ids=["interior", "cheap-worse", "dip", "tail", "collinear", "ties", "one"],
)
def test_ndch_on_hand_made_points(points: list[Cell], hull: list[Cell]) -> None:
    assert ndch(points) == hull


def test_ndch_rejects_empty_and_non_finite_points() -> None:
    with pytest.raises(InvalidArgumentError, match="points"):
        ndch([])
    with pytest.raises(InvalidArgumentError, match="non-finite"):
        ndch([(1.0, math.nan)])


def test_aiq_by_trapezoids() -> None:
    points = [(1, 0.5), (2, 0.6), (3, 0.9)]  # hull (1, .5)–(3, .9)
    # [1, 3]: (0.5 + 0.9) / 2 · 2 = 1.4; [3, 5]: flat 0.9 · 2 = 1.8
    assert aiq(points, c_min=1, c_max=5) == pytest.approx(3.2 / 4)
    # below the cheapest point the paper variant stays flat at 0.5
    assert aiq(points, c_min=0, c_max=5) == pytest.approx((0.5 + 3.2) / 5)
    # RouterBench integrates from the hull's cheapest point and divides by c_max; c_min plays no part
    assert aiq(points, c_min=0, c_max=5, variant="routerbench") == pytest.approx(3.2 / 5)
    assert aiq(points, c_min=1, c_max=5, variant="routerbench") == pytest.approx(3.2 / 5)
    assert aiq([(2, 0.7)], c_min=1, c_max=3) == pytest.approx(0.7)


def test_aiq_rejects_an_empty_range_and_unknown_variant() -> None:
    with pytest.raises(InvalidArgumentError, match="c_max"):
        aiq([(1, 0.5)], c_min=1, c_max=1)
    with pytest.raises(InvalidArgumentError, match="c_max"):
        aiq([(1, 0.5)], c_min=0, c_max=0, variant="routerbench")
    with pytest.raises(UnknownOptionError, match="variant"):
        aiq([(1, 0.5)], c_min=0, c_max=2, variant="area")  # type: ignore[arg-type]


def test_pareto_keeps_the_undominated_by_cost() -> None:
    points = {"a": (1, 0.5), "b": (2, 0.5), "c": (2, 0.9), "d": (3, 0.8), "e": (1, 0.5), "f": (0.5, 0.1)}
    assert pareto(points) == ["f", "a", "e", "c"]  # identical a and e do not dominate each other


# ---- baselines ------------------------------------------------------------------------------------------


def test_single_models_oracle_best_single_and_random() -> None:
    g = frontier(make_outcomes(TABLE)).groups["all"]
    assert g.n_requests == 4
    assert g.n_dropped == 0
    assert {m: (p.quality, p.cost_usd, p.cost_per_1k_usd) for m, p in g.models.items()} == {
        "a": (0.5, 4.0, 1000.0),
        "b": (0.5, 16.0, 4000.0),
        "c": (0.0, 8.0, 2000.0),
    }
    # r1: a and b right, a cheaper; r3: only b; r4: nobody right, the cheapest (a) wins the tie
    assert (g.oracle.quality, g.oracle.cost_usd) == (0.75, 1 + 1 + 4 + 1)
    assert g.best_single == "a"  # a and b tie on quality, a is cheaper
    assert g.random.quality == pytest.approx(1 / 3)
    assert g.random.cost_usd == pytest.approx(28 / 3)
    assert len(g.random_mixtures) == 11
    assert not any(p.expected for p in g.random_mixtures)  # three models: seeded draws
    assert all(sum(p.weights.values()) == pytest.approx(1) for p in g.random_mixtures)
    again = frontier(make_outcomes(TABLE)).groups["all"]
    assert again.random_mixtures == g.random_mixtures
    assert frontier(make_outcomes(TABLE), seed=1).groups["all"].random_mixtures != g.random_mixtures
    assert g.pareto == ["model:a", "oracle"]


def test_oracle_ties_on_quality_and_cost_fall_to_the_model_name() -> None:
    table = {"r1": {"z": (1, 2.0), "y": (1, 2.0), "x": (1, 3.0)}}
    g = frontier(make_outcomes(table)).groups["all"]
    assert g.oracle.cost_usd == 2.0
    assert g.best_single == "y"
    versions = {"v": make_decisions({"r1": "y"})}
    assert frontier(make_outcomes(table), versions).groups["all"].versions["v"].oracle_gap == 0.0


def test_two_models_mix_exactly_along_the_line() -> None:
    two = {r: {m: cells[m] for m in ("a", "b")} for r, cells in TABLE.items()}
    g = frontier(make_outcomes(two), random_mixtures=5).groups["all"]
    assert [p.weights["b"] for p in g.random_mixtures] == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert all(p.expected for p in g.random_mixtures)
    assert [p.cost_usd for p in g.random_mixtures] == pytest.approx([4, 7, 10, 13, 16])
    assert g.random.cost_usd == g.random_mixtures[2].cost_usd


def test_requests_missing_a_cell_are_dropped_and_counted() -> None:
    table = {**TABLE, "r5": {"a": (1, 1.0), "b": (math.nan, 4.0), "c": (0, 2.0)}, "r6": {"a": (1, 1.0)}}
    g = frontier(make_outcomes(table)).groups["all"]
    assert (g.n_requests, g.n_dropped) == (4, 2)
    assert g.models["a"].n == 4


def test_groups_are_separate_and_an_empty_group_is_reported() -> None:
    outcomes = pd.concat(
        [
            make_outcomes(TABLE, eval_group="x"),
            make_outcomes({"s1": {"a": (1, 1.0), "b": (math.nan, 1.0)}}, eval_group="y"),
        ]
    )
    result = frontier(outcomes, group="eval_group")
    assert list(result.groups) == ["x"]
    assert "group y" in result.warnings[0]


# ---- versions -------------------------------------------------------------------------------------------


def test_version_counts_blocked_unscored_and_undecided() -> None:
    table = {**TABLE, "r5": {"a": (1, 1.0), "b": (1, 4.0)}}  # r5 lacks c: dropped
    choices = {"r1": "b", "r2": None, "r3": "b", "r5": "a", "r9": "a"}  # r4 undecided, r9 unknown
    result = frontier(make_outcomes(table), {"v": make_decisions(choices)})
    v = result.groups["all"].versions["v"]
    (p,) = v.points
    assert (p.n, p.n_blocked, p.n_unscored, p.n_undecided) == (2, 1, 1, 1)
    assert (p.quality, p.cost_usd, p.cost_per_1k_usd) == (1.0, 8.0, 4000.0)
    assert v.quality is not None
    assert v.quality.method == "wilson"
    assert v.oracle_gap == 0.0  # the oracle is right on r1 and r3 too
    assert v.improvement_over_best_single == 0.5  # a: right on r1, wrong on r3
    assert (v.n_blocked, v.n_unscored) == (1, 1)
    assert "version v: 1 decided request(s) have no outcome" in result.warnings[0]


def test_oracle_gap_and_improvement_signs() -> None:
    worse = frontier(make_outcomes(TABLE), {"v": make_decisions(dict.fromkeys(TABLE, "c"))})
    v = worse.groups["all"].versions["v"]
    assert v.oracle_gap == 0.75
    assert v.improvement_over_best_single == -0.5
    assert v.aiq == pytest.approx(0.0)  # one point at quality 0


def test_graded_quality_gets_a_t_interval() -> None:
    table = {f"r{i}": {"a": (q, 1.0), "b": (10 - q, 2.0)} for i, q in enumerate([2, 4, 6, 8])}
    v = frontier(make_outcomes(table), {"v": make_decisions(dict.fromkeys(table, "a"))})
    est = v.groups["all"].versions["v"].quality
    assert est is not None
    assert est.method == "t"
    # mean 5, sd √(20/3), t(0.975, 3) = 3.182446305
    half = 3.182446305284263 * math.sqrt(20 / 3) / 2
    assert (est.ci_low, est.ci_high) == pytest.approx((5 - half, 5 + half))


def test_sweep_points_and_aiq() -> None:
    sweep = [make_decisions(dict.fromkeys(TABLE, m)) for m in ("c", "a", "b")]
    result = frontier(make_outcomes(TABLE), {"s": sweep}, aiq_variant="routerbench")
    g = result.groups["all"]
    v = g.versions["s"]
    assert v.sweep
    assert v.quality is None
    assert [p.quality for p in v.points] == [0.0, 0.5, 0.5]
    # hull: (1000, .5) alone ((2000, 0) is under it, (4000, .5) no better); flat to c_max = 4000, over 4000
    assert v.aiq == pytest.approx(0.5 * 3000 / 4000)
    assert g.zero_router_aiq == v.aiq
    assert "version:s#1" in g.pareto
    assert FrontierResult.model_validate_json(result.model_dump_json()) == result


def test_bad_inputs_name_the_fix() -> None:
    outcomes = make_outcomes(TABLE)
    with pytest.raises(EvaluatorError, match="cost_usd"):
        frontier(outcomes.drop(columns="cost_usd"))
    with pytest.raises(EvaluatorError, match="repeated"):
        frontier(pd.concat([outcomes, outcomes.head(1)]))
    with pytest.raises(EvaluatorError, match="kind='full'"):
        frontier(outcomes.assign(kind="logged"))
    with pytest.raises(EvaluatorError, match="request_id must be unique"):
        frontier(outcomes, {"v": make_decisions({"r1": "a"}).pipe(lambda f: pd.concat([f, f]))})
    with pytest.raises(UnknownOptionError, match="aiq_variant"):
        frontier(outcomes, aiq_variant="area")  # type: ignore[arg-type]


# ---- properties -----------------------------------------------------------------------------------------

coords = st.floats(0, 100, allow_nan=False, allow_infinity=False)


@given(st.lists(st.tuples(coords, coords), min_size=1, max_size=12))
def test_ndch_is_a_monotone_subset_on_or_above_every_point(points: list[Cell]) -> None:
    hull = ndch(points)
    assert set(hull) <= set(points)
    assert all(c0 < c1 and q0 <= q1 for (c0, q0), (c1, q1) in itertools.pairwise(hull))
    assert hull[0][0] == min(c for c, _ in points)
    assert hull[-1][1] == max(q for _, q in points)
    height = np.interp([c for c, _ in points], [c for c, _ in hull], [q for _, q in hull])
    assert all(h >= q - 1e-9 for h, (_, q) in zip(height, points, strict=True))


@st.composite
def outcome_tables(draw: st.DrawFn) -> tuple[dict[str, dict[str, Cell]], dict[str, str]]:
    models = [f"m{j}" for j in range(draw(st.integers(1, 4)))]
    binary = draw(st.booleans())
    quality = st.sampled_from([0.0, 1.0]) if binary else st.floats(1, 10, allow_nan=False)
    cost = st.floats(0.001, 5, allow_nan=False)
    n = draw(st.integers(1, 8))
    table = {f"r{i}": {m: (draw(quality), draw(cost)) for m in models} for i in range(n)}
    return table, {r: draw(st.sampled_from(models)) for r in table}


@settings(max_examples=60, deadline=None)
@given(outcome_tables())
def test_oracle_dominates_models_and_versions_and_zero_router_aiq_is_bounded(
    case: tuple[dict[str, dict[str, Cell]], dict[str, str]],
) -> None:
    table, choices = case
    g = frontier(make_outcomes(table), {"v": make_decisions(choices)}, random_mixtures=2).groups["all"]
    assert g.oracle.quality is not None
    qualities = [p.quality for p in g.models.values() if p.quality is not None]
    assert all(g.oracle.quality >= q - 1e-12 for q in qualities)
    v = g.versions["v"]
    assert v.oracle_gap is not None
    assert v.oracle_gap >= -1e-12
    if g.zero_router_aiq is not None:
        assert min(qualities) - 1e-9 <= g.zero_router_aiq <= max(qualities) + 1e-9
    assert v.quality is not None
    assert v.quality.ci_low - 1e-12 <= (v.quality.value or 0.0) <= v.quality.ci_high + 1e-12
