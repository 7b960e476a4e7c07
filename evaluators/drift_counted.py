"""`drift.detect_drift` over a grouped drift frame (`drift_grouped`): the same `DriftResult`, from counts.

Windows are planned from the rows' days: every window `windows` plans starts and ends at midnight, so a
request's day tells which windows hold it. Data-driven chunk thresholds (``chunks``) split the reference by
request order and need the requests themselves: they are left to `drift.detect_drift`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from routelab.evaluators import drift_grouped, silent_grouped
from routelab.evaluators.drift import _check_fields, _flagged, _Settings, drift_result
from routelab.evaluators.drift_codes import FrameCodes, frame_codes
from routelab.evaluators.drift_frame import TEXT_COMPONENTS
from routelab.evaluators.drift_stats import DEFAULT_THRESHOLDS, DriftThresholds
from routelab.evaluators.drift_types import AlarmSettings, DriftResult, WindowDrift
from routelab.evaluators.frames import require_columns
from routelab.evaluators.silent import Candidate, default_settings
from routelab.evaluators.windows import Comparison, Period, Window, plan_windows

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped,unused-ignore]  # no pandas-stubs in the dev lock yet


def _window(
    grouped: pd.DataFrame, codes: FrameCodes, plan: Comparison, settings: _Settings, warnings: list[str]
) -> tuple[WindowDrift, list[Candidate]] | None:
    """One window's measures and slice hypotheses (`drift._window`)."""
    ref_rows = plan.reference_mask(grouped["day"]).to_numpy(dtype=bool)
    cur_rows = plan.current.mask(grouped["day"]).to_numpy(dtype=bool)
    ref, cur = grouped[ref_rows], grouped[cur_rows]
    if ref.empty or cur.empty:
        warnings.append(f"window {plan.current.label}: no request left to compare with; skipped")
        return None
    th, alarms = settings.thresholds, settings.alarms
    parts: dict[str, Any] = {
        "route_mix": drift_grouped.route_mix(
            codes, ref_rows, cur_rows, settings.components, settings.route_slices, th, alarms.min_requests
        ),
        "inputs": drift_grouped.input_drift(ref, cur, settings.features, th, warnings),
        "confidence": drift_grouped.confidence_drift(ref, cur, th),
        "outcomes": drift_grouped.outcome_drift(ref, cur, th, settings.min_change, alarms.min_requests),
        "accuracy": drift_grouped.accuracy_drift(ref, cur, th),
        "chunks": [],
    }
    result = WindowDrift(
        window=plan.current,
        reference=plan.reference,
        excluded=plan.excluded,
        n_reference=int(ref["n"].sum()),
        n_current=int(cur["n"].sum()),
        flagged=_flagged(parts),
        **parts,
    )
    ref_label = plan.reference.label + (f" minus {plan.excluded.label}" if plan.excluded else "")
    candidates = silent_grouped.window_candidates(
        grouped, codes, ref_rows, cur_rows, (plan.current.label, ref_label), alarms
    )
    return result, candidates


def detect_drift_grouped(
    grouped: pd.DataFrame,
    *,
    router: str | None,
    reference: Window | None = None,
    current: Window | None = None,
    by: Period = "week",
    features: Sequence[str] = (),
    route_slices: Sequence[str] | None = None,
    components: Sequence[str] = TEXT_COMPONENTS,
    thresholds: DriftThresholds = DEFAULT_THRESHOLDS,
    min_change: float = 0.1,
    alarms: AlarmSettings | None = None,
    gold_counts: dict[str, int] | None = None,
) -> DriftResult:
    """`drift.detect_drift` (without chunks) of a grouped drift frame, with ``day`` and ``n``.

    Args:
        grouped: The grouped drift frame (`drift_grouped` module docstring).
        router: The version decided.
        reference, current, by, features, route_slices, components, thresholds, min_change, alarms,
            gold_counts: As `drift.detect_drift`.

    Raises:
        EvaluatorError: a missing field, an unreadable or empty window.
    """
    require_columns(grouped, ("day", "n", "path", "correct", *components), "grouped drift frame")
    alarms = alarms or default_settings()
    route_slices = list(alarms.slices if route_slices is None else route_slices)
    _check_fields(grouped, [*features, *route_slices, *alarms.slices], "field(s)")
    settings = _Settings(
        features=list(features),
        route_slices=route_slices,
        components=list(components),
        thresholds=thresholds,
        min_change=min_change,
        chunks=None,
        alarms=alarms,
    )
    codes = frame_codes(grouped, [*route_slices, *alarms.slices], [*components, "path"])
    warnings: list[str] = []
    windows, candidates = [], []
    for plan in plan_windows(grouped["day"], reference, current, by):
        done = _window(grouped, codes, plan, settings, warnings)
        if done is not None:
            windows.append(done[0])
            candidates.extend(done[1])
    by_used = None if current is not None else by
    return drift_result(settings, router, by_used, gold_counts, windows, candidates, warnings)
