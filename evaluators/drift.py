"""Drift of one router version over time, and what a switch between two versions would move.

Input is the drift frame (`drift_frame.build_drift_frame`): one row per decision, with the request's time,
fields, the verdict against gold and the outcomes. Windows come from `windows.plan_windows` (a reference
against one current window, or every week or day against the reference, leave-one-out where they overlap).
Per current window (`drift_measures`):

- **Route mix** per path component and the whole path, overall and per slice: PSI (shares floored at 1e-4),
  Jensen–Shannon distance (base 2) and the chi-square homogeneity p-value; Benjamini–Hochberg over the
  window's route-mix tests; drifted when adjusted p < `thresholds.p_value` and PSI ≥ `psi_moderate`.
- **Input drift** per request feature with the test chosen by type and reference size (METRICS.md, after
  Evidently): KS or normalised Wasserstein for numeric columns, chi-square or Jensen–Shannon for
  categorical ones, a two-proportion z-test or Jensen–Shannon for binary ones; the test is named.
- **Confidence**: KS on the decisions' confidence; ECE (10 equal-width bins) of confidence against the
  annotated verdicts in each window.
- **Outcomes** where they exist: the version's chosen model (full information) and production's logs; cost
  per request, unit cost per 1k tokens per model (a price change shows there), latency p95, quality, error,
  fallback and cache-hit rates; drifted when the BH-adjusted p is below the threshold and the relative
  change is at least `min_change`.
- **Accuracy**: annotated accuracy per window with Wilson intervals.
- **Chunks** (optional, NannyML): the reference split in time order into `chunks` chunks; a measure alerts
  when the current value leaves the chunks' mean ± 3σ.

**Silent failures** (`silent`): per slice, a route-mix shift together with a drop in accuracy or quality or a
rise in cost, one-sided tests, Benjamini–Hochberg over every slice of every window, ranked by impact.

`drift_counted.detect_drift_grouped` gives the same result (chunks aside) from a grouped drift frame, one
row per distinct combination of values with its request count; `routelab drift` uses it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from routelab.evaluators.drift_frame import TEXT_COMPONENTS
from routelab.evaluators.drift_measures import (
    accuracy_drift,
    confidence_drift,
    input_drift,
    outcome_drift,
    route_mix,
)
from routelab.evaluators.drift_stats import (
    DEFAULT_THRESHOLDS,
    DriftThresholds,
    chunk_band,
    expected_calibration_error,
    psi,
    split_chunks,
)
from routelab.evaluators.drift_types import (
    Alarm,
    AlarmSettings,
    ChunkCheck,
    DriftParams,
    DriftResult,
    WindowDrift,
)
from routelab.evaluators.errors import EvaluatorError
from routelab.evaluators.frames import require_columns
from routelab.evaluators.quantiles import quantile
from routelab.evaluators.registry import evaluator
from routelab.evaluators.route_shares import RouteShareResult, route_share_shift
from routelab.evaluators.silent import (
    Candidate,
    default_settings,
    raise_alarms,
    version_candidates,
    window_candidates,
)
from routelab.evaluators.windows import Comparison, Period, Window, plan_windows

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped,unused-ignore]  # no pandas-stubs in the dev lock yet

METHOD = [
    "route mix: PSI, Jensen-Shannon distance (base 2), chi-square homogeneity; BH per window; "
    "drifted when adjusted p < p_value and PSI >= psi_moderate",
    "input drift: METRICS.md's table (Evidently's choice): KS / normalised Wasserstein, chi-square / "
    "Jensen-Shannon, z-test / Jensen-Shannon by type and reference size",
    "confidence: KS; calibration: ECE over 10 equal-width bins against annotated verdicts",
    "outcomes: Welch t (means), z-test (rates), KS (p95); BH per window; drifted at |relative change| >= "
    "min_change",
    "accuracy: Wilson 95 % intervals, two-sided two-proportion z-test",
    "alarms: shift (chi-square) and harm (one-sided; Bonferroni over harms) joined by intersection-union, "
    "Benjamini-Hochberg over every slice of every window",
    "windows overlapping the reference are compared with the reference minus themselves (leave-one-out)",
]


def _measures(components: Sequence[str]) -> dict[str, Callable[[pd.DataFrame, pd.DataFrame], float | None]]:
    """Scalar measures for the data-driven thresholds: f(reference, window) → value."""

    def share(column: str) -> Callable[[pd.DataFrame, pd.DataFrame], float | None]:
        def f(_: pd.DataFrame, w: pd.DataFrame) -> float | None:
            known = w[column].dropna()
            return float(known.astype(bool).mean()) if len(known) else None

        return f

    def cost(_: pd.DataFrame, w: pd.DataFrame) -> float | None:
        values = w["cost_usd"].dropna() if w["cost_usd"].notna().any() else w["est_cost_usd"]
        return float(values.mean()) if len(values) else None

    def p95(_: pd.DataFrame, w: pd.DataFrame) -> float | None:
        values = w["latency_ms"].dropna() if w["latency_ms"].notna().any() else w["est_latency_ms"]
        return quantile(values, 0.95) if len(values) else None

    def ece(_: pd.DataFrame, w: pd.DataFrame) -> float | None:
        return expected_calibration_error(w["confidence"], w["correct"]).ece

    def mix(component: str) -> Callable[[pd.DataFrame, pd.DataFrame], float | None]:
        def f(ref: pd.DataFrame, w: pd.DataFrame) -> float | None:
            values = sorted(set(ref[component]) | set(w[component]))
            r = ref[component].value_counts().reindex(values, fill_value=0).to_numpy(dtype=float)
            c = w[component].value_counts().reindex(values, fill_value=0).to_numpy(dtype=float)
            return psi(r, c) if r.sum() and c.sum() else None

        return f

    out: dict[str, Callable[[pd.DataFrame, pd.DataFrame], float | None]] = {
        "accuracy": share("correct"),
        "cost_per_request": cost,
        "latency_p95_ms": p95,
        "fallback_rate": share("logged_fallback"),
        "cache_hit_rate": share("logged_cache_hit"),
        "ece": ece,
    }
    out.update({f"psi:{c}": mix(c) for c in (*components, "path")})
    return out


def chunk_checks(
    ref: pd.DataFrame, cur: pd.DataFrame, n_chunks: int, components: Sequence[str]
) -> list[ChunkCheck]:
    """NannyML's data-driven thresholds: every measure per reference chunk (time order) → band → check."""
    ordered = ref.sort_values("ts", kind="stable")
    parts = [ordered.iloc[s] for s in split_chunks(len(ordered), n_chunks)]
    out = []
    for name, measure in _measures(components).items():
        current = measure(ref, cur)
        values = [v for v in (measure(ref, p) for p in parts) if v is not None]
        if current is None or len(values) < 2:
            continue
        band = chunk_band(values)
        out.append(
            ChunkCheck(
                metric=name, band=band, current=current, outside=not band.lower <= current <= band.upper
            )
        )
    return out


def _flagged(w: dict[str, Any]) -> list[str]:
    lines = [
        f"route mix {r.component} in {r.slice_field}={r.slice_value}: PSI {r.psi:.2f}, "
        f"p_adj {r.p_adjusted:.2g}"
        for r in w["route_mix"]
        if r.drifted
    ]
    lines += [
        f"input {i.feature}: {i.drift.test} {i.drift.statistic:.3g}" for i in w["inputs"] if i.drift.drifted
    ]
    conf = w["confidence"]
    if conf is not None and conf.drifted:
        lines.append(f"confidence: KS D {conf.ks_statistic:.3f}, p {conf.p_value:.2g}")
    lines += [
        f"{o.source} {o.metric} in {o.slice_field}={o.slice_value}: {o.reference:.4g} -> {o.current:.4g}"
        for o in w["outcomes"]
        if o.drifted
    ]
    acc = w["accuracy"]
    if acc.drifted:
        lines.append(f"accuracy: {acc.reference.value:.1%} -> {acc.current.value:.1%}, p {acc.p_value:.2g}")
    lines += [
        f"chunks {c.metric}: {c.current:.4g} outside [{c.band.lower:.4g}, {c.band.upper:.4g}]"
        for c in w["chunks"]
        if c.outside
    ]
    return lines


def _window(
    frame: pd.DataFrame, plan: Comparison, settings: _Settings, warnings: list[str]
) -> tuple[WindowDrift, list[Candidate]] | None:
    ref, cur = frame[plan.reference_mask(frame["ts"])], frame[plan.current.mask(frame["ts"])]
    if ref.empty or cur.empty:
        warnings.append(f"window {plan.current.label}: no request left to compare with; skipped")
        return None
    th = settings.thresholds
    parts: dict[str, Any] = {
        "route_mix": route_mix(
            ref, cur, settings.components, settings.route_slices, th, settings.alarms.min_requests
        ),
        "inputs": input_drift(ref, cur, settings.features, th, warnings),
        "confidence": confidence_drift(ref, cur, th),
        "outcomes": outcome_drift(ref, cur, th, settings.min_change, settings.alarms.min_requests),
        "accuracy": accuracy_drift(ref, cur, th),
        "chunks": chunk_checks(ref, cur, settings.chunks, settings.components) if settings.chunks else [],
    }
    result = WindowDrift(
        window=plan.current,
        reference=plan.reference,
        excluded=plan.excluded,
        n_reference=len(ref),
        n_current=len(cur),
        flagged=_flagged(parts),
        **parts,
    )
    ref_label = plan.reference.label + (f" minus {plan.excluded.label}" if plan.excluded else "")
    return result, window_candidates(ref, cur, plan.current.label, ref_label, settings.alarms)


class _Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    features: list[str]
    route_slices: list[str]
    components: list[str]
    thresholds: DriftThresholds
    min_change: float
    chunks: int | None
    alarms: AlarmSettings


def _check_fields(frame: pd.DataFrame, names: Sequence[str], what: str) -> None:
    fields = {p for n in names for p in n.split("*")}
    missing = sorted(fields - set(frame.columns))
    if missing:
        raise EvaluatorError(
            f"drift: {what} {', '.join(missing)} not in the requests; known: "
            f"{', '.join(c for c in frame.columns if c not in TEXT_COMPONENTS)}"
        )


@evaluator(
    "drift", "Route-mix, input, confidence, outcome and accuracy drift over time, and silent failures."
)
def detect_drift(
    frame: pd.DataFrame,
    *,
    reference: Window | None = None,
    current: Window | None = None,
    by: Period = "week",
    features: Sequence[str] = (),
    route_slices: Sequence[str] | None = None,
    components: Sequence[str] = TEXT_COMPONENTS,
    thresholds: DriftThresholds = DEFAULT_THRESHOLDS,
    min_change: float = 0.1,
    chunks: int | None = None,
    alarms: AlarmSettings | None = None,
    gold_counts: dict[str, int] | None = None,
) -> DriftResult:
    """Drift of one version's decisions across time windows, and its silent failures (module docstring).

    Args:
        frame: The drift frame, with ``ts`` and every field named in `features` and the slices.
        reference: The reference window; None: the first half of the traffic's weeks (at most four).
        current: One current window; None: every `by` period against the reference.
        by: ``week`` or ``day``, when `current` is None.
        features: Request fields tested for input drift.
        route_slices: Slice fields of route-mix drift; None: the alarm slices.
        components: Path components whose mix is tested.
        thresholds: Test choice and thresholds (METRICS.md defaults).
        min_change: Least relative change for an outcome metric to drift.
        chunks: Reference chunks for data-driven thresholds; None: off.
        alarms: When a slice raises an alarm; None: `silent.default_settings()`.
        gold_counts: Requests per gold source, recorded in the parameters.

    Raises:
        EvaluatorError: a missing field, an unreadable or empty window, a bad setting.
    """
    require_columns(frame, ("request_id", "ts", "path", "correct", *components), "drift frame")
    alarms = alarms or default_settings()
    route_slices = list(alarms.slices if route_slices is None else route_slices)
    _check_fields(frame, [*features, *route_slices, *alarms.slices], "field(s)")
    if chunks is not None and chunks < 2:
        raise EvaluatorError(
            f"drift: chunks is {chunks}; pass at least 2 (NannyML uses about 10) or leave it off"
        )
    settings = _Settings(
        features=list(features),
        route_slices=route_slices,
        components=list(components),
        thresholds=thresholds,
        min_change=min_change,
        chunks=chunks,
        alarms=alarms,
    )
    warnings: list[str] = []
    windows, candidates = [], []
    for plan in plan_windows(frame["ts"], reference, current, by):
        done = _window(frame, plan, settings, warnings)
        if done is not None:
            windows.append(done[0])
            candidates.extend(done[1])
    routers = frame["router"].dropna().unique().tolist() if "router" in frame.columns else []
    router = str(routers[0]) if len(routers) == 1 else None
    by_used = None if current is not None else by
    return drift_result(settings, router, by_used, gold_counts, windows, candidates, warnings)


def drift_result(
    settings: _Settings,
    router: str | None,
    by: str | None,
    gold_counts: Mapping[str, int] | None,
    windows: list[WindowDrift],
    candidates: list[Candidate],
    warnings: list[str],
) -> DriftResult:
    """The `DriftResult` of the windows tested under `settings`: parameters, windows, the alarms raised
    among the slice `candidates` and the warnings (each once). `by` is None when the windows were named."""
    return DriftResult(
        params=DriftParams(
            router=router,
            versus=None,
            by=by,
            features=settings.features,
            route_slices=settings.route_slices,
            components=settings.components,
            thresholds=settings.thresholds,
            min_change=settings.min_change,
            chunks=settings.chunks,
            alarms=settings.alarms,
            gold_counts=dict(gold_counts or {}),
        ),
        windows=windows,
        alarms=raise_alarms(candidates, settings.alarms),
        n_slices_tested=len(candidates),
        method=METHOD,
        warnings=list(dict.fromkeys(warnings)),
    )


class VersionDrift(BaseModel):
    """`routelab drift CAND --versus BASE --json`: what a switch from BASE to CAND would move."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    evaluator: str = Field(default="drift-versions", description="The registered evaluator.")
    base: str | None = Field(description="The version switched from.")
    candidate: str | None = Field(description="The version switched to.")
    window: Window | None = Field(description="The traffic compared (None: all of it).")
    n: int = Field(ge=0, description="Requests both versions decided in the window.")
    route_shares: RouteShareResult = Field(description="Route-share differences per slice, with intervals.")
    alarms: list[Alarm] = Field(description="Silent failures the switch would cause, most impact first.")
    n_slices_tested: int = Field(ge=0, description="Slice hypotheses behind the Benjamini–Hochberg step.")
    settings: AlarmSettings = Field(description="When a slice raises an alarm.")
    method: list[str] = Field(description="The tests and rules used, in words.")


@evaluator("drift-versions", "What switching the same traffic from one version to another moves, per slice.")
def detect_version_drift(
    base: pd.DataFrame,
    candidate: pd.DataFrame,
    *,
    window: Window | None = None,
    alarms: AlarmSettings | None = None,
    components: Sequence[str] = TEXT_COMPONENTS,
) -> VersionDrift:
    """Route-share differences (paired, Newcombe intervals, McNemar, BH) and silent-failure alarms.

    Args:
        base: The base version's drift frame.
        candidate: The candidate's drift frame over the same requests.
        window: Only requests in this window; None: all.
        alarms: When a slice raises an alarm; None: `silent.default_settings()`.
        components: Path components whose shares are compared.

    Raises:
        EvaluatorError: a missing field or no request in common.
    """
    alarms = alarms or default_settings()
    for what, f in (("base", base), ("candidate", candidate)):
        require_columns(f, ("request_id", "ts", "path", "correct", *components), f"{what} drift frame")
    _check_fields(base, alarms.slices, "slice field(s)")
    if window is not None:
        base, candidate = base[window.mask(base["ts"])], candidate[window.mask(candidate["ts"])]
    decided = [
        *components,
        "path",
        "correct",
        "est_cost_usd",
        "est_latency_ms",
        "cost_usd",
        "quality",
        "router",
    ]
    keep = [c for c in decided if c in candidate.columns]
    paired = base.merge(candidate[["request_id", *keep]], on="request_id", suffixes=("_base", "_cand"))
    if paired.empty:
        raise EvaluatorError("drift: the two versions share no request in the window; replay both over it")
    fields = sorted({p for n in alarms.slices for p in n.split("*")})
    shares = route_share_shift(
        base,
        candidate,
        base[["request_id", *fields]],
        by=alarms.slices,
        components=components,
        alpha=alarms.fdr,
    )
    candidates = version_candidates(
        paired, str(base["router"].iloc[0]), str(candidate["router"].iloc[0]), alarms
    )
    return VersionDrift(
        base=shares.base_version,
        candidate=shares.candidate_version,
        window=window,
        n=len(paired),
        route_shares=shares,
        alarms=raise_alarms(candidates, alarms),
        n_slices_tested=len(candidates),
        settings=alarms,
        method=[
            shares.method_note,
            "alarms: flip rate >= min_shift on the same requests; harms one-sided (exact McNemar for "
            "accuracy, paired t for cost and quality), Bonferroni over harms, Benjamini-Hochberg over slices",
        ],
    )
