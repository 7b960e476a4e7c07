"""Result models of the compliance evaluator (`compliance`): the rules, counts, periods, slices and deltas.

These import nothing beyond pydantic and router_core's PII type names, so reading a stored result is cheap.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from routelab.evaluators.estimates import Estimate
from routelab.router_core.pii import PiiType

#: Data classes that make a request sensitive by default.
SENSITIVE_CLASSES = ("confidential", "restricted")
#: Boundaries sensitive requests may reach by default.
PRIVATE_BOUNDARIES = ("private",)
#: The breach kinds every count is given for: privacy, residency, and either of them.
KINDS = ("privacy", "residency", "any")
Period = Literal["week", "day"]
#: Where the PII of each request came from: the prompt scanned in Python, a precomputed column, or neither.
PiiSource = Literal["prompt", "column", "none"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ComplianceRules(_Frozen):
    """What makes a decision a privacy or a residency breach (recorded with every result).

    - A request is *sensitive* when its `data_class` is one of `sensitive_classes` (compared
      case-insensitively) or it holds PII of one of `pii_types`.
    - A *privacy breach*: a sensitive request, not blocked, that the path may send to a model whose boundary
      is not one of `private_boundaries`. With `redact_masks_pii`, a decision whose action is `redact` had its
      PII masked before it left, so only its data class can make it a breach.
    - A *residency breach*: a request whose region is set (not missing, not empty), not blocked, that the
      path may send to a model with a non-empty `regions` list not holding that region (compared
      case-insensitively; a model without regions serves any region, as in the router config).
    - The models a path may send a request to: its model and, with `check_fallbacks`, its fallbacks and a
      `model:<id>` escalation (the engines drop those while a privacy or region policy applies, so they only
      breach when no policy covered the request).
    """

    sensitive_classes: tuple[str, ...] = Field(
        default=SENSITIVE_CLASSES, description="Data classes that make a request sensitive."
    )
    pii_types: tuple[PiiType, ...] = Field(
        default=tuple(PiiType), description="PII types that make a request sensitive."
    )
    private_boundaries: tuple[str, ...] = Field(
        default=PRIVATE_BOUNDARIES, min_length=1, description="Boundaries sensitive requests may reach."
    )
    redact_masks_pii: bool = Field(
        default=True, description="A `redact` action masks the PII: only the data class can still breach."
    )
    check_fallbacks: bool = Field(
        default=True, description="Fallbacks and a model escalation count as models the request may reach."
    )


class BreachCount(_Frozen):
    """How many decisions break one rule, with rates and the first example request ids."""

    count: int = Field(ge=0, description="Decisions that break the rule.")
    rate: Estimate = Field(description="count / n decisions, Wilson interval.")
    rate_at_risk: Estimate = Field(
        description="count / decisions the rule applies to (sensitive, or with a region), Wilson interval."
    )
    examples: tuple[str, ...] = Field(description="The first request ids that break it, in id order.")


class ComplianceCounts(_Frozen):
    """Breach counts of a set of decisions (the whole version, a period or a slice)."""

    n: int = Field(ge=0, description="Decisions counted.")
    n_sensitive: int = Field(ge=0, description="Decisions of sensitive requests (privacy's population).")
    n_regional: int = Field(ge=0, description="Decisions of requests with a region (residency's population).")
    n_blocked: int = Field(ge=0, description="Decisions that block the request (never a breach).")
    privacy: BreachCount = Field(description="Privacy breaches.")
    residency: BreachCount = Field(description="Residency breaches.")
    any: BreachCount = Field(description="Decisions with a privacy or a residency breach (or both).")


class PeriodCompliance(ComplianceCounts):
    """The counts of one ISO week or day."""

    period: str = Field(description="ISO week (`2026-W37`) or date (`2026-09-07`).")


class SliceCompliance(ComplianceCounts):
    """The counts of one value of a slice field."""

    field: str = Field(description="The request field, e.g. `workflow`.")
    value: str = Field(description="Its value (`(missing)` when the request has none).")


class ModelCompliance(_Frozen):
    """A model the version sent breaching requests to."""

    model: str = Field(description="Model id.")
    boundary: str = Field(description="Its boundary in the version's config.")
    regions: tuple[str, ...] = Field(description="Regions it serves (empty: any).")
    privacy: int = Field(ge=0, description="Privacy breaches that may reach it.")
    residency: int = Field(ge=0, description="Residency breaches that may reach it.")


class ComplianceParams(_Frozen):
    """Everything that produced a `ComplianceResult`, so it can be recomputed."""

    version: str | None = Field(description="The router version (`router` column); None when absent.")
    by_period: Period | None = Field(description="Period of the timeline; None: no timeline.")
    slices: tuple[str, ...] = Field(description="Request fields the counts are sliced by.")
    examples: int = Field(ge=0, description="Most example request ids per count.")
    confidence: float = Field(gt=0, lt=1, description="Confidence level of every interval.")
    rules: ComplianceRules = Field(description="The rules applied.")
    pii_source: PiiSource = Field(
        description="`prompt` (scanned here), `column` (a precomputed pii_types column) or `none`."
    )


class ComplianceResult(_Frozen):
    """Decisions of one version that break a privacy boundary or region residency."""

    evaluator: Literal["compliance"] = Field(default="compliance", description="The evaluator's name.")
    params: ComplianceParams = Field(description="What produced the result.")
    version: str | None = Field(description="The router version; None when the decisions do not say.")
    totals: ComplianceCounts = Field(description="Counts over every decision.")
    periods: tuple[PeriodCompliance, ...] = Field(description="Counts per period, in time order.")
    n_undated: int = Field(ge=0, description="Decisions of requests without a timestamp (in no period).")
    slices: dict[str, tuple[SliceCompliance, ...]] = Field(
        description="Slice field → counts per value, most breaches first (ties by value)."
    )
    models: tuple[ModelCompliance, ...] = Field(
        description="Models breaching requests may reach, most breaches first."
    )
    causes: dict[str, int] = Field(
        description="Privacy breaches per cause (`data_class:<class>`, `pii:<type>`); one may have several."
    )
    warnings: tuple[str, ...] = Field(description="What the result could not check, in words.")


class ComplianceDelta(_Frozen):
    """How one breach kind moves from the baseline to the candidate."""

    count: int = Field(description="candidate count − baseline count (each over all its decisions).")
    rate: Estimate = Field(
        description="Paired change of the breach rate on the requests both decided: Newcombe, McNemar p."
    )
    introduced: int = Field(
        ge=0, description="Paired requests the candidate breaches and the baseline does not."
    )
    resolved: int = Field(
        ge=0, description="Paired requests the baseline breaches and the candidate does not."
    )
    examples: tuple[str, ...] = Field(description="The first introduced request ids, in id order.")


class ComplianceComparison(_Frozen):
    """Both versions' breach totals and their difference: the `compliance` key of `compare --json`."""

    baseline_version: str | None = Field(description="The baseline version.")
    candidate_version: str | None = Field(description="The candidate version.")
    n_paired: int = Field(ge=0, description="Requests both versions decided (the paired deltas' population).")
    baseline: ComplianceCounts = Field(description="The baseline's totals over all its decisions.")
    candidate: ComplianceCounts = Field(description="The candidate's totals over all its decisions.")
    delta: dict[str, ComplianceDelta] = Field(description="Per kind (privacy, residency, any): the change.")
    rules: ComplianceRules = Field(description="The rules applied to both.")
