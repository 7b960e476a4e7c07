"""Sufficient statistics of a comparison: the paired requests reduced to counts of distinct cells.

Every number `compare` reports is a function of a few group-by counts of the paired requests, so they are
computed once, by whoever holds the data: from two decision frames (`counts_from_frame`, here) or inside
DuckDB (`app.paired_store`, for stores of millions of requests). Both give equal `PairedCounts`, and the
metrics (`compare_metrics`) read nothing else.

**Paths as codes.** A decided path (the normalised `PATH_COLUMNS`) is a code into `tuples`, which holds its
components and readable key. **Verdicts** are ``ok`` = 1 (right), 0 (wrong) or -1 (no labelled gold).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from routelab.evaluators.accuracy_types import MISSING, PATH_COLUMNS
from routelab.evaluators.compare_types import BUCKETS, PATH_KEY_COMPONENTS
from routelab.evaluators.errors import EvaluatorError
from routelab.evaluators.frames import is_missing, iso_week, require_columns, require_unique

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped,unused-ignore]  # no pandas-stubs in the dev lock yet

#: Columns of `PairedCounts.cells`.
CELL_COLUMNS = ("tb", "tc", "ok_b", "ok_c", "status", "n")
#: Columns of `PairedCounts.cost` and `.latency`: a distinct (base, candidate) pair and its requests.
PAIR_COLUMNS = ("base", "cand", "n")


@dataclass(frozen=True)
class SliceCounts:
    """One `by` field's counts: verdict pairs and cost pairs per slice value (text, `MISSING` if none)."""

    cells: pd.DataFrame
    """value, ok_b, ok_c, n."""
    cost: pd.DataFrame
    """value, base, cand, n: distinct est_cost_usd pairs per value."""


@dataclass(frozen=True)
class PairedCounts:
    """Two versions' decisions on the same requests, as counts (module docstring)."""

    baseline: str | None
    """The baseline version (`name@version`), if known."""
    candidate: str | None
    """The candidate version, if known."""
    tuples: pd.DataFrame
    """One row per path code (index 0..T-1): the normalised `PATH_COLUMNS` and ``path`` (readable key)."""
    cells: pd.DataFrame
    """`CELL_COLUMNS`: requests per (base path, candidate path, both verdicts, gold status)."""
    cost: pd.DataFrame
    """`PAIR_COLUMNS` of est_cost_usd."""
    latency: pd.DataFrame
    """`PAIR_COLUMNS` of est_latency_ms."""
    examples: Mapping[str, tuple[str, ...]]
    """Per bucket (`BUCKETS`), its first request ids in id order (at most the asked number)."""
    dropped_baseline: int
    """Baseline decisions without a candidate decision."""
    dropped_candidate: int
    """Candidate decisions without a baseline decision."""
    slices: Mapping[str, SliceCounts] = field(default_factory=dict)
    """Per `by` field, in the order asked."""

    @property
    def n(self) -> int:
        """Paired requests."""
        return int(self.cells["n"].sum())


def bucket_of(ok_b: int, ok_c: int, moved: bool) -> str | None:
    """The flip bucket of a labelled request (None when unlabelled)."""
    if ok_b < 0 or ok_c < 0:
        return None
    if ok_b != ok_c:
        return "fixed" if ok_c else "broken"
    state = "right" if ok_b else "wrong"
    return f"changed_both_{state}" if moved else f"unchanged_{state}"


def path_key_of(row: Sequence[object]) -> str:
    """The readable key of normalised `PATH_KEY_COMPONENTS` values: ``model | retrieval | …``."""
    return " | ".join("-" if v is None else str(v) for v in row)


def tuple_table(rows: Sequence[tuple[object, ...]]) -> pd.DataFrame:
    """The `tuples` frame of normalised `PATH_COLUMNS` rows (in code order), with their path keys."""
    import pandas as pd

    frame = pd.DataFrame.from_records(list(rows), columns=list(PATH_COLUMNS))
    frame = frame.astype(object).where(frame.notna(), None)
    key_cols = [PATH_COLUMNS.index(c) for c in PATH_KEY_COMPONENTS]
    frame["path"] = [path_key_of([r[i] for i in key_cols]) for r in rows]
    return frame


def slice_text(value: object) -> str:
    """A slice value as text: `MISSING` when missing."""
    return MISSING if is_missing(value) else str(value)


def regroup(frame: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """Sum `n` over equal keys (after keys were mapped, e.g. raw values to text), sorted by the keys."""
    if frame.empty:
        return frame[[*keys, "n"]].reset_index(drop=True)
    out = frame.groupby(list(keys), sort=True, dropna=False, as_index=False)["n"].sum()
    return out.reset_index(drop=True)


# --- from two decision frames ------------------------------------------------------------------------------


def _verdict_codes(ok: pd.Series) -> pd.Series:
    """A nullable boolean verdict column as 1 / 0 / -1 (NA)."""
    import numpy as np
    import pandas as pd

    values = ok.to_numpy(dtype=object, na_value=None)
    codes = np.full(len(values), -1, dtype=np.int64)
    known = np.array([v is not None for v in values], dtype=bool)
    codes[known] = np.array([bool(v) for v in values[known]], dtype=np.int64)
    return pd.Series(codes, index=ok.index)


def _pair_counts(frame: pd.DataFrame, column: str, keys: Sequence[str] = ()) -> pd.DataFrame:
    sub = frame[[*keys]].copy()
    sub["base"] = frame[f"{column}_base"].to_numpy(dtype=float)
    sub["cand"] = frame[f"{column}_cand"].to_numpy(dtype=float)
    sub["n"] = 1
    return regroup(sub, [*keys, "base", "cand"])


def slice_keys(frame: pd.DataFrame, requests: pd.DataFrame | None, by: Sequence[str]) -> pd.DataFrame:
    """The `by` fields of each paired request as text (`slice_text`), aligned with `frame`.

    Raises:
        EvaluatorError: no `requests` frame, or one without the fields or with repeated requests.
    """
    if requests is None:
        raise EvaluatorError(f"slices by {', '.join(by)} need the requests frame; pass `requests`")
    need = ["request_id", *dict.fromkeys("ts" if f == "week" else f for f in by)]
    require_columns(requests, need, "requests")
    require_unique(requests, "request_id", "requests")
    fields = requests[need].assign(request_id=requests["request_id"].astype(str))
    if "week" in by:
        fields["week"] = iso_week(fields["ts"])
    keys = frame[["request_id"]].merge(fields, on="request_id", how="left", validate="one_to_one")
    return keys[list(dict.fromkeys(by))].map(slice_text)


def counts_from_frame(
    frame: pd.DataFrame,
    baseline: str | None,
    candidate: str | None,
    dropped: tuple[int, int],
    requests: pd.DataFrame | None = None,
    by: Sequence[str] = (),
    examples: int = 5,
) -> PairedCounts:
    """`PairedCounts` of `compare.PairedDecisions.frame` (one row per paired request, by request_id)."""
    import numpy as np
    import pandas as pd

    both = pd.concat(
        [
            frame[[f"{c}_{side}" for c in PATH_COLUMNS]].set_axis(list(PATH_COLUMNS), axis=1)
            for side in ("base", "cand")
        ],
        ignore_index=True,
    )
    codes = both.groupby(list(PATH_COLUMNS), sort=False, dropna=False).ngroup().to_numpy()
    first = np.unique(codes, return_index=True)[1]
    rows = [tuple(None if is_missing(v) else v for v in r) for r in both.iloc[first].itertuples(index=False)]
    tuples = tuple_table(rows)
    n = len(frame)
    rows_frame = pd.DataFrame(
        {
            "tb": codes[:n],
            "tc": codes[n:],
            "ok_b": _verdict_codes(frame["ok_base"]).to_numpy(),
            "ok_c": _verdict_codes(frame["ok_cand"]).to_numpy(),
            "status": frame["status"].astype(str).to_numpy(),
            "n": 1,
        }
    )
    cells = regroup(rows_frame, CELL_COLUMNS[:-1])
    paths = tuples["path"].to_numpy(dtype=object)
    moved = paths[rows_frame["tb"].to_numpy()] != paths[rows_frame["tc"].to_numpy()]
    bucket = [
        bucket_of(b, c, m)
        for b, c, m in zip(
            rows_frame["ok_b"].tolist(), rows_frame["ok_c"].tolist(), moved.tolist(), strict=True
        )
    ]
    ids = frame["request_id"].astype(str).tolist()
    picked: dict[str, list[str]] = {b: [] for b in BUCKETS}
    for rid, b in zip(ids, bucket, strict=True):  # the frame is ordered by request_id
        if b is not None and len(picked[b]) < examples:
            picked[b].append(rid)
    slices: dict[str, SliceCounts] = {}
    if by:
        keys = slice_keys(frame, requests, by)
        for f in dict.fromkeys(by):
            values = keys[f].to_numpy(dtype=object)
            cells_f = regroup(
                rows_frame[["ok_b", "ok_c", "n"]].assign(value=values), ["value", "ok_b", "ok_c"]
            )
            cost_f = _pair_counts(frame.assign(value=values), "est_cost_usd", ["value"])
            slices[f] = SliceCounts(cells=cells_f, cost=cost_f)
    return PairedCounts(
        baseline=baseline,
        candidate=candidate,
        tuples=tuples,
        cells=cells,
        cost=_pair_counts(frame, "est_cost_usd"),
        latency=_pair_counts(frame, "est_latency_ms"),
        examples={b: tuple(v) for b, v in picked.items()},
        dropped_baseline=dropped[0],
        dropped_candidate=dropped[1],
        slices=slices,
    )
