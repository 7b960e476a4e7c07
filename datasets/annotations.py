"""Annotations: one annotator's judgement of one decision, written through `record` only, append-only.

An undo is a new row pointing at the judgement it takes back; the view `annotations_current` shows the latest
judgement per (request, router version, annotator) that has not been undone. Nothing is ever updated or
deleted, so two annotators writing at once, or a crash, cannot lose a judgement.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from routelab.datasets.errors import DatasetError, NotFoundError
from routelab.datasets.store import Store, now_utc

Verdict = Literal["correct", "incorrect", "unsure"]


class Judgement(BaseModel):
    """What an annotator says about one decision of one router version."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    request_id: str = Field(description="The request judged.")
    router: str = Field(description="The router version whose decision is judged, `name@version`.")
    annotator: str = Field(min_length=1, description="Who judged it.")
    verdict: Verdict = Field(description="correct, incorrect or unsure.")
    corrected: dict[str, Any] | None = Field(
        default=None, description="The path components that should differ."
    )
    acceptable: list[dict[str, Any]] = Field(
        default_factory=list, description="Other acceptable partial paths."
    )
    reason_tags: list[str] = Field(
        default_factory=list, description="Why (e.g. overspend, privacy, quality)."
    )
    note: str | None = Field(default=None, description="Free text.")
    time_spent_s: float | None = Field(default=None, ge=0, description="Seconds spent on the item.")
    adjudication: bool = Field(default=False, description="A reviewer's final word, which wins over others.")


def _decision_path(store: Store, request_id: str, router: str) -> str:
    row = store.execute(
        "SELECT model, retrieval, context_tokens, cache, escalation, fallbacks, action FROM decisions "
        "WHERE router = ? AND request_id = ?",
        [router, request_id],
    ).fetchone()
    if row is None:
        raise NotFoundError(
            f"no decision of {router} for request {request_id!r}; replay the version first (routelab replay)"
        )
    keys = ("model", "retrieval", "context_tokens", "cache", "escalation", "fallbacks", "action")
    return json.dumps(dict(zip(keys, row, strict=True)), sort_keys=True, default=list)


def record(store: Store, judgement: Judgement, at: datetime | None = None) -> str:
    """Append one judgement (with a snapshot of the decision it judges); return its id."""
    if judgement.verdict == "incorrect" and not judgement.corrected and not judgement.acceptable:
        raise DatasetError("an `incorrect` verdict needs the corrected path components or acceptable paths")
    annotation_id = uuid.uuid4().hex
    with store.transaction() as cur:
        path = _decision_path(store, judgement.request_id, judgement.router)
        cur.execute(
            "INSERT INTO annotations VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                annotation_id,
                judgement.request_id,
                judgement.router,
                judgement.annotator,
                "adjudication" if judgement.adjudication else "judgement",
                judgement.verdict,
                path,
                json.dumps(judgement.corrected, sort_keys=True) if judgement.corrected else None,
                json.dumps(judgement.acceptable, sort_keys=True) if judgement.acceptable else None,
                judgement.reason_tags,
                judgement.note,
                judgement.time_spent_s,
                None,
                at or now_utc(),
            ],
        )
    return annotation_id


def undo(store: Store, annotation_id: str, annotator: str, at: datetime | None = None) -> str:
    """Take a judgement back by appending an undo row; return the undo's id."""
    row = store.execute(
        "SELECT request_id, router, kind, annotator FROM annotations WHERE annotation_id = ?", [annotation_id]
    ).fetchone()
    if row is None or row[2] == "undo":
        raise NotFoundError(f"no judgement {annotation_id!r} to undo")
    if row[3] != annotator:
        raise DatasetError(
            f"{annotator} cannot undo judgement {annotation_id!r}: {row[3]} wrote it; only its author can"
        )
    undo_id = uuid.uuid4().hex
    store.execute(
        "INSERT INTO annotations (annotation_id, request_id, router, annotator, kind, undoes, created_at) "
        "VALUES (?, ?, ?, ?, 'undo', ?, ?)",
        [undo_id, row[0], row[1], annotator, annotation_id, at or now_utc()],
    )
    return undo_id


def current(store: Store, router: str | None = None) -> pd.DataFrame:
    """The latest standing judgement per (request, router version, annotator)."""
    where, params = ("WHERE router = ?", [router]) if router else ("", [])
    return store.df(f"SELECT * FROM annotations_current {where} ORDER BY created_at", params)


#: Columns of the `annotations` table, in order.
COLUMNS = (
    "annotation_id",
    "request_id",
    "router",
    "annotator",
    "kind",
    "verdict",
    "decision_path",
    "corrected",
    "acceptable",
    "reason_tags",
    "note",
    "time_spent_s",
    "undoes",
    "created_at",
)


def append_rows(cur: Any, rows: list[dict[str, Any]]) -> int:
    """Append complete annotation rows as given (ids and times kept), inside the caller's transaction.

    The import path (`annotation_io.import_annotations`) validates the rows first; JSON columns arrive as
    JSON text. Like `record`, this only ever inserts.
    """
    import pyarrow as pa

    schema = pa.schema(
        [
            *((c, pa.string()) for c in COLUMNS[:9]),
            ("reason_tags", pa.list_(pa.string())),
            ("note", pa.string()),
            ("time_spent_s", pa.float64()),
            ("undoes", pa.string()),
            ("created_at", pa.timestamp("us")),
        ]
    )
    table = pa.Table.from_pylist(rows, schema=schema)
    cur.register("_annotation_rows", table)
    try:
        cur.execute(f"INSERT INTO annotations ({', '.join(COLUMNS)}) SELECT * FROM _annotation_rows")
    finally:
        cur.unregister("_annotation_rows")
    return table.num_rows
