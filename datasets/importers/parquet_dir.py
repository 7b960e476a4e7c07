"""Reading a directory of Parquet files as one import: hive partitions, the export manifest, file identity.

The files (every `*.parquet` below the directory, hidden and `_` names skipped) are read in the order of
their relative paths; a `key=value` folder adds the column `key` (text; hive's NULL folder gives None).
When the directory holds a routelab export manifest (`datasets.parquet.MANIFEST`), its derived partition
columns (`week`) are dropped, and a file missing, added or holding another row count than the manifest says
fails the import before anything is written. Rows are numbered on across the files; errors name the file
and the row in it (`DIR/week=2024-05-06/part_0.parquet:17: ts: ...`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from routelab.datasets.errors import ImportFileError
from routelab.datasets.importers.readers import RawTable, arrow_frame
from routelab.datasets.parquet import MANIFEST, parquet_files, partition_values, read_manifest


def _files(name: str, directory: Path) -> list[Path]:
    files = parquet_files(directory)
    if not files:
        raise ImportFileError(
            name, None, "no .parquet files in this directory (files in key=value folders are read too)"
        )
    return files


def _derived(manifest: dict[str, Any] | None) -> set[str]:
    return {str(c) for c in (manifest or {}).get("derived_columns") or []}


def fingerprint(directory: Path) -> bytes:
    """What identifies a directory's content for the import id: each file's relative path and SHA-256.

    Raises:
        ImportFileError: the directory holds no Parquet file, or a file cannot be read.
    """
    name = str(directory)
    lines = []
    for file in _files(name, directory):
        rel = file.relative_to(directory).as_posix()
        digest = hashlib.sha256()
        try:
            with file.open("rb") as fh:
                while chunk := fh.read(1 << 20):
                    digest.update(chunk)
        except OSError as exc:
            raise ImportFileError(
                f"{name}/{rel}", None, f"cannot read the file: {exc.strerror or exc}"
            ) from exc
        lines.append(f"{rel}\t{digest.hexdigest()}")
    derived = sorted(_derived(read_manifest(directory)))
    lines.append("derived_columns\t" + json.dumps(derived))
    return "\n".join(lines).encode("utf-8")


def _check_listed(name: str, rels: list[str], manifest: dict[str, Any]) -> dict[str, int | None]:
    entries = manifest.get("files")
    if not isinstance(entries, list) or not all(isinstance(e, dict) and "path" in e for e in entries):
        raise ImportFileError(f"{name}/{MANIFEST}", None, "`files` must be a list of {path, rows} objects")
    listed = {str(e["path"]): e.get("rows") for e in entries}
    missing = sorted(set(listed) - set(rels))
    if missing:
        raise ImportFileError(
            f"{name}/{missing[0]}",
            None,
            f"listed in {MANIFEST} but missing ({len(missing)} file(s) missing); copy the whole directory",
        )
    extra = sorted(set(rels) - set(listed))
    if extra:
        raise ImportFileError(
            f"{name}/{extra[0]}", None, f"not part of the export {MANIFEST} describes; move it out"
        )
    return {k: (int(v) if isinstance(v, int) else None) for k, v in listed.items()}


@dataclass(frozen=True)
class Listing:
    """A directory's Parquet files and what its manifest says about them."""

    files: list[Path]
    """The files, sorted by relative path."""
    rels: list[str]
    """Their paths relative to the directory (POSIX form)."""
    derived: set[str]
    """Partition columns the manifest marks as derived from the data (dropped on import)."""
    expected: dict[str, int | None]
    """Row count per relative path, as the manifest lists it (empty without a manifest)."""


def listing(name: str, directory: Path) -> Listing:
    """The files to import from `directory`, checked against its manifest when it has one.

    Raises:
        ImportFileError: no Parquet file, an invalid manifest, or a file the manifest does not account for.
    """
    name = name.rstrip("/")
    files = _files(name, directory)
    manifest = read_manifest(directory)
    rels = [f.relative_to(directory).as_posix() for f in files]
    expected = _check_listed(name, rels, manifest) if manifest is not None else {}
    return Listing(files, rels, _derived(manifest), expected)


def read_parquet_dir(name: str, directory: Path) -> RawTable:
    """Read every Parquet file below `directory` into one `RawTable` (see the module docstring).

    Raises:
        ImportFileError: no Parquet file, an unreadable file, a file the manifest does not account for,
            or a folder key that is also a column of the file.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    name = name.rstrip("/")
    listed = listing(name, directory)
    derived, expected = listed.derived, listed.expected
    tables, parts, start = [], [], 1
    for file, rel in zip(listed.files, listed.rels, strict=True):
        where = f"{name}/{rel}"
        try:
            table = pq.ParquetFile(file).read()
        except (pa.ArrowException, OSError) as exc:
            raise ImportFileError(where, None, f"not a readable Parquet file (truncated?): {exc}") from exc
        if expected.get(rel) is not None and expected[rel] != table.num_rows:
            raise ImportFileError(
                where, None, f"has {table.num_rows:,} rows, {MANIFEST} says {expected[rel]:,}; export again"
            )
        table = table.drop_columns([c for c in table.column_names if c in derived])
        for key, value in partition_values(directory, file).items():
            if key in derived:
                continue
            if key in table.column_names:
                raise ImportFileError(where, key, "is both a folder (key=value) and a column of the file")
            table = table.append_column(key, pa.array([value] * table.num_rows, pa.string()))
        parts.append((start, rel))
        start += table.num_rows
        tables.append(table)
    # raw values, not one Arrow table: a column may be typed differently in two files (text here, a
    # timestamp there); the format's converters check each value and name the file and row at fault
    frames = [arrow_frame(t) for t in tables]
    columns = list(dict.fromkeys(c for f in frames for c in f.columns))
    for frame in frames:
        for col in columns:
            if col not in frame.columns:
                frame[col] = pd.Series([None] * len(frame), dtype=object)
    whole = pd.concat([f[columns] for f in frames], ignore_index=True)
    lines = np.arange(1, len(whole) + 1, dtype=np.int64)
    return RawTable(columns, whole, lines, files=tuple(parts))
