"""Spend sections of the operations view: expensive prompts, traffic per team and workflow, budgets.

- **Top requests**: the logged calls with the highest `cost_usd` (ties by request id).
- **Prompt groups** (`ops_fields.prompt_template`): total cost, and cost per request = total cost / calls
  with a known cost. The per-request ranking only holds groups of at least `min_requests` calls, so a
  single odd prompt does not top it. A group's workflow and team are its most frequent ones.
- **Traffic** per slice (default team and workflow): calls, input/output tokens (missing counts 0) and cost,
  each with its week-over-week change (`ops_frame.week_comparison`), and the same per ISO week.
- **Budget**: the month is that of `as_of`, the day of the latest timestamp in the window. Month-to-date
  spend per team counts the month's calls in the window; the projection is linear in the days observed,
  spent / days_elapsed × days_in_month, where days_elapsed runs from max(first of the month, `since`) to
  `as_of` inclusive. Status: *over budget* when spent > budget, *projected over* when only the projection
  exceeds it, *on track* otherwise, *no budget* for a team the budget does not list (budgeted teams
  without traffic appear with 0 spent).
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from routelab.evaluators.ops_frame import change, compared, examples, keys, mode
from routelab.evaluators.ops_result import Budget, BudgetRow, BudgetStatus, MonthSpend
from routelab.evaluators.ops_types import (
    CostlyRequest,
    ExpensivePrompts,
    PromptGroup,
    Traffic,
    TrafficRow,
    TrafficWeek,
    WeekComparison,
)

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped,unused-ignore]  # no pandas-stubs in the dev lock yet


#: Columns summed per traffic slice: the totals, then the compared windows' calls, tokens and cost.
SUMMED = (
    *("input_tokens", "output_tokens", "tokens", "cost_usd"),
    *("_n_last", "_n_prev", "_t_last", "_t_prev", "_c_last", "_c_prev"),
)


def _ts(value: Any) -> Any:
    return None if value is None or str(value) == "NaT" else value


def top_requests(f: pd.DataFrame, top: int) -> list[CostlyRequest]:
    """The `top` costliest calls."""
    known = f[f["cost_usd"].notna()]
    ranked = known.sort_values(["cost_usd", "request_id"], ascending=[False, True], kind="stable").head(top)
    return [
        CostlyRequest(
            request_id=str(r.request_id),
            ts=_ts(r.ts),
            workflow=r.workflow,
            team=r.team,
            model=r.model,
            prompt_group=r.prompt_group,
            cost_usd=float(r.cost_usd),
            tokens=int(r.tokens),
        )
        for r in ranked.itertuples(index=False)
    ]


def expensive_prompts(
    f: pd.DataFrame, comparison: WeekComparison | None, top: int, min_requests: int, n_examples: int
) -> ExpensivePrompts:
    """Top requests and prompt groups by total cost and by cost per request."""
    last, previous = compared(f, comparison)
    g = f.groupby("prompt_group", sort=True)
    stats = g.agg(
        requests=("request_id", "size"),
        cost_usd=("cost_usd", "sum"),
        known=("cost_usd", "count"),
        workflows=("workflow", "nunique"),
        teams=("team", "nunique"),
    )
    stats["last"] = f["cost_usd"].where(last, 0.0).groupby(f["prompt_group"]).sum()
    stats["previous"] = f["cost_usd"].where(previous, 0.0).groupby(f["prompt_group"]).sum()
    stats["per_request"] = stats["cost_usd"] / stats["known"].where(stats["known"] > 0)
    by_total = stats.sort_values(["cost_usd"], ascending=False, kind="stable").head(top)
    eligible = stats[(stats["requests"] >= min_requests) & stats["per_request"].notna()]
    by_mean = eligible.sort_values(["per_request"], ascending=False, kind="stable").head(top)
    chosen = f[f["prompt_group"].isin(set(by_total.index) | set(by_mean.index))]
    ids = examples(chosen, chosen["prompt_group"], ["cost_usd"], [False], n_examples)
    total = float(f["cost_usd"].sum())

    def group(name: str) -> PromptGroup:
        s, rows = stats.loc[name], chosen[chosen["prompt_group"] == name]
        return PromptGroup(
            prompt_group=name,
            requests=int(s["requests"]),
            cost_usd=float(s["cost_usd"]),
            cost_per_request=None if s["known"] == 0 else float(s["per_request"]),
            cost_share=float(s["cost_usd"]) / total if total > 0 else None,
            workflow=mode(rows["workflow"]),
            team=mode(rows["team"]),
            workflows=int(s["workflows"]),
            teams=int(s["teams"]),
            cost_change=change(float(s["last"]), float(s["previous"])),
            examples=list(ids.get(name, [])),
        )

    return ExpensivePrompts(
        top_requests=top_requests(f, top),
        by_total=[group(str(k)) for k in by_total.index],
        by_cost_per_request=[group(str(k)) for k in by_mean.index],
        n_groups=len(stats),
        min_requests=min_requests,
    )


def traffic(
    f: pd.DataFrame, comparison: WeekComparison | None, by: Sequence[str], n_examples: int
) -> Traffic:
    """Calls, tokens and cost per slice, with the week-over-week change, and per ISO week."""
    last, previous = compared(f, comparison)
    total = float(f["cost_usd"].sum())
    rows: list[TrafficRow] = []
    weekly: list[TrafficWeek] = []
    for field in by:
        key = keys(f, field)
        frame = f.assign(
            _key=key,
            _n_last=last.astype(int),
            _n_prev=previous.astype(int),
            _t_last=f["tokens"].where(last, 0),
            _t_prev=f["tokens"].where(previous, 0),
            _c_last=f["cost_usd"].where(last, 0.0),
            _c_prev=f["cost_usd"].where(previous, 0.0),
        )
        sums = frame.groupby("_key", sort=True)[list(SUMMED)].sum()
        sums["requests"] = frame.groupby("_key", sort=True).size()
        ids = examples(frame, key, ["cost_usd"], [False], n_examples)
        for value, s in sums.sort_values("cost_usd", ascending=False, kind="stable").iterrows():
            rows.append(
                TrafficRow(
                    field=field,
                    value=str(value),
                    requests=int(s["requests"]),
                    input_tokens=int(s["input_tokens"]),
                    output_tokens=int(s["output_tokens"]),
                    tokens=int(s["tokens"]),
                    cost_usd=float(s["cost_usd"]),
                    cost_share=float(s["cost_usd"]) / total if total > 0 else None,
                    requests_change=change(s["_n_last"], s["_n_prev"]),
                    tokens_change=change(s["_t_last"], s["_t_prev"]),
                    cost_change=change(s["_c_last"], s["_c_prev"]),
                    examples=list(ids.get(value, [])),
                )
            )
        dated = frame[frame["week"].notna()]
        per_week = dated.groupby(["_key", "week"], sort=True).agg(
            requests=("request_id", "size"), tokens=("tokens", "sum"), cost_usd=("cost_usd", "sum")
        )
        weekly += [
            TrafficWeek(
                field=field,
                value=str(value),
                week=str(week),
                requests=int(s["requests"]),
                tokens=int(s["tokens"]),
                cost_usd=float(s["cost_usd"]),
            )
            for (value, week), s in per_week.iterrows()
        ]
    return Traffic(rows=rows, weekly=weekly)


def _status(spent: float, projected: float, budget: float | None) -> BudgetStatus:
    if budget is None:
        return "no budget"
    if spent > budget:
        return "over budget"
    return "projected over" if projected > budget else "on track"


def budget_view(f: pd.DataFrame, budgets: Mapping[str, float] | None, since: date | None) -> Budget | None:
    """Month-to-date spend per team against `budgets`, with the linear month-end projection."""
    import pandas as pd

    dated = f[f["ts"].notna()]
    if dated.empty:
        return None
    as_of = dated["ts"].max().date()
    month_start = as_of.replace(day=1)
    start = max(month_start, since) if since else month_start
    days_in_month = calendar.monthrange(as_of.year, as_of.month)[1]
    elapsed = (as_of - start).days + 1
    month = dated[dated["ts"] >= pd.Timestamp(month_start)]
    spent = month.groupby("team")["cost_usd"].sum()
    given = dict(budgets or {})
    rows = []
    for team in sorted(set(spent.index) | set(given)):
        s = float(spent.get(team, 0.0))
        b = given.get(team)
        projected = s / elapsed * days_in_month
        positive = b is not None and b > 0
        rows.append(
            BudgetRow(
                team=str(team),
                spent_usd=s,
                budget_usd=b,
                used=s / b if positive and b is not None else None,
                projected_usd=projected,
                projected_used=projected / b if positive and b is not None else None,
                status=_status(s, projected, b),
            )
        )
    rows.sort(key=lambda r: (-r.spent_usd, r.team))
    per_month = dated.groupby(["team", dated["ts"].dt.strftime("%Y-%m")])["cost_usd"].sum()
    monthly = [MonthSpend(team=str(t), month=str(m), spent_usd=float(v)) for (t, m), v in per_month.items()]
    return Budget(
        month=f"{as_of:%Y-%m}",
        as_of=as_of,
        days_elapsed=elapsed,
        days_in_month=days_in_month,
        budget_given=budgets is not None,
        rows=rows,
        monthly=monthly,
    )
