"""Result models of `drift` and `silent` (see those modules for the definitions)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from routelab.evaluators.drift_stats import Band, Calibration, ColumnDrift, DriftThresholds
from routelab.evaluators.estimates import Estimate
from routelab.evaluators.windows import Window

_FROZEN = ConfigDict(frozen=True, extra="forbid")
OutcomeSource = Literal["version", "production"]


class ShareMove(BaseModel):
    """One route value's share in the reference and in the current window."""

    model_config = _FROZEN

    value: str = Field(description="The route value (a model, an index, `none`, a whole path...).")
    reference: float = Field(description="Share of the reference window's requests.")
    current: float = Field(description="Share of the current window's requests.")


class RouteMixDrift(BaseModel):
    """How the mix of one path component moved in one slice."""

    model_config = _FROZEN

    slice_field: str = Field(description="The slice field (`all` for all traffic).")
    slice_value: str = Field(description="The slice value (`all` for all traffic).")
    component: str = Field(description="The path component, or `path` for the whole path.")
    n_reference: int = Field(ge=0, description="Reference requests in the slice.")
    n_current: int = Field(ge=0, description="Current requests in the slice.")
    psi: float = Field(ge=0, description="Population stability index of the component's shares.")
    js_distance: float = Field(ge=0, le=1, description="Jensen–Shannon distance (base 2) of the shares.")
    chi_square: float = Field(ge=0, description="Chi-square statistic of homogeneity (2 × values table).")
    p_value: float = Field(ge=0, le=1, description="Chi-square p-value.")
    p_adjusted: float = Field(ge=0, le=1, description="Benjamini–Hochberg over the window's route-mix tests.")
    drifted: bool = Field(description="p_adjusted below the threshold and PSI at least `psi_moderate`.")
    moves: list[ShareMove] = Field(description="Values whose share moved most (up to five).")


class InputDrift(BaseModel):
    """Drift of one request feature, with the test chosen by its type and the reference size."""

    model_config = _FROZEN

    feature: str = Field(description="The request field (`attrs.KEY` for a free-form attribute).")
    drift: ColumnDrift = Field(description="Test, statistic, threshold and verdict.")


class ConfidenceDrift(BaseModel):
    """Drift of the router's decision confidence and of its calibration against annotated correctness."""

    model_config = _FROZEN

    reference_mean: float | None = Field(description="Mean confidence in the reference window.")
    current_mean: float | None = Field(description="Mean confidence in the current window.")
    ks_statistic: float | None = Field(description="Kolmogorov–Smirnov D of the confidence distributions.")
    p_value: float | None = Field(description="KS p-value; None without confidences on a side.")
    drifted: bool = Field(description="KS p-value at or below the threshold.")
    calibration_reference: Calibration = Field(description="ECE (10 bins) of the reference window.")
    calibration_current: Calibration = Field(description="ECE (10 bins) of the current window.")
    ece_change: float | None = Field(
        description="current ECE − reference ECE; None when either is undefined."
    )


class OutcomeDrift(BaseModel):
    """One outcome metric in the reference and the current window, with its test."""

    model_config = _FROZEN

    metric: str = Field(
        description="`cost_per_request`, `unit_cost_per_1k_tokens`, `latency_p95_ms`, `quality`, "
        "`error_rate`, `fallback_rate` or `cache_hit_rate`."
    )
    source: OutcomeSource = Field(
        description="`version`: outcomes of the model the version chose (full information); `production`: "
        "the logged outcome of what production did."
    )
    slice_field: str = Field(description="The slice field (`all` for all traffic).")
    slice_value: str = Field(description="The slice value.")
    reference: float | None = Field(description="The metric in the reference window.")
    current: float | None = Field(description="The metric in the current window.")
    change: float | None = Field(description="current − reference.")
    relative_change: float | None = Field(description="change / reference; None when reference is 0.")
    test: str = Field(description="`welch-t` (means), `z-test` (rates) or `ks` (p95: the distributions).")
    p_value: float = Field(ge=0, le=1, description="Two-sided p-value of the test.")
    p_adjusted: float = Field(ge=0, le=1, description="Benjamini–Hochberg over the window's outcome tests.")
    drifted: bool = Field(description="p_adjusted below the threshold and |relative change| >= min_change.")
    n_reference: int = Field(ge=0, description="Reference values.")
    n_current: int = Field(ge=0, description="Current values.")


class AccuracyDrift(BaseModel):
    """Annotated accuracy of the version's decisions in both windows."""

    model_config = _FROZEN

    reference: Estimate = Field(description="Reference accuracy with its Wilson interval.")
    current: Estimate = Field(description="Current accuracy with its Wilson interval.")
    change: float | None = Field(description="current − reference.")
    p_value: float | None = Field(description="Two-sided two-proportion z-test; None without labels.")
    drifted: bool = Field(description="p-value below the threshold.")


class ChunkCheck(BaseModel):
    """A data-driven threshold: the current value against the reference chunks' mean ± 3σ."""

    model_config = _FROZEN

    metric: str = Field(description="What was measured, e.g. `accuracy` or `psi:model`.")
    band: Band = Field(description="The band of the reference chunks.")
    current: float = Field(description="The current window's value.")
    outside: bool = Field(description="Whether the current value left the band (an alert).")


class WindowDrift(BaseModel):
    """Everything measured for one current window against the reference."""

    model_config = _FROZEN

    window: Window = Field(description="The current window.")
    reference: Window = Field(description="The reference window.")
    excluded: Window | None = Field(description="Part of the reference left out (it overlaps the window).")
    n_reference: int = Field(ge=0, description="Requests in the reference (after the exclusion).")
    n_current: int = Field(ge=0, description="Requests in the current window.")
    route_mix: list[RouteMixDrift] = Field(description="Per component and slice; small slices left out.")
    inputs: list[InputDrift] = Field(description="Per request feature.")
    confidence: ConfidenceDrift | None = Field(description="None when the decisions carry no confidence.")
    outcomes: list[OutcomeDrift] = Field(description="Per outcome metric and slice, where outcomes exist.")
    accuracy: AccuracyDrift = Field(description="Annotated accuracy in both windows.")
    chunks: list[ChunkCheck] = Field(description="Data-driven thresholds (empty unless chunks were asked).")
    flagged: list[str] = Field(description="One line per drifted measure, for people.")


class HarmEvidence(BaseModel):
    """A way a slice got worse: the numbers on both sides and the one-sided test."""

    model_config = _FROZEN

    metric: Literal["accuracy", "cost_per_request", "quality"] = Field(description="What got worse.")
    reference: float = Field(description="The metric before (reference window, or the base version).")
    current: float = Field(description="The metric after (current window, or the candidate version).")
    change: float = Field(description="current − reference.")
    test: str = Field(description="One-sided test: `z-test`, `welch-t`, `mcnemar-exact`, `paired-t`.")
    p_value: float = Field(ge=0, le=1, description="One-sided p-value (H1: it got worse).")
    n: int = Field(ge=0, description="Observations behind the current side (labelled requests for accuracy).")


class Alarm(BaseModel):
    """A silent routing failure: a slice whose route mix shifted while it got worse."""

    model_config = _FROZEN

    window: str = Field(description="The current window, or the candidate version.")
    reference: str = Field(description="The reference window, or the base version.")
    slice_field: str = Field(description="The slice field, e.g. `workflow*task`.")
    slice_value: str = Field(description="The slice value, e.g. `support × refund`.")
    n_reference: int = Field(ge=0, description="Requests of the slice in the reference.")
    n_current: int = Field(ge=0, description="Requests of the slice in the current window.")
    shift: float = Field(
        ge=0,
        le=1,
        description="Share of the slice's requests on another path: total variation distance of the path "
        "mix between windows, or the flip rate between versions.",
    )
    shift_test: str = Field(description="`chi-square` (windows) or `none` (versions: same requests).")
    shift_p_value: float = Field(ge=0, le=1, description="p-value of the shift (0 between versions).")
    moves: list[ShareMove] = Field(description="The paths whose share moved most.")
    harms: list[HarmEvidence] = Field(description="How the slice got worse, each with its test.")
    p_value: float = Field(ge=0, le=1, description="max(shift p, Bonferroni-min of the harm p-values).")
    p_adjusted: float = Field(ge=0, le=1, description="Benjamini–Hochberg over every slice tested.")
    affected: int = Field(ge=0, description="Requests of the current side on another path (shift × n).")
    extra_wrong: float | None = Field(description="Requests expected to go wrong: n × accuracy/quality drop.")
    extra_cost_usd: float | None = Field(description="Money added: n × cost-per-request increase.")
    examples: list[str] = Field(description="Request ids of the current side on a path that gained share.")


class AlarmSettings(BaseModel):
    """When a slice raises an alarm."""

    model_config = _FROZEN

    slices: list[str] = Field(description="Slice fields (`a*b` crosses two).")
    fdr: float = Field(gt=0, lt=1, description="Benjamini–Hochberg level over every slice tested.")
    min_requests: int = Field(ge=1, description="Least requests of a slice on each side to be tested.")
    min_labelled: int = Field(ge=1, description="Least labelled requests per side for the accuracy test.")
    min_shift: float = Field(ge=0, le=1, description="Least share of requests on another path.")
    min_accuracy_drop: float = Field(ge=0, description="Least accuracy (or quality) drop, absolute.")
    min_cost_increase: float = Field(ge=0, description="Least relative cost-per-request increase.")


class DriftParams(BaseModel):
    """Everything that produced a drift result, so it can be recomputed."""

    model_config = _FROZEN

    router: str | None = Field(description="The version whose decisions were watched.")
    versus: str | None = Field(description="The base version of an across-versions run.")
    by: Literal["week", "day"] | None = Field(description="Period of the windows (None: one current window).")
    features: list[str] = Field(description="Request features tested for input drift.")
    route_slices: list[str] = Field(description="Slice fields of route-mix and outcome drift.")
    components: list[str] = Field(description="Path components whose mix was tested.")
    thresholds: DriftThresholds = Field(description="Test choice and drift thresholds.")
    min_change: float = Field(description="Least relative change for an outcome metric to drift.")
    chunks: int | None = Field(description="Reference chunks of the data-driven thresholds (None: off).")
    alarms: AlarmSettings = Field(description="When a slice raises an alarm.")
    gold_counts: dict[str, int] = Field(description="Requests per gold source.")


class DriftResult(BaseModel):
    """`routelab drift --json`: windows, alarms ranked by impact, and how they were computed."""

    model_config = _FROZEN

    evaluator: str = Field(default="drift", description="The registered evaluator that produced this.")
    params: DriftParams = Field(description="Parameters.")
    windows: list[WindowDrift] = Field(description="One per current window, in time order.")
    alarms: list[Alarm] = Field(description="Silent routing failures, most impact first.")
    n_slices_tested: int = Field(ge=0, description="Slice hypotheses behind the Benjamini–Hochberg step.")
    method: list[str] = Field(description="The tests and rules used, in words.")
    warnings: list[str] = Field(description="What was skipped and why.")
