"""Planning the SQL import of Parquet from file metadata: which files, which column feeds which field, and
whether SQL can convert every column exactly as the Python path does (see `parquet_sql`).

A column's values are sorted into kinds, once as pyarrow gives them to the Python path (`arrow_kind`) and
once as DuckDB reads them (`DUCKDB_KINDS`); a file goes through SQL only when both agree and its role (the
field it becomes, after `--map`) converts that kind in SQL (`ROLES`). Anything else is a `Fallback`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from routelab.datasets.importers.generic import TEXT_FIELDS
from routelab.datasets.importers.parquet_dir import listing
from routelab.datasets.importers.readers import MAX_FIELD_BYTES
from routelab.datasets.importers.source import DROP
from routelab.datasets.parquet import partition_values

TOKEN_FIELDS = ("prompt_tokens", "expected_output_tokens")
#: DuckDB errors that come from the files' content (a damaged page, invalid UTF-8): the Python path reads
#: the files again and says what is wrong where.
READ_ERRORS = (duckdb.InvalidInputException, duckdb.ConversionException, duckdb.IOException)
_INT = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT")
#: DuckDB's type name → the kind of its values (`arrow_kind` gives pyarrow's side).
DUCKDB_KINDS = {
    "VARCHAR": "text",
    "BOOLEAN": "bool",
    "FLOAT": "float",
    "DOUBLE": "float",
    "TIMESTAMP": "ts",
    "TIMESTAMP WITH TIME ZONE": "tstz",
    "MAP(VARCHAR, VARCHAR)": "map",
    '"NULL"': "null",
    **dict.fromkeys(_INT, "int"),
}
#: The kinds each role converts in SQL exactly as `convert` does in Python; other kinds fall back.
ROLES = {
    "request_id": {"text", "int", "null"},
    "text": {"text", "int", "null"},  # integers become their digits (convert._text)
    "ts": {"ts", "tstz", "null"},  # text times: pandas' ISO 8601 parser decides, in Python
    "tokens": {"int", "float", "null"},  # numbers as text: Python
    "attrs": {"map", "null"},
    "extra": {"text", "int", "bool", "null"},  # floats: Python's repr makes the attr text
    "dropped": {"text", "int", "float", "bool", "ts", "tstz", "map", "null", "flat"},  # sizes only
}


@dataclass(frozen=True)
class Fallback:
    """Why the Python path imports this input instead."""

    reason: str


@dataclass(frozen=True)
class Group:
    """Files with one schema and the same folder values, read by one `read_parquet`."""

    files: tuple[str, ...]
    """Absolute paths."""
    kinds: dict[str, str]
    """The files' own column → kind (derived partition columns left out)."""
    constants: dict[str, str | None]
    """Columns from `key=value` folders: text, or None for hive's NULL folder."""

    def read(self) -> str:
        """The `read_parquet` call over the files (folders are not parsed: `constants` holds them)."""
        return f"read_parquet([{', '.join(literal(f) for f in self.files)}], hive_partitioning = false)"


@dataclass(frozen=True)
class Plan:
    """How SQL reads one input."""

    groups: tuple[Group, ...]
    n_rows: int
    """Rows in the files' metadata."""
    fields: dict[str, str]
    """Field after `--map` → the file column it comes from (dropped columns left out)."""
    prefix: str
    """The `id_prefix` option."""


def literal(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def ident(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def takes(path: Path) -> bool:
    """Whether `path` is Parquet (a directory of it, or a .parquet file)."""
    return path.is_dir() or path.suffix.lower() == ".parquet"


def role(field: str) -> str:
    """The conversion a field gets: request_id, text, ts, tokens, attrs, or extra (an attr)."""
    if field in ("request_id", "ts", "attrs"):
        return field
    return "text" if field in TEXT_FIELDS else "tokens" if field in TOKEN_FIELDS else "extra"


def arrow_kind(t: Any) -> str:
    """The kind of a pyarrow type; `flat`: a scalar SQL does not convert, `nested`: no size bound in SQL."""
    import pyarrow as pa

    if pa.types.is_dictionary(t):
        t = t.value_type
    text = (pa.types.is_string, pa.types.is_large_string, pa.types.is_string_view)
    if any(f(t) for f in text):
        return "text"
    if pa.types.is_map(t):
        return "map" if all(any(f(x) for f in text) for x in (t.key_type, t.item_type)) else "nested"
    if pa.types.is_timestamp(t):  # nanoseconds: pandas and DuckDB may cut them differently
        return "flat" if t.unit == "ns" else "tstz" if t.tz else "ts"
    checks = (
        (pa.types.is_null, "null"),
        (pa.types.is_boolean, "bool"),
        (pa.types.is_integer, "int"),
        (lambda x: pa.types.is_float32(x) or pa.types.is_float64(x), "float"),
        (pa.types.is_nested, "nested"),
    )
    return next((kind for check, kind in checks if check(t)), "flat")


def _files(path: Path) -> list[tuple[Path, dict[str, str | None], int | None, set[str]]]:
    """(file, folder values, rows the manifest lists, derived columns) per file; listing errors raise."""
    if not path.is_dir():
        return [(path, {}, None, set())]
    listed = listing(str(path), path)
    return [
        (f, partition_values(path, f), listed.expected.get(rel), listed.derived)
        for f, rel in zip(listed.files, listed.rels, strict=True)
    ]


def plan(
    cur: duckdb.DuckDBPyConnection, path: Path, mapping: Mapping[str, str], options: Mapping[str, Any]
) -> Plan | Fallback:
    """Plan the SQL read of `path` from file metadata (no rows read), or say why the Python path must.

    Raises:
        ImportFileError: the directory's listing or manifest is refused (as the Python path refuses it).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    groups: dict[Any, tuple[dict[str, str], dict[str, str | None], list[str]]] = {}
    columns: dict[str, None] = {}  # the ordered union parquet_dir builds
    n_rows = 0
    for file, folders, expected, derived in _files(path):
        try:
            with pq.ParquetFile(file) as meta:
                schema, rows = meta.schema_arrow, meta.metadata.num_rows
        except (pa.ArrowException, OSError) as exc:
            return Fallback(f"{file}: not readable by pyarrow ({exc})")
        if expected is not None and expected != rows:
            return Fallback(f"{file}: {rows} rows, the manifest says {expected}")
        own = [f for f in schema if f.name not in derived]
        kinds = {f.name: arrow_kind(f.type) for f in own}
        constants = {k: v for k, v in folders.items() if k not in derived}
        if len(kinds) < len(own) or set(kinds) & set(constants):
            return Fallback(f"{file}: a column name repeats, or is also a folder key")
        if any(v is not None and len(v.encode("utf-8")) > MAX_FIELD_BYTES for v in constants.values()):
            return Fallback(f"{file}: a folder value over {MAX_FIELD_BYTES:,} bytes")
        absolute = os.path.abspath(file)
        if any(c in absolute for c in "*?[{\0"):  # read_parquet expands globs
            return Fallback(f"{file}: glob characters in the path")
        key = (tuple(str(f.type) for f in own), tuple(kinds), tuple(sorted(constants.items())))
        groups.setdefault(key, (kinds, constants, []))[2].append(absolute)
        columns.update(dict.fromkeys([*kinds, *constants]))
        n_rows += rows
    names = list(columns)
    if n_rows == 0:
        return Fallback("no rows")
    if len({n.lower() for n in names}) < len(names) or any(not n or "\0" in n for n in names):
        return Fallback("column names DuckDB cannot tell apart (names differing only in case, or empty)")
    if any(len(n.encode("utf-8")) > MAX_FIELD_BYTES for n in names):
        return Fallback(f"a column name over {MAX_FIELD_BYTES:,} bytes")
    fields = _mapped(names, mapping)
    if fields is None or "request_id" not in fields:
        return Fallback("--map refused, or no request_id column")
    done = tuple(Group(tuple(files), kinds, constants) for kinds, constants, files in groups.values())
    result = Plan(done, n_rows, fields, str(options.get("id_prefix") or ""))
    for group in done:
        problem = _check_kinds(cur, result, group)
        if problem is not None:
            return Fallback(problem)
    return result


def _mapped(columns: list[str], mapping: Mapping[str, str]) -> dict[str, str] | None:
    """Field → file column after `--map`, as `Source` applies it; None where `Source` raises."""
    targets = [d for d in mapping.values() if d != DROP]
    if len(set(targets)) < len(targets):
        return None
    for src, dst in mapping.items():
        if src not in columns or (dst != DROP and dst in columns and mapping.get(dst, dst) == dst):
            return None
    renames = {s: d for s, d in mapping.items() if d != DROP}
    return {renames.get(c, c): c for c in columns if mapping.get(c) != DROP}


def _check_kinds(cur: duckdb.DuckDBPyConnection, plan: Plan, group: Group) -> str | None:
    """Why a group cannot go through SQL: a kind its role does not take, or DuckDB reading it otherwise."""
    roles = {column: role(field) for field, column in plan.fields.items()}
    folders = [(c, "null" if v is None else "text") for c, v in group.constants.items()]
    for column, kind in [*group.kinds.items(), *folders]:
        used = roles.get(column, "dropped")
        if kind not in ROLES[used]:
            return f"column {column!r}: {kind} values as {used} are converted by the Python path"
    try:
        described = cur.execute(f"DESCRIBE SELECT * FROM {group.read()}").fetchall()
    except READ_ERRORS as exc:
        return f"DuckDB cannot read {group.files[0]}: {exc}"
    duck = {str(r[0]): DUCKDB_KINDS.get(str(r[1]), str(r[1])) for r in described}
    for column, kind in group.kinds.items():
        if kind != "flat" and duck.get(column) != kind:
            return f"column {column!r}: pyarrow reads {kind}, DuckDB {duck.get(column)}"
    return None
