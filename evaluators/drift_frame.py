"""The drift frame: one row per decision of one router version, with everything drift and the timeline read.

Columns (built by `build_drift_frame`, never mutating its inputs):

- ``request_id``, ``router`` and the request fields passed in `requests` (``ts`` for the windows; slice
  fields such as workflow, task, team, region, data_class; input features);
- the path components as text: ``model``, ``tier``, ``cache``, ``action`` (``-`` when missing, as on a blocked
  request), ``retrieval``, ``escalation`` (``none`` for none), and ``path``, the key
  ``model | retrieval | escalation | action``; ``context_tokens``, ``confidence``, ``est_cost_usd``,
  ``est_latency_ms`` and ``rule_id``;
- ``correct``: the verdict against the resolved gold (`judging.Judge`): nullable boolean, NA unless labelled;
- the *version's* outcome, from full-information outcomes of the model it chose: ``cost_usd``,
  ``latency_ms``, ``quality``, ``tokens`` (input + output), ``error`` (nullable boolean); all missing
  without full outcomes or for a blocked request;
- *production's* outcome, from the logged outcome of the request (what the production policy did, whatever
  the version would do): ``logged_cost_usd``, ``logged_latency_ms``, ``logged_quality``, ``logged_error``
  (the primary call failed), ``logged_fallback`` (a fallback model answered), ``logged_cache_hit``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from routelab.evaluators.accuracy_types import PATH_COLUMNS
from routelab.evaluators.errors import EvaluatorError
from routelab.evaluators.frames import require_columns, require_unique
from routelab.evaluators.gold import GoldLabels
from routelab.evaluators.judging import Judge, normalise_decisions

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped,unused-ignore]  # no pandas-stubs in the dev lock yet

#: Path components drift reads, as text.
TEXT_COMPONENTS = ("model", "tier", "retrieval", "cache", "escalation", "action")
VERSION_OUTCOMES = ("cost_usd", "latency_ms", "quality", "tokens", "error")
LOGGED_OUTCOMES = (
    "logged_cost_usd",
    "logged_latency_ms",
    "logged_quality",
    "logged_error",
    "logged_fallback",
    "logged_cache_hit",
)


def _flag(series: pd.Series) -> pd.Series:
    """A column of flags as nullable booleans (missing stays missing)."""
    return series.astype("boolean")


def _version_outcomes(frame: pd.DataFrame, outcomes: pd.DataFrame) -> pd.DataFrame:
    import pandas as pd

    require_columns(outcomes, ("request_id", "model", "cost_usd", "latency_ms", "quality"), "full outcomes")
    full = outcomes[outcomes["kind"] == "full"] if "kind" in outcomes.columns else outcomes
    if full.duplicated(["request_id", "model"]).any():
        raise EvaluatorError("full outcomes: (request_id, model) repeats; pass one row per request and model")
    tokens = sum(
        (pd.to_numeric(full[c], errors="coerce") for c in ("input_tokens", "output_tokens") if c in full),
        start=pd.Series(0.0, index=full.index),
    )
    picked = pd.DataFrame(
        {
            "request_id": full["request_id"].astype(str),
            "model": full["model"].astype(str),
            "cost_usd": pd.to_numeric(full["cost_usd"], errors="coerce"),
            "latency_ms": pd.to_numeric(full["latency_ms"], errors="coerce"),
            "quality": pd.to_numeric(full["quality"], errors="coerce"),
            "tokens": tokens.where(tokens > 0),
            "error": _flag(full["error"].notna()) if "error" in full else pd.NA,
        }
    )
    return frame.merge(picked, on=["request_id", "model"], how="left", validate="many_to_one")


def _logged_outcomes(frame: pd.DataFrame, outcomes: pd.DataFrame) -> pd.DataFrame:
    import pandas as pd

    require_columns(outcomes, ("request_id", "cost_usd", "latency_ms"), "logged outcomes")
    logged = outcomes[outcomes["kind"] == "logged"] if "kind" in outcomes.columns else outcomes
    require_unique(logged, "request_id", "logged outcomes")

    def col(name: str) -> pd.Series:
        return logged[name] if name in logged else pd.Series(pd.NA, index=logged.index, dtype=object)

    picked = pd.DataFrame(
        {
            "request_id": logged["request_id"].astype(str),
            "logged_cost_usd": pd.to_numeric(col("cost_usd"), errors="coerce"),
            "logged_latency_ms": pd.to_numeric(col("latency_ms"), errors="coerce"),
            "logged_quality": pd.to_numeric(col("quality"), errors="coerce"),
            "logged_error": _flag(col("error").notna()),
            "logged_fallback": _flag(col("fallback_model").notna()),
            "logged_cache_hit": _flag(col("cache_hit")),
        }
    )
    return frame.merge(picked, on="request_id", how="left", validate="one_to_one")


def build_drift_frame(
    decisions: pd.DataFrame,
    gold: GoldLabels | pd.DataFrame,
    requests: pd.DataFrame | None = None,
    full_outcomes: pd.DataFrame | None = None,
    logged_outcomes: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The drift frame of one version (module docstring), ordered by request_id.

    Args:
        decisions: The version's decisions (the `decisions` table's columns; ``confidence`` optional).
        gold: `resolve_gold`'s result, or a frame of request_id, source, acceptable.
        requests: request_id and the request fields to carry (ts, slice fields, features).
        full_outcomes: Full-information outcomes (request_id, model, cost_usd, latency_ms, quality, ...).
        logged_outcomes: Logged outcomes, one per request (fallback_model and cache_hit read when present).

    Raises:
        EvaluatorError: a missing column or a repeated key in any input.
    """
    import numpy as np
    import pandas as pd

    if not isinstance(gold, GoldLabels):
        gold = GoldLabels.from_frame(gold)
    normalised, router = normalise_decisions(decisions, "decisions")
    frame = normalised
    frame.insert(1, "router", router)
    path_values = frame[list(TEXT_COMPONENTS)]
    labels_by_id = {g.request_id: g for g in gold.labels}

    frame["correct"] = Judge().verdicts(
        [labels_by_id.get(r) for r in frame["request_id"]], frame[list(PATH_COLUMNS)]
    )
    for c in TEXT_COMPONENTS:
        frame[c] = path_values[c].map(lambda v: "-" if v is None else str(v))
    frame["context_tokens"] = pd.to_numeric(frame["context_tokens"], errors="coerce")
    confidence = (
        decisions["confidence"] if "confidence" in decisions else pd.Series(np.nan, index=decisions.index)
    )
    frame["confidence"] = pd.to_numeric(confidence, errors="coerce").to_numpy(dtype=float)
    if requests is not None:
        require_columns(requests, ("request_id",), "requests")
        require_unique(requests, "request_id", "requests")
        clash = sorted(set(requests.columns) & set(frame.columns) - {"request_id"})
        if clash:
            raise EvaluatorError(
                f"requests: column(s) {', '.join(clash)} clash with decision columns; rename them"
            )
        fields = requests.assign(request_id=requests["request_id"].astype(str))
        frame = frame.merge(fields, on="request_id", how="left", validate="one_to_one")
        if "ts" in frame:
            frame["ts"] = pd.to_datetime(frame["ts"])
    if full_outcomes is not None and len(full_outcomes):
        frame = _version_outcomes(frame, full_outcomes)
    else:
        frame = frame.assign(**{c: np.nan for c in VERSION_OUTCOMES[:-1]}, error=pd.NA)
        frame["error"] = frame["error"].astype("boolean")
    if logged_outcomes is not None and len(logged_outcomes):
        frame = _logged_outcomes(frame, logged_outcomes)
    else:
        for c in LOGGED_OUTCOMES:
            frame[c] = (
                pd.Series(pd.NA, index=frame.index, dtype="boolean")
                if c.endswith(("error", "fallback", "cache_hit"))
                else np.nan
            )
    return frame.sort_values("request_id", kind="stable", ignore_index=True)
