"""Paired bootstrap for cost and latency deltas, absolute and relative.

Paired bootstrap over requests with a percentile interval. BCa's bias and acceleration terms degenerate
when most paired differences are zero (same path in both versions). Relative changes (``delta_pct``)
resample the same way. Randomness only from ``numpy.random.SeedSequence(seed)`` with the seed recorded: the
resamples come in chunks of `_CHUNK_RESAMPLES`, each drawn from its own stream spawned from the seed, so
chunks run on several threads (numpy's generators and array operations release the GIL) and the result depends
on neither the thread count nor how a chunk is blocked in memory.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Literal

from routelab.evaluators.arguments import (
    as_sample,
    check_confidence,
    check_count,
    check_same_length,
    check_seed,
)
from routelab.evaluators.errors import (
    InvalidArgumentError,
    NonFiniteValueError,
    UnknownOptionError,
    ZeroBaselineError,
)
from routelab.evaluators.estimates import BootstrapEstimate, StatisticFn, StatisticName
from routelab.evaluators.quantiles import quantiles_sorted

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import ArrayLike, NDArray

#: Upper bound on resampled values held in memory at once; resamples are drawn in blocks of rows.
_BLOCK_ELEMENTS = 1 << 22
#: Resample distinct pairs by counts when there are at most 1/8 as many distinct pairs as requests.
_COMPRESS_RATIO = 8
#: Resamples per chunk; chunk j draws from the j-th stream spawned from the seed (part of what a seed means).
_CHUNK_RESAMPLES = 250
#: Threads that draw chunks at once (at most 4); results do not depend on it.
_THREADS = min(4, os.cpu_count() or 1)
#: Below this many resampled values in all, chunks run one after another (a thread pool costs more).
_THREADED_ELEMENTS = 1 << 17

#: A block of resamples: (generator, rows) -> (base, candidate) statistics per statistic.
Block = Callable[["np.random.Generator", int], list[tuple["NDArray[np.float64]", "NDArray[np.float64]"]]]


def _mean(x: NDArray[np.float64]) -> NDArray[np.float64]:
    out: NDArray[np.float64] = x.mean(axis=-1)
    return out


def _sum(x: NDArray[np.float64]) -> NDArray[np.float64]:
    out: NDArray[np.float64] = x.sum(axis=-1)
    return out


def _p50(x: NDArray[np.float64]) -> NDArray[np.float64]:
    import numpy as np

    return np.quantile(x, 0.5, axis=-1, method="linear")


def _p95(x: NDArray[np.float64]) -> NDArray[np.float64]:
    import numpy as np

    return np.quantile(x, 0.95, axis=-1, method="linear")


STATISTICS: dict[str, StatisticFn] = {"mean": _mean, "sum": _sum, "p50": _p50, "p95": _p95}
"""The named bootstrap statistics; each reduces the last axis (quantiles by `quantile`'s definition)."""


def _resolve_statistic(statistic: StatisticName | StatisticFn) -> tuple[str, StatisticFn]:
    if callable(statistic):
        return getattr(statistic, "__name__", type(statistic).__name__), statistic
    if statistic not in STATISTICS:
        raise UnknownOptionError(
            "statistic",
            f"is {statistic!r}",
            f"pass one of: {', '.join(sorted(STATISTICS))}, or a callable reducing the last axis",
        )
    return statistic, STATISTICS[statistic]


def _apply(fn: StatisticFn, x: NDArray[np.float64]) -> NDArray[np.float64]:
    """``fn`` over the rows of ``x``, checked to return one finite number per row."""
    import numpy as np

    out = np.asarray(fn(x), dtype=np.float64)
    if out.shape != (x.shape[0],):
        raise InvalidArgumentError(
            "statistic",
            f"returned shape {out.shape} for input of shape {x.shape}",
            "reduce the last axis, e.g. lambda x: x.mean(axis=-1)",
        )
    if not bool(np.isfinite(out).all()):
        raise NonFiniteValueError("statistic", "returned NaN or infinity", "return finite numbers")
    return out


def _pct_change(cand: NDArray[np.float64], base: NDArray[np.float64]) -> NDArray[np.float64]:
    """100 · (cand − base) / base; 0 where both are 0 (nothing changed), ±inf where only base is 0."""
    import numpy as np

    with np.errstate(divide="ignore", invalid="ignore"):
        pct = 100.0 * (cand - base) / base
    pct[(base == 0) & (cand == 0)] = 0.0
    return pct


def _row_stats(
    base: NDArray[np.float64],
    cand: NDArray[np.float64],
    fns: Sequence[StatisticFn],
    n_resamples: int,
    seed: int,
) -> list[tuple[NDArray[np.float64], NDArray[np.float64]]]:
    """Resample requests by index; base and candidate share the indices (that is the pairing)."""

    n = base.shape[0]

    def block(rng: np.random.Generator, rows: int) -> list[tuple[NDArray[np.float64], NDArray[np.float64]]]:
        idx = rng.integers(0, n, size=(rows, n))
        b, c = base[idx], cand[idx]
        return [(_apply(fn, b), _apply(fn, c)) for fn in fns]

    return _in_chunks(n_resamples, n, len(fns), block, seed)


def _in_chunks(
    n_resamples: int, width: int, n_stats: int, block: Block, seed: int
) -> list[tuple[NDArray[np.float64], NDArray[np.float64]]]:
    """Run `block(rng, rows)` over the resamples, `width` values per resample, on up to `_THREADS` threads.

    The resamples come in chunks of `_CHUNK_RESAMPLES`; chunk j draws from the j-th stream spawned from
    ``SeedSequence(seed)``, in blocks that keep memory bounded, consecutive blocks continuing the chunk's
    stream. So the draws (and the result) depend on neither the thread count nor the block size. `block`
    returns (base, candidate) statistics for each of `n_stats`.
    """
    import numpy as np

    out = [(np.empty(n_resamples), np.empty(n_resamples)) for _ in range(n_stats)]
    starts = range(0, n_resamples, _CHUNK_RESAMPLES)
    streams = np.random.SeedSequence(seed).spawn(len(starts))
    rows = max(1, _BLOCK_ELEMENTS // width)

    def chunk(j: int) -> None:
        rng = np.random.default_rng(streams[j])
        end = min(starts[j] + _CHUNK_RESAMPLES, n_resamples)
        for start in range(starts[j], end, rows):
            stop = min(start + rows, end)
            for (sb, sc), (b, c) in zip(out, block(rng, stop - start), strict=True):
                sb[start:stop], sc[start:stop] = b, c

    if _THREADS > 1 and len(starts) > 1 and n_resamples * width >= _THREADED_ELEMENTS:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=min(_THREADS, len(starts))) as pool:
            list(pool.map(chunk, range(len(starts))))
    else:
        for j in range(len(starts)):
            chunk(j)
    return out


def _weighted_stat(
    values: NDArray[np.float64], weights: NDArray[np.int64], name: str, n: int
) -> NDArray[np.float64]:
    """A named statistic of each resample given as counts over `values` (rows of `weights`).

    Equal to the statistic of the expanded sample: sums and means directly, quantiles by the same linear
    interpolation between order statistics as `quantile`.
    """
    import numpy as np

    if name in ("sum", "mean"):
        total: NDArray[np.float64] = weights @ values
        return total / n if name == "mean" else total
    q = 0.5 if name == "p50" else 0.95
    order = np.argsort(values, kind="stable")
    ordered, cum = values[order], np.cumsum(weights[:, order], axis=1)
    h = (n - 1) * q
    lo = int(np.floor(h))
    frac = h - lo
    at_lo = ordered[(cum <= lo).sum(axis=1)]
    at_hi = ordered[(cum <= min(lo + 1, n - 1)).sum(axis=1)]
    out: NDArray[np.float64] = at_lo + frac * (at_hi - at_lo)
    return out


def quantile_of_counts(values: ArrayLike, counts: ArrayLike, q: float) -> float:
    """The q-quantile (`quantile`'s definition) of the sample repeating ``values[i]`` ``counts[i]`` times.

    Raises:
        InvalidArgumentError: values and counts differ in length, or the counts sum to 0.
    """
    import numpy as np

    vals = np.asarray(values, dtype=np.float64)
    cnt = np.asarray(counts, dtype=np.int64)
    if vals.shape != cnt.shape or vals.ndim != 1 or int(cnt.sum()) <= 0:
        raise InvalidArgumentError(
            "counts",
            f"shape {cnt.shape} (sum {int(cnt.sum())}) for values {vals.shape}",
            "pass one count > 0",
        )
    n = int(cnt.sum())
    order = np.argsort(vals, kind="stable")
    ordered, cum = vals[order], np.cumsum(cnt[order])
    h = (n - 1) * q
    lo = int(np.floor(h))
    at_lo = ordered[int(np.searchsorted(cum, lo, side="right"))]
    at_hi = ordered[int(np.searchsorted(cum, min(lo + 1, n - 1), side="right"))]
    return float(at_lo + (h - lo) * (at_hi - at_lo))


def _counted_stats(
    pairs: NDArray[np.float64],
    counts: NDArray[np.int64],
    names: Sequence[str],
    n_resamples: int,
    seed: int,
) -> list[tuple[NDArray[np.float64], NDArray[np.float64]]]:
    """Resample the distinct (base, cand) pairs by multinomial counts.

    Drawing n requests with replacement is the same as drawing how many times each distinct pair occurs
    (multinomial with the pairs' shares), so the resampling distribution is exactly that of `_row_stats`
    at a cost that grows with the number of distinct pairs, not requests. Estimated costs and latencies take
    few distinct values, which makes compare fast at millions of requests.
    """

    n = int(counts.sum())
    shares = counts / n

    def block(rng: np.random.Generator, rows: int) -> list[tuple[NDArray[np.float64], NDArray[np.float64]]]:
        weights = rng.multinomial(n, shares, size=rows)
        stats = {
            name: (
                _weighted_stat(pairs[:, 0], weights, name, n),
                _weighted_stat(pairs[:, 1], weights, name, n),
            )
            for name in dict.fromkeys(names)
        }
        return [stats[name] for name in names]

    return _in_chunks(n_resamples, len(pairs), len(names), block, seed)


def _distinct_pairs(
    base: NDArray[np.float64], cand: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """The distinct (base, cand) pairs in lexicographic order and how often each occurs."""
    import numpy as np

    pairs, counts = np.unique(np.stack([base, cand], axis=1), axis=0, return_counts=True)
    return pairs, counts.astype(np.int64)


def _bootstrap_set(
    base: ArrayLike,
    cand: ArrayLike,
    specs: Sequence[tuple[StatisticName | StatisticFn, Literal["absolute", "percent"]]],
    n_resamples: int,
    confidence: float,
    seed: int,
) -> list[BootstrapEstimate | ZeroBaselineError]:
    """One set of resamples (from `seed`) evaluated for every (statistic, scale) in `specs`.

    The samples are reduced to their distinct pairs and counts first (`_bootstrap_counts`), so the result
    depends on the multiset of pairs only: not on the order of the requests.
    """
    base_arr, cand_arr = as_sample(base, "base"), as_sample(cand, "cand")
    check_same_length(base_arr, cand_arr, ("base", "cand"))
    pairs, counts = _distinct_pairs(base_arr, cand_arr)
    return _bootstrap_counts(pairs, counts, specs, n_resamples, confidence, seed)


def _bootstrap_counts(
    pairs: NDArray[np.float64],
    counts: NDArray[np.int64],
    specs: Sequence[tuple[StatisticName | StatisticFn, Literal["absolute", "percent"]]],
    n_resamples: int,
    confidence: float,
    seed: int,
) -> list[BootstrapEstimate | ZeroBaselineError]:
    """The paired bootstrap of the sample given as distinct (base, cand) pairs (sorted) with their counts.

    Each estimate equals what a separate `_bootstrap` call with the same seed gives: the draws depend only
    on the pairs, counts and seed, so statistics of the same samples share them instead of drawing again.
    With few distinct pairs the resamples are drawn as multinomial counts over them (`_counted_stats`),
    else as request indices into the sample expanded in pair order (`_row_stats`). A percent change with
    a zero base statistic comes back as its `ZeroBaselineError`, not raised.
    """
    import numpy as np

    n_resamples = check_count(n_resamples, "n_resamples", minimum=1)
    confidence = check_confidence(confidence)
    seed = check_seed(seed)
    resolved = [(*_resolve_statistic(statistic), scale) for statistic, scale in specs]
    n = int(counts.sum())
    named = all(not callable(statistic) for statistic, _ in specs)  # only these have a counted form
    counted = named and len(pairs) * _COMPRESS_RATIO <= n
    expanded: tuple[NDArray[np.float64], NDArray[np.float64]] | None = None
    if not named or not counted:
        expanded = (np.repeat(pairs[:, 0], counts), np.repeat(pairs[:, 1], counts))
    out: list[BootstrapEstimate | ZeroBaselineError] = [ZeroBaselineError("")] * len(resolved)
    todo: list[int] = []
    observed: dict[int, tuple[float, float]] = {}
    weights = counts[np.newaxis, :]
    for k, (name, fn, scale) in enumerate(resolved):
        if named:
            ob = float(_weighted_stat(pairs[:, 0], weights, name, n)[0])
            oc = float(_weighted_stat(pairs[:, 1], weights, name, n)[0])
        else:
            assert expanded is not None
            ob = float(_apply(fn, expanded[0][np.newaxis, :])[0])
            oc = float(_apply(fn, expanded[1][np.newaxis, :])[0])
        if scale == "percent" and ob == 0 and oc != 0:
            out[k] = ZeroBaselineError(
                f"base {name} is 0, so a percent change is undefined; "
                "compare with paired_bootstrap (absolute)"
            )
            continue
        observed[k] = (ob, oc)
        todo.append(k)
    if not todo:
        return out
    if counted:
        stats = _counted_stats(pairs, counts, [resolved[k][0] for k in todo], n_resamples, seed)
    else:
        assert expanded is not None
        stats = _row_stats(expanded[0], expanded[1], [resolved[k][1] for k in todo], n_resamples, seed)
    alpha = 1 - confidence
    for k, (stats_base, stats_cand) in zip(todo, stats, strict=True):
        name, _fn, scale = resolved[k]
        ob, oc = observed[k]
        if scale == "percent":
            value = float(_pct_change(np.array([oc]), np.array([ob]))[0])
            deltas = _pct_change(stats_cand, stats_base)
        else:
            value = oc - ob
            deltas = stats_cand - stats_base
        low, high = quantiles_sorted(np.sort(deltas), (alpha / 2, 1 - alpha / 2))
        out[k] = BootstrapEstimate(
            value=value,
            ci_low=low,
            ci_high=high,
            n=n,
            method="bootstrap-percentile",
            confidence=confidence,
            statistic=name,
            scale=scale,
            n_resamples=n_resamples,
            seed=seed,
        )
    return out


def _bootstrap(
    base: ArrayLike,
    cand: ArrayLike,
    statistic: StatisticName | StatisticFn,
    n_resamples: int,
    confidence: float,
    seed: int,
    scale: Literal["absolute", "percent"],
) -> BootstrapEstimate:
    (result,) = _bootstrap_set(base, cand, [(statistic, scale)], n_resamples, confidence, seed)
    if isinstance(result, ZeroBaselineError):
        raise result
    return result


def paired_bootstrap_set(
    base: ArrayLike,
    cand: ArrayLike,
    specs: Sequence[tuple[StatisticName | StatisticFn, Literal["absolute", "percent"]]],
    *,
    n_resamples: int = 2000,
    confidence: float = 0.95,
    seed: int,
) -> list[BootstrapEstimate | ZeroBaselineError]:
    """Several `paired_bootstrap` / `paired_bootstrap_pct` estimates of the same samples, drawn once.

    Element k equals ``paired_bootstrap(base, cand, statistic=s, ...)`` (scale ``absolute``) or
    ``paired_bootstrap_pct`` (scale ``percent``) for ``specs[k] = (s, scale)`` with the same seed, at the cost
    of one resampling; a percent change with a zero base statistic is returned as its `ZeroBaselineError`.

    Raises:
        As `paired_bootstrap`.
    """
    return _bootstrap_set(base, cand, specs, n_resamples, confidence, seed)


def paired_bootstrap_counts(
    pairs: ArrayLike,
    counts: ArrayLike,
    specs: Sequence[tuple[StatisticName, Literal["absolute", "percent"]]],
    *,
    n_resamples: int = 2000,
    confidence: float = 0.95,
    seed: int,
) -> list[BootstrapEstimate | ZeroBaselineError]:
    """`paired_bootstrap_set` of a sample given as distinct (base, cand) pairs and their counts.

    For sufficient statistics computed elsewhere (e.g. a ``GROUP BY base, cand`` in DuckDB): the result is
    the one `paired_bootstrap_set` gives for the sample that repeats pair i ``counts[i]`` times, whatever
    the order of the pairs. Only the named statistics (they have a counted form).

    Raises:
        InvalidArgumentError: pairs is not an (m, 2) array, counts not m whole numbers >= 0, or all zero.
        NonFiniteValueError: a pair holds NaN or infinity.
        As `paired_bootstrap` for the other arguments.
    """
    import numpy as np

    arr = np.asarray(pairs, dtype=np.float64)
    cnt = np.asarray(counts)
    if arr.ndim != 2 or arr.shape[1] != 2 or cnt.shape != (arr.shape[0],):
        raise InvalidArgumentError(
            "pairs", f"has shape {arr.shape} for counts of shape {cnt.shape}", "pass (m, 2) pairs, m counts"
        )
    if cnt.size and (not np.issubdtype(cnt.dtype, np.integer) or int(cnt.min()) < 0):
        raise InvalidArgumentError(
            "counts", "holds a negative or fractional count", "pass whole numbers >= 0"
        )
    if not bool(np.isfinite(arr).all()):
        raise NonFiniteValueError("pairs", "hold NaN or infinity", "pass finite numbers")
    keep = cnt > 0
    arr, cnt = arr[keep], cnt[keep].astype(np.int64)
    if not cnt.size:
        raise InvalidArgumentError("counts", "are all zero", "pass at least one paired observation")
    distinct, inverse = np.unique(arr, axis=0, return_inverse=True)
    merged = np.bincount(inverse.reshape(-1), weights=cnt, minlength=len(distinct)).astype(np.int64)
    return _bootstrap_counts(distinct, merged, specs, n_resamples, confidence, seed)


def paired_bootstrap(
    base: ArrayLike,
    cand: ArrayLike,
    *,
    statistic: StatisticName | StatisticFn = "mean",
    n_resamples: int = 2000,
    confidence: float = 0.95,
    seed: int,
) -> BootstrapEstimate:
    """stat(cand) − stat(base) over paired samples, with a percentile bootstrap interval.

    Requests are resampled with replacement, the same indices for both versions, ``n_resamples``
    times; the interval is the (α/2, 1 − α/2) quantiles of the resampled differences (α = 1 −
    confidence), by `quantile`'s definition. Percentile rather than BCa: when most paired differences
    are zero, BCa's bias and acceleration estimates degenerate. The interval is not widened to contain
    the estimate; for the four named statistics it does (a property test checks it). The same seed gives
    the same result, independent of how the resamples are blocked in memory.

    Args:
        base: One number per request (cost, latency, ...) for the base version.
        cand: The same for the candidate, aligned with ``base``.
        statistic: ``mean``, ``sum``, ``p50``, ``p95``, or a callable mapping a (rows, n) array to (rows,).
        n_resamples: Number of bootstrap resamples, >= 1.
        confidence: Confidence level, strictly between 0 and 1.
        seed: Seed for ``numpy.random.SeedSequence`` (a stream per chunk of resamples), recorded.

    Returns:
        A `BootstrapEstimate` with ``scale="absolute"``.

    Raises:
        EmptySampleError, NonFiniteValueError, LengthMismatchError: Bad samples.
        UnknownOptionError: ``statistic`` is an unknown name.
        InvalidCountError, InvalidConfidenceError: Bad ``n_resamples``, ``seed`` or ``confidence``.
    """
    return _bootstrap(base, cand, statistic, n_resamples, confidence, seed, "absolute")


def paired_bootstrap_pct(
    base: ArrayLike,
    cand: ArrayLike,
    *,
    statistic: StatisticName | StatisticFn = "mean",
    n_resamples: int = 2000,
    confidence: float = 0.95,
    seed: int,
) -> BootstrapEstimate:
    """Percent change 100 · (stat(cand) − stat(base)) / stat(base) (``delta_pct``), paired bootstrap interval.

    Same resampling as `paired_bootstrap` (the same seed draws the same indices). Meant for positive
    quantities such as cost and latency. A resample whose base statistic is 0 counts as a 0 % change if
    the candidate's is 0 too, else as ±infinity, so an interval end may be infinite: the data cannot
    bound the relative change.

    Args:
        base: One number per request for the base version.
        cand: The same for the candidate, aligned with ``base``.
        statistic: ``mean``, ``sum``, ``p50``, ``p95``, or a callable mapping a (rows, n) array to (rows,).
        n_resamples: Number of bootstrap resamples, >= 1.
        confidence: Confidence level, strictly between 0 and 1.
        seed: Seed for ``numpy.random.SeedSequence`` (a stream per chunk of resamples), recorded.

    Returns:
        A `BootstrapEstimate` with ``scale="percent"``; ``value`` is in percent.

    Raises:
        ZeroBaselineError: The base statistic is 0 and the candidate's is not.
        EmptySampleError, NonFiniteValueError, LengthMismatchError, UnknownOptionError, InvalidCountError,
            InvalidConfidenceError: As for `paired_bootstrap`.
    """
    return _bootstrap(base, cand, statistic, n_resamples, confidence, seed, "percent")
