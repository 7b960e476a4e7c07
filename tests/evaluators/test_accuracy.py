"""Routing accuracy of one version: hand-computed small cases, an interval property and the demo's story."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from routelab.evaluators.accuracy import evaluate_version
from routelab.evaluators.accuracy_types import AccuracyResult
from routelab.evaluators.errors import EvaluatorError
from routelab.evaluators.gold import GoldLabels, resolve_gold
from routelab.evaluators.intervals import wilson

from .builders import MODEL_TIERS, make_decision, make_label

if TYPE_CHECKING:
    from ..conftest import DemoStores

TIERS = ("small", "medium", "large")
PRICES = {"s1": 1.0, "s2": 0.5, "m1": 2.0, "l1": 4.0}


def gold_of(*labels: dict[str, Any]) -> GoldLabels:
    return resolve_gold(pd.DataFrame(list(labels), columns=["request_id", "source", "abstain", "acceptable"]))


def evaluate(decisions: list[dict[str, Any]], gold: GoldLabels, **kwargs: Any) -> AccuracyResult:
    return evaluate_version(
        pd.DataFrame(decisions), gold, kwargs.pop("requests", None), MODEL_TIERS, TIERS, **kwargs
    )


# Six requests: r1 right on the cheapest tier, r2 acceptable but over-routed, r3 under-routed without the
# index, r4 abstains, r5 has no label, r6 exactly right.
DECISIONS = [
    make_decision("r1", "s1", cost=1.0, latency=100),
    make_decision("r2", "l1", cost=4.0, latency=200),
    make_decision("r3", "s1", cost=1.0, latency=300),
    make_decision("r4", "s1", cost=1.0, latency=400),
    make_decision("r5", "m1", cost=2.0, latency=500),
    make_decision("r6", "m1", retrieval="kb", cost=2.0, latency=600),
]
GOLD = gold_of(
    make_label("r1", {"tier": "small"}),
    make_label("r2", {"tier": "small"}, {"tier": "medium"}, {"tier": "large"}),
    make_label("r3", {"model": "m1", "retrieval": "kb"}),
    make_label("r4", abstain=True),
    make_label("r6", {"model": "m1", "retrieval": "kb"}),
)
REQUESTS = pd.DataFrame(
    {
        "request_id": ["r1", "r2", "r3", "r4", "r5", "r6"],
        "team": ["a", "a", "a", "b", "b", None],
        "ts": [datetime(2026, 9, 7, 10)] * 3 + [datetime(2026, 9, 14, 10)] * 3,
    }
)


def outcome_costs(overrides: dict[tuple[str, str], float]) -> pd.DataFrame:
    base = {"s1": 0.1, "s2": 0.05, "m1": 0.3, "l1": 1.0}
    rows = [
        {"request_id": r, "model": m, "kind": "full", "cost_usd": overrides.get((r, m), c)}
        for r in REQUESTS["request_id"]
        for m, c in base.items()
    ]
    return pd.DataFrame(rows)


def test_counts_exclude_abstain_and_unlabelled() -> None:
    counts = evaluate(DECISIONS, GOLD).overall.counts
    assert counts.model_dump() == {
        "decisions": 6,
        "labelled": 4,
        "abstain": 1,
        "unresolved": 0,
        "unlabelled": 1,
    }


def test_exact_path_acceptable_set_and_components() -> None:
    s = evaluate(DECISIONS, GOLD).overall
    assert s.exact_path == wilson(2, 4)  # r1, r6
    assert s.acceptable_set == wilson(3, 4)  # r1, r2, r6
    assert s.components["tier"] == wilson(2, 4)  # best tiers small, small, medium, medium
    assert s.components["model"] == wilson(1, 2)  # judged on r3 and r6 only
    assert s.components["retrieval"] == wilson(1, 2)
    assert s.components["cache"] == wilson(0, 0)  # no label judges the cache
    assert s.components["cache"].value is None


def test_over_and_under_routing_rates() -> None:
    s = evaluate(DECISIONS, GOLD).overall
    assert s.over_routing.rate == wilson(1, 4)  # r2: large above small
    assert s.under_routing.rate == wilson(1, 4)  # r3: small below medium (m1)
    assert s.over_routing.spend_usd is None  # no outcomes, no prices: money unavailable


def test_money_from_price_ratios() -> None:
    result = evaluate(DECISIONS, GOLD, model_prices=PRICES, baseline_model="l1")
    s = result.overall
    assert result.params.cost_basis == "price_ratio"
    # r2: est 4.0 on l1; cheapest acceptable small model s2 would cost 4.0 * 0.5 / 4.0
    assert s.over_routing.spend_usd == pytest.approx(3.5)
    assert s.over_routing.n_costed == 1
    # r3: est 1.0 on s1; m1 would cost 1.0 * 2.0 / 1.0
    assert s.under_routing.spend_usd == pytest.approx(1.0)
    assert s.savings is not None
    # every request on l1: est * 4 / price of the decided model = 4 each
    assert (s.savings.baseline_cost_usd, s.savings.router_cost_usd) == pytest.approx((24.0, 11.0))
    assert s.savings.savings_usd == pytest.approx(13.0)
    assert s.savings.savings_share == pytest.approx(13 / 24)
    assert s.savings.n == 6


def test_money_from_full_outcomes_compares_outcome_with_outcome() -> None:
    outcomes = outcome_costs({("r2", "l1"): 1.2})
    s = evaluate(DECISIONS, GOLD, outcomes=outcomes, model_prices=PRICES, baseline_model="l1").overall
    assert s.over_routing.spend_usd == pytest.approx(1.2 - 0.05)
    assert s.under_routing.spend_usd == pytest.approx(0.3 - 0.1)
    assert s.savings is not None
    assert s.savings.basis == "outcomes"
    assert s.savings.baseline_cost_usd == pytest.approx(6.2)
    assert s.savings.router_cost_usd == pytest.approx(0.1 + 1.2 + 0.1 + 0.1 + 0.3 + 0.3)


def test_cost_and_latency() -> None:
    s = evaluate(DECISIONS, GOLD).overall
    assert s.total_cost_usd == pytest.approx(11.0)
    assert s.cost_per_1k_usd == pytest.approx(11_000 / 6)
    assert s.latency_p50_ms == pytest.approx(350.0)
    assert s.latency_p95_ms == pytest.approx(575.0)  # 500 + 0.75 * (600 - 500)


def test_confusion_matrices() -> None:
    confusion = evaluate(DECISIONS, GOLD).confusion
    assert confusion["tier"] == {"medium": {"medium": 1, "small": 1}, "small": {"large": 1, "small": 1}}
    assert confusion["model"] == {"m1": {"m1": 1, "s1": 1}}
    assert confusion["retrieval"] == {"kb": {"kb": 1, "none": 1}}
    assert confusion["cache"] == {}


def test_breakdowns_by_request_field_and_week() -> None:
    result = evaluate(DECISIONS, GOLD, requests=REQUESTS, by=["team", "week"])
    team = {s.value: s.summary for s in result.breakdowns["team"]}
    assert list(team) == ["(missing)", "a", "b"]
    assert team["a"].exact_path == wilson(1, 3)
    assert team["a"].acceptable_set == wilson(2, 3)
    assert team["b"].counts.labelled == 0
    assert team["b"].counts.abstain == 1
    assert team["(missing)"].exact_path == wilson(1, 1)
    week = {s.value: s.summary.counts.decisions for s in result.breakdowns["week"]}
    assert week == {"2026-W37": 3, "2026-W38": 3}


def test_null_retrieval_and_escalation_mean_none() -> None:
    decisions = [
        make_decision("a"),
        make_decision("b"),
        make_decision("c"),
        make_decision("d", escalation="none"),
    ]
    gold = gold_of(
        make_label("a", {"retrieval": None}),
        make_label("b", {"retrieval": "none"}),
        make_label("c", {"retrieval": "kb"}),
        make_label("d", {"escalation": None}),
    )
    assert evaluate(decisions, gold).overall.exact_path == wilson(3, 4)


def test_blocked_decision_matches_a_block_and_has_no_tier() -> None:
    decisions = [make_decision("a", None, action="block")]
    s = evaluate(decisions, gold_of(make_label("a", {"action": "block"}))).overall
    assert s.exact_path == wilson(1, 1)
    assert s.components["action"] == wilson(1, 1)
    assert s.over_routing.rate.n == 0


def test_gold_frame_gives_the_same_result_as_gold_labels() -> None:
    a = evaluate(DECISIONS, GOLD)
    b = evaluate(DECISIONS, GOLD.frame())  # type: ignore[arg-type]
    assert a.overall == b.overall
    assert a.params.gold_counts == b.params.gold_counts


def test_result_records_parameters_and_serialises() -> None:
    result = evaluate(
        DECISIONS, GOLD, requests=REQUESTS, by=["team"], model_prices=PRICES, baseline_model="s1"
    )
    p = result.params
    assert (p.router, p.by, p.baseline_model, p.tier_order) == ("acme@1", ("team",), "s1", TIERS)
    assert p.model_tiers == MODEL_TIERS
    assert p.confidence == 0.95
    assert p.seed is None
    assert p.gold_counts["abstain"] == 1
    assert AccuracyResult.model_validate_json(result.model_dump_json()) == result


def test_warnings_name_what_was_left_out() -> None:
    decisions = [make_decision("a")]
    result = evaluate(decisions, gold_of(make_label("a", {"model": "mystery"})), baseline_model="l1")
    assert any("model mystery" in w for w in result.warnings)
    assert any("savings unavailable" in w for w in result.warnings)
    assert result.overall.over_routing.rate.n == 0
    assert result.overall.savings is None


@pytest.mark.parametrize(
    ("decisions", "kwargs", "message"),
    [
        pytest.param([{"request_id": "a"}], {}, "decisions: missing column(s) model", id="missing-columns"),
        pytest.param([make_decision("a"), make_decision("a")], {}, "repeated: a", id="repeated-request"),
        pytest.param(
            [make_decision("a"), make_decision("b", router="acme@2")],
            {},
            "several router versions (acme@1, acme@2)",
            id="two-versions",
        ),
        pytest.param(
            [make_decision("a")],
            {"model_prices": PRICES, "baseline_model": "x"},
            "baseline_model 'x' has no cost in the price_ratio; known: l1, m1, s1, s2",
            id="unknown-baseline",
        ),
        pytest.param(
            [make_decision("a")], {"by": ["team"]}, "need the requests frame", id="by-without-requests"
        ),
        pytest.param(
            [make_decision("a")],
            {"by": ["colour"], "requests": REQUESTS},
            "requests: missing column(s) colour",
            id="unknown-field",
        ),
        pytest.param(
            [make_decision("a")],
            {"outcomes": outcome_costs({}).assign(kind="logged")},
            "need full-information outcomes",
            id="logged-outcomes",
        ),
    ],
)
def test_bad_input_is_named(decisions: list[dict[str, Any]], kwargs: dict[str, Any], message: str) -> None:
    import re

    with pytest.raises(EvaluatorError, match=re.escape(message)):
        evaluate(decisions, GOLD, **kwargs)


def test_no_decisions_is_an_error_not_an_empty_result() -> None:
    with pytest.raises(EvaluatorError, match="decisions: no rows to evaluate"):
        evaluate_version(pd.DataFrame(columns=list(make_decision("a"))), GOLD, None, MODEL_TIERS, TIERS)


def test_inputs_are_not_mutated() -> None:
    decisions = pd.DataFrame(DECISIONS)
    requests = REQUESTS.copy()
    evaluate_version(decisions, GOLD, requests, MODEL_TIERS, TIERS, by=["week"])
    pd.testing.assert_frame_equal(decisions, pd.DataFrame(DECISIONS))
    pd.testing.assert_frame_equal(requests, REQUESTS)


# --- property: every interval contains its estimate ---------------------------------------------------------

PATHS = [
    {"tier": "small"},
    {"tier": "large"},
    {"model": "m1"},
    {"model": "s2", "retrieval": "kb"},
    {"cache": "serve"},
]


def estimates(node: Any) -> Iterator[dict[str, Any]]:
    """Every Wilson estimate anywhere in a dumped result."""
    if isinstance(node, dict):
        if node.get("method") == "wilson":
            yield node
        for value in node.values():
            yield from estimates(value)
    elif isinstance(node, list):
        for value in node:
            yield from estimates(value)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[dict[str, Any]], GoldLabels, pd.DataFrame]:
    n = draw(st.integers(1, 25))
    decisions, labels = [], []
    for i in range(n):
        rid = f"q{i}"
        decisions.append(
            make_decision(
                rid,
                draw(st.sampled_from([*MODEL_TIERS, None])),
                retrieval=draw(st.sampled_from([None, "kb"])),
                cache=draw(st.sampled_from(["serve", "bypass"])),
                cost=draw(st.floats(0, 10)),
                latency=draw(st.floats(0, 1e5)),
            )
        )
        kind = draw(st.sampled_from(["paths", "paths", "abstain", "none"]))
        if kind == "paths":
            labels.append(make_label(rid, *draw(st.lists(st.sampled_from(PATHS), min_size=1, max_size=3))))
        elif kind == "abstain":
            labels.append(make_label(rid, abstain=True))
    teams = draw(st.lists(st.sampled_from(["a", "b", None]), min_size=n, max_size=n))
    requests = pd.DataFrame({"request_id": [d["request_id"] for d in decisions], "team": teams})
    return decisions, gold_of(*labels), requests


@settings(max_examples=60)
@given(scenarios())
def test_every_interval_contains_its_estimate(
    scenario: tuple[list[dict[str, Any]], GoldLabels, pd.DataFrame],
) -> None:
    decisions, gold, requests = scenario
    result = evaluate(
        decisions, gold, requests=requests, by=["team"], model_prices=PRICES, baseline_model="l1"
    )
    found = list(estimates(result.model_dump()))
    assert found
    for e in found:
        if e["n"] == 0:
            assert e["value"] is None
        else:
            assert e["ci_low"] <= e["value"] <= e["ci_high"]


# --- the demo: v2's planted flaw on refunds and billing disputes --------------------------------------------


@pytest.fixture(scope="module")
def demo_results(
    tmp_path_factory: pytest.TempPathFactory, demo_stores: DemoStores
) -> dict[str, AccuracyResult]:
    from routelab.datasets import queries, routers
    from routelab.datasets.store import open_store

    path: Path = demo_stores.copy(tmp_path_factory.mktemp("demo") / "demo.duckdb", seed=11, n_requests=1500)
    with open_store(path) as store:
        gold = resolve_gold(queries.labels(store), queries.annotations(store))
        requests = queries.requests(store, ["workflow", "task"])
        support = requests["workflow"].eq("support") & requests["task"].isin(["refund", "billing_dispute"])
        chosen = set(requests.loc[support, "request_id"])
        out = {}
        for version in ("1", "2", "3"):
            ref = f"acme-gateway@{version}"
            router = routers.get(store, ref)
            decisions = queries.decisions(store, ref)
            out[version] = evaluate_version(
                decisions[decisions["request_id"].isin(chosen)],
                gold,
                requests,
                {m: spec.tier for m, spec in router.models.items()},
                router.config.tiers,
            )
    return out


def test_demo_v2_misroutes_refunds_and_disputes(demo_results: dict[str, AccuracyResult]) -> None:
    acc = {v: r.overall.acceptable_set for v, r in demo_results.items()}
    assert acc["2"].n >= 30
    assert acc["2"].value is not None
    assert acc["2"].value < 0.6
    # v2's whole interval lies below v1's and v3's
    assert acc["2"].ci_high < acc["1"].ci_low
    assert acc["2"].ci_high < acc["3"].ci_low
    # the cause: v2 answers them without the support KB
    assert demo_results["2"].overall.components["retrieval"].ci_high < acc["3"].ci_low
