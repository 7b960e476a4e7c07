"""Result models of the operations view (`ops`): one model per table row and one per section.

The budget section, the parameters, the whole result and its CSV tables are in `ops_result`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from routelab.evaluators.estimates import Estimate

Examples = list[str]
EXAMPLES = "Request ids behind the row (the costliest, or the failed/fallen-back/hit ones), at most a few."


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class WeekComparison(_Frozen):
    """Week over week, like for like: the first `days` days of the latest ISO week and of the week before."""

    last_week: str = Field(description="ISO week of the latest timestamp, e.g. `2026-W44`.")
    previous_week: str = Field(description="The ISO week before it.")
    days: int = Field(
        ge=1, le=7, description="Days compared from each Monday (7 unless the last is partial)."
    )
    last_start: date = Field(description="Monday of the latest week.")
    previous_start: date = Field(description="Monday of the week before.")


class CostlyRequest(_Frozen):
    """One of the costliest requests."""

    request_id: str = Field(description="The request.")
    ts: datetime | None = Field(description="When it was sent (naive UTC).")
    workflow: str = Field(description="Its workflow (`(missing)` without one).")
    team: str = Field(description="Its team (`(missing)` without one).")
    model: str = Field(description="The model logged for it.")
    prompt_group: str = Field(description="Its prompt group (normalised template).")
    cost_usd: float = Field(description="Its logged cost in USD.")
    tokens: int = Field(ge=0, description="Input plus output tokens.")


class PromptGroup(_Frozen):
    """A prompt group (normalised template) with its spend."""

    prompt_group: str = Field(description="The normalised template, first 80 characters.")
    requests: int = Field(ge=1, description="Requests in the group.")
    cost_usd: float = Field(description="Total logged cost in USD.")
    cost_per_request: float | None = Field(description="Mean cost over the requests with a known cost.")
    cost_share: float | None = Field(description="Share of the window's total cost.")
    workflow: str = Field(description="Its most frequent workflow.")
    team: str = Field(description="Its most frequent team.")
    workflows: int = Field(ge=1, description="Distinct workflows sending it.")
    teams: int = Field(ge=1, description="Distinct teams sending it.")
    cost_change: float | None = Field(description="Relative cost change week over week; None without base.")
    examples: Examples = Field(description=EXAMPLES)


class ExpensivePrompts(_Frozen):
    """Which prompts are expensive: top requests and top prompt groups."""

    top_requests: list[CostlyRequest] = Field(description="The costliest requests, costliest first.")
    by_total: list[PromptGroup] = Field(description="Prompt groups by total cost, highest first.")
    by_cost_per_request: list[PromptGroup] = Field(
        description="Prompt groups with at least `min_requests` requests, by mean cost, highest first."
    )
    n_groups: int = Field(ge=0, description="Distinct prompt groups in the window.")
    min_requests: int = Field(ge=1, description="Least requests for the per-request ranking.")


class ReliabilityRow(_Frozen):
    """Errors, timeouts and latency of one slice (and one week, in the trend)."""

    field: str = Field(description="The slice field, e.g. `workflow`, `model`, `provider`, `a*b`.")
    value: str = Field(description="Its value (`A × B` for a crossed field).")
    period: str | None = Field(description="ISO week for trend rows; None for the whole window.")
    requests: int = Field(ge=1, description="Logged calls in the slice.")
    errors: int = Field(ge=0, description="Calls whose primary call logged an error.")
    error_rate: Estimate = Field(description="errors / requests, Wilson interval.")
    timeouts: int = Field(ge=0, description="Errors of class timeout.")
    timeout_rate: Estimate = Field(description="timeouts / requests, Wilson interval.")
    failed: int = Field(ge=0, description="Errors that no fallback model answered (the caller got none).")
    failure_rate: Estimate = Field(description="failed / requests, Wilson interval.")
    error_classes: dict[str, int] = Field(description="Errors per class, most frequent first.")
    latency_n: int = Field(ge=0, description="Calls with a latency that were not cache hits.")
    latency_p50_ms: float | None = Field(description="Median latency (type-7 quantile) in ms.")
    latency_p95_ms: float | None = Field(description="95th percentile latency in ms.")
    latency_p99_ms: float | None = Field(description="99th percentile latency in ms.")
    examples: Examples = Field(description=EXAMPLES)


class Reliability(_Frozen):
    """Which workflows, models and providers time out or fail, overall and per week."""

    rows: list[ReliabilityRow] = Field(description="Per slice over the window, worst error rate first.")
    weekly: list[ReliabilityRow] = Field(description="Per slice and ISO week, by field, value, week.")


class FallbackRow(_Frozen):
    """Fallbacks of one primary model in one workflow."""

    model: str = Field(description="The primary model (the one the path chose).")
    workflow: str = Field(description="The workflow.")
    requests: int = Field(ge=1, description="Calls to the primary.")
    fallbacks: int = Field(ge=0, description="Calls a fallback model answered.")
    fallback_rate: Estimate = Field(description="fallbacks / requests, Wilson interval.")
    served_by: dict[str, int] = Field(description="Fallback model → calls it answered, most first.")
    fallback_cost_median: float | None = Field(description="Median logged cost of the fallen-back calls.")
    primary_cost_median: float | None = Field(
        description="Median cost of the primary's clean calls here (no error, fallback or cache hit)."
    )
    cost_ratio: float | None = Field(description="fallback_cost_median / primary_cost_median.")
    extra_cost_usd: float | None = Field(
        description="Σ (cost of a fallen-back call − primary_cost_median): what fallbacks added."
    )
    examples: Examples = Field(description=EXAMPLES)


class FallbackDay(_Frozen):
    """Fallbacks of one primary model on one day, tested against the model's rate over the window."""

    model: str = Field(description="The primary model.")
    day: date = Field(description="The calendar day (UTC).")
    requests: int = Field(ge=1, description="Calls to the primary that day.")
    fallbacks: int = Field(ge=0, description="Calls a fallback answered that day.")
    fallback_rate: Estimate = Field(description="fallbacks / requests, Wilson interval.")
    expected_rate: float = Field(description="The model's fallback rate over the whole window.")
    p_adjusted: float = Field(description="One-sided binomial p (rate above expected), Benjamini–Hochberg.")
    spike: bool = Field(description="p_adjusted <= the false discovery rate.")
    served_by: dict[str, int] = Field(description="Fallback model → calls it answered that day.")
    examples: Examples = Field(description=EXAMPLES)


class Fallbacks(_Frozen):
    """Where fallbacks trigger, which fallback served and what it cost."""

    recorded: bool = Field(description="Whether the logs record fallbacks at all (any `fallback_model`).")
    rows: list[FallbackRow] = Field(description="Per primary model and workflow, most fallbacks first.")
    daily: list[FallbackDay] = Field(description="Per model that ever fell back and day, oldest first.")
    fdr: float = Field(description="False discovery rate of the spike flags.")


class TrafficRow(_Frozen):
    """Traffic and spend of one slice, with the week-over-week change."""

    field: str = Field(description="The slice field, e.g. `team` or `workflow`.")
    value: str = Field(description="Its value.")
    requests: int = Field(ge=1, description="Logged calls.")
    input_tokens: int = Field(ge=0, description="Input tokens (missing counts 0).")
    output_tokens: int = Field(ge=0, description="Output tokens (missing counts 0).")
    tokens: int = Field(ge=0, description="Input plus output tokens.")
    cost_usd: float = Field(description="Total logged cost in USD.")
    cost_share: float | None = Field(description="Share of the window's total cost.")
    requests_change: float | None = Field(description="Relative change week over week; None without base.")
    tokens_change: float | None = Field(description="Relative change week over week; None without base.")
    cost_change: float | None = Field(description="Relative change week over week; None without base.")
    examples: Examples = Field(description=EXAMPLES)


class TrafficWeek(_Frozen):
    """Traffic of one slice in one ISO week."""

    field: str = Field(description="The slice field.")
    value: str = Field(description="Its value.")
    week: str = Field(description="ISO week.")
    requests: int = Field(ge=1, description="Logged calls.")
    tokens: int = Field(ge=0, description="Input plus output tokens.")
    cost_usd: float = Field(description="Total logged cost in USD.")


class Traffic(_Frozen):
    """Which teams and workflows send the most traffic."""

    rows: list[TrafficRow] = Field(description="Per slice, most cost first.")
    weekly: list[TrafficWeek] = Field(description="Per slice and ISO week, by field, value, week.")


class CacheRow(_Frozen):
    """Caching value of one workflow."""

    workflow: str = Field(description="The workflow.")
    requests: int = Field(ge=1, description="Logged calls.")
    hits: int = Field(ge=0, description="Calls served from cache.")
    hit_rate: Estimate = Field(description="hits / calls with a known cache flag, Wilson interval.")
    tokens_saved: float = Field(description="Estimated tokens the hits did not send (see `ops_cache`).")
    saved_usd: float = Field(description="Estimated USD the hits did not spend (see `ops_cache`).")
    unestimated: int = Field(ge=0, description="Hits with no reference calls to estimate a saving from.")
    judged_bypass: int = Field(ge=0, description="Hits whose gold says the cache must be bypassed.")
    disputed: int = Field(ge=0, description="Hits with an incorrect verdict on a path that served cache.")
    examples: Examples = Field(description=EXAMPLES)


class CacheJudged(_Frozen):
    """A cache hit that the annotators judged different."""

    request_id: str = Field(description="The request.")
    ts: datetime | None = Field(description="When it was sent.")
    workflow: str = Field(description="Its workflow.")
    model: str = Field(description="The model logged for it.")
    reason: Literal["gold: bypass", "annotation: incorrect"] = Field(description="Which definition flags it.")


class Caching(_Frozen):
    """Which use cases get value from caching, and where the cache served answers judged different."""

    rows: list[CacheRow] = Field(description="Per workflow, most USD saved first.")
    judged: list[CacheJudged] = Field(description="Cache hits the annotators judged different.")
    labelled_hits: int = Field(ge=0, description="Cache hits with resolved gold (labels or annotations).")
    annotated_hits: int = Field(ge=0, description="Cache hits with a current annotation.")
