"""SQL is built only with parameters or the rule compiler's quoting: hostile values stay data.

- Config values that reach the compiled SQL (tier, boundary and region names, keyword phrases and labels,
  regex labels and patterns, string literals in conditions, ids with `--` and `/`) are compiled by
  `router_core.sql.compile_sql` and run on DuckDB next to a canary table: the canary and the requests
  survive, the SQL engine decides exactly as the Python engine, and each hostile literal matches exactly
  the request that carries it.
- Hostile `--where` conditions for `routelab replay` and hostile field names for `eval --by`,
  `compare --by` and `drift --slice/--feature` are refused with exit 2 and an unchanged store; a hostile
  string *inside* a valid condition is just a string.
"""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from hypothesis import HealthCheck, assume, given, note, settings
from hypothesis import strategies as st

from routelab.datasets import replay, routers
from routelab.datasets.store import open_store
from routelab.datasets.workspace import example_config
from routelab.router_core.config import RouterConfig
from routelab.router_core.engine import route
from routelab.router_core.pricing import PriceTable
from routelab.router_core.request import Request
from routelab.router_core.sql import DECISION_COLUMNS, REQUEST_COLUMNS, compile_sql
from routelab.router_core.validate import Router, check

from .helpers import assert_refused, fingerprint, run_cli

#: Hostile strings for config values (NUL cannot be a rule-language literal; it is tested as data below).
HOSTILE = [
    "'",
    "''",
    '"',
    "\\",
    "\\'",
    "'; DROP TABLE canary; --",
    "'); DROP TABLE canary; SELECT ('",
    "$$",
    "$tag$; DROP TABLE canary; $tag$",
    "--",
    "/*",
    "*/",
    ";",
    "%",
    "_",
    "?",
    "$1",
    "\u2028",
    "İ",
    "😀",
]
PRICES = PriceTable.from_mapping({"m--priv": (1e-6, 2e-6), "m/--ext": (3e-6, 6e-6)}, source="test")
_REGEX_ESCAPE = {c: "\\" + c for c in ".+()*?[]$"}


def rule_string(text: str) -> str:
    """A rule-language string literal for `text`."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def regex_literal(text: str) -> str | None:
    """A portable regex matching `text` literally, or None when it holds a character we do not escape."""
    if any(c in text for c in "\\^{}|\u2028"):
        return None
    return "".join(_REGEX_ESCAPE.get(c, c) for c in text)


def hostile_router(h: str) -> Router:
    """A router whose every free-text value that reaches SQL carries `h`."""
    pattern = regex_literal(h)
    signals: list[dict[str, Any]] = [
        {
            "kind": "keywords",
            "name": "kw",
            "labels": [
                {"label": f"lab{h}", "phrases": [f"ph{h}ph"]},
                {"label": "plain", "phrases": ["refund"]},
            ],
        },
    ]
    rules: list[dict[str, Any]] = [
        {"id": "r--kw", "when": f"kw == {rule_string('lab' + h)}", "route": {"model": "m/--ext"}},
        {
            "id": "r--field",
            "when": f"workflow == {rule_string(h)} or attrs.k == {rule_string(h)}",
            "route": {"model": "m--priv", "retrieval": "ix--1", "escalation": "model:m/--ext"},
        },
        {"id": "r--region", "when": f"region == {rule_string('eu' + h)}", "route": {"model": "m--priv"}},
    ]
    if pattern is not None:
        signals.append(
            {"kind": "regex", "name": "rx", "labels": [{"label": f"rl{h}", "pattern": f"rx{pattern}rx"}]}
        )
        rules.insert(
            0, {"id": "r--rx", "when": f"rx == {rule_string('rl' + h)}", "route": {"model": "m--priv"}}
        )
    latency = {"p50_ms": 100, "p95_ms": 200, "output_tokens_per_s": 50}
    config = {
        "name": "hostile",
        "version": "1",
        "tiers": [f"small{h}", f"large{h}"],
        "models": [
            {"id": "m--priv", "tier": f"large{h}", "boundary": f"private{h}", "regions": [f"eu{h}", "us"],
             "context_window": 100_000, "latency": latency},
            {"id": "m/--ext", "tier": f"small{h}", "boundary": f"ext{h}", "regions": ["us"],
             "context_window": 100_000, "latency": latency},
        ],
        "indexes": [{"id": "ix--1", "latency_ms": 10, "cost_per_query": 0.001}],
        "signals": signals,
        "rules": rules,
        "default": {"route": {"model": "m/--ext"}},
        "policies": [
            {"kind": "privacy", "id": "p--priv", "when": f"data_class == {rule_string(h)}",
             "allowed_boundaries": [f"private{h}"]},
            {"kind": "region", "id": "p--region"},
        ],
    }  # fmt: skip
    router, problems = check(RouterConfig.model_validate(config))
    assert router is not None, [str(p) for p in problems]
    return router


def hostile_requests(h: str) -> list[Request]:
    """One request per place the hostile string can sit, plus a bystander."""
    base: dict[str, Any] = {"region": "us", "prompt": "hello", "attrs": {}}
    rows: list[dict[str, Any]] = [
        {"request_id": "phrase", "prompt": f"say ph{h}ph please"},
        {"request_id": "regex", "prompt": f"x rx{h}rx y"},
        {"request_id": "workflow", "workflow": h},
        {"request_id": "attr", "attrs": {"k": h, h or "empty": h}},
        {"request_id": "region", "region": f"eu{h}"},
        {"request_id": "class", "data_class": h},
        {"request_id": f"id{h}", "team": h, "task": h},
        {"request_id": "bystander", "workflow": "support", "prompt": "refund please"},
    ]
    return [Request.model_validate({**base, **row}) for row in rows]


@pytest.fixture(scope="module")
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect(":memory:")
    yield connection
    connection.close()


def same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(a, list | tuple) or isinstance(b, list | tuple):
        return list(a) == list(b)
    return bool(a == b)


def decide_both(con: duckdb.DuckDBPyConnection, router: Router, requests: list[Request]) -> dict[str, Any]:
    """Run the compiled SQL next to a canary; check the canary, the requests and engine agreement."""
    con.execute("CREATE OR REPLACE TABLE canary AS SELECT 42 AS x")
    cols = ", ".join(f"{name} {kind}" for name, kind in REQUEST_COLUMNS)
    con.execute(f"CREATE OR REPLACE TABLE requests ({cols})")
    rows = [[getattr(r, name) for name, _ in REQUEST_COLUMNS] for r in requests]
    con.executemany(f"INSERT INTO requests VALUES ({', '.join('?' for _ in REQUEST_COLUMNS)})", rows)
    sql = compile_sql(router, PRICES, "requests")
    cursor = con.execute(sql + "\nORDER BY request_id")
    names = [d[0] for d in cursor.description]
    by_id = {row[0]: dict(zip(names, row, strict=True)) for row in cursor.fetchall()}
    assert con.execute("SELECT x FROM canary").fetchall() == [(42,)]
    assert con.execute("SELECT count(*) FROM requests").fetchone() == (len(requests),)
    assert set(by_id) == {r.request_id for r in requests}
    for request in requests:
        py = route(router, request, PRICES, trace=False).model_dump(mode="json", exclude={"trace"})
        got = by_id[request.request_id]
        diffs = {k: (py[k], got[k]) for k in DECISION_COLUMNS if not same(py[k], got[k])}
        assert not diffs, f"{request.request_id!r}: python vs sql differ on {diffs}"
    return by_id


def check_matches(h: str, by_id: dict[str, Any]) -> None:
    """Each hostile literal matched exactly its own request."""
    assert by_id["phrase"]["rule_id"] == "r--kw"
    assert by_id["workflow"]["rule_id"] == "r--field"
    assert by_id["attr"]["rule_id"] == "r--field"
    assert by_id["region"]["rule_id"] == "r--region"
    if regex_literal(h) is not None:
        assert by_id["regex"]["rule_id"] == "r--rx"
    assert by_id["class"]["model"] == "m--priv"  # the privacy policy (condition on the hostile class) held
    assert by_id["class"]["tier"] == f"large{h}"
    assert by_id["bystander"]["rule_id"] == "default"
    assert by_id["bystander"]["tier"] == f"small{h}"


@pytest.mark.parametrize("h", HOSTILE, ids=repr)
def test_hostile_config_values_stay_literals(con: duckdb.DuckDBPyConnection, h: str) -> None:
    check_matches(h, decide_both(con, hostile_router(h), hostile_requests(h)))


@settings(max_examples=50, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(h=st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=12))
def test_random_config_values_stay_literals(con: duckdb.DuckDBPyConnection, h: str) -> None:
    # the bystander's own workflow and region: a rule on those values rightly matches it too
    assume(h not in ("support", "us"))
    note(repr(h))
    check_matches(h, decide_both(con, hostile_router(h), hostile_requests(h)))


def test_nul_in_request_data_is_data(con: duckdb.DuckDBPyConnection) -> None:
    requests = [
        Request.model_validate(
            {
                "request_id": f"nul{i}",
                "workflow": "a\x00b",
                "prompt": "ph\x00ph refund",
                "attrs": {"k": "\x00"},
            }
        )
        for i in range(3)
    ]
    decide_both(con, hostile_router("x"), requests)


def test_nul_in_a_config_literal_is_refused_not_compiled() -> None:
    with pytest.raises(AssertionError, match="NUL"):
        hostile_router("a\x00b")


# --- the CLI: --where, --by, --slice ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def two_versions(template_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The template store plus acme v2 replayed (so compare has two versions)."""
    path = tmp_path_factory.mktemp("sql") / "two.duckdb"
    shutil.copy(template_db, path)
    with open_store(path) as store:
        replay.replay(store, routers.add(store, example_config("acme_v2.yaml"), source="v2").ref)
    return path


@pytest.fixture
def db(two_versions: Path, tmp_path: Path) -> Path:
    path = tmp_path / "copy.duckdb"
    shutil.copy(two_versions, path)
    return path


REFUSED_WHERE = [
    'workflow == "support"; DROP TABLE requests; --',
    "1=1) OR (1=1",
    "workflow = 'x' OR 1=1 --",
    '__import__("os").system("true")',
    'workflow == "a" -- comment',
    "$$ DROP TABLE requests $$",
    "request_id IN (SELECT request_id FROM requests)",
    'workflow == "a\x00b"',
    "true; DELETE FROM requests",
    'workflow == "unterminated',
    "workflow.__class__ == 1",
    "x" * 100_000,
]


@pytest.mark.parametrize("where", REFUSED_WHERE, ids=lambda w: repr(w[:40]))
def test_hostile_where_is_refused(capsys: pytest.CaptureFixture[str], db: Path, where: str) -> None:
    before = fingerprint(db)
    run = run_cli(capsys, "replay", "acme-gateway@1", "--where", where, "--db", str(db))
    assert_refused(run, "--where")
    assert fingerprint(db) == before


ACCEPTED_WHERE = [
    'workflow == "\'; DROP TABLE requests; --"',
    'workflow == "\\"; DROP TABLE requests; --"',
    'attrs.x == "$$; DROP TABLE requests; $$"',
    'team == "--" or task == "/*"',
    "attrs['x'] == 1",
]


@pytest.mark.parametrize("where", ACCEPTED_WHERE, ids=repr)
def test_hostile_strings_inside_a_where_are_strings(
    capsys: pytest.CaptureFixture[str], db: Path, where: str
) -> None:
    before = fingerprint(db)
    run = run_cli(capsys, "replay", "acme-gateway@1", "--where", where, "--db", str(db), "--json")
    assert run.code == 0, run.err
    assert json.loads(run.out)["n_decisions"] == 0
    after = fingerprint(db)
    for table in ("requests", "router_versions", "annotations", "labels", "prices"):
        assert after[table] == before[table], table


HOSTILE_FIELDS = [
    "workflow; DROP TABLE requests",
    "attrs.x') ; DROP TABLE requests; --",
    'attrs."x"',
    "week' OR '1'='1",
    "team--",
    "attrs.",
    "attrs.a b",
    '"workflow"',
    "region\x00",
    "attrs.k\u2028",
    "$$",
]


@pytest.mark.parametrize("field", HOSTILE_FIELDS, ids=repr)
@pytest.mark.parametrize(
    "command",
    [
        ("eval", "acme-gateway@1", "--by"),
        ("compare", "acme-gateway@1", "acme-gateway@2", "--by"),
        ("drift", "acme-gateway@1", "--slice"),
        ("drift", "acme-gateway@1", "--feature"),
        ("compliance", "acme-gateway@1", "--slice"),
    ],
    ids=["eval-by", "compare-by", "drift-slice", "drift-feature", "compliance-slice"],
)
def test_hostile_field_names_are_refused(
    capsys: pytest.CaptureFixture[str], db: Path, command: tuple[str, ...], field: str
) -> None:
    before = fingerprint(db)
    run = run_cli(capsys, *command, field, "--db", str(db))
    assert run.code == 2, run.err
    lines = [line for line in run.err.rstrip("\n").split("\n") if line != "measuring drift …"]
    assert all(line.startswith("routelab: error: ") for line in lines), run.err
    assert "Traceback" not in run.err
    assert "field" in run.err
    assert fingerprint(db) == before


def test_an_odd_but_valid_attr_key_is_a_parameter(capsys: pytest.CaptureFixture[str], db: Path) -> None:
    before = fingerprint(db)
    run = run_cli(capsys, "eval", "acme-gateway@1", "--by", "attrs.a--b", "--db", str(db), "--json")
    assert run.code == 0, run.err
    assert "attrs.a--b" in json.loads(run.out)["params"]["by"]
    assert fingerprint(db)["requests"] == before["requests"]
