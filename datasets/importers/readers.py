"""Reading an import file into raw rows: JSON Lines, CSV (both optionally gzipped) and Parquet.

Every reader checks what all formats share: the gzip stream is complete, the text is UTF-8, the file has
rows, no field exceeds `MAX_FIELD_BYTES`. Values stay raw (JSON types for JSON Lines, text for CSV, Python
objects for Parquet, a MAP as a dict); `None` means missing (CSV's empty cell included). Lines are 1-based
lines of the file where each row starts (the header is line 1 of a CSV); Parquet rows are numbered from 1.
A directory of Parquet files (hive partitions, as `routelab export requests --parquet` writes) reads as one
table: see `parquet_dir`.
"""

from __future__ import annotations

import csv
import io
import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from routelab.datasets.errors import ImportFileError
from routelab.datasets.importers.progress import progress_bar

#: Largest field accepted, in UTF-8 bytes (prompts up to 1 MiB are fine).
MAX_FIELD_BYTES = 1 << 20
KINDS = ("jsonl", "csv", "parquet")
_SUFFIXES = {".jsonl": "jsonl", ".json": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".parquet": "parquet"}


_ARRAY_HINT = "; give one JSON object per line (JSON Lines), not a JSON array"
#: The problem of a JSON value nested deeper than Python's parser goes (about 1,000 levels).
DEEP_JSON = "JSON nested too deeply (Python's parser stops at about 1,000 levels); flatten the value"


@dataclass
class RawTable:
    """A file's rows as raw values, one column per field, with the line each row starts on."""

    columns: list[str]
    frame: pd.DataFrame
    lines: np.ndarray
    problems: list[tuple[int, str | None, str]] = field(default_factory=list)
    """Row problems found while reading: (row position, field, problem)."""
    files: tuple[tuple[int, str], ...] = ()
    """For a directory: (first line, path relative to it) of each file; lines run on across the files."""

    def where(self, name: str, line: int) -> str:
        """`name:line`, or for a directory `name/part/file.parquet:row` (rows from 1 in each file)."""
        if not self.files:
            return f"{name}:{line}"
        from bisect import bisect_right

        start, rel = self.files[max(0, bisect_right([s for s, _ in self.files], line) - 1)]
        return f"{name.rstrip('/')}/{rel}:{line - start + 1}"

    def rows(self) -> Iterator[tuple[int, dict[str, Any]]]:
        """Yield (line, row as a dict of raw values) in file order."""
        for pos, values in enumerate(self.frame.itertuples(index=False, name=None)):
            yield int(self.lines[pos]), dict(zip(self.columns, values, strict=True))


def file_kind(path: Path) -> tuple[str, bool]:
    """The reader for a file name, and whether it is gzipped; `.gz` works for JSON Lines and CSV."""
    if path.is_dir():
        return "parquet", False
    suffixes = [s.lower() for s in path.suffixes]
    gz = bool(suffixes) and suffixes[-1] == ".gz"
    ext = suffixes[-2] if gz and len(suffixes) > 1 else (suffixes[-1] if suffixes and not gz else "")
    kind = _SUFFIXES.get(ext)
    if kind is None or (gz and kind == "parquet"):
        raise ImportFileError(
            str(path),
            None,
            "unknown file type; expected .jsonl, .json, .csv (each optionally .gz) or .parquet",
        )
    return kind, gz


def read_bytes(path: Path) -> bytes:
    """The file's bytes, or an error naming the file; for a directory, its `parquet_dir.fingerprint`."""
    if path.is_dir():
        from routelab.datasets.importers.parquet_dir import fingerprint

        return fingerprint(path)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ImportFileError(str(path), None, "no such file") from None
    except OSError as exc:
        raise ImportFileError(str(path), None, f"cannot read the file: {exc.strerror or exc}") from exc


def gunzip(name: str, data: bytes) -> bytes:
    """Decompress every gzip member; a stream that stops early names the last complete line."""
    out: list[bytes] = []
    rest = data
    while rest:
        dec = zlib.decompressobj(wbits=31)
        try:
            out.append(dec.decompress(rest))
        except zlib.error as exc:
            raise ImportFileError(name, None, f"not a valid gzip file: {exc}") from exc
        if not dec.eof:
            line = b"".join(out).count(b"\n") + 1
            raise ImportFileError(
                f"{name}:{line}",
                None,
                "the gzip stream ends early (file truncated?); the data stops in this line",
            )
        rest = dec.unused_data.lstrip(b"\0")
    return b"".join(out)


def decode(name: str, data: bytes) -> str:
    """UTF-8 text (a leading byte-order mark dropped); invalid bytes name their line."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ImportFileError(
            f"{name}:{line}",
            None,
            f"invalid UTF-8 (byte 0x{data[exc.start]:02x} at column {column}); save the file as UTF-8",
        ) from None
    return text.removeprefix("\ufeff")


def _size(value: Any) -> int:
    if isinstance(value, str):
        return len(value) if value.isascii() else len(value.encode("utf-8"))
    if isinstance(value, list | dict):
        return len(json.dumps(value, ensure_ascii=False).encode("utf-8"))
    return 0


def _check_sizes(table: RawTable) -> None:
    """Record every field over `MAX_FIELD_BYTES` as a row problem (vectorised pre-filter on length)."""
    for name in table.columns:
        col = table.frame[name]
        lengths = col.map(lambda v: len(v) if isinstance(v, str | list | dict) else 0)
        # a character is at most 4 bytes, and a JSON list/dict is at least as long as its element count
        suspects = np.flatnonzero(
            (lengths.to_numpy() * 4 > MAX_FIELD_BYTES)
            | col.map(lambda v: isinstance(v, list | dict)).to_numpy()
        )
        for pos in suspects:
            size = _size(col.iat[pos])
            if size > MAX_FIELD_BYTES:
                table.problems.append(
                    (
                        int(pos),
                        name,
                        f"value is {size:,} bytes; the limit is {MAX_FIELD_BYTES:,} bytes (1 MiB)",
                    )
                )


def _check_column_names(name: str, table: RawTable, kind: str) -> None:
    """Refuse a column name over `MAX_FIELD_BYTES`: it would become an attr key, past the field limit."""
    for pos, column in enumerate(table.columns):
        size = len(column.encode("utf-8", errors="surrogatepass"))
        if size <= MAX_FIELD_BYTES:
            continue
        where = name
        if kind == "csv":
            where = f"{name}:1"  # the header
        elif kind == "jsonl":  # the first row that gives the key a value
            given = table.frame.iloc[:, pos].notna().to_numpy()
            where = f"{name}:{int(table.lines[given.argmax()])}"
        raise ImportFileError(
            where,
            None,
            f"column name {shown_name(column)} is {size:,} bytes; the limit is {MAX_FIELD_BYTES:,} bytes",
        )


def shown_name(column: str, limit: int = 40) -> str:
    """A column name for an error message, shortened."""
    text = repr(column)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_surrogates(where: str, row: dict[str, Any]) -> None:
    """Refuse a key or value holding a lone surrogate (a `\\ud800`-style escape without its pair)."""
    for key, value in row.items():
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        if not (_encodable(key) and _encodable(text)):
            field = key if _encodable(key) else None
            raise ImportFileError(
                where,
                field,
                "a \\uD800-\\uDFFF escape without its pair (a lone surrogate) is not text; fix the escape",
            )


def _read_jsonl(name: str, text: str, progress: bool) -> RawTable:
    records: list[dict[str, Any]] = []
    lines: list[int] = []
    raw_lines = text.split("\n")
    bar = progress_bar(len(raw_lines), progress, "reading")
    for number, line in enumerate(raw_lines, start=1):
        bar.update(1)
        stripped = line.strip()
        if not stripped:
            continue
        try:
            value = json.loads(stripped)
        except json.JSONDecodeError as exc:
            hint = " (the file may be truncated)" if number == len(raw_lines) else ""
            if stripped.startswith("["):
                hint = _ARRAY_HINT
            raise ImportFileError(
                f"{name}:{number}", None, f"invalid JSON at column {exc.colno}: {exc.msg}{hint}"
            ) from None
        except RecursionError:  # json's parser recurses once per level of [ or {
            raise ImportFileError(f"{name}:{number}", None, DEEP_JSON) from None
        if not isinstance(value, dict):
            hint = _ARRAY_HINT if isinstance(value, list) else ""
            raise ImportFileError(
                f"{name}:{number}", None, f"expected a JSON object, got {type(value).__name__}{hint}"
            )
        if "\\u" in stripped:  # only escapes can make a lone surrogate, which no UTF-8 store can hold
            _check_surrogates(f"{name}:{number}", value)
        records.append(value)
        lines.append(number)
    bar.close()
    columns = list(dict.fromkeys(k for rec in records for k in rec))
    data = {c: [rec.get(c) for rec in records] for c in columns}
    frame = pd.DataFrame({c: pd.Series(v, dtype=object) for c, v in data.items()}, columns=columns)
    return RawTable(columns, frame, np.asarray(lines, dtype=np.int64))


def _header(name: str, row: list[str]) -> list[str]:
    columns = [c.strip() or f"unnamed_{i}" for i, c in enumerate(row, start=1)]
    seen: set[str] = set()
    for col in columns:
        if col in seen:
            raise ImportFileError(f"{name}:1", col, "this column name appears twice in the header")
        seen.add(col)
    return columns


def _read_csv(name: str, text: str, progress: bool) -> RawTable:
    # Our own limit, with a better message, is checked after reading; the csv module's default is 128 KiB.
    csv.field_size_limit(max(csv.field_size_limit(), 1 << 30))
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    bar = progress_bar(text.count("\n"), progress, "reading")
    rows: list[list[str | None]] = []
    lines: list[int] = []
    problems: list[tuple[int, str | None, str]] = []
    columns: list[str] | None = None
    start = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise ImportFileError(
                f"{name}:{start}", None, f"malformed CSV: {exc} (unterminated quote or truncated file?)"
            ) from None
        bar.update(reader.line_num - start + 1)
        line, start = start, reader.line_num + 1
        if not row:
            continue
        if columns is None:
            columns = _header(name, row)
            continue
        if len(row) != len(columns):
            problems.append((len(rows), None, f"row has {len(row)} fields, the header has {len(columns)}"))
            row = (row + [""] * len(columns))[: len(columns)]
        rows.append([v if v != "" else None for v in row])
        lines.append(line)
    bar.close()
    columns = columns or []
    frame = pd.DataFrame(rows, columns=columns, dtype=object) if rows else pd.DataFrame(columns=columns)
    return RawTable(columns, frame, np.asarray(lines, dtype=np.int64), problems)


def _read_parquet(name: str, data: bytes) -> RawTable:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(io.BytesIO(data))
    except (pa.ArrowException, OSError) as exc:
        raise ImportFileError(name, None, f"not a readable Parquet file (truncated?): {exc}") from exc
    columns = [str(c) for c in table.column_names]
    return RawTable(columns, arrow_frame(table), np.arange(1, table.num_rows + 1, dtype=np.int64))


def arrow_frame(table: Any) -> pd.DataFrame:
    """An Arrow table as raw values: Python objects, a MAP column's cells as dicts (as JSON objects read)."""
    import pyarrow as pa

    def values(col: Any) -> list[Any]:
        cells: list[Any] = col.to_pylist()
        if pa.types.is_map(col.type):  # to_pylist gives a map as a list of (key, value) pairs
            return [None if c is None else dict(c) for c in cells]
        return cells

    columns = [str(c) for c in table.column_names]
    return pd.DataFrame(
        {c: pd.Series(values(table.column(i)), dtype=object) for i, c in enumerate(columns)},
        columns=columns,
    )


def read_table(path: Path, data: bytes, progress: bool = False, name: str | None = None) -> RawTable:
    """Parse a file's bytes into a `RawTable` (reader chosen by extension).

    Args:
        path: The file (its name picks the reader), or a directory of Parquet files.
        data: Its bytes, as read (still compressed); unused for a directory, read file by file.
        progress: Show a progress bar on large files.
        name: How errors name the file (default: the path as given).

    Raises:
        ImportFileError: truncated gzip, invalid UTF-8 or JSON, malformed CSV, unreadable Parquet, no rows.
    """
    shown = name or str(path)
    kind, gz = file_kind(path)
    if path.is_dir():
        from routelab.datasets.importers.parquet_dir import read_parquet_dir

        table = read_parquet_dir(shown, path)
    elif kind == "parquet":
        table = _read_parquet(shown, data)
    else:
        text = decode(shown, gunzip(shown, data) if gz else data)
        table = _read_jsonl(shown, text, progress) if kind == "jsonl" else _read_csv(shown, text, progress)
    if len(table.frame) == 0:
        what = "has a header but no rows" if table.columns else "is empty"
        raise ImportFileError(shown, None, f"no rows: the file {what}")
    _check_column_names(shown, table, kind)
    _check_sizes(table)
    return table
