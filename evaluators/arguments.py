"""Argument checks shared by the statistics modules; each raises an `EvaluatorError` naming the argument.

Also `scipy_stats`, the one place ``scipy.stats`` is imported: on first use, because it is slow to import
and the result types must stay cheap.
"""

from __future__ import annotations

import numbers
import operator
from typing import TYPE_CHECKING, Any

from routelab.evaluators.errors import (
    EmptySampleError,
    InvalidArgumentError,
    InvalidConfidenceError,
    InvalidCountError,
    LengthMismatchError,
    MissingSeedError,
    NonFiniteValueError,
    NotBinaryError,
)

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import ArrayLike, NDArray


def scipy_stats() -> Any:
    """``scipy.stats``, imported on first use: it is slow to import, and the result types must stay cheap."""
    import scipy.stats  # type: ignore[import-untyped]  # no scipy stubs in the dev lock yet

    return scipy.stats


def scipy_special() -> Any:
    """``scipy.special``, imported on first use (fast distribution tails without `scipy.stats`' wrappers)."""
    import scipy.special  # type: ignore[import-untyped]  # no scipy stubs in the dev lock yet

    return scipy.special


# ---- input validation -------------------------------------------------------------------------------


def check_confidence(confidence: float) -> float:
    """`confidence` as a float strictly between 0 and 1."""
    if isinstance(confidence, bool) or not isinstance(confidence, numbers.Real) or not 0 < confidence < 1:
        raise InvalidConfidenceError(
            "confidence", f"is {confidence!r}", "pass a level strictly between 0 and 1, e.g. 0.95"
        )
    return float(confidence)


def check_count(value: int, argument: str, *, minimum: int = 0) -> int:
    """`value` as an int >= `minimum` (bools and non-integers rejected)."""
    if isinstance(value, bool):
        raise InvalidCountError(argument, f"is {value!r}, a bool", "pass a whole number")
    try:
        count = operator.index(value)
    except TypeError:
        raise InvalidCountError(argument, f"is {value!r}, not an integer", "pass a whole number") from None
    if count < minimum:
        raise InvalidCountError(argument, f"is {count}", f"pass a whole number >= {minimum}")
    return count


def check_seed(seed: int | None) -> int:
    """`seed` as an int >= 0; a missing seed raises `MissingSeedError`."""
    if seed is None:
        raise MissingSeedError(
            "seed", "is missing", "pass an integer >= 0 so the resamples can be reproduced"
        )
    return check_count(seed, "seed")


def as_sample(values: ArrayLike, argument: str) -> NDArray[np.float64]:
    """``values`` as a non-empty 1-D float array of finite numbers."""
    import numpy as np

    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidArgumentError(argument, "is not numeric", "pass a 1-D sequence of numbers") from None
    if arr.ndim != 1:
        raise InvalidArgumentError(argument, f"has shape {arr.shape}", "pass a 1-D sequence of numbers")
    if arr.size == 0:
        raise EmptySampleError(argument, "is empty", "pass at least one value")
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        raise NonFiniteValueError(
            argument,
            f"holds {arr[bad[0]]} at position {bad[0]} ({bad.size} non-finite values)",
            "drop or impute missing values before comparing",
        )
    return arr


def as_binary(values: ArrayLike, argument: str) -> NDArray[np.bool_]:
    """``values`` as a 1-D boolean array; accepts bools or the numbers 0 and 1."""
    import numpy as np

    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise NotBinaryError(
            argument, "cannot be read as 0/1 values", "pass booleans or 0/1, without missing values"
        ) from None
    if arr.ndim != 1:
        raise NotBinaryError(argument, f"has shape {arr.shape}", "pass a 1-D sequence of booleans")
    bad = np.flatnonzero((arr != 0) & (arr != 1))
    if bad.size:
        raise NotBinaryError(
            argument,
            f"holds {arr[bad[0]]} at position {bad[0]}",
            "pass booleans or 0/1 values; drop requests without a verdict first",
        )
    flags: NDArray[np.bool_] = arr == 1
    return flags


def check_same_length(base: NDArray[np.generic], cand: NDArray[np.generic], names: tuple[str, str]) -> None:
    """Raise `LengthMismatchError` unless the paired samples have one value each per request."""
    if base.shape[0] != cand.shape[0]:
        raise LengthMismatchError(
            names[1],
            f"has {cand.shape[0]} values but {names[0]} has {base.shape[0]}",
            "pass one value per request for both versions, aligned by request",
        )
