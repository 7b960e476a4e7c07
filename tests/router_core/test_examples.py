"""The acme-gateway example routers: they load, route as the golden table says in both engines, and v3 fixes
the two silent failures of v2.

Golden table (`golden/acme_cases.csv`): one request per row and, per version N, the expected `vN_model`,
`vN_rule`, `vN_retrieval`, `vN_action` and `vN_escalation`. An empty cell is null (missing); a prompt cell
holding `<empty>` is the empty string.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from routelab.router_core.engine import route
from routelab.router_core.pricing import PriceTable
from routelab.router_core.request import NUMBER_FIELDS, TEXT_FIELDS, Request
from routelab.router_core.sql import compile_sql
from routelab.router_core.validate import Router, load_router

EXAMPLES = Path(__file__).resolve().parents[2] / "router_core" / "examples"
GOLDEN = Path(__file__).resolve().parent / "golden" / "acme_cases.csv"
VERSIONS = ("1", "2", "3")
#: Decision field → golden column suffix.
CHECKED = {
    "model": "model",
    "rule_id": "rule",
    "retrieval": "retrieval",
    "action": "action",
    "escalation": "escalation",
}
#: The request columns of the SQL engine's input relation (see `router_core/sql.py`), before `attrs`.
COLUMNS = ("request_id", "ts", *TEXT_FIELDS, *(f for f in NUMBER_FIELDS if f != "hour"))
TABLE_DDL = (
    "CREATE TABLE requests (request_id VARCHAR, ts TIMESTAMP, workflow VARCHAR, task VARCHAR, "
    "team VARCHAR, region VARCHAR, data_class VARCHAR, prompt VARCHAR, prompt_tokens BIGINT, "
    "expected_output_tokens BIGINT, attrs MAP(VARCHAR, VARCHAR))"
)


def _cell(value: str) -> str | None:
    return value if value != "" else None


def golden_request(row: dict[str, str]) -> Request:
    """The request a golden row describes."""
    prompt = "" if row["prompt"] == "<empty>" else _cell(row["prompt"])
    tokens = _cell(row["prompt_tokens"])
    return Request(
        request_id=row["case_id"],
        **{f: _cell(row[f]) for f in ("workflow", "task", "team", "region", "data_class")},
        prompt=prompt,
        prompt_tokens=None if tokens is None else int(tokens),
        attrs=json.loads(row["attrs_json"]) if row["attrs_json"] else {},
    )


def expected(row: dict[str, str], version: str) -> dict[str, str | None]:
    return {key: _cell(row[f"v{version}_{col}"]) for key, col in CHECKED.items()}


with GOLDEN.open(encoding="utf-8", newline="") as _golden:
    ROWS = list(csv.DictReader(_golden))
CASES = [pytest.param(row, v, id=f"{row['case_id']}-v{v}") for row in ROWS for v in VERSIONS]
EXAMPLE_REQUESTS = sorted((EXAMPLES / "requests").glob("*.json"))


def example_request(path: Path) -> Request:
    return Request.model_validate(json.loads(path.read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def prices() -> PriceTable:
    return PriceTable.model_validate(yaml.safe_load((EXAMPLES / "prices.yaml").read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def routers() -> dict[str, Router]:
    return {
        v: load_router((EXAMPLES / f"acme_v{v}.yaml").read_text(encoding="utf-8"), f"acme_v{v}.yaml")
        for v in VERSIONS
    }


@pytest.fixture(scope="module")
def sql_decisions(routers: dict[str, Router], prices: PriceTable) -> dict[tuple[str, str], dict[str, Any]]:
    """(version, request_id) → the SQL engine's decision row, for every golden and example request."""
    requests = [golden_request(row) for row in ROWS] + [example_request(p) for p in EXAMPLE_REQUESTS]
    con = duckdb.connect()
    try:
        con.execute(TABLE_DDL)
        con.executemany(
            f"INSERT INTO requests VALUES ({', '.join('?' * (len(COLUMNS) + 1))})",
            [[getattr(r, c) for c in COLUMNS] + [r.attrs] for r in requests],
        )
        out: dict[tuple[str, str], dict[str, Any]] = {}
        for v, router in routers.items():
            cur = con.execute(compile_sql(router, prices, "requests"))
            names = [d[0] for d in cur.description]
            for values in cur.fetchall():
                row = dict(zip(names, values, strict=True))
                out[(v, row["request_id"])] = row
        return out
    finally:
        con.close()


def python_path(router: Router, request: Request, prices: PriceTable) -> dict[str, Any]:
    decision = route(router, request, prices, trace=False).model_dump(mode="json")
    return {key: decision[key] for key in CHECKED}


# ------------------------------------------------------------------------------------------------ (a)


@pytest.mark.parametrize("version", VERSIONS)
def test_example_loads(version: str) -> None:
    router = load_router(
        (EXAMPLES / f"acme_v{version}.yaml").read_text(encoding="utf-8"), f"acme_v{version}.yaml"
    )
    assert router.ref == f"acme-gateway@{version}"


def test_golden_table_covers_every_rule(routers: dict[str, Router]) -> None:
    for v, router in routers.items():
        rule_ids = {cr.rule.id for cr in router.rules} | {"default"}
        assert rule_ids == {row[f"v{v}_rule"] for row in ROWS}, f"v{v}"


# ------------------------------------------------------------------------------------------------ (b)


@pytest.mark.parametrize(("row", "version"), CASES)
def test_golden_python_engine(
    row: dict[str, str], version: str, routers: dict[str, Router], prices: PriceTable
) -> None:
    assert python_path(routers[version], golden_request(row), prices) == expected(row, version)


@pytest.mark.parametrize(("row", "version"), CASES)
def test_golden_sql_engine(
    row: dict[str, str], version: str, sql_decisions: dict[Any, dict[str, Any]]
) -> None:
    decision = sql_decisions[(version, row["case_id"])]
    assert {key: decision[key] for key in CHECKED} == expected(row, version)


# ------------------------------------------------------------------------------------------------ (c)


def _decisions(router: Router, prices: PriceTable) -> list[tuple[dict[str, str], Any]]:
    return [(row, route(router, golden_request(row), prices)) for row in ROWS]


def test_v2_sends_refunds_and_disputes_to_a_small_model_without_retrieval(
    routers: dict[str, Router], prices: PriceTable
) -> None:
    """Flaw 1: some refund or dispute ticket gets a small model and no retrieval in v2; none in v1/v3."""

    def misrouted(v: str) -> set[str]:
        router = routers[v]
        return {
            row["case_id"]
            for row, d in _decisions(router, prices)
            if row["workflow"] == "support"
            and (
                row["task"] in ("refund", "billing_dispute")
                or d.trace.signals["intent"] in ("refund", "billing_dispute")
            )
            and d.model is not None
            and router.models[d.model].tier == "small"
            and d.retrieval is None
        }

    assert misrouted("2")
    assert misrouted("1") == set()
    assert misrouted("3") == set()


def test_v2_lets_confidential_sales_context_reach_an_external_model(
    routers: dict[str, Router], prices: PriceTable
) -> None:
    """Flaw 2: some confidential or PII-bearing sales request reaches an external model in v2; no sensitive
    request of any workflow does in v1 or v3."""

    def leaked(v: str) -> set[tuple[str | None, str]]:
        router = routers[v]
        return {
            (_cell(row["workflow"]), row["case_id"])
            for row, d in _decisions(router, prices)
            if (row["data_class"] == "confidential" or d.trace.signals["has_pii"])
            and d.model is not None
            and router.models[d.model].boundary != "private"
        }

    assert any(workflow == "sales" for workflow, _ in leaked("2"))
    assert leaked("1") == set()
    assert leaked("3") == set()


# ------------------------------------------------------------------------------------------------ (d)


@pytest.mark.parametrize("path", EXAMPLE_REQUESTS, ids=lambda p: p.stem)
@pytest.mark.parametrize("version", VERSIONS)
def test_example_request_routes(
    path: Path,
    version: str,
    routers: dict[str, Router],
    prices: PriceTable,
    sql_decisions: dict[Any, dict[str, Any]],
) -> None:
    request = example_request(path)
    router = routers[version]
    path_py = python_path(router, request, prices)
    assert path_py["model"] in router.models
    sql = sql_decisions[(version, request.request_id)]
    assert {key: sql[key] for key in CHECKED} == path_py
