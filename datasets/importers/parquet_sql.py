"""The DuckDB-native path of `import --format requests` from Parquet: DuckDB reads, checks and inserts.

The Python path (`readers` → `convert` → `generic.load_requests` → `tables.write`) makes a Python object of
every cell. Here DuckDB reads the files (`read_parquet`; hive folders resolved as the Python path resolves
them, `parquet_plan`), one aggregate query checks every row (`parquet_rows`), and one `INSERT ... SELECT`
writes them inside the import's transaction (`write`, which counts and resolves conflicts as `tables.write`
does). Only prompts without `prompt_tokens` leave DuckDB, in batches, for the bundled tokenizer. Attrs maps
are stored as the Python path stores them (keys sorted, no NULL value): kept as read when they already are,
else rebuilt (`_attrs_strategy`).

Same input, same store: this path takes an input only when SQL stores exactly what the Python path would
and otherwise returns a `Fallback` (with the reason); `import_file` then runs the Python path, which imports
the input or raises its usual `file:line: field: problem` (so this path words no row error of its own, and
`--collect-errors` goes through SQL only when there is nothing to reject). It falls back on column kinds
SQL does not convert alike (`parquet_plan.ROLES`: times and numbers as text, float attrs, dates, nanosecond
times, decimals, binary, lists, structs, maps of non-text values); on anything the Python path refuses or
might refuse: an unreadable file, a row count the manifest contradicts, a `--map` it rejects, no
request_id column; and on any row the check flags: a missing, blank or repeated id, a field over 1 MiB,
a bad token count, a time near Python's datetime limits, an attrs map repeating a key (DuckDB would store
both; Python keeps the last), a column that is also an attrs key. `--redact` and the other formats never
come here (`import_file`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import duckdb

from routelab.datasets.errors import StoreError
from routelab.datasets.importers.parquet_plan import READ_ERRORS, Fallback, Plan, plan, role, takes
from routelab.datasets.importers.parquet_rows import built, checked, relation, stored_as_read
from routelab.datasets.importers.progress import progress_bar
from routelab.datasets.importers.tokens import count_tokens
from routelab.datasets.store import memory_limit
from routelab.datasets.tables import TABLES, ConflictError, OnConflict, WriteResult, content_differs

__all__ = ["Fallback", "Staged", "bulk", "request_ids", "stage", "takes", "write"]

AttrsStrategy = Literal["as_read", "lookup", "rebuild"]
"""How `write` makes the attrs maps (`_attrs_strategy`)."""

#: Prompts per batch sent to the tokenizer.
TOKEN_BATCH = 50_000
#: Rows per distinct unsorted attrs map from which rebuilding each map once and joining beats rebuilding
#: every row's map.
LOOKUP_ROWS = 4
#: Columns of `requests` in table order, without `import_id`.
COLUMNS = [c for c, _ in TABLES["requests"][0] if c != "import_id"]
#: The columns (with types) whose values make a stored request's content: what a conflict compares.
CONTENT = [(c, t) for c, t in TABLES["requests"][0] if c not in ("request_id", "import_id")]
#: DuckDB's memory limit while `write` inserts (`bulk`).
IMPORT_MEMORY_LIMIT = "2GB"


def _run(cur: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> list[Any]:
    """Run one statement and read its rows to the end (so the cursor is free for the next one).

    Raises:
        StoreError: DuckDB failed; the message carries the SQL (shortened), as `Store.execute`'s do.
    """
    try:
        return cur.execute(sql, params or []).fetchall()
    except duckdb.Error as exc:
        raise StoreError(f"{exc}\n  SQL: {sql.strip()[:2000]}\n  parameters: {params!r}") from exc


def _one(cur: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> tuple[Any, ...]:
    """The one row a statement gives (`_run`)."""
    rows = _run(cur, sql, params)
    return tuple(rows[0]) if rows else ()


@dataclass(frozen=True)
class Staged:
    """Input checked in SQL, ready to write in the import's transaction (`write`)."""

    plan: Plan
    n_rows: int
    tokens: Any
    """Arrow table (request_id, n) of the counted prompts; None when every prompt came with its count."""
    attrs: AttrsStrategy = "rebuild"
    """How `write` makes the attrs maps (`_attrs_strategy`)."""


def stage(
    cur: duckdb.DuckDBPyConnection,
    path: Path,
    mapping: Mapping[str, str],
    options: Mapping[str, Any],
    progress: bool = False,
) -> Staged | Fallback:
    """Plan and check an input in SQL and count its missing prompt tokens; or say why Python must import it.

    Raises:
        ImportFileError: the directory's listing or manifest is refused (as by the Python path).
        TokenizerError: the bundled tokenizer is missing.
    """
    planned = plan(cur, path, mapping, options)
    if isinstance(planned, Fallback):
        return planned
    try:  # hashes tell ids apart cheaply; a collision only sends the input to the exact count below
        n, distinct, problems, missing, unsorted, maps = _one(
            cur,
            "SELECT count(*), count(DISTINCT id_hash), "
            "list(DISTINCT problem ORDER BY problem) FILTER (WHERE problem IS NOT NULL), "
            "count(*) FILTER (WHERE uncounted), count(*) FILTER (WHERE NOT sorted), "
            f"approx_count_distinct(map_hash) FILTER (WHERE NOT sorted) FROM ({checked(planned)})",
        )
    except StoreError as exc:
        # invalid UTF-8, a damaged page...: the Python path reads the rows and says where
        if not isinstance(exc.__cause__, READ_ERRORS):
            raise
        return Fallback(f"DuckDB cannot read the rows: {exc.__cause__}")
    if problems:
        return Fallback("rows the Python path refuses or converts itself: " + "; ".join(problems))
    if distinct < n:
        ids = relation(planned, ["request_id"])
        if _one(cur, f"SELECT count(DISTINCT request_id) FROM ({ids})")[0] < n:
            return Fallback("a request_id repeats")
    tokens = _count_tokens(cur, planned, int(missing), progress) if missing else None
    return Staged(planned, int(n), tokens, _attrs_strategy(planned, int(unsorted), int(maps or 0)))


def _attrs_strategy(plan: Plan, unsorted: int, maps: int) -> AttrsStrategy:
    """How `write` makes the attrs: `as_read` when every map is already stored as read (an export of a
    routelab store), `lookup` when few distinct maps need sorting (each is rebuilt once and joined), else
    `rebuild` on every row (always when other columns join the attrs). Rebuilding a map costs about as
    much as inserting its row, so the cheapest correct choice is taken."""
    if any(role(f) == "extra" for f in plan.fields):
        return "rebuild"
    if unsorted == 0:
        return "as_read"
    return "lookup" if maps * LOOKUP_ROWS <= unsorted else "rebuild"


def _count_tokens(cur: duckdb.DuckDBPyConnection, plan: Plan, total: int, progress: bool) -> Any:
    """Count the tokens of the prompts without prompt_tokens, in batches: an Arrow table (request_id, n)."""
    import pyarrow as pa

    rows = relation(plan, ["request_id", "prompt", "prompt_tokens"])
    reader = cur.sql(  # a relation streams its batches; a DB-API result would copy every row first
        f"SELECT request_id, prompt FROM ({rows}) WHERE prompt_tokens IS NULL AND prompt IS NOT NULL"
    ).to_arrow_reader(TOKEN_BATCH)
    batches = []
    bar = progress_bar(total, progress, "counting tokens")
    for batch in reader:
        counts = pa.array(count_tokens(batch.column(1).to_pylist()), pa.int64())
        batches.append(pa.record_batch([batch.column(0), counts], names=["request_id", "n"]))
        bar.update(batch.num_rows)
    bar.close()
    return pa.Table.from_batches(batches)


@contextmanager
def bulk(cur: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """DuckDB settings for `write`'s transaction: open it inside, so they are restored after its commit or
    rollback (an aborted transaction refuses even `SET`).

    Requests have no order (every reader sorts by id or time), and keeping file order makes the
    primary-key insert about twice as slow: `preserve_insertion_order` is off on this cursor. The memory
    limit makes the insert spill rather than grow (2.2 GB of RSS at 1M rows without it): it is the DuckDB
    instance's setting, lowered for the import and restored after it, as a replay does.
    """
    _run(cur, "SET SESSION preserve_insertion_order = false")
    try:
        with memory_limit(cur, IMPORT_MEMORY_LIMIT):
            yield
    finally:
        _run(cur, "RESET SESSION preserve_insertion_order")


def write(
    cur: duckdb.DuckDBPyConnection, staged: Staged, import_id: str, on_conflict: OnConflict = "error"
) -> WriteResult:
    """Insert the staged rows into `requests` inside the caller's transaction, as `tables.write` does
    (open the transaction inside `bulk`).

    Raises:
        ConflictError: `on_conflict="error"` and some id is stored with different content.
    """
    plan = staged.plan
    picked, joins = {c: f"r.{c}" for c in COLUMNS}, []
    if staged.tokens is not None:
        cur.register("_routelab_tokens", staged.tokens)
        picked["prompt_tokens"] = "coalesce(r.prompt_tokens, k.n)"
        joins.append("LEFT JOIN _routelab_tokens k ON k.request_id = r.request_id")
    if staged.attrs == "lookup":  # each distinct unsorted map rebuilt once (rolled back with the import)
        maps = relation(plan, ["attrs"], attrs="as_read")
        _run(
            cur,
            f"CREATE TEMP TABLE _routelab_attrs AS SELECT raw, {built('map_entries(raw)')} AS fixed "
            f"FROM (SELECT DISTINCT attrs AS raw FROM ({maps}) WHERE NOT {stored_as_read('attrs')})",
        )
        picked["attrs"] = "coalesce(f.fixed, r.attrs)"
        joins.append("LEFT JOIN _routelab_attrs f ON f.raw = r.attrs")
    rows = relation(plan, COLUMNS, attrs="rebuild" if staged.attrs == "rebuild" else "as_read")
    if joins:
        select = ", ".join(f"{v} AS {c}" for c, v in picked.items())
        rows = f"SELECT {select} FROM ({rows}) r {' '.join(joins)}"
    result = _merge(cur, staged, f"({rows})", import_id, on_conflict)
    # cleaned up on success only: after an error DuckDB refuses every statement until the import's rollback
    # (which drops the temp table; a later import replaces the registration)
    if staged.tokens is not None:
        cur.unregister("_routelab_tokens")
    if staged.attrs == "lookup":
        _run(cur, "DROP TABLE _routelab_attrs")
    return result


def _merge(
    cur: duckdb.DuckDBPyConnection, staged: Staged, incoming: str, import_id: str, on_conflict: OnConflict
) -> WriteResult:
    on = "t.request_id = i.request_id"
    ids = relation(staged.plan, ["request_id"])
    stored = bool(_one(cur, f"SELECT count(*) FROM ({ids}) i SEMI JOIN requests t ON {on}")[0])
    identical = conflicting = 0
    if stored:  # compare content only when ids meet: a first import reads the ids alone
        differs = content_differs(CONTENT)
        identical, conflicting = _one(
            cur,
            f"SELECT count(*) FILTER (WHERE NOT ({differs})), count(*) FILTER (WHERE {differs}) "
            f"FROM {incoming} i JOIN requests t ON {on}",
        )
        if conflicting and on_conflict == "error":
            sample = _run(
                cur, f"SELECT i.request_id FROM {incoming} i JOIN requests t ON {on} WHERE {differs} LIMIT 5"
            )
            raise ConflictError(  # tables.write's message
                f"requests: {conflicting} row(s) already in the store with different content "
                f"(e.g. {', '.join(str(r[0]) for r in sample)}); pass --on-conflict replace to overwrite "
                "them or --on-conflict skip to keep the stored rows"
            )
        if conflicting and on_conflict == "replace":
            _run(cur, f"DELETE FROM requests t USING {incoming} i WHERE {on} AND ({differs})")
    new = f" WHERE NOT EXISTS (SELECT 1 FROM requests t WHERE {on})" if stored else ""
    names = ", ".join(COLUMNS)
    (inserted,) = _one(
        cur,
        f"INSERT INTO requests ({names}, import_id) SELECT {names}, ? FROM {incoming} i{new}",
        [import_id],
    )
    replaced = conflicting if on_conflict == "replace" else 0
    return WriteResult(
        table="requests",
        inserted=inserted - replaced,
        replaced=replaced,
        skipped_identical=identical,
        skipped_conflicting=conflicting if on_conflict == "skip" else 0,
    )


def request_ids(cur: duckdb.DuckDBPyConnection, staged: Staged) -> list[str]:
    """The ids of the staged rows (for `pii_cache.forget` after a replace)."""
    return [str(r[0]) for r in _run(cur, relation(staged.plan, ["request_id"]))]
