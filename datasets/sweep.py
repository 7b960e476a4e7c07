"""Sweeping a version's knob: its decisions at every value of the knob, without storing them.

A version's `knobs` (router_core.config.Knob) name numbers its conditions read; a sweep compiles the version
once per value (`router_core.validate.with_knob`) and runs the SQL engine's query over the stored requests,
returning the decisions as frames (the `decisions` table stays the version's own, at its shipped value).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from routelab.datasets import prices as price_store
from routelab.datasets import routers
from routelab.datasets.errors import DatasetError
from routelab.datasets.replay import REQUEST_FIELDS
from routelab.datasets.store import Store
from routelab.router_core.errors import ConfigError, PriceError
from routelab.router_core.sql import compile_sql
from routelab.router_core.validate import with_knob

SWEEP_COLUMNS = ("request_id", "model", "tier", "est_cost_usd", "est_latency_ms")


@dataclass(frozen=True)
class SweepPoint:
    """The decisions of a version with one knob set to one value."""

    knob: str
    value: float
    decisions: pd.DataFrame


def sweep(
    store: Store,
    ref: str,
    knob: str,
    values: Sequence[float] | None = None,
    price_table_id: str | None = None,
) -> list[SweepPoint]:
    """The version's decisions at each value of `knob` (default: the knob's own `sweep` list), in order.

    Raises:
        NotFoundError: unknown version or price table.
        DatasetError: the version has no such knob, or the knob has no values to sweep.
    """
    router = routers.get(store, ref)
    spec = router.config.knobs.get(knob)
    if spec is None:
        known = ", ".join(sorted(router.config.knobs)) or "none"
        raise DatasetError(f"{ref} has no knob {knob!r}; its knobs: {known} (declare one under `knobs:`)")
    chosen = list(values if values is not None else spec.sweep)
    if not chosen:
        raise DatasetError(
            f"{ref}: knob {knob!r} lists no `sweep` values; add them to the config or pass some"
        )
    pid, table = price_store.load_stored(store, price_table_id)
    source = f"(SELECT {', '.join(REQUEST_FIELDS)} FROM requests)"
    points = []
    for value in chosen:
        try:
            sql = compile_sql(with_knob(router, knob, value), table, source)
        except (ConfigError, PriceError) as exc:
            raise DatasetError(f"{ref} with {knob}={value} (price table {pid}): {exc}") from exc
        frame = store.df(f"SELECT {', '.join(SWEEP_COLUMNS)} FROM ({sql}) ORDER BY request_id")
        points.append(SweepPoint(knob=knob, value=float(value), decisions=frame))
    return points
