"""The operations result: the budget section, the parameters, the six sections together, and CSV tables.

Every table flattens to a DataFrame (`OpsResult.tables`) for CSV export: an `Estimate` field becomes three
columns (``x``, ``x_low``, ``x_high``), a count mapping ``a=3; b=1``, a list of request ids one text with
the ids separated by spaces.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from routelab.evaluators.estimates import Estimate
from routelab.evaluators.ops_types import (
    CacheJudged,
    CacheRow,
    Caching,
    CostlyRequest,
    ExpensivePrompts,
    FallbackDay,
    FallbackRow,
    Fallbacks,
    PromptGroup,
    Reliability,
    ReliabilityRow,
    Traffic,
    TrafficRow,
    TrafficWeek,
    WeekComparison,
)

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped,unused-ignore]  # no pandas-stubs in the dev lock yet


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


BudgetStatus = Literal["over budget", "projected over", "on track", "no budget"]


class BudgetRow(_Frozen):
    """One team's month-to-date spend against its budget."""

    team: str = Field(description="The team.")
    spent_usd: float = Field(description="Spend of the month so far.")
    budget_usd: float | None = Field(description="Monthly budget; None when the budget file has none.")
    used: float | None = Field(description="spent / budget.")
    projected_usd: float = Field(description="spent / days_elapsed × days_in_month (linear).")
    projected_used: float | None = Field(description="projected / budget.")
    status: BudgetStatus = Field(
        description="over budget (spent > budget), projected over, on track, or no budget."
    )


class MonthSpend(_Frozen):
    """One team's spend in one calendar month of the window."""

    team: str = Field(description="The team.")
    month: str = Field(description="`YYYY-MM`.")
    spent_usd: float = Field(description="Spend in the month (within the window).")


class Budget(_Frozen):
    """Spend per team against an optional budget, with the projected month-end spend."""

    month: str = Field(description="The month of `as_of`, `YYYY-MM`.")
    as_of: date = Field(description="The day of the latest timestamp in the window.")
    days_elapsed: int = Field(ge=1, description="Days from max(month start, since) to as_of, inclusive.")
    days_in_month: int = Field(ge=28, le=31, description="Days in the month.")
    budget_given: bool = Field(description="Whether budgets were given.")
    rows: list[BudgetRow] = Field(
        description="Per team (and budgeted team without traffic), most spent first."
    )
    monthly: list[MonthSpend] = Field(description="Per team and month, by team then month.")


class OpsParams(_Frozen):
    """What produced an `OpsResult`, so it can be recomputed."""

    since: date | None = Field(description="First day of the window (inclusive).")
    until: date | None = Field(description="Last day of the window (inclusive).")
    reliability_by: list[str] = Field(description="Slice fields of the reliability tables.")
    traffic_by: list[str] = Field(description="Slice fields of the traffic tables.")
    top: int = Field(ge=1, description="Rows in the top-request and top-group tables.")
    min_requests: int = Field(ge=1, description="Least requests of a group ranked by cost per request.")
    n_examples: int = Field(ge=0, description="Request ids kept per row.")
    confidence: float = Field(description="Confidence level of every interval.")
    fdr: float = Field(description="False discovery rate of the fallback spikes.")


class OpsResult(_Frozen):
    """The operations view of logged traffic: six sections of tables, with the week-over-week comparison."""

    evaluator: Literal["ops"] = Field(default="ops", description="The evaluator's name.")
    params: OpsParams = Field(description="Parameters.")
    n: int = Field(ge=0, description="Logged calls in the window.")
    cost_usd: float = Field(description="Total logged cost.")
    tokens: int = Field(ge=0, description="Total input plus output tokens.")
    first_ts: datetime | None = Field(description="Earliest timestamp.")
    last_ts: datetime | None = Field(description="Latest timestamp.")
    comparison: WeekComparison | None = Field(description="The weeks compared; None with under two weeks.")
    prompts: ExpensivePrompts = Field(description="Which prompts are expensive.")
    reliability: Reliability = Field(description="Which workflows time out or fail.")
    fallbacks: Fallbacks = Field(description="Where fallbacks trigger.")
    traffic: Traffic = Field(description="Which teams send the most traffic.")
    caching: Caching = Field(description="Caching value.")
    budget: Budget | None = Field(description="Budget view; None without dated traffic.")
    notes: list[str] = Field(description="Definitions and caveats worth printing with the numbers.")

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table as a flat DataFrame, keyed by its CSV name (`--csv DIR` writes `NAME.csv`)."""
        b = self.budget
        parts: dict[str, tuple[list[Any], type[BaseModel]]] = {
            "top_requests": (self.prompts.top_requests, CostlyRequest),
            "prompt_groups_by_cost": (self.prompts.by_total, PromptGroup),
            "prompt_groups_by_cost_per_request": (self.prompts.by_cost_per_request, PromptGroup),
            "reliability": (self.reliability.rows, ReliabilityRow),
            "reliability_weekly": (self.reliability.weekly, ReliabilityRow),
            "fallbacks": (self.fallbacks.rows, FallbackRow),
            "fallbacks_daily": (self.fallbacks.daily, FallbackDay),
            "traffic": (self.traffic.rows, TrafficRow),
            "traffic_weekly": (self.traffic.weekly, TrafficWeek),
            "cache": (self.caching.rows, CacheRow),
            "cache_judged": (self.caching.judged, CacheJudged),
            "budget": (b.rows if b else [], BudgetRow),
            "budget_monthly": (b.monthly if b else [], MonthSpend),
        }
        return {name: flat_frame(rows, model) for name, (rows, model) in parts.items()}


def _is_estimate(annotation: Any) -> bool:
    return annotation is Estimate or Estimate in get_args(annotation)


def flat_columns(model: type[BaseModel]) -> list[str]:
    """The flat column names of a row model: an `Estimate` field gives ``x``, ``x_low``, ``x_high``."""
    out: list[str] = []
    for name, info in model.model_fields.items():
        out += [name, f"{name}_low", f"{name}_high"] if _is_estimate(info.annotation) else [name]
    return out


def _flat(value: Any) -> Any:
    if isinstance(value, dict):
        return "; ".join(f"{k}={v}" for k, v in value.items())
    if isinstance(value, list):
        return " ".join(map(str, value))
    return value


def flat_frame(rows: list[Any], model: type[BaseModel]) -> pd.DataFrame:
    """Rows of one model as a DataFrame with `flat_columns` (an empty table keeps its header)."""
    import pandas as pd

    records = []
    for row in rows:
        record: dict[str, Any] = {}
        for name, info in model.model_fields.items():
            value = getattr(row, name)
            if _is_estimate(info.annotation):
                est = value if isinstance(value, Estimate) else None
                record[name] = est.value if est else None
                record[f"{name}_low"] = est.ci_low if est and est.value is not None else None
                record[f"{name}_high"] = est.ci_high if est and est.value is not None else None
            else:
                record[name] = _flat(value)
        records.append(record)
    return pd.DataFrame(records, columns=flat_columns(model))
