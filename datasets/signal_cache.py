"""The signal cache: per request, the values of a router's query that depend only on its prompt, in
`request_signals`.

Regexes over 1.8 kB prompts are about 70 % of a replay, and each text signal's value depends only on the
request's text and the signal's definition; router versions share most signals. So, as `pii_cache` does for
the PII detector, each value is computed once per request and kept:

- **What.** `router_core.sql_cache.cached_values`: the value of every text signal reading the prompt (the
  index of the label that matched, 0 for none; 1/0 for PII) and the token estimate used when
  `prompt_tokens` is missing. Length signals and signals over short fields stay in the query: reading them
  back would cost more than computing them.
- **Key.** One row per (``request_id``, ``signal_key``): the key is a short hash of the exact SQL expression
  computing the value, so editing a signal's phrases or patterns gives a new key and stale rows are never
  read (nobody has to clear anything). Rows of a key no version computes any more stay, unread.
- **Fill.** `fill` inserts the missing rows with one ``INSERT ... SELECT`` (an anti-join on request and key)
  inside the caller's transaction: a replay fills and reads in its own transaction. It first compares each
  key's row count with the number of requests, so a warm cache costs one scan of two short columns.
- **Read.** `source` is the selected requests joined with their cached values (one aggregate turns the rows
  into columns), the relation `compile_sql(..., cache=...)` reads instead of the prompt.
- **Invalidation.** Whatever rewrites a prompt or attrs deletes the request's rows in its own transaction
  (`forget`): `purge` and the importers' ``--on-conflict replace``.
- **Read-only stores.** `relation` uses the rows there are and computes the missing values in the query,
  without storing them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from routelab.datasets.store import Store
from routelab.router_core.sql import REQUEST_COLUMNS, cached_values_sql
from routelab.router_core.sql_cache import TOKEN_ESTIMATE, CacheColumns, CachedValue, cached_values
from routelab.router_core.sql_expr import ident, q
from routelab.router_core.validate import Router

REQUEST_FIELDS = [name for name, _ in REQUEST_COLUMNS]


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
    """Whether the computed values were written to `request_signals` (False on a read-only store)."""


def _column(i: int) -> str:
    return f"_sc_{i}"


def _keys(values: Sequence[CachedValue]) -> str:
    return ", ".join(q(v.key) for v in values)


def _selected(pred: str) -> str:
    return f"(SELECT {', '.join(REQUEST_FIELDS)} FROM requests WHERE {pred})"


def source(
    values: Sequence[CachedValue], pred: str = "TRUE", complete: bool = True, tokens_complete: bool = False
) -> CachedRelation:
    """The requests selected by `pred` joined with their cached `values`, as `compile_sql` reads them.

    Args:
        values: Cached values of the router (`cached_values`, or `needed`).
        pred: A SQL predicate on `requests` (`replay.request_filter`).
        complete: True when every selected request has every value (after `fill`): the join is an inner
            one, so a request that lacks one is left out (and counted missing by the caller), and the prompt
            is never read. False: missing values are NULL and the query computes them.
        tokens_complete: Every selected request has `prompt_tokens` (`needed` checked): the token estimate
            is then never used, and a NULL column stands in for it when `values` leaves it out, so the
            query does not read the prompt for it.

    Insert or select the compiled query's rows; do not group them in the same statement: over a join, DuckDB
    2.0's partial aggregate pushdown substitutes the query's layered expressions into each other, which
    grows without bound (filters and ``count(*)`` are fine).
    """
    cols = [f"r.{ident(c)}" for c in REQUEST_FIELDS] + [f"c.{_column(i)}" for i in range(len(values))]
    columns = {v.name: _column(i) for i, v in enumerate(values)}
    if tokens_complete and TOKEN_ESTIMATE not in columns:
        cols.append(f"CAST(NULL AS INTEGER) AS {_column(len(values))}")
        columns[TOKEN_ESTIMATE] = _column(len(values))
    if not values:
        sql = f"(SELECT {', '.join(cols)} FROM {_selected(pred)} r)"
        return CachedRelation(sql, CacheColumns(columns=columns), 0, True)
    pivot = ", ".join(
        f"max(value) FILTER (WHERE signal_key = {q(v.key)}) AS {_column(i)}" for i, v in enumerate(values)
    )
    # complete: only requests with every value (HAVING: inside the aggregate, below the join)
    having = " AND ".join(f"{_column(i)} IS NOT NULL" for i in range(len(values)))
    cached = (
        f"(SELECT request_id, {pivot} FROM request_signals WHERE signal_key IN ({_keys(values)}) "
        f"GROUP BY request_id{f' HAVING {having}' if complete else ''})"
    )
    join = "JOIN" if complete else "LEFT JOIN"
    sql = f"(SELECT {', '.join(cols)} FROM {_selected(pred)} r {join} {cached} c USING (request_id))"
    return CachedRelation(sql, CacheColumns(columns=columns, complete=complete), 0, True)


def missing(cur: Any, values: Sequence[CachedValue], pred: str = "TRUE") -> dict[str, int]:
    """Per value name, how many requests selected by `pred` lack its row (an anti-join on request and key)."""
    if not values:
        return {}
    rows = cur.execute(
        f"SELECT k.signal_key, count(*) FROM {_selected(pred)} r "
        f"CROSS JOIN (SELECT unnest([{_keys(values)}]) AS signal_key) k "
        "ANTI JOIN request_signals c ON c.request_id = r.request_id AND c.signal_key = k.signal_key "
        "GROUP BY k.signal_key"
    ).fetchall()
    by_key = {str(k): int(n) for k, n in rows}
    return {v.name: by_key.get(v.key, 0) for v in values}


def _suspects(cur: Any, values: Sequence[CachedValue], n_requests: int) -> list[CachedValue]:
    """The values with fewer rows than there are requests: certainly incomplete. (Rows of deleted requests
    could hide a missing one; `replay` notices that from its decision count and fills exactly.)"""
    rows = cur.execute(
        f"SELECT signal_key, count(*) FROM request_signals WHERE signal_key IN ({_keys(values)}) GROUP BY 1"
    ).fetchall()
    counts = {str(k): int(n) for k, n in rows}
    return [v for v in values if counts.get(v.key, 0) < n_requests]


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


def fill(
    cur: Any,
    router: Router,
    values: Sequence[CachedValue],
    pred: str = "TRUE",
    n_requests: int | None = None,
    exact: bool = False,
) -> int:
    """Store the `values` of `router` that the requests selected by `pred` lack, in the caller's transaction.

    Args:
        cur: The cursor of the caller's transaction.
        router: The router version the values belong to.
        values: Some of its cached values (`needed`, or `cached_values`).
        pred: A SQL predicate on `requests` (`replay.request_filter`).
        n_requests: How many requests `pred` selects, when the caller knows.
        exact: Count the missing rows of every key with an anti-join, whatever the row counts say.

    Returns:
        The rows inserted.
    """
    values = list(values)
    if not values:
        return 0
    if n_requests is None:
        n_requests = int(cur.execute(f"SELECT count(*) FROM requests WHERE {pred}").fetchone()[0])
    if not exact and pred == "TRUE":
        # a key with as many rows as there are requests is taken as complete: one scan of two short columns
        values = _suspects(cur, values, n_requests)
        if not values:
            return 0
    lacking = missing(cur, values, pred)
    todo = [v for v in values if lacking[v.name]]
    if not todo:
        return 0
    selected = pred
    if any(lacking[v.name] < n_requests for v in todo):
        # only the requests that lack one of the values are scanned (the anti-join reads ids alone)
        selected = (
            f"({pred}) AND request_id IN (SELECT r.request_id FROM requests r "
            f"CROSS JOIN (SELECT unnest([{_keys(todo)}]) AS signal_key) k "
            "ANTI JOIN request_signals c ON c.request_id = r.request_id AND c.signal_key = k.signal_key)"
        )
    computed = cached_values_sql(router, [v.name for v in todo], _selected(selected))
    names = ", ".join(ident(v.name) for v in todo)
    row = cur.execute(
        "INSERT INTO request_signals (request_id, signal_key, value) "
        "SELECT x.request_id, x.signal_key, x.value FROM ("
        f"SELECT request_id, unnest([{_keys(todo)}]) AS signal_key, unnest([{names}]) AS value "
        f"FROM ({computed})) x "
        "ANTI JOIN request_signals c ON c.request_id = x.request_id AND c.signal_key = x.signal_key"
    ).fetchone()
    return int(row[0]) if row else 0  # DuckDB's INSERT returns the row count


def relation(store: Store, router: Router, pred: str = "TRUE") -> CachedRelation:
    """The relation `compile_sql` should read for `router` over the requests selected by `pred`.

    A writable store fills the missing values first (in a transaction of its own); a read-only store uses
    the rows there are and the query computes the rest, storing nothing.

    Raises:
        StoreError: a query failed.
    """
    complete_tokens = tokens_complete(store.cursor(), pred)
    values = needed(router, complete_tokens)
    if store.read_only:
        lacking = sum(missing(store.cursor(), values, pred).values())
        out = source(values, pred, complete=not lacking, tokens_complete=complete_tokens)
        return CachedRelation(out.source, out.cache, lacking, stored=False)
    with store.transaction() as cur:
        computed = fill(cur, router, values, pred, exact=True)
    out = source(values, pred, tokens_complete=complete_tokens)
    return CachedRelation(out.source, out.cache, computed, stored=True)


def forget(cur: Any, request_ids: Iterable[str]) -> None:
    """Delete the cached values of requests whose prompt or attrs changed, inside the caller's transaction.

    Args:
        cur: The cursor of the transaction that changes the requests.
        request_ids: The requests that were (or may have been) rewritten.
    """
    ids = pd.DataFrame({"request_id": pd.Series(list(request_ids), dtype=object)})
    if ids.empty:
        return
    cur.register("_signals_forget", ids)
    try:
        cur.execute(
            "DELETE FROM request_signals WHERE request_id IN (SELECT request_id FROM _signals_forget)"
        )
    finally:
        cur.unregister("_signals_forget")
