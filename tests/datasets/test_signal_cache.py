"""The signal cache (`datasets.signal_cache`): replays read text signals' values computed once per request.

Every SQL replay below is compared column by column with the Python engine and with the query that computes
the signals from the prompts (no cache): cold (the replay fills the cache), warm (it reads it), after an edit
of a signal (a new key), after the prompts change (purge, import --on-conflict replace), and on a read-only
store (nothing written).
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from routelab.datasets import demo, prices, replay, routers, signal_cache
from routelab.datasets.importers import import_file
from routelab.datasets.purge import purge
from routelab.datasets.store import Store, migrate, migrations, open_store, schema_version
from routelab.datasets.workspace import EXAMPLE_VERSIONS, example_config, example_prices
from routelab.router_core.sql import DECISION_COLUMNS, compile_sql
from routelab.router_core.sql_cache import TOKEN_ESTIMATE, cached_values
from routelab.router_core.validate import load_router

VERSIONS = ["acme-gateway@1", "acme-gateway@2", "acme-gateway@3"]
COLUMNS = [c for c in DECISION_COLUMNS if c != "router"]
N_DEMO = 2_000


@pytest.fixture(scope="module")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store of 2,000 demo requests with acme v1-v3 and the example prices; nothing replayed."""
    path = tmp_path_factory.mktemp("signal-cache") / "demo.duckdb"
    with open_store(path) as store:
        demo.write_demo(store, demo.generate(seed=11, n_requests=N_DEMO))
        prices.save_price_table(store, example_prices())
        for name in EXAMPLE_VERSIONS:
            routers.add(store, example_config(name), source=name)
    return path


@pytest.fixture
def demo_store(demo_template: Path, tmp_path: Path) -> Any:
    path = tmp_path / "demo.duckdb"
    shutil.copy(demo_template, path)
    with open_store(path) as store:
        yield store


def stored(store: Store, ref: str) -> list[tuple[Any, ...]]:
    return store.execute(
        f"SELECT {', '.join(COLUMNS)} FROM decisions WHERE router = ? ORDER BY request_id", [ref]
    ).fetchall()


def uncached(store: Store, ref: str) -> list[tuple[Any, ...]]:
    """The decisions of the query that computes every signal from the prompts (`compile_sql` as before)."""
    _pid, table = prices.load_stored(store, None)
    sql = compile_sql(
        routers.get(store, ref), table, f"(SELECT {', '.join(replay.REQUEST_FIELDS)} FROM requests)"
    )
    return store.execute(f"SELECT {', '.join(COLUMNS)} FROM ({sql}) ORDER BY request_id").fetchall()


def cache_rows(store: Store) -> int:
    """(request, value) pairs the cache holds."""
    return signal_cache.stored_values(store.cursor())


def filled(store: Store, key: str) -> int:
    """Requests holding the value of `key`."""
    return int(store.scalar(f"SELECT count({signal_cache.COLUMN_PREFIX}{key}) FROM requests"))


def with_values(store: Store) -> set[str]:
    """The requests holding at least one cached value."""
    cols = sorted(signal_cache.columns(store.cursor()))
    rows = store.execute(
        f"SELECT request_id FROM requests WHERE {' OR '.join(f'{c} IS NOT NULL' for c in cols) or 'FALSE'}"
    ).fetchall()
    return {r[0] for r in rows}


def clear(store: Store) -> None:
    with store.transaction() as cur:
        signal_cache.clear(cur)


def test_cold_warm_uncached_and_python_decisions_are_identical(demo_store: Store) -> None:
    n = demo_store.scalar("SELECT count(*) FROM requests")
    for ref in VERSIONS:
        clear(demo_store)
        replay.replay(demo_store, ref, engine="sql")
        cold = stored(demo_store, ref)
        replay.replay(demo_store, ref, engine="sql")
        warm = stored(demo_store, ref)
        replay.replay(demo_store, ref, engine="python")
        python = stored(demo_store, ref)
        assert len(cold) == n == N_DEMO
        assert cold == warm == python == uncached(demo_store, ref), ref


def test_versions_share_the_cached_values(demo_store: Store) -> None:
    replay.replay(demo_store, "acme-gateway@3")
    after_first = cache_rows(demo_store)
    # acme v1-v3 have the same signals, and every demo request has prompt_tokens: four text signals
    assert after_first == 4 * N_DEMO
    replay.replay(demo_store, "acme-gateway@1")
    replay.replay(demo_store, "acme-gateway@2")
    assert cache_rows(demo_store) == after_first  # nothing computed again


def test_the_estimate_is_cached_only_for_requests_without_a_token_count(demo_store: Store) -> None:
    demo_store.execute(
        "UPDATE requests SET prompt_tokens = NULL WHERE request_id IN "
        "(SELECT request_id FROM requests ORDER BY request_id LIMIT 50)"
    )
    replay.replay(demo_store, "acme-gateway@3")
    router = routers.get(demo_store, "acme-gateway@3")
    estimate = next(v for v in cached_values(router) if v.name == TOKEN_ESTIMATE)
    assert filled(demo_store, estimate.key) == N_DEMO
    assert stored(demo_store, "acme-gateway@3") == uncached(demo_store, "acme-gateway@3")
    replay.replay(demo_store, "acme-gateway@3", engine="python")
    assert stored(demo_store, "acme-gateway@3") == uncached(demo_store, "acme-gateway@3")


def scanned_columns(store: Store, sql: str) -> set[str]:
    """The columns the plan of `sql` reads from the `requests` table."""
    (row,) = store.execute("EXPLAIN (FORMAT json) " + sql).fetchall()
    found: set[str] = set()

    def walk(node: dict[str, Any]) -> None:
        info = node.get("extra_info", {})
        if node.get("name") == "SEQ_SCAN" and str(info.get("Table", "")).endswith(".requests"):
            found.update(info.get("Projections", []))
        for child in node.get("children", []):
            walk(child)

    for node in json.loads(row[1]):
        walk(node)
    return found


def test_a_warm_replay_does_not_read_the_prompts(demo_store: Store) -> None:
    replay.replay(demo_store, "acme-gateway@3")
    router = routers.get(demo_store, "acme-gateway@3")
    tokens = signal_cache.tokens_complete(demo_store.cursor())
    relation = signal_cache.source(signal_cache.needed(router, tokens), tokens_complete=tokens)
    _pid, table = prices.load_stored(demo_store, None)
    warm = scanned_columns(demo_store, compile_sql(router, table, relation.source, cache=relation.cache))
    assert {"request_id", "workflow", "prompt_tokens"} <= warm
    assert "prompt" not in warm
    plain = compile_sql(router, table, f"(SELECT {', '.join(replay.REQUEST_FIELDS)} FROM requests)")
    assert "prompt" in scanned_columns(demo_store, plain)  # without the cache, the prompts are read


def edited_v3(extra_phrase: str) -> str:
    """acme v3 as version 9 with one more refund phrase (so its `intent` signal has a new definition)."""
    text = example_config("acme_v3.yaml").replace("version: 3", "version: 9", 1)
    old = "phrases: [refund, money back, reimburse]"
    assert old in text
    return text.replace(old, f"phrases: [refund, money back, reimburse, {extra_phrase}]")


def test_editing_a_signal_gives_a_new_key_and_new_values(demo_store: Store) -> None:
    replay.replay(demo_store, "acme-gateway@3")
    before = cache_rows(demo_store)
    v3 = {v.name: v.key for v in cached_values(routers.get(demo_store, "acme-gateway@3"))}
    ref = routers.add(demo_store, edited_v3("order")).ref
    v9 = {v.name: v.key for v in cached_values(load_router(edited_v3("order")))}
    assert v9["intent"] != v3["intent"]  # the edited signal's key changed ...
    assert {k: v for k, v in v9.items() if k != "intent"} == {k: v for k, v in v3.items() if k != "intent"}
    replay.replay(demo_store, ref)
    assert cache_rows(demo_store) == before + N_DEMO  # ... so only its values were computed
    assert filled(demo_store, v9["intent"]) == N_DEMO
    by_sql = stored(demo_store, ref)
    replay.replay(demo_store, ref, engine="python")
    assert by_sql == stored(demo_store, ref) == uncached(demo_store, ref)
    # the new phrase matters: some request's intent (hence rule) differs from v3's
    changed = demo_store.scalar(
        "SELECT count(*) FROM decisions a JOIN decisions b USING (request_id) "
        "WHERE a.router = 'acme-gateway@3' AND b.router = ? AND a.rule_id <> b.rule_id",
        [ref],
    )
    assert changed > 0


def test_new_requests_are_filled_alone(demo_store: Store) -> None:
    replay.replay(demo_store, "acme-gateway@3")
    before = cache_rows(demo_store)
    demo_store.execute(
        "INSERT INTO requests (request_id, workflow, task, prompt, prompt_tokens, attrs) VALUES "
        "('new-1', 'support', 'refund', 'I want my money back, I was charged twice', 12, MAP {}), "
        "('new-2', 'coding', 'debug', 'Traceback (most recent call last): boom', 9, MAP {})"
    )
    replay.replay(demo_store, "acme-gateway@3")
    assert cache_rows(demo_store) == before + 2 * 4
    assert stored(demo_store, "acme-gateway@3") == uncached(demo_store, "acme-gateway@3")


def test_a_request_lacking_one_value_gets_just_that_one(demo_store: Store) -> None:
    replay.replay(demo_store, "acme-gateway@3")
    before = cache_rows(demo_store)
    intent = next(v for v in cached_values(routers.get(demo_store, "acme-gateway@3")) if v.name == "intent")
    victims = demo_store.execute("SELECT request_id FROM requests ORDER BY request_id LIMIT 3").fetchall()
    demo_store.execute(
        f"UPDATE requests SET {signal_cache.column(intent)} = NULL WHERE request_id IN (?, ?, ?)",
        [v[0] for v in victims],
    )
    relation = signal_cache.relation(demo_store, routers.get(demo_store, "acme-gateway@3"))
    assert relation.computed == 3
    assert cache_rows(demo_store) == before
    run = replay.replay(demo_store, "acme-gateway@3")
    assert run.n_decisions == N_DEMO
    assert stored(demo_store, "acme-gateway@3") == uncached(demo_store, "acme-gateway@3")


def test_a_where_replay_fills_only_the_selected_requests(demo_store: Store) -> None:
    run = replay.replay(demo_store, "acme-gateway@3", where='workflow == "support"')
    support = demo_store.scalar("SELECT count(*) FROM requests WHERE workflow = 'support'")
    assert run.n_decisions == support
    assert cache_rows(demo_store) == 4 * support
    rows = demo_store.execute(
        f"SELECT {', '.join(COLUMNS)} FROM decisions WHERE router = 'acme-gateway@3' ORDER BY request_id"
    ).fetchall()
    assert rows == [r for r in uncached(demo_store, "acme-gateway@3") if r[0] in {x[0] for x in rows}]


def test_a_read_only_store_replays_the_query_without_writing(demo_template: Path, tmp_path: Path) -> None:
    path = tmp_path / "ro.duckdb"
    shutil.copy(demo_template, path)
    with open_store(path) as store:
        expected = uncached(store, "acme-gateway@3")
    with open_store(path, read_only=True) as store:
        relation = signal_cache.relation(store, routers.get(store, "acme-gateway@3"))
        assert (relation.computed, relation.stored) == (4 * N_DEMO, False)
        assert decisions_of(store, relation) == expected
        assert cache_rows(store) == 0
    with open_store(path) as store:  # a partly filled cache: the rows there are, the rest computed
        replay.replay(store, "acme-gateway@3")
        cols = sorted(signal_cache.columns(store.cursor()))
        store.execute(
            f"UPDATE requests SET {', '.join(f'{c} = NULL' for c in cols)} "
            "WHERE request_id IN (SELECT request_id FROM requests LIMIT 100)"
        )
        left = cache_rows(store)
    with open_store(path, read_only=True) as store:
        relation = signal_cache.relation(store, routers.get(store, "acme-gateway@3"))
        assert relation.computed == 4 * 100
        assert relation.cache is not None
        assert not relation.cache.complete
        assert decisions_of(store, relation) == expected
        assert cache_rows(store) == left
    with open_store(path) as store:  # a writable store fills what is missing first
        relation = signal_cache.relation(store, routers.get(store, "acme-gateway@3"))
        assert (relation.computed, relation.stored) == (4 * 100, True)
        assert decisions_of(store, relation) == expected


def decisions_of(store: Store, relation: signal_cache.CachedRelation) -> list[tuple[Any, ...]]:
    _pid, table = prices.load_stored(store, None)
    sql = compile_sql(routers.get(store, "acme-gateway@3"), table, relation.source, cache=relation.cache)
    return store.execute(f"SELECT {', '.join(COLUMNS)} FROM ({sql}) ORDER BY request_id").fetchall()


def test_purge_forgets_the_purged_requests_values(store: Store) -> None:
    now = datetime(2026, 11, 1)
    store.execute(
        "INSERT INTO requests (request_id, ts, workflow, prompt, prompt_tokens, attrs) VALUES "
        "('old', ?, 'support', 'I want a refund, mail jane.doe@example.com', 10, MAP {}), "
        "('new', ?, 'support', 'I want a refund', 4, MAP {})",
        [now - timedelta(days=200), now],
    )
    prices.save_price_table(store, example_prices())
    ref = routers.add(store, example_config("acme_v3.yaml")).ref
    replay.replay(store, ref)
    assert with_values(store) == {"old", "new"}
    purge(store, timedelta(days=90), "test", now=now)
    assert with_values(store) == {"new"}
    replay.replay(store, ref)
    by_sql = stored(store, ref)
    replay.replay(store, ref, engine="python")
    assert by_sql == stored(store, ref) == uncached(store, ref)


def jsonl(path: Path, prompts: dict[str, str]) -> Path:
    path.write_text(
        "".join(
            json.dumps({"request_id": r, "prompt": p, "workflow": "support"}) + "\n"
            for r, p in prompts.items()
        )
    )
    return path


@pytest.mark.parametrize(
    ("on_conflict", "forgotten"), [("replace", {"a", "b"}), ("skip", set())], ids=["replace", "skip"]
)
def test_an_import_that_replaces_requests_forgets_their_values(
    store: Store, tmp_path: Path, on_conflict: Any, forgotten: set[str]
) -> None:
    import_file(
        store, jsonl(tmp_path / "one.jsonl", {"a": "how do I rotate logs?", "b": "refund please"}), "requests"
    )
    prices.save_price_table(store, example_prices())
    ref = routers.add(store, example_config("acme_v3.yaml")).ref
    replay.replay(store, ref)
    changed = {"a": "I want my money back", "b": "refund please"}  # a's prompt changes, b's does not
    import_file(store, jsonl(tmp_path / "two.jsonl", changed), "requests", on_conflict=on_conflict)
    assert with_values(store) == {"a", "b"} - forgotten
    replay.replay(store, ref)
    by_sql = stored(store, ref)
    replay.replay(store, ref, engine="python")
    assert by_sql == stored(store, ref) == uncached(store, ref)


def old_store(path: Path, target: int, extra: str) -> None:
    """A store made by migrations 1..`target` with one request, plus `extra` (SQL)."""
    con = duckdb.connect(str(path))
    assert migrate(con, target=target) == list(range(1, target + 1))
    con.execute(
        "INSERT INTO requests (request_id, workflow, prompt, prompt_tokens, attrs) "
        "VALUES ('r1', 'support', 'I want a refund', 4, MAP {'k': 'v'})"
    )
    con.execute(extra)
    con.close()


def upgraded_store_replays(store: Store) -> None:
    """The one request is intact, the cache starts empty, and a replay fills it and decides right."""
    assert schema_version(store.con) == migrations()[-1].number >= 10
    assert store.execute("SELECT request_id, prompt, attrs FROM requests").fetchall() == [
        ("r1", "I want a refund", {"k": "v"})
    ]
    assert cache_rows(store) == 0
    prices.save_price_table(store, example_prices())
    ref = routers.add(store, example_config("acme_v3.yaml")).ref
    replay.replay(store, ref)
    assert cache_rows(store) == 4
    assert stored(store, ref) == uncached(store, ref)


def test_a_store_from_before_the_cache_upgrades_intact(tmp_path: Path) -> None:
    old_store(tmp_path / "v7.duckdb", 7, "INSERT INTO request_pii VALUES ('r1', 'detector', '')")
    with open_store(tmp_path / "v7.duckdb") as store:
        assert [m.number for m in migrations()] == list(range(1, migrations()[-1].number + 1))  # contiguous
        assert store.scalar("SELECT count(*) FROM request_pii") == 1
        upgraded_store_replays(store)


def test_a_store_with_the_old_cache_table_upgrades_intact(tmp_path: Path) -> None:
    """Migration 10 drops `request_signals` (derived values); the requests stay, a replay refills it."""
    old_store(tmp_path / "v9.duckdb", 9, "INSERT INTO request_signals VALUES ('r1', '0123456789abcdef', 1)")
    with open_store(tmp_path / "v9.duckdb") as store:
        tables = {r[0] for r in store.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        assert "request_signals" not in tables
        upgraded_store_replays(store)


def test_a_replay_that_adds_cache_columns_leaves_the_store_able_to_checkpoint(
    demo_template: Path, tmp_path: Path
) -> None:
    """Opening a store leaves no result pending on its main connection: an open transaction there would
    stop every checkpoint after the replay's ALTER TABLE (the writes would stay in the WAL, reads slow)."""
    path = tmp_path / "ck.duckdb"
    shutil.copy(demo_template, path)
    with open_store(path) as store:  # migrated already: opening it applies nothing
        replay.replay(store, "acme-gateway@3")
        assert signal_cache.columns(store.cursor())  # the replay added the cache's columns
        store.execute("CHECKPOINT")
        replay.replay(store, "acme-gateway@2")
        store.execute("CHECKPOINT")
