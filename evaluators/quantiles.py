"""The one quantile definition used everywhere in routelab.

numpy's default, linear interpolation between order statistics (Hyndman–Fan type 7); ``p50`` and ``p95``
in the bootstrap use it too.
"""

from __future__ import annotations

import math
import numbers
from typing import TYPE_CHECKING

from routelab.evaluators.errors import (
    EmptySampleError,
    InvalidArgumentError,
    InvalidProbabilityError,
    NonFiniteValueError,
)

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import ArrayLike, NDArray


def quantiles_sorted(ordered: NDArray[np.float64], qs: tuple[float, ...]) -> list[float]:
    """Type-7 quantiles of sorted, NaN-free values; infinities are handled as limits, not as NaN."""
    import numpy as np

    if bool(np.isfinite(ordered).all()):
        return [float(x) for x in np.quantile(ordered, qs, method="linear")]
    out = []
    last = ordered.shape[0] - 1
    for q in qs:
        h = last * q
        lo = math.floor(h)
        hi = min(lo + 1, last)
        a, b, frac = float(ordered[lo]), float(ordered[hi]), h - lo
        if frac == 0 or a == b:
            out.append(a)
        elif math.isinf(a) and math.isinf(b):
            out.append(math.nan)  # between −inf and +inf: no limit exists
        elif math.isinf(a) or math.isinf(b):
            out.append(a if math.isinf(a) else b)
        else:
            out.append(a + (b - a) * frac)
    return out


def quantile(values: ArrayLike, q: float) -> float:
    """The q-quantile of ``values`` by numpy's default definition, used everywhere in routelab.

    Linear interpolation between order statistics (Hyndman & Fan type 7): with the n values sorted,
    position h = (n − 1) · q, result x[⌊h⌋] + (h − ⌊h⌋) · (x[⌊h⌋ + 1] − x[⌊h⌋]). Infinite values are
    allowed and give the limit of that formula.

    Args:
        values: A non-empty 1-D sequence of numbers, without NaN.
        q: Quantile level in [0, 1]; 0.5 is the median, 0.95 the p95.

    Returns:
        The quantile as a float.

    Raises:
        EmptySampleError: ``values`` is empty.
        NonFiniteValueError: ``values`` holds NaN.
        InvalidProbabilityError: ``q`` is outside [0, 1].
    """
    import numpy as np

    if isinstance(q, bool) or not isinstance(q, numbers.Real) or not 0 <= q <= 1:
        raise InvalidProbabilityError("q", f"is {q!r}", "pass a level in [0, 1], e.g. 0.95 for p95")
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidArgumentError("values", "is not numeric", "pass a 1-D sequence of numbers") from None
    if arr.ndim != 1 or arr.size == 0:
        raise EmptySampleError("values", f"has shape {arr.shape}", "pass a non-empty 1-D sequence")
    if bool(np.isnan(arr).any()):
        raise NonFiniteValueError("values", "holds NaN", "drop missing values first")
    return quantiles_sorted(np.sort(arr), (float(q),))[0]
