"""The signal cache: per request, the values of a router's query that depend only on its prompt, kept in
columns of `requests` itself.

Regexes over 1.8 kB prompts are about 70 % of a replay, and each text signal's value depends only on the
request's text and the signal's definition; router versions share most signals. So, as `pii_cache` does for
the PII detector, each value is computed once per request and kept:

- **What.** `router_core.sql_cache.cached_values`: the value of every text signal reading the prompt (the
  index of the label that matched, 0 for none; 1/0 for PII) and the token estimate used when
  `prompt_tokens` is missing. Length signals and signals over short fields stay in the query: reading them
  back would cost more than computing them.
- **Where.** One INTEGER column of `requests` per value, named `cached_<key>` (`column`), NULL until
  computed. The key is a short hash of the exact SQL expression computing the value, so editing a signal's
  phrases or patterns gives a new key, hence a new column, and stale values are never read (nobody has to
  clear anything). A replay then reads its values with the request's other fields: no join, no pivot
  (migration 10 replaced the long `request_signals` table, whose pivot and join were a third of a warm
  replay). The columns are added when a version first needs them (``ALTER TABLE ... ADD COLUMN``), so
  there are as many as distinct text-signal definitions among the versions replayed; writers name the
  columns they insert (`tables.write`), so the extra ones are left NULL.
- **Fill.** `fill` computes, in the caller's transaction, the values the selected requests lack (one
  ``UPDATE ... FROM`` over just those requests); counting the NULLs of a few INTEGER columns first makes a
  warm cache cost one short scan.
- **Read.** `source` is the selected requests with their cached values, the relation
  `compile_sql(..., cache=...)` reads instead of the prompt.
- **Invalidation.** Whatever rewrites a prompt or attrs sets the request's values back to NULL in its own
  transaction (`forget`): `purge`; the importers' ``--on-conflict replace`` writes a new row, NULL anyway.
- **Read-only stores.** `relation` uses the values there are and computes the missing ones in the query,
  without storing them.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from routelab.datasets.store import Store
from routelab.router_core.sql import REQUEST_COLUMNS, cached_values_sql
from routelab.router_core.sql_cache import TOKEN_ESTIMATE, CacheColumns, CachedValue, cached_values
from routelab.router_core.sql_expr import ident
from routelab.router_core.validate import Router

REQUEST_FIELDS = [name for name, _ in REQUEST_COLUMNS]
#: Prefix of the cache's columns in `requests` (then the value's key: 16 hex digits).
COLUMN_PREFIX = "cached_"


@dataclass(frozen=True)
class CachedRelation:
    """The relation a router's query reads: the selected requests with their cached values."""

    source: str
    """A parenthesised subquery with `REQUEST_COLUMNS` and one column per cached value."""
    cache: CacheColumns | None
    """The columns holding the cached values, for `compile_sql(..., cache=...)` (None: nothing cached)."""
    computed: int
    """(request, value) pairs this call computed: stored when `stored`, else computed again by the query."""
    stored: bool
    """Whether the computed values were written to `requests` (False on a read-only store)."""


def column(value: CachedValue) -> str:
    """The column of `requests` holding `value`."""
    return COLUMN_PREFIX + value.key


def _alias(i: int) -> str:
    return f"_sc_{i}"


def columns(cur: Any) -> set[str]:
    """The cache's columns that `requests` has now (as the caller's transaction sees it)."""
    rows = cur.execute(
        "SELECT column_name FROM duckdb_columns() WHERE database_name = current_database() "
        "AND schema_name = 'main' AND table_name = 'requests' AND starts_with(column_name, ?)",
        [COLUMN_PREFIX],
    ).fetchall()
    return {str(r[0]) for r in rows}


def source(
    values: Sequence[CachedValue],
    pred: str = "TRUE",
    complete: bool = True,
    tokens_complete: bool = False,
    present: Collection[str] | None = None,
) -> CachedRelation:
    """The requests selected by `pred` with their cached `values`, as `compile_sql` reads them.

    Args:
        values: Cached values of the router (`cached_values`, or `needed`).
        pred: A SQL predicate on `requests` (`replay.request_filter`).
        complete: True when every selected request has every value (after `fill`): the prompt is then never
            read. False: a NULL value is missing and the query computes it.
        tokens_complete: Every selected request has `prompt_tokens` (`needed` checked): the token estimate
            is then never used, and a NULL column stands in for it when `values` leaves it out, so the
            query does not read the prompt for it.
        present: The cache columns `requests` has (`columns`); None: all of `values`' (after `fill`). A
            value without its column reads as NULL (pass `complete=False` then).

    Insert or select the compiled query's rows; do not group them in the same statement: DuckDB 2.0's
    partial aggregate pushdown substitutes the query's layered expressions into each other, which grows
    without bound (filters and ``count(*)`` are fine).
    """
    cols = [ident(c) for c in REQUEST_FIELDS]
    for i, v in enumerate(values):
        has = present is None or column(v) in present
        cols.append(f"{ident(column(v)) if has else 'CAST(NULL AS INTEGER)'} AS {_alias(i)}")
    aliases = {v.name: _alias(i) for i, v in enumerate(values)}
    if tokens_complete and TOKEN_ESTIMATE not in aliases:
        cols.append(f"CAST(NULL AS INTEGER) AS {_alias(len(values))}")
        aliases[TOKEN_ESTIMATE] = _alias(len(values))
    sql = f"(SELECT {', '.join(cols)} FROM requests WHERE {pred})"
    return CachedRelation(sql, CacheColumns(columns=aliases, complete=complete), 0, True)


def missing(
    cur: Any, values: Sequence[CachedValue], pred: str = "TRUE", present: Collection[str] | None = None
) -> dict[str, int]:
    """Per value name, how many requests selected by `pred` lack it (one scan of the cache's columns)."""
    if not values:
        return {}
    present = columns(cur) if present is None else present
    counts = [
        f"count(*) FILTER (WHERE {ident(column(v))} IS NULL)" if column(v) in present else "count(*)"
        for v in values
    ]
    row = cur.execute(f"SELECT {', '.join(counts)} FROM requests WHERE {pred}").fetchone()
    return {v.name: int(n) for v, n in zip(values, row or [0] * len(values), strict=True)}


def tokens_complete(cur: Any, pred: str = "TRUE") -> bool:
    """Whether every request selected by `pred` has `prompt_tokens` (then the token estimate is never used).

    DuckDB answers from the column's statistics when no request lacks it, without scanning.
    """
    row = cur.execute(f"SELECT count(*) FROM requests WHERE ({pred}) AND prompt_tokens IS NULL").fetchone()
    return bool(row) and int(row[0]) == 0


def needed(router: Router, tokens_complete: bool) -> list[CachedValue]:
    """The cached values a query of `router` reads: all of them, but the token estimate when every request
    has `prompt_tokens`."""
    values = list(cached_values(router))
    return [v for v in values if v.name != TOKEN_ESTIMATE] if tokens_complete else values


def fill(cur: Any, router: Router, values: Sequence[CachedValue], pred: str = "TRUE") -> int:
    """Store the `values` of `router` that the requests selected by `pred` lack, in the caller's transaction.

    Adds the columns of values no replay needed before, then computes the missing values of just the
    requests that lack one (``UPDATE ... FROM`` the router's `cached_values_sql`).

    Args:
        cur: The cursor of the caller's transaction.
        router: The router version the values belong to.
        values: Some of its cached values (`needed`, or `cached_values`).
        pred: A SQL predicate on `requests` (`replay.request_filter`).

    Returns:
        The (request, value) pairs computed.
    """
    values = list(values)
    if not values:
        return 0
    present = columns(cur)
    for v in values:
        if column(v) not in present:
            cur.execute(f"ALTER TABLE requests ADD COLUMN {ident(column(v))} INTEGER")
    lacking = missing(cur, values, pred, present={column(v) for v in values})
    todo = [v for v in values if lacking[v.name]]
    if not todo:
        return 0
    nulls = " OR ".join(f"{ident(column(v))} IS NULL" for v in todo)
    selected = f"(SELECT {', '.join(REQUEST_FIELDS)} FROM requests WHERE ({pred}) AND ({nulls}))"
    computed = cached_values_sql(router, [v.name for v in todo], selected)
    # a request may lack some of the values only: the ones it has are kept (they are the same anyway)
    sets = ", ".join(
        f"{ident(column(v))} = coalesce(requests.{ident(column(v))}, x.{ident(v.name)})" for v in todo
    )
    cur.execute(f"UPDATE requests SET {sets} FROM ({computed}) x WHERE requests.request_id = x.request_id")
    return sum(lacking[v.name] for v in todo)


def relation(store: Store, router: Router, pred: str = "TRUE") -> CachedRelation:
    """The relation `compile_sql` should read for `router` over the requests selected by `pred`.

    A writable store fills the missing values first (in a transaction of its own); a read-only store uses
    the values there are and the query computes the rest, storing nothing.

    Raises:
        StoreError: a query failed.
    """
    complete_tokens = tokens_complete(store.cursor(), pred)
    values = needed(router, complete_tokens)
    if store.read_only:
        present = columns(store.cursor())
        lacking = sum(missing(store.cursor(), values, pred, present).values())
        out = source(values, pred, not lacking, complete_tokens, present)
        return CachedRelation(out.source, out.cache, lacking, stored=False)
    with store.transaction() as cur:
        computed = fill(cur, router, values, pred)
    out = source(values, pred, tokens_complete=complete_tokens)
    return CachedRelation(out.source, out.cache, computed, stored=True)


def forget(cur: Any, request_ids: Iterable[str]) -> None:
    """Set the cached values of requests whose prompt or attrs changed back to NULL, inside the caller's
    transaction.

    Args:
        cur: The cursor of the transaction that changes the requests.
        request_ids: The requests that were (or may have been) rewritten.
    """
    present = sorted(columns(cur))
    ids = pd.DataFrame({"request_id": pd.Series(list(request_ids), dtype=object)})
    if ids.empty or not present:
        return
    cur.register("_signals_forget", ids)
    try:
        cur.execute(
            f"UPDATE requests SET {', '.join(f'{ident(c)} = NULL' for c in present)} "
            "WHERE request_id IN (SELECT request_id FROM _signals_forget)"
        )
    finally:
        cur.unregister("_signals_forget")


def clear(cur: Any) -> None:
    """Drop every cached value (the cache's columns), inside the caller's transaction: a cold start."""
    for name in sorted(columns(cur)):
        cur.execute(f"ALTER TABLE requests DROP COLUMN {ident(name)}")


def stored_values(cur: Any) -> int:
    """How many (request, value) pairs the cache holds."""
    present = sorted(columns(cur))
    if not present:
        return 0
    row = cur.execute(f"SELECT {' + '.join(f'count({ident(c)})' for c in present)} FROM requests").fetchone()
    return int(row[0]) if row else 0
