"""Column drift over grouped rows (`drift_grouped.column_drift`) equals `drift_stats.column_drift` per row.

The demo exercises the common tests through `tests/app/test_drift_store.py`; these cases reach the branches
it does not: numeric columns with at most five values (chi-square, z-test, Jensen–Shannon over value
texts), categorical columns with missing values, and both sides of the small-sample boundary.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from routelab.evaluators.drift_grouped import column_drift
from routelab.evaluators.drift_stats import DEFAULT_THRESHOLDS
from routelab.evaluators.drift_stats import column_drift as column_drift_rows


def grouped(values: pd.Series) -> pd.DataFrame:
    """The distinct values of a column with their counts ``n`` (missing values kept)."""
    counts = values.groupby(values, dropna=False).size()
    return pd.DataFrame({"x": pd.Series(counts.index, dtype=values.dtype), "n": counts.to_numpy()})


def draw(rng: np.random.Generator, kind: str, size: int, shift: float) -> pd.Series:
    """A column of `kind`: few numbers, many numbers, or categories with missing values."""
    if kind == "few":
        return pd.Series(rng.integers(0, 3, size) + (rng.random(size) < shift), dtype="float64")
    if kind == "binary":
        return pd.Series((rng.random(size) < 0.3 + shift).astype("int64"))
    if kind == "many":
        return pd.Series(np.round(rng.gamma(2 + shift, 50, size)), dtype="float64")
    picked = rng.choice(np.array(["a", "b", "c", None], dtype=object), size, p=[0.4, 0.3, 0.2, 0.1])
    return pd.Series(picked, dtype=object)


CASES = [(kind, size) for kind in ("few", "binary", "many", "text") for size in (300, 3000)]


@pytest.mark.parametrize(("kind", "size"), CASES, ids=[f"{k}-{s}" for k, s in CASES])
def test_grouped_column_drift_equals_the_per_row_one(kind: str, size: int) -> None:
    rng = np.random.default_rng(size)
    ref, cur = draw(rng, kind, size, 0.0), draw(rng, kind, size // 2, 0.2)
    want = column_drift_rows(ref, cur)
    got = column_drift(grouped(ref), grouped(cur), "x", want.kind == "numeric", DEFAULT_THRESHOLDS)
    expected: dict[str, Any] = want.model_dump()
    actual: dict[str, Any] = got.model_dump()
    for key, value in expected.items():
        if isinstance(value, float):
            assert actual[key] == pytest.approx(value, rel=1e-12), key
        else:
            assert actual[key] == value, key
