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


def data_fingerprint(store: Store) -> str:
    """A short hash of the data a result was computed from: request ids, labels and current annotations."""
    import hashlib

    parts = store.execute(
        """
        SELECT
            (SELECT coalesce(md5(string_agg(request_id, ',' ORDER BY request_id)), '') FROM requests),
            (SELECT count(*) FROM requests),
            (SELECT coalesce(md5(string_agg(request_id || acceptable, ',' ORDER BY request_id)), '')
             FROM labels),
            (SELECT coalesce(md5(string_agg(annotation_id, ',' ORDER BY annotation_id)), '') FROM annotations)
        """
    ).fetchone()
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


def run_stamp(store: Store, refs: list[str]) -> dict[str, Any]:
    """What a result about these versions depends on: their hashes, latest runs and price tables, the data."""
    stamp: dict[str, Any] = {"data_fingerprint": data_fingerprint(store), "versions": {}}
    for ref in refs:
        row = store.execute(
            "SELECT run_id, router_hash, price_table_id FROM replay_runs WHERE router = ? "
            "ORDER BY finished_at DESC LIMIT 1",
            [ref],
        ).fetchone()
        stamp["versions"][ref] = (
            {"run_id": row[0], "router_hash": row[1], "price_table_id": row[2]} if row else None
        )
    return stamp
