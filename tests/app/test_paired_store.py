"""Compare counted inside DuckDB (`app.paired_store`) equals compare over the two decision frames.

`compare_stored_versions` no longer loads either version's decisions: DuckDB pairs, joins gold and counts.
The frame path (`compare_versions` + `attribute_flips` over `queries.decisions`) is the reference: on a demo
store with every gold source (imports, abstains, adjudications, majorities, ties), requests only one version
decided, and slices by text and week, both give the same document (costs summed in another order may differ
in the last bits, so floats are compared to 12 significant digits).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from routelab.app.compliance_flow import compare_compliance_counted, compare_compliance_stored
from routelab.app.paired_store import paired_counts_stored
from routelab.app.workflows import compare_stored_versions
from routelab.datasets import queries, routers
from routelab.datasets.annotations import Judgement, record
from routelab.datasets.errors import NotFoundError
from routelab.datasets.store import Store, open_store
from routelab.datasets.workspace import build_demo
from routelab.evaluators.attribution import attribute_flips
from routelab.evaluators.compare import compare_versions, pair_decisions
from routelab.evaluators.frames import FrameError
from routelab.evaluators.gold import resolve_gold
from routelab.router_core.identity import diff

BASE, CAND = "acme-gateway@1", "acme-gateway@2"


def rounded(value: Any) -> Any:
    """The document with every float to 12 significant digits (summation order aside)."""
    if isinstance(value, float):
        return value if not math.isfinite(value) or value == 0 else float(f"{value:.12g}")
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [rounded(v) for v in value]
    return value


def frame_document(store: Store, by: list[str], seed: int) -> dict[str, Any]:
    """The comparison computed the pandas way, from both versions' decision frames."""
    base, cand = queries.decisions(store, BASE), queries.decisions(store, CAND)
    gold = resolve_gold(queries.labels(store), queries.annotations(store))
    paired = pair_decisions(base, cand, gold)
    requests = queries.requests(store, by) if by else None
    result = compare_versions(base, cand, gold, requests, by=by, seed=seed, paired=paired)
    base_router, cand_router = routers.get(store, BASE), routers.get(store, CAND)
    attribution = attribute_flips(
        diff(base_router, cand_router),
        base_router,
        cand_router,
        base,
        cand,
        correctness=paired.correctness(),
    )
    doc = result.model_dump(mode="json")
    doc["attribution"] = attribution.model_dump(mode="json")
    return doc


def judge(store: Store, rid: str, annotator: str, verdict: str, **kw: Any) -> None:
    record(store, Judgement(request_id=rid, router=CAND, annotator=annotator, verdict=verdict, **kw))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("paired") / "demo.duckdb"
    with open_store(path) as store:
        build_demo(store, seed=5, n_requests=1200)
        ids = [r[0] for r in store.execute("SELECT request_id FROM requests ORDER BY request_id").fetchall()]
        # every gold source: adjudication, a majority, a tie (unresolved), an unsure, a correction
        judge(store, ids[0], "ann", "incorrect", corrected={"model": "gpt-4o"})
        judge(store, ids[0], "rev", "correct", adjudication=True)
        judge(store, ids[1], "a1", "correct")
        judge(store, ids[1], "a2", "correct")
        judge(store, ids[1], "a3", "incorrect", corrected={"model": "gpt-4o"})
        judge(store, ids[2], "a1", "correct")
        judge(store, ids[2], "a2", "incorrect", acceptable=[{"model": "gpt-4o"}])
        judge(store, ids[3], "a1", "unsure")
        judge(store, ids[4], "a1", "incorrect", corrected={"model": "claude-haiku-4-5-20251001"})
        store.execute(
            "UPDATE labels SET abstain = TRUE, acceptable = '[]' WHERE request_id IN (?, ?)", ids[5:7]
        )
        # requests only one version decided
        store.execute(
            "DELETE FROM decision_rows WHERE router = ? AND request_id IN (?, ?, ?)", [BASE, *ids[7:10]]
        )
        store.execute("DELETE FROM decision_rows WHERE router = ? AND request_id = ?", [CAND, ids[10]])
    return path


@pytest.mark.parametrize("by", [[], ["task"], ["team", "week", "workflow"]], ids=["none", "task", "three"])
def test_counted_in_duckdb_equals_the_frame_path(db: Path, by: list[str]) -> None:
    with open_store(db, read_only=True) as store:
        stored = compare_stored_versions(store, BASE, CAND, by=by, seed=3, save=False)
        expected = frame_document(store, sorted(set(by)), seed=3)
    got = {k: stored[k] for k in expected}
    assert rounded(got) == rounded(expected)
    # the fixture reaches every branch the equality covers
    gold = stored["coverage"]["gold"]
    assert gold["adjudicated"] == 1
    assert gold["annotations"] >= 2
    assert gold["unresolved"] == 1
    assert gold["abstain"] >= 2
    assert stored["coverage"]["dropped_baseline"] == 1
    assert stored["coverage"]["dropped_candidate"] == 3
    assert stored["attribution"]["n_flips"] > 0
    assert stored["flips"]["changed"] > 0


def test_bucket_examples_are_the_first_ids_of_each_bucket(db: Path) -> None:
    with open_store(db, read_only=True) as store:
        counts = paired_counts_stored(store, BASE, CAND, examples=2).counts
        wide = paired_counts_stored(store, BASE, CAND, examples=50).counts
    for bucket, ids in counts.examples.items():
        assert list(ids) == sorted(ids)
        assert list(ids) == list(wide.examples[bucket][:2])


def test_a_version_without_decisions_names_the_replayed_ones(db: Path) -> None:
    with (
        open_store(db, read_only=True) as store,
        pytest.raises(NotFoundError, match="replayed: acme-gateway@1"),
    ):
        paired_counts_stored(store, BASE, "acme-gateway@9")


def test_a_decision_without_a_cost_estimate_is_refused(db: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy.duckdb"
    copy.write_bytes(db.read_bytes())
    with open_store(copy) as store:
        rid = store.scalar("SELECT min(request_id) FROM decisions WHERE router = ?", [CAND])
        store.execute(
            "UPDATE decision_rows SET est_cost_usd = NULL WHERE router = ? AND request_id = ?", [CAND, rid]
        )
        with pytest.raises(
            FrameError, match=rf"est_cost_usd is missing or not finite for 1 request\(s\), e.g. {rid}"
        ):
            paired_counts_stored(store, BASE, CAND)


@pytest.mark.parametrize("pair", [(BASE, CAND), (CAND, "acme-gateway@3")], ids=["v1-v2", "v2-v3"])
def test_compliance_counted_in_duckdb_equals_the_flagged_frames(db: Path, pair: tuple[str, str]) -> None:
    with open_store(db, read_only=True) as store:
        counted = compare_compliance_counted(store, *pair)
        flagged = compare_compliance_stored(store, *pair)
    assert counted == flagged
    if pair == (BASE, CAND):  # the demo's story: v2 sends confidential context to an external model
        assert counted["delta"]["privacy"]["introduced"] > 0
        assert counted["delta"]["privacy"]["examples"]


def test_the_memory_limit_is_lowered_while_pairing_and_restored_after(db: Path) -> None:
    from routelab.app.paired_store import PAIRING_MEMORY_LIMIT, open_pairing

    with open_store(db, read_only=True) as store:
        before = store.scalar("SELECT current_setting('memory_limit')")
        with open_pairing(store, BASE, CAND) as pairing:
            during = store.scalar("SELECT current_setting('memory_limit')")
            assert pairing.counts().counts.n > 0
        after = store.scalar("SELECT current_setting('memory_limit')")
    assert during != before
    assert PAIRING_MEMORY_LIMIT == "3GB"
    assert during == "2.7 GiB"  # 3 GB (10^9 bytes) as DuckDB prints it
    assert after == before
