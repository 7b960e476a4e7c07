"""Evaluation results in the store, each with the name and parameters that produced it."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pandas as pd

from routelab.datasets.store import Store, now_utc


def save(
    store: Store, kind: str, routers: list[str], params: dict[str, Any], result: Any, seed: int | None = None
) -> str:
    """Store one evaluation result (JSON-serialisable) with its parameters and seed; return its id."""
    result_id = uuid.uuid4().hex
    store.execute(
        "INSERT INTO eval_results VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            result_id,
            kind,
            routers,
            json.dumps(params, sort_keys=True, default=str),
            seed,
            json.dumps(result, sort_keys=True, default=str),
            now_utc(),
        ],
    )
    return result_id


def history(store: Store, kind: str | None = None) -> pd.DataFrame:
    """Stored results, newest first (optionally of one kind)."""
    where, params = ("WHERE kind = ?", [kind]) if kind else ("", [])
    return store.df(f"SELECT * FROM eval_results {where} ORDER BY created_at DESC", params)
