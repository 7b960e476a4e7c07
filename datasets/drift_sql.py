"""One version's decisions joined with gold, outcomes and request fields, and grouped, inside DuckDB.

`routelab drift` used to load every decision, request, label and outcome into pandas. Its measures only
need, per day, how many requests share each combination of the values they read (path, verdict, request
fields, confidence, outcomes), so this module joins the tables once and counts the distinct combinations
(`grouped_rows`); the evaluators (`evaluators.drift_grouped`) weigh each row by its count ``n``. The
compliance timeline's groups (`compliance_groups`) are counted the same way.

Memory: the grouped rows are bounded by the distinct combinations, but DuckDB's join hash tables grow with
the requests joined (about 0.4 KB each), so large versions are counted in passes over hash partitions of
the request id, and every query runs under `DRIFT_MEMORY_LIMIT`, beyond which DuckDB spills.

The caller (`app.drift_store`) registers the small tables only Python computes, as `paired_sql` names them
(``_pc_tuples``, ``_pc_shapes``, ``_pc_gold``, ``_pc_verdicts``): path codes of the distinct decided paths and
the verdicts per (gold shape, path code).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

from routelab.datasets.paired_sql import GOLD_SQL, INPUT_TABLES, PATH_COLUMNS, keys_sql
from routelab.datasets.queries import request_select
from routelab.datasets.store import Store, memory_limit

#: Decision and outcome columns of every grouped row (besides ``day``, the request fields and ``n``).
VALUE_COLUMNS = (
    "code",
    "ok",
    "confidence",
    "est_cost_usd",
    "est_latency_ms",
    "cost_usd",
    "latency_ms",
    "quality",
    "tokens",
    "error",
    "logged_cost_usd",
    "logged_latency_ms",
    "logged_quality",
    "logged_error",
    "logged_fallback",
    "logged_cache_hit",
)
#: How many request ids each group keeps (its smallest), for the alarms' examples.
EXAMPLE_IDS = 5
#: DuckDB's memory limit while drift joins and counts: beyond it the joins spill to disk.
DRIFT_MEMORY_LIMIT = "2GB"


def _partition(column: str, part: tuple[int, int] | None) -> str:
    """The condition keeping hash partition i of k of `column` (a request id), or TRUE without partitions.

    Every table of a pass is filtered by the same hash, so a request's decision, gold, outcomes and fields
    meet in the same pass (the same rule as `paired_sql`'s passes for compare).
    """
    if part is None:
        return "TRUE"
    i, k = part
    return f"hash({column}) % {int(k)} = {int(i)}"


def _rows_sql(fields: Sequence[str], part: tuple[int, int] | None = None) -> tuple[str, list[str]]:
    """The per-decision query (one row per decision of the version, parameters 1 and 2 the version) and its
    fields.

    Its columns: request_id, ``day`` (ts truncated to the day), `VALUE_COLUMNS` and the request `fields`.
    Outcome columns follow `evaluators.drift_frame`: the version's full outcome of the model it chose (tokens
    = input + output when positive; ``error`` whether an error is recorded), and the request's logged one.
    `part` (i, k) keeps the requests of hash partition i of k, in every table, so the joins' hash tables
    hold a k-th of the traffic.
    """
    query, names = request_select(["ts", *fields])
    inner = query.sql.removesuffix(" ORDER BY request_id")
    on = " AND ".join(f"k.{c} IS NOT DISTINCT FROM t.{c}" for c in PATH_COLUMNS)
    cols = [n for n in names if n != "request_id"]
    picked = ", ".join(f'r."{c}"' for c in cols)
    where, decided = _partition("request_id", part), _partition("d.request_id", part)
    sql = (
        # each distinct path key of the version matched to its code once, each decision by two integers
        "WITH m AS (SELECT k.path_key, k.context_tokens, k.model, t.code "
        f"FROM {keys_sql(1)} k JOIN _pc_tuples t ON {on}), "
        "d AS (SELECT d.request_id, m.model, m.code, d.confidence, d.est_cost_usd, d.est_latency_ms "
        "FROM decision_rows d JOIN m ON m.path_key = d.path_key "
        f"AND m.context_tokens IS NOT DISTINCT FROM d.context_tokens WHERE d.router = ? AND {decided}), "
        f"g AS (SELECT * FROM ({GOLD_SQL}) WHERE {where}), "
        "f AS (SELECT request_id, model, cost_usd, latency_ms, quality, "
        "CASE WHEN input_tokens + output_tokens > 0 THEN input_tokens + output_tokens END AS tokens, "
        f"error IS NOT NULL AS error FROM outcomes WHERE kind = 'full' AND {where}), "
        "l AS (SELECT request_id, cost_usd AS logged_cost_usd, latency_ms AS logged_latency_ms, "
        "quality AS logged_quality, error IS NOT NULL AS logged_error, "
        "fallback_model IS NOT NULL AS logged_fallback, cache_hit AS logged_cache_hit "
        f"FROM outcomes WHERE kind = 'logged' AND {where}) "
        "SELECT d.request_id, date_trunc('day', r.ts) AS day, d.code, coalesce(v.ok, -1) AS ok, "
        "d.confidence, d.est_cost_usd, d.est_latency_ms, f.cost_usd, f.latency_ms, f.quality, "
        "CAST(f.tokens AS DOUBLE) AS tokens, f.error, l.logged_cost_usd, l.logged_latency_ms, "
        "l.logged_quality, l.logged_error, l.logged_fallback, l.logged_cache_hit"
        f"{', ' + picked if picked else ''} "
        "FROM d LEFT JOIN g ON g.request_id = d.request_id "
        "LEFT JOIN _pc_verdicts v ON v.shape = coalesce(g.shape, -1) AND v.code = d.code "
        "LEFT JOIN f ON f.request_id = d.request_id AND f.model = d.model "
        "LEFT JOIN l ON l.request_id = d.request_id "
        f"LEFT JOIN (SELECT * FROM ({inner}) WHERE {where}) r ON r.request_id = d.request_id"
    )
    return sql, [c for c in cols if c != "ts"]


def _count_groups(
    store: Store,
    source: Callable[[tuple[int, int] | None], str],
    keys: str,
    params: Sequence[Any],
    partitions: int,
    inputs: Sequence[pd.DataFrame] = (),
) -> pd.DataFrame:
    """``SELECT keys, n, ids`` over the rows of `source` (a query of one hash partition, or of all rows).

    With `partitions` k > 1 the rows are counted in k passes, one per partition, into a temporary table whose
    groups are then merged: counts added, the `EXAMPLE_IDS` smallest ids kept. DuckDB runs under
    `DRIFT_MEMORY_LIMIT` (`store.memory_limit`), as compare and replay do under theirs. `inputs` are
    registered under `INPUT_TABLES`' names.
    """
    k = max(int(partitions), 1)
    cur = store.cursor()
    cur.execute("SELECT 1").fetchall()  # a half-read result would make DuckDB refuse `register`
    for name, frame in zip(INPUT_TABLES, inputs, strict=False):
        cur.register(name, frame)
    table = f"_dr_groups_{uuid.uuid4().hex}"
    try:
        with memory_limit(cur, DRIFT_MEMORY_LIMIT):  # joins spill beyond it rather than grow with traffic
            return _passes(cur, source, keys, list(params), k, table)
    finally:
        cur.execute(f"DROP TABLE IF EXISTS {table}")
        for name in INPUT_TABLES[: len(inputs)]:
            cur.unregister(name)


def _passes(
    cur: Any,
    source: Callable[[tuple[int, int] | None], str],
    keys: str,
    params: list[Any],
    k: int,
    table: str,
) -> pd.DataFrame:
    """`_count_groups`' queries: one over all rows, or one per partition into `table`, then the merge."""
    count = f"count(*) AS n, min(request_id, {EXAMPLE_IDS}) AS ids"
    if k == 1:
        sql = f"SELECT {keys}, {count} FROM ({source(None)}) GROUP BY {keys} ORDER BY {keys} NULLS LAST"
        return cur.execute(sql, params).df()
    for i in range(k):
        verb = f"CREATE TEMP TABLE {table} AS" if i == 0 else f"INSERT INTO {table}"
        cur.execute(f"{verb} SELECT {keys}, {count} FROM ({source((i, k))}) GROUP BY {keys}", params)
    merged = f"sum(n)::BIGINT AS n, list_slice(list_sort(flatten(list(ids))), 1, {EXAMPLE_IDS}) AS ids"
    return cur.execute(
        f"SELECT {keys}, {merged} FROM {table} GROUP BY {keys} ORDER BY {keys} NULLS LAST"
    ).df()


def grouped_rows(
    store: Store,
    ref: str,
    inputs: Sequence[pd.DataFrame],
    fields: Sequence[str],
    partitions: int = 1,
) -> pd.DataFrame:
    """The version's decisions grouped by day, `VALUE_COLUMNS` and the request `fields`, with counts.

    One row per distinct combination: ``day`` (NaT for a request without a timestamp), the columns, ``n``
    (its decisions) and ``ids`` (its `EXAMPLE_IDS` smallest request ids). `inputs` are `paired_sql`'s
    registered tables in `INPUT_TABLES` order, registered for the query only. The joined rows are never
    materialised: DuckDB streams them into the aggregate. The joins' hash tables grow with the traffic, so
    with `partitions` k > 1 the requests are grouped in k passes over hash partitions of request_id (a k-th
    of the memory, k scans) and the passes' groups are merged.

    Raises:
        DatasetError: an unknown request field (from `queries.request_select`).
    """
    names = _rows_sql(fields)[1]
    keys = ", ".join(["day", *VALUE_COLUMNS, *(f'"{c}"' for c in names)])
    params = [ref, ref, *_params(fields)]  # the version's path keys, then its decisions
    return _count_groups(store, lambda part: _rows_sql(fields, part)[0], keys, params, partitions, inputs)


def _params(fields: Sequence[str]) -> list[Any]:
    return list(request_select(["ts", *fields])[0].params)


def attr_value_counts(store: Store, attrs: Sequence[str]) -> pd.DataFrame:
    """Each distinct value of each `attrs.KEY` field over every request (NULL included), with its count.

    Columns: ``field``, ``value`` (text), ``n``; what `app.workflows._numeric_attrs` decides from.
    """
    parts, params = [], []
    for field in attrs:
        parts.append(
            "SELECT ? AS field, map_extract(attrs, ?)[1] AS value, count(*) AS n FROM requests GROUP BY 2"
        )
        params += [field, field.removeprefix("attrs.")]
    if not parts:
        return pd.DataFrame({"field": [], "value": [], "n": []})
    return store.df(" UNION ALL ".join(parts), params)


#: Request columns the compliance flags read, as `paired_sql.COMPLIANCE_REQUEST_COLUMNS` names them.
COMPLIANCE_REQUEST_FIELDS = ("data_class", "region", "attrs.pii_types")
#: Decision columns the compliance flags read.
COMPLIANCE_DECISION_FIELDS = ("model", "action", "escalation", "fallbacks")


def compliance_groups(
    store: Store, ref: str, pii: tuple[str, list[Any]], partitions: int = 1
) -> pd.DataFrame:
    """The version's decisions grouped by day and everything the compliance flags read, with counts.

    Columns: ``day``, `COMPLIANCE_REQUEST_FIELDS`, ``pii_types`` (from the PII cache query `pii`),
    `COMPLIANCE_DECISION_FIELDS`, ``n`` and ``ids`` (the `EXAMPLE_IDS` smallest request ids). Decisions whose
    request is not stored are left out, as the flags leave them out (their data class is unknown).
    `partitions` as in `grouped_rows`.
    """
    query, _names = request_select(["ts", *COMPLIANCE_REQUEST_FIELDS])
    inner = query.sql.removesuffix(" ORDER BY request_id")
    decided = ", ".join(f"d.{c}" for c in COMPLIANCE_DECISION_FIELDS)
    keys = 'day, data_class, region, "attrs.pii_types", pii_types, ' + ", ".join(COMPLIANCE_DECISION_FIELDS)

    def source(part: tuple[int, int] | None) -> str:
        return (
            "SELECT d.request_id, date_trunc('day', r.ts) AS day, r.data_class, r.region, "
            f'r."attrs.pii_types", x.pii_types, {decided} FROM decisions d '
            f"JOIN (SELECT * FROM ({inner}) WHERE {_partition('request_id', part)}) r "
            "ON r.request_id = d.request_id "
            f"LEFT JOIN (SELECT * FROM ({pii[0]}) WHERE {_partition('request_id', part)}) x "
            f"ON x.request_id = d.request_id WHERE d.router = ? AND {_partition('d.request_id', part)}"
        )

    return _count_groups(store, source, keys, [*query.params, *pii[1], ref], partitions)
