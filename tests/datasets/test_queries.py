"""The queries the evaluators read: shapes, filters, the errors they raise, and the SQL they build."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime

import pytest

from routelab.datasets import annotations, queries, routers
from routelab.datasets.annotations import Judgement
from routelab.datasets.errors import DatasetError, NotFoundError, StoreError
from routelab.datasets.store import Store, open_store
from routelab.datasets.workspace import build_demo
from routelab.evaluators.gold import GoldSource, resolve_gold

N = 300


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    with open_store(tmp_path_factory.mktemp("queries") / "demo.duckdb") as store:
        build_demo(store, seed=5, n_requests=N)
        yield store


def test_decisions_of_one_version(demo: Store) -> None:
    frame = queries.decisions(demo, "acme-gateway@2")
    assert list(frame.columns) == list(queries.DECISION_COLUMNS)
    assert len(frame) == N
    assert frame["request_id"].is_unique
    assert set(frame["router"]) == {"acme-gateway@2"}


def test_decisions_of_a_version_never_replayed_name_the_replayed_ones(demo: Store) -> None:
    with pytest.raises(NotFoundError, match=r"no decisions of acme-gateway@9 .*replayed: acme-gateway@1, "):
        queries.decisions(demo, "acme-gateway@9")


def test_labels_keep_acceptable_as_json_text(demo: Store) -> None:
    frame = queries.labels(demo)
    assert list(frame.columns) == list(queries.LABEL_COLUMNS)
    assert len(frame) == demo.scalar("SELECT count(*) FROM labels")
    assert all(isinstance(json.loads(a), list) for a in frame["acceptable"])


def test_requests_fields_week_and_attrs(demo: Store) -> None:
    frame = queries.requests(demo, ["task", "week", "attrs.channel", "task"])
    assert list(frame.columns) == ["request_id", "task", "ts", "attrs.channel"]
    assert len(frame) == N
    support = demo.scalar("SELECT count(*) FROM requests WHERE workflow = 'support'")
    assert frame["attrs.channel"].notna().sum() == support  # only support requests carry a channel


@pytest.mark.parametrize(
    ("field", "message"),
    [
        pytest.param(
            "colour", "requests have no field 'colour'; known: request_id, ts, workflow", id="unknown"
        ),
        pytest.param('attrs.x" FROM labels --', "requests have no field 'attrs.x\"", id="injection"),
        pytest.param("attrs.", "requests have no field 'attrs.'", id="empty-attr"),
    ],
)
def test_unknown_request_fields_are_refused(demo: Store, field: str, message: str) -> None:
    with pytest.raises(DatasetError, match=re.escape(message)):
        queries.requests(demo, [field])


def test_outcomes_by_kind(demo: Store) -> None:
    full = queries.outcomes(demo, "full")
    n_models = len(routers.get(demo, "acme-gateway@1").models)
    assert len(full) == N * n_models
    assert set(full["kind"]) == {"full"}
    assert len(queries.outcomes(demo, "logged")) == N
    with pytest.raises(DatasetError, match="outcome kind 'ful' unknown; known: full, logged"):
        queries.outcomes(demo, "ful")


def test_models_with_tiers_ranks_and_prices(demo: Store) -> None:
    frame = queries.models(demo, "acme-gateway@1")
    router = routers.get(demo, "acme-gateway@1")
    assert list(frame.columns) == list(queries.MODEL_COLUMNS)
    assert dict(zip(frame["model"], frame["tier"], strict=True)) == {
        m: s.tier for m, s in router.models.items()
    }
    assert frame.loc[frame["tier"] == "small", "tier_rank"].eq(0).all()
    assert (frame["input_per_token"] > 0).all()


def test_current_annotations_feed_the_gold_rule(demo: Store) -> None:
    rid = queries.decisions(demo, "acme-gateway@2")["request_id"].iloc[0]
    t0 = datetime(2026, 11, 1, 9)
    judge = {"request_id": rid, "router": "acme-gateway@2"}
    annotations.record(demo, Judgement(**judge, annotator="a", verdict="correct"), at=t0)
    taken_back = annotations.record(demo, Judgement(**judge, annotator="b", verdict="correct"), at=t0)
    annotations.undo(demo, taken_back, "b", at=t0)
    fix = {"model": "gpt-4o", "retrieval": "support-kb"}
    for who in ("b", "c"):
        annotations.record(demo, Judgement(**judge, annotator=who, verdict="incorrect", corrected=fix), at=t0)

    frame = queries.annotations(demo, "acme-gateway@2")
    assert list(frame.columns) == list(queries.ANNOTATION_COLUMNS)
    assert sorted(frame["annotator"]) == ["a", "b", "c"]  # the undone judgement is gone
    assert queries.annotations(demo, "acme-gateway@1").empty

    gold = {g.request_id: g for g in resolve_gold(queries.labels(demo), queries.annotations(demo)).labels}
    assert gold[rid].source == GoldSource.ANNOTATIONS  # two incorrect against one correct
    assert gold[rid].acceptable[0]["model"] == "gpt-4o"
    assert gold[rid].acceptable[0]["retrieval"] == "support-kb"


def test_select_sql_builds_plain_statements() -> None:
    assert queries.select_sql("t", ["a", "b"]) == "SELECT a, b FROM t"
    assert (
        queries.select_sql("t", ["a"], ["a = ?", "b > ?"], ["a", "b"])
        == "SELECT a FROM t WHERE a = ? AND b > ? ORDER BY a, b"
    )


def test_request_select_binds_attr_keys_as_parameters() -> None:
    query, names = queries.request_select(["attrs.customer_tier", "week"])
    assert query.params == ["customer_tier"]
    assert names == ["request_id", "attrs.customer_tier", "ts"]
    assert "customer_tier'" not in query.sql


def test_run_errors_carry_the_sql_or_name_the_missing_column(demo: Store) -> None:
    with pytest.raises(StoreError, match=r"SQL: SELECT nope FROM labels"):
        queries.run(demo, queries.Query("SELECT nope FROM labels"), ["nope"], "labels")
    with pytest.raises(DatasetError, match=r"labels: the query returned no column\(s\) note"):
        queries.run(demo, queries.Query("SELECT request_id FROM labels"), ["request_id", "note"], "labels")
