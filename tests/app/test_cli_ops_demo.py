"""`routelab ops` on the default demo (seed 7, 20,000 requests), which logs timeouts, fallbacks, cache hits.

The store is `routelab demo`'s (`build_demo`, shared with test_ope_demo.py): ops reads the traffic, its
outcomes, labels and annotations, none of which the replays of acme v1-v3 touch.

The demo plants (datasets/demo/story.py) a gpt-4o incident: on day 23 from 13:00 to 19:00 UTC most gpt-4o
calls fail and lanes with fallbacks fall back to Claude Sonnet 4.5; cache hits happen only on lanes whose
path serves from cache. Expected numbers are computed here with pandas from the stored rows.
"""

from __future__ import annotations

import contextlib
import io
import json
import uuid
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import pandas as pd
import pytest

from routelab.app.cli import main
from routelab.app.ops_flow import ops_summary
from routelab.datasets.demo import INCIDENT
from routelab.datasets.store import open_store
from routelab.evaluators.ops_fields import prompt_template

if TYPE_CHECKING:
    from ..conftest import DemoStores

START = date(2026, 9, 7)
INCIDENT_DAY = START + timedelta(days=INCIDENT[0])
SONNET = "claude-sonnet-4-5-20250929"


def ops_json(*argv: str) -> dict[str, Any]:
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        assert main(["ops", *argv, "--json"]) == 0
    return dict(json.loads(buffer.getvalue()))


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory, demo_stores: DemoStores) -> str:
    """The demo's traffic, plus one cache hit whose gold says bypass and one an annotator rejected."""
    path = demo_stores.copy(tmp_path_factory.mktemp("ops_demo") / "demo.duckdb", seed=7, n_requests=20_000)
    with open_store(path) as store:
        hits = [r[0] for r in store.execute(
            "SELECT request_id FROM outcomes WHERE kind = 'logged' AND cache_hit ORDER BY request_id LIMIT 2"
        ).fetchall()]  # fmt: skip
        store.execute(
            "INSERT OR REPLACE INTO labels (request_id, source, abstain, acceptable, cache) "
            "VALUES (?, 'test', false, ?, 'bypass')",
            [hits[0], json.dumps([{"cache": "bypass", "tier": "small"}])],
        )
        store.execute(
            "INSERT INTO annotations (annotation_id, request_id, router, annotator, kind, verdict, "
            "decision_path, corrected, created_at) VALUES (?, ?, 'acme-gateway@1', 'alice', 'judgement', "
            "'incorrect', ?, ?, now())",
            [
                uuid.uuid4().hex,
                hits[1],
                json.dumps({"cache": "serve", "model": "gpt-4o"}),
                '{"tier": "large"}',
            ],
        )
    return str(path)


@pytest.fixture(scope="module")
def calls(db: str) -> pd.DataFrame:
    with open_store(db) as store:
        f = store.df(
            "SELECT o.request_id, r.ts, r.workflow, r.team, r.prompt, o.model, o.cost_usd, o.error, "
            "o.fallback_model, o.cache_hit, o.path, o.input_tokens + o.output_tokens AS tokens "
            "FROM outcomes o JOIN requests r USING (request_id) WHERE o.kind = 'logged'"
        )
    return f.assign(day=f["ts"].dt.date, week=f["ts"].dt.strftime("%G-W%V"))


@pytest.fixture(scope="module")
def doc(db: str) -> dict[str, Any]:
    return ops_json("--db", db)


def test_the_gpt4o_incident_is_a_fallback_spike_and_the_worst_error_week(
    doc: dict[str, Any], calls: pd.DataFrame
) -> None:
    spikes = [(d["model"], d["day"]) for d in doc["fallbacks"]["daily"] if d["spike"]]
    assert spikes == [("gpt-4o", INCIDENT_DAY.isoformat())]
    day = next(d for d in doc["fallbacks"]["daily"] if d["spike"])
    on_day = calls[(calls["model"] == "gpt-4o") & (calls["day"] == INCIDENT_DAY)]
    assert (day["requests"], day["fallbacks"]) == (len(on_day), on_day["fallback_model"].notna().sum())
    assert day["served_by"] == {SONNET: day["fallbacks"]}
    weekly = [w for w in doc["reliability"]["weekly"] if w["field"] == "model" and w["value"] == "gpt-4o"]
    worst = max(weekly, key=lambda w: w["error_rate"]["value"])
    incident_week = f"{INCIDENT_DAY.isocalendar()[0]}-W{INCIDENT_DAY.isocalendar()[1]:02d}"
    assert worst["period"] == incident_week
    in_week = calls[(calls["model"] == "gpt-4o") & (calls["week"] == incident_week)]
    assert worst["errors"] == in_week["error"].notna().sum()
    others = [w["error_rate"]["value"] for w in weekly if w["period"] != incident_week]
    assert worst["error_rate"]["ci_low"] > max(others)  # significantly worse than every other week


def test_fallbacks_per_primary_model_and_their_cost(doc: dict[str, Any], calls: pd.DataFrame) -> None:
    row = next(r for r in doc["fallbacks"]["rows"] if (r["model"], r["workflow"]) == ("gpt-4o", "support"))
    g = calls[(calls["model"] == "gpt-4o") & (calls["workflow"] == "support")]
    fell = g[g["fallback_model"].notna()]
    clean = g[g["error"].isna() & g["fallback_model"].isna() & ~g["cache_hit"]]
    assert (row["requests"], row["fallbacks"]) == (len(g), len(fell))
    assert row["served_by"] == fell["fallback_model"].value_counts().to_dict()
    assert row["primary_cost_median"] == pytest.approx(clean["cost_usd"].median())
    assert row["fallback_cost_median"] == pytest.approx(fell["cost_usd"].median())
    assert row["cost_ratio"] > 1  # the failed call plus Sonnet costs more than a gpt-4o answer


def test_cache_hits_only_on_cached_lanes_and_their_savings(doc: dict[str, Any], calls: pd.DataFrame) -> None:
    hits = calls[calls["cache_hit"]]
    assert {json.loads(p)["cache"] for p in hits["path"]} == {"serve"}
    by_wf = {r["workflow"]: r for r in doc["caching"]["rows"]}
    assert {w for w, r in by_wf.items() if r["hits"]} == set(hits["workflow"]) == {"support"}
    ref = calls[~calls["cache_hit"] & calls["error"].isna() & calls["fallback_model"].isna()]
    median = ref.groupby(["workflow", "model"])["cost_usd"].median()
    saved = sum(median[(w, m)] for w, m in zip(hits["workflow"], hits["model"], strict=True))
    assert by_wf["support"]["saved_usd"] == pytest.approx(saved)
    assert by_wf["support"]["hit_rate"]["value"] == pytest.approx(
        len(hits) / (calls["workflow"] == "support").sum()
    )


def test_the_planted_judgements_flag_two_cache_hits(doc: dict[str, Any], calls: pd.DataFrame) -> None:
    first, second = sorted(calls.loc[calls["cache_hit"], "request_id"])[:2]
    judged = {(j["request_id"], j["reason"]) for j in doc["caching"]["judged"]}
    assert judged == {(first, "gold: bypass"), (second, "annotation: incorrect")}
    assert doc["caching"]["annotated_hits"] == 1


def test_teams_traffic_and_week_over_week(doc: dict[str, Any], calls: pd.DataFrame) -> None:
    assert (doc["comparison"]["last_week"], doc["comparison"]["previous_week"]) == ("2026-W44", "2026-W43")
    teams = {r["value"]: r for r in doc["traffic"]["rows"] if r["field"] == "team"}
    for team, g in calls.groupby("team"):
        last, prev = g[g["week"] == "2026-W44"], g[g["week"] == "2026-W43"]
        row = teams[team]
        assert (row["requests"], row["tokens"]) == (len(g), g["tokens"].sum())
        assert row["cost_usd"] == pytest.approx(g["cost_usd"].sum())
        assert row["cost_change"] == pytest.approx(last["cost_usd"].sum() / prev["cost_usd"].sum() - 1)


def test_expensive_prompt_groups(doc: dict[str, Any], calls: pd.DataFrame) -> None:
    groups = calls.assign(group=calls["prompt"].map(prompt_template)).groupby("group")["cost_usd"].sum()
    top = groups.sort_values(ascending=False).head(10)
    assert [g["prompt_group"] for g in doc["prompts"]["by_total"]] == list(top.index)
    assert [g["cost_usd"] for g in doc["prompts"]["by_total"]] == pytest.approx(list(top))


def test_a_closed_month_projects_to_its_spend(db: str, calls: pd.DataFrame) -> None:
    budget = ops_json("--db", db, "--since", "2026-10-01", "--until", "2026-10-31")["budget"]
    assert (budget["month"], budget["days_elapsed"], budget["days_in_month"]) == ("2026-10", 31, 31)
    october = calls[calls["ts"].dt.strftime("%Y-%m") == "2026-10"].groupby("team")["cost_usd"].sum()
    for row in budget["rows"]:
        assert row["spent_usd"] == pytest.approx(october[row["team"]])
        assert row["projected_usd"] == pytest.approx(row["spent_usd"])


def test_the_report_summary(db: str) -> None:
    with open_store(db) as store:
        summary = ops_summary(store, until=date(2026, 10, 31))
    json.dumps(summary)  # JSON-ready
    assert summary["fallback_spikes"][0]["day"] == INCIDENT_DAY.isoformat()
    assert summary["cache_judged_different"] == 2
    assert len(summary["teams"]) == 5
    assert summary["budget"]["month"] == "2026-10"
    assert summary["window"] == {"since": None, "until": "2026-10-31"}
