"""An import file as the format loaders see it: raw columns (renamed by the mapping) plus the row problems.

Loaders convert columns (see `convert`), record each bad cell with `Source.fail`, and build table frames
from the rows that stayed valid. The driver then raises the earliest problem, or, collecting errors,
writes every problem to the rejects file.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from routelab.datasets.errors import ImportFileError
from routelab.datasets.importers.readers import RawTable

DROP = "-"
"""Mapping target that drops a source column (`--map response=-`)."""


@dataclass(frozen=True)
class Reject:
    """A row left out because of a problem: its line, the field at fault, the problem and the raw row."""

    line: int
    field: str | None
    problem: str
    row: dict[str, Any]


@dataclass(frozen=True)
class Exclusion:
    """A row left out on purpose (e.g. a judge's parse failure, a contaminated prompt), with the reason."""

    line: int
    reason: str


@dataclass
class Loaded:
    """What a format loader produced: table frames (`tables.write` shape) and what it left out on purpose."""

    requests: pd.DataFrame | None = None
    labels: pd.DataFrame | None = None
    outcomes: pd.DataFrame | None = None
    excluded: list[Exclusion] = field(default_factory=list)
    ignored_columns: tuple[str, ...] = ()

    def frames(self) -> dict[str, pd.DataFrame]:
        """The non-empty frames by table name, in write order."""
        out = {"requests": self.requests, "labels": self.labels, "outcomes": self.outcomes}
        return {k: v for k, v in out.items() if v is not None and len(v)}


def _short(value: Any, limit: int = 1000) -> Any:
    if isinstance(value, str) and len(value) > limit:
        return value[:limit] + f"… ({len(value):,} characters)"
    if isinstance(value, list | dict):
        return _short(str(value), limit) if len(str(value)) > limit else value
    return value


class Source:
    """A read file with the mapping applied and the row problems recorded so far."""

    def __init__(self, name: str, table: RawTable, mapping: Mapping[str, str] | None = None) -> None:
        """Apply `mapping` ({source column: routelab field}; target `-` drops the column).

        Raises:
            ImportFileError: the mapping names a column the file lacks, or renames onto an existing one.
        """
        self.name = name
        mapping = dict(mapping or {})
        found = ", ".join(table.columns)
        targets = [d for d in mapping.values() if d != DROP]
        if len(set(targets)) < len(targets):
            raise ImportFileError(name, None, f"--map gives two columns the same name: {mapping}")
        for src, dst in mapping.items():
            if src not in table.columns:
                raise ImportFileError(
                    name, src, f"--map names a column the file lacks; columns found: {found}"
                )
            if dst != DROP and dst in table.columns and mapping.get(dst, dst) == dst:
                raise ImportFileError(name, dst, f"--map {src}={dst}: the file already has a column {dst!r}")
        renames = {s: d for s, d in mapping.items() if d != DROP}
        self.original = {renames.get(c, c): c for c in table.columns if mapping.get(c) != DROP}
        self.frame = table.frame[[c for c in table.columns if mapping.get(c) != DROP]].rename(columns=renames)
        self.lines = table.lines
        self._table = table
        self.problems: list[tuple[int, str | None, str]] = list(table.problems)
        self.derived: set[str] = set()

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def columns(self) -> list[str]:
        """Column names after the mapping."""
        return [str(c) for c in self.frame.columns]

    def has(self, name: str) -> bool:
        """Whether the file has the column (after the mapping)."""
        return name in self.frame.columns

    def col(self, name: str) -> pd.Series:
        """A column's raw values (all missing when the file lacks it)."""
        if name in self.frame.columns:
            return self.frame[name]
        return pd.Series([None] * len(self.frame), index=self.frame.index, dtype=object)

    def derive(self, name: str, values: pd.Series) -> None:
        """Add a column computed from others (e.g. `usage.prompt_tokens`); rejects do not show it."""
        self.frame[name] = values.to_numpy(dtype=object)
        self.derived.add(name)

    def require(self, *names: str) -> None:
        """Raise when required columns are missing, naming them and the columns found."""
        missing = [n for n in names if n not in self.frame.columns]
        if missing:
            raise ImportFileError(
                self.name,
                None,
                f"missing required column(s) {', '.join(missing)}; columns found: {', '.join(self.columns)} "
                "(rename with --map source=field)",
            )

    def fail(
        self, positions: Iterable[int] | np.ndarray, field: str | None, problems: str | Sequence[str]
    ) -> None:
        """Record a problem per row (`positions`: boolean mask or row positions; one message or one each)."""
        arr = np.asarray(positions if isinstance(positions, np.ndarray) else list(positions))
        pos = [int(p) for p in (np.flatnonzero(arr) if arr.dtype == bool else arr)]
        msgs = [problems] * len(pos) if isinstance(problems, str) else list(problems)
        self.problems.extend(zip(pos, [field] * len(pos), msgs, strict=True))

    def valid(self) -> np.ndarray:
        """Boolean mask of rows without a problem so far."""
        mask = np.ones(len(self.frame), dtype=bool)
        if self.problems:
            mask[[p for p, _, _ in self.problems]] = False
        return mask

    def line(self, pos: int) -> int:
        """The file line a row starts on."""
        return int(self.lines[pos])

    def where(self, pos: int) -> str:
        """`file:line` of a row (for a directory of Parquet files: the file in it, and the row there)."""
        return self._table.where(self.name, self.line(pos))

    def first_error(self) -> ImportFileError | None:
        """The problem on the earliest line, as the error an all-or-nothing import raises."""
        if not self.problems:
            return None
        pos, fld, msg = min(self.problems, key=lambda p: self.lines[p[0]])
        return ImportFileError(self.where(pos), fld, msg)

    def rejects(self) -> list[Reject]:
        """Every problem with its raw row (original column names, long values shortened), by line."""
        out = []
        for pos, fld, msg in sorted(self.problems, key=lambda p: self.lines[p[0]]):
            values = self.frame.iloc[pos].items()
            row = {self.original.get(str(k), str(k)): _short(v) for k, v in values if k not in self.derived}
            out.append(Reject(self.line(pos), fld, msg, {k: v for k, v in row.items() if v is not None}))
        return out

    def unique(self, keys: pd.DataFrame, field: str) -> None:
        """Flag later rows repeating an earlier valid row's key (`field` names the key in the message)."""
        ok = np.flatnonzero(self.valid())
        sub = keys.iloc[ok]
        dup = sub.duplicated(keep="first").to_numpy()
        if not dup.any():
            return
        first: dict[tuple[Any, ...], int] = {}
        positions, msgs = [], []
        for pos, key, repeated in zip(ok, sub.itertuples(index=False, name=None), dup, strict=True):
            if not repeated:
                first[key] = int(pos)
                continue
            shown = "/".join(str(k) for k in key)
            positions.append(int(pos))
            at = self.where(first[key]) if self._table.files else f"line {self.line(first[key])}"
            msgs.append(f"duplicate {field} {shown!r} (first at {at})")
        self.fail(positions, field, msgs)
