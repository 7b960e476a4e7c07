"""Threshold routers between a strong and a weak model, and RouteLLM's metrics over their curves.

Definitions (``METRICS.md``, "RouteLLM"), written to reproduce ``routellm/evals/evaluate.py`` and
``benchmarks.py`` (lm-sys/RouteLLM @ 0b64fdafe049) number for number:

- **Curve** (`threshold_curve`): the thresholds are ``pandas.qcut(scores, n_bins, retbins=True)``'s edges.
  At each edge, requests scoring at or above it go to the strong model, except at the highest edge, where
  only scores strictly above it do, so the curve runs from 100 % to 0 % strong calls. RouteLLM calls
  ``qcut`` without ``duplicates=``, so tied edges make it raise; ``duplicates="raise"`` (the default)
  mirrors that, ``"drop"`` keeps the distinct edges (pandas' ``duplicates="drop"``). Points are sorted by
  strong share.
- **AUC**: trapezoid of quality over strong share / 100.
  **APGR** = (AUC − AUC_weak) / (AUC_strong − AUC_weak), the weak and strong curves being constant at
  r_weak, r_strong over the same shares.
- **CPT(x)**: the strong-call % where quality first reaches r_weak + x · (r_strong − r_weak). RouteLLM reads
  it with ``np.interp(target, quality, share)``, which assumes quality rises along the curve; on a
  non-monotone curve ``np.interp``'s binary search may land on any crossing. The default reproduces that
  call exactly (so published figures reproduce); ``envelope=True`` is routelab's variant: the first
  crossing of the curve's running maximum (its non-decreasing envelope), interpolated between its points.
  Both give None when no point of the curve reaches the target (``np.interp`` would return the last share).
- **Oracle** at budget b: the weak model everywhere, then the strong model on the b · |Q| requests where it
  gains most (fractional at the margin). For 0/1 correctness that is METRICS.md's
  (#weak-correct + min(b · |Q|, #(weak wrong, strong right))) / |Q|.
- **Random router**: uniform scores through the same procedure. Its expected APGR is exactly 0.5 (the shares
  are fixed by the ranks and the expected quality is linear in the share); the draws show its spread.

Quality is in whatever unit it is given (0/1, percent, judge scores); r_weak and r_strong must use the same.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from routelab.evaluators.arguments import (
    as_sample,
    check_confidence,
    check_count,
    check_same_length,
    check_seed,
)
from routelab.evaluators.errors import InvalidArgumentError, InvalidProbabilityError, UnknownOptionError
from routelab.evaluators.estimates import Estimate
from routelab.evaluators.registry import evaluator

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import ArrayLike, NDArray

Duplicates = Literal["raise", "drop"]


class DuplicateThresholdsError(InvalidArgumentError):
    """The scores' quantile edges are not distinct (tied scores), and ``duplicates="raise"`` was asked for."""


class ThresholdCurve(BaseModel):
    """A threshold router's cost–quality curve, one point per threshold, sorted by strong share."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    thresholds: tuple[float, ...] = Field(description="The score threshold behind each point.")
    strong_share_pct: tuple[float, ...] = Field(description="Share of requests sent to the strong model, %.")
    quality: tuple[float, ...] = Field(description="Mean quality of the chosen models at each point.")

    @model_validator(mode="after")
    def _aligned(self) -> Self:
        if not len(self.thresholds) == len(self.strong_share_pct) == len(self.quality) >= 1:
            raise ValueError("thresholds, strong_share_pct and quality need one value each per point")
        return self


class SweepMetrics(BaseModel):
    """RouteLLM's metrics of one cost–quality curve."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    evaluator: Literal["threshold"] = Field(default="threshold", description="The evaluator's name.")
    auc: float = Field(description="Trapezoid of quality over strong share / 100.")
    apgr: float = Field(
        description="(AUC − AUC_weak) / (AUC_strong − AUC_weak) over the curve's share range."
    )
    cpt: dict[str, float | None] = Field(description="Level (`20%`) → strong-call % as np.interp reads it.")
    cpt_envelope: dict[str, float | None] = Field(description="Level → first crossing of the running max, %.")
    r_weak: float = Field(description="Quality of the weak model alone.")
    r_strong: float = Field(description="Quality of the strong model alone.")


CurveLike = ThresholdCurve | Sequence[tuple[float, float]]


# ---- the curve ----------------------------------------------------------------------------------------


def _edges(scores: NDArray[np.float64], n_bins: int, duplicates: Duplicates) -> NDArray[np.float64]:
    """``pandas.qcut``'s bin edges, called as RouteLLM does, so ties and rounding match it exactly."""
    import numpy as np
    import pandas as pd  # type: ignore[import-untyped,unused-ignore]  # no pandas-stubs in the dev lock yet

    try:
        _, edges = pd.qcut(scores, n_bins, labels=False, retbins=True, duplicates=duplicates)
    except ValueError as err:
        if "Bin edges must be unique" not in str(err):
            raise
        raise DuplicateThresholdsError(
            "scores",
            f"have tied {n_bins}-quantile edges ({len(np.unique(scores))} distinct scores)",
            'pass duplicates="drop" to keep the distinct edges (RouteLLM itself fails here), or fewer n_bins',
        ) from None
    out: NDArray[np.float64] = np.asarray(edges, dtype=np.float64)
    return out


def threshold_curve(
    scores: ArrayLike,
    strong_quality: ArrayLike,
    weak_quality: ArrayLike,
    *,
    n_bins: int = 10,
    duplicates: Duplicates = "raise",
) -> ThresholdCurve:
    """The curve of a router that sends a request to the strong model when its score clears a threshold.

    Args:
        scores: Per request, the router's score (higher → strong model).
        strong_quality: Per request, the strong model's quality (0/1 correctness or a judge score).
        weak_quality: The same for the weak model, aligned with ``scores``.
        n_bins: Quantile bins: ``n_bins + 1`` thresholds (RouteLLM: 10).
        duplicates: Tied edges: ``raise`` (as RouteLLM, via pandas) or ``drop`` them.

    Returns:
        The points, sorted by strong share (0 % first); ``thresholds`` aligned with them.

    Raises:
        InvalidArgumentError: An input is empty, non-numeric or non-finite, or the lengths differ.
        DuplicateThresholdsError: Tied edges with ``duplicates="raise"``.
    """
    import numpy as np

    if duplicates not in ("raise", "drop"):
        raise UnknownOptionError("duplicates", f"is {duplicates!r}", "pass one of: drop, raise")
    n_bins = check_count(n_bins, "n_bins", minimum=1)
    s = as_sample(scores, "scores")
    strong = as_sample(strong_quality, "strong_quality")
    weak = as_sample(weak_quality, "weak_quality")
    check_same_length(s, strong, ("scores", "strong_quality"))
    check_same_length(s, weak, ("scores", "weak_quality"))
    edges = _edges(s, n_bins, duplicates)
    points = []
    for i, edge in enumerate(edges):
        chosen = s > edge if i == len(edges) - 1 else s >= edge
        share = int(chosen.sum()) / s.shape[0] * 100
        points.append((share, float(np.where(chosen, strong, weak).mean()), float(edge)))
    points.sort(key=lambda p: p[0])  # stable: equal shares come from equal selections
    return ThresholdCurve(
        thresholds=tuple(p[2] for p in points),
        strong_share_pct=tuple(p[0] for p in points),
        quality=tuple(p[1] for p in points),
    )


def _points(curve: CurveLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(strong share %, quality) of a curve, sorted by share (stable), checked finite and within 0–100 %."""
    import numpy as np

    if isinstance(curve, ThresholdCurve):
        pairs: list[tuple[float, ...]] = list(zip(curve.strong_share_pct, curve.quality, strict=True))
    else:
        pairs = [tuple(p) for p in curve]
    if not pairs or any(len(p) != 2 for p in pairs):
        raise InvalidArgumentError(
            "curve",
            f"holds {len(pairs)} points, not all pairs",
            "pass one or more (strong share %, quality) pairs",
        )
    arr = as_sample([v for p in pairs for v in p], "curve").reshape(-1, 2)
    arr = arr[np.argsort(arr[:, 0], kind="stable")]
    if arr[0, 0] < 0 or arr[-1, 0] > 100:
        raise InvalidArgumentError(
            "curve", f"has strong shares from {arr[0, 0]} to {arr[-1, 0]}", "pass shares in percent, 0–100"
        )
    return arr[:, 0], arr[:, 1]


# ---- metrics over a curve ----------------------------------------------------------------------------


def _gap(r_weak: float, r_strong: float) -> float:
    if r_strong == r_weak:
        raise InvalidArgumentError(
            "r_strong", f"equals r_weak ({r_weak})", "the gain is undefined when both models score alike"
        )
    return r_strong - r_weak


def auc(curve: CurveLike) -> float:
    """Area under the curve: trapezoid of quality over strong share / 100 (RouteLLM's ``np.trapz``)."""
    import numpy as np

    share, quality = _points(curve)
    return float(np.trapezoid(quality, share / 100))


def apgr(curve: CurveLike, r_weak: float, r_strong: float) -> float:
    """Average performance gap recovered, (AUC − AUC_weak) / (AUC_strong − AUC_weak).

    The weak and strong curves are constant at ``r_weak`` and ``r_strong`` over the curve's own shares, so a
    curve spanning only part of 0–100 % is compared over that part.

    Raises:
        InvalidArgumentError: ``r_strong == r_weak``, or the curve spans a single strong share.
    """
    import numpy as np

    _gap(r_weak, r_strong)
    share, quality = _points(curve)
    x = share / 100
    area_weak = float(np.trapezoid(np.full(len(x), r_weak, dtype=np.float64), x))
    area_strong = float(np.trapezoid(np.full(len(x), r_strong, dtype=np.float64), x))
    if area_strong == area_weak:
        raise InvalidArgumentError(
            "curve", f"spans a single strong share ({share[0]} %)", "pass points at two strong shares or more"
        )
    return (float(np.trapezoid(quality, x)) - area_weak) / (area_strong - area_weak)


def pgr(quality: float, r_weak: float, r_strong: float) -> float:
    """Performance gap recovered, (quality − r_weak) / (r_strong − r_weak).

    Raises:
        InvalidArgumentError: ``r_strong == r_weak``.
    """
    return (quality - r_weak) / _gap(r_weak, r_strong)


def cpt(
    curve: CurveLike, x: float, r_weak: float, r_strong: float, *, envelope: bool = False
) -> float | None:
    """Call-performance threshold: the strong-call % where quality reaches r_weak + x · (r_strong − r_weak).

    Args:
        curve: A `ThresholdCurve` or (strong share %, quality) points.
        x: Share of the gap to recover, e.g. 0.5.
        r_weak: Quality of the weak model alone.
        r_strong: Quality of the strong model alone.
        envelope: False: ``np.interp`` along the curve, exactly as RouteLLM (monotone curves only are read
            right). True: the first crossing of the running maximum, linearly interpolated.

    Returns:
        The strong-call %, or None when no point of the curve reaches the target.
    """
    import numpy as np

    share, quality = _points(curve)
    target = x * (r_strong - r_weak) + r_weak  # RouteLLM's operand order, for bit-equal targets
    if not math.isfinite(target):
        raise InvalidArgumentError("x", f"gives the target {target}", "pass finite x, r_weak and r_strong")
    if target > quality.max():
        return None
    if not envelope:
        return float(np.interp(target, quality, share))
    running = np.maximum.accumulate(quality)
    i = int(np.argmax(running >= target))
    if i == 0:
        return float(share[0])
    # running[i - 1] < target <= running[i], so the segment rises and the division is safe
    t = (target - running[i - 1]) / (running[i] - running[i - 1])
    return float(share[i - 1] + t * (share[i] - share[i - 1]))


def _level_key(level: float) -> str:
    return f"{level * 100:g}%"


@evaluator(
    "threshold",
    "RouteLLM's metrics of a strong/weak cost–quality curve: AUC, APGR and CPT at quality levels.",
)
def sweep_metrics(
    curve_points: CurveLike,
    r_weak: float,
    r_strong: float,
    *,
    cpt_levels: Sequence[float] = (0.2, 0.5, 0.8),
) -> SweepMetrics:
    """AUC, APGR and CPT (both variants) of any curve: a threshold router's, or a router's knob sweep.

    Args:
        curve_points: A `ThresholdCurve`, or (strong share %, quality) points in any order.
        r_weak: Quality of the weak model alone, in the curve's unit.
        r_strong: Quality of the strong model alone.
        cpt_levels: Shares of the gap for CPT; keyed as ``20%`` etc. in the result.

    Returns:
        The metrics with the baselines they were computed against.

    Raises:
        InvalidArgumentError: A bad curve, ``r_strong == r_weak``, or two levels with the same key.
    """
    keys = [_level_key(level) for level in cpt_levels]
    if len(set(keys)) != len(keys):
        raise InvalidArgumentError("cpt_levels", f"repeat a level: {keys}", "pass distinct levels")
    return SweepMetrics(
        auc=auc(curve_points),
        apgr=apgr(curve_points, r_weak, r_strong),
        cpt={k: cpt(curve_points, lv, r_weak, r_strong) for k, lv in zip(keys, cpt_levels, strict=True)},
        cpt_envelope={
            k: cpt(curve_points, lv, r_weak, r_strong, envelope=True)
            for k, lv in zip(keys, cpt_levels, strict=True)
        },
        r_weak=r_weak,
        r_strong=r_strong,
    )


# ---- baselines ---------------------------------------------------------------------------------------


def oracle_at_budget(strong_correct: ArrayLike, weak_correct: ArrayLike, budget: float) -> float:
    """Best mean quality reachable with at most ``budget`` · |Q| strong calls, knowing every outcome.

    Args:
        strong_correct: Per request, the strong model's correctness (0/1) or graded quality.
        weak_correct: The same for the weak model.
        budget: Share of requests allowed to the strong model, 0–1 (not rounded to whole calls).

    Returns:
        Mean quality: for 0/1 values (#weak-correct + min(b · |Q|, #(weak wrong, strong right))) / |Q|.
        Budget 0 gives the weak model's mean exactly.

    Raises:
        InvalidArgumentError: Empty, non-finite or misaligned inputs.
        InvalidProbabilityError: ``budget`` outside 0–1.
    """
    import numpy as np

    strong = as_sample(strong_correct, "strong_correct")
    weak = as_sample(weak_correct, "weak_correct")
    check_same_length(strong, weak, ("strong_correct", "weak_correct"))
    if isinstance(budget, bool) or not 0 <= budget <= 1:
        raise InvalidProbabilityError("budget", f"is {budget!r}", "pass a share of strong calls from 0 to 1")
    n = int(strong.shape[0])
    gains = np.sort((strong - weak)[strong > weak])[::-1]
    calls = budget * n
    whole = min(math.floor(calls), len(gains))
    bonus = float(gains[:whole].sum())
    if whole < len(gains):
        bonus += (calls - whole) * float(gains[whole])
    return (float(weak.sum()) + bonus) / n


def random_router_apgr(
    strong_quality: ArrayLike,
    weak_quality: ArrayLike,
    *,
    seed: int,
    n_draws: int = 200,
    n_bins: int = 10,
    confidence: float = 0.95,
) -> Estimate:
    """APGR of a router that scores every request uniformly at random, over seeded draws.

    Args:
        strong_quality: Per request, the strong model's quality.
        weak_quality: The same for the weak model.
        seed: Seed of ``numpy.random.default_rng``.
        n_draws: Random routers drawn.
        n_bins: Quantile bins of each curve, as in `threshold_curve`.
        confidence: Share of the draws the interval holds.

    Returns:
        ``value``: mean APGR over the draws (its expectation is 0.5). The interval is the central
        ``confidence`` range of the single draws (percentiles, ``method="random-draws-percentile"``):
        where one random router's APGR falls, the band a router must clear to beat chance.
        ``n`` = ``n_draws``.

    Raises:
        InvalidArgumentError: Bad inputs, or both models with the same mean quality.
    """
    import numpy as np

    seed = check_seed(seed)
    n_draws = check_count(n_draws, "n_draws", minimum=1)
    confidence = check_confidence(confidence)
    strong = as_sample(strong_quality, "strong_quality")
    weak = as_sample(weak_quality, "weak_quality")
    check_same_length(strong, weak, ("strong_quality", "weak_quality"))
    r_weak, r_strong = float(weak.mean()), float(strong.mean())
    _gap(r_weak, r_strong)
    rng = np.random.default_rng(seed)
    draws = np.array(
        [
            apgr(
                threshold_curve(rng.random(len(strong)), strong, weak, n_bins=n_bins, duplicates="drop"),
                r_weak,
                r_strong,
            )
            for _ in range(n_draws)
        ]
    )
    tail = (1 - confidence) / 2
    low, high = np.quantile(draws, [tail, 1 - tail])
    return Estimate(
        value=float(draws.mean()),
        ci_low=float(low),
        ci_high=float(high),
        n=n_draws,
        method="random-draws-percentile",
        confidence=confidence,
    )
