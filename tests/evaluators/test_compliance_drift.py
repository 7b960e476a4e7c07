"""Compliance alarms over time: hand-built breach counts per week against their reference weeks."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from scipy import stats

from routelab.evaluators.compliance_drift import compliance_shifts, period_start
from routelab.evaluators.errors import InvalidArgumentError


def period(label: str, n: int, privacy: int, residency: int = 0) -> dict[str, Any]:
    return {
        "period": label,
        "n": n,
        "privacy": {"count": privacy, "examples": [f"{label}-p{i}" for i in range(min(privacy, 3))]},
        "residency": {"count": residency, "examples": []},
    }


def window(label: str, ref_start: str, ref_end: str) -> dict[str, Any]:
    return {
        "window": {"label": label},
        "reference": {"label": f"{ref_start}..{ref_end}", "start": ref_start, "end": ref_end},
    }


# four reference weeks at 1 % privacy breaches, then a week at 10 %
PERIODS = [
    period("2026-W37", 1000, 10),
    period("2026-W38", 1000, 10),
    period("2026-W39", 1000, 10),
    period("2026-W40", 1000, 10),
    period("2026-W41", 1000, 100),
]
REF = ("2026-09-07T00:00:00", "2026-10-05T00:00:00")  # W37..W40


def test_a_rise_raises_an_alarm_with_both_rates_and_examples() -> None:
    shifts = compliance_shifts(PERIODS, [window("2026-W41", *REF)])
    privacy = next(s for s in shifts if s.kind == "privacy")
    assert privacy.alarm
    assert privacy.reference_rate.value == pytest.approx(40 / 4000)
    assert privacy.current_rate.value == pytest.approx(0.1)
    assert privacy.change == pytest.approx(0.1 - 0.01)
    expected = stats.fisher_exact([[100, 900], [40, 3960]], alternative="greater").pvalue
    assert privacy.p_value == pytest.approx(expected)
    assert privacy.examples == ("2026-W41-p0", "2026-W41-p1", "2026-W41-p2")
    residency = next(s for s in shifts if s.kind == "residency")
    assert not residency.alarm
    assert residency.p_value == pytest.approx(1.0)


def test_a_week_inside_its_reference_is_left_out_of_it() -> None:
    """W38 compared with W37, W39 and W40 only: its own 10 breaches are not in the reference."""
    periods = [*PERIODS[:1], period("2026-W38", 1000, 60), *PERIODS[2:4]]
    (privacy, _) = compliance_shifts(periods, [window("2026-W38", *REF)])
    assert privacy.reference_rate.n == 3000
    assert privacy.reference_rate.value == pytest.approx(30 / 3000)
    assert privacy.alarm


def test_a_significant_but_tiny_rise_does_not_alarm() -> None:
    big = [period(f"2026-W{w}", 1_000_000, 10_000) for w in (37, 38, 39, 40)]
    big.append(period("2026-W41", 1_000_000, 10_500))  # +0.05 points: p tiny, change below 1 point
    (privacy, _) = compliance_shifts(big, [window("2026-W41", *REF)])
    assert privacy.p_adjusted < 0.05
    assert not privacy.alarm
    (lowered, _) = compliance_shifts(big, [window("2026-W41", *REF)], min_increase=0.0001)
    assert lowered.alarm


def test_p_values_are_adjusted_together() -> None:
    windows = [window(f"2026-W{w}", *REF) for w in (37, 38, 39, 40, 41)]
    shifts = compliance_shifts(PERIODS, windows)
    raw = [s.p_value for s in shifts]
    assert [s.p_adjusted for s in shifts] == pytest.approx(list(stats.false_discovery_control(raw)))
    assert [s.window for s in shifts if s.alarm] == ["2026-W41"]


def test_small_windows_and_unknown_periods_are_not_tested() -> None:
    few = [period("2026-W37", 10, 1), period("2026-W41", 10, 5)]
    assert compliance_shifts(few, [window("2026-W41", *REF)]) == []
    assert compliance_shifts(PERIODS, [window("2026-W50", *REF)]) == []


def test_period_labels() -> None:
    assert period_start("2026-W37") == date(2026, 9, 7)
    assert period_start("2026-09-09") == date(2026, 9, 9)
    with pytest.raises(InvalidArgumentError, match="ISO week"):
        period_start("last week")
