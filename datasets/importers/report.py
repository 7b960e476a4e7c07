"""What one import did: `ImportReport`, and the rejects file written when errors are collected."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from routelab.datasets.importers.source import Exclusion, Reject
from routelab.datasets.tables import WriteResult


@dataclass(frozen=True)
class TableCounts:
    """Rows one import wrote to one table."""

    inserted: int
    """New rows."""
    replaced: int
    """Rows whose key existed with different content, overwritten (`on_conflict="replace"`)."""
    skipped_identical: int
    """Rows already in the store with the same content."""
    skipped_conflicting: int
    """Rows whose key existed with different content, left as stored (`on_conflict="skip"`)."""

    @property
    def skipped(self) -> int:
        """All rows not written."""
        return self.skipped_identical + self.skipped_conflicting

    @classmethod
    def of(cls, result: WriteResult) -> TableCounts:
        """Counts from `tables.write`'s result."""
        return cls(result.inserted, result.replaced, result.skipped_identical, result.skipped_conflicting)


@dataclass(frozen=True)
class ImportReport:
    """The outcome of `import_file`."""

    import_id: str
    """sha256 of format, options and file bytes, first 16 hex digits (the `imports` table's key)."""
    path: str
    format: str
    n_rows: int
    """Rows read from the file."""
    tables: Mapping[str, TableCounts]
    """Per table written (requests, labels, outcomes)."""
    n_rejected: int
    """Rows left out because of a problem (only with `collect_errors`)."""
    rejects_path: str | None
    """Where the rejects were written (only with `collect_errors`)."""
    duration_s: float
    already_imported: bool
    """The same content was imported before with the same options; nothing was written."""
    excluded: tuple[Exclusion, ...] = ()
    """Rows left out on purpose by the format (judge failures, contaminated prompts), with reasons."""
    ignored_columns: tuple[str, ...] = ()
    """File columns the format does not use."""
    options: Mapping[str, str] = field(default_factory=dict)
    """The format options in effect (defaults filled in)."""

    @property
    def n_loaded(self) -> int:
        """Rows that reached the store (inserted or replaced) across tables."""
        return sum(c.inserted + c.replaced for c in self.tables.values())

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (for `--json`)."""
        out = asdict(self)
        out["tables"] = {k: {**asdict(v), "skipped": v.skipped} for k, v in self.tables.items()}
        out["n_loaded"] = self.n_loaded
        out["n_excluded"] = len(self.excluded)
        return out

    def summary(self) -> str:
        """One line for people."""
        if self.already_imported:
            return f"{self.path}: already imported as {self.import_id}; nothing written"
        parts = [
            f"{t} +{c.inserted}" + (f" ~{c.replaced}" if c.replaced else "") for t, c in self.tables.items()
        ]
        extra = f", {self.n_rejected} rejected → {self.rejects_path}" if self.rejects_path else ""
        extra += f", {len(self.excluded)} excluded" if self.excluded else ""
        return (
            f"{self.path}: {self.n_rows} rows as {self.format} ({', '.join(parts) or 'nothing new'}){extra}"
        )


def write_rejects(path: Path, rejects: list[Reject]) -> None:
    """Write one JSON object per reject: line, field, problem and the raw row."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        for rej in rejects:
            out.write(json.dumps(asdict(rej), ensure_ascii=False, default=str) + "\n")
