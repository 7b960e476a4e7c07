"""Fixtures shared by the engine tests."""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pytest


@pytest.fixture(scope="module")
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory DuckDB connection per module (modules needing another kind define their own)."""
    connection = duckdb.connect(":memory:")
    yield connection
    connection.close()
