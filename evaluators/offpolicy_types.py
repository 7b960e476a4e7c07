"""Result models of the off-policy evaluator (`offpolicy`): estimates of a candidate from logged outcomes.

They import nothing beyond pydantic and `estimates`: reading a stored result costs no numpy or pandas import.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from routelab.evaluators.estimates import Estimate

Estimator = Literal["ips", "snips", "dr"]
ESTIMATORS: tuple[Estimator, ...] = ("ips", "snips", "dr")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class OffPolicyParams(_Frozen):
    """Everything that produced an `OffPolicyResult`, so it can be recomputed."""

    candidate: str | None = Field(description="The candidate version (`router` column); None when absent.")
    metrics: tuple[str, ...] = Field(description="Logged metric columns estimated.")
    features: tuple[str, ...] = Field(description="Fields of the cells of the direct model and support.")
    direct: bool = Field(description="True when a `direct` prediction frame was given.")
    prior_rows: int = Field(ge=0, description="Pseudo-rows shrinking a cell's mean towards its action's.")
    seed: int = Field(ge=0, description="Seed of `numpy.random.default_rng` that drew the resamples.")
    n_resamples: int = Field(ge=1, description="Number of bootstrap resamples.")
    confidence: float = Field(gt=0, lt=1, description="Confidence level of every interval.")


class OffPolicyResult(_Frozen):
    """A candidate version's metrics estimated from logged outcomes of another (the logging) policy."""

    evaluator: Literal["ope"] = Field(default="ope", description="The evaluator's name.")
    n: int = Field(ge=1, description="Requests with both a logged outcome and a candidate decision.")
    n_matched: int = Field(ge=0, description="Requests where the candidate picks the logged model (π = a).")
    ess: float = Field(ge=0, description="Effective sample size (Σw)² / Σw², w = 1[π = a] / p.")
    support_share: float = Field(ge=0, le=1, description="Share of requests where π's model has support.")
    n_unsupported: int = Field(ge=0, description="Requests whose candidate model the logs never show there.")
    estimates: dict[str, dict[Estimator, Estimate]] = Field(description="Metric → ips, snips, dr estimates.")
    logged_value: dict[str, float] = Field(description="Metric → its mean under the logging policy.")
    n_dropped_logged: int = Field(ge=0, description="Logged requests without a candidate decision, left out.")
    n_dropped_candidate: int = Field(ge=0, description="Candidate decisions without a logged row, left out.")
    warnings: list[str] = Field(description="Missing support, few effective samples, data left out.")
    params: OffPolicyParams = Field(description="What produced the result.")
