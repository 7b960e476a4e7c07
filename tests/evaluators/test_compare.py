"""Comparing two versions: hand-computed small cases, properties (hypothesis) and the demo's story."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from routelab.evaluators.bootstrap import paired_bootstrap
from routelab.evaluators.compare import compare_versions, pair_decisions
from routelab.evaluators.compare_metrics import per_1k
from routelab.evaluators.compare_types import CompareResult
from routelab.evaluators.errors import EvaluatorError
from routelab.evaluators.gold import GoldLabels, resolve_gold
from routelab.evaluators.intervals import wilson
from routelab.evaluators.rank_tests import benjamini_hochberg

from .builders import MODEL_TIERS, make_decision, make_label

if TYPE_CHECKING:
    from ..conftest import DemoStores


def gold_of(*labels: dict[str, Any]) -> GoldLabels:
    return resolve_gold(pd.DataFrame(list(labels), columns=["request_id", "source", "abstain", "acceptable"]))


def frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(rows)


def compare(
    base: list[dict[str, Any]], cand: list[dict[str, Any]], gold: GoldLabels, **kw: Any
) -> CompareResult:
    return compare_versions(frame(base), frame(cand), gold, kw.pop("requests", None), **kw)


def v2(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "router": "acme@2"}


# Eleven requests. Paired: r01–r07, r10, r11 (r08 only in the baseline, r09 only in the candidate).
# r01 unchanged and right; r02 fixed (l1 → m1); r03 fixed by the cache alone (same path); r04 changed, both
# right; r05 changed, both wrong; r06 unlabelled, changed; r07 abstains; r10 fixed (m1 → l1); r11 unchanged,
# both wrong.
BASE = [
    make_decision("r01", "s1", cost=1, latency=100),
    make_decision("r02", "l1", cost=4, latency=400),
    make_decision("r03", "m1", cost=2, latency=200),
    make_decision("r04", "s1", retrieval="kb", cost=1, latency=100),
    make_decision("r05", "s1", cost=1, latency=100),
    make_decision("r06", "s1", cost=1, latency=100),
    make_decision("r07", "s1", cost=1, latency=100),
    make_decision("r08", "s1", cost=9, latency=900),
    make_decision("r10", "m1", cost=2, latency=200),
    make_decision("r11", "s1", cost=1, latency=100),
]
CAND = [
    v2(make_decision("r01", "s1", cost=1, latency=100)),
    v2(make_decision("r02", "m1", cost=2, latency=200)),
    v2(make_decision("r03", "m1", cache="serve", cost=0.5, latency=50)),
    v2(make_decision("r04", "s2", cost=0.5, latency=100)),
    v2(make_decision("r05", "s2", cost=0.5, latency=100)),
    v2(make_decision("r06", "m1", cost=2, latency=200)),
    v2(make_decision("r07", "s1", cost=1, latency=100)),
    v2(make_decision("r09", "s1", cost=9, latency=900)),
    v2(make_decision("r10", "l1", cost=4, latency=400)),
    v2(make_decision("r11", "s1", cost=1, latency=100)),
]
GOLD = gold_of(
    make_label("r01", {"tier": "small"}),
    make_label("r02", {"model": "m1"}),
    make_label("r03", {"model": "m1", "cache": "serve"}),
    make_label("r04", {"tier": "small"}),
    make_label("r05", {"model": "m1"}),
    make_label("r07", abstain=True),
    make_label("r10", {"model": "l1"}),
    make_label("r11", {"model": "l1"}),
)
REQUESTS = pd.DataFrame(
    {
        "request_id": [f"r{i:02d}" for i in range(1, 12)],
        "team": ["a"] * 5 + ["b"] * 6,
        "ts": [datetime(2026, 9, 7, 10)] * 6 + [datetime(2026, 9, 14, 10)] * 5,
    }
)
S1 = "s1 | none | none | allow"


def test_pairing_counts_dropped_requests_and_gold_status() -> None:
    result = compare(BASE, CAND, GOLD)
    assert (result.baseline, result.candidate, result.n) == ("acme@1", "acme@2", 9)
    cov = result.coverage
    assert (cov.dropped_baseline, cov.dropped_candidate, cov.labelled) == (1, 1, 7)
    assert cov.gold == {
        "adjudicated": 0,
        "annotations": 0,
        "import": 7,
        "unresolved": 0,
        "abstain": 1,
        "unlabelled": 1,
    }
    assert any("1 baseline decision(s)" in w for w in result.warnings)


def test_flip_matrix_and_rates() -> None:
    flips = compare(BASE, CAND, GOLD).flips
    assert flips.n == 9
    assert flips.matrix == {
        S1: {"m1 | none | none | allow": 1, "s1 | none | none | allow": 3, "s2 | none | none | allow": 1},
        "s1 | kb | none | allow": {"s2 | none | none | allow": 1},
        "l1 | none | none | allow": {"m1 | none | none | allow": 1},
        "m1 | none | none | allow": {"l1 | none | none | allow": 1, "m1 | none | none | allow": 1},
    }
    assert flips.changed == 5  # r02, r04, r05, r06, r10; r03 changed only its cache
    assert flips.rate == wilson(5, 9)
    assert flips.components["model"].rate == wilson(5, 9)
    assert flips.components["retrieval"].matrix == {"kb": {"none": 1}, "none": {"none": 8}}
    assert flips.components["escalation"].changed == 0


def test_buckets_with_examples_in_id_order() -> None:
    flips = compare(BASE, CAND, GOLD, examples=2).flips
    got = {name: (b.count, b.examples) for name, b in flips.buckets.items()}
    assert got == {
        "fixed": (3, ("r02", "r03")),
        "broken": (0, ()),
        "changed_both_right": (1, ("r04",)),
        "changed_both_wrong": (1, ("r05",)),
        "unchanged_right": (1, ("r01",)),
        "unchanged_wrong": (1, ("r11",)),
    }
    assert flips.labelled == 7
    assert flips.buckets["fixed"].share == wilson(3, 7)


def test_accuracy_delta_with_exact_mcnemar() -> None:
    acc = compare(BASE, CAND, GOLD).accuracy
    assert acc.baseline == wilson(2, 7)  # r01, r04
    assert acc.candidate == wilson(5, 7)  # r01, r02, r03, r04, r10
    assert acc.delta.value == pytest.approx(3 / 7)
    assert acc.delta.n == 7
    # b = 0, c = 3: two-sided binomial 2 · 0.5³
    assert acc.delta.p_value == pytest.approx(0.25)
    assert acc.delta.test == "mcnemar-exact"


def test_cost_and_latency_deltas() -> None:
    result = compare(BASE, CAND, GOLD)
    cost = result.cost
    assert (cost.baseline.value, cost.candidate.value) == (14.0, 12.5)
    assert cost.delta.value == pytest.approx(-1.5)
    assert cost.delta_per_1k.value == pytest.approx(-1500 / 9)
    assert cost.delta_per_1k.ci_low == pytest.approx(cost.delta.ci_low * 1000 / 9)
    assert cost.delta_pct is not None
    assert cost.delta_pct.value == pytest.approx(-150 / 14)
    assert (cost.delta.seed, cost.delta.n_resamples, cost.delta.statistic) == (0, 2000, "sum")
    # recomputable from the recorded parameters: the per-1k delta is the bootstrap of `per_1k`
    paired = pair_decisions(frame(BASE), frame(CAND), GOLD).frame
    again = paired_bootstrap(
        paired["est_cost_usd_base"], paired["est_cost_usd_cand"], statistic=per_1k, n_resamples=2000, seed=0
    )
    assert (again.value, again.ci_low, again.ci_high) == pytest.approx(
        (cost.delta_per_1k.value, cost.delta_per_1k.ci_low, cost.delta_per_1k.ci_high)
    )
    lat = result.latency
    # baseline 100 ×6, 200 ×2, 400; candidate 50, 100 ×5, 200 ×2, 400: p95 = 200 + 0.6 · 200 in both
    assert (lat.p50.baseline.value, lat.p50.candidate.value) == (100.0, 100.0)
    assert (lat.p95.baseline.value, lat.p95.candidate.value) == pytest.approx((320.0, 320.0))
    assert lat.p95.delta.value == pytest.approx(0.0)
    assert lat.p50.delta.statistic == "p50"


def test_slices_by_team_and_week() -> None:
    slices = compare(BASE, CAND, GOLD, requests=REQUESTS, by=["team", "week"]).slices
    assert slices.multiple_testing == "benjamini-hochberg"
    assert slices.n_tests == 4
    team = {s.value: s for s in slices.by["team"]}
    # a: r01–r05, 2/5 → 4/5, b = 0, c = 2; b: r06, r07, r10, r11, labelled r10, r11, 0/2 → 1/2
    assert (team["a"].n, team["a"].labelled, team["b"].n, team["b"].labelled) == (5, 5, 4, 2)
    assert team["a"].accuracy.delta.value == pytest.approx(0.4)
    assert team["a"].accuracy.delta.p_value == pytest.approx(0.5)
    assert team["b"].accuracy.delta.p_value == pytest.approx(1.0)
    assert team["a"].cost.delta.value == pytest.approx(-4.5)
    assert team["b"].cost.delta.value == pytest.approx(3.0)
    # impact ties at 2.0 (5 · 0.4 and 4 · 0.5): the larger cost change ranks first
    assert [s.value for s in slices.by["team"]] == ["a", "b"]
    assert (team["a"].impact, team["b"].impact) == pytest.approx((2.0, 2.0))
    week = {s.value: s for s in slices.by["week"]}
    assert (week["2026-W37"].n, week["2026-W38"].n) == (6, 3)
    # ranks across both fields: W37 6 · 0.4 = 2.4, team a 2.0 (cost 4.5), team b 2.0 (cost 3), W38 3 · 0.5
    ranks = [team["a"].rank, team["b"].rank, week["2026-W37"].rank, week["2026-W38"].rank]
    assert ranks == [2, 3, 1, 4]


def slice_rows(name: str, n: int, kind: str) -> tuple[list[Any], list[Any], list[Any], list[Any]]:
    """n requests of team `name`: fixed, both right, both wrong, or unlabelled with a cost change."""
    base, cand, labels = [], [], []
    for i in range(n):
        rid = f"{name}{i:02d}"
        base.append(make_decision(rid, "s1" if kind != "both_right" else "m1"))
        cand.append(v2(make_decision(rid, "m1" if kind != "both_wrong" else "s1", cost=2)))
        if kind != "unlabelled":
            labels.append(make_label(rid, {"model": "m1"}))
    return base, cand, labels, [{"request_id": r["request_id"], "team": name} for r in base]


def test_benjamini_hochberg_across_slices_and_ranking_by_impact() -> None:
    parts = [
        slice_rows("x", 10, "fixed"),  # b = 0, c = 10: p = 2 · 0.5¹⁰
        slice_rows("y", 6, "fixed"),  # p = 2 · 0.5⁶ = 0.03125 < 0.05 before adjustment
        slice_rows("z", 3, "both_right"),  # p = 1
        slice_rows("zz", 3, "both_wrong"),  # p = 1
        slice_rows("w", 2, "unlabelled"),  # no test
    ]
    base, cand, labels, reqs = ([row for p in parts for row in p[k]] for k in range(4))
    result = compare(base, cand, gold_of(*labels), requests=pd.DataFrame(reqs), by=["team"])
    slices = result.slices
    got = {s.value: s for s in slices.by["team"]}
    assert slices.n_tests == 4
    # step-up by hand: sorted p = (2⁻⁹, 2⁻⁵, 1, 1), m = 4 → (4 · 2⁻⁹, 4/2 · 2⁻⁵, 1, 1)
    assert got["x"].p_adjusted == pytest.approx(4 * 2**-9)
    assert got["y"].p_adjusted == pytest.approx(0.0625)
    assert got["y"].accuracy.delta.p_value == pytest.approx(0.03125)
    assert (got["z"].p_adjusted, got["zz"].p_adjusted, got["w"].p_adjusted) == (1.0, 1.0, None)
    assert [s.value for s in slices.by["team"] if s.significant] == ["x"]
    # impact: x 10 · 1, y 6 · 1, then zero impact ordered by cost impact (w: +2, zz: +3, z: +3), then value
    assert [(s.value, s.impact) for s in slices.by["team"]] == [
        ("x", 10.0),
        ("y", 6.0),
        ("z", 0.0),
        ("zz", 0.0),
        ("w", 0.0),
    ]
    assert [s.rank for s in slices.by["team"]] == [1, 2, 3, 4, 5]
    assert got["zz"].cost_impact_usd == pytest.approx(3.0)
    raw = [got[v].accuracy.delta.p_value for v in ("x", "y", "z", "zz")]
    assert [got[v].p_adjusted for v in ("x", "y", "z", "zz")] == pytest.approx(benjamini_hochberg(raw))


def test_result_records_parameters_and_round_trips() -> None:
    result = compare(BASE, CAND, GOLD, requests=REQUESTS, by=["team"], seed=5, n_resamples=300)
    p = result.params
    assert (p.seed, p.n_resamples, p.confidence, p.examples, p.by) == (5, 300, 0.95, 5, ("team",))
    assert (p.baseline, p.candidate, p.fdr_level) == ("acme@1", "acme@2", 0.05)
    assert p.path_components == ("model", "retrieval", "escalation", "action")
    assert result.cost.delta.seed == 5
    assert CompareResult.model_validate_json(result.model_dump_json()) == result


def metric_objects(node: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every estimate (an object with `method` and `ci_low`) anywhere in a dumped result."""
    if isinstance(node, dict):
        if "ci_low" in node:
            yield path, node
        for key, value in node.items():
            yield from metric_objects(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from metric_objects(value, f"{path}[{i}]")


def test_json_contract() -> None:
    doc = compare(BASE, CAND, GOLD, requests=REQUESTS, by=["team"]).model_dump(mode="json")
    required = {"baseline", "candidate", "n", "accuracy", "cost", "latency", "flips", "slices"}
    assert required <= set(doc)
    assert doc["slices"]["multiple_testing"] == "benjamini-hochberg"
    found = dict(metric_objects(doc))
    for where in (
        ".accuracy.delta",
        ".cost.delta",
        ".cost.delta_per_1k",
        ".cost.delta_pct",
        ".latency.p50.delta",
        ".latency.p95.delta",
        ".flips.rate",
        ".slices.by.team[0].accuracy.delta",
        ".slices.by.team[0].cost.delta",
    ):
        assert {"value", "ci_low", "ci_high", "n"} <= set(found[where]), where
    assert found[".accuracy.delta"]["p_value"] == pytest.approx(0.25)


@pytest.mark.parametrize(
    ("base", "cand", "kwargs", "message"),
    [
        pytest.param(
            [{"request_id": "a"}], CAND, {}, "base_decisions: missing column(s) model", id="columns"
        ),
        pytest.param(BASE, [*CAND, CAND[0]], {}, "cand_decisions: request_id must be unique", id="repeated"),
        pytest.param(
            [*BASE, v2(make_decision("r99"))], CAND, {}, "several router versions", id="two-routers"
        ),
        pytest.param(BASE[:1], CAND[1:2], {}, "share no request", id="disjoint"),
        pytest.param(BASE, CAND, {"by": ["team"]}, "need the requests frame", id="by-without-requests"),
        pytest.param(
            BASE,
            CAND,
            {"by": ["colour"], "requests": REQUESTS},
            "requests: missing column(s) colour",
            id="field",
        ),
        pytest.param(BASE, CAND, {"examples": -1}, "examples: is -1", id="examples"),
        pytest.param(BASE, CAND, {"seed": -1}, "seed: is -1", id="seed"),
        pytest.param(
            [*BASE[:-1], {**BASE[-1], "est_cost_usd": None}],
            CAND,
            {},
            "est_cost_usd is missing or not finite for 1 request(s), e.g. r11",
            id="missing-cost",
        ),
    ],
)
def test_bad_input_is_named(
    base: list[dict[str, Any]], cand: list[dict[str, Any]], kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(EvaluatorError, match=re.escape(message)):
        compare(base, cand, GOLD, **kwargs)


def test_inputs_are_not_mutated() -> None:
    base, cand, requests = frame(BASE), frame(CAND), REQUESTS.copy()
    compare_versions(base, cand, GOLD, requests, by=["week"])
    pd.testing.assert_frame_equal(base, frame(BASE))
    pd.testing.assert_frame_equal(cand, frame(CAND))
    pd.testing.assert_frame_equal(requests, REQUESTS)


def test_percent_change_is_undefined_when_the_baseline_costs_nothing() -> None:
    result = compare([make_decision("a", cost=0)], [v2(make_decision("a", cost=1))], GOLD)
    assert result.cost.delta_pct is None
    assert result.cost.delta.value == 1.0
    assert any("cost.delta_pct undefined" in w for w in result.warnings)


def test_paired_frame_exposes_per_request_correctness() -> None:
    paired = pair_decisions(frame(BASE), frame(CAND), GOLD).frame
    assert list(paired["request_id"]) == ["r01", "r02", "r03", "r04", "r05", "r06", "r07", "r10", "r11"]
    ok = paired.set_index("request_id")[["ok_base", "ok_cand"]]
    assert (bool(ok.loc["r03", "ok_base"]), bool(ok.loc["r03", "ok_cand"])) == (False, True)
    assert ok.loc["r06"].isna().all()  # unlabelled
    assert list(paired["rule_id_base"].unique()) == ["r"]
    correctness = pair_decisions(frame(BASE), frame(CAND), GOLD).correctness()
    assert list(correctness.columns) == ["request_id", "base_correct", "cand_correct"]
    assert int(correctness["cand_correct"].sum()) == 5


# --- properties ---------------------------------------------------------------------------------------------

PATHS = [{"tier": "small"}, {"tier": "large"}, {"model": "m1"}, {"model": "s2", "retrieval": "kb"}]


@st.composite
def versions(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[dict[str, Any]], GoldLabels, pd.DataFrame]:
    """Two versions over the same 1–20 requests, random labels and a team per request."""
    n = draw(st.integers(1, 20))
    base, cand, labels = [], [], []
    for i in range(n):
        rid = f"q{i:02d}"
        for out, router in ((base, "acme@1"), (cand, "acme@2")):
            out.append(
                make_decision(
                    rid,
                    draw(st.sampled_from([*MODEL_TIERS, None])),
                    retrieval=draw(st.sampled_from([None, "kb"])),
                    cost=draw(st.integers(0, 1000)) / 100,  # cents: no subnormal totals
                    latency=draw(st.floats(0, 1e5)),
                    router=router,
                )
            )
        kind = draw(st.sampled_from(["paths", "paths", "abstain", "none"]))
        if kind == "paths":
            labels.append(make_label(rid, *draw(st.lists(st.sampled_from(PATHS), min_size=1, max_size=2))))
        elif kind == "abstain":
            labels.append(make_label(rid, abstain=True))
    teams = draw(st.lists(st.sampled_from(["a", "b", None]), min_size=n, max_size=n))
    requests = pd.DataFrame({"request_id": [d["request_id"] for d in base], "team": teams})
    return base, cand, gold_of(*labels), requests


Scenario = tuple[list[dict[str, Any]], list[dict[str, Any]], GoldLabels, pd.DataFrame]


@settings(max_examples=40)
@given(versions())
def test_identical_versions_give_zero_deltas_and_no_flips(scenario: Scenario) -> None:
    base, _, gold, requests = scenario
    result = compare(base, base, gold, requests=requests, by=["team"], n_resamples=200)
    assert result.flips.changed == 0
    assert result.flips.rate.value == 0
    assert all(m.changed == 0 for m in result.flips.components.values())
    for name in ("fixed", "broken", "changed_both_right", "changed_both_wrong"):
        assert result.flips.buckets[name].count == 0
    deltas = [result.accuracy.delta, *(s.accuracy.delta for s in result.slices.by["team"])]
    for d in deltas:
        assert d.p_value == 1.0
        assert d.value in (0.0, None)  # None: no labelled request
    boots = [result.cost.delta, result.cost.delta_per_1k, result.cost.delta_pct]
    boots += [result.latency.p50.delta, result.latency.p95.delta]
    boots += [s.cost.delta for s in result.slices.by["team"]]
    for b in boots:
        assert b is not None
        assert (b.value, b.ci_low, b.ci_high) == (0.0, 0.0, 0.0)
    assert all(not s.significant and s.impact == 0 for s in result.slices.by["team"])


@settings(max_examples=40)
@given(versions())
def test_every_interval_contains_its_estimate(scenario: Scenario) -> None:
    base, cand, gold, requests = scenario
    doc = compare(base, cand, gold, requests=requests, by=["team"], n_resamples=200).model_dump()
    found = list(metric_objects(doc))
    assert found
    for where, e in found:
        if e["value"] is None:
            assert e["n"] == 0, where
        else:
            assert e["ci_low"] <= e["value"] <= e["ci_high"], where


@settings(max_examples=25)
@given(versions(), st.integers(0, 2**32))
def test_same_seed_same_result(scenario: Scenario, seed: int) -> None:
    base, cand, gold, requests = scenario
    run = [
        compare(base, cand, gold, requests=requests, by=["team"], seed=seed, n_resamples=100)
        for _ in range(2)
    ]
    assert run[0] == run[1]
    assert run[0].params.seed == seed


@settings(max_examples=25)
@given(versions())
def test_swapping_versions_mirrors_the_comparison(scenario: Scenario) -> None:
    base, cand, gold, _ = scenario
    forward, back = compare(base, cand, gold, n_resamples=50), compare(cand, base, gold, n_resamples=50)
    assert forward.accuracy.delta.p_value == back.accuracy.delta.p_value  # McNemar is symmetric
    if forward.accuracy.delta.value is not None:
        assert forward.accuracy.delta.value == pytest.approx(-(back.accuracy.delta.value or 0.0))
    assert forward.flips.buckets["fixed"].count == back.flips.buckets["broken"].count
    assert forward.flips.changed == back.flips.changed
    assert math.isclose(forward.cost.delta.value or 0.0, -(back.cost.delta.value or 0.0), abs_tol=1e-9)


# --- the demo: v2 halves the cost and misroutes refunds and billing disputes; v3 fixes them ----------------

DEMO_TASKS = ("refund", "billing_dispute")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, demo_stores: DemoStores) -> dict[str, Any]:
    from routelab.datasets import queries
    from routelab.datasets.store import open_store

    path: Path = demo_stores.copy(tmp_path_factory.mktemp("demo") / "demo.duckdb", seed=11, n_requests=1500)
    with open_store(path) as store:
        gold = resolve_gold(queries.labels(store), queries.annotations(store))
        requests = queries.requests(store, ["task", "workflow"])
        decisions = {v: queries.decisions(store, f"acme-gateway@{v}") for v in ("1", "2", "3")}
    by = ["workflow", "task"]
    return {
        "requests": requests,
        "v1v2": compare_versions(decisions["1"], decisions["2"], gold, requests, by=by, seed=3),
        "v2v3": compare_versions(decisions["2"], decisions["3"], gold, requests, by=by, seed=3),
    }


def test_demo_refunds_and_disputes_are_support_tickets(demo: dict[str, Any]) -> None:
    requests = demo["requests"]
    assert set(requests.loc[requests["task"].isin(DEMO_TASKS), "workflow"]) == {"support"}


def test_demo_v1_to_v2_finds_the_cost_drop_and_the_misrouted_support_segment(demo: dict[str, Any]) -> None:
    result: CompareResult = demo["v1v2"]
    assert result.n == 1500
    assert result.cost.delta_pct is not None
    assert result.cost.delta_pct.ci_high < 0  # the cost drop
    assert result.cost.delta.ci_high < 0
    task = {s.value: s for s in result.slices.by["task"]}
    for name in DEMO_TASKS:
        s = task[name]
        assert s.significant, name  # after Benjamini–Hochberg across every slice
        assert s.p_adjusted is not None
        assert s.p_adjusted <= 0.05
        assert s.accuracy.delta.value is not None
        assert s.accuracy.delta.value < 0
        assert s.accuracy.delta.ci_high < 0
    assert result.flips.buckets["broken"].count > result.flips.buckets["fixed"].count


def test_demo_v2_to_v3_recovers_accuracy_on_the_segment(demo: dict[str, Any]) -> None:
    before: CompareResult = demo["v1v2"]
    result: CompareResult = demo["v2v3"]
    task = {s.value: s for s in result.slices.by["task"]}
    lost = {s.value: s for s in before.slices.by["task"]}
    for name in DEMO_TASKS:
        acc = task[name].accuracy
        assert acc.delta.value is not None
        assert acc.delta.value > 0
        assert acc.delta.ci_low > 0
        assert task[name].significant
        # v3 regains most of what v2 lost on the segment
        assert acc.candidate.value is not None
        assert lost[name].accuracy.baseline.value is not None
        assert acc.candidate.value >= lost[name].accuracy.baseline.value - 0.2
