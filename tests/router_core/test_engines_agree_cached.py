"""The SQL engine reading cached text values (`sql_cache`) still equals the Python engine.

The values are computed by `cached_values_sql` (what `datasets.signal_cache` stores), then read back by
`compile_sql(..., cache=...)`: all of them (`complete`), or some missing (NULL: the query computes those), or
without the token estimate when every request has `prompt_tokens` (the store leaves it out then).
"""

from __future__ import annotations

import math
from typing import Any

import duckdb
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from routelab.router_core.engine import route
from routelab.router_core.identity import canonical_json
from routelab.router_core.request import Request
from routelab.router_core.sql import DECISION_COLUMNS, REQUEST_COLUMNS, cached_values_sql, compile_sql
from routelab.router_core.sql_cache import TOKEN_ESTIMATE, CacheColumns, cached_values
from routelab.router_core.sql_expr import ident

from .strategies import Scenario, request_batches, scenarios

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def con() -> Any:
    connection = duckdb.connect(":memory:")
    yield connection
    connection.close()


def load_requests(con: duckdb.DuckDBPyConnection, requests: list[Request]) -> None:
    cols = ", ".join(f"{name} {kind}" for name, kind in REQUEST_COLUMNS)
    con.execute(f"CREATE OR REPLACE TEMP TABLE requests ({cols})")
    rows = [[getattr(r, name) for name, _ in REQUEST_COLUMNS] for r in requests]
    con.executemany(f"INSERT INTO requests VALUES ({', '.join('?' for _ in REQUEST_COLUMNS)})", rows)


def same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(a, list | tuple) or isinstance(b, list | tuple):
        return list(a) == list(b)
    return a == b


def cached_source(
    con: duckdb.DuckDBPyConnection, scenario: Scenario, mode: str, hidden: int
) -> tuple[str, CacheColumns]:
    """The requests with their cached values as columns `_c<i>`: every value, some (NULL where a bit of
    `hidden` says so), or every value but the token estimate."""
    values = list(cached_values(scenario.router))
    if mode == "no-estimate":
        values = [v for v in values if v.name != TOKEN_ESTIMATE]
    names = [v.name for v in values]
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE cached AS {cached_values_sql(scenario.router, names, 'requests')}"
    )
    cols = []
    for i, name in enumerate(names):
        col = f"c.{ident(name)}"
        if mode == "partial":  # hide some values: row number and value index pick a bit of `hidden`
            bit = f"(({hidden} >> ((r.n * {len(names)} + {i}) % 60)) & 1)"
            col = f"(CASE WHEN {bit} = 1 THEN NULL ELSE {col} END)"
        cols.append(f"{col} AS _c{i}")
    columns = {name: f"_c{i}" for i, name in enumerate(names)}
    if mode == "no-estimate":
        cols.append("CAST(NULL AS INTEGER) AS _cest")
        columns[TOKEN_ESTIMATE] = "_cest"
    source = (
        f"(SELECT r.* EXCLUDE (n), {', '.join(cols)} FROM "
        "(SELECT *, row_number() OVER (ORDER BY request_id) AS n FROM requests) r "
        "JOIN cached c USING (request_id))"
    )
    return source, CacheColumns(columns=columns, complete=mode != "partial")


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]
)
@given(
    scenario=scenarios(),
    batch=request_batches(),
    mode=st.sampled_from(["complete", "partial", "no-estimate"]),
    hidden=st.integers(0, 2**60 - 1),
)
def test_sql_engine_reading_cached_values_equals_python_engine(
    con: duckdb.DuckDBPyConnection, scenario: Scenario, batch: list[Any], mode: str, hidden: int
) -> None:
    requests = [Request.model_validate(r) for r in batch]
    if mode == "no-estimate" and any(r.prompt_tokens is None for r in requests):
        mode = "complete"  # the estimate may only be left out when no request needs it
    note(canonical_json(scenario.router))
    note(f"mode {mode}, hidden {hidden}")
    load_requests(con, requests)
    source, cache = cached_source(con, scenario, mode, hidden)
    sql = compile_sql(scenario.router, scenario.prices, source, cache=cache)
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
        assert not diffs, f"request {request!r}: python vs sql ({mode}) differ on {diffs}"


def test_more_policies_than_one_flag_group(con: duckdb.DuckDBPyConnection) -> None:
    """Flags of more than `_FLAG_GROUP` policies are looked up per group and concatenated in order."""
    import json
    from importlib import resources

    import yaml

    from routelab.router_core.pricing import PriceTable
    from routelab.router_core.validate import load_router

    examples = resources.files("routelab.router_core").joinpath("examples")
    config = yaml.safe_load(examples.joinpath("acme_v3.yaml").read_text(encoding="utf-8"))
    for k in range(5):  # eleven policies: two groups of flags
        config["policies"].append(
            {"kind": "latency_target", "id": f"extra-{k}", "p95_ms": 100.0 + k, "on_violation": "flag"}
        )
        config["policies"].append(
            {
                "kind": "confidence_floor",
                "id": f"floor-{k}",
                "min_confidence": 0.99,
                "escalate_to": "human_review",
            }
        )
    router = load_router(yaml.safe_dump(config))
    prices = PriceTable.model_validate(
        yaml.safe_load(examples.joinpath("prices.yaml").read_text(encoding="utf-8"))
    )
    requests = [
        Request.model_validate(json.loads(p.read_text(encoding="utf-8")))
        for p in sorted(examples.joinpath("requests").iterdir(), key=lambda p: p.name)
        if p.name.endswith(".json")
    ]
    load_requests(con, requests)
    cursor = con.execute(compile_sql(router, prices, "requests") + "\nORDER BY request_id")
    names = [d[0] for d in cursor.description]
    rows = {row[0]: dict(zip(names, row, strict=True)) for row in cursor.fetchall()}
    flagged = 0
    for request in requests:
        py = route(router, request, prices, trace=False).model_dump(mode="json", exclude={"trace"})
        got = rows[request.request_id]
        diffs = {k: (py[k], got[k]) for k in DECISION_COLUMNS if not same(py[k], got[k])}
        assert not diffs, f"request {request.request_id}: python vs sql differ on {diffs}"
        flagged = max(flagged, len(py["policy_flags"]))
    assert flagged > 6  # some request carries flags of both groups
