"""The PII cache: the PII types of every request's prompt, found once inside DuckDB and kept in `request_pii`.

Scanning a million 1.8 kB prompts with router_core's regex detector takes about 40 s in DuckDB, and every
compliance check (`routelab compliance`, `compare`, `drift`, the report) needs the result. It only changes
when a prompt or the detector changes, so `pii_types` stores it:

- **Key.** One row per request: ``request_id``, ``detector`` (`detector_id`: a short hash of the exact SQL
  expression that computed the types, so editing router_core.pii's patterns or validators makes every row
  stale without anyone remembering to clear the cache) and ``pii_types`` (`pii_types_sql`).
- **Fill.** `pii_types` deletes the rows of other detectors and scans only the requests without a row, in
  one ``INSERT ... SELECT`` (an anti-join on request and detector) inside one transaction; a second call
  counts the missing rows (a join of ids) and scans nothing. A fill that loses a race with another
  thread's (its commit finds the same keys) is retried once.
- **Invalidation.** Whatever rewrites a prompt deletes the request's row in its own transaction (`forget`):
  `purge` and the importers' ``--on-conflict replace``. Requests imported with ``--redact`` keep the types
  found before masking in ``attrs.pii_types``, which compliance reads besides this column.
- **Read-only stores.** Cached rows are used, missing ones are computed in the query and not stored.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import pandas as pd

from routelab.datasets.queries import Query
from routelab.datasets.store import Store, memory_limit

#: Hex digits of the detector hash kept in `request_pii.detector`.
DETECTOR_DIGITS = 16
#: The prompt column the detector expression reads (part of the hashed text).
PROMPT_COLUMN = "prompt"
#: DuckDB's memory limit while the cache is filled (`store.memory_limit`): the scan and the anti-join spill
#: beyond it instead of growing.
FILL_MEMORY_LIMIT = "1GB"


@dataclass(frozen=True)
class PiiTypes:
    """Where the PII types of every request can be read, and what computing them cost this call."""

    detector: str
    """`detector_id` of the expression the types come from."""
    query: Query
    """``SELECT request_id, pii_types``: one row per request (cached, or computed in the query), no order.
    Join it on your requests: when every request is cached it reads `request_pii` alone."""
    computed: int
    """Prompts this call scanned: stored when `stored`, else computed again by every run of `query`."""
    stored: bool
    """Whether the scanned rows were written to `request_pii` (False on a read-only store)."""


def pii_types_sql(column: str, types: Sequence[Any]) -> str:
    """A DuckDB expression: the comma-separated PII type names `column` holds (``''`` for none).

    Each type is `router_core.pii.has_pii_sql` (the SQL twin of `has_pii`), behind one `has_any_pii_sql`
    guard so a prompt without any candidate costs one regex call. Built only from router_core's compiled
    patterns and the fixed type names, never from data.
    """
    from routelab.router_core.pii import PiiType, has_any_pii_sql, has_pii_sql

    kinds = [PiiType(t) for t in types]
    if not kinds:
        return "''"
    each = ", ".join(f"CASE WHEN {has_pii_sql(column, t)} THEN '{t.value}' END" for t in kinds)
    return f"(CASE WHEN {has_any_pii_sql(column, kinds)} THEN concat_ws(',', {each}) ELSE '' END)"


def detector_id(expression: str) -> str:
    """The short hash of a detector expression stored with each cached row."""
    return hashlib.sha256(expression.encode("utf-8")).hexdigest()[:DETECTOR_DIGITS]


def _select(expression: str, detector: str, complete: bool) -> Query:
    """Every request's types: its row of `detector`, else (unless `complete`) `expression` on its prompt.

    When every request has a row the query does not name the prompt: DuckDB would read every prompt
    otherwise, even though the expression never runs.
    """
    if complete:
        # the cache alone: every caller joins it on its requests, so a join with `requests` here would only
        # cost a second hash join of every id (2 s of CPU at 10M requests)
        sql = "SELECT request_id, pii_types FROM request_pii WHERE detector = ?"
    else:
        sql = (
            f"SELECT r.request_id, CASE WHEN c.request_id IS NULL THEN {expression} ELSE c.pii_types END "
            "AS pii_types FROM requests r "
            "LEFT JOIN request_pii c ON c.request_id = r.request_id AND c.detector = ?"
        )
    return Query(sql, [detector])


def pii_types(store: Store, types: Sequence[Any]) -> PiiTypes:
    """The PII types of every request's prompt, scanning only the prompts the cache lacks (module docstring).

    Args:
        store: The store; when read-only, missing rows are computed by the returned query, not stored.
        types: The `router_core.pii.PiiType`s (or their names) to look for, in the order they are listed.

    Raises:
        StoreError: a query failed (the message carries the SQL).
    """
    expression = pii_types_sql(PROMPT_COLUMN, types)
    detector = detector_id(expression)
    missing = "FROM requests r ANTI JOIN request_pii c ON c.request_id = r.request_id AND c.detector = ?"
    if store.read_only:
        computed = int(store.scalar(f"SELECT count(*) {missing}", [detector]) or 0)
        return PiiTypes(detector, _select(expression, detector, not computed), computed, stored=False)
    try:
        computed = _fill(store, expression, detector, missing)
    except duckdb.TransactionException:
        # another thread of this process (a second workbench session) committed the same rows first; what
        # it left missing, if anything, is filled now
        computed = _fill(store, expression, detector, missing)
    return PiiTypes(detector, _select(expression, detector, True), computed, stored=True)


def _fill(store: Store, expression: str, detector: str, missing: str) -> int:
    """Delete other detectors' rows and store the missing ones, in one transaction; the rows computed.

    Under `FILL_MEMORY_LIMIT`: the scan streams every prompt, and without a limit DuckDB's buffer pool
    would keep what it read (12 GB of RSS at 10M requests).
    """
    with memory_limit(store.cursor(), FILL_MEMORY_LIMIT), store.transaction() as cur:
        cur.execute("DELETE FROM request_pii WHERE detector <> ?", [detector])
        # counted first: the INSERT reads every prompt (DuckDB projects them before the anti-join) even
        # when no row is missing, which would cost a warm call a second per 200,000 requests
        row = cur.execute(f"SELECT count(*) {missing}", [detector]).fetchone()
        computed = int(row[0]) if row else 0
        if computed:
            cur.execute(
                f"INSERT INTO request_pii SELECT r.request_id, ?, {expression} {missing}",
                [detector, detector],
            )
    return computed


def forget(cur: Any, request_ids: Iterable[str]) -> None:
    """Delete the cached types of requests whose prompt changed, inside the caller's transaction.

    Args:
        cur: The cursor of the transaction that changes the prompts.
        request_ids: The requests whose prompt was (or may have been) rewritten.
    """
    ids = pd.DataFrame({"request_id": pd.Series(list(request_ids), dtype=object)})
    if ids.empty:
        return
    cur.register("_pii_forget", ids)
    try:
        cur.execute("DELETE FROM request_pii WHERE request_id IN (SELECT request_id FROM _pii_forget)")
    finally:
        cur.unregister("_pii_forget")
