"""The table-shaped formats `requests` and `outcomes` (and the shared helpers; `labels` is in labels.py).

Column names are the table's (rename others with `--map source=field`, drop with `--map column=-`).
`requests` puts every other column into attrs; `labels` and `outcomes` ignore other columns and report them
(`ImportReport.ignored_columns`). Option `id_prefix` prefixes every request id, to keep datasets whose ids
are bare row numbers apart in one store.

Outcomes need no matching request: benchmark grades and logs may arrive before, after or without traffic,
and evaluators join on request_id. Options `kind`, `quality_scale` and `eval_group` fill rows that leave
those columns empty.

AlpacaEval's `preferences_vs_gpt4_1106_preview.csv.gz` imports as outcomes with
`--map idx=request_id --map preference=quality --option id_prefix=alpacaeval: --option
quality_scale=alpacaeval_preference_1_2 --option eval_group=alpacaeval`: quality is the judge's preference in
[1, 2], so quality − 1 is P(model beats gpt-4-1106-preview) and its mean × 100 is the leaderboard's win rate.
`judge_price_usd` and `judge_time_s` are the judge's cost and time, not the model's, so they stay out of
cost_usd/latency_ms (ignored and reported, like the output lengths).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from routelab.datasets.importers import convert
from routelab.datasets.importers.registry import OptionSpec, register
from routelab.datasets.importers.source import Loaded, Source

TEXT_FIELDS = ("workflow", "task", "team", "region", "data_class", "prompt")
REQUEST_FIELDS = ("request_id", "ts", *TEXT_FIELDS, "prompt_tokens", "expected_output_tokens", "attrs")
OUTCOME_FIELDS = (
    "request_id", "model", "kind", "quality", "quality_scale", "cost_usd", "latency_ms", "ttft_ms",
    "input_tokens", "output_tokens", "error", "fallback_model", "cache_hit", "propensity", "path",
    "eval_group", "ts",
)  # fmt: skip
KINDS = ("full", "logged")
ID_PREFIX = {"id_prefix": OptionSpec("Text put before every request id (e.g. `alpacaeval:`).", default="")}
OUTCOME_OPTIONS = {
    **ID_PREFIX,
    "kind": OptionSpec(
        "Kind of rows with no kind column/value.", kind="choice", default="full", choices=KINDS
    ),
    "quality_scale": OptionSpec("quality_scale of rows that give none (e.g. `correct_0_1`)."),
    "eval_group": OptionSpec("eval_group of rows that give none."),
}


def request_ids(src: Source, options: Mapping[str, Any], name: str = "request_id") -> pd.Series:
    """The request id column (required, non-empty), with the `id_prefix` option applied."""
    ids = convert.text(src, name, required=True)
    prefix = str(options.get("id_prefix") or "")
    return ids.map(lambda v: None if v is None else prefix + v) if prefix else ids


def valid_rows(src: Source, columns: Mapping[str, Any]) -> pd.DataFrame:
    """A frame of `columns` (Series, arrays, lists, or a scalar for every row): the rows without problems."""
    n = len(src)

    def column(value: Any) -> pd.Series:
        if isinstance(value, pd.Series):
            return value.reset_index(drop=True)
        if isinstance(value, np.ndarray):
            return pd.Series(value)
        if isinstance(value, list):
            return pd.Series(value, dtype=object)
        return pd.Series([value] * n, dtype=object)

    frame = pd.DataFrame({k: column(v) for k, v in columns.items()})
    return frame[src.valid()].reset_index(drop=True)


def _or(column: pd.Series, default: str | None) -> pd.Series:
    return column if default is None else column.fillna(default)


def attrs_column(src: Source, extra: list[str]) -> list[dict[str, str]]:
    """Per row: the `attrs` JSON object merged with the `extra` columns, values as canonical text."""
    given = convert.json_column(src, "attrs", dict)
    extras = {c: src.col(c).to_numpy() for c in extra}
    out: list[dict[str, str]] = []
    for pos, base in enumerate(given.to_numpy()):
        attrs: dict[str, str] = {}
        try:
            for key, value in (base or {}).items():
                if value is not None:
                    attrs[str(key)] = convert.attrs_entry(value)
            for col, values in extras.items():
                value = values[pos]
                if value is None or (isinstance(value, float) and np.isnan(value)):
                    continue
                if col in attrs:
                    raise ValueError(f"{col!r} is both a column and a key of attrs")
                attrs[col] = convert.attrs_entry(value)
        except ValueError as exc:
            src.fail([pos], "attrs", str(exc))
        out.append(attrs)
    return out


@register(
    "requests",
    "Traffic: one request per row; columns other than the request fields go into attrs.",
    ID_PREFIX,
)
def load_requests(src: Source, options: Mapping[str, Any]) -> Loaded:
    """Load `requests` rows (request_id required; ts ISO 8601; attrs a JSON object)."""
    src.require("request_id")
    cols: dict[str, Any] = {"request_id": request_ids(src, options)}
    cols["ts"] = convert.timestamp(src, "ts")
    for name in TEXT_FIELDS:
        cols[name] = convert.text(src, name)
    cols["prompt_tokens"] = convert.tokens(src, "prompt_tokens")
    cols["expected_output_tokens"] = convert.tokens(src, "expected_output_tokens")
    attrs = attrs_column(src, [c for c in src.columns if c not in REQUEST_FIELDS])
    cols["attrs"] = pd.Series([convert.as_map(a) for a in attrs], dtype=object)
    src.unique(pd.DataFrame({"request_id": cols["request_id"]}), "request_id")
    return Loaded(requests=valid_rows(src, cols))


@register("outcomes", "Outcomes, long format: one (request, model, kind) per row.", OUTCOME_OPTIONS)
def load_outcomes(src: Source, options: Mapping[str, Any]) -> Loaded:
    """Load `outcomes` rows (request_id and model required)."""
    src.require("request_id", "model")
    cols: dict[str, Any] = {
        "request_id": request_ids(src, options),
        "model": convert.text(src, "model", required=True),
    }
    kind = convert.text(src, "kind")
    bad_kind = kind.map(lambda k: k is not None and k not in KINDS).to_numpy(dtype=bool)
    src.fail(bad_kind, "kind", [f"expected full or logged, got {convert.shown(k)}" for k in kind[bad_kind]])
    cols["kind"] = kind.fillna(options.get("kind", "full"))
    cols["quality"] = convert.number(src, "quality")
    cols["quality_scale"] = _or(convert.text(src, "quality_scale"), options.get("quality_scale"))
    for name in ("cost_usd", "latency_ms", "ttft_ms"):
        cols[name] = convert.number(src, name, lo=0)
    cols["input_tokens"] = convert.tokens(src, "input_tokens")
    cols["output_tokens"] = convert.tokens(src, "output_tokens")
    for name in ("error", "fallback_model"):
        cols[name] = convert.text(src, name)
    cols["eval_group"] = _or(convert.text(src, "eval_group"), options.get("eval_group"))
    cols["cache_hit"] = convert.boolean(src, "cache_hit")
    cols["propensity"] = convert.number(src, "propensity", lo=0, lo_open=True, hi=1)
    not_logged = (cols["propensity"].notna() & (cols["kind"] != "logged")).to_numpy(dtype=bool)
    src.fail(not_logged, "propensity", "a propensity belongs to logged outcomes only (set kind=logged)")
    path = convert.json_column(src, "path", dict)
    cols["path"] = path.map(lambda p: None if p is None else convert.canonical_json(p))
    cols["ts"] = convert.timestamp(src, "ts")
    src.unique(pd.DataFrame({k: cols[k] for k in ("request_id", "model", "kind")}), "request_id/model/kind")
    ignored = tuple(c for c in src.columns if c not in OUTCOME_FIELDS)
    return Loaded(outcomes=valid_rows(src, cols), ignored_columns=ignored)
