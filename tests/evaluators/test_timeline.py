"""The drift timeline: hand-computed periods, sources, absent columns, ISO calendar labels, properties.

Expected numbers come from the formulas (Wilson's closed form, type-7 quantiles, the t quantile for 2
degrees of freedom), never from the functions under test.
"""

from __future__ import annotations

import math
from datetime import datetime
from statistics import NormalDist
from typing import Any

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from routelab.evaluators.errors import EvaluatorError, UnknownOptionError
from routelab.evaluators.frames import FrameError
from routelab.evaluators.timeline import timeline

Z = NormalDist().inv_cdf(0.975)
FLAGS = ("correct", "error", "logged_fallback", "logged_cache_hit")


def make_row(ts: str | None, model: str = "s1", **fields: Any) -> dict[str, Any]:
    """A drift-frame row: defaults for every column, overridden by `fields`."""
    row: dict[str, Any] = {
        "request_id": f"q{ts}{model}{len(fields)}",
        "ts": ts,
        "model": model,
        "tier": "small" if model.startswith("s") else "medium",
        "retrieval": "none",
        "cache": "bypass",
        "escalation": "none",
        "action": "allow",
        "confidence": 0.5,
        "est_cost_usd": 1.0,
        "est_latency_ms": 100.0,
        "cost_usd": None,
        "latency_ms": None,
        "quality": None,
        "logged_cost_usd": None,
        "logged_latency_ms": None,
        "router": "acme@1",
        **dict.fromkeys(FLAGS),
    }
    row.update(fields)
    row["path"] = "|".join(
        str(row[c]) for c in ("model", "tier", "retrieval", "cache", "escalation", "action")
    )
    return row


def make_frame(*rows: dict[str, Any], drop: tuple[str, ...] = ()) -> pd.DataFrame:
    """A drift frame with the store's dtypes (naive ts, nullable booleans, floats)."""
    frame = pd.DataFrame(rows).drop(columns=list(drop))
    if "ts" in frame.columns:
        frame["ts"] = pd.to_datetime(frame["ts"])
    for col in frame.columns.intersection([*FLAGS]):
        frame[col] = frame[col].astype("boolean")
    floats = ["cost_usd", "latency_ms", "quality", "logged_cost_usd", "logged_latency_ms"]
    return frame.astype({c: "float64" for c in frame.columns.intersection(floats)})


def wilson_by_hand(k: int, n: int) -> tuple[float, float]:
    """Wilson's closed form at 95 %."""
    centre = (k + Z * Z / 2) / (n + Z * Z)
    half = Z / (n + Z * Z) * math.sqrt(k * (n - k) / n + Z * Z / 4)
    return centre - half, centre + half


def test_a_week_shares_cost_and_latency_from_estimates() -> None:
    lat = (100.0, 200.0, 300.0, 400.0)
    rows = [
        make_row(f"2026-09-{7 + i:02d} 10:00", "m1" if i == 3 else "s1", est_latency_ms=x)
        for i, x in enumerate(lat)
    ]
    rows += [make_row("2026-09-14 00:00", est_cost_usd=3.0), make_row("2026-09-20 23:59", est_cost_usd=5.0)]
    result = timeline(make_frame(*rows), components=("model", "path"))
    first, second = result.periods
    assert (result.period, result.router, result.n, result.n_undated) == ("week", "acme@1", 6, 0)
    assert (first.label, first.start, first.n) == ("2026-W37", datetime(2026, 9, 7), 4)
    assert (second.label, second.start, second.n) == ("2026-W38", datetime(2026, 9, 14), 2)
    assert list(first.route_shares["model"].items()) == [("s1", 0.75), ("m1", 0.25)]
    assert first.route_shares["path"]["s1|small|none|bypass|none|allow"] == 0.75
    assert (first.cost_per_request, first.cost_source, first.cost_per_1k_usd) == (1.0, "estimate", 1000.0)
    assert second.cost_per_request == 4.0
    # type 7: h = 3 · q; p50 = 200 + 0.5 · 100, p95 = 300 + 0.85 · 100
    assert first.latency_p50_ms == pytest.approx(250.0)
    assert first.latency_p95_ms == pytest.approx(385.0)
    assert first.latency_source == "estimate"
    assert first.mean_confidence == 0.5


def test_outcomes_replace_estimates_for_the_whole_frame() -> None:
    rows = [
        make_row("2026-09-07", cost_usd=2.0, latency_ms=50.0),
        make_row("2026-09-08", cost_usd=4.0, latency_ms=70.0),
        make_row("2026-09-09"),  # no outcome: left out of the mean, not replaced by its estimate
        make_row("2026-09-14"),  # a week without outcomes has no value rather than a switched source
    ]
    first, second = timeline(make_frame(*rows)).periods
    assert (first.cost_per_request, first.cost_source) == (3.0, "outcomes")
    assert (first.latency_p50_ms, first.latency_source) == (60.0, "outcomes")
    assert (second.cost_per_request, second.cost_source, second.cost_per_1k_usd) == (None, None, None)
    assert (second.latency_p95_ms, second.latency_source) == (None, None)


@pytest.mark.parametrize("absent", [True, False], ids=["columns-absent", "columns-all-missing"])
def test_missing_outcome_and_log_columns_give_none(absent: bool) -> None:
    cols = ("cost_usd", "latency_ms", "quality", "logged_cost_usd", "logged_latency_ms", *FLAGS)
    frame = make_frame(make_row("2026-09-07"), make_row("2026-09-08"), drop=cols if absent else ())
    (p,) = timeline(frame).periods
    assert (p.quality, p.error_rate, p.fallback_rate, p.cache_hit_rate) == (None, None, None, None)
    assert (p.production_cost_per_request, p.production_latency_p95_ms) == (None, None)
    assert (p.accuracy.value, p.accuracy.n, p.labelled) == (None, 0, 0)
    assert p.cost_source == "estimate"


def test_rates_are_wilson_over_the_known_flags() -> None:
    flags = [(True, True, None), (False, True, True), (True, False, None), (None, None, None)]
    rows = [
        make_row(f"2026-09-{7 + i:02d}", logged_fallback=f, correct=c, error=e, logged_cost_usd=float(i))
        for i, (f, c, e) in enumerate(flags)
    ]
    (p,) = timeline(make_frame(*rows)).periods
    for est, k, n in ((p.fallback_rate, 2, 3), (p.accuracy, 2, 3), (p.error_rate, 1, 1)):
        assert est is not None
        assert (est.value, est.n, est.method) == (k / n, n, "wilson")
        assert (est.ci_low, est.ci_high) == pytest.approx(wilson_by_hand(k, n))
    assert p.labelled == 3
    assert p.cache_hit_rate is None
    assert p.production_cost_per_request == 1.5


def test_quality_is_wilson_for_0_1_values_and_a_t_interval_otherwise() -> None:
    binary = timeline(make_frame(*(make_row("2026-09-07", quality=q) for q in (1.0, 0.0, 1.0)))).periods[0]
    assert binary.quality is not None
    assert (binary.quality.value, binary.quality.method) == (pytest.approx(2 / 3), "wilson")
    scores = timeline(make_frame(*(make_row("2026-09-07", quality=q) for q in (6.0, 8.0, 10.0)))).periods[0]
    assert scores.quality is not None
    # mean 8, s = 2, n = 3; for 2 degrees of freedom t_p = (2p − 1) / sqrt(2p(1 − p)) at p = 0.975
    t = 0.95 / math.sqrt(2 * 0.975 * 0.025)
    half = t * 2 / math.sqrt(3)
    assert (scores.quality.value, scores.quality.method, scores.quality.n) == (8.0, "t", 3)
    assert (scores.quality.ci_low, scores.quality.ci_high) == pytest.approx((8 - half, 8 + half))


def test_undated_rows_are_left_out_and_counted() -> None:
    frame = make_frame(make_row("2026-09-07"), make_row(None), make_row(None, "m1"))
    result = timeline(frame)
    assert (result.n, result.n_undated, [p.n for p in result.periods]) == (1, 2, [1])
    assert result.periods[0].route_shares["model"] == {"s1": 1.0}


def test_labels_across_the_iso_year_boundary() -> None:
    stamps = ("2026-12-31 08:00", "2027-01-01 12:00", "2027-01-03 23:59", "2027-01-04 00:00")
    frame = make_frame(*(make_row(s) for s in stamps))
    weeks = timeline(frame).periods
    assert [(p.label, p.start, p.n) for p in weeks] == [
        ("2026-W53", datetime(2026, 12, 28), 3),
        ("2027-W01", datetime(2027, 1, 4), 1),
    ]
    days = timeline(frame, period="day").periods
    assert [p.label for p in days] == ["2026-12-31", "2027-01-01", "2027-01-03", "2027-01-04"]
    assert days[0].start == datetime(2026, 12, 31)


def test_aware_timestamps_are_read_in_utc() -> None:
    frame = make_frame(make_row("2026-09-07"))
    frame["ts"] = pd.Series([pd.Timestamp("2026-09-13 23:30", tz="America/Sao_Paulo")])
    (p,) = timeline(frame, period="day").periods
    assert p.label == "2026-09-14"


def test_missing_component_values_and_columns() -> None:
    frame = make_frame(make_row("2026-09-07"), make_row("2026-09-07"), drop=("escalation",))
    frame["retrieval"] = pd.Series(["web", None], dtype=object)
    (p,) = timeline(frame).periods
    assert p.route_shares["retrieval"] == {"(missing)": 0.5, "web": 0.5}  # ties by value
    assert p.route_shares["escalation"] == {}


def test_router_is_none_unless_single() -> None:
    frame = make_frame(make_row("2026-09-07"), make_row("2026-09-08", router="acme@2"))
    assert timeline(frame).router is None
    assert timeline(frame.drop(columns="router")).router is None


def test_frame_and_shares_frame() -> None:
    rows = [make_row("2026-09-07", logged_fallback=True), make_row("2026-09-14", "m1", correct=True)]
    result = timeline(make_frame(*rows), components=("model", "tier"))
    flat = result.frame()
    assert flat.shape[0] == 2
    assert flat["label"].tolist() == ["2026-W37", "2026-W38"]
    expected = ["start", "n", "cost_per_request", "latency_p95_ms", "fallback_rate", "fallback_low"]
    expected += ["fallback_high", "cache_hit_rate", "accuracy", "accuracy_low", "accuracy_high", "labelled"]
    assert set(expected) <= set(flat.columns)
    assert flat["fallback_rate"].iloc[0] == 1.0
    assert math.isnan(flat["fallback_rate"].iloc[1])  # no known flag that week: NaN, not the (0, 1) range
    assert math.isnan(flat["accuracy_low"].iloc[0])
    assert flat["accuracy_low"].iloc[1] == pytest.approx(wilson_by_hand(1, 1)[0])
    assert flat["n"].dtype == "int64"
    assert pd.api.types.is_datetime64_any_dtype(flat["start"])
    shares = result.shares_frame("model")
    assert shares.to_dict("records") == [
        {"label": "2026-W37", "value": "s1", "share": 1.0},
        {"label": "2026-W38", "value": "m1", "share": 1.0},
    ]
    with pytest.raises(UnknownOptionError, match="model, tier"):
        result.shares_frame("cache")
    empty = timeline(make_frame(make_row(None)))
    assert empty.frame().shape == (0, flat.shape[1])
    assert list(empty.shares_frame("model").columns) == ["label", "value", "share"]


@pytest.mark.parametrize(
    ("kwargs", "drop", "error", "match"),
    [
        ({"components": ("model", "modle")}, (), UnknownOptionError, "'modle'.*model, tier, retrieval"),
        ({"period": "month"}, (), UnknownOptionError, "period.*week, day"),
        ({"confidence": 1.5}, (), EvaluatorError, "confidence"),
        ({}, ("ts",), FrameError, "missing column.*ts"),
    ],
    ids=["unknown-component", "unknown-period", "bad-confidence", "no-ts"],
)
def test_bad_arguments_raise(kwargs: dict[str, Any], drop: tuple[str, ...], error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        timeline(make_frame(make_row("2026-09-07"), drop=drop), **kwargs)


def test_a_flag_column_with_other_values_is_rejected() -> None:
    frame = make_frame(make_row("2026-09-07"))
    frame["logged_fallback"] = 2.0
    with pytest.raises(FrameError, match="logged_fallback"):
        timeline(frame)


def test_input_is_not_mutated() -> None:
    frame = make_frame(make_row("2026-09-07", cost_usd=1.0), make_row(None, correct=True))
    before = frame.copy(deep=True)
    timeline(frame, period="day", components=("model", "path"))
    pd.testing.assert_frame_equal(frame, before)


@given(
    st.lists(
        st.tuples(
            st.integers(0, 20), st.sampled_from(["s1", "m1", None]), st.sampled_from([True, False, None])
        ),
        min_size=1,
        max_size=40,
    ),
    st.sampled_from(["week", "day"]),
)
def test_shares_sum_to_one_and_intervals_hold_their_values(
    draws: list[tuple[int, str | None, bool | None]], period: str
) -> None:
    rows = [
        make_row(f"2026-12-{20 + d:02d}" if d < 12 else f"2027-01-{d - 11:02d}", correct=c)
        for d, _, c in draws
    ]
    frame = make_frame(*rows)
    frame["model"] = pd.Series([m for _, m, _ in draws], dtype=object)
    result = timeline(frame, period=period)  # type: ignore[arg-type]
    assert sum(p.n for p in result.periods) == result.n == len(draws)
    assert [p.start for p in result.periods] == sorted(p.start for p in result.periods)
    for p in result.periods:
        for shares in p.route_shares.values():
            assert sum(shares.values()) == pytest.approx(1.0)
            assert list(shares.values()) == sorted(shares.values(), reverse=True)
        if p.accuracy.value is not None:
            assert p.accuracy.ci_low <= p.accuracy.value <= p.accuracy.ci_high
