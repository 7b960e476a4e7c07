"""Integer codes of a grouped drift frame's slice keys and path components, computed once per drift run.

Route mix and the silent-failure slices count requests per (slice value, path value) in every window: with
many windows, slices and components, thousands of small pandas group-bys cost more than the counting. Codes
are assigned once, sorted like the texts (`pandas.factorize(sort=True)`), and a window's counts are one
`numpy.bincount` over its rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from routelab.evaluators.frames import slice_key

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd  # type: ignore[import-untyped,unused-ignore]  # no pandas-stubs in the dev lock yet
    from numpy.typing import NDArray


def key_of(frame: pd.DataFrame, field: str) -> pd.Series:
    """The slice key of each row (`frames.slice_key`), ``all`` for the whole traffic."""
    import pandas as pd

    return pd.Series("all", index=frame.index) if field == "all" else slice_key(frame, field)


@dataclass(frozen=True)
class Coded:
    """One column's (or slice key's) code per row and the sorted texts the codes stand for."""

    codes: NDArray[np.intp]
    labels: list[str]


@dataclass(frozen=True)
class FrameCodes:
    """The codes of a grouped drift frame: its counts, slice keys and path components."""

    n: NDArray[np.int64]
    keys: dict[str, Coded]
    """Slice field (``all`` included) → codes of its slice key."""
    columns: dict[str, Coded]
    """Path component (``path`` included) → codes of its texts."""

    def counts(self, rows: NDArray[np.bool_], key: str, column: str | None = None) -> NDArray[np.int64]:
        """Requests of `rows` per key code (a vector) or per (key code, column code) (a matrix)."""
        import numpy as np

        k = self.keys[key]
        if column is None:
            return np.bincount(k.codes[rows], weights=self.n[rows], minlength=len(k.labels)).astype(np.int64)
        c = self.columns[column]
        m = len(c.labels)
        flat = k.codes[rows] * m + c.codes[rows]
        table = np.bincount(flat, weights=self.n[rows], minlength=len(k.labels) * m)
        return table.reshape(len(k.labels), m).astype(np.int64)

    def present(self, rows: NDArray[np.bool_], column: str) -> NDArray[np.intp]:
        """The codes of `column` that some row of `rows` carries, ascending (= sorted texts)."""
        import numpy as np

        return np.unique(self.columns[column].codes[rows])


def _coded(values: pd.Series) -> Coded:
    import numpy as np
    import pandas as pd

    codes, uniques = pd.factorize(values.astype(object), sort=True, use_na_sentinel=True)
    if (codes < 0).any():  # slice keys and path texts are never missing; guard the invariant anyway
        raise ValueError("grouped drift frame: a slice key or path text is missing")
    return Coded(np.asarray(codes, dtype=np.intp), [str(u) for u in uniques])


def frame_codes(grouped: pd.DataFrame, slices: Sequence[str], columns: Sequence[str]) -> FrameCodes:
    """Codes of every slice key (``all`` and `slices`) and of `columns` of the grouped drift frame."""
    import numpy as np

    return FrameCodes(
        n=grouped["n"].to_numpy(dtype=np.int64),
        keys={f: _coded(key_of(grouped, f)) for f in dict.fromkeys(["all", *slices])},
        columns={c: _coded(grouped[c]) for c in dict.fromkeys(columns)},
    )
