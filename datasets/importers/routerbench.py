"""The `routerbench` format: RouterBench's wide layout, one prompt per row, every model graded.

Columns: `sample_id, prompt, eval_name`, optionally `routerdc_split`, then per model `<model>` (graded
correctness in [0, 1]) and `<model>|total_cost` (USD), and optionally `oracle_model_to_route_to`. A model is a
name with both columns; other columns are ignored and reported.

Each row becomes
- a request: `task` = the eval family (`mmlu-*` → `mmlu`, otherwise `eval_name`); attrs `eval_name`,
  `sample_id` and `routerdc_split` when present;
- one full-information outcome per model with a grade or a cost: `quality` = the grade (NULL when missing,
  while its cost still counts), `quality_scale` = `routerbench_0_1`, `eval_group` = the family;
- a label from `oracle_model_to_route_to` (source `routerbench:oracle`): the cheapest correct model, or an
  abstention where it reads `no_model_correct`.

Request ids: `sample_id`, unique within a file except in re-splits: RouterDC's file repeats 14 ARC ids (13
across its train/test splits and one, `arc-challenge.val.172`, twice within the test split, so the split
cannot tell them apart). The first occurrence in file order keeps the bare `sample_id`; the n-th repeat
becomes `<sample_id>#<n>`. Ids are thus stable for a given file, and `attrs.sample_id` keeps the original.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NoReturn

import numpy as np
import pandas as pd

from routelab.datasets.errors import ImportFileError
from routelab.datasets.importers import convert
from routelab.datasets.importers.generic import valid_rows
from routelab.datasets.importers.registry import register
from routelab.datasets.importers.source import Loaded, Source
from routelab.datasets.tables import label_row

COST_SUFFIX = "|total_cost"
ORACLE = "oracle_model_to_route_to"
BASE_FIELDS = ("sample_id", "prompt", "eval_name", "routerdc_split", ORACLE)
QUALITY_SCALE = "routerbench_0_1"
NO_MODEL = "no_model_correct"


def family(eval_name: str) -> str:
    """The eval family of a RouterBench eval name (`mmlu-astronomy` → `mmlu`)."""
    return "mmlu" if eval_name.startswith("mmlu-") else eval_name


def occurrence_ids(ids: pd.Series) -> pd.Series:
    """The first occurrence of an id keeps it; the n-th repeat (file order) becomes `<id>#<n>`."""
    nth = ids.groupby(ids, dropna=False).cumcount() + 1
    return ids.where(nth == 1, ids + "#" + nth.astype(str))


@register(
    "routerbench", "RouterBench wide layout: per prompt, every model's grade and cost, plus the oracle label."
)
def load_routerbench(src: Source, options: Mapping[str, Any]) -> Loaded:
    """Load a RouterBench (or RouterDC re-split) CSV into requests, full outcomes and oracle labels."""
    src.require("sample_id", "prompt", "eval_name")
    models = [c for c in src.columns if c not in BASE_FIELDS and src.has(c + COST_SUFFIX)]
    if not models:
        raise_no_models(src)
    sample = convert.text(src, "sample_id", required=True)
    eval_name = convert.text(src, "eval_name", required=True)
    split = convert.text(src, "routerdc_split")
    fam = eval_name.map(lambda e: None if e is None else family(e))
    grades = {m: convert.number(src, m, lo=0, hi=1) for m in models}
    costs = {m: convert.number(src, m + COST_SUFFIX, lo=0) for m in models}
    oracle = convert.text(src, ORACLE)
    unknown = oracle.map(lambda o: o is not None and o not in models and o != NO_MODEL).to_numpy(dtype=bool)
    src.fail(
        unknown,
        ORACLE,
        [f"{o!r} is not one of the {len(models)} models in this file" for o in oracle[unknown]],
    )
    rid = occurrence_ids(sample.fillna(""))
    attrs = [
        convert.as_map(
            {k: v for k, v in (("eval_name", e), ("sample_id", s), ("routerdc_split", p)) if v is not None}
        )
        for e, s, p in zip(eval_name, sample, split, strict=True)
    ]
    requests = {"request_id": rid, "task": fam, "prompt": convert.text(src, "prompt"), "attrs": attrs}
    outcome_cols: dict[str, Any] = {"request_id": rid, "eval_group": fam}
    outcome_cols |= {f"q:{m}": grades[m] for m in models} | {f"c:{m}": costs[m] for m in models}
    wide = valid_rows(src, outcome_cols)
    label_cols = valid_rows(src, {"request_id": rid, "oracle": oracle})
    used = {*BASE_FIELDS, *models, *(m + COST_SUFFIX for m in models)}
    return Loaded(
        requests=valid_rows(src, requests),
        outcomes=melt_outcomes(wide, models),
        labels=pd.DataFrame(
            [oracle_label(r, o) for r, o in label_cols.itertuples(index=False, name=None) if o]
        ),
        ignored_columns=tuple(c for c in src.columns if c not in used),
    )


def oracle_label(request_id: str, oracle: str) -> dict[str, Any]:
    """The oracle's label: its model; when no model is correct, an abstention (nothing to route to)."""
    if oracle == NO_MODEL:
        return label_row(
            request_id, [], "routerbench:oracle", abstain=True, note="no model answered correctly"
        )
    return label_row(request_id, [{"model": oracle}], "routerbench:oracle")


def melt_outcomes(wide: pd.DataFrame, models: list[str]) -> pd.DataFrame:
    """One full-information outcome per (row, model) with a grade or a cost (vectorised)."""
    n = len(wide)
    frame = pd.DataFrame(
        {
            "request_id": np.tile(wide["request_id"].to_numpy(dtype=object), len(models)),
            "model": np.repeat(np.asarray(models, dtype=object), n),
            "kind": "full",
            "eval_group": np.tile(wide["eval_group"].to_numpy(dtype=object), len(models)),
            "quality": pd.concat([wide[f"q:{m}"] for m in models], ignore_index=True),
            "quality_scale": QUALITY_SCALE,
            "cost_usd": pd.concat([wide[f"c:{m}"] for m in models], ignore_index=True),
        }
    )
    return frame[frame["quality"].notna() | frame["cost_usd"].notna()].reset_index(drop=True)


def raise_no_models(src: Source) -> NoReturn:
    """Raise: the file has no `<model>` + `<model>|total_cost` column pairs."""
    found = ", ".join(src.columns)
    raise ImportFileError(
        src.name,
        None,
        f"no model columns: expected <model> and <model>{COST_SUFFIX} pairs; columns found: {found}",
    )
