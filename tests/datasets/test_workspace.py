"""The demo workspace: built by the same code as `routelab demo`; both engines agree on it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from routelab.datasets import replay
from routelab.datasets.store import Store, open_store
from routelab.router_core.sql import DECISION_COLUMNS

if TYPE_CHECKING:
    from ..conftest import DemoStores

COLUMNS = ", ".join(c for c in DECISION_COLUMNS if c != "router")


@pytest.fixture(scope="module")
def demo_store(
    tmp_path_factory: pytest.TempPathFactory, demo_stores: DemoStores
) -> Iterator[tuple[Store, dict[str, object]]]:
    """A copy of the demo store (`build_demo`, seed 11, 1,500 requests) and what `build_demo` returned."""
    path: Path = demo_stores.copy(tmp_path_factory.mktemp("demo") / "demo.duckdb", seed=11, n_requests=1500)
    summary = demo_stores.summary(seed=11, n_requests=1500)
    with open_store(path) as store:
        yield store, summary


def test_demo_registers_and_replays_the_three_versions(demo_store: tuple[Store, dict[str, object]]) -> None:
    store, summary = demo_store
    rows = store.execute("SELECT router, count(*) FROM decisions GROUP BY 1 ORDER BY 1").fetchall()
    assert rows == [(f"acme-gateway@{v}", 1500) for v in (1, 2, 3)]
    assert store.scalar("SELECT count(*) FROM price_tables") == 2
    assert summary["example_request"] is not None


@pytest.mark.parametrize("ref", ["acme-gateway@1", "acme-gateway@2", "acme-gateway@3"])
def test_sql_and_python_engines_agree_on_the_demo(
    demo_store: tuple[Store, dict[str, object]], ref: str
) -> None:
    store, _ = demo_store
    query = f"SELECT {COLUMNS} FROM decisions WHERE router = ? ORDER BY request_id"
    replay.replay(store, ref, engine="sql")
    by_sql = store.execute(query, [ref]).fetchall()
    replay.replay(store, ref, engine="python")
    by_python = store.execute(query, [ref]).fetchall()
    assert len(by_sql) == 1500
    mismatched = [a[0] for a, b in zip(by_sql, by_python, strict=True) if a != b]
    assert not mismatched, f"{len(mismatched)} requests differ, e.g. {mismatched[:5]}"


def test_v2_is_cheaper_and_sends_refunds_to_the_faq_lane(demo_store: tuple[Store, dict[str, object]]) -> None:
    store, _ = demo_store
    cost = dict(store.execute("SELECT router, sum(est_cost_usd) FROM decisions GROUP BY 1").fetchall())
    assert cost["acme-gateway@2"] < 0.7 * cost["acme-gateway@1"]
    faq = dict(
        store.execute(
            "SELECT d.router, avg((d.rule_id = 'support-billing-faq')::INT) FROM decisions d "
            "JOIN requests r USING (request_id) WHERE r.task IN ('refund', 'billing_dispute') GROUP BY 1"
        ).fetchall()
    )
    assert faq["acme-gateway@2"] > 0.3 > faq["acme-gateway@3"]
