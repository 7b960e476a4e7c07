"""Storing the demo: its three store-shaped frames in one transaction."""

from __future__ import annotations

from typing import TYPE_CHECKING

from routelab.datasets import tables
from routelab.datasets.store import Store

if TYPE_CHECKING:
    from routelab.datasets.demo import DemoData


def write_demo(store: Store, data: DemoData, on_conflict: tables.OnConflict = "error") -> dict[str, int]:
    """Write the demo's requests, labels and outcomes in one transaction, as import `demo-<seed>-<n>`.

    Returns:
        Rows inserted per table (rows already stored identically are skipped).

    Raises:
        ConflictError: rows with the same keys but other content are stored and `on_conflict` is `error`.
    """
    counts: dict[str, int] = {}
    with store.transaction() as cur:
        for table, frame in (
            ("requests", data.requests),
            ("labels", data.labels),
            ("outcomes", data.outcomes),
        ):
            counts[table] = tables.write(cur, table, frame, data.import_id, on_conflict).inserted
    return counts
