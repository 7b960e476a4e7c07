"""Checks and small transforms shared by the evaluators' DataFrame inputs (never mutating them).

pandas is imported where a function needs it, so importing the evaluators' result types stays cheap.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING

from routelab.evaluators.errors import EvaluatorError

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped,unused-ignore]  # no pandas-stubs in the dev lock yet


#: A slice field `a*b` crosses two fields; its values read ``A × B``; a missing value reads `(missing)`.
CROSS, CROSS_JOIN, MISSING_TEXT = "*", " × ", "(missing)"


class FrameError(EvaluatorError):
    """An input frame lacks a column, repeats a key or holds a value the evaluator cannot read."""


def is_missing(value: object) -> bool:
    """None, NaN, NaT or pandas NA: a cell with no value."""
    if value is None:
        return True
    if isinstance(value, float):  # numpy floats too
        return math.isnan(value)
    return type(value).__name__ in ("NAType", "NaTType")  # pandas' NA and NaT, without importing pandas


def require_columns(frame: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    """Fail unless `frame` has every column in `columns`.

    Raises:
        FrameError: naming the frame, the missing columns and the columns it has.
    """
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise FrameError(
            f"{what}: missing column(s) {', '.join(missing)}; it has: {', '.join(map(str, frame.columns))}"
        )


def require_unique(frame: pd.DataFrame, key: str, what: str) -> None:
    """Fail when a value of `key` occurs more than once.

    Raises:
        FrameError: naming up to five repeated values.
    """
    repeated = frame[key][frame[key].duplicated()].unique()
    if len(repeated):
        shown = ", ".join(map(str, repeated[:5]))
        raise FrameError(f"{what}: {key} must be unique; repeated: {shown} ({len(repeated)} in all)")


def iso_week(ts: pd.Series) -> pd.Series:
    """ISO week labels (`2026-W37`) of a timestamp column; missing timestamps stay missing."""
    import pandas as pd

    stamps = pd.to_datetime(ts)
    cal = stamps.dt.isocalendar()
    labels = cal["year"].astype("string") + "-W" + cal["week"].astype("string").str.zfill(2)
    return labels.astype(object).where(stamps.notna(), None)


def slice_key(frame: pd.DataFrame, field: str) -> pd.Series:
    """The slice value of every row: the field as text, `a*b` crossing two fields as ``A × B``.

    A missing value reads ``(missing)``.

    Raises:
        FrameError: a field the frame does not have, naming the ones it has.
    """
    parts = field.split(CROSS)
    missing = [p for p in parts if p not in frame.columns]
    if missing:
        raise FrameError(
            f"slice {field!r}: no field {', '.join(missing)}; known: {', '.join(map(str, frame.columns))}"
        )
    texts = [_texts(frame[p]) for p in parts]
    key = texts[0]
    for t in texts[1:]:
        key = key + CROSS_JOIN + t
    return key


def _texts(column: pd.Series) -> pd.Series:
    """`str` of every value (missing ones read `MISSING_TEXT`), computed once per distinct value."""
    import numpy as np
    import pandas as pd

    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    if column.dtype == object and len({type(u) for u in uniques}) > 1:
        # a hash table holds 1, 1.0 and True as one value: a mixed column goes value by value
        return column.astype(object).where(column.notna(), MISSING_TEXT).astype(str)
    table = np.empty(len(uniques) + 1, dtype=object)
    table[:] = [*(str(u) for u in uniques), MISSING_TEXT]
    return pd.Series(table[codes], index=column.index, dtype=object)  # code -1 (missing) picks the last
