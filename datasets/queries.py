"""Queries returning the DataFrames the evaluators take, each checked for the columns it promises.

SQL is built by small pure functions (`select_sql`, `request_select`) returning a `Query`, and executed in
one place (`run`, through `Store.df`, whose errors carry the SQL and its parameters).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from routelab.datasets.errors import DatasetError, NotFoundError
from routelab.datasets.store import Store
from routelab.datasets.tables import TABLES
from routelab.router_core.sql import DECISION_COLUMNS as ENGINE_DECISION_COLUMNS

# the engines' decision columns, with `router` first as stored
DECISION_COLUMNS = ("router", *(c for c in ENGINE_DECISION_COLUMNS if c != "router"))
LABEL_COLUMNS = ("request_id", "source", "abstain", "acceptable", "note")
ANNOTATION_COLUMNS = (
    "annotation_id",
    "request_id",
    "router",
    "annotator",
    "kind",
    "verdict",
    "decision_path",
    "corrected",
    "acceptable",
    "reason_tags",
    "created_at",
)
OUTCOME_COLUMNS = (
    "request_id",
    "model",
    "kind",
    "eval_group",
    "quality",
    "quality_scale",
    "cost_usd",
    "latency_ms",
    "input_tokens",
    "output_tokens",
    "error",
    "fallback_model",
    "cache_hit",
    "propensity",
)
#: Columns of the `requests` table a caller may ask for (the prompt too, though evaluators rarely need it).
REQUEST_FIELDS = tuple(name for name, _ in TABLES["requests"][0] if name != "import_id")
MODEL_COLUMNS = ("model", "tier", "tier_rank", "input_per_token", "output_per_token")
OUTCOME_KINDS = ("full", "logged")
_ATTR_KEY = re.compile(r"[A-Za-z0-9_.\-]+")


@dataclass(frozen=True)
class Query:
    """One SQL statement with its parameters."""

    sql: str
    params: list[Any] = field(default_factory=list)


def select_sql(
    table: str, columns: Sequence[str], where: Sequence[str] = (), order_by: Sequence[str] = ()
) -> str:
    """`SELECT columns FROM table [WHERE a AND b] [ORDER BY ...]` from trusted (code-given) names."""
    sql = f"SELECT {', '.join(columns)} FROM {table}"
    if where:
        sql += " WHERE " + " AND ".join(where)
    if order_by:
        sql += " ORDER BY " + ", ".join(order_by)
    return sql


def request_select(columns: Sequence[str]) -> tuple[Query, list[str]]:
    """The query for request fields: table columns, `week` (reads ts) and `attrs.KEY` (a free-form attr).

    Returns:
        The query and the output column names (request_id first).

    Raises:
        DatasetError: an unknown field, naming the known ones.
    """
    exprs, params, names = ["request_id"], [], ["request_id"]
    for col in dict.fromkeys(columns):
        if col == "request_id":
            continue
        if col == "week":
            col = "ts"
        if col in REQUEST_FIELDS:
            if col not in names:
                exprs.append(col)
                names.append(col)
        elif col.startswith("attrs.") and _ATTR_KEY.fullmatch(col[len("attrs.") :]):
            exprs.append(f'map_extract(attrs, ?)[1] AS "{col}"')
            params.append(col[len("attrs.") :])
            names.append(col)
        else:
            raise DatasetError(
                f"requests have no field {col!r}; known: {', '.join(REQUEST_FIELDS)}, week, attrs.KEY"
            )
    return Query(select_sql("requests", exprs, order_by=["request_id"]), params), names


def run(store: Store, query: Query, columns: Sequence[str], what: str) -> pd.DataFrame:
    """Execute `query` and check that the frame has `columns`.

    Raises:
        StoreError: the query failed (the message carries the SQL and parameters).
        DatasetError: a promised column is missing (the store's schema is older than this code).
    """
    frame = store.df(query.sql, query.params)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DatasetError(
            f"{what}: the query returned no column(s) {', '.join(missing)}; is {store.path} migrated? "
            f"SQL: {query.sql}"
        )
    return frame


def decisions(store: Store, ref: str) -> pd.DataFrame:
    """The decisions of one router version (`name@version`), one row per request.

    Raises:
        NotFoundError: the version has no decisions (naming the versions that have some).
    """
    query = Query(select_sql("decisions", DECISION_COLUMNS, ["router = ?"], ["request_id"]), [ref])
    frame = run(store, query, DECISION_COLUMNS, f"decisions of {ref}")
    if frame.empty:
        known = [r[0] for r in store.execute("SELECT DISTINCT router FROM decisions ORDER BY 1").fetchall()]
        raise NotFoundError(
            f"no decisions of {ref} in {store.path}; replayed: {', '.join(known) or 'none'} "
            f"(run `routelab replay {ref}`)"
        )
    return frame


def labels(store: Store) -> pd.DataFrame:
    """Imported labels: request_id, source, abstain, acceptable (JSON text), note."""
    query = Query(select_sql("labels", LABEL_COLUMNS, order_by=["request_id"]))
    return run(store, query, LABEL_COLUMNS, "labels")


def annotations(store: Store, ref: str | None = None) -> pd.DataFrame:
    """Current annotations (latest per request, version and annotator; undone ones left out).

    Args:
        store: The store.
        ref: Only this router version's; None (what gold needs): every version's.
    """
    where, params = (["router = ?"], [ref]) if ref else ([], [])
    sql = select_sql("annotations_current", ANNOTATION_COLUMNS, where, ["request_id", "created_at"])
    return run(store, Query(sql, params), ANNOTATION_COLUMNS, "annotations")


def requests(store: Store, columns: Sequence[str] = ()) -> pd.DataFrame:
    """request_id and the asked fields of every request (`week` reads ts, `attrs.KEY` one attr).

    Raises:
        DatasetError: an unknown field.
    """
    query, names = request_select(columns)
    return run(store, query, names, "requests")


def outcomes(store: Store, kind: str = "full") -> pd.DataFrame:
    """Outcomes of one kind: `full` (every candidate model) or `logged` (the chosen path only).

    Raises:
        DatasetError: an unknown kind.
    """
    if kind not in OUTCOME_KINDS:
        raise DatasetError(f"outcome kind {kind!r} unknown; known: {', '.join(OUTCOME_KINDS)}")
    query = Query(select_sql("outcomes", OUTCOME_COLUMNS, ["kind = ?"], ["request_id", "model"]), [kind])
    return run(store, query, OUTCOME_COLUMNS, f"{kind} outcomes")


def models(store: Store, ref: str) -> pd.DataFrame:
    """The models of a version with tier, tier rank (0 = cheapest) and the prices its latest replay used.

    Prices come from the price table of the version's latest replay run (else the newest price table), with
    the config's `price:` overrides applied.

    Raises:
        NotFoundError: the version is not registered, or the store has no price table.
        PriceError: a model has no price.
    """
    from routelab.datasets import prices, routers
    from routelab.router_core.pricing import resolve_prices

    router = routers.get(store, ref)
    pid = store.scalar(
        "SELECT price_table_id FROM replay_runs WHERE router = ? ORDER BY finished_at DESC LIMIT 1", [ref]
    )
    _, table = prices.load_stored(store, pid)
    resolved = resolve_prices(router.models, table)
    frame = pd.DataFrame(
        [
            {
                "model": m,
                "tier": spec.tier,
                "tier_rank": router.tier_rank[spec.tier],
                "input_per_token": resolved[m].input_per_token,
                "output_per_token": resolved[m].output_per_token,
            }
            for m, spec in router.models.items()
        ],
        columns=list(MODEL_COLUMNS),
    )
    return frame


def attr_keys(store: Store, min_share: float = 0.0) -> list[str]:
    """The keys of the requests' free-form `attrs`, sorted, that at least `min_share` of requests carry."""
    sql = (
        "SELECT k FROM (SELECT unnest(map_keys(attrs)) AS k FROM requests) GROUP BY k "
        "HAVING count(*) >= ? * (SELECT count(*) FROM requests) ORDER BY k"
    )
    return [str(r[0]) for r in store.execute(sql, [min_share]).fetchall()]
