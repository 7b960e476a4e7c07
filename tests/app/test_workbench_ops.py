"""The Operations view under Streamlit's AppTest on a small demo store: it renders its six sections without an
exception, with the tables the CLI exports, and a selected row shows the requests behind it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from streamlit.testing.v1 import AppTest

from routelab.datasets import demo
from routelab.datasets.store import open_store

from ..workbench_app import assert_clean as _ok
from ..workbench_app import workbench

TIMEOUT = 120  # seconds per script run: the first run imports scipy and reads the whole window


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("workbench_ops") / "demo.duckdb"
    with open_store(path) as store:
        demo.write_demo(store, demo.generate(seed=5, n_requests=1500))
    return str(path)


@pytest.fixture
def app(db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[AppTest]:
    with workbench(db, monkeypatch, "alice", timeout=TIMEOUT) as at:
        yield at


def _frames(at: AppTest) -> list[set[str]]:
    return [set(df.value.columns) for df in at.dataframe]


def test_operations_renders_the_six_sections_with_their_tables(app: AppTest) -> None:
    app.run()
    app.switch_page("views/operations.py").run()
    _ok(app)
    assert app.title[0].value == "Operations"
    assert [t.label for t in app.tabs] == [
        "Expensive prompts",
        "Failures",
        "Fallbacks",
        "Traffic",
        "Caching",
        "Budget",
    ]
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Logged calls"] == "1,500"
    columns = _frames(app)
    for key in (
        "prompt_group",
        "error_rate_low",
        "fallback_rate",
        "requests_change",
        "hit_rate",
        "projected_usd",
    ):
        assert any(key in c for c in columns), key
    downloads = [b for b in app.get("download_button")]
    assert len(downloads) == 13  # one per table, as `routelab ops --csv` writes


def test_a_budget_shows_status_per_team(app: AppTest) -> None:
    app.run()
    app.switch_page("views/operations.py").run()
    app.text_area(key="ops_budgets").input("support-tier1: 0.01\nnobody: 5").run()
    _ok(app)
    budget = next(df.value for df in app.dataframe if "status" in df.value.columns)
    statuses = dict(zip(budget["team"], budget["status"], strict=True))
    assert statuses["support-tier1"] in ("over budget", "projected over")
    assert statuses["nobody"] == "on track"
    assert set(statuses.values()) >= {"no budget"}


def test_a_bad_budget_is_an_error_on_the_page(app: AppTest) -> None:
    app.run()
    app.switch_page("views/operations.py").run()
    app.text_area(key="ops_budgets").input("support-tier1: lots").run()
    assert not app.exception
    assert any("not a non-negative number" in e.value for e in app.error)


def test_selecting_a_row_shows_the_requests_behind_it(app: AppTest, db: str) -> None:
    from routelab.app.ops_flow import ops_stored

    app.run()
    app.switch_page("views/operations.py").run()
    # what a click does: Streamlit keeps the selected rows in the table's widget state
    app.session_state["ops_reliability"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    app.run()
    _ok(app)
    assert any(c.value.startswith("Requests behind the selected row") for c in app.caption)
    shown = next(df.value for df in app.dataframe if "prompt" in df.value.columns)
    with open_store(db) as store:
        expected = ops_stored(store).tables()["reliability"]["examples"].iloc[0].split()
    assert sorted(shown["request_id"]) == sorted(expected)
