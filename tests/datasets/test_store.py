"""The store: lossless migrations, one writer at a time, conflict-aware writes, the router registry."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from routelab.datasets import pii_cache, routers
from routelab.datasets.errors import DatasetError, NotFoundError, StoreBusyError, StoreError
from routelab.datasets.store import Store, migrate, migrations, open_store, resolve_db_path, schema_version
from routelab.datasets.tables import ConflictError, label_row, write
from routelab.datasets.workspace import example_config


def test_new_store_is_at_the_latest_schema(store: Store) -> None:
    assert schema_version(store.con) == migrations()[-1].number >= 3


@pytest.mark.parametrize(
    "start",
    [1, 2, 3, 4, 6, 8, 10],
    ids=["from-v1", "from-v2", "from-v3", "from-v4", "from-v6", "from-v8", "from-v10"],
)
def test_upgrade_from_an_older_migration_set_keeps_every_row(tmp_path: Path, start: int) -> None:
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    assert migrate(con, target=start) == list(range(1, start + 1))
    con.execute("INSERT INTO requests (request_id, prompt, attrs) VALUES ('r1', 'hello', MAP {'k': 'v'})")
    con.execute(
        "INSERT INTO annotations (annotation_id, request_id, router, annotator, kind, verdict, created_at) "
        "VALUES ('a1', 'r1', 'acme@1', 'ann', 'judgement', 'correct', now())"
    )
    con.execute(
        "INSERT INTO replay_runs (run_id, router, router_hash, price_table_id, engine, where_clause, "
        "n_decisions, started_at, finished_at, duration_s) "
        "VALUES ('run1', 'acme@1', 'h', 'p', 'sql', NULL, 1, now(), now(), 0.5)"
    )
    # decisions before migration 11 kept their path on every row: two versions, a path shared by two
    # requests, NULLs and empty and non-empty lists
    # fmt: off
    old_decisions = [
        ("acme@1", "r1", "run1", "m1", "small", "kb", 100, "serve", "none", ["m2"], "allow", "a", 0.9, 1.5,
         20.0, []),
        ("acme@1", "r2", "run1", "m1", "small", "kb", 200, "serve", "none", ["m2"], "allow", "a", 0.8, 2.5,
         30.0, []),
        ("acme@1", "r3", "run1", None, None, None, 0, "bypass", "human_review", [], "block", "b", 0.0, 0.0,
         0.0, ["privacy", "eu"]),
        ("acme@2", "r1", "run2", "m2", "large", None, None, None, None, None, None, None, None, None, None,
         None),
        # the same path but for empty lists where r1 has NULL ones: a path of its own
        ("acme@2", "r2", "run2", "m2", "large", None, None, None, None, [], None, None, None, None, None,
         []),
    ]
    # fmt: on
    con.executemany(f"INSERT INTO decisions VALUES ({', '.join('?' * 16)})", old_decisions)
    con.close()
    with open_store(path) as store:
        assert schema_version(store.con) == migrations()[-1].number
        # migration 11 keeps every decision, path and all, behind the view with the table's columns
        assert store.execute("SELECT * FROM decisions ORDER BY router, request_id").fetchall() == [
            tuple(r) for r in old_decisions
        ]
        assert store.scalar("SELECT count(*) FROM decision_paths") == 4
        # migration 9 gives the runs made before it their (empty) input and output directories
        assert store.execute(
            "SELECT run_id, engine, n_decisions, input_dir, output_dir FROM replay_runs"
        ).fetchall() == [("run1", "sql", 1, None, None)]
        assert store.execute("SELECT request_id, prompt, attrs FROM requests").fetchall() == [
            ("r1", "hello", {"k": "v"})
        ]
        # the view added by migration 2 sees the annotation made before it existed
        assert store.scalar("SELECT annotation_id FROM annotations_current") == "a1"
        # migration 3 adds the annotation queue's (empty) leases
        assert store.scalar("SELECT count(*) FROM annotation_leases") == 0
        # migration 5 adds the (empty) collection runs and their call ledger
        assert store.scalar("SELECT count(*) FROM collection_runs") == 0
        assert store.scalar("SELECT count(*) FROM collection_calls") == 0
        assert [m.number for m in migrations()][:5] == [1, 2, 3, 4, 5]
        # migration 7 adds the (empty) PII cache; the request made before it gets its row when first read
        assert store.scalar("SELECT count(*) FROM request_pii") == 0
        assert pii_cache.pii_types(store, ["email"]).computed == 1


def test_an_adjudication_does_not_hide_the_reviewers_own_judgement(store: Store) -> None:
    """Migration 4: annotations_current keeps one judgement and one adjudication per annotator."""
    for annotation_id, kind, minute in (
        ("j1", "judgement", 1),
        ("j2", "judgement", 2),
        ("a1", "adjudication", 3),
    ):
        store.execute(
            "INSERT INTO annotations (annotation_id, request_id, router, annotator, kind, verdict, "
            "created_at) VALUES (?, 'r1', 'acme@1', 'alice', ?, 'correct', "
            f"TIMESTAMP '2026-01-01 00:0{minute}:00')",
            [annotation_id, kind],
        )
    rows = store.execute("SELECT annotation_id FROM annotations_current ORDER BY annotation_id").fetchall()
    assert rows == [("a1",), ("j2",)]  # the latest of each kind; j1 was superseded by alice's own j2


def test_a_store_newer_than_this_routelab_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.duckdb"
    open_store(path).close()
    con = duckdb.connect(str(path))
    con.execute("INSERT INTO schema_migrations VALUES (999, 'future', now())")
    con.close()
    with pytest.raises(StoreError, match="newer than this routelab"):
        open_store(path)


def test_read_only_open_of_a_missing_store_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="routelab demo"):
        open_store(tmp_path / "missing.duckdb", read_only=True)


def test_db_path_resolution(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ROUTELAB_DB", raising=False)
    assert resolve_db_path(None) == Path("routelab.duckdb")
    monkeypatch.setenv("ROUTELAB_DB", "/tmp/x.duckdb")
    assert resolve_db_path(None) == Path("/tmp/x.duckdb")
    assert resolve_db_path("given.duckdb") == Path("given.duckdb")


def test_a_second_writing_process_gets_a_clear_message(tmp_path: Path) -> None:
    path = tmp_path / "busy.duckdb"
    open_store(path).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import sys, time
                from routelab.datasets.store import open_store
                s = open_store({str(path)!r})
                print("ready", flush=True)
                sys.stdin.readline()
                """
            ),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(StoreBusyError, match=rf"process {holder.pid} is writing this store"):
            open_store(path, retries=1, wait_s=0.05)
    finally:
        holder.communicate("\n", timeout=30)
    open_store(path).close()  # free again once the holder exits


def requests_frame(**prompts: str) -> pd.DataFrame:
    return pd.DataFrame([{"request_id": rid, "prompt": text, "attrs": {}} for rid, text in prompts.items()])


def test_writing_the_same_rows_twice_adds_nothing(store: Store) -> None:
    with store.transaction() as cur:
        first = write(cur, "requests", requests_frame(a="x", b="y"), "i1")
    with store.transaction() as cur:
        again = write(cur, "requests", requests_frame(a="x", b="y"), "i1")
    assert (first.inserted, again.inserted, again.skipped_identical) == (2, 0, 2)
    assert store.scalar("SELECT count(*) FROM requests") == 2


@pytest.mark.parametrize(
    ("policy", "expected_prompt", "counts"),
    [("replace", "changed", (0, 1, 0)), ("skip", "x", (0, 0, 1))],
    ids=["replace", "skip"],
)
def test_conflicting_rows_follow_the_policy(
    store: Store, policy: str, expected_prompt: str, counts: tuple[int, int, int]
) -> None:
    with store.transaction() as cur:
        write(cur, "requests", requests_frame(a="x"), "i1")
    with store.transaction() as cur:
        result = write(cur, "requests", requests_frame(a="changed"), "i2", on_conflict=policy)  # type: ignore[arg-type]
    assert (result.inserted, result.replaced, result.skipped_conflicting) == counts
    assert store.scalar("SELECT prompt FROM requests WHERE request_id = 'a'") == expected_prompt


def test_a_conflict_is_an_error_by_default_and_changes_nothing(store: Store) -> None:
    with store.transaction() as cur:
        write(cur, "requests", requests_frame(a="x"), "i1")
    with pytest.raises(ConflictError, match="--on-conflict replace"), store.transaction() as cur:
        write(cur, "requests", requests_frame(a="changed", c="new"), "i2")
    assert store.execute("SELECT request_id, prompt FROM requests ORDER BY 1").fetchall() == [("a", "x")]


def test_a_key_repeated_within_one_write_is_refused(store: Store) -> None:
    frame = pd.concat([requests_frame(a="x"), requests_frame(a="y")])
    with pytest.raises(DatasetError, match="occurs more than once"), store.transaction() as cur:
        write(cur, "requests", frame, "i1")


def test_label_rows_keep_acceptable_paths_and_gold_columns(store: Store) -> None:
    row = label_row("a", [{"model": "gpt-4o", "retrieval": None}, {"model": "gpt-4o-mini"}], "test")
    with store.transaction() as cur:
        write(cur, "labels", pd.DataFrame([row]), "i1")
    model, retrieval, tier, acceptable = store.execute(
        "SELECT model, retrieval, tier, acceptable FROM labels"
    ).fetchone()  # type: ignore[misc]
    assert (model, retrieval, tier) == ("gpt-4o", "none", None)
    assert '"gpt-4o-mini"' in acceptable


def test_router_versions_are_immutable(store: Store) -> None:
    text = example_config("acme_v1.yaml")
    assert routers.add(store, text).created
    assert not routers.add(store, text).created
    changed = text.replace("description: >-", "description: >-\n  Edited.", 1)
    with pytest.raises(DatasetError, match="already registered with different content"):
        routers.add(store, changed)
    assert routers.get(store, "acme-gateway@1").ref == "acme-gateway@1"


def test_unknown_version_names_the_registered_ones(store: Store) -> None:
    routers.add(store, example_config("acme_v1.yaml"))
    with pytest.raises(NotFoundError, match="registered: acme-gateway@1"):
        routers.get(store, "acme-gateway@9")
    with pytest.raises(DatasetError, match="NAME@VERSION"):
        routers.get(store, "acme-gateway")


def test_eval_results_keep_their_parameters_and_seed(store: Store) -> None:
    from routelab.datasets import results

    rid = results.save(store, "compare", ["a@1", "a@2"], {"alpha": 0.05}, {"delta": -0.1}, seed=7)
    row = results.history(store, "compare").iloc[0]
    assert (row["result_id"], list(row["routers"]), row["seed"]) == (rid, ["a@1", "a@2"], 7)
    assert '"alpha": 0.05' in row["params"]
