"""Fixtures for the datasets tests: a fresh store, and one holding the example routers and requests."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from routelab.datasets import prices, routers
from routelab.datasets.store import Store, open_store
from routelab.datasets.tables import write
from routelab.datasets.workspace import EXAMPLE_VERSIONS, example_config, example_prices

EXAMPLES = Path(__file__).resolve().parents[2] / "router_core" / "examples"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with open_store(tmp_path / "t.duckdb") as s:
        yield s


def example_requests() -> pd.DataFrame:
    """The example request files as a requests frame."""
    rows = [json.loads(p.read_text()) for p in sorted((EXAMPLES / "requests").glob("*.json"))]
    frame = pd.DataFrame(rows)
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True).dt.tz_localize(None)
    frame["attrs"] = [
        {k: str(v) for k, v in (a or {}).items()} if isinstance(a, dict) else {} for a in frame["attrs"]
    ]
    return frame


@pytest.fixture
def example_store(store: Store) -> Store:
    """A store with acme v1-v3 registered, the example requests and the example price table."""
    with store.transaction() as cur:
        write(cur, "requests", example_requests(), "examples")
    prices.save_price_table(store, example_prices())
    for name in EXAMPLE_VERSIONS:
        routers.add(store, example_config(name), source=name)
    return store
