"""Compliance alarms over time: a window whose privacy or residency breach rate rose above its reference's.

The drift run compares each window with a reference window (`windows`); this evaluator does the same with the
version's breach counts per period (`compliance`'s periods). For each window and breach kind:

- reference = the periods inside the window's reference range, the window's own period left out (as drift
  compares periods inside the reference leave-one-out); current = the window's period;
- test: one-sided Fisher's exact test that the current breach rate exceeds the reference's (`scipy.stats.
  fisher_exact(alternative="greater")` on [[breaches, others] current, [breaches, others] reference]);
- Benjamini–Hochberg over every (window, kind) tested; an **alarm** stands when the adjusted p is at most
  `fdr` and the rate rose by at least `min_increase` (absolute, a share of requests), so a tiny rise on
  millions of requests does not alarm.

Every row carries both rates with their Wilson intervals, the change, the p-values and the first breaching
request ids of the window.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from routelab.evaluators.arguments import scipy_stats
from routelab.evaluators.errors import InvalidArgumentError
from routelab.evaluators.estimates import Estimate
from routelab.evaluators.intervals import wilson
from routelab.evaluators.rank_tests import benjamini_hochberg
from routelab.evaluators.registry import evaluator

KINDS = ("privacy", "residency")
#: Least requests on each side for a window to be tested.
MIN_REQUESTS = 30


class ComplianceShift(BaseModel):
    """One window's breach rate of one kind against its reference."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    window: str = Field(description="The window's period label (e.g. 2026-W42).")
    reference: str = Field(description="The reference range's label.")
    kind: str = Field(description="privacy or residency.")
    reference_rate: Estimate = Field(description="Breaches / requests in the reference periods (Wilson).")
    current_rate: Estimate = Field(description="Breaches / requests in the window (Wilson).")
    change: float = Field(description="current − reference rate (a share of requests).")
    p_value: float = Field(description="One-sided Fisher's exact test (current rate greater).")
    p_adjusted: float = Field(description="Benjamini–Hochberg over every (window, kind) tested.")
    alarm: bool = Field(description="p_adjusted <= fdr and change >= min_increase.")
    examples: tuple[str, ...] = Field(description="Breaching requests of the window (first ones).")


def period_start(label: str) -> date:
    """The first day of a period label: an ISO week (`2026-W37`) or a day (`2026-09-07`).

    Raises:
        InvalidArgumentError: neither form.
    """
    try:
        if "-W" in label:
            year, week = label.split("-W")
            return date.fromisocalendar(int(year), int(week), 1)
        return date.fromisoformat(label)
    except ValueError:
        raise InvalidArgumentError(
            "period", f"is {label!r}", "use an ISO week such as 2026-W37 or a day such as 2026-09-07"
        ) from None


def _day(value: str | datetime | date) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return datetime.fromisoformat(value).date()


@evaluator(
    "compliance-drift",
    "Windows whose privacy or residency breach rate rose above their reference's (Fisher, BH).",
)
def compliance_shifts(
    periods: Sequence[Mapping[str, Any]],
    windows: Sequence[Mapping[str, Any]],
    *,
    fdr: float = 0.05,
    min_increase: float = 0.01,
    confidence: float = 0.95,
) -> list[ComplianceShift]:
    """Compare each window's breach rate with its reference's (module docstring).

    Args:
        periods: `compliance` periods as JSON: `period` (label), `n`, and per kind `count` and `examples`.
        windows: drift windows as JSON: `window` and `reference`, each with `label`, `start` and `end`
            (ISO timestamps; `end` exclusive).
        fdr: Benjamini–Hochberg level.
        min_increase: Least rise of the breach rate (absolute share) for an alarm.
        confidence: Level of the Wilson intervals.
    """
    stats = scipy_stats()
    by_label = {str(p["period"]): p for p in periods}
    rows: list[dict[str, Any]] = []
    for w in windows:
        label = str(w["window"]["label"])
        current = by_label.get(label)
        if current is None:
            continue
        lo, hi = _day(w["reference"]["start"]), _day(w["reference"]["end"])
        ref = [p for k, p in by_label.items() if k != label and lo <= period_start(k) < hi]
        n_ref, n_cur = sum(int(p["n"]) for p in ref), int(current["n"])
        if n_ref < MIN_REQUESTS or n_cur < MIN_REQUESTS:
            continue
        for kind in KINDS:
            k_ref = sum(int(p[kind]["count"]) for p in ref)
            k_cur = int(current[kind]["count"])
            table = [[k_cur, n_cur - k_cur], [k_ref, n_ref - k_ref]]
            p = float(stats.fisher_exact(table, alternative="greater").pvalue)
            rows.append(
                {
                    "window": label,
                    "reference": str(w["reference"]["label"]),
                    "kind": kind,
                    "reference_rate": wilson(k_ref, n_ref, confidence),
                    "current_rate": wilson(k_cur, n_cur, confidence),
                    "change": k_cur / n_cur - k_ref / n_ref,
                    "p_value": p,
                    "examples": tuple(str(x) for x in current[kind].get("examples", ())),
                }
            )
    adjusted = benjamini_hochberg([r["p_value"] for r in rows]) if rows else []
    return [
        ComplianceShift(**r, p_adjusted=float(q), alarm=bool(q <= fdr and r["change"] >= min_increase))
        for r, q in zip(rows, adjusted, strict=True)
    ]
