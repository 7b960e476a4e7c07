"""Result models of `accuracy` and the decision columns it reads."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from routelab.evaluators.estimates import Estimate
from routelab.evaluators.frames import MISSING_TEXT

if TYPE_CHECKING:
    pass  # type: ignore[import-untyped,unused-ignore]  # no pandas-stubs in the dev lock yet


COMPONENTS = ("model", "tier", "retrieval", "cache", "escalation", "action")
PATH_COLUMNS = ("model", "tier", "retrieval", "context_tokens", "cache", "escalation", "action")
DECISION_COLUMNS = ("request_id", *PATH_COLUMNS, "est_cost_usd", "est_latency_ms")
MISSING = MISSING_TEXT
CostBasis = Literal["outcomes", "price_ratio"]


class Counts(BaseModel):
    """How many decisions fell where."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    decisions: int = Field(description="Decisions of the version in scope.")
    labelled: int = Field(description="Decisions whose request has acceptable paths.")
    abstain: int = Field(description="Decisions whose request's label abstains (excluded from accuracy).")
    unresolved: int = Field(description="Decisions whose request's annotations tie (excluded).")
    unlabelled: int = Field(description="Decisions whose request has no gold at all (excluded).")


class Misrouting(BaseModel):
    """Over- or under-routing: a rate and the money at stake."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rate: Estimate = Field(
        description="Share of the labelled decisions whose tiers compare (value None when n is 0)."
    )
    spend_usd: float | None = Field(
        description="Money at stake (see the module docstring); None without a basis."
    )
    n_costed: int = Field(description="Misrouted decisions whose money could be computed.")


class Savings(BaseModel):
    """Cost of the version against sending every request to one baseline model."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    baseline_model: str = Field(description="The model everything would go to.")
    basis: CostBasis = Field(description="Where the per-model costs came from.")
    n: int = Field(description="Decisions where both costs are known.")
    router_cost_usd: float = Field(description="The version's cost on those decisions.")
    baseline_cost_usd: float = Field(description="The baseline model's cost on the same decisions.")
    savings_usd: float = Field(description="baseline − router (negative: the version costs more).")
    savings_share: float | None = Field(
        description="savings / baseline cost; None when the baseline costs 0."
    )


class Summary(BaseModel):
    """The metrics of one set of decisions (all of them, or one slice)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    counts: Counts = Field(description="Decisions by gold status.")
    exact_path: Estimate = Field(description="Share matching the best acceptable path.")
    acceptable_set: Estimate = Field(description="Share matching any acceptable path.")
    components: dict[str, Estimate] = Field(description="Per-component accuracy against the best path.")
    over_routing: Misrouting = Field(description="Decisions above the cheapest acceptable tier.")
    under_routing: Misrouting = Field(description="Decisions below the cheapest acceptable tier.")
    total_cost_usd: float = Field(description="Sum of est_cost_usd.")
    cost_per_1k_usd: float | None = Field(
        description="1000 · total cost / decisions; None without decisions."
    )
    latency_p50_ms: float | None = Field(description="Median est_latency_ms.")
    latency_p95_ms: float | None = Field(description="95th percentile of est_latency_ms.")
    savings: Savings | None = Field(description="Against `baseline_model`; None when not asked or no basis.")


class Slice(BaseModel):
    """The summary of the decisions sharing one value of a request field."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    value: str = Field(description=f"The field's value (`{MISSING}` when the request has none).")
    summary: Summary = Field(description="Metrics of this slice.")


class AccuracyParams(BaseModel):
    """Everything that produced an `AccuracyResult`, so it can be recomputed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    router: str | None = Field(description="The version evaluated (`router` column of the decisions).")
    by: tuple[str, ...] = Field(description="Request fields broken down by (`week` = ISO week of ts).")
    baseline_model: str | None = Field(description="Model of the savings baseline.")
    tier_order: tuple[str, ...] = Field(description="Tiers, cheapest first.")
    model_tiers: dict[str, str] = Field(description="Model → tier.")
    model_prices: dict[str, float] | None = Field(description="Relative per-token prices for ratio costs.")
    cost_basis: CostBasis | None = Field(description="Basis of money metrics; None when unavailable.")
    confidence: float = Field(description="Confidence level of every interval.")
    gold_rule: str = Field(description="The gold resolution rule.")
    gold_counts: dict[str, int] = Field(description="Requests per gold source, before joining decisions.")
    seed: int | None = Field(default=None, description="Random seed; None: nothing here is random.")


class AccuracyResult(BaseModel):
    """Routing accuracy of one router version."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    evaluator: Literal["accuracy"] = Field(default="accuracy", description="The evaluator's name.")
    params: AccuracyParams = Field(description="What produced the result.")
    overall: Summary = Field(description="Metrics over every decision.")
    confusion: dict[str, dict[str, dict[str, int]]] = Field(
        description="Component → gold value → decided value → count, over labelled decisions."
    )
    breakdowns: dict[str, list[Slice]] = Field(description="Field → slices, ordered by value.")
    warnings: tuple[str, ...] = Field(description="Data the evaluation had to leave out, and why.")
