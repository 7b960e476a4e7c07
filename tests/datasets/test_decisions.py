"""How decisions are stored: rows with a path key, each distinct path once, joined back by the view."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from routelab.datasets import decisions, prices, replay, routers
from routelab.datasets.errors import DatasetError
from routelab.datasets.parquet import DECISION_EXPORT_COLUMNS, MANIFEST, export_decisions
from routelab.datasets.replay import REQUEST_FIELDS
from routelab.datasets.replay_ray import batch_sql
from routelab.datasets.store import Store
from routelab.router_core import sql
from routelab.router_core.sql import DECISION_COLUMNS

from .test_replay import stored

REF = "acme-gateway@3"


def keys(store: Store, ref: str) -> list[int]:
    rows = store.execute("SELECT DISTINCT path_key FROM decision_rows WHERE router = ? ORDER BY 1", [ref])
    return [k for (k,) in rows.fetchall()]


def test_the_view_has_the_columns_the_table_had(example_store: Store) -> None:
    replay.replay(example_store, REF)
    names = [d[0] for d in example_store.execute("SELECT * FROM decisions LIMIT 0").description]
    assert names == ["router", "request_id", "run_id", *[c for c in DECISION_COLUMNS if c not in names[:2]]]
    assert example_store.scalar("SELECT count(*) FROM decisions") == 8


def test_a_sql_replay_writes_packed_keys_and_each_path_once(example_store: Store) -> None:
    replay.replay(example_store, REF)
    packed = keys(example_store, REF)
    assert packed
    assert all(k >= 0 for k in packed)
    # one path row per key the replay wrote, no more
    assert example_store.scalar("SELECT count(*) FROM decision_paths WHERE router = ?", [REF]) == len(packed)
    # a second replay writes the same keys and adds no path
    replay.replay(example_store, REF)
    assert keys(example_store, REF) == packed
    assert example_store.scalar("SELECT count(*) FROM decision_paths WHERE router = ?", [REF]) == len(packed)


def test_text_paths_and_packed_paths_give_the_same_decisions(example_store: Store) -> None:
    replay.replay(example_store, REF, engine="python")
    text_keys = keys(example_store, REF)
    by_python = stored(example_store, REF)
    assert text_keys
    assert all(k < 0 for k in text_keys)
    replay.replay(example_store, REF, engine="sql")
    assert stored(example_store, REF) == by_python
    # both kinds of key stay in decision_paths; the view reads only the rows' current keys
    n_paths = example_store.scalar("SELECT count(*) FROM decision_paths WHERE router = ?", [REF])
    assert n_paths == len(text_keys) + len(keys(example_store, REF))
    assert example_store.scalar("SELECT count(*) FROM decisions WHERE router = ?", [REF]) == 8


def test_a_router_too_large_to_pack_is_stored_with_text_paths(
    example_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    replay.replay(example_store, REF)
    packed = stored(example_store, REF)
    monkeypatch.setattr(sql, "PATH_KEY_LIMIT", 4)
    replay.replay(example_store, REF)
    assert all(k < 0 for k in keys(example_store, REF))
    assert stored(example_store, REF) == packed


def test_a_key_standing_for_another_path_stops_the_write(example_store: Store) -> None:
    replay.replay(example_store, REF)
    before = stored(example_store, REF)
    # the text key of the path the Python engine writes for the first request, already taken by another path
    replay.replay(example_store, REF, engine="python")
    taken = keys(example_store, REF)[0]
    replay.replay(example_store, REF)
    with example_store.transaction() as cur:
        cur.execute("DELETE FROM decision_paths WHERE router = ? AND path_key = ?", [REF, taken])
        cur.execute(
            "INSERT INTO decision_paths (router, path_key, model, fallbacks, policy_flags) "
            "VALUES (?, ?, 'not-this-model', [], [])",
            [REF, taken],
        )
    with pytest.raises(DatasetError, match=f"path key {taken} already stands for another path"):
        replay.replay(example_store, REF, engine="python")
    assert stored(example_store, REF) == before


def test_deleting_by_request_keeps_the_other_decisions(example_store: Store) -> None:
    replay.replay(example_store, REF)
    with example_store.transaction() as cur:
        decisions.delete(cur, REF, "requests WHERE workflow = $wf", {"wf": "support"})
    support = example_store.scalar("SELECT count(*) FROM requests WHERE workflow = 'support'")
    assert 0 < support < 8
    assert example_store.scalar("SELECT count(*) FROM decisions WHERE router = ?", [REF]) == 8 - support


def test_exported_decisions_read_back_as_stored(example_store: Store, tmp_path: Path) -> None:
    replay.replay(example_store, REF)
    done = export_decisions(example_store, REF, tmp_path / "dec")
    assert done.rows == 8
    assert all(f.startswith("week=") for f in done.files)
    cols = ", ".join(DECISION_EXPORT_COLUMNS)
    back = example_store.execute(
        f"SELECT {cols} FROM read_parquet('{tmp_path / 'dec'}/**/*.parquet', hive_partitioning = false) "
        "ORDER BY request_id"
    ).fetchall()
    assert (
        back
        == example_store.execute(
            f"SELECT {cols} FROM decisions WHERE router = ? ORDER BY request_id", [REF]
        ).fetchall()
    )
    manifest = json.loads((tmp_path / "dec" / MANIFEST).read_text())
    assert (manifest["table"], manifest["router"], manifest["rows"]) == ("decisions", REF, 8)
    # the columns a Ray replay writes, so that both kinds of decision Parquet read alike
    example_store.execute(f"CREATE TEMP VIEW batch AS SELECT {', '.join(REQUEST_FIELDS)} FROM requests")
    _pid, table = prices.load_stored(example_store, None)
    ray_sql = batch_sql(routers.get(example_store, REF), table, "run")
    ray_cols = [d[0] for d in example_store.execute(f"SELECT * FROM ({ray_sql}) LIMIT 0").description]
    assert ray_cols == list(DECISION_EXPORT_COLUMNS)


def test_export_decisions_selects_and_refuses_clearly(example_store: Store, tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=f"no decisions of {REF} .* run `routelab replay {REF}` first"):
        export_decisions(example_store, REF, tmp_path / "none")
    with pytest.raises(DatasetError, match="no router version acme-gateway@9"):
        export_decisions(example_store, "acme-gateway@9", tmp_path / "none")
    replay.replay(example_store, REF)
    done = export_decisions(
        example_store, REF, tmp_path / "support", where='workflow == "support"', partition_by="none"
    )
    support = example_store.scalar("SELECT count(*) FROM requests WHERE workflow = 'support'")
    assert done.rows == support > 0
    assert done.files == ("part_0.parquet",)


def test_paths_differing_only_by_null_or_empty_lists_are_kept_apart(example_store: Store) -> None:
    # DuckDB's hash gives NULL, [] and [NULL] one value: the text key hashes the lists as JSON
    lists = [None, [], [None], ["m"]]
    rows = [
        {
            "router": REF,
            "request_id": f"r{i}",
            "run_id": "run",
            "model": "m",
            "fallbacks": f,
            "policy_flags": p,
        }
        for i, (f, p) in enumerate((f, p) for f in lists for p in lists)
    ]
    frame = pd.DataFrame(rows).reindex(columns=["router", "request_id", "run_id", *DECISION_COLUMNS[2:]])
    frame["fallbacks"] = frame["fallbacks"].astype(object)
    with example_store.transaction() as cur:
        cur.register("_given", frame)
        assert decisions.insert_text(cur, "_given") == len(rows) == 16
        cur.unregister("_given")
    back = example_store.execute(
        "SELECT fallbacks, policy_flags FROM decisions WHERE router = ? ORDER BY request_id[2:]::INT", [REF]
    ).fetchall()
    assert back == [(r["fallbacks"], r["policy_flags"]) for r in rows]
    assert example_store.scalar("SELECT count(*) FROM decision_paths WHERE router = ?", [REF]) == 16
