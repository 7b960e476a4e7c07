"""The DuckDB-native path of `import --format requests` from Parquet: DuckDB reads, checks and inserts.

The Python path (`readers` → `convert` → `generic.load_requests` → `tables.write`) makes a Python object of
every cell. Here DuckDB reads the files (`read_parquet`; hive folders resolved as the Python path resolves
them, `parquet_plan`), one aggregate query checks every row (`_problems`), and one `INSERT ... SELECT`
writes them inside the import's transaction (`write`, which counts and resolves conflicts as `tables.write`
does). Only prompts without `prompt_tokens` leave DuckDB, in batches, for the bundled tokenizer.

Same input, same store: this path takes an input only when SQL stores exactly what the Python path would
and otherwise returns a `Fallback` (with the reason); `import_file` then runs the Python path, which imports
the input or raises its usual `file:line: field: problem` (so this path words no row error of its own).
It falls back on column kinds SQL does not convert alike (`parquet_plan.ROLES`: times and numbers as text,
float attrs, dates, nanosecond times, decimals, binary, lists, structs, maps of non-text values); on
anything the Python path refuses or might refuse: an unreadable file, a row count the manifest
contradicts, a `--map` it rejects, no request_id column; and on any row the check flags: a missing, blank
or repeated id, a field over 1 MiB, a bad token count, a time near Python's datetime limits, an attrs map
DuckDB refuses (a repeated key), a column that is also an attrs key. Bad input is rare and the Python path
names its file, row and field. `--redact` and other formats never come here (`import_file`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from routelab.datasets.importers.generic import TEXT_FIELDS
from routelab.datasets.importers.parquet_plan import (
    TOKEN_FIELDS,
    Fallback,
    Group,
    Plan,
    ident,
    literal,
    plan,
    role,
    takes,
)
from routelab.datasets.importers.progress import progress_bar
from routelab.datasets.importers.readers import MAX_FIELD_BYTES
from routelab.datasets.importers.tokens import count_tokens
from routelab.datasets.tables import TABLES, ConflictError, OnConflict, WriteResult
from routelab.router_core.request import MAX_TOKENS

__all__ = ["Fallback", "Staged", "bulk", "request_ids", "stage", "takes", "write"]

#: Characters Python's `str.strip()` removes (`str.isspace`): an id of only these is blank.
WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
#: Prompts per batch sent to the tokenizer.
TOKEN_BATCH = 50_000
#: Rows per distinct unsorted attrs map from which rebuilding each map once and joining beats rebuilding
#: every row's map.
LOOKUP_ROWS = 4
#: Columns of `requests` in table order, without `import_id`.
COLUMNS = [c for c, _ in TABLES["requests"][0] if c != "import_id"]
#: DuckDB's memory limit while `write` inserts (`bulk`).
IMPORT_MEMORY_LIMIT = "2GB"
#: Times this close to Python's datetime limits (years 1 and 9999) go to the Python path, which decides.
TS_RANGE = ("0002-01-01", "9998-12-31")
_EMPTY_MAP = "CAST(MAP {} AS MAP(VARCHAR, VARCHAR))"
_NO_ENTRIES = "CAST([] AS STRUCT(key VARCHAR, value VARCHAR)[])"


def _one(cur: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> tuple[Any, ...]:
    """The one row a statement gives (read to the end, so the cursor is free for the next statement)."""
    rows = cur.execute(sql, params or []).fetchall()
    return tuple(rows[0]) if rows else ()


@dataclass(frozen=True)
class Staged:
    """Input checked in SQL, ready to write in the import's transaction (`write`)."""

    plan: Plan
    n_rows: int
    tokens: Any
    """Arrow table (request_id, n) of the counted prompts; None when every prompt came with its count."""
    attrs: str = "rebuild"
    """How `write` makes the attrs maps (`_attrs_strategy`)."""


def _text(group: Group, column: str | None) -> str:
    """A column as the text `convert.text` makes of it (integers as their digits; attrs: booleans too)."""
    if column is not None and column in group.constants:
        value = group.constants[column]
        return "CAST(NULL AS VARCHAR)" if value is None else literal(value)
    kind = group.kinds.get(column or "", "null")
    q = ident(column or "")
    as_text = {
        "text": q,
        "int": f"CAST({q} AS VARCHAR)",
        "bool": f"CASE WHEN {q} THEN 'true' WHEN NOT {q} THEN 'false' END",  # router_core attr_text
    }
    return as_text.get(kind, "CAST(NULL AS VARCHAR)")


def _column(plan: Plan, group: Group, field: str) -> tuple[str, str]:
    """The quoted file column feeding `field` in this group, and its kind (`null` when absent)."""
    column = plan.fields.get(field)
    return ident(column or ""), group.kinds.get(column or "", "null")


def _values(plan: Plan, group: Group, attrs: str = "rebuild") -> dict[str, str]:
    """SQL for each request column of one group: the values `generic.load_requests` would store (attrs:
    see `_attrs`)."""
    out = {"request_id": _text(group, plan.fields.get("request_id"))}
    if plan.prefix:
        out["request_id"] = f"({literal(plan.prefix)} || {out['request_id']})"
    q, kind = _column(plan, group, "ts")
    times = {"ts": f"CAST({q} AS TIMESTAMP)", "tstz": f"make_timestamp(epoch_us({q}))"}  # UTC, any zone
    out["ts"] = times.get(kind, "CAST(NULL AS TIMESTAMP)")
    for name in TEXT_FIELDS:
        out[name] = _text(group, plan.fields.get(name))
    for name in TOKEN_FIELDS:
        q, kind = _column(plan, group, name)
        # NaN is missing, as in pandas (DuckDB finds NaN BETWEEN any bounds, so test it first)
        whole = f"NOT isnan({q}) AND {q} = trunc({q}) AND " if kind == "float" else ""
        out[name] = (
            f"CASE WHEN {whole}{q} BETWEEN 0 AND {MAX_TOKENS} THEN CAST({q} AS BIGINT) END"
            if kind in ("int", "float")
            else "CAST(NULL AS BIGINT)"
        )
    out["attrs"] = _attrs(plan, group, attrs)
    return out


def _attrs(plan: Plan, group: Group, attrs: str) -> str:
    """SQL for attrs: `rebuild` builds them as `generic.attrs_column` does (the given entries that have a
    value, plus the other columns, keys sorted: `convert.as_map`); `as_read` keeps the map as read."""
    q, kind = _column(plan, group, "attrs")
    if attrs == "as_read":
        return f"coalesce({q}, {_EMPTY_MAP})" if kind == "map" else _EMPTY_MAP
    given = f"coalesce(map_entries({q}), {_NO_ENTRIES})" if kind == "map" else _NO_ENTRIES
    extras = [(f, c) for f, c in plan.fields.items() if role(f) == "extra"]
    pairs = ", ".join(f"{{'key': {literal(f)}, 'value': {_text(group, c)}}}" for f, c in extras)
    return _built(f"list_concat({given}, [{pairs}])" if extras else given)


def _built(entries: str) -> str:
    """SQL: a map of the entries that have a value, keys sorted (`convert.as_map`)."""
    return f"map_from_entries(list_sort(list_filter({entries}, lambda e: e.value IS NOT NULL)))"


def _sorted(q: str) -> str:
    """SQL: the map `q` is stored as read (NULL, or keys sorted and every value given)."""
    given = f"list_count(map_values({q})) = cardinality({q})"
    return f"({q} IS NULL OR ({given} AND map_keys({q}) = list_sort(map_keys({q}))))"


def _problems(plan: Plan, group: Group) -> str:
    """SQL naming the first reason a row must go through the Python path (NULL for a clean row)."""
    raw_id = _text(group, plan.fields.get("request_id"))
    stripped = f"trim({raw_id}, {literal(WHITESPACE)})"  # an id opening with a printable ASCII is not blank
    blank = f"CASE WHEN ascii({raw_id}) BETWEEN 33 AND 126 THEN false ELSE {stripped} = '' END"
    checks = [("request_id missing or blank", f"{raw_id} IS NULL OR {blank}")]
    sizes = []
    for column, kind in group.kinds.items():  # every column, --map dropped ones too (readers._check_sizes)
        q = ident(column)
        if kind == "text":
            sizes.append(f"strlen({q}) > {MAX_FIELD_BYTES}")
        elif kind == "map":  # its JSON text has at most 6 bytes per byte (\u escapes) and 10 per entry
            each = "lambda e: strlen(e.key) + coalesce(strlen(e.value), 0)"
            chars = f"list_sum(list_transform(map_entries({q}), {each}))"
            sizes.append(f"6 * coalesce({chars}, 0) + 10 * cardinality({q}) + 2 > {MAX_FIELD_BYTES}")
    if sizes:
        checks.append(("a field over 1 MiB", " OR ".join(sizes)))
    for name in TOKEN_FIELDS:
        q, kind = _column(plan, group, name)
        bad = f"{q} < 0 OR {q} > {MAX_TOKENS}"
        if kind == "int":
            checks.append((f"{name} out of range", bad))
        elif kind == "float":
            checks.append(
                (f"{name} not a count", f"NOT isnan({q}) AND (isinf({q}) OR {q} <> trunc({q}) OR {bad})")
            )
    low, high = TS_RANGE
    ts = _values(plan, group)["ts"]
    checks.append(
        ("ts near Python's datetime limits", f"{ts} NOT BETWEEN TIMESTAMP '{low}' AND TIMESTAMP '{high}'")
    )
    q, kind = _column(plan, group, "attrs")
    if kind == "map":  # DuckDB reads such a map but cannot store it; Python keeps the last value
        checks.append(("attrs repeats a key", f"list_unique(map_keys({q})) < cardinality({q})"))
    clash = [
        f"({_text(group, c)} IS NOT NULL AND list_contains(map_keys({q}), {literal(f)}))"
        for f, c in plan.fields.items()
        if role(f) == "extra" and kind == "map"
    ]
    if clash:
        checks.append(("a column is also an attrs key", " OR ".join(clash)))
    return "CASE " + " ".join(f"WHEN {cond} THEN {literal(label)}" for label, cond in checks) + " END"


def relation(plan: Plan, columns: list[str], attrs: str = "rebuild") -> str:
    """A query giving `columns` of every input row (attrs: see `_attrs`)."""
    parts = []
    for group in plan.groups:
        values = _values(plan, group, attrs)
        parts.append(f"SELECT {', '.join(f'{values[c]} AS {c}' for c in columns)} FROM {group.read()}")
    return " UNION ALL ".join(parts)


def _checked(plan: Plan) -> str:
    """A query giving, per input row, only small values (the check aggregates them; wide columns such as
    the prompt would be copied through DuckDB's plan for the DISTINCT): the id's hash, `_problems`, whether
    a prompt lacks its count, and whether the attrs map is stored as read (`_sorted`) with its hash."""
    parts = []
    for group in plan.groups:
        values = _values(plan, group, "as_read")
        q, kind = _column(plan, group, "attrs")
        select = [
            f"hash({values['request_id']}) AS id_hash",
            f"{_problems(plan, group)} AS problem",
            f"({values['prompt_tokens']} IS NULL AND {values['prompt']} IS NOT NULL) AS uncounted",
            f"{_sorted(q) if kind == 'map' else 'true'} AS sorted",
            f"hash({values['attrs']}) AS map_hash",
        ]
        parts.append(f"SELECT {', '.join(select)} FROM {group.read()}")
    return " UNION ALL ".join(parts)


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
            f"approx_count_distinct(map_hash) FILTER (WHERE NOT sorted) FROM ({_checked(planned)})",
        )
    except duckdb.Error as exc:  # invalid UTF-8, a damaged page, a map repeating a key: Python says where
        return Fallback(f"DuckDB cannot read the rows: {exc}")
    if problems:
        return Fallback("rows the Python path refuses or converts itself: " + "; ".join(problems))
    if distinct < n:
        ids = relation(planned, ["request_id"])
        if _one(cur, f"SELECT count(DISTINCT request_id) FROM ({ids})")[0] < n:
            return Fallback("a request_id repeats")
    tokens = _count_tokens(cur, planned, int(missing), progress) if missing else None
    return Staged(planned, int(n), tokens, _attrs_strategy(planned, int(unsorted), int(maps or 0)))


def _attrs_strategy(plan: Plan, unsorted: int, maps: int) -> str:
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
    (limit,) = _one(cur, "SELECT current_setting('memory_limit')")
    cur.execute("RESET memory_limit")
    # the setting reads back rounded (18.8 GiB): restore DuckDB's default by RESET, not by its rounded text
    restore = (
        "RESET memory_limit"
        if _one(cur, "SELECT current_setting('memory_limit')")[0] == limit
        else (f"SET memory_limit = {literal(str(limit))}")
    )
    cur.execute("SET SESSION preserve_insertion_order = false")
    cur.execute(f"SET memory_limit = '{IMPORT_MEMORY_LIMIT}'")
    try:
        yield
    finally:
        cur.execute(restore)
        cur.execute("RESET SESSION preserve_insertion_order")


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
        cur.execute(
            f"CREATE TEMP TABLE _routelab_attrs AS SELECT raw, {_built('map_entries(raw)')} AS fixed "
            f"FROM (SELECT DISTINCT attrs AS raw FROM ({maps}) WHERE NOT {_sorted('attrs')})"
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
        cur.execute("DROP TABLE _routelab_attrs")
    return result


def _merge(
    cur: duckdb.DuckDBPyConnection, staged: Staged, incoming: str, import_id: str, on_conflict: OnConflict
) -> WriteResult:
    on = "t.request_id = i.request_id"
    ids = relation(staged.plan, ["request_id"])
    stored = bool(_one(cur, f"SELECT count(*) FROM ({ids}) i SEMI JOIN requests t ON {on}")[0])
    identical = conflicting = 0
    if stored:  # compare content only when ids meet: a first import reads the ids alone
        differs = " OR ".join(f"t.{c} IS DISTINCT FROM i.{c}" for c in COLUMNS if c != "request_id")
        identical, conflicting = _one(
            cur,
            f"SELECT count(*) FILTER (WHERE NOT ({differs})), count(*) FILTER (WHERE {differs}) "
            f"FROM {incoming} i JOIN requests t ON {on}",
        )
        if conflicting and on_conflict == "error":
            sample = cur.execute(
                f"SELECT i.request_id FROM {incoming} i JOIN requests t ON {on} WHERE {differs} LIMIT 5"
            ).fetchall()
            raise ConflictError(  # tables.write's message
                f"requests: {conflicting} row(s) already in the store with different content "
                f"(e.g. {', '.join(str(r[0]) for r in sample)}); pass --on-conflict replace to overwrite "
                "them or --on-conflict skip to keep the stored rows"
            )
        if conflicting and on_conflict == "replace":
            cur.execute(f"DELETE FROM requests t USING {incoming} i WHERE {on} AND ({differs})")
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
    return [str(r[0]) for r in cur.execute(relation(staged.plan, ["request_id"])).fetchall()]
