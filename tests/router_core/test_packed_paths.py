"""The packed query: each decision's path as one key, decoding to exactly the columns `compile_sql` gives."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
import yaml
from hypothesis import HealthCheck, given, note, settings

from routelab.router_core import sql
from routelab.router_core.identity import canonical_json
from routelab.router_core.pricing import PriceTable
from routelab.router_core.request import Request
from routelab.router_core.sql import (
    DECISION_COLUMNS,
    PACKED_COLUMNS,
    PATH_COLUMNS,
    compile_packed_sql,
    compile_sql,
    decode_paths_sql,
)
from routelab.router_core.validate import load_router

from .strategies import Scenario, request_batches, scenarios
from .test_engines_agree import load_requests

EXAMPLES = Path(__file__).resolve().parents[2] / "router_core" / "examples"
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def decoded(con: duckdb.DuckDBPyConnection, scenario: Scenario) -> list[tuple[object, ...]]:
    """The packed query's rows with their keys decoded, in `DECISION_COLUMNS` order."""
    packed = compile_packed_sql(scenario.router, scenario.prices, "requests")
    assert packed is not None
    con.execute(f"CREATE OR REPLACE TEMP TABLE packed AS {packed}")
    names = [d[0] for d in con.execute("SELECT * FROM packed LIMIT 0").description]
    assert tuple(names) == PACKED_COLUMNS
    paths = decode_paths_sql(scenario.router, "(SELECT DISTINCT path_key FROM packed)")
    cols = ", ".join(f"p.{c}" if c in PATH_COLUMNS else f"k.{c}" for c in DECISION_COLUMNS)
    return con.execute(
        f"SELECT {cols} FROM packed k JOIN ({paths}) p USING (path_key) ORDER BY k.request_id"
    ).fetchall()


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]
)
@given(scenario=scenarios(), batch=request_batches())
def test_decoded_paths_equal_the_decisions_columns(
    con: duckdb.DuckDBPyConnection, scenario: Scenario, batch: list
) -> None:
    note(canonical_json(scenario.router))
    load_requests(con, [Request.model_validate(r) for r in batch])
    full = con.execute(compile_sql(scenario.router, scenario.prices, "requests") + "\nORDER BY request_id")
    expected = full.fetchall()
    got = decoded(con, scenario)
    # exact: the estimates come from the same expressions, the path columns from the same state
    assert got == expected
    keys = con.execute("SELECT min(path_key), max(path_key) FROM packed").fetchone()
    assert 0 <= keys[0] <= keys[1] < sql.PATH_KEY_LIMIT


def test_a_state_too_large_for_a_key_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    router = load_router((EXAMPLES / "acme_v3.yaml").read_text(encoding="utf-8"), "acme_v3.yaml")
    prices = PriceTable.model_validate(yaml.safe_load((EXAMPLES / "prices.yaml").read_text(encoding="utf-8")))
    assert compile_packed_sql(router, prices) is not None
    monkeypatch.setattr(sql, "PATH_KEY_LIMIT", 4)
    assert compile_packed_sql(router, prices) is None
