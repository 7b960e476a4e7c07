"""The `labels` format: what each request's path should have been.

A row gives either `acceptable` (a JSON list of partial paths, best first) or per-component gold columns
(model, tier, retrieval, context_tokens, cache, escalation, action), which make one partial path; or
`abstain=true`. `source` defaults to `import:<file name>`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from routelab.datasets.importers import convert
from routelab.datasets.importers.generic import ID_PREFIX, request_ids, valid_rows
from routelab.datasets.importers.registry import register
from routelab.datasets.importers.source import Loaded, Source
from routelab.datasets.tables import LABEL_COMPONENTS, label_row
from routelab.router_core.paths import (
    ESCALATION_HUMAN,
    ESCALATION_MODEL_PREFIX,
    ESCALATION_NONE,
    Action,
    Cache,
)

PATH_KEYS = (*LABEL_COMPONENTS, "fallbacks")
LABEL_FIELDS = ("request_id", "acceptable", *LABEL_COMPONENTS, "abstain", "source", "note")
_CHOICES = {"cache": tuple(c.value for c in Cache), "action": tuple(a.value for a in Action)}


class PathProblem(ValueError):
    """A partial path with a bad component (`key`)."""

    def __init__(self, key: str | None, problem: str) -> None:
        self.key = key
        super().__init__(problem)


def _escalation_ok(value: str | None) -> bool:
    return value in (None, ESCALATION_NONE, ESCALATION_HUMAN) or str(value).startswith(
        ESCALATION_MODEL_PREFIX
    )


def check_path(path: Any) -> dict[str, Any]:
    """A partial path checked component by component.

    Raises:
        PathProblem: an unknown component or a value of the wrong kind; the message names both.
    """
    if not isinstance(path, dict):
        raise PathProblem(None, f"each acceptable path must be a JSON object, got {convert.shown(path)}")
    for key, value in path.items():
        if key not in PATH_KEYS:
            raise PathProblem(key, f"unknown path component {key!r}; components: {', '.join(PATH_KEYS)}")
        if key == "context_tokens":
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                raise PathProblem(
                    key, f"context_tokens must be a whole number ≥ 0, got {convert.shown(value)}"
                )
        elif key == "fallbacks":
            if not isinstance(value, list) or not all(isinstance(m, str) for m in value):
                raise PathProblem(key, f"fallbacks must be a list of model names, got {convert.shown(value)}")
        elif value is not None and not isinstance(value, str):
            raise PathProblem(key, f"{key} must be text, got {convert.shown(value)}")
        elif key in _CHOICES and value not in _CHOICES[key]:
            raise PathProblem(
                key, f"{key} must be one of {', '.join(_CHOICES[key])}, got {convert.shown(value)}"
            )
        elif key == "escalation" and not _escalation_ok(value):
            raise PathProblem(
                key,
                f"escalation must be {ESCALATION_NONE}, {ESCALATION_HUMAN} or "
                f"{ESCALATION_MODEL_PREFIX}<model>, got {convert.shown(value)}",
            )
    return path


@register(
    "labels", "Gold labels: acceptable partial paths, per-component gold columns, or abstain.", ID_PREFIX
)
def load_labels(src: Source, options: Mapping[str, Any]) -> Loaded:
    """Load `labels` rows (request_id required)."""
    src.require("request_id")
    rid = request_ids(src, options)
    acceptable = convert.json_column(src, "acceptable", list)
    gold = {
        c: convert.tokens(src, c) if c == "context_tokens" else convert.text(src, c)
        for c in LABEL_COMPONENTS
        if src.has(c)
    }
    abstain = convert.boolean(src, "abstain").fillna(False)
    source = convert.text(src, "source").fillna(f"import:{src.name.rsplit('/', 1)[-1]}")
    note = convert.text(src, "note")
    rows: list[dict[str, Any] | None] = []
    for pos, paths in enumerate(acceptable.to_numpy()):
        given = {c: col.iat[pos] for c, col in gold.items() if not pd.isna(col.iat[pos])}
        given = {c: int(v) if c == "context_tokens" else v for c, v in given.items()}
        try:
            if paths is not None and given:
                raise ValueError("give either acceptable or the gold columns, not both")
            if paths is not None:
                paths = [check_path(p) for p in paths]
            else:
                paths = [check_path(given)] if given else []
            if not paths and not abstain.iat[pos]:
                raise ValueError("no label: give acceptable, a gold column, or abstain=true")
        except PathProblem as exc:
            src.fail([pos], "acceptable" if paths is not None or exc.key is None else exc.key, str(exc))
            rows.append(None)
            continue
        except ValueError as exc:
            src.fail([pos], "acceptable", str(exc))
            rows.append(None)
            continue
        rows.append(
            label_row(str(rid.iat[pos]), paths, str(source.iat[pos]), bool(abstain.iat[pos]), note.iat[pos])
        )
    src.unique(pd.DataFrame({"request_id": rid}), "request_id")
    keep = valid_rows(src, {"row": pd.Series(rows, dtype=object)})["row"].tolist()
    ignored = tuple(c for c in src.columns if c not in LABEL_FIELDS)
    return Loaded(labels=pd.DataFrame(keep), ignored_columns=ignored)
