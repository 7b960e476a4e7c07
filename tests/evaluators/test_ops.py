"""`evaluators.ops`: each section against numbers computed independently with pandas, numpy and scipy."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest
import scipy.stats

from routelab.evaluators.errors import EvaluatorError, InvalidArgumentError
from routelab.evaluators.frames import FrameError
from routelab.evaluators.gold import resolve_gold
from routelab.evaluators.ops import operations
from routelab.evaluators.ops_result import flat_columns
from routelab.evaluators.ops_types import ReliabilityRow

START = datetime(2026, 9, 7)  # a Monday
MODELS = ("gpt-4o", "claude-sonnet-4-5-20250929", "gemini/gemini-2.5-flash")


def call(rid: str, ts: datetime, **kw: Any) -> dict[str, Any]:
    """One logged call in the operations frame's shape."""
    row = {
        "request_id": rid,
        "ts": ts,
        "workflow": "support",
        "team": "t1",
        "model": "gpt-4o",
        "cost_usd": 0.01,
        "latency_ms": 1000.0,
        "input_tokens": 100,
        "output_tokens": 50,
        "error": None,
        "fallback_model": None,
        "cache_hit": False,
        "prompt_group": "g",
    }
    return row | kw


def random_calls(n: int = 900, seed: int = 3, days: int = 21) -> pd.DataFrame:
    """Seeded random traffic over `days` days: three workflows, teams, models, errors, fallbacks, hits."""
    rng = np.random.default_rng(seed)
    error = rng.choice(["timeout", "server_error", "rate_limited", None], n, p=[0.03, 0.04, 0.02, 0.91])
    fallback = np.where((error != None) & (rng.random(n) < 0.5), "claude-haiku", None)  # noqa: E711
    return pd.DataFrame(
        {
            "request_id": [f"r{i:04d}" for i in range(n)],
            "ts": [START + timedelta(minutes=int(m)) for m in rng.integers(0, days * 24 * 60, n)],
            "workflow": rng.choice(["support", "coding", "sales"], n),
            "team": rng.choice(["t1", "t2", "t3", None], n),
            "model": rng.choice(MODELS, n),
            "cost_usd": np.where(rng.random(n) < 0.02, np.nan, rng.gamma(2.0, 0.01, n)),
            "latency_ms": rng.lognormal(7, 1, n),
            "input_tokens": rng.integers(10, 2000, n),
            "output_tokens": rng.integers(0, 500, n),
            "error": error,
            "fallback_model": fallback,
            "cache_hit": rng.random(n) < 0.1,
            "prompt_group": rng.choice([f"template {k}" for k in range(40)], n),
        }
    )


@pytest.fixture(scope="module")
def calls() -> pd.DataFrame:
    return random_calls()


@pytest.fixture(scope="module")
def result(calls: pd.DataFrame) -> Any:
    return operations(calls, top=5, min_requests=20)


def wilson(k: int, n: int) -> tuple[float, float]:
    ci = scipy.stats.binomtest(k, n).proportion_ci(method="wilson")
    return ci.low, ci.high


def test_prompt_groups_by_total_and_per_request_cost(calls: pd.DataFrame, result: Any) -> None:
    g = calls.groupby("prompt_group")["cost_usd"]
    total = g.sum().sort_values(ascending=False)
    assert [p.prompt_group for p in result.prompts.by_total] == list(total.index[:5])
    assert [p.cost_usd for p in result.prompts.by_total] == pytest.approx(list(total.iloc[:5]))
    mean = (g.sum() / g.count())[g.size() >= 20].sort_values(ascending=False)
    assert [p.prompt_group for p in result.prompts.by_cost_per_request] == list(mean.index[:5])
    assert result.prompts.by_cost_per_request[0].cost_per_request == pytest.approx(mean.iloc[0])
    top = calls.dropna(subset=["cost_usd"]).nlargest(5, "cost_usd")
    assert [r.request_id for r in result.prompts.top_requests] == list(top["request_id"])
    first = result.prompts.by_total[0]
    rows = calls[calls["prompt_group"] == first.prompt_group]
    assert first.requests == len(rows)
    assert first.workflow == rows["workflow"].value_counts().index[0]
    assert first.examples == list(rows.nlargest(5, "cost_usd")["request_id"])


def _row(rows: list[ReliabilityRow], field: str, value: str) -> ReliabilityRow:
    return next(r for r in rows if r.field == field and r.value == value)


@pytest.mark.parametrize("field", ["workflow", "model"])
def test_error_timeout_failure_rates_and_latency_per_slice(
    calls: pd.DataFrame, result: Any, field: str
) -> None:
    for value, g in calls.groupby(field):
        row = _row(result.reliability.rows, field, str(value))
        errors, timeouts = int(g["error"].notna().sum()), int((g["error"] == "timeout").sum())
        failed = int((g["error"].notna() & g["fallback_model"].isna()).sum())
        assert (row.requests, row.errors, row.timeouts, row.failed) == (len(g), errors, timeouts, failed)
        assert (row.error_rate.ci_low, row.error_rate.ci_high) == pytest.approx(wilson(errors, len(g)))
        assert (row.failure_rate.ci_low, row.failure_rate.ci_high) == pytest.approx(wilson(failed, len(g)))
        lat = g.loc[~g["cache_hit"], "latency_ms"]
        expected = np.quantile(lat, [0.5, 0.95, 0.99])
        assert [row.latency_p50_ms, row.latency_p95_ms, row.latency_p99_ms] == pytest.approx(expected)
    assert _row(result.reliability.rows, "provider", "openai").requests == (calls["model"] == "gpt-4o").sum()


def test_reliability_per_week_finds_a_planted_incident_week() -> None:
    frame = random_calls(seed=5)
    week2 = (frame["ts"] >= START + timedelta(days=7)) & (frame["ts"] < START + timedelta(days=14))
    frame.loc[week2 & (frame["model"] == "gpt-4o") & (frame.index % 3 == 0), "error"] = "server_error"
    weekly = [r for r in operations(frame).reliability.weekly if r.field == "model" and r.value == "gpt-4o"]
    assert [r.period for r in weekly] == ["2026-W37", "2026-W38", "2026-W39"]
    assert max(weekly, key=lambda r: r.error_rate.value or 0).period == "2026-W38"


def test_fallback_rate_what_served_and_its_cost_against_the_primary() -> None:
    t = START + timedelta(days=1)
    rows = [call(f"c{i}", t, cost_usd=c) for i, c in enumerate([0.1, 0.2, 0.3, 0.4])]
    rows += [call("h", t, cost_usd=0.0, cache_hit=True), call("e", t, cost_usd=0.05, error="timeout")]
    rows += [
        call("f1", t, cost_usd=0.9, error="server_error", fallback_model="claude"),
        call("f2", t, cost_usd=0.7, error="rate_limited", fallback_model="claude"),
        call("f3", t, cost_usd=1.1, error="server_error", fallback_model="gemini"),
    ]
    result = operations(pd.DataFrame(rows))
    (row,) = result.fallbacks.rows
    assert (row.model, row.workflow, row.requests, row.fallbacks) == ("gpt-4o", "support", 9, 3)
    assert row.served_by == {"claude": 2, "gemini": 1}
    assert row.primary_cost_median == pytest.approx(0.25)  # the clean calls: no error, fallback or hit
    assert row.fallback_cost_median == pytest.approx(0.9)
    assert row.cost_ratio == pytest.approx(3.6)
    assert row.extra_cost_usd == pytest.approx(0.9 + 0.7 + 1.1 - 3 * 0.25)
    assert result.reliability.rows[0].failed == 1  # only the timeout went unanswered


def test_a_fallback_spike_is_flagged_on_its_day_only() -> None:
    rows = []
    for day in range(14):
        for i in range(100):
            fell = (day == 9 and i < 25) or (day != 9 and i == 0 and day % 2 == 0)
            extra = {"error": "server_error", "fallback_model": "claude"} if fell else {}
            rows.append(call(f"d{day}-{i}", START + timedelta(days=day, hours=i % 24), **extra))
    daily = operations(pd.DataFrame(rows)).fallbacks.daily
    assert [d.day for d in daily if d.spike] == [date(2026, 9, 16)]
    spike = next(d for d in daily if d.spike)
    assert (spike.fallbacks, spike.requests) == (25, 100)
    assert spike.expected_rate == pytest.approx((25 + 7) / 1400)
    assert spike.served_by == {"claude": 25}


def test_traffic_week_over_week_compares_the_same_weekdays(calls: pd.DataFrame) -> None:
    partial = calls[calls["ts"] < START + timedelta(days=17)]  # the last week ends on its Wednesday
    result = operations(partial)
    c = result.comparison
    assert (c.last_week, c.previous_week, c.days) == ("2026-W39", "2026-W38", 3)
    day = partial["ts"].dt.normalize()
    last = (day >= START + timedelta(days=14)) & (day < START + timedelta(days=17))
    prev = (day >= START + timedelta(days=7)) & (day < START + timedelta(days=10))
    for team, g in partial.assign(team=partial["team"].fillna("(missing)")).groupby("team"):
        row = next(r for r in result.traffic.rows if r.field == "team" and r.value == team)
        gl, gp = g[last.loc[g.index]], g[prev.loc[g.index]]
        assert row.requests == len(g)
        assert row.tokens == int((g["input_tokens"] + g["output_tokens"]).sum())
        assert row.requests_change == pytest.approx(len(gl) / len(gp) - 1)
        assert row.cost_change == pytest.approx(gl["cost_usd"].sum() / gp["cost_usd"].sum() - 1)
    weeks = {(w.value, w.week): w.requests for w in result.traffic.weekly if w.field == "workflow"}
    assert sum(weeks.values()) == len(partial)


def test_no_week_over_week_without_a_whole_base_week(calls: pd.DataFrame) -> None:
    result = operations(calls[calls["ts"] >= START + timedelta(days=9)], since=date(2026, 9, 16))
    assert result.comparison is None
    assert all(r.cost_change is None for r in result.traffic.rows)


def test_cache_savings_and_the_hits_judged_different() -> None:
    t = START + timedelta(days=2)
    rows = [
        call(f"ref{i}", t, cost_usd=c, input_tokens=100 * i, output_tokens=0) for i, c in enumerate([1, 2, 6])
    ]
    rows += [call("other-wf", t, workflow="sales", model="m2", cost_usd=5.0)]
    rows += [
        call(f"h{i}", t, cost_usd=0.0, cache_hit=True, input_tokens=0, output_tokens=0) for i in range(3)
    ]
    rows += [call("h-m2", t, model="m2", cache_hit=True, cost_usd=0.0)]
    rows += [call("h-new", t, model="m3", cache_hit=True, cost_usd=0.0)]
    rows += [call("unknown-flag", t, cache_hit=None, cost_usd=None)]
    labels = pd.DataFrame(
        {
            "request_id": ["h0", "h1"],
            "abstain": [False, False],
            "acceptable": [
                json.dumps([{"cache": "bypass", "tier": "large"}]),
                json.dumps([{"tier": "small"}]),
            ],
        }
    )
    annotations = pd.DataFrame(
        {
            "request_id": ["h2", "h1"],
            "kind": ["judgement", "judgement"],
            "verdict": ["incorrect", "correct"],
            "decision_path": [json.dumps({"cache": "serve"}), json.dumps({"cache": "serve"})],
        }
    )
    result = operations(pd.DataFrame(rows), gold=resolve_gold(labels), annotations=annotations)
    row = next(r for r in result.caching.rows if r.workflow == "support")
    assert (row.requests, row.hits, row.unestimated) == (9, 5, 1)
    assert row.hit_rate.n == 8  # the call without a logged flag is left out
    assert row.saved_usd == pytest.approx(3 * 2.0 + 5.0)  # median of the workflow's calls, else the model's
    assert row.tokens_saved == pytest.approx(3 * 100 + 150)  # median tokens alike
    assert (row.judged_bypass, row.disputed) == (1, 1)
    assert [(j.request_id, j.reason) for j in result.caching.judged] == [
        ("h0", "gold: bypass"),
        ("h2", "annotation: incorrect"),
    ]
    assert (result.caching.labelled_hits, result.caching.annotated_hits) == (2, 2)


def test_budget_projection_is_linear_in_the_days_observed() -> None:
    rows = [call(f"a{d}", datetime(2026, 10, d, 12), team="a", cost_usd=10.0) for d in range(11, 21)]
    rows += [call("b", datetime(2026, 10, 20, 9), team="b", cost_usd=30.0)]
    rows += [call("old", datetime(2026, 9, 30, 9), team="a", cost_usd=99.0)]
    budget = operations(pd.DataFrame(rows), budgets={"a": 250, "b": 20, "c": 100}).budget
    assert (budget.month, budget.as_of, budget.days_elapsed, budget.days_in_month) == (
        "2026-10",
        date(2026, 10, 20),
        20,
        31,
    )
    by_team = {r.team: r for r in budget.rows}
    assert by_team["a"].spent_usd == pytest.approx(100.0)
    assert by_team["a"].projected_usd == pytest.approx(100.0 / 20 * 31)
    assert [by_team[t].status for t in "abc"] == ["on track", "over budget", "on track"]
    assert by_team["c"].spent_usd == 0.0
    late = operations(pd.DataFrame(rows), since=date(2026, 10, 11), budgets={"a": 250}).budget
    assert late.days_elapsed == 10
    assert {r.team: r.status for r in late.rows}["a"] == "projected over"  # 100 / 10 × 31 = 310 > 250
    months = {(m.team, m.month): m.spent_usd for m in budget.monthly}
    assert months[("a", "2026-09")] == pytest.approx(99.0)


def test_tables_flatten_estimates_and_keep_headers_when_empty(result: Any) -> None:
    tables = result.tables()
    assert len(tables) == 13
    rel = tables["reliability"]
    assert {"error_rate", "error_rate_low", "error_rate_high"} <= set(rel.columns)
    assert tables["cache_judged"].empty
    assert list(tables["cache_judged"].columns) == ["request_id", "ts", "workflow", "model", "reason"]
    assert list(rel.columns) == flat_columns(ReliabilityRow)
    assert isinstance(rel["examples"].iloc[0], str)


def test_the_input_is_not_changed_and_prompts_are_grouped_when_no_group_is_given(calls: pd.DataFrame) -> None:
    before = calls.copy()
    operations(calls)
    pd.testing.assert_frame_equal(calls, before)
    raw = calls.drop(columns=["prompt_group"]).assign(
        prompt=[f"Order #{i} please" for i in range(len(calls))]
    )
    groups = operations(raw).prompts
    assert groups.n_groups == 1
    assert groups.by_total[0].prompt_group == "order #<n> please"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"reliability_by": ["region"]}, "slice 'region': no field region"),
        ({"top": 0}, "top: is 0"),
        ({"since": date(2026, 9, 9), "until": date(2026, 9, 8)}, "since: 2026-09-09 is after until"),
        ({"budgets": {"a": -1}}, "team 'a' has -1"),
        ({"fdr": 1.5}, "fdr: is 1.5"),
    ],
    ids=["unknown-slice", "bad-top", "since-after-until", "negative-budget", "bad-fdr"],
)
def test_bad_arguments_name_the_fix(calls: pd.DataFrame, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises((FrameError, InvalidArgumentError), match=message):
        operations(calls, **kwargs)


def test_a_missing_column_is_named() -> None:
    with pytest.raises(EvaluatorError, match=r"missing column.*fallback_model"):
        operations(pd.DataFrame([call("x", START)]).drop(columns=["fallback_model"]))
