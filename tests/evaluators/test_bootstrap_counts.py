"""Resampling distinct pairs by multinomial counts equals resampling requests by index."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from routelab.evaluators import bootstrap
from routelab.evaluators.bootstrap import paired_bootstrap


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=6),
    data=st.data(),
)
def test_counted_statistics_equal_the_expanded_sample(values: list[float], data: st.DataObject) -> None:
    counts = data.draw(st.lists(st.integers(0, 9), min_size=len(values), max_size=len(values)))
    if sum(counts) == 0:
        counts[0] = 1
    vals, weights = np.array(values), np.array([counts])
    expanded = np.repeat(vals, counts)
    n = len(expanded)
    for name, expected in (
        ("sum", expanded.sum()),
        ("mean", expanded.mean()),
        ("p50", np.quantile(expanded, 0.5)),
        ("p95", np.quantile(expanded, 0.95)),
    ):
        got = bootstrap._weighted_stat(vals, weights, name, n)[0]
        assert got == pytest.approx(expected, rel=1e-9, abs=1e-6), name


@pytest.mark.parametrize("statistic", ["sum", "mean", "p50", "p95"])
def test_counts_and_rows_give_the_same_interval_up_to_resampling_noise(
    statistic: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(0)
    base = rng.choice([1.0, 2.0, 3.5, 10.0], size=4000)
    cand = np.where(rng.random(4000) < 0.3, rng.choice([0.5, 2.0], size=4000), base)
    by_counts = paired_bootstrap(base, cand, statistic=statistic, seed=1, n_resamples=3000)  # type: ignore[arg-type]
    monkeypatch.setattr(bootstrap, "_COMPRESS_RATIO", 10**12)  # force index resampling
    by_rows = paired_bootstrap(base, cand, statistic=statistic, seed=1, n_resamples=3000)  # type: ignore[arg-type]
    width = max(by_rows.ci_high - by_rows.ci_low, 1e-9)
    assert by_counts.value == by_rows.value
    assert abs(by_counts.ci_low - by_rows.ci_low) <= 0.1 * width + 1e-9
    assert abs(by_counts.ci_high - by_rows.ci_high) <= 0.1 * width + 1e-9


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 300),
    distinct=st.integers(1, 12),
    seed=st.integers(0, 2**31),
    zero_base=st.booleans(),
)
def test_one_set_of_draws_equals_separate_calls(n: int, distinct: int, seed: int, zero_base: bool) -> None:
    """`paired_bootstrap_set` gives element for element what separate calls with the same seed give."""
    rng = np.random.default_rng(seed)
    base = np.zeros(n) if zero_base else rng.integers(0, distinct, n).astype(float)
    cand = rng.integers(0, distinct, n).astype(float) + 0.5
    specs = [("sum", "absolute"), ("sum", "percent"), ("p50", "absolute"), ("p95", "absolute")]
    got = bootstrap.paired_bootstrap_set(base, cand, specs, n_resamples=200, seed=seed)
    for (statistic, scale), one in zip(specs, got, strict=True):
        call = bootstrap.paired_bootstrap if scale == "absolute" else bootstrap.paired_bootstrap_pct
        if isinstance(one, bootstrap.ZeroBaselineError):
            with pytest.raises(bootstrap.ZeroBaselineError, match="percent change is undefined"):
                call(base, cand, statistic=statistic, n_resamples=200, seed=seed)  # type: ignore[arg-type]
            continue
        expected = call(base, cand, statistic=statistic, n_resamples=200, seed=seed)  # type: ignore[arg-type]
        assert one == expected, (statistic, scale)
