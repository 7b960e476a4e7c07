"""Traffic and decisions as partitioned Parquet: export the requests table or a version's decisions, and the
manifest that describes an export.

`export_requests` writes the request columns the engines and `import --format requests` read
(`router_core.sql.REQUEST_COLUMNS`) with DuckDB's `COPY ... (FORMAT PARQUET, PARTITION_BY ...)`, as a hive
directory (`DIR/week=2024-05-06/part_0.parquet`, one folder per ISO week of `ts`, monday first;
`week=__HIVE_DEFAULT_PARTITION__` holds requests without a time) or as plain files (`--partition-by none`).
The stored `import_id` stays behind: importing the directory records an import of its own.
`export_decisions` writes a version's decisions the same way, in the columns a Ray replay writes.

Beside the data goes `_routelab.json` (readers skip names starting with `_`): the export's files with their
row counts, and the partition columns that are derived from the data (`week` repeats `ts`), so an import
drops them instead of keeping them as attrs, and refuses a directory that lost or gained a file.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from routelab.datasets.errors import DatasetError, ImportFileError
from routelab.datasets.store import Store, now_utc
from routelab.router_core.sql import DECISION_COLUMNS

PartitionBy = Literal["week", "none"]
PARTITIONS: tuple[str, ...] = ("week", "none")
MANIFEST = "_routelab.json"
#: What a partition folder's value is for a NULL (hive's and DuckDB's convention).
HIVE_NULL = "__HIVE_DEFAULT_PARTITION__"
#: The columns of exported decisions: those `replay --engine ray --output` writes.
DECISION_EXPORT_COLUMNS: tuple[str, ...] = (
    "router",
    "request_id",
    "run_id",
    *(c for c in DECISION_COLUMNS if c not in ("router", "request_id")),
)
#: Largest Parquet file `--partition-by none` writes before starting the next one.
FILE_SIZE = "256MB"


@dataclass(frozen=True)
class ParquetExport:
    """What one export wrote."""

    directory: str
    partition_by: str
    where: str | None
    files: tuple[str, ...]
    """Paths relative to `directory`, sorted."""
    rows: int
    bytes: int
    duration_s: float

    def to_dict(self) -> dict[str, Any]:
        """The `--json` summary."""
        return {**asdict(self), "files": list(self.files), "n_files": len(self.files)}


def parquet_files(directory: Path) -> list[Path]:
    """The `.parquet` files under `directory`, sorted by relative path; hidden and `_` names skipped."""
    out = []
    for path in directory.rglob("*.parquet"):
        rel = path.relative_to(directory).parts
        if path.is_file() and not any(p.startswith((".", "_")) for p in rel):
            out.append(path)
    return sorted(out, key=lambda p: p.relative_to(directory).as_posix())


def partition_values(directory: Path, file: Path) -> dict[str, str | None]:
    """The hive `key=value` folders between `directory` and `file` (URL-decoded; hive's NULL → None)."""
    from urllib.parse import unquote

    values: dict[str, str | None] = {}
    for part in file.relative_to(directory).parts[:-1]:
        key, sep, value = part.partition("=")
        if sep and key:
            values[unquote(key)] = None if value == HIVE_NULL else unquote(value)
    return values


def read_manifest(directory: Path) -> dict[str, Any] | None:
    """The export manifest of a directory (None when it has none).

    Raises:
        ImportFileError: the manifest is not a JSON object.
    """
    path = directory / MANIFEST
    if not path.is_file():
        return None
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ImportFileError(str(path), None, f"not a routelab manifest ({exc}); export again") from exc
    if not isinstance(value, dict):
        raise ImportFileError(str(path), None, "not a routelab manifest (expected a JSON object)")
    return value


def export_sql(
    columns: list[str], predicate: str, target: str, partition_by: str, source: str = "requests"
) -> str:
    """The `COPY` statement writing the selected rows of `source` (the requests, or a relation with their
    `ts`) to `target` (a directory), from code-given names."""
    cols = ", ".join(columns)
    quoted = target.replace("'", "''")
    if partition_by == "week":
        select = (
            f"SELECT {cols}, strftime(date_trunc('week', ts), '%Y-%m-%d') AS week FROM {source} "
            f"WHERE {predicate} ORDER BY ts, request_id"
        )
        options = "FORMAT PARQUET, PARTITION_BY (week), FILENAME_PATTERN 'part_{i}'"
    elif partition_by == "none":
        select = f"SELECT {cols} FROM {source} WHERE {predicate} ORDER BY ts, request_id"
        options = f"FORMAT PARQUET, FILE_SIZE_BYTES '{FILE_SIZE}', FILENAME_PATTERN 'part_{{i}}'"
    else:
        raise DatasetError(f"--partition-by {partition_by!r}: choose {' or '.join(PARTITIONS)}")
    return f"COPY ({select}) TO '{quoted}' ({options})"


def require_empty_dir(directory: Path, what: str = "--parquet") -> None:
    """Refuse a target that is a file or a directory holding anything (old files would mix in).

    Raises:
        DatasetError: naming the option and the directory.
    """
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        problem = "is not a directory" if not directory.is_dir() else "is not empty"
        raise DatasetError(f"{what} {directory} {problem}; remove it or choose a new directory")


def export_requests(
    store: Store, directory: str | os.PathLike[str], where: str | None = None, partition_by: str = "week"
) -> ParquetExport:
    """Write the (selected) stored requests to `directory` as Parquet, with its manifest.

    Args:
        store: the open store.
        directory: a new or empty directory.
        where: a rule-language condition selecting requests (default: all), as `routelab replay --where`.
        partition_by: `week` (hive folders by the week of `ts`) or `none`.

    Raises:
        DatasetError: a bad `where` or `partition_by`, or a directory that already holds files.
    """
    from routelab.datasets.replay import REQUEST_FIELDS, request_filter

    t0 = time.perf_counter()
    target = Path(directory)
    predicate = request_filter(where)
    sql = export_sql(REQUEST_FIELDS, predicate, str(target), partition_by)  # checks partition_by first
    require_empty_dir(target)
    rows = int(store.scalar(f"SELECT count(*) FROM requests WHERE {predicate}") or 0)
    return _write(
        store, target, sql, rows, {"table": "requests", "columns": REQUEST_FIELDS}, where, partition_by, t0
    )


def _write(
    store: Store,
    target: Path,
    sql: str,
    rows: int,
    head: dict[str, Any],
    where: str | None,
    partition_by: str,
    t0: float,
) -> ParquetExport:
    """Run the export's `COPY` (when it has rows) into `target`, then write its manifest (`head` first)."""
    target.mkdir(parents=True, exist_ok=True)
    if rows:
        store.execute(sql)
    files = parquet_files(target)
    rel = tuple(f.relative_to(target).as_posix() for f in files)
    manifest = {
        **head,
        "format_version": 1,
        "partition_by": partition_by,
        "derived_columns": ["week"] if partition_by == "week" else [],
        "where": where,
        "rows": rows,
        "files": [{"path": p, "rows": n} for p, n in zip(rel, _row_counts(files), strict=True)],
        "exported_at": now_utc().isoformat(),
        "store": str(store.path),
    }
    (target / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    size = sum(f.stat().st_size for f in files)
    return ParquetExport(str(target), partition_by, where, rel, rows, size, time.perf_counter() - t0)


def export_decisions(
    store: Store,
    ref: str,
    directory: str | os.PathLike[str],
    where: str | None = None,
    partition_by: str = "week",
) -> ParquetExport:
    """Write version `ref`'s stored decisions (of the requests `where` selects) to `directory` as Parquet.

    The columns are those `replay --engine ray --output` writes (`DECISION_EXPORT_COLUMNS`), partitioned by
    the week of the request's `ts` (decisions whose request is not stored go to the NULL week), with a
    manifest like `export_requests`'s.

    Raises:
        NotFoundError: `ref` is not a registered version.
        DatasetError: the version has no decisions, a bad `where` or `partition_by`, or a directory that
            already holds files.
    """
    from routelab.datasets import routers
    from routelab.datasets.replay import request_filter
    from routelab.router_core.sql_expr import q

    t0 = time.perf_counter()
    routers.get(store, ref)
    target = Path(directory)
    predicate = request_filter(where)
    chosen = (
        "TRUE"
        if predicate == "TRUE"
        else f"request_id IN (SELECT request_id FROM requests WHERE {predicate})"
    )
    source = (
        "(SELECT d.*, r.ts FROM decisions d LEFT JOIN requests r ON r.request_id = d.request_id "
        f"WHERE d.router = {q(ref)})"
    )
    sql = export_sql(list(DECISION_EXPORT_COLUMNS), chosen, str(target), partition_by, source)
    require_empty_dir(target)
    if not store.scalar("SELECT count(*) FROM decision_rows WHERE router = ?", [ref]):
        raise DatasetError(f"no decisions of {ref} in {store.path}; run `routelab replay {ref}` first")
    rows = int(store.scalar(f"SELECT count(*) FROM {source} WHERE {chosen}") or 0)
    head = {"table": "decisions", "router": ref, "columns": list(DECISION_EXPORT_COLUMNS)}
    return _write(store, target, sql, rows, head, where, partition_by, t0)


def _row_counts(files: list[Path]) -> list[int]:
    import pyarrow.parquet as pq

    return [int(pq.read_metadata(f).num_rows) for f in files]
