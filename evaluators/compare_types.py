"""Result models of `compare`: coverage, flips, accuracy, cost, latency and slice comparisons."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from routelab.evaluators.accuracy_types import MISSING
from routelab.evaluators.estimates import BootstrapEstimate, Estimate

if TYPE_CHECKING:
    pass

#: Components that make up a path in the flip matrix, in the order of its readable key.
PATH_KEY_COMPONENTS = ("model", "retrieval", "escalation", "action")
BUCKETS = (
    "fixed",
    "broken",
    "changed_both_right",
    "changed_both_wrong",
    "unchanged_right",
    "unchanged_wrong",
)
RANKING = "impact = n × |accuracy delta| desc, then cost impact = |cost delta usd| desc, then field, value"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CompareParams(_Frozen):
    """Everything that produced a `CompareResult`, so it can be recomputed."""

    baseline: str | None = Field(description="Baseline version (`router` column); None when absent.")
    candidate: str | None = Field(description="Candidate version (`router` column); None when absent.")
    by: tuple[str, ...] = Field(description="Request fields sliced by (`week` = ISO week of ts).")
    seed: int = Field(description="Seed of every paired bootstrap.")
    n_resamples: int = Field(description="Resamples of every paired bootstrap.")
    confidence: float = Field(description="Confidence level of every interval.")
    examples: int = Field(description="Most example request ids per flip bucket.")
    fdr_level: float = Field(description="Benjamini–Hochberg level for the slices' `significant` flag.")
    path_components: tuple[str, ...] = Field(description="Components of a path in the flip matrix.")
    gold_rule: str = Field(description="The gold resolution rule.")
    gold_counts: dict[str, int] = Field(description="Requests per gold source, before pairing.")


class Coverage(_Frozen):
    """Which requests the comparison covers."""

    n: int = Field(description="Requests both versions decided (the comparison's population).")
    dropped_baseline: int = Field(description="Baseline decisions without a candidate decision, left out.")
    dropped_candidate: int = Field(description="Candidate decisions without a baseline decision, left out.")
    gold: dict[str, int] = Field(description="Paired requests per gold status (sources and `unlabelled`).")
    labelled: int = Field(description="Paired requests with acceptable paths: the accuracy population.")


class FlipMatrix(_Frozen):
    """Baseline value × candidate value counts over the paired requests."""

    matrix: dict[str, dict[str, int]] = Field(description="Baseline → candidate → requests (non-zero cells).")
    changed: int = Field(description="Requests off the diagonal: n − trace.")
    rate: Estimate = Field(description="Flip rate 1 − trace/n, Wilson interval.")


class Bucket(_Frozen):
    """One class of labelled requests by what the change did to them."""

    count: int = Field(description="Labelled requests in the bucket.")
    share: Estimate = Field(description="count / labelled requests, Wilson interval.")
    examples: tuple[str, ...] = Field(description="The first request ids of the bucket, in id order.")


class Flips(FlipMatrix):
    """Where the paired requests went: the path flip matrix, per component, and the correctness buckets."""

    n: int = Field(description="Paired requests.")
    components: dict[str, FlipMatrix] = Field(description="The flip matrix of each path component.")
    labelled: int = Field(description="Labelled paired requests: the buckets' population.")
    buckets: dict[str, Bucket] = Field(description=f"By name: {', '.join(BUCKETS)}.")


class AccuracyComparison(_Frozen):
    """Acceptable-set accuracy of both versions on the same labelled requests."""

    baseline: Estimate = Field(description="Baseline accuracy, Wilson interval.")
    candidate: Estimate = Field(description="Candidate accuracy, Wilson interval.")
    delta: Estimate = Field(description="candidate − baseline: Newcombe paired interval, McNemar p_value.")


class CostTotals(_Frozen):
    """Total estimated cost (USD) of both versions on the same requests and its paired delta."""

    baseline: Estimate = Field(description="Baseline total est_cost_usd (observed).")
    candidate: Estimate = Field(description="Candidate total est_cost_usd (observed).")
    delta: BootstrapEstimate = Field(description="candidate − baseline total, paired bootstrap of the sum.")


class CostComparison(CostTotals):
    """`CostTotals` plus the delta per 1,000 requests and in percent."""

    delta_per_1k: BootstrapEstimate = Field(description="Delta per 1,000 requests (statistic `per_1k`).")
    delta_pct: BootstrapEstimate | None = Field(
        description="100 · delta / baseline total; None when the baseline costs 0 and the candidate not."
    )


class LatencyQuantile(_Frozen):
    """One quantile of est_latency_ms for both versions and its paired delta."""

    baseline: Estimate = Field(description="Baseline quantile, ms (observed).")
    candidate: Estimate = Field(description="Candidate quantile, ms (observed).")
    delta: BootstrapEstimate = Field(description="candidate − baseline, ms, paired bootstrap.")


class LatencyComparison(_Frozen):
    """Latency quantiles (type 7, `stats.quantile`) of both versions."""

    p50: LatencyQuantile = Field(description="Median.")
    p95: LatencyQuantile = Field(description="95th percentile.")


class SliceDelta(_Frozen):
    """The comparison restricted to one value of one request field."""

    value: str = Field(description=f"The field's value (`{MISSING}` when the request has none).")
    n: int = Field(description="Paired requests in the slice.")
    labelled: int = Field(description="Labelled paired requests in the slice.")
    accuracy: AccuracyComparison = Field(
        description="Accuracy of both versions and the delta, raw McNemar p."
    )
    p_adjusted: float | None = Field(description="Benjamini–Hochberg adjusted p; None without a test.")
    significant: bool = Field(description="p_adjusted <= fdr_level.")
    cost: CostTotals = Field(description="Cost totals and delta on the slice.")
    impact: float = Field(description="n × |accuracy delta| (0 without labelled requests).")
    cost_impact_usd: float = Field(description="|cost delta| in USD.")
    rank: int = Field(description="Rank among all slices of the comparison, 1 = most impact.")


class SliceComparison(_Frozen):
    """Every slice, with multiple-testing control across all of them."""

    multiple_testing: Literal["benjamini-hochberg"] = Field(
        default="benjamini-hochberg", description="Adjustment of the slices' McNemar p-values."
    )
    fdr_level: float = Field(description="False discovery rate level of `significant`.")
    n_tests: int = Field(description="Slices tested (with a labelled request), every field together.")
    ranking: str = Field(default=RANKING, description="How each field's slices are ordered.")
    by: dict[str, list[SliceDelta]] = Field(description="Field → its slices, ranked.")


class CompareResult(_Frozen):
    """Candidate against baseline on the same requests (the `--json` document of `routelab compare`)."""

    evaluator: Literal["compare"] = Field(default="compare", description="The evaluator's name.")
    params: CompareParams = Field(description="What produced the result.")
    baseline: str | None = Field(description="Baseline version.")
    candidate: str | None = Field(description="Candidate version.")
    n: int = Field(description="Requests compared (decided by both).")
    coverage: Coverage = Field(description="Dropped requests and gold status of the compared ones.")
    accuracy: AccuracyComparison = Field(description="On the labelled requests.")
    cost: CostComparison = Field(description="Estimated cost.")
    latency: LatencyComparison = Field(description="Estimated latency.")
    flips: Flips = Field(description="Flip matrices and correctness buckets.")
    slices: SliceComparison = Field(description="Per slice, ranked, with Benjamini–Hochberg control.")
    warnings: tuple[str, ...] = Field(description="What the comparison had to leave out, and why.")
