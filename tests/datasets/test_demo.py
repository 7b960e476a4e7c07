"""The demo generator: deterministic, store-shaped, and every planted story element is there and measurable.

The story checks use what an evaluator would use: the request frame, the labels, the outcomes and the acme
routers replayed with the Python engine on a sample. `truth` (generator ground truth) only picks the slices.
"""

from __future__ import annotations

import inspect
import json
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from routelab.datasets import tables
from routelab.datasets.demo import (
    LAUNCH_DAY,
    PRICE_MODEL,
    TIERS,
    DemoData,
    catalogue,
    generate,
    write_demo,
)
from routelab.datasets.errors import DatasetError
from routelab.datasets.store import open_store
from routelab.datasets.tables import ConflictError
from routelab.router_core.engine import route_many
from routelab.router_core.paths import Decision
from routelab.router_core.pii import PiiType, has_pii
from routelab.router_core.pricing import PriceTable
from routelab.router_core.request import Request
from routelab.router_core.validate import Router, load_router

N = 3000
START = date(2026, 9, 7)
EXAMPLES = Path(__file__).resolve().parents[2] / "router_core" / "examples"
#: Task values the acme rules test; the demo must use exactly these spellings.
RULE_TASKS = {
    "refund", "billing_dispute", "escalation", "triage", "troubleshoot", "completion", "debug", "review",
    "migration", "analysis", "market_research", "literature_review", "proposal", "crm_notes", "call_summary",
}  # fmt: skip


# ------------------------------------------------------------------------------------------------ builders
@pytest.fixture(scope="module")
def demo() -> DemoData:
    return generate(seed=7, n_requests=N)


@pytest.fixture(scope="module")
def prices() -> PriceTable:
    return PriceTable.model_validate(yaml.safe_load((EXAMPLES / "prices.yaml").read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def routers() -> dict[int, Router]:
    return {v: load_router((EXAMPLES / f"acme_v{v}.yaml").read_text(encoding="utf-8")) for v in (1, 2, 3)}


def make_request(row: Any) -> Request:
    """The router's view of one row of the demo's request frame."""
    eot = row.expected_output_tokens
    return Request(
        request_id=row.request_id,
        ts=row.ts.to_pydatetime(),
        workflow=row.workflow,
        task=None if pd.isna(row.task) else row.task,
        team=row.team,
        region=row.region,
        data_class=row.data_class,
        prompt=row.prompt,
        prompt_tokens=int(row.prompt_tokens),
        expected_output_tokens=None if pd.isna(eot) else int(eot),
        attrs=row.attrs,
    )


def route_frame(frame: pd.DataFrame, router: Router, prices: PriceTable) -> pd.DataFrame:
    """Decisions of one router version for the requests of `frame`, one row each."""
    decisions: list[Decision] = route_many(router, [make_request(r) for r in frame.itertuples()], prices)
    return pd.DataFrame(
        {
            "request_id": [d.request_id for d in decisions],
            "model": [d.model for d in decisions],
            "tier": [d.tier for d in decisions],
            "retrieval": [d.retrieval for d in decisions],
            "escalation": [d.escalation for d in decisions],
            "rule_id": [d.rule_id for d in decisions],
            "est_cost_usd": [d.est_cost_usd for d in decisions],
        }
    ).set_index("request_id")


def matches(decision: pd.Series, acceptable: list[dict[str, Any]]) -> bool:
    """Whether a decision satisfies one of the acceptable partial paths."""
    return any(all(decision[k] == v for k, v in path.items()) for path in acceptable)


def segment(demo: DemoData, *names: str) -> pd.DataFrame:
    """The requests of the named generator segments."""
    return demo.requests[demo.truth["segment"].isin(names).to_numpy()]


@pytest.fixture(scope="module")
def sample(demo: DemoData) -> pd.DataFrame:
    """A random sample plus every refund, dispute, Fleet troubleshooting and sales request."""
    rng = np.random.default_rng(0)
    picked = rng.random(N) < 0.2
    picked |= (
        demo.truth["segment"]
        .isin(["support/refund", "support/dispute", "support/troubleshoot-fleet"])
        .to_numpy()
    )
    picked |= (demo.requests["workflow"] == "sales").to_numpy()
    return demo.requests[picked]


@pytest.fixture(scope="module")
def decisions(
    sample: pd.DataFrame, routers: dict[int, Router], prices: PriceTable
) -> dict[int, pd.DataFrame]:
    return {v: route_frame(sample, r, prices) for v, r in routers.items()}


# ------------------------------------------------------------------------------------------------ shape
def test_same_seed_gives_identical_frames(demo: DemoData) -> None:
    again = generate(seed=7, n_requests=N)
    for name in ("requests", "labels", "outcomes", "truth"):
        pd.testing.assert_frame_equal(getattr(demo, name), getattr(again, name))
    assert demo.price_change == again.price_change
    assert demo.story == again.story


def test_other_seed_gives_other_frames(demo: DemoData) -> None:
    other = generate(seed=8, n_requests=N)
    assert (other.requests["prompt"] != demo.requests["prompt"]).mean() > 0.5
    assert not np.array_equal(other.outcomes["quality"], demo.outcomes["quality"])
    assert set(other.requests["request_id"]).isdisjoint(demo.requests["request_id"])


@pytest.mark.parametrize("table", ["requests", "labels", "outcomes"])
def test_frames_have_the_table_columns(demo: DemoData, table: str) -> None:
    columns = [c for c, _ in tables.TABLES[table][0] if c != "import_id"]
    frame = getattr(demo, table)
    assert list(frame.columns) == columns
    keys = list(tables.TABLES[table][1])
    assert not frame.duplicated(keys).any()


def test_sizes(demo: DemoData) -> None:
    assert inspect.signature(generate).parameters["n_requests"].default == 20_000
    n_models = len(catalogue().ids)
    assert len(demo.requests) == N
    assert (demo.outcomes["kind"] == "full").sum() == N * n_models
    assert (demo.outcomes["kind"] == "logged").sum() == N
    assert demo.import_id == f"demo-7-{N}"


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(DatasetError, match="n_requests"):
        generate(n_requests=0)
    with pytest.raises(DatasetError, match="seed"):
        generate(seed=-1)
    with pytest.raises(DatasetError, match="Monday"):
        generate(start=date(2026, 9, 8))


# ------------------------------------------------------------------------------------------------ traffic
def test_timestamps_cover_eight_weeks_with_weekday_and_office_patterns(demo: DemoData) -> None:
    ts = demo.requests["ts"]
    assert ts.min() >= pd.Timestamp(START)
    assert ts.max() < pd.Timestamp(START + timedelta(days=56))
    assert ts.is_monotonic_increasing
    weekend = ts.dt.day_of_week >= 5
    assert weekend.mean() < 0.15  # 2 of 7 days, but mostly office traffic
    coding = demo.requests["workflow"] == "coding"
    quiet = coding & ts.dt.hour.isin([2, 3, 4, 5])  # late evening in the US, before work in Europe
    busy = coding & ts.dt.hour.isin([14, 15, 16, 17])  # US morning, European afternoon
    assert quiet.sum() < 0.35 * busy.sum()


def test_fields_use_the_values_the_routers_test(demo: DemoData) -> None:
    r = demo.requests
    assert set(r["workflow"]) == {"support", "coding", "research", "sales"}
    assert set(r["task"].dropna()) >= RULE_TASKS
    assert set(r["region"]) == {"us", "eu"}
    assert set(r["data_class"]) == {"public", "internal", "confidential"}
    assert 0.25 <= (r["region"] == "eu").mean() <= 0.4
    proposals = r[r["task"] == "proposal"]
    deal = pd.to_numeric(proposals["attrs"].map(lambda a: a.get("deal_size_usd")), errors="coerce")
    assert deal.notna().mean() > 0.9
    assert (deal >= 250_000).sum() > 0
    assert all(isinstance(k, str) and isinstance(v, str) for a in r["attrs"] for k, v in a.items())


def test_prompt_tokens_follow_the_text_and_long_documents_are_excerpts(demo: DemoData) -> None:
    r = demo.requests
    cut = r["attrs"].map(lambda a: a.get("prompt_truncated") == "true")
    ratio = r.loc[~cut, "prompt_tokens"] / (r.loc[~cut, "prompt"].str.len() / 4)
    assert ratio.between(0.85, 1.15).all()
    assert (r.loc[cut, "prompt_tokens"] * 4 > r.loc[cut, "prompt"].str.len()).all()
    assert (r.loc[cut, "prompt"].str.len() <= 4000).all()
    long_research = r[(r["workflow"] == "research") & (r["prompt_tokens"] > 32_000)]
    assert len(long_research) > 10
    assert long_research["prompt_tokens"].max() > 100_000


def test_signals_fire_on_the_phrasings(demo: DemoData) -> None:
    r = demo.requests
    prompts = r["prompt"].str.lower()
    refunds = segment(demo, "support/refund")["prompt"].str.lower()
    assert refunds.str.contains("refund|money back|reimburse").mean() > 0.6
    disputes = segment(demo, "support/dispute")["prompt"].str.lower()
    assert disputes.str.contains("charged twice|double.charged|chargeback|dispute|overcharged").mean() > 0.5
    outages = segment(demo, "support/outage")["prompt"]
    assert outages.str.contains(r"INC-[0-9]{3,}").any()
    debug = r[r["task"] == "debug"]["prompt"]
    assert debug.str.contains(r"Traceback \(most recent call last\)|Exception in thread|panic: ").mean() > 0.2
    assert prompts[demo.truth["segment"] == "support/faq"].str.contains("invoice|vat|payment|billing").any()


# ------------------------------------------------------------------------------------------------ PII
def test_pii_is_a_few_percent_mostly_support_and_sales_and_the_detector_finds_it(demo: DemoData) -> None:
    planted = (demo.truth["pii"] != "").to_numpy()
    assert 0.02 <= planted.mean() <= 0.08
    assert set(demo.truth["pii"]) == {"", "email", "phone", "card", "iban", "secret"}
    workflows = demo.requests.loc[planted, "workflow"]
    assert workflows.isin(["support", "sales"]).mean() > 0.8
    detected = np.array([any(has_pii(p, t) for t in PiiType) for p in demo.requests["prompt"]])
    assert (detected == planted).all(), "every planted PII is detected and nothing else looks like PII"


def test_sales_crm_notes_carry_customer_emails_some_confidential(demo: DemoData) -> None:
    crm = segment(demo, "sales/crm_notes")
    emails = crm["prompt"].map(lambda p: has_pii(p, PiiType.EMAIL))
    assert emails.mean() > 0.1
    assert ((crm["data_class"] == "confidential") & emails).any()


# ------------------------------------------------------------------------------------------------ labels
def test_label_coverage_and_abstains(demo: DemoData) -> None:
    labels = demo.labels
    assert 0.5 <= len(labels) / N <= 0.7
    assert 0.005 <= labels["abstain"].mean() <= 0.05
    workflow = demo.requests.set_index("request_id").loc[labels["request_id"], "task"]
    completion_rate = (workflow == "completion").sum() / (demo.requests["task"] == "completion").sum()
    refund_rate = (workflow == "refund").sum() / (demo.requests["task"] == "refund").sum()
    assert completion_rate < refund_rate  # some slices are labelled less
    assert (labels["source"] == "demo:careful-operator").all()


def test_labels_follow_the_careful_operator_policy(demo: DemoData) -> None:
    cat = catalogue()
    private = {m for m, p in zip(cat.ids, cat.private, strict=True) if p}
    eu_ok = {m for m, e in zip(cat.ids, cat.eu, strict=True) if e}
    req = demo.requests.set_index("request_id")
    truth = demo.truth.set_index("request_id")
    for row in demo.labels[~demo.labels["abstain"]].itertuples():
        paths = json.loads(row.acceptable)
        assert paths, row.request_id
        r, t = req.loc[row.request_id], truth.loc[row.request_id]
        models = {p["model"] for p in paths if "model" in p}
        assert models <= set(cat.ids)
        assert {p["tier"] for p in paths if "tier" in p} <= set(TIERS)
        if r["data_class"] == "confidential" or t["pii"]:
            assert "model" in paths[0], row.request_id
            assert models <= private, row.request_id
        if r["region"] == "eu":
            assert models, row.request_id
            assert models <= eu_ok, row.request_id
        if t["segment"] in ("support/refund", "support/dispute"):
            assert all(p["retrieval"] == "support-kb" for p in paths)
            tiers = {p.get("tier") or TIERS[cat.tier[cat.ids.index(p["model"])]] for p in paths}
            assert "small" not in tiers
        if t["segment"] == "support/legal":
            assert all(p["escalation"] == "human_review" for p in paths)


# ------------------------------------------------------------------------------------------------ outcomes
def test_full_information_outcomes(demo: DemoData) -> None:
    full = demo.outcomes[demo.outcomes["kind"] == "full"]
    assert full.groupby("request_id")["model"].nunique().eq(len(catalogue().ids)).all()
    assert set(full["quality"].unique()) <= {0.0, 1.0}
    assert (full["quality_scale"] == "binary").all()
    assert (full["cost_usd"] >= 0).all()
    assert (full["latency_ms"] > 0).all()
    assert (full.loc[full["error"].notna(), "quality"] == 0).all()
    assert 0 < full["error"].notna().mean() < 0.05
    workflow = demo.requests.set_index("request_id")["workflow"]
    assert (full["eval_group"].to_numpy() == workflow.loc[full["request_id"]].to_numpy()).all()


def test_small_models_are_fine_on_easy_tasks_and_bad_on_hard_ones(demo: DemoData) -> None:
    full = demo.outcomes[demo.outcomes["kind"] == "full"].merge(demo.truth[["request_id", "segment"]])
    tier = dict(zip(catalogue().ids, (TIERS[k] for k in catalogue().tier), strict=True))
    full["tier"] = full["model"].map(tier)
    by = full.groupby(["segment", "tier"])["quality"].mean()
    assert by["coding/completion", "small"] > 0.85
    assert by["support/triage", "small"] > 0.85
    assert by["coding/migration", "small"] < 0.5 < by["coding/migration", "frontier"]
    assert by["support/refund", "small"] < by["support/refund", "medium"] - 0.2
    cost = full.groupby("tier")["cost_usd"].mean()
    assert cost["small"] < cost["medium"] < cost["frontier"]


def test_logged_outcomes_come_from_a_stochastic_production_policy(demo: DemoData) -> None:
    logged = demo.outcomes[demo.outcomes["kind"] == "logged"]
    assert logged["request_id"].is_unique
    assert len(logged) == N
    p = logged["propensity"]
    assert ((p > 0) & (p <= 1)).all()
    assert (p < 0.5).mean() > 0.05  # exploration
    assert (p > 0.85).mean() > 0.7  # mostly the production lane
    assert logged["cache_hit"].sum() > 0
    assert (logged.loc[logged["cache_hit"], "cost_usd"] == 0).all()
    fallback = logged["fallback_model"].notna()
    assert fallback.sum() > 0
    assert logged.loc[fallback, "error"].notna().all()
    assert logged["error"].notna().any()
    paths = logged["path"].map(json.loads)
    assert (paths.map(lambda d: d["model"]) == logged["model"]).all()
    incident = logged["ts"].between(pd.Timestamp("2026-09-30 13:00"), pd.Timestamp("2026-09-30 19:00"))
    gpt4o = logged["model"] == "gpt-4o"
    failed = logged["error"].notna()
    assert failed[incident & gpt4o].mean() > 0.3
    assert failed[incident & gpt4o].mean() > 5 * failed[~incident & gpt4o].mean()
    assert demo.outcomes.loc[demo.outcomes["kind"] == "full", "propensity"].isna().all()


def test_price_change_lands_in_outcome_costs(demo: DemoData, prices: PriceTable) -> None:
    change = demo.price_change
    assert change.model == PRICE_MODEL
    assert change.factor == 1.25
    assert LAUNCH_DAY <= (change.effective - START).days < LAUNCH_DAY + 7  # week 6
    rows = demo.outcomes[(demo.outcomes["model"] == PRICE_MODEL) & (demo.outcomes["kind"] == "full")]
    rows = rows[rows["error"].isna()]
    paths = rows["path"].map(json.loads)
    retrieval = paths.map(lambda d: catalogue().index_cost.get(d["retrieval"], 0.0))
    base = prices.prices[PRICE_MODEL]
    list_cost = rows["input_tokens"] * base.input_per_token + rows["output_tokens"] * base.output_per_token
    ratio = (rows["cost_usd"] - retrieval) / list_cost
    after = rows["ts"] >= pd.Timestamp(datetime.combine(change.effective, datetime.min.time()))
    assert after.any()
    assert (~after).any()
    assert np.allclose(ratio[~after], 1.0)
    assert np.allclose(ratio[after], 1.25)
    new = change.apply(prices)
    assert new.prices[PRICE_MODEL].input_per_token == pytest.approx(base.input_per_token * 1.25)
    assert new.prices["gpt-4o"] == prices.prices["gpt-4o"]
    assert new.as_of == change.effective.isoformat()


# ------------------------------------------------------------------------------------------------ story
def test_v2_is_much_cheaper_than_v1(decisions: dict[int, pd.DataFrame], sample: pd.DataFrame) -> None:
    rng = np.random.default_rng(1)
    random = sample["request_id"][rng.random(len(sample)) < 0.5]
    cost = {v: d.loc[random, "est_cost_usd"].sum() for v, d in decisions.items()}
    assert cost[2] < 0.65 * cost[1]
    assert cost[3] < 0.65 * cost[1]


def test_v2_misroutes_refunds_and_disputes(demo: DemoData, decisions: dict[int, pd.DataFrame]) -> None:
    ids = segment(demo, "support/refund", "support/dispute")["request_id"]
    assert len(ids) > 100
    v2, v3 = decisions[2].loc[ids], decisions[3].loc[ids]
    faq2 = (v2["rule_id"] == "support-billing-faq") & v2["retrieval"].isna()
    assert faq2.mean() > 0.4
    assert (v3["rule_id"] == "support-billing-faq").mean() < 0.1
    full = demo.outcomes[demo.outcomes["kind"] == "full"].set_index(["request_id", "model"])["quality"]
    quality = {
        v: full.reindex(list(zip(ids, d.loc[ids, "model"], strict=True))).mean() for v, d in decisions.items()
    }
    assert quality[2] < quality[3] - 0.1
    labels = demo.labels[demo.labels["request_id"].isin(ids) & ~demo.labels["abstain"]]
    gold = list(zip(labels["request_id"], labels["acceptable"].map(json.loads), strict=True))
    accuracy = {v: np.mean([matches(d.loc[rid], acc) for rid, acc in gold]) for v, d in decisions.items()}
    assert accuracy[2] < 0.5
    assert accuracy[3] > 0.7
    assert accuracy[1] >= accuracy[3]


def test_v2_sends_confidential_sales_and_pii_to_external_models(
    demo: DemoData, decisions: dict[int, pd.DataFrame]
) -> None:
    cat = catalogue()
    private = dict(zip(cat.ids, cat.private, strict=True))
    sales = demo.requests[(demo.requests["workflow"] == "sales") & (demo.requests["region"] == "us")]
    pii = sales["prompt"].map(lambda p: any(has_pii(p, t) for t in PiiType))
    sensitive = sales.loc[(sales["data_class"] == "confidential") | pii, "request_id"]
    assert (pii & (sales["data_class"] == "confidential")).any()
    assert len(sensitive) > 50
    external = {v: (~d.loc[sensitive, "model"].map(private)).mean() for v, d in decisions.items()}
    assert external[2] > 0.9
    assert external[1] == 0
    assert external[3] == 0


def test_launch_in_week_6_shifts_the_traffic_mix(demo: DemoData) -> None:
    r = demo.requests
    after = r["ts"] >= pd.Timestamp(START + timedelta(days=LAUNCH_DAY))
    coding, support = r["workflow"] == "coding", r["workflow"] == "support"

    def share(mask: pd.Series, within: pd.Series, period: pd.Series) -> float:
        return float((mask & within & period).sum() / (within & period).sum())

    migration = r["task"] == "migration"
    assert share(migration, coding, after) > share(migration, coding, ~after) + 0.08
    troubleshoot = r["task"] == "troubleshoot"
    assert share(troubleshoot, support, after) > share(troubleshoot, support, ~after) + 0.05
    eu = r["region"] == "eu"
    assert eu[after].mean() > eu[~after].mean() + 0.08
    fleet = r["prompt"].str.contains("Fleet")
    assert fleet[after].mean() > 0.05
    assert fleet[~after].sum() == 0
    assert r["attrs"].map(lambda a: a.get("language") in ("de", "fr"))[after].sum() > 0
    days = (r["ts"] - pd.Timestamp(START)).dt.days
    assert (days >= LAUNCH_DAY).sum() / 21 > 1.15 * (days < LAUNCH_DAY).sum() / 35  # more volume per day


def test_fleet_activation_tickets_hit_the_vat_keyword(
    demo: DemoData, decisions: dict[int, pd.DataFrame]
) -> None:
    fleet = segment(demo, "support/troubleshoot-fleet")
    activation = fleet.loc[fleet["prompt"].str.contains("activat", case=False), "request_id"]
    assert len(activation) > 5
    for version in (1, 3):
        assert (decisions[version].loc[activation, "rule_id"] == "support-billing-faq").all()
    assert decisions[3].loc[activation, "retrieval"].isna().all()


def test_story_names_every_planted_element(demo: DemoData) -> None:
    text = " ".join(demo.story)
    for needle in (
        "v2",
        "refund",
        "PII",
        "Week 6",
        "Fleet",
        demo.price_change.effective.isoformat(),
        "gpt-4o",
    ):
        assert needle in text


# ------------------------------------------------------------------------------------------------ store
def test_write_demo_round_trips_counts(tmp_path: Path) -> None:
    data = generate(seed=3, n_requests=300)
    with open_store(tmp_path / "demo.duckdb") as store:
        counts = write_demo(store, data)
        assert counts == {"requests": 300, "labels": len(data.labels), "outcomes": len(data.outcomes)}
        for table, n in counts.items():
            assert store.scalar(f"SELECT count(*) FROM {table} WHERE import_id = ?", [data.import_id]) == n
        assert write_demo(store, data) == {"requests": 0, "labels": 0, "outcomes": 0}
        stored = store.df("SELECT request_id, attrs FROM requests ORDER BY request_id")
        assert dict(stored["attrs"].iloc[0]) == data.requests["attrs"].iloc[0]


def test_write_demo_is_one_transaction(tmp_path: Path) -> None:
    data = generate(seed=3, n_requests=100)
    first = data.outcomes.iloc[[0]].assign(cost_usd=123.0)
    with open_store(tmp_path / "demo.duckdb") as store:
        with store.transaction() as cur:
            tables.write(cur, "outcomes", first, "other-import")
        with pytest.raises(ConflictError):
            write_demo(store, data)
        assert store.scalar("SELECT count(*) FROM requests") == 0
        assert store.scalar("SELECT count(*) FROM outcomes") == 1
