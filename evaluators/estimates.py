"""Result models of the shared statistics: an estimate with its interval, and the paired tests behind it.

The definitions (``METRICS.md``, "Accuracy and version comparison") live with the functions that compute
them: `intervals` (Wilson, McNemar, Newcombe's paired delta), `bootstrap` (paired bootstrap for cost and
latency), `rank_tests` (Wilcoxon signed-rank, Benjamini–Hochberg) and `quantiles`. These models import
nothing beyond pydantic, so reading or validating a stored result costs no numpy or scipy import.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

StatisticName = Literal["mean", "sum", "p50", "p95"]
#: A custom bootstrap statistic: reduces the last axis of a (rows, n) array to shape (rows,).
StatisticFn = Callable[["NDArray[np.float64]"], "NDArray[np.float64]"]
ZeroMethod = Literal["pratt", "zsplit", "wilcox"]


class Estimate(BaseModel):
    """A point estimate with its interval; the CLI prints it as ``{value, ci_low, ci_high, n[, p_value]}``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    value: float | None = Field(description="The point estimate; None where it is undefined (no data).")
    ci_low: float = Field(description="Lower end of the confidence interval.")
    ci_high: float = Field(description="Upper end of the confidence interval.")
    n: int = Field(ge=0, description="Observations behind the estimate: trials, or pairs of requests.")
    method: str = Field(description="How the interval was computed, e.g. `wilson` or `bootstrap-percentile`.")
    confidence: float = Field(default=0.95, gt=0, lt=1, description="Confidence level of the interval.")
    p_value: float | None = Field(default=None, ge=0, le=1, description="p-value of `test`, if one was run.")
    test: str | None = Field(default=None, description="The test behind `p_value`, e.g. `mcnemar-exact`.")

    @model_validator(mode="after")
    def _p_value_names_its_test(self) -> Self:
        if (self.p_value is None) != (self.test is None):
            raise ValueError("p_value and test go together: set both or neither")
        return self


class BootstrapEstimate(Estimate):
    """An `Estimate` from a paired bootstrap, with everything needed to recompute it."""

    statistic: str = Field(
        description="Statistic compared: `mean`, `sum`, `p50`, `p95` or a callable's name."
    )
    scale: Literal["absolute", "percent"] = Field(
        description="`absolute`: stat(cand) − stat(base); `percent`: 100 · that / stat(base)."
    )
    n_resamples: int = Field(ge=1, description="Number of bootstrap resamples.")
    seed: int = Field(ge=0, description="Seed of `numpy.random.default_rng` that drew the resamples.")


class McNemarResult(BaseModel):
    """McNemar's test of paired correctness on the discordant pairs."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    b: int = Field(ge=0, description="Pairs where the base was right and the candidate wrong.")
    c: int = Field(ge=0, description="Pairs where the base was wrong and the candidate right.")
    statistic: float | None = Field(description="Continuity-corrected chi-square; None for the exact test.")
    p_value: float = Field(ge=0, le=1, description="Two-sided p-value.")
    method: Literal["exact", "chi-square-cc"] = Field(description="Exact binomial or corrected chi-square.")
    exact_below: int = Field(ge=0, description="The exact test was used when b + c was below this.")

    @property
    def test(self) -> str:
        """Name of the test for `Estimate.test`, e.g. ``mcnemar-exact``."""
        return f"mcnemar-{self.method}"


class WilcoxonResult(BaseModel):
    """Wilcoxon signed-rank test of paired differences cand − base."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    statistic: float = Field(description="min(R+, R−), scipy's two-sided statistic; 0 when nothing changed.")
    p_value: float = Field(ge=0, le=1, description="Two-sided p-value; 1 when every pair is unchanged.")
    n: int = Field(ge=1, description="Number of pairs, unchanged ones included.")
    n_unchanged: int = Field(ge=0, description="Pairs whose difference is exactly zero.")
    share_unchanged: float = Field(ge=0, le=1, description="n_unchanged / n.")
    zero_method: ZeroMethod = Field(description="How zero differences were treated (scipy's `zero_method`).")
    method: Literal["exact", "permutation", "asymptotic", "none"] = Field(
        description="Null distribution used; `none` when every difference is zero."
    )
