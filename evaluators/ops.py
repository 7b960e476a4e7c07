"""The operations view: the questions a gateway owner asks every week, answered from logged traffic.

`operations(frame, ...)` takes one row per logged outcome joined with its request's fields (see
`ops_frame`; `app/ops_flow.py` builds it from the store, normalising prompts inside DuckDB) and returns an
`OpsResult` with six sections, each defined in its module:

1. which prompts are expensive (`ops_spend`: top requests, prompt groups by total and per-request cost);
2. which workflows, models and providers time out or fail (`ops_health`: error, timeout and failure rates
   with Wilson intervals, latency p50/p95/p99, per ISO week too);
3. where fallbacks trigger (`ops_health`: rate per primary model and workflow, what served, its cost
   against the primary's, spikes per day with Benjamini–Hochberg);
4. which teams send the most traffic (`ops_spend`: calls, tokens, cost, week-over-week change);
5. caching value (`ops_cache`: hit rate, tokens and USD saved, hits judged different);
6. budgets (`ops_spend`: month-to-date spend per team against a budget, linear month-end projection).

Prompt groups, providers and error classes are defined in `ops_fields`; week over week in `ops_frame`.
The window (`since`/`until`) is applied by the caller; the dates given are recorded and used by the week
comparison and the budget view, which must know where the window starts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING

from routelab.evaluators.arguments import check_confidence
from routelab.evaluators.errors import InvalidArgumentError
from routelab.evaluators.gold import GoldLabels
from routelab.evaluators.ops_cache import caching
from routelab.evaluators.ops_frame import check_fields, prepare, week_comparison
from routelab.evaluators.ops_health import fallbacks, reliability
from routelab.evaluators.ops_result import Budget, OpsParams, OpsResult
from routelab.evaluators.ops_spend import budget_view, expensive_prompts, traffic
from routelab.evaluators.registry import evaluator

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped,unused-ignore]  # no pandas-stubs in the dev lock yet

RELIABILITY_BY = ("workflow", "model", "provider")
TRAFFIC_BY = ("team", "workflow")


def check_budgets(budgets: Mapping[str, float] | None) -> dict[str, float] | None:
    """Budgets as team → non-negative finite USD per month.

    Raises:
        InvalidArgumentError: naming the team whose budget is not a non-negative number.
    """
    if budgets is None:
        return None
    out = {}
    for team, value in budgets.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < float("inf"):
            raise InvalidArgumentError(
                "budgets", f"team {team!r} has {value!r}", "give each team a monthly budget in USD, e.g. 1500"
            )
        out[str(team)] = float(value)
    return out


#: Fewer days of the month than this make the month-end projection worth a caveat.
FEW_DAYS = 7


def _notes(f: pd.DataFrame, recorded: bool, budget: Budget | None) -> list[str]:
    notes = []
    missing_cost = int(f["cost_usd"].isna().sum())
    if missing_cost:
        notes.append(f"{missing_cost:,} logged call(s) have no cost; costs and savings leave them out")
    if len(f) and not recorded:
        notes.append("no fallback is recorded in these logs (no fallback_model), so fallback rates read 0")
    if len(f) and not f["cache_known"].any():
        notes.append("no cache flag is logged, so hit rates are undefined")
    if budget is not None and budget.days_elapsed < FEW_DAYS:
        notes.append(
            f"the month-end projection for {budget.month} rests on {budget.days_elapsed} day(s) of traffic"
        )
    return notes


@evaluator("ops", "Operations view of logged traffic: spend, failures, fallbacks, traffic, caching, budgets.")
def operations(
    frame: pd.DataFrame,
    *,
    since: date | None = None,
    until: date | None = None,
    reliability_by: Sequence[str] = RELIABILITY_BY,
    traffic_by: Sequence[str] = TRAFFIC_BY,
    budgets: Mapping[str, float] | None = None,
    gold: GoldLabels | None = None,
    annotations: pd.DataFrame | None = None,
    top: int = 10,
    min_requests: int = 5,
    n_examples: int = 5,
    confidence: float = 0.95,
    fdr: float = 0.05,
) -> OpsResult:
    """The six operations sections over logged calls (see the module docstring).

    Args:
        frame: One row per logged outcome: `ops_frame.OPS_COLUMNS` plus `prompt_group` (or `prompt`) and
            any request field a slice names.
        since: First day of the window the caller applied (inclusive), or None.
        until: Last day of the window the caller applied (inclusive), or None.
        reliability_by: Slice fields of the reliability tables (`a*b` crosses two).
        traffic_by: Slice fields of the traffic tables.
        budgets: Team → monthly budget in USD, or None.
        gold: Resolved gold labels (`gold.resolve_gold`), for the cache hits judged different.
        annotations: Current annotations (request_id, kind, verdict, decision_path), likewise.
        top: Rows of the top-request and top-group tables.
        min_requests: Least calls of a prompt group ranked by cost per request.
        n_examples: Request ids kept per row.
        confidence: Confidence level of the Wilson intervals.
        fdr: False discovery rate of the fallback spikes.

    Raises:
        FrameError: a missing column or slice field.
        InvalidArgumentError: a bad count, level or budget, or `since` after `until`.
    """
    confidence = check_confidence(confidence)
    for name, value, least in (
        ("top", top, 1),
        ("min_requests", min_requests, 1),
        ("n_examples", n_examples, 0),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise InvalidArgumentError(name, f"is {value!r}", f"pass an integer >= {least}")
    if not 0 < fdr < 1:
        raise InvalidArgumentError("fdr", f"is {fdr!r}", "pass a rate strictly between 0 and 1, e.g. 0.05")
    if since and until and since > until:
        raise InvalidArgumentError("since", f"{since} is after until {until}", "pass since <= until")
    checked = check_budgets(budgets)
    f = prepare(frame)
    check_fields(f, [*reliability_by, *traffic_by])
    comparison = week_comparison(f, since)
    fb = fallbacks(f, confidence, fdr, n_examples)
    budget = budget_view(f, checked, since)
    dated = f["ts"].dropna()
    return OpsResult(
        params=OpsParams(
            since=since,
            until=until,
            reliability_by=list(reliability_by),
            traffic_by=list(traffic_by),
            top=top,
            min_requests=min_requests,
            n_examples=n_examples,
            confidence=confidence,
            fdr=fdr,
        ),
        n=len(f),
        cost_usd=float(f["cost_usd"].sum()),
        tokens=int(f["tokens"].sum()),
        first_ts=dated.min() if len(dated) else None,
        last_ts=dated.max() if len(dated) else None,
        comparison=comparison,
        prompts=expensive_prompts(f, comparison, top, min_requests, n_examples),
        reliability=reliability(f, reliability_by, confidence, n_examples),
        fallbacks=fb,
        traffic=traffic(f, comparison, traffic_by, n_examples),
        caching=caching(f, gold, annotations, confidence, n_examples),
        budget=budget,
        notes=_notes(f, fb.recorded, budget),
    )
