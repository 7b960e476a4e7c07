"""Typed columns from raw values: each converter records a problem per bad cell and returns the column
with bad and missing cells as NA. Numbers and times convert vectorised; text and JSON per value."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from routelab.datasets.importers.readers import DEEP_JSON
from routelab.datasets.importers.source import Source
from routelab.router_core.request import MAX_TOKENS, attr_text

_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}


def shown(value: Any, limit: int = 60) -> str:
    """A value for an error message, shortened."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def canonical_json(value: Any) -> str:
    """JSON text in the store's canonical form (sorted keys, UTF-8 kept)."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _required(src: Source, name: str, missing: np.ndarray) -> None:
    if missing.any():
        src.fail(missing, name, "missing (a value is required)")


def per_value(src: Source, name: str, fn: Callable[[Any], Any], required: bool = False) -> pd.Series:
    """Convert a column value by value with `fn`, which raises ValueError(problem) on a bad value."""
    raw = src.col(name)
    out: list[Any] = [None] * len(raw)
    bad_pos: list[int] = []
    bad_msg: list[str] = []
    missing = np.zeros(len(raw), dtype=bool)
    for pos, value in enumerate(raw.to_numpy()):
        if value is None or (isinstance(value, float) and math.isnan(value)):
            missing[pos] = True
            continue
        try:
            out[pos] = fn(value)
        except ValueError as exc:
            bad_pos.append(pos)
            bad_msg.append(str(exc))
    src.fail(bad_pos, name, bad_msg)
    if required:
        _required(src, name, missing)
    return pd.Series(out, index=raw.index, dtype=object)


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise ValueError(f"expected text, got {shown(value)}")


def text(src: Source, name: str, required: bool = False) -> pd.Series:
    """A text column (JSON integers become their digits); `required` also rejects empty text."""
    out = per_value(src, name, _text, required)
    if required:
        src.fail(out.map(lambda v: v is not None and not v.strip()).to_numpy(dtype=bool), name, "empty text")
    return out


def number(
    src: Source,
    name: str,
    lo: float | None = None,
    hi: float | None = None,
    lo_open: bool = False,
    integer: bool = False,
    required: bool = False,
) -> pd.Series:
    """A numeric column (vectorised): Float64, or Int64 with `integer`; bounds inclusive unless `lo_open`."""
    raw = src.col(name)
    missing = raw.isna().to_numpy()
    is_bool = raw.map(lambda v: isinstance(v, bool)).to_numpy(dtype=bool)
    stripped = raw.map(lambda v: v.strip() if isinstance(v, str) else v).where(~is_bool, None)
    num = pd.to_numeric(stripped, errors="coerce").astype("float64").to_numpy()
    with np.errstate(invalid="ignore"):
        bad = ~missing & ~np.isfinite(num)
        what = "an integer" if integer else "a number"
        if bad.any():
            src.fail(bad, name, [f"expected {what}, got {shown(v)}" for v in raw.to_numpy()[bad]])
        ok = ~missing & ~bad
        if integer:
            frac = ok & (num % 1 != 0)
            src.fail(frac, name, [f"expected an integer, got {shown(v)}" for v in raw.to_numpy()[frac]])
            ok &= ~frac
        low = ok & ((num <= lo) if lo_open else (num < lo)) if lo is not None else np.zeros_like(ok)
        high = ok & (num > hi) if hi is not None else np.zeros_like(ok)
    for mask, rule in ((low, f"{'>' if lo_open else '≥'} {lo}"), (high, f"≤ {hi}")):
        if mask.any():
            src.fail(mask, name, [f"must be {rule}, got {shown(v)}" for v in raw.to_numpy()[mask]])
            ok &= ~mask
    if required:
        _required(src, name, missing)
    values = np.where(ok, num, np.nan)
    series = pd.Series(values, index=raw.index, dtype="Float64").where(ok, pd.NA)
    return series.round().astype("Int64") if integer else series


def tokens(src: Source, name: str) -> pd.Series:
    """A token count: an integer in [0, MAX_TOKENS]."""
    return number(src, name, lo=0, hi=MAX_TOKENS, integer=True)


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise ValueError(f"expected true or false, got {shown(value)}")


def boolean(src: Source, name: str, required: bool = False) -> pd.Series:
    """A boolean column (true/false, yes/no, 1/0, any case)."""
    return per_value(src, name, _bool, required).astype("boolean")


def timestamp(src: Source, name: str) -> pd.Series:
    """An ISO 8601 time column, as naive UTC (naive input is taken as UTC)."""
    raw = src.col(name)
    missing = raw.isna().to_numpy()
    is_text = raw.map(lambda v: isinstance(v, str)).to_numpy(dtype=bool)
    parsed = pd.to_datetime(raw.where(is_text, None), utc=True, format="ISO8601", errors="coerce")
    others = ~missing & ~is_text
    if others.any():  # Parquet timestamps arrive as datetime objects
        conv = pd.to_datetime(raw.where(others, None).map(_as_time), utc=True, errors="coerce")
        parsed = parsed.where(~others, conv)
    bad = ~missing & parsed.isna().to_numpy()
    if bad.any():
        msgs = [f"expected an ISO 8601 time such as 2024-05-01T12:00:00Z, got {shown(v)}" for v in raw[bad]]
        src.fail(bad, name, msgs)
    return parsed.dt.tz_localize(None).astype("datetime64[us]")


def _as_time(value: Any) -> Any:
    return value if hasattr(value, "year") else None


def epoch_seconds(src: Source, name: str) -> pd.Series:
    """A Unix-time column (seconds since 1970, UTC), as naive UTC."""
    secs = number(src, name, lo=0)
    stamps = pd.to_datetime(secs.astype("float64") * 1e6, unit="us", errors="coerce")
    return stamps.astype("datetime64[us]")


def json_of(kind: type, value: Any) -> Any:
    """`value` (or the JSON text it holds) as a JSON `kind` (dict or list)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValueError(f"invalid JSON at column {exc.colno}: {exc.msg}") from None
        except RecursionError:  # json's parser recurses once per level of [ or {
            raise ValueError(DEEP_JSON) from None
    if not isinstance(value, kind):
        name = "object" if kind is dict else "list"
        raise ValueError(f"expected a JSON {name}, got {shown(value)}")
    return value


def json_column(src: Source, name: str, kind: type) -> pd.Series:
    """A column of JSON objects or lists (CSV cells hold them as JSON text)."""
    return per_value(src, name, lambda v: json_of(kind, v), required=False)


def attrs_entry(value: Any) -> str:
    """An attr value as canonical text (`attr_text`), with a message fit for an import error."""
    try:
        return attr_text(value)
    except ValueError as exc:
        raise ValueError(f"{exc}; flatten it, or drop the column with --map column=-") from None


def as_map(attrs: dict[str, str] | None) -> dict[str, list[str]] | None:
    """Attrs in the form DuckDB reads as MAP(VARCHAR, VARCHAR); keys sorted so equal maps compare equal."""
    if attrs is None:
        return None
    keys = sorted(attrs)
    return {"key": keys, "value": [attrs[k] for k in keys]}
