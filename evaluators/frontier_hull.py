"""Geometry of the cost–quality plane: the non-decreasing convex hull, AIQ and the Pareto set.

``METRICS.md``, "RouterBench". Pure Python without imports beyond the standard library: the point sets are a
handful of models and router configurations, and `routelab --help` must not pay for numpy.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Literal

from routelab.evaluators.errors import InvalidArgumentError, UnknownOptionError

AiqVariant = Literal["paper", "routerbench"]
#: A cross product this small relative to its two terms is rounding: the three points are collinear.
COLLINEAR_TOLERANCE = 1e-12


def ndch(points: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """The non-decreasing convex hull of (cost, quality) points, sorted by cost.

    The upper convex hull (Andrew's monotone chain; collinear middle points are dropped, they add nothing
    to the interpolation), cut at its first point of highest quality, so quality rises as cost grows. At
    equal cost only the best quality counts. Every returned point is one of the input points.

    Raises:
        InvalidArgumentError: no points, or a coordinate that is not finite.
    """
    if not points:
        raise InvalidArgumentError("points", "is empty", "pass at least one (cost, quality) point")
    if not all(math.isfinite(v) for p in points for v in p):
        raise InvalidArgumentError("points", "holds a non-finite coordinate", "drop or fix that point")
    best: dict[float, float] = {}
    for cost, quality in points:
        best[cost] = max(quality, best.get(cost, -math.inf))
    hull: list[tuple[float, float]] = []
    for p in sorted(best.items()):
        # pop the last vertex while it lies on or below the chord from the one before it to p
        while len(hull) >= 2 and _cross(hull[-2], hull[-1], p) >= 0:
            hull.pop()
        hull.append(p)
    top = max(q for _, q in hull)
    return hull[: next(i for i, (_, q) in enumerate(hull) if q == top) + 1]


def _cross(o: tuple[float, float], a: tuple[float, float], b: tuple[float, float]) -> float:
    """Cross product of o→a and o→b, snapped to 0 within rounding (0.2, 0.4, 0.6 count as collinear)."""
    (ax, ay), (bx, by) = (a[0] - o[0], a[1] - o[1]), (b[0] - o[0], b[1] - o[1])
    cross = ax * by - ay * bx
    return 0.0 if abs(cross) <= COLLINEAR_TOLERANCE * (abs(ax * by) + abs(ay * bx)) else cross


def _interp(hull: Sequence[tuple[float, float]], c: float) -> float:
    """The hull's quality at cost c, linear between vertices and flat beyond both ends (`numpy.interp`)."""
    if c <= hull[0][0]:
        return hull[0][1]
    for (c0, q0), (c1, q1) in itertools.pairwise(hull):
        if c <= c1:
            return q0 + (q1 - q0) * (c - c0) / (c1 - c0)
    return hull[-1][1]


def _area(hull: Sequence[tuple[float, float]], a: float, b: float) -> float:
    """∫_a^b of the interpolated hull (0 when b <= a): trapezoids between a, the vertices inside, and b."""
    if b <= a:
        return 0.0
    xs = [a, *(c for c, _ in hull if a < c < b), b]
    return sum((x1 - x0) * (_interp(hull, x0) + _interp(hull, x1)) / 2 for x0, x1 in itertools.pairwise(xs))


def aiq(
    points: Sequence[tuple[float, float]],
    *,
    c_min: float,
    c_max: float,
    variant: AiqVariant = "paper",
) -> float:
    """Average improvement in quality: the mean height of the NDCH of (cost, quality) points.

    - ``paper``: 1 / (c_max − c_min) · ∫_{c_min}^{c_max} R̃(c) dc, R̃ the NDCH interpolated linearly. METRICS.md
      does not say what R̃ is outside the hull; we extend it flat at both ends, as `numpy.interp` does: past
      its dearest point a router keeps its best quality, and below its cheapest point it is credited with that
      point's quality (optimistic for a hull starting above c_min; the zero router's hull starts at c_min).
    - ``routerbench``: RouterBench's ``evaluation/AIQ.py``: the hull extended flat to c_max, integrated from
      the hull's cheapest point to c_max, divided by c_max itself; nothing counts below the cheapest point
      and ``c_min`` is ignored. `frontier` passes the largest cost among the routers compared (METRICS.md);
      RouterBench's code takes the largest cost on its hulls, the same whenever the dearest point is also
      the best (gpt-4 on every RouterBench task here). Past c_max nothing is integrated.

    Raises:
        InvalidArgumentError: no or non-finite points; paper: c_max <= c_min; routerbench: c_max <= 0.
        UnknownOptionError: ``variant`` is neither name.
    """
    hull = ndch(points)
    if variant == "paper":
        if not c_max > c_min:
            raise InvalidArgumentError("c_max", f"is {c_max}, not above c_min={c_min}", "pass c_min < c_max")
        return _area(hull, c_min, c_max) / (c_max - c_min)
    if variant == "routerbench":
        if not c_max > 0:
            raise InvalidArgumentError("c_max", f"is {c_max}", "pass the largest cost compared, above 0")
        return _area(hull, hull[0][0], c_max) / c_max
    raise UnknownOptionError("variant", f"is {variant!r}", "pass one of: paper, routerbench")


def pareto(points: Mapping[str, tuple[float, float]]) -> list[str]:
    """Names of the (cost, quality) points no other point dominates, by cost then name.

    A point dominates another when it costs no more and is no worse, and is strictly better in one of the
    two; identical points do not dominate each other.
    """

    def dominated(p: tuple[float, float]) -> bool:
        return any(c <= p[0] and q >= p[1] and (c, q) != p for c, q in points.values())

    return sorted((name for name, p in points.items() if not dominated(p)), key=lambda n: (points[n][0], n))
