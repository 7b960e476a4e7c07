"""Writing requests, labels and outcomes: the one path every importer and the demo use.

Each writer takes a DataFrame already in the table's shape, checks keys, and inserts inside the caller's
transaction. Re-importing identical rows adds nothing; a row whose key exists with different content is a
conflict, resolved by `on_conflict`: `error` (default), `replace` or `skip`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import duckdb
import pandas as pd

from routelab.datasets.errors import DatasetError
from routelab.router_core.sql import REQUEST_COLUMNS

OnConflict = Literal["error", "replace", "skip"]

#: Table name → (columns in order with DuckDB types, key columns).
TABLES: dict[str, tuple[tuple[tuple[str, str], ...], tuple[str, ...]]] = {
    "requests": ((*REQUEST_COLUMNS, ("import_id", "VARCHAR")), ("request_id",)),
    "labels": (
        (
            ("request_id", "VARCHAR"),
            ("source", "VARCHAR"),
            ("abstain", "BOOLEAN"),
            ("acceptable", "JSON"),
            ("model", "VARCHAR"),
            ("tier", "VARCHAR"),
            ("retrieval", "VARCHAR"),
            ("context_tokens", "BIGINT"),
            ("cache", "VARCHAR"),
            ("escalation", "VARCHAR"),
            ("action", "VARCHAR"),
            ("note", "VARCHAR"),
            ("import_id", "VARCHAR"),
        ),
        ("request_id",),
    ),
    "outcomes": (
        (
            ("request_id", "VARCHAR"),
            ("model", "VARCHAR"),
            ("kind", "VARCHAR"),
            ("eval_group", "VARCHAR"),
            ("quality", "DOUBLE"),
            ("quality_scale", "VARCHAR"),
            ("cost_usd", "DOUBLE"),
            ("latency_ms", "DOUBLE"),
            ("ttft_ms", "DOUBLE"),
            ("input_tokens", "BIGINT"),
            ("output_tokens", "BIGINT"),
            ("error", "VARCHAR"),
            ("fallback_model", "VARCHAR"),
            ("cache_hit", "BOOLEAN"),
            ("propensity", "DOUBLE"),
            ("path", "JSON"),
            ("ts", "TIMESTAMP"),
            ("import_id", "VARCHAR"),
        ),
        ("request_id", "model", "kind"),
    ),
}

#: Path components a label may judge (the gold columns of `labels`).
LABEL_COMPONENTS = ("model", "tier", "retrieval", "context_tokens", "cache", "escalation", "action")


@dataclass(frozen=True)
class WriteResult:
    """What one writer did."""

    table: str
    inserted: int
    replaced: int
    skipped_identical: int
    skipped_conflicting: int


class ConflictError(DatasetError):
    """Rows whose key exists in the store with different content."""


def empty_frame(table: str) -> pd.DataFrame:
    """An empty DataFrame with the table's columns."""
    cols, _ = TABLES[table]
    return pd.DataFrame({name: pd.Series(dtype="object") for name, _ in cols})


def label_row(
    request_id: str,
    acceptable: list[dict[str, Any]],
    source: str,
    abstain: bool = False,
    note: str | None = None,
) -> dict[str, Any]:
    """A `labels` row from acceptable partial paths (best first); gold columns repeat the first one."""
    gold = acceptable[0] if acceptable else {}
    row: dict[str, Any] = {
        "request_id": request_id,
        "source": source,
        "abstain": abstain,
        "acceptable": json.dumps(acceptable, sort_keys=True, ensure_ascii=False),
        "note": note,
    }
    for comp in LABEL_COMPONENTS:
        value = gold.get(comp)
        if comp in ("retrieval", "escalation") and comp in gold and value is None:
            value = "none"
        row[comp] = value
    return row


def _is_map(typ: str) -> bool:
    return typ.upper().startswith("MAP")


def _sorted_entries(expr: str) -> str:
    """SQL for the entries of the MAP `expr`, sorted by key: what a map is, whatever order it was built in."""
    return f"list_sort(map_entries({expr}))"


def canonical_map(expr: str) -> str:
    """SQL for the MAP `expr` with its entries sorted by key: the form every writer stores `attrs` in (what
    the Python import path makes); maps written before this keep their order, which `content_differs`
    ignores."""
    return f"map_from_entries({_sorted_entries(expr)})"


def content_differs(columns: Sequence[tuple[str, str]]) -> str:
    """SQL true where the stored row `t` and the incoming row `i` differ in any of `columns` (name, DuckDB
    type): the conflict test of every write. A MAP compares as its sorted entries, since key order is not
    content (DuckDB's `IS DISTINCT FROM` on maps is order-sensitive, and stores written before every writer
    sorted the keys hold maps in insertion order); the sort runs only on rows whose maps differ as stored."""
    parts = []
    for name, typ in columns:
        part = f"t.{name} IS DISTINCT FROM i.{name}"
        if _is_map(typ):
            part = (
                f"({part} AND {_sorted_entries(f't.{name}')} IS DISTINCT FROM {_sorted_entries(f'i.{name}')})"
            )
        parts.append(part)
    return " OR ".join(parts) or "FALSE"


def _stored(name: str, typ: str) -> str:
    """SQL for an incoming column in its stored form: cast to its type, a MAP's keys sorted."""
    cast = f"CAST({name} AS {typ})"
    return canonical_map(cast) if _is_map(typ) else cast


def write(
    cur: duckdb.DuckDBPyConnection,
    table: str,
    frame: pd.DataFrame,
    import_id: str | None,
    on_conflict: OnConflict = "error",
) -> WriteResult:
    """Insert `frame` into `table` inside the caller's transaction.

    Raises:
        ConflictError: `on_conflict="error"` and some key exists with different content (names up to 5 keys).
        DatasetError: the frame repeats a key.
    """
    cols, keys = TABLES[table]
    names = [c for c, _ in cols]
    frame = frame.copy()
    for name in names:
        if name not in frame.columns:
            frame[name] = None
    frame["import_id"] = import_id
    frame = frame[names]
    dup = frame.duplicated(list(keys), keep=False)
    if dup.any():
        first = frame.loc[dup, list(keys)].iloc[0].tolist()
        raise DatasetError(f"{table}: key {dict(zip(keys, first, strict=True))} occurs more than once")
    view = f"_incoming_{table}"
    casts = ", ".join(f"{_stored(n, t)} AS {n}" for n, t in cols)
    cur.register(f"{view}_raw", frame)
    try:
        cur.execute(f"CREATE OR REPLACE TEMP TABLE {view} AS SELECT {casts} FROM {view}_raw")
    finally:
        cur.unregister(f"{view}_raw")
    on = " AND ".join(f"t.{k} = i.{k}" for k in keys)
    differs = content_differs([(n, t) for n, t in cols if n not in keys and n != "import_id"])
    counts = cur.execute(
        f"SELECT count(*) FILTER (WHERE NOT ({differs})), count(*) FILTER (WHERE {differs}) "
        f"FROM {view} i JOIN {table} t ON {on}"
    ).fetchone()
    identical, conflicting = (int(counts[0]), int(counts[1])) if counts else (0, 0)
    if conflicting and on_conflict == "error":
        sample = cur.execute(
            f"SELECT {', '.join('i.' + k for k in keys)} FROM {view} i JOIN {table} t ON {on} "
            f"WHERE {differs} "
            "LIMIT 5"
        ).fetchall()
        shown = ", ".join("/".join(str(v) for v in row) for row in sample)
        raise ConflictError(
            f"{table}: {conflicting} row(s) already in the store with different content (e.g. {shown}); "
            "pass --on-conflict replace to overwrite them or --on-conflict skip to keep the stored rows"
        )
    replaced = 0
    if conflicting and on_conflict == "replace":
        cur.execute(f"DELETE FROM {table} t USING {view} i WHERE {on} AND ({differs})")
        replaced = conflicting
    before = cur.execute(f"SELECT count(*) FROM {table}").fetchone()
    listed = ", ".join(names)  # by name: `requests` may carry more columns (the signal cache's)
    cur.execute(
        f"INSERT INTO {table} ({listed}) SELECT {listed} FROM {view} i "
        f"WHERE NOT EXISTS (SELECT 1 FROM {table} t WHERE {on})"
    )
    after = cur.execute(f"SELECT count(*) FROM {table}").fetchone()
    cur.execute(f"DROP TABLE {view}")
    inserted = int(after[0]) - int(before[0]) if after and before else 0
    return WriteResult(
        table=table,
        inserted=inserted - replaced,
        replaced=replaced,
        skipped_identical=identical,
        skipped_conflicting=conflicting if on_conflict == "skip" else 0,
    )
