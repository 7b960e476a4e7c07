"""A stored version's grouped drift frame, counted inside DuckDB (`datasets.drift_sql`), for `routelab drift`.

The per-request drift frame (`evaluators.drift_frame`) costs memory and time in proportion to the traffic:
every decision, request, label (as a pydantic object) and outcome is loaded. Drift's measures need only how
many requests share each combination of the values they read, per day, so DuckDB joins and counts, and the
evaluators (`evaluators.drift_counted`, `evaluators.timeline_grouped`) weigh the distinct rows.

Python computes only what is small, as `app.paired_store` does for `compare`: each distinct decided path's
normalised form and texts, the gold shape of each distinct label text and of the annotated requests, the
verdict of every (shape, path) pair, and which attrs read as numbers (from their distinct values).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

#: Outcome flags of the grouped rows (`datasets.drift_sql.VALUE_COLUMNS`), read as floats (NaN missing, 0, 1).
FLAG_COLUMNS = ("error", "logged_error", "logged_fallback", "logged_cache_hit")


def _float_columns() -> tuple[str, ...]:
    """The grouped rows' numeric value columns, read as floats: every value column but the path code, the
    verdict and the flags."""
    from routelab.datasets.drift_sql import VALUE_COLUMNS

    return tuple(c for c in VALUE_COLUMNS if c not in ("code", "ok", *FLAG_COLUMNS))


#: Decisions joined per pass: DuckDB's join hash tables take roughly 0.4 KB per request, so about 400 MB.
PARTITION_ROWS = 1_000_000


def partitions_for(decisions: int, partition_rows: int | None = None) -> int:
    """How many hash partitions keep each DuckDB pass at about `partition_rows` decisions (at least 1).

    None reads `PARTITION_ROWS` at call time (tests lower it to exercise the partitioned passes).
    """
    rows = PARTITION_ROWS if partition_rows is None else partition_rows
    return max(1, -(-int(decisions) // max(int(rows), 1)))


@dataclass(frozen=True)
class GroupedDrift:
    """A version's grouped drift frame and what the drift document records beside it."""

    frame: Any
    """The grouped drift frame (`evaluators.drift_grouped` module docstring), one row per distinct group."""
    fields: tuple[str, ...]
    """The request fields it carries, in order."""
    gold_counts: dict[str, int]
    """Requests per gold source (every source)."""


def _numeric_attrs(store: Any, fields: Sequence[str]) -> list[str]:
    """The attrs fields that read as numbers (`app.workflows._numeric_attrs`'s rule, on distinct values)."""
    import pandas as pd

    from routelab.app.workflows import NUMERIC_ATTR_SHARE
    from routelab.datasets.drift_sql import attr_value_counts

    attrs = [f for f in fields if f.startswith("attrs.")]
    counts = attr_value_counts(store, attrs)
    out = []
    for field in attrs:
        rows = counts[(counts["field"] == field) & counts["value"].notna()]
        parsed = pd.to_numeric(rows["value"].astype(object), errors="coerce").notna()
        total = int(rows["n"].sum())
        if total and int(rows["n"][parsed.to_numpy()].sum()) / total >= NUMERIC_ATTR_SHARE:
            out.append(field)
    return out


def _gold_counts(store: Any, inputs: Any) -> dict[str, int]:
    """Requests per gold source, as `paired_store.Pairing.counts` counts them."""
    from routelab.datasets import paired_sql
    from routelab.evaluators.gold import GoldSource

    counts = dict.fromkeys((s.value for s in GoldSource), 0)
    counts.update(paired_sql.label_counts(store, inputs.tables[2]))
    for _rid, status, _shape in inputs.gold_rows:
        counts[status] += 1
    return counts


def _decorate(raw: Any, tuples: Any, numeric: Sequence[str]) -> Any:
    """The grouped rows as a grouped drift frame: path texts from codes, verdicts and flags as floats."""
    import numpy as np
    import pandas as pd

    from routelab.evaluators.drift_frame import TEXT_COMPONENTS

    codes = raw["code"].to_numpy(dtype=np.int64)
    out = pd.DataFrame({"day": pd.to_datetime(raw["day"]), "n": raw["n"].astype("int64")})
    for c in TEXT_COMPONENTS:
        texts = np.array(["-" if v is None else str(v) for v in tuples[c]], dtype=object)
        out[c] = texts[codes]
    out["path"] = tuples["path"].to_numpy(dtype=object)[codes]
    ok = raw["ok"].to_numpy(dtype=np.int64)
    out["correct"] = np.where(ok < 0, np.nan, ok.astype(float))
    floats = _float_columns()
    for c in floats:
        out[c] = pd.to_numeric(raw[c], errors="coerce").astype(float)
    for c in FLAG_COLUMNS:
        out[c] = raw[c].map({True: 1.0, False: 0.0}).astype(float)
    skip = {"day", "n", "ids", "code", "ok", *floats, *FLAG_COLUMNS}
    for c in [c for c in raw.columns if c not in skip]:
        out[c] = pd.to_numeric(raw[c], errors="coerce") if c in numeric else raw[c]
    out["ids"] = raw["ids"]
    # numpy object text: pandas' Arrow strings cost a Python object per element on every set() or groupby
    text = [c for c in out.columns if c != "ids" and out[c].dtype.kind not in "biufcmM" and c not in numeric]
    return out.astype(dict.fromkeys(text, object))


def grouped_drift_frame(
    store: Any, ref: str, fields: Sequence[str], partition_rows: int | None = None
) -> GroupedDrift:
    """The grouped drift frame of a replayed version with the request `fields` (module docstring).

    DuckDB joins at most about `partition_rows` decisions at a time (None: `PARTITION_ROWS`;
    `datasets.drift_sql.grouped_rows`' hash partitions), so its memory stays bounded however many requests
    the store holds.

    Raises:
        NotFoundError: the version has no decisions.
        FrameError: a decision without a finite cost or latency estimate.
        EvaluatorError: a bad label or annotation.
        DatasetError: an unknown request field.
    """
    from routelab.app.paired_store import version_inputs
    from routelab.datasets.drift_sql import grouped_rows
    from routelab.datasets.queries import request_select

    request_select(fields)  # an unknown field fails before anything is joined
    inputs = version_inputs(store, ref)
    numeric = _numeric_attrs(store, fields)
    raw = grouped_rows(store, ref, inputs.tables, fields, partitions_for(inputs.decided[0], partition_rows))
    frame = _decorate(raw, inputs.tuples, numeric)
    return GroupedDrift(frame=frame, fields=tuple(fields), gold_counts=_gold_counts(store, inputs))
