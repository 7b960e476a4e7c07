"""The annotation queue: strategy order, leases, double annotation, and no collisions under concurrent use."""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from routelab.datasets import annotations, queue, replay
from routelab.datasets.annotations import Judgement
from routelab.datasets.errors import DatasetError, NotFoundError
from routelab.datasets.queue import QueueItem, next_item
from routelab.datasets.queue_sql import double_key_sql
from routelab.datasets.store import Store, open_store
from routelab.datasets.workspace import build_demo

V1, V2, V3 = (f"acme-gateway@{v}" for v in (1, 2, 3))
T0 = datetime(2026, 11, 2, 9, 0)


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("queue") / "demo.duckdb"
    with open_store(path) as store:
        build_demo(store, seed=3, n_requests=600)
    return path


@pytest.fixture
def store(demo_file: Path, tmp_path: Path) -> Iterator[Store]:
    """A private copy of the demo store (tests write leases and annotations)."""
    path = tmp_path / "demo.duckdb"
    shutil.copy(demo_file, path)
    with open_store(path) as s:
        yield s


def take(store: Store, annotator: str = "ana", **kw: Any) -> QueueItem:
    kw = {"strategy": "random", "double_share": 0.0, "at": T0, **kw}
    item = next_item(store, annotator, V2, **kw)
    assert item is not None
    return item


def walk(store: Store, n: int, **kw: Any) -> list[QueueItem]:
    """The first n items of the queue for one annotator (each skipped after it is seen)."""
    items: list[QueueItem] = []
    for _ in range(n):
        items.append(take(store, skip=[i.request_id for i in items], **kw))
    return items


def judge(store: Store, item_id: str, annotator: str, at: datetime = T0) -> str:
    return annotations.record(
        store, Judgement(request_id=item_id, router=V2, annotator=annotator, verdict="correct"), at=at
    )


def ids(store: Store, sql: str, params: list[Any]) -> list[str]:
    return [r[0] for r in store.execute(sql, params).fetchall()]


def test_random_is_the_seeded_hash_order(store: Store) -> None:
    expected = ids(
        store,
        "SELECT request_id FROM decisions WHERE router = ? ORDER BY hash(request_id, 5), request_id LIMIT 6",
        [V2],
    )
    items = walk(store, 6, seed=5)
    assert [i.request_id for i in items] == expected
    assert {i.reason for i in items} == {"random"}
    assert [i.request_id for i in walk(store, 6, seed=6, annotator="bo")] != expected


def test_confidence_serves_the_least_confident_first(store: Store) -> None:
    store.execute(
        "UPDATE decision_rows SET confidence = NULL WHERE router = ? AND path_key IN "
        "(SELECT path_key FROM decision_paths WHERE router = ? AND rule_id = 'support-outage')",
        [V2, V2],
    )
    items = walk(store, 12, strategy="confidence")
    conf = dict(
        store.execute("SELECT request_id, confidence FROM decisions WHERE router = ?", [V2]).fetchall()
    )
    served = [conf[i.request_id] for i in items]
    assert served == sorted(served)
    assert served[0] == min(c for c in conf.values() if c is not None)
    assert items[0].reason == f"confidence {served[0]:.2f}"
    # unknown confidence comes last
    known = [r for r, c in conf.items() if c is not None]
    assert take(store, strategy="confidence", skip=known).reason == "confidence unknown"


def test_disagree_serves_the_versions_disagreements_first(store: Store) -> None:
    differ = set(
        ids(
            store,
            "SELECT a.request_id FROM decisions a JOIN decisions b USING (request_id) "
            "WHERE a.router = ? AND b.router = ? AND (a.model IS DISTINCT FROM b.model "
            "OR a.retrieval IS DISTINCT FROM b.retrieval OR a.escalation IS DISTINCT FROM b.escalation "
            "OR a.action IS DISTINCT FROM b.action)",
            [V2, V1],
        )
    )
    assert 0 < len(differ) < 600
    items = walk(store, 5, strategy="disagree", other_router=V1)
    assert {i.request_id for i in items} <= differ
    assert all(i.other_router == V1 and i.reason.startswith(f"{V2} and {V1} disagree (") for i in items)
    hashed = ids(
        store,
        "SELECT request_id FROM unnest(?::VARCHAR[]) t(request_id) ORDER BY hash(request_id, 0), request_id",
        [sorted(differ)],
    )
    assert [i.request_id for i in items] == hashed[:5]
    rest = take(store, strategy="disagree", other_router=V1, skip=sorted(differ))
    assert rest.request_id not in differ
    assert rest.reason == f"no disagreement with {V1} left"


def test_disagreements_are_recomputed_after_a_replay(store: Store) -> None:
    take(store, strategy="disagree", other_router=V1)
    state = store.scalar("SELECT state FROM annotation_pair_states")
    agreeing = store.scalar(
        "SELECT a.request_id FROM decisions a JOIN decisions b USING (request_id) "
        "JOIN requests r USING (request_id) WHERE a.router = ? AND b.router = ? AND a.model = b.model "
        "AND r.workflow <> 'sales' ORDER BY 1 LIMIT 1",
        [V2, V1],
    )
    replay.replay(store, V1, where='workflow == "sales"')
    # the decision's path with another model (a path of its own: -42 is no key a replay writes)
    store.execute(
        "INSERT INTO decision_paths SELECT * REPLACE (-42 AS path_key, 'changed' AS model) "
        "FROM decision_paths WHERE router = ? AND path_key = "
        "(SELECT path_key FROM decision_rows WHERE router = ? AND request_id = ?)",
        [V1, V1, agreeing],
    )
    store.execute(
        "UPDATE decision_rows SET path_key = -42 WHERE router = ? AND request_id = ?", [V1, agreeing]
    )
    assert take(store, "bo", strategy="disagree", other_router=V1)
    assert store.scalar("SELECT state FROM annotation_pair_states") != state
    differs = store.scalar("SELECT differs FROM annotation_disagreements WHERE request_id = ?", [agreeing])
    assert "model" in (differs or [])


@pytest.mark.parametrize(
    ("other", "error", "message"),
    [
        (None, DatasetError, "pass other_router, one of acme-gateway@1, acme-gateway@2, acme-gateway@3"),
        ("acme-gateway@9", NotFoundError, "replayed: acme-gateway@1, acme-gateway@2, acme-gateway@3"),
    ],
    ids=["missing", "unknown"],
)
def test_disagree_needs_a_replayed_other_version(
    store: Store, other: str | None, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        next_item(store, "ana", V2, strategy="disagree", other_router=other)


def test_bad_arguments_name_the_known_values(store: Store) -> None:
    with pytest.raises(NotFoundError, match="replayed: acme-gateway@1"):
        next_item(store, "ana", "acme-gateway@7", strategy="random")
    with pytest.raises(DatasetError, match="known: disagree, confidence, stratified, random"):
        next_item(store, "ana", V2, strategy="newest")  # type: ignore[arg-type]
    with pytest.raises(DatasetError, match="known: workflow, task"):
        next_item(store, "ana", V2, strategy="stratified", slice_field="colour")


def test_stratified_serves_the_slice_with_the_fewest_judged(store: Store) -> None:
    workflow = dict(store.execute("SELECT request_id, workflow FROM requests").fetchall())
    counts: Counter[str] = Counter({w: 0 for w in set(workflow.values())})
    for _ in range(3 * len(counts)):
        item = take(store, strategy="stratified")
        served = workflow[item.request_id]
        assert counts[served] == min(counts.values())
        assert item.reason == f"slice workflow={served} has {counts[served]} judged"
        judge(store, item.request_id, "ana")
        counts[served] += 1
    assert set(counts.values()) == {3}


def test_two_annotators_never_get_the_same_fresh_item(store: Store) -> None:
    seen = [take(store, name).request_id for name in ("ana", "bo", "cy", "di")]
    assert len(set(seen)) == 4


def test_own_lease_comes_back_until_it_expires_or_is_released(store: Store) -> None:
    first = take(store, "ana")
    assert take(store, "ana", at=T0 + timedelta(minutes=5)) == first  # a page reload
    assert take(store, "bo", at=T0 + timedelta(minutes=19)).request_id != first.request_id  # renewed at +5
    assert take(store, "cy", at=T0 + timedelta(minutes=21)).request_id == first.request_id  # expired
    queue.release(store, first.request_id, V2, "cy")
    assert take(store, "di", at=T0 + timedelta(minutes=22)).request_id == first.request_id


def test_a_lease_lasts_lease_minutes(store: Store) -> None:
    first = take(store, "ana", lease_minutes=2)
    assert take(store, "bo", at=T0 + timedelta(minutes=1)).request_id != first.request_id
    assert take(store, "cy", at=T0 + timedelta(minutes=2)).request_id == first.request_id


def test_an_annotator_holds_one_lease_and_skipping_frees_the_last(store: Store) -> None:
    first = take(store, "ana")
    second = take(store, "ana", skip=[first.request_id])
    assert second.request_id != first.request_id
    assert store.scalar("SELECT count(*) FROM annotation_leases WHERE annotator = 'ana'") == 1
    assert take(store, "bo").request_id == first.request_id


def test_judged_items_are_never_offered_to_the_same_annotator(store: Store) -> None:
    first = take(store, "ana")
    judge(store, first.request_id, "ana")
    again = take(store, "ana", double_share=1.0)
    assert again.request_id != first.request_id


def test_with_double_share_one_a_judged_item_gets_exactly_one_second_opinion(store: Store) -> None:
    first = take(store, "ana")
    judge(store, first.request_id, "ana")
    queue.release(store, first.request_id, V2, "ana")
    second = take(store, "bo", double_share=1.0)
    assert (second.request_id, second.second_opinion) == (first.request_id, True)
    assert "another annotator" in second.reason
    judge(store, second.request_id, "bo")
    third = take(store, "cy", double_share=1.0)
    assert third.request_id != first.request_id
    assert not third.second_opinion
    stats = queue.queue_stats(store, V2, "bo", at=T0)
    assert (stats.judged, stats.double_judged, stats.judged_by_annotator) == (1, 1, 1)
    assert (stats.total, stats.remaining, stats.leased) == (600, 599, 2)


def test_with_double_share_zero_a_judged_item_is_never_offered_again(store: Store) -> None:
    first = take(store, "ana")
    judge(store, first.request_id, "ana")
    queue.release(store, first.request_id, V2, "ana")
    assert first.request_id not in {i.request_id for i in walk(store, 20)}


def test_the_double_share_picks_a_stable_fraction_of_requests(store: Store) -> None:
    keys = [queue.double_key(f"r{i}", seed=1) for i in range(2000)]
    assert 0.07 < sum(k < 0.1 for k in keys) / len(keys) < 0.13
    sql_keys = (
        store.cursor()
        .execute(
            f"SELECT {double_key_sql('id')} FROM (SELECT unnest($ids::VARCHAR[]) AS id)",
            {"ids": [f"r{i}" for i in range(50)], "seed": 1},
        )
        .fetchall()
    )
    assert [k for (k,) in sql_keys] == pytest.approx(keys[:50], abs=1e-12)


def test_two_threads_take_and_judge_sixty_distinct_items(store: Store) -> None:
    """As the workbench does: one Store, each session thread on its own cursor, take → judge → release."""

    def work(name: str) -> list[str]:
        taken = []
        for _ in range(30):
            item = next_item(store, name, V2, strategy="disagree", other_router=V1, double_share=0)
            assert item is not None
            taken.append(item.request_id)
            judge(store, item.request_id, name)
            queue.release(store, item.request_id, V2, name)
        return taken

    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(work, name) for name in ("ana", "bo")]
        every = [rid for f in futures for rid in f.result()]  # re-raises a thread's exception
    assert len(every) == len(set(every)) == 60
    assert store.scalar("SELECT count(*) FROM annotations") == 60
    assert store.scalar("SELECT count(DISTINCT (request_id, annotator)) FROM annotations_current") == 60
    assert store.scalar("SELECT count(*) FROM annotation_leases") == 0
