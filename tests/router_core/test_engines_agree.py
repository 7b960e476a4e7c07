"""The SQL engine and the Python engine give identical decisions on random routers and requests.

This is the only place router_core tests touch DuckDB (in memory).
"""

from __future__ import annotations

import math
from typing import Any

import duckdb
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from routelab.router_core.engine import route
from routelab.router_core.evaluation import fold_lower
from routelab.router_core.identity import canonical_json
from routelab.router_core.regex import portable
from routelab.router_core.request import Request
from routelab.router_core.sql import DECISION_COLUMNS, REQUEST_COLUMNS, compile_sql
from routelab.router_core.sql_expr import q

from .strategies import Scenario, regexes, request_batches, scenarios, texts

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def load_requests(con: duckdb.DuckDBPyConnection, requests: list[Request]) -> None:
    cols = ", ".join(f"{name} {kind}" for name, kind in REQUEST_COLUMNS)
    con.execute(f"CREATE OR REPLACE TEMP TABLE requests ({cols})")
    # one INSERT for the whole batch: executemany costs a statement per row
    row = f"({', '.join('?' for _ in REQUEST_COLUMNS)})"
    values = [getattr(r, name) for r in requests for name, _ in REQUEST_COLUMNS]
    con.execute(f"INSERT INTO requests VALUES {', '.join(row for _ in requests)}", values)


def same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(a, list | tuple) or isinstance(b, list | tuple):
        return list(a) == list(b)
    return a == b


@settings(
    max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]
)
@given(scenario=scenarios(), batch=request_batches())
def test_sql_engine_equals_python_engine(
    con: duckdb.DuckDBPyConnection, scenario: Scenario, batch: list
) -> None:
    note(canonical_json(scenario.router))
    note(repr(scenario.prices))
    requests = [Request.model_validate(r) for r in batch]
    load_requests(con, requests)
    sql = compile_sql(scenario.router, scenario.prices, "requests")
    cursor = con.execute(sql + "\nORDER BY request_id")
    names = [d[0] for d in cursor.description]
    assert tuple(names) == DECISION_COLUMNS
    by_id = {row[0]: dict(zip(names, row, strict=True)) for row in cursor.fetchall()}
    assert set(by_id) == {r.request_id for r in requests}
    for request in requests:
        py = route(scenario.router, request, scenario.prices, trace=False).model_dump(
            mode="json", exclude={"trace"}
        )
        got = by_id[request.request_id]
        diffs = {k: (py[k], got[k]) for k in DECISION_COLUMNS if not same(py[k], got[k])}
        assert not diffs, f"request {request!r}: python vs sql differ on {diffs}"


@settings(max_examples=500, deadline=None)
@given(pattern=regexes(), text=texts)
def test_portable_regex_matches_alike(con: duckdb.DuckDBPyConnection, pattern: str, text: str) -> None:
    rx = portable(pattern)
    (sql_result,) = con.execute(f"SELECT regexp_matches(?, {q(rx.re2)})", [text]).fetchone()
    assert sql_result == rx.search(text), (pattern, rx.python, rx.re2, text)


def test_lower_matches_duckdb_on_every_code_point(con: duckdb.DuckDBPyConnection) -> None:
    """`fold_lower` equals DuckDB's lower() character by character, over all of Unicode."""
    chars = [chr(c) for c in range(1, 0x110000) if not 0xD800 <= c <= 0xDFFF]
    text = "".join(chars)
    (lowered,) = con.execute("SELECT lower(?)", [text]).fetchone()
    assert lowered == fold_lower(text)


@given(text=st.text())
@settings(max_examples=200, deadline=None)
def test_length_counts_code_points(con: duckdb.DuckDBPyConnection, text: str) -> None:
    (n,) = con.execute("SELECT length(?)", [text]).fetchone()
    assert n == len(text)
