"""Drift windows: range texts, ISO weeks across year ends, the default reference, leave-one-out plans.

Expected bounds are written out as calendar dates (ISO weeks looked up by hand), never computed by the
functions under test.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import pytest

from routelab.evaluators.windows import (
    RangeError,
    Window,
    default_reference,
    parse_range,
    period_windows,
    plan_windows,
)


def day(text: str) -> datetime:
    return datetime.fromisoformat(text)


def stamps(*texts: str | None) -> pd.Series:
    """A ``ts`` column as the store holds it (naive datetimes, NaT for a missing time)."""
    return pd.to_datetime(pd.Series(list(texts), dtype=object))


def weekly(weeks: int, first: str = "2026-09-07") -> pd.Series:
    """Two requests (Monday morning, Sunday night) in each of `weeks` consecutive ISO weeks."""
    mondays = pd.date_range(first, periods=weeks, freq="7D")
    return pd.Series(
        sorted([*(mondays + pd.Timedelta(hours=9)), *(mondays + pd.Timedelta(days=6, hours=23))])
    )


RANGES = [
    ("2026-09-07", "2026-09-07", "2026-09-08", "2026-09-07"),
    ("2026-W37", "2026-09-07", "2026-09-14", "2026-W37"),
    ("2020-W01", "2019-12-30", "2020-01-06", "2020-W01"),  # ISO 2020 starts in December 2019
    ("2026-W53", "2026-12-28", "2027-01-04", "2026-W53"),  # 2026 starts on a Thursday: 53 weeks
    ("2026-09-07..2026-09-09", "2026-09-07", "2026-09-10", "2026-09-07..2026-09-09"),
    ("2026-09-07..2026-09-07", "2026-09-07", "2026-09-08", "2026-09-07..2026-09-07"),
    ("2026-W37..2026-W40", "2026-09-07", "2026-10-05", "2026-W37..2026-W40"),
    ("2026-10-12..", "2026-10-12", None, "2026-10-12.."),
    ("..2026-W40", None, "2026-10-05", "..2026-W40"),
    ("2026-09-09..2026-W38", "2026-09-09", "2026-09-21", "2026-09-09..2026-W38"),
    ("2026-W37..2026-09-09", "2026-09-07", "2026-09-10", "2026-W37..2026-09-09"),
    (" 2026-W37 .. 2026-W38 ", "2026-09-07", "2026-09-21", "2026-W37..2026-W38"),
]


@pytest.mark.parametrize(
    ("text", "start", "end", "label"), RANGES, ids=[r[0].strip() or "blank" for r in RANGES]
)
def test_parse_range_reads_days_weeks_and_inclusive_ends(
    text: str, start: str | None, end: str | None, label: str
) -> None:
    window = parse_range(text)
    assert window.start == (day(start) if start else None)
    assert window.end == (day(end) if end else None)
    assert window.label == label


BAD_RANGES = [
    # (text, the part the message quotes, the problem it names)
    ("yesterday", "yesterday", "cannot read"),
    ("2026-9-7", "2026-9-7", "cannot read"),
    ("2026-W5", "2026-W5", "cannot read"),
    ("2026-02-30", "2026-02-30", "not a calendar date"),
    ("2026-W54", "2026-W54", "not an ISO week"),
    ("2025-W53", "2025-W53", "not an ISO week"),  # 2025 starts on a Wednesday, no leap year: 52 weeks
    ("2026-W00", "2026-W00", "not an ISO week"),
    ("2026-09-01..2026-02-30", "2026-02-30", "not a calendar date"),
    ("2026-W37..2026-W37..", "2026-W37..", "cannot read"),
    ("..", "..", "names neither end"),
]


@pytest.mark.parametrize(("text", "quoted", "problem"), BAD_RANGES, ids=[r[0] for r in BAD_RANGES])
def test_parse_range_errors_name_the_text_and_the_accepted_forms(
    text: str, quoted: str, problem: str
) -> None:
    with pytest.raises(RangeError) as raised:
        parse_range(text)
    message = str(raised.value)
    assert problem in message
    assert repr(quoted) in message
    for form in ("a day 2026-09-07", "an ISO week 2026-W37", "START..END", "left open"):
        assert form in message


@pytest.mark.parametrize("text", ["2026-W40..2026-W37", "2026-09-09..2026-09-08", "2026-W38..2026-09-13"])
def test_parse_range_end_before_start_names_the_text_and_the_fix(text: str) -> None:
    with pytest.raises(RangeError, match="ends before it starts") as raised:
        parse_range(text)
    assert repr(text) in str(raised.value)
    assert "earlier end first" in str(raised.value)


def test_period_windows_cross_the_iso_year_boundary() -> None:
    # 2024-12-29 is a Sunday of 2024-W52; Monday 2024-12-30 opens ISO week 2025-W01.
    ts = stamps("2025-01-01 12:00", "2024-12-29 23:59", None, "2024-12-30 00:00", "2025-01-06 08:00")
    weeks = period_windows(ts, "week")
    assert [(w.label, w.start, w.end) for w in weeks] == [
        ("2024-W52", day("2024-12-23"), day("2024-12-30")),
        ("2025-W01", day("2024-12-30"), day("2025-01-06")),
        ("2025-W02", day("2025-01-06"), day("2025-01-13")),
    ]
    days = period_windows(ts, "day")
    assert [w.label for w in days] == ["2024-12-29", "2024-12-30", "2025-01-01", "2025-01-06"]
    assert all(
        w.end is not None and w.start is not None and w.end - w.start == pd.Timedelta(days=1) for w in days
    )
    assert period_windows(stamps(None, None), "week") == []


@pytest.mark.parametrize(
    ("weeks", "expected"),
    [
        (8, ("2026-W37..2026-W40", "2026-09-07", "2026-10-05")),
        (5, ("2026-W37..2026-W38", "2026-09-07", "2026-09-21")),
        (3, ("2026-W37", "2026-09-07", "2026-09-14")),
        (1, ("2026-W37", "2026-09-07", "2026-09-14")),
    ],
    ids=["8-weeks-first-4", "5-weeks-first-2", "3-weeks-first-1", "1-week-itself"],
)
def test_default_reference_is_the_first_half_capped_at_four_weeks(
    weeks: int, expected: tuple[str, str, str]
) -> None:
    reference = default_reference(weekly(weeks))
    assert (reference.label, reference.start, reference.end) == (
        expected[0],
        day(expected[1]),
        day(expected[2]),
    )


def test_default_reference_needs_a_timestamp() -> None:
    with pytest.raises(RangeError, match="no request has a timestamp"):
        default_reference(stamps(None))


def test_plan_windows_leaves_each_overlapping_week_out_of_its_reference() -> None:
    ts = pd.concat([weekly(4), stamps(None)], ignore_index=True)
    plans = plan_windows(ts)
    reference = Window(label="2026-W37..2026-W38", start=day("2026-09-07"), end=day("2026-09-21"))
    assert [p.current.label for p in plans] == ["2026-W37", "2026-W38", "2026-W39", "2026-W40"]
    assert all(p.reference == reference for p in plans)
    assert [p.excluded for p in plans] == [plans[0].current, plans[1].current, None, None]
    # Rows 0-1 are in W37, 2-3 in W38, 4-7 later, row 8 has no time.
    expected_reference = [[2, 3], [0, 1], [0, 1, 2, 3], [0, 1, 2, 3]]
    for plan, rows in zip(plans, expected_reference, strict=True):
        assert list(ts.index[plan.reference_mask(ts)]) == rows
        assert not (plan.reference_mask(ts) & plan.current.mask(ts)).any()
    assert not any(p.current.mask(ts)[8] or p.reference_mask(ts)[8] for p in plans)


def test_plan_windows_by_day_and_with_an_explicit_current_window() -> None:
    ts = weekly(2)
    by_day = plan_windows(ts, by="day")
    assert [p.current.label for p in by_day] == ["2026-09-07", "2026-09-13", "2026-09-14", "2026-09-20"]
    assert [p.excluded is not None for p in by_day] == [True, True, False, False]
    one = plan_windows(ts, reference=parse_range("2026-W37"), current=parse_range("2026-09-14..2026-09-20"))
    assert len(one) == 1
    assert (one[0].current.label, one[0].excluded) == ("2026-09-14..2026-09-20", None)


@pytest.mark.parametrize(
    ("reference", "current", "excluded", "reference_rows"),
    [
        ("..2026-W38", "2026-W38", "2026-W38", [0, 1]),
        ("2026-W37..", "2026-09-13..2026-09-14", "2026-09-13..2026-09-14", [0, 3]),
        ("2026-W37", "2026-W38", None, [0, 1]),
    ],
    ids=["open-start-overlap", "straddling-two-weeks", "disjoint"],
)
def test_an_explicit_current_window_is_left_out_of_a_reference_it_overlaps(
    reference: str, current: str, excluded: str | None, reference_rows: list[int]
) -> None:
    ts = weekly(2)  # rows: Mon 09-07, Sun 09-13, Mon 09-14, Sun 09-20
    (plan,) = plan_windows(ts, parse_range(reference), parse_range(current))
    assert (plan.excluded.label if plan.excluded else None) == excluded
    assert list(ts.index[plan.reference_mask(ts)]) == reference_rows


@pytest.mark.parametrize(
    ("reference", "current", "message"),
    [
        ("2026-W30", None, "reference window 2026-W30 holds no request"),
        ("2026-W37", "2026-10-01..2026-10-31", "current window 2026-10-01..2026-10-31 holds no request"),
    ],
    ids=["empty-reference", "empty-current"],
)
def test_plan_windows_refuses_an_empty_window(reference: str, current: str | None, message: str) -> None:
    with pytest.raises(RangeError, match=message):
        plan_windows(weekly(2), parse_range(reference), parse_range(current) if current else None)
