"""When and where requests arrive: workflow volumes, weekday and local-hour profiles, regions, segments.

Hours are drawn in the requester's local time (US Eastern/Pacific, Central Europe/UK, DST included) and
stored in UTC.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

from routelab.datasets.demo.segments import MIX
from routelab.datasets.demo.story import LAUNCH_DAY

DAYS = 56  # days of traffic from `start`

# fmt: off
WORKFLOWS = ("support", "coding", "research", "sales")
VOLUME = np.array([0.38, 0.32, 0.12, 0.18])
SURGE = np.array([0.30, 0.25, 0.0, 0.05])  # post-launch volume increase per workflow
DOW = np.array([                           # Monday .. Sunday
    [1.0, 1.0, 0.98, 0.97, 0.92, 0.45, 0.38],
    [1.0, 1.05, 1.05, 1.0, 0.85, 0.12, 0.1],
    [1.0, 1.0, 1.0, 1.0, 0.8, 0.1, 0.08],
    [1.05, 1.05, 1.0, 1.0, 0.85, 0.08, 0.05],
])
_OFFICE = np.array([.03, .02, .02, .02, .03, .06, .15, .4, .8, 1, 1, .95, .75, .9, 1, .95, .85, .6, .35, .25,
                    .2, .15, .1, .06])
_EVENING = np.r_[np.zeros(19), [0.15, 0.15, 0.15, 0.1, 0.05]]
HOURS = np.stack([_OFFICE * 0.75 + 0.12, _OFFICE + _EVENING, _OFFICE, _OFFICE])  # local hour of day
EU_SHARE = np.array([0.30, 0.30, 0.25, 0.25])
EU_LAUNCH = 0.12  # extra EU share after the launch
# fmt: on


def _utc_offsets(start: date) -> np.ndarray:
    """Hours east of UTC per local day for US Eastern, US Pacific, Central Europe and the UK."""

    def last_sunday(y: int, m: int) -> date:
        d = date(y, m + 1, 1) - timedelta(days=1)
        return d - timedelta(days=(d.weekday() + 1) % 7)

    def first_sunday(y: int, m: int) -> date:
        d = date(y, m, 1)
        return d + timedelta(days=(6 - d.weekday()) % 7)

    out = np.zeros((DAYS, 4))
    for i in range(DAYS):
        d = start + timedelta(days=i)
        us = first_sunday(d.year, 3) + timedelta(days=7) <= d < first_sunday(d.year, 11)
        eu = last_sunday(d.year, 3) <= d < last_sunday(d.year, 10)
        out[i] = [-5 + us, -8 + us, 1 + eu, 0 + eu]
    return out


def draw_traffic(rng: np.random.Generator, n: int, start: date) -> pd.DataFrame:
    """Workflow, local day and hour, region and segment of each request; UTC timestamps."""
    days = np.arange(DAYS)
    dow = np.array([(start + timedelta(days=int(d))).weekday() for d in days])
    after = days >= LAUNCH_DAY
    surge = 1 + SURGE[:, None] * after * (1 + 0.5 * np.exp(-(days - LAUNCH_DAY).clip(0) / 3))
    weights = VOLUME[:, None] * DOW[:, dow] * (1 + 0.004 * days) * surge
    cell = rng.choice(weights.size, size=n, p=(weights / weights.sum()).ravel())
    wf, day = cell // DAYS, cell % DAYS
    post = day >= LAUNCH_DAY
    eu = rng.random(n) < EU_SHARE[wf] + EU_LAUNCH * post
    segment = np.empty(n, dtype=object)
    hour = np.zeros(n, dtype=np.int64)
    for w, name in enumerate(WORKFLOWS):
        names = [s for s in MIX if s.startswith(name + "/")]
        for period in (0, 1):
            idx = np.flatnonzero((wf == w) & (post == period))
            p = np.array([MIX[s][period] for s in names])
            segment[idx] = np.array(names, dtype=object)[rng.choice(len(names), size=idx.size, p=p / p.sum())]
        idx = np.flatnonzero(wf == w)
        hour[idx] = rng.choice(24, size=idx.size, p=HOURS[w] / HOURS[w].sum())
    zone = np.where(eu, 2 + (rng.random(n) < 0.2), (rng.random(n) < 0.4).astype(int))
    seconds = day * 86400 + hour * 3600 + rng.integers(0, 3600, n) - _utc_offsets(start)[day, zone] * 3600
    # Keep the window exact: the few requests that cross its edges in UTC move by one day.
    seconds = np.where(seconds < 0, seconds + 86400, seconds)
    seconds = np.where(seconds >= DAYS * 86400, seconds - 86400, seconds)
    return pd.DataFrame(
        {
            "workflow": np.array(WORKFLOWS)[wf],
            "segment": segment,
            "ts": pd.Timestamp(start) + pd.to_timedelta(seconds, unit="s"),
            "region": np.where(eu, "eu", "us"),
            "post": post,
        }
    )
