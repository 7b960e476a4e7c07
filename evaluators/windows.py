"""Time windows for drift: a reference window against a current one, or every period against the reference.

**Ranges** (`parse_range`): a day ``2026-09-07``, an ISO week ``2026-W37``, or ``START..END`` of those, both
ends inclusive (``2026-W37..2026-W40`` is four whole weeks); an end may be left open (``2026-10-12..``,
``..2026-W40``). Times are naive UTC, like the store's ``ts``.

**Plan** (`plan_windows`): without ``reference`` the reference is the first half of the ISO weeks the traffic
covers, at most four and at least one. With ``current`` there is one current window; otherwise every week
(or day, ``by="day"``) of the traffic is one. A period that overlaps the reference is compared with the
reference *minus that period* (leave-one-out), so no window is ever compared with itself and the reference
weeks are tested too.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from routelab.evaluators.errors import EvaluatorError

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped,unused-ignore]  # no pandas-stubs in the dev lock yet

Period = Literal["week", "day"]
#: The largest default reference, in ISO weeks.
DEFAULT_REFERENCE_WEEKS = 4

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
FORMS = "a day 2026-09-07, an ISO week 2026-W37, or START..END of those (either end may be left open)"


class RangeError(EvaluatorError):
    """A time range that cannot be read, or a window without traffic."""


class Window(BaseModel):
    """A half-open time window [start, end) of traffic."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    label: str = Field(
        description="How the window is named in the output: `2026-W41`, `2026-09-07..2026-10-04`."
    )
    start: datetime | None = Field(description="First instant inside the window (None: open).")
    end: datetime | None = Field(description="First instant after the window (None: open).")

    def mask(self, ts: pd.Series) -> pd.Series:
        """Rows of `ts` inside the window (missing timestamps are outside every window)."""
        inside = ts.notna()
        if self.start is not None:
            inside &= ts >= self.start
        if self.end is not None:
            inside &= ts < self.end
        return inside

    def overlaps(self, other: Window) -> bool:
        """Whether the two windows share an instant."""
        starts_before_end = other.end is None or self.start is None or self.start < other.end
        ends_after_start = other.start is None or self.end is None or self.end > other.start
        return starts_before_end and ends_after_start


class Comparison(BaseModel):
    """One current window and the reference it is compared with."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    current: Window = Field(description="The window tested.")
    reference: Window = Field(description="The reference window.")
    excluded: Window | None = Field(
        default=None, description="A part of the reference left out because the current window overlaps it."
    )

    def reference_mask(self, ts: pd.Series) -> pd.Series:
        """Reference rows, minus the current window's when they overlap."""
        inside = self.reference.mask(ts)
        return inside & ~self.excluded.mask(ts) if self.excluded is not None else inside


def _bound(text: str, end: bool) -> tuple[datetime, str]:
    """The start (or the exclusive end) of a day or ISO week, and its label."""
    if _DAY.match(text):
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise RangeError(f"time range: {text!r} is not a calendar date; use {FORMS}") from None
        first = datetime.combine(day, datetime.min.time())
        return (first + timedelta(days=1) if end else first), text
    week = _WEEK.match(text)
    if week:
        try:
            monday = date.fromisocalendar(int(week[1]), int(week[2]), 1)
        except ValueError:
            raise RangeError(f"time range: {text!r} is not an ISO week of that year; use {FORMS}") from None
        first = datetime.combine(monday, datetime.min.time())
        return (first + timedelta(days=7) if end else first), text
    raise RangeError(f"time range: cannot read {text!r}; use {FORMS}")


def parse_range(text: str) -> Window:
    """A window from its text (module docstring).

    Raises:
        RangeError: unreadable text, an impossible date or week, or an end before the start.
    """
    text = text.strip()
    if ".." not in text:
        first, label = _bound(text, end=False)
        return Window(label=label, start=first, end=_bound(text, end=True)[0])
    left, right = (part.strip() for part in text.split("..", 1))
    if not left and not right:
        raise RangeError(f"time range: {text!r} names neither end; use {FORMS}")
    start = _bound(left, end=False)[0] if left else None
    end = _bound(right, end=True)[0] if right else None
    if start is not None and end is not None and end <= start:
        raise RangeError(f"time range: {text!r} ends before it starts; put the earlier end first")
    return Window(label=f"{left}..{right}", start=start, end=end)


def period_windows(ts: pd.Series, by: Period) -> list[Window]:
    """One window per ISO week (or day) that holds traffic, in order."""
    import pandas as pd

    stamps = pd.to_datetime(ts).dropna()
    if stamps.empty:
        return []
    days = stamps.dt.normalize().drop_duplicates()
    if by == "day":
        firsts = sorted(days)
        return [
            Window(
                label=f"{d:%Y-%m-%d}", start=d.to_pydatetime(), end=(d + pd.Timedelta(days=1)).to_pydatetime()
            )
            for d in firsts
        ]
    mondays = sorted((days - pd.to_timedelta(days.dt.day_of_week, unit="D")).drop_duplicates())
    out = []
    for m in mondays:
        year, week, _ = m.isocalendar()
        start = m.to_pydatetime()
        out.append(Window(label=f"{year}-W{week:02d}", start=start, end=start + timedelta(days=7)))
    return out


def default_reference(ts: pd.Series) -> Window:
    """The first half of the traffic's ISO weeks, at most `DEFAULT_REFERENCE_WEEKS`, at least one.

    Raises:
        RangeError: no request has a timestamp.
    """
    weeks = period_windows(ts, "week")
    if not weeks:
        raise RangeError("drift: no request has a timestamp (ts); import requests with their times")
    k = min(DEFAULT_REFERENCE_WEEKS, max(1, len(weeks) // 2))
    first, last = weeks[0], weeks[k - 1]
    label = first.label if k == 1 else f"{first.label}..{last.label}"
    return Window(label=label, start=first.start, end=last.end)


def plan_windows(
    ts: pd.Series, reference: Window | None = None, current: Window | None = None, by: Period = "week"
) -> list[Comparison]:
    """The comparisons to run (module docstring): one for `current`, else one per period of the traffic.

    Raises:
        RangeError: no timestamps, or the reference or the current window holds no request.
    """
    reference = reference or default_reference(ts)
    if not reference.mask(ts).any():
        raise RangeError(f"drift: the reference window {reference.label} holds no request; pick another")
    currents = [current] if current is not None else period_windows(ts, by)
    if current is not None and not current.mask(ts).any():
        raise RangeError(f"drift: the current window {current.label} holds no request; pick another")
    plans = []
    for window in currents:
        excluded = window if window.overlaps(reference) else None
        plans.append(Comparison(current=window, reference=reference, excluded=excluded))
    return plans
