"""Importing files into the store: `import_file` runs one registered format over one file, in one transaction.

All-or-nothing by default: the first bad row (by line) raises `ImportFileError` (`file:line: field: problem`)
and the store is unchanged. With `collect_errors` the valid rows load and every bad one goes to a rejects
file. Each import is recorded in `imports` under an id hashed from format, options and file bytes, so
importing the same content again writes nothing. Formats: see `FORMATS` (each module documents its own).

Every format converts cell by cell in Python (`readers`, `convert`, the format's loader, `tables.write`).
`requests` from Parquet (a file, or a directory as `export requests --parquet` writes it) goes through DuckDB
instead (`parquet_sql`: read, checked and inserted in SQL; 10–20× faster on the demo traffic) whenever SQL
stores exactly what the Python path would; any other input, and any input with a bad row, takes the Python
path, which words the error.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Mapping
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from routelab.datasets import pii_cache, signal_cache
from routelab.datasets.errors import DatasetError, ImportFileError
from routelab.datasets.importers import generic, labels, logs, parquet_sql, routellm, routerbench  # noqa: F401  (registration)
from routelab.datasets.importers.convert import canonical_json
from routelab.datasets.importers.readers import read_bytes, read_table
from routelab.datasets.importers.registry import (
    FORMATS,
    Format,
    OptionSpec,
    get_format,
    register,
    resolve_options,
)
from routelab.datasets.importers.report import ImportReport, TableCounts, write_rejects
from routelab.datasets.importers.source import Exclusion, Loaded, Reject, Source
from routelab.datasets.importers.tokens import count_tokens
from routelab.datasets.store import Store, now_utc
from routelab.datasets.tables import ConflictError, OnConflict, write
from routelab.router_core.pii import RECORDED_ATTR

__all__ = [
    "FORMATS",
    "Exclusion",
    "Format",
    "ImportReport",
    "OptionSpec",
    "Reject",
    "TableCounts",
    "get_format",
    "import_file",
    "register",
]


def import_id_of(fmt: str, mapping: Mapping[str, str], options: Mapping[str, str], data: bytes) -> str:
    """First 16 hex of sha256 over format, mapping, options (named files by content hash) and file bytes."""
    identity = canonical_json({"format": fmt, "mapping": dict(mapping), "options": dict(options)})
    return hashlib.sha256(identity.encode("utf-8") + b"\n" + data).hexdigest()[:16]


def fill_prompt_tokens(requests: pd.DataFrame, progress: bool) -> None:
    """Count prompt tokens (litellm's bundled cl100k_base) where a prompt exists and no count was given."""
    if "prompt_tokens" not in requests.columns:
        requests["prompt_tokens"] = pd.Series([pd.NA] * len(requests), dtype="Int64")
    need = (requests["prompt"].notna() & requests["prompt_tokens"].isna()).to_numpy(dtype=bool)
    if need.any():
        counts = count_tokens(requests.loc[need, "prompt"].tolist(), progress)
        requests.loc[need, "prompt_tokens"] = pd.array(counts, dtype="Int64")


#: The attr that keeps a redacted prompt's detected PII types (comma-separated, sorted) for routing; the
#: router's PII signals read it (`router_core.pii.RECORDED_ATTR`).
PII_TYPES_ATTR = RECORDED_ATTR


def redact_prompts(requests: pd.DataFrame) -> None:
    """Mask PII in the `prompt` column in place and record the types found as the attr `pii_types`.

    The mask is router_core's (`[email]`, `[payment_card]`, ...). Routers read the detected types as
    `attrs.pii_types` (for example `attrs.pii_types != ""`), since the masked text no longer holds the PII.
    """
    from routelab.datasets.importers.convert import as_map
    from routelab.router_core.pii import detect

    prompts, attrs = [], []
    given = requests["attrs"] if "attrs" in requests else [None] * len(requests)  # MAP form: {key, value}
    for text, extra in zip(requests["prompt"], given, strict=True):
        if not isinstance(text, str):
            prompts.append(text)
            attrs.append(extra)
            continue
        spans = detect(text)
        out, pos = [], 0
        for span in spans:
            out.append(text[pos : span.start])
            out.append(f"[{span.type.value}]")
            pos = span.end
        out.append(text[pos:])
        prompts.append("".join(out))
        merged = dict(zip(extra["key"], extra["value"], strict=True)) if isinstance(extra, dict) else {}
        merged[PII_TYPES_ATTR] = ",".join(sorted({s.type.value for s in spans}))
        attrs.append(as_map(merged))
    requests["prompt"] = prompts
    requests["attrs"] = attrs


@dataclass(frozen=True)
class _PythonRead:
    """A file read and converted cell by cell: what the format loaded, the rows read, the rejects."""

    loaded: Loaded
    n_rows: int
    rejects: list[Reject]


def _read_python(
    spec: Format,
    file: Path,
    data: bytes,
    name: str,
    mapping: Mapping[str, str],
    options: Mapping[str, str],
    collect_errors: bool,
    progress: bool,
    redact: bool,
) -> _PythonRead:
    """Read, convert and check every cell in Python, then count missing prompt tokens and redact if asked.

    Raises:
        ImportFileError: the earliest bad row, unless `collect_errors`.
    """
    src = Source(name, read_table(file, data, progress, name), mapping)
    loaded = spec.load(src, options)
    error = src.first_error()
    if error is not None and not collect_errors:
        raise error
    requests = loaded.frames().get("requests")
    if requests is not None:
        fill_prompt_tokens(requests, progress)  # counted on the raw text: routing needs the size
        if redact:
            redact_prompts(requests)
    return _PythonRead(loaded, len(src), src.rejects())


def import_file(
    store: Store,
    path: str | os.PathLike[str],
    fmt: str,
    mapping: Mapping[str, str] | None = None,
    collect_errors: bool = False,
    on_conflict: OnConflict = "error",
    rejects_path: str | os.PathLike[str] | None = None,
    progress: bool = True,
    options: Mapping[str, Any] | None = None,
    redact: bool = False,
    engine: Literal["auto", "python"] = "auto",
) -> ImportReport:
    """Import one file in one of the registered formats.

    Args:
        store: The open store (read-write).
        path: The file: .jsonl/.json (JSON Lines), .csv, either gzipped (.gz), or .parquet.
        fmt: A name in `FORMATS`.
        mapping: {source column: routelab field} renames applied before the format reads the file;
            the target `-` drops a column.
        collect_errors: Load the valid rows and write every bad one (line, field, problem, raw row) to
            `rejects_path` instead of failing on the first.
        on_conflict: What to do with rows whose key is stored with different content: error, replace, skip.
        rejects_path: Where rejects go; default `./<file name>.rejects.jsonl` in the working directory.
        progress: Show progress bars on stderr for files over 10,000 rows (only on a terminal).
        options: Format options (see `FORMATS[fmt].options`), e.g. `{"decontaminate": "x.jsonl"}`.
        redact: Store prompts with PII masked (`redact_prompts`); the raw text never reaches the store.
        engine: `auto`: `requests` from Parquet go through DuckDB (`parquet_sql`) whenever it stores exactly
            what the Python path would, else (and for everything else) the Python path; `python`: always the
            Python path (to compare the two).

    Returns:
        What was read, written, rejected and excluded.

    Raises:
        ImportFileError: a bad file or row (all-or-nothing mode); the store is unchanged.
        ConflictError: stored rows differ and `on_conflict="error"`; the store is unchanged.
        DatasetError: an unknown format or option, or a bad option value.
    """
    started, clock = now_utc(), time.perf_counter()
    spec = get_format(fmt)
    if on_conflict not in ("error", "replace", "skip"):
        raise DatasetError(f"on_conflict={on_conflict!r}: choose error, replace or skip")
    if engine not in ("auto", "python"):
        raise DatasetError(f"engine={engine!r}: choose auto or python")
    file, name, mapping = Path(path), str(path), dict(sorted((mapping or {}).items()))
    resolved = resolve_options(spec, file, options)
    data = read_bytes(file)
    identity_options = {**resolved.values, **{k: f"sha256:{v}" for k, v in resolved.file_sha256.items()}}
    if redact:  # a redacted import is another import of the same file
        identity_options["redact"] = "true"
    import_id = import_id_of(fmt, mapping, identity_options, data)
    seen = store.scalar("SELECT n_rows FROM imports WHERE import_id = ?", [import_id])
    if seen is not None:
        return ImportReport(
            import_id,
            name,
            fmt,
            int(seen),
            {},
            0,
            None,
            time.perf_counter() - clock,
            True,
            options=resolved.values,
        )
    staged = None
    if engine == "auto" and fmt == "requests" and not redact and parquet_sql.takes(file):
        # DuckDB reads, checks and inserts the rows; an input it cannot mirror exactly (bad rows included)
        # goes to the Python path, which words the error. --redact always does: masking runs router_core's
        # Python detector (`redact_prompts`), which has no SQL twin that rewrites the text.
        done = parquet_sql.stage(store.cursor(), file, mapping, resolved.values, progress)
        staged = done if isinstance(done, parquet_sql.Staged) else None
    if staged is None:
        read = _read_python(
            spec, file, data, name, mapping, resolved.values, collect_errors, progress, redact
        )
    else:
        read = _PythonRead(Loaded(), staged.n_rows, [])  # nothing loaded in Python, nothing rejected
    frames, loaded, rejects = read.loaded.frames(), read.loaded, read.rejects
    reject_file = Path(rejects_path) if rejects_path else Path.cwd() / f"{file.name}.rejects.jsonl"
    settings = parquet_sql.bulk(store.cursor()) if staged is not None else nullcontext()
    with settings, store.transaction() as cur:
        try:
            if staged is not None:
                results = {"requests": TableCounts.of(parquet_sql.write(cur, staged, import_id, on_conflict))}
            else:
                results = {
                    t: TableCounts.of(write(cur, t, f, import_id, on_conflict)) for t, f in frames.items()
                }
        except ConflictError as exc:
            raise ConflictError(f"{name}: {exc}") from exc
        except DatasetError as exc:
            raise ImportFileError(name, None, str(exc)) from exc
        if "requests" in results and results["requests"].replaced:
            # a replaced request may have a new prompt or attrs: its cached PII (`pii_cache`) and signal
            # values (`signal_cache`) are stale
            ids = frames["requests"]["request_id"] if staged is None else parquet_sql.request_ids(cur, staged)
            pii_cache.forget(cur, ids)
            signal_cache.forget(cur, ids)
        record = {
            "mapping": mapping,
            "options": resolved.values,
            "option_files_sha256": resolved.file_sha256,
            "on_conflict": on_conflict,
            "collect_errors": collect_errors,
            "excluded": _reasons(loaded.excluded),
            "ignored_columns": list(loaded.ignored_columns),
        }
        report = ImportReport(
            import_id=import_id,
            path=name,
            format=fmt,
            n_rows=read.n_rows,
            tables=results,
            n_rejected=len(rejects),
            rejects_path=str(reject_file) if collect_errors else None,
            duration_s=time.perf_counter() - clock,
            already_imported=False,
            excluded=tuple(loaded.excluded),
            ignored_columns=loaded.ignored_columns,
            options=resolved.values,
        )
        cur.execute(
            "INSERT INTO imports VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                import_id, str(file.resolve()), fmt, hashlib.sha256(data).hexdigest(), canonical_json(record),
                read.n_rows, report.n_loaded, len(rejects), report.rejects_path, started, now_utc(),
            ],
        )  # fmt: skip
    if collect_errors:
        write_rejects(reject_file, rejects)
    return report


def _reasons(excluded: list[Exclusion]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for exc in excluded:
        counts[exc.reason] = counts.get(exc.reason, 0) + 1
    return counts
