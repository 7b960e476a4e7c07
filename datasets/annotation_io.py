"""Annotations as JSON Lines: export the append-only log, import it into another store.

Export writes every row of `annotations` (judgements, adjudications and undos) with every column, JSON columns
as objects and times as ISO 8601 (naive UTC, as stored), ordered by created_at then annotation_id. Import is
all-or-nothing: each line is validated (`path:LINE: field: problem`), and if any is wrong nothing is written.
A row whose annotation_id is already stored with the same content is skipped, so importing twice adds
nothing; the same id with different content is an error. Rows may refer to decisions this store has not
replayed, but an undo must point at an annotation in the store or in the file.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from routelab.datasets.annotations import COLUMNS, Verdict, append_rows
from routelab.datasets.errors import DatasetError
from routelab.datasets.store import Store

JSON_COLUMNS = ("decision_path", "corrected", "acceptable")


class AnnotationRow(BaseModel):
    """One row of the `annotations` table as exported."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    annotation_id: str = Field(min_length=1, description="Unique id of the row.")
    request_id: str = Field(min_length=1, description="The request judged.")
    router: str = Field(pattern=r"^[^@\s]+@[^@\s]+$", description="The version judged, `name@version`.")
    annotator: str = Field(min_length=1, description="Who wrote the row.")
    kind: Literal["judgement", "adjudication", "undo"] = Field(description="What the row is.")
    verdict: Verdict | None = Field(default=None, description="correct, incorrect or unsure (not for undo).")
    decision_path: dict[str, Any] | None = Field(default=None, description="Snapshot of the decision judged.")
    corrected: dict[str, Any] | None = Field(default=None, description="Path components that should differ.")
    acceptable: list[dict[str, Any]] | None = Field(default=None, description="Other acceptable paths.")
    reason_tags: list[str] | None = Field(default=None, description="Why.")
    note: str | None = Field(default=None, description="Free text.")
    time_spent_s: float | None = Field(default=None, ge=0, description="Seconds spent on the item.")
    undoes: str | None = Field(default=None, description="The annotation an undo takes back.")
    created_at: datetime = Field(description="When it was written (UTC).")

    @field_validator("created_at")
    @classmethod
    def _naive_utc(cls, value: datetime) -> datetime:
        return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value

    def problems(self) -> list[tuple[str, str]]:
        """(field, problem) for rules across fields, as `annotations.record` and `undo` enforce them."""
        if self.kind == "undo":
            out = [] if self.undoes else [("undoes", "an undo names the annotation it takes back")]
            return out + ([("verdict", "an undo has no verdict")] if self.verdict else [])
        if self.verdict is None:
            return [("verdict", f"a {self.kind} needs a verdict: correct, incorrect or unsure")]
        if self.undoes:
            return [("undoes", f"only an undo row names `undoes`, not a {self.kind}")]
        if self.verdict == "incorrect" and not self.corrected and not self.acceptable:
            return [
                ("corrected", "an `incorrect` verdict needs the corrected components or acceptable paths")
            ]
        return []

    def stored(self) -> dict[str, Any]:
        """The row as `annotations.append_rows` takes it (JSON columns as text, as `record` writes them)."""
        data = self.model_dump()
        for col in JSON_COLUMNS:
            if data[col] is not None:
                data[col] = json.dumps(data[col], sort_keys=True)
        return data


class ImportResult(BaseModel):
    """What `import_annotations` did; with errors, nothing was written."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    path: str = Field(description="The file read.")
    n_read: int = Field(description="Rows read (non-blank lines).")
    n_added: int = Field(description="Rows written to the store.")
    n_skipped_existing: int = Field(description="Rows already stored (or repeated in the file) unchanged.")
    errors: list[str] = Field(default_factory=list, description="`path:LINE: field: problem`, in file order.")


def export_row(row: dict[str, Any]) -> dict[str, Any]:
    """A stored row as exported: JSON columns parsed, times ISO 8601."""
    out = dict(row)
    for col in JSON_COLUMNS:
        if isinstance(out[col], str):
            out[col] = json.loads(out[col])
    out["created_at"] = out["created_at"].isoformat()
    return out


def export_annotations(store: Store, path: str | os.PathLike[str], router: str | None = None) -> int:
    """Write every annotation row (of one version, or all) to `path` as JSON Lines; return the count.

    The file is written beside `path` and renamed into place, so a failed export leaves no half file.
    """
    where, params = ("WHERE router = ?", [router]) if router else ("", [])
    cur = store.execute(
        f"SELECT {', '.join(COLUMNS)} FROM annotations {where} ORDER BY created_at, annotation_id", params
    )
    target = Path(path)
    tmp = target.with_name(f".{target.name}.part")
    n = 0
    try:
        with tmp.open("w", encoding="utf-8") as fh:
            while batch := cur.fetchmany(2000):
                for values in batch:
                    fh.write(_json_line(export_row(dict(zip(COLUMNS, values, strict=True)))))
                    n += 1
        tmp.replace(target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise DatasetError(f"{target}: cannot write the export: {exc}") from exc
    return n


# JSON leaves these raw inside strings; escaped, `str.splitlines` readers see one row per line too
_LINE_BREAKS = str.maketrans({"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def _json_line(row: dict[str, Any]) -> str:
    """One JSON line, readable text, with the characters `str.splitlines` breaks on escaped."""
    text = json.dumps(row, ensure_ascii=False)
    return text.translate(_LINE_BREAKS) + "\n"


def import_annotations(store: Store, path: str | os.PathLike[str]) -> ImportResult:
    """Append the rows of a JSON Lines export that the store lacks; all-or-nothing (see the module doc).

    Raises:
        DatasetError: the file cannot be read.
    """
    rows, errors, n_read = _read(Path(path))
    added = skipped = 0
    with store.transaction() as cur:
        by_id: dict[str, tuple[int, dict[str, Any]]] = {}
        fresh: list[tuple[int, AnnotationRow]] = []
        for line, row in rows:
            data = row.model_dump(mode="json")
            seen = by_id.setdefault(row.annotation_id, (line, data))
            if seen[0] == line:
                fresh.append((line, row))
            elif _same(seen[1], data):
                skipped += 1
            else:
                errors.append((line, f"annotation_id: repeats line {seen[0]} with different content"))
        stored = _stored(cur, [*by_id, *(r.undoes for _, r in fresh if r.undoes)])
        new = []
        for line, row in fresh:
            existing = stored.get(row.annotation_id)
            if existing is not None:
                if _same(existing, by_id[row.annotation_id][1]):
                    skipped += 1
                else:
                    errors.append(
                        (line, f"annotation_id: {row.annotation_id!r} is stored with other content")
                    )
                continue
            target = by_id[row.undoes][1] if row.undoes in by_id else stored.get(row.undoes or "")
            if row.undoes and target is None:
                errors.append((line, f"undoes: no annotation {row.undoes!r} in the file or the store"))
            elif target is not None and target["kind"] == "undo":
                errors.append((line, f"undoes: {row.undoes!r} is itself an undo"))
            new.append(row.stored())
        if not errors:
            added = append_rows(cur, new) if new else 0
    return ImportResult(
        path=str(path),
        n_read=n_read,
        n_added=added,
        n_skipped_existing=0 if errors else skipped,
        errors=[f"{path}:{line}: {message}" for line, message in sorted(errors, key=lambda e: e[0])],
    )


def _read(path: Path) -> tuple[list[tuple[int, AnnotationRow]], list[tuple[int, str]], int]:
    """Parse and validate every line: (line, row) pairs, (line, `field: problem`) errors, lines read."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path}: cannot read: {exc}") from exc
    rows: list[tuple[int, AnnotationRow]] = []
    errors: list[tuple[int, str]] = []
    n_read = 0
    # split on "\n" only: str.splitlines would also split inside strings holding U+2028, U+0085 and the like
    for line, raw in enumerate(text.split("\n"), start=1):
        if not raw.strip():
            continue
        n_read += 1
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            errors.append((line, f"column {exc.colno}: not valid JSON ({exc.msg})"))
            continue
        except RecursionError:  # json's parser recurses once per level of [ or {
            errors.append((line, "JSON nested too deeply (Python's parser stops at about 1,000 levels)"))
            continue
        if not isinstance(data, dict):
            errors.append((line, f"(row): expected a JSON object, got {type(data).__name__}"))
            continue
        try:
            row = AnnotationRow.model_validate(data)
        except ValidationError as exc:
            for err in exc.errors():
                field = ".".join(str(p) for p in err["loc"]) or "(row)"
                errors.append((line, f"{field}: {err['msg']}"))
            continue
        problems = row.problems()
        errors += [(line, f"{field}: {problem}") for field, problem in problems]
        if not problems:
            rows.append((line, row))
    return rows, errors, n_read


def _stored(cur: Any, ids: list[str | None]) -> dict[str, dict[str, Any]]:
    """The stored rows among `ids`, in export form."""
    found = cur.execute(
        f"SELECT {', '.join(COLUMNS)} FROM annotations WHERE annotation_id IN (SELECT unnest(?::VARCHAR[]))",
        [[i for i in ids if i]],
    ).fetchall()
    rows = (export_row(dict(zip(COLUMNS, values, strict=True))) for values in found)
    return {row["annotation_id"]: row for row in rows}


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Two rows in export form are the same annotation (the id and every column)."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
