"""How the store keeps decisions: each distinct path once, each decision as a row pointing at its path.

A decision's path columns (`sql.PATH_COLUMNS`: model, tier, retrieval, cache, escalation, fallbacks, action,
rule id, policy flags) take a few dozen distinct values per router version, while its request id and
estimates differ on every row. `decision_rows` holds the per-request columns and a `path_key`;
`decision_paths` holds each (router, path_key)'s path once; the view `decisions` joins them back into the
columns every reader uses (migration 11). Writing ten million decisions then costs a small integer per row
instead of nine strings and lists, which was most of a replay's time.

Two kinds of key share `decision_paths`, told apart by sign:

- the SQL engine's keys (>= 0) pack the path state (`sql.compile_packed_sql`); the paths of the keys a
  replay wrote are decoded in SQL (`sql.decode_paths_sql`) for the distinct keys only;
- decisions given with their path as text (the Python engine, Ray's Parquet, a router too large to pack)
  get a key < 0 from a hash of the path, and their path rows are copied as given. A hash shared by two
  different paths would stop the write with an error rather than mislabel decisions. (Were DuckDB's
  `hash` to change, a path would get a second key: another row in `decision_paths`, nothing wrong.)
"""

from __future__ import annotations

from typing import Any

from routelab.datasets.errors import DatasetError
from routelab.router_core.sql import PATH_COLUMNS, decode_paths_sql
from routelab.router_core.validate import Router

#: The columns of `decision_rows`, in order.
ROW_COLUMNS = (
    "router",
    "request_id",
    "run_id",
    "path_key",
    "context_tokens",
    "confidence",
    "est_cost_usd",
    "est_latency_ms",
)
_PATHS = ", ".join(PATH_COLUMNS)
#: The key of a path given as text: a hash of its columns, negative (the packed keys are not). The lists are
#: hashed as JSON: DuckDB's `hash` gives NULL, [] and [NULL] one value, and paths differing only there would
#: read as a collision.
TEXT_KEY = (
    "(-1 - CAST(hash("
    + ", ".join(f"to_json({c})" if c in ("fallbacks", "policy_flags") else c for c in PATH_COLUMNS)
    + ") >> 1 AS BIGINT))"
)


def _add_paths(cur: Any, new_paths: str, params: dict[str, Any]) -> None:
    """Insert the (router, path_key, PATH_COLUMNS) rows of `new_paths` that `decision_paths` lacks; a key
    already stored with another path is an error (nothing is written: the caller's transaction)."""
    cur.execute(f"CREATE OR REPLACE TEMP TABLE _new_paths AS {new_paths}", params)
    try:
        differ = " OR ".join(f"n.{c} IS DISTINCT FROM p.{c}" for c in PATH_COLUMNS)
        clash = cur.execute(
            "SELECT n.router, n.path_key FROM _new_paths n JOIN decision_paths p USING (router, path_key) "
            f"WHERE {differ} LIMIT 1"
        ).fetchone()
        if clash is not None:
            raise DatasetError(
                f"{clash[0]}: path key {clash[1]} already stands for another path; nothing was written "
                "(a hash collision: report it with the router's config)"
            )
        cur.execute(
            f"INSERT INTO decision_paths (router, path_key, {_PATHS}) "
            f"SELECT router, path_key, {_PATHS} FROM _new_paths "
            "ANTI JOIN decision_paths USING (router, path_key)"
        )
    finally:
        cur.execute("DROP TABLE IF EXISTS _new_paths")


def insert_text(cur: Any, source: str, params: dict[str, Any] | None = None) -> int:
    """Store decisions given with their path as text, in the caller's transaction; the rows written.

    `source` is a relation (table, view or parenthesised query; `params` are its named parameters) with the
    columns router, request_id, run_id, the decision's columns (`sql.DECISION_COLUMNS`). It is read twice:
    once for its distinct paths, once for the rows.
    """
    params = params or {}
    _add_paths(cur, f"SELECT DISTINCT router, {TEXT_KEY} AS path_key, {_PATHS} FROM {source}", params)
    cols = ", ".join(ROW_COLUMNS)
    select = ", ".join(TEXT_KEY if c == "path_key" else c for c in ROW_COLUMNS)
    row = cur.execute(f"INSERT INTO decision_rows ({cols}) SELECT {select} FROM {source}", params).fetchone()
    return int(row[0]) if row else 0


def insert_packed(cur: Any, router: Router, query: str, run_id: str) -> int:
    """Store the decisions of a `sql.compile_packed_sql` query as run `run_id`, in the caller's
    transaction, then the paths of the keys it wrote; the rows written."""
    cols = ", ".join(ROW_COLUMNS)
    select = ", ".join("$run_id AS run_id" if c == "run_id" else c for c in ROW_COLUMNS)
    row = cur.execute(
        f"INSERT INTO decision_rows ({cols}) SELECT {select} FROM ({query})", {"run_id": run_id}
    ).fetchone()
    keys = "(SELECT DISTINCT path_key FROM decision_rows WHERE run_id = $run_id)"
    _add_paths(
        cur,
        f"SELECT $router AS router, * FROM ({decode_paths_sql(router, keys)})",
        {"run_id": run_id, "router": router.config.ref},
    )
    return int(row[0]) if row else 0


def delete(
    cur: Any, ref: str, requests_from: str | None = None, params: dict[str, Any] | None = None
) -> None:
    """Delete the decisions of version `ref` in the caller's transaction: all of them, or those of the
    request ids of ``SELECT request_id FROM <requests_from>`` (e.g. ``requests WHERE ...`` or
    ``read_parquet($files)``, with its named `params`). Their path rows stay: they are few, and the next
    replay of the version writes most of them again."""
    where = "" if requests_from is None else f" AND request_id IN (SELECT request_id FROM {requests_from})"
    cur.execute(f"DELETE FROM decision_rows WHERE router = $ref{where}", {"ref": ref, **(params or {})})
