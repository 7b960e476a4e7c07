"""Result models of `frontier`: points in the cost–quality plane, baselines, versions and their AIQ."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from routelab.evaluators.estimates import Estimate
from routelab.evaluators.frontier_hull import AiqVariant

ALL = "all"
MISSING_GROUP = "(missing)"
ORACLE = "oracle"
MODEL_PREFIX, VERSION_PREFIX = "model:", "version:"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Point(_Frozen):
    """One router (a single model, a baseline or a version) as a point (cost, quality) on a request set."""

    quality: float | None = Field(description="r = mean quality over the requests scored; None when n is 0.")
    cost_usd: float = Field(description="C = total outcome cost (USD) over the requests scored.")
    cost_per_1k_usd: float | None = Field(description="1000 · C / n; None when n is 0.")
    n: int = Field(ge=0, description="Requests scored.")

    @property
    def xy(self) -> tuple[float, float] | None:
        """(cost per 1,000, quality): the point in the frontier's plane; None when nothing was scored."""
        if self.quality is None or self.cost_per_1k_usd is None:
            return None
        return (self.cost_per_1k_usd, self.quality)


class MixturePoint(Point):
    """A random mixture of the group's models: an exact expectation or one seeded realisation."""

    weights: dict[str, float] = Field(description="Model → share of the requests routed to it.")
    expected: bool = Field(description="True: exact expected value of the mixture; False: one seeded draw.")


class VersionPoint(Point):
    """One configuration of a version (a sweep has one per knob setting), with baselines on its requests."""

    quality_ci: Estimate = Field(description="Mean quality with its interval (`wilson` for 0/1, else `t`).")
    oracle_gap: float | None = Field(description="r(oracle) − r(point) on the same scored requests.")
    improvement_over_best_single: float | None = Field(
        description="r(point) − r(best single) on the same scored requests."
    )
    n_blocked: int = Field(ge=0, description="Requests of the group the configuration routed to no model.")
    n_unscored: int = Field(
        ge=0, description="Decisions whose model has no usable outcome (dropped request, unevaluated model)."
    )
    n_undecided: int = Field(ge=0, description="Complete requests of the group without a decision.")


class VersionFrontier(_Frozen):
    """A router version in one evaluation group: its point(s) and area under its hull."""

    points: list[VersionPoint] = Field(description="One point, or a sweep's points in knob order.")
    sweep: bool = Field(description="True when the caller passed several decision frames (a sweep).")
    quality: Estimate | None = Field(description="The single point's quality; None for a sweep (see points).")
    oracle_gap: float | None = Field(description="The single point's oracle gap; None for a sweep.")
    improvement_over_best_single: float | None = Field(
        description="The single point's improvement over the best single model; None for a sweep."
    )
    n_blocked: int | None = Field(description="The single point's blocked requests; None for a sweep.")
    n_unscored: int | None = Field(description="The single point's unscored decisions; None for a sweep.")
    aiq: float | None = Field(description="AIQ of the NDCH of the points; None without a usable range.")


class GroupFrontier(_Frozen):
    """Frontier, baselines and versions of one evaluation group (routers compare only within a group)."""

    n_requests: int = Field(ge=0, description="Requests with an outcome (quality and cost) for every model.")
    n_dropped: int = Field(ge=0, description="Requests of the group left out for a missing cell.")
    models: dict[str, Point] = Field(description="Model → its point as a single-model router, by name.")
    oracle: Point = Field(description="Per request the best quality, ties by lower cost, then model name.")
    best_single: str = Field(description="The model with the best mean quality (ties: cheaper, then name).")
    random: Point = Field(description="Exact expectation of the uniform random router (mean of the models).")
    random_mixtures: list[MixturePoint] = Field(
        description="Two models: exact mixtures at evenly spaced shares; otherwise seeded uniform draws."
    )
    zero_router_aiq: float | None = Field(
        description="AIQ of the NDCH of the single models; None when the cost range is empty."
    )
    aiq_cost_range: tuple[float, float] = Field(
        description="(c_min, c_max) in cost per 1k the group's AIQs use (routerbench: c_min is unused)."
    )
    versions: dict[str, VersionFrontier] = Field(description="Version → its frontier entry in this group.")
    pareto: list[str] = Field(
        description="Non-dominated among `model:<m>`, `oracle`, `version:<v>` (`version:<v>#<i>`), by cost."
    )
    aiq_variant: AiqVariant = Field(description="Which AIQ definition the group's AIQs use.")


class FrontierParams(_Frozen):
    """Everything that produced a `FrontierResult`, so it can be recomputed."""

    group: str | None = Field(description="Outcome column whose values are the evaluation groups; None: one.")
    versions: tuple[str, ...] = Field(description="Names of the versions evaluated, in the caller's order.")
    random_mixtures: int = Field(ge=0, description="Number of random-mixture points per group.")
    seed: int = Field(ge=0, description="Seed of the realised uniform random draws.")
    aiq_variant: AiqVariant = Field(description="`paper` (range-normalised) or `routerbench` (its code).")
    confidence: float = Field(gt=0, lt=1, description="Confidence level of every quality interval.")


class FrontierResult(_Frozen):
    """Cost–quality frontier with published baselines, per evaluation group."""

    evaluator: Literal["frontier"] = Field(default="frontier", description="The evaluator's name.")
    params: FrontierParams = Field(description="What produced the result.")
    groups: dict[str, GroupFrontier] = Field(description="Group value → its frontier, by name.")
    warnings: tuple[str, ...] = Field(description="Data the evaluation had to leave out, and why.")
