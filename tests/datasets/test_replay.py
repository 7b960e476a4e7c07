"""Replay: both engines store identical decisions; re-runs replace; a killed replay changes nothing."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from routelab.datasets import prices, replay
from routelab.datasets.errors import DatasetError
from routelab.datasets.store import Store, open_store
from routelab.router_core.pricing import PriceTable
from routelab.router_core.sql import DECISION_COLUMNS

VERSIONS = ["acme-gateway@1", "acme-gateway@2", "acme-gateway@3"]
COLUMNS = ", ".join(c for c in DECISION_COLUMNS if c != "router")


def stored(store: Store, ref: str) -> list[tuple[object, ...]]:
    return store.execute(
        f"SELECT {COLUMNS} FROM decisions WHERE router = ? ORDER BY request_id", [ref]
    ).fetchall()


@pytest.mark.parametrize("ref", VERSIONS)
def test_sql_and_python_replays_store_identical_decisions(example_store: Store, ref: str) -> None:
    replay.replay(example_store, ref, engine="sql")
    by_sql = stored(example_store, ref)
    replay.replay(example_store, ref, engine="python")
    by_python = stored(example_store, ref)
    assert len(by_sql) == example_store.scalar("SELECT count(*) FROM requests") > 0
    assert by_sql == by_python


def test_a_rerun_replaces_and_never_duplicates(example_store: Store) -> None:
    first = replay.replay(example_store, "acme-gateway@2")
    second = replay.replay(example_store, "acme-gateway@2")
    assert first.run_id != second.run_id
    assert example_store.scalar("SELECT count(*) FROM decisions WHERE router = 'acme-gateway@2'") == 8
    assert example_store.scalar("SELECT count(DISTINCT run_id) FROM decisions") == 1


def test_where_replays_only_the_selected_requests(example_store: Store) -> None:
    replay.replay(example_store, "acme-gateway@1")
    run = replay.replay(example_store, "acme-gateway@1", where='workflow == "support"')
    support = example_store.scalar("SELECT count(*) FROM requests WHERE workflow = 'support'")
    assert run.n_decisions == support > 0
    rows = example_store.execute(
        "SELECT count(*), count(*) FILTER (WHERE run_id = ?) FROM decisions WHERE router = 'acme-gateway@1'",
        [run.run_id],
    ).fetchone()
    assert rows == (8, support)


def test_a_bad_where_is_a_clear_error(example_store: Store) -> None:
    with pytest.raises(DatasetError, match="--where: unknown name `wrkflow`"):
        replay.replay(example_store, "acme-gateway@1", where='wrkflow == "support"')


def test_each_run_is_stamped_with_router_hash_and_price_table(example_store: Store) -> None:
    run = replay.replay(example_store, "acme-gateway@3")
    row = example_store.execute(
        "SELECT router_hash, price_table_id, engine, n_decisions FROM replay_runs WHERE run_id = ?",
        [run.run_id],
    ).fetchone()
    expected_hash = example_store.scalar(
        "SELECT hash FROM router_versions WHERE name = 'acme-gateway' AND version = '3'"
    )
    assert row == (expected_hash, run.price_table_id, "sql", 8)


def test_a_model_without_a_price_names_it_and_keeps_the_store(example_store: Store) -> None:
    replay.replay(example_store, "acme-gateway@1")
    before = stored(example_store, "acme-gateway@1")
    pid = prices.save_price_table(example_store, PriceTable(prices={}, source="empty"))
    with pytest.raises(DatasetError, match=r"no price for model\(s\) .*gpt-4o"):
        replay.replay(example_store, "acme-gateway@1", price_table_id=pid)
    assert stored(example_store, "acme-gateway@1") == before


def test_explain_gives_the_trace_of_the_stored_decision(example_store: Store) -> None:
    replay.replay(example_store, "acme-gateway@2")
    decision = replay.explain(example_store, "ex-refund", "acme-gateway@2")
    assert decision.trace is not None
    assert decision.trace.rules[-1].matched
    model, rule = example_store.execute(
        "SELECT model, rule_id FROM decisions WHERE router = 'acme-gateway@2' AND request_id = 'ex-refund'"
    ).fetchone()  # type: ignore[misc]
    assert (decision.model, decision.rule_id) == (model, rule)


def test_a_replay_killed_midway_leaves_the_previous_state(example_store: Store, tmp_path: Path) -> None:
    # enough requests that the Python engine is still deciding when the process is killed
    example_store.execute(
        "INSERT INTO requests (request_id, workflow, task, prompt, attrs) "
        "SELECT 'bulk-' || i, 'support', 'refund', 'I want a refund for order ' || i, MAP {} "
        "FROM range(200000) t(i)"
    )
    replay.replay(example_store, "acme-gateway@1", where='workflow == "coding"')
    before = stored(example_store, "acme-gateway@1")
    runs_before = example_store.scalar("SELECT count(*) FROM replay_runs")
    path = example_store.path
    example_store.close()
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                from routelab.datasets.store import open_store
                from routelab.datasets import replay
                store = open_store({str(path)!r})
                print("started", flush=True)
                replay.replay(store, "acme-gateway@1", engine="python")
                print("finished", flush=True)
                """
            ),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "started"
    time.sleep(2.0)
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    with open_store(path) as again:
        assert stored(again, "acme-gateway@1") == before
        assert again.scalar("SELECT count(*) FROM replay_runs") == runs_before
        run = replay.replay(again, "acme-gateway@1")  # the rerun completes
        assert run.n_decisions == again.scalar("SELECT count(*) FROM requests")
