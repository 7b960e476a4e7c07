"""Off-policy estimates from logs: hand-computed IPS, SNIPS and DR, unbiasedness, ESS, support, seeds."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from routelab.evaluators import offpolicy
from routelab.evaluators.frames import FrameError
from routelab.evaluators.offpolicy import off_policy

ACTIONS = ("A", "B", "C")
#: The simulated logging policy: P(action | segment), rows = segments 0 and 1.
LOGGING = np.array([[0.6, 0.3, 0.1], [0.2, 0.2, 0.6]])
#: Mean quality of each (segment, action).
MEAN = np.array([[0.9, 0.5, 0.2], [0.3, 0.7, 0.4]])
#: The candidate: B in segment 0, A in segment 1.
CANDIDATE = np.array([1, 0])
TRUTH = 0.5 * MEAN[0, 1] + 0.5 * MEAN[1, 0]  # segments are equally likely


def make_logs(
    rows: list[tuple[str, float, float, str | None]], **columns: list[Any]
) -> tuple[pd.DataFrame, ...]:
    """Logged and candidate frames from (logged model, propensity, quality, candidate model) rows."""
    ids = [f"r{i}" for i in range(len(rows))]
    logged = pd.DataFrame(
        {
            "request_id": ids,
            "model": [r[0] for r in rows],
            "propensity": [r[1] for r in rows],
            "quality": [r[2] for r in rows],
            **columns,
        }
    )
    return logged, pd.DataFrame({"request_id": ids, "model": [r[3] for r in rows]})


def simulate(seed: int, n: int, noisy: bool = True) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Logs of the known logging policy, the candidate's choices and a perfect direct model (every action)."""
    rng = np.random.default_rng(seed)
    segment = rng.integers(0, 2, size=n)
    cum = LOGGING[segment].cumsum(axis=1)
    action = (rng.random(n)[:, None] > cum).sum(axis=1)
    mean = MEAN[segment, action]
    quality = (rng.random(n) < mean).astype(float) if noisy else mean
    ids = [f"s{i}" for i in range(n)]
    logged = pd.DataFrame(
        {
            "request_id": ids,
            "model": np.array(ACTIONS)[action],
            "propensity": LOGGING[segment, action],
            "quality": quality,
            "segment": segment,
        }
    )
    candidate = pd.DataFrame({"request_id": ids, "model": np.array(ACTIONS)[CANDIDATE[segment]]})
    perfect = pd.DataFrame(
        {
            "request_id": np.repeat(ids, len(ACTIONS)),
            "model": np.tile(ACTIONS, n),
            "quality": MEAN[np.repeat(segment, len(ACTIONS)), np.tile(np.arange(len(ACTIONS)), n)],
        }
    )
    return logged, candidate, perfect


HAND = [("A", 0.5, 0.0, "A"), ("B", 0.25, 0.0, "A"), ("A", 0.8, 0.0, "B"), ("B", 0.25, 1.0, "B")]


def test_hand_computed_ips_snips_dr() -> None:
    logged, candidate = make_logs(HAND)
    direct = pd.DataFrame({"request_id": [f"r{i}" for i in range(4) for _ in "AB"], "model": list("AB") * 4})
    direct["quality"] = direct["model"].map({"A": 0.5, "B": 0.25})
    result = off_policy(logged, candidate, metrics=("quality",), direct=direct, n_resamples=200)
    # weights 1[π = a] / p = 2, 0, 0, 4
    est = result.estimates["quality"]
    assert est["ips"].value == pytest.approx((2 * 0 + 4 * 1) / 4)
    assert est["snips"].value == pytest.approx(4 / 6)
    # r̂(π) + w (r − r̂(a)) per row: 0.5 + 2(0 − 0.5), 0.5, 0.25, 0.25 + 4(1 − 0.25)
    assert est["dr"].value == pytest.approx((-0.5 + 0.5 + 0.25 + 3.25) / 4)
    assert result.n == 4
    assert result.n_matched == 2
    assert result.ess == pytest.approx(6**2 / (2**2 + 4**2))
    assert result.logged_value == {"quality": 0.25}
    assert result.params.direct


def test_default_direct_model_is_the_action_mean_without_features() -> None:
    logged, candidate = make_logs(HAND)
    # r̂(A) = mean of the logged A rows = 0, r̂(B) = 0.5: rows 0 + 0, 0, 0.5, 0.5 + 4(1 − 0.5)
    result = off_policy(logged, candidate, metrics=("quality",), n_resamples=50)
    assert result.estimates["quality"]["dr"].value == pytest.approx((0 + 0 + 0.5 + 2.5) / 4)


@pytest.mark.parametrize(("prior_rows", "dr"), [(0, 1 / 3), (2, 4 / 9)], ids=["raw-cells", "shrunk-cells"])
def test_cell_means_shrink_towards_the_action_mean(prior_rows: int, dr: float) -> None:
    rows = [("A", 0.5, 1.0, "B"), ("A", 0.5, 1.0, "B"), ("A", 0.5, 0.0, "B"), ("B", 0.5, 0.0, "B")]
    rows += [("A", 0.5, 0.0, "B"), ("B", 0.5, 1.0, "B")]
    logged, candidate = make_logs(rows, cell=["u"] * 4 + ["v"] * 2)
    result = off_policy(logged, candidate, metrics=("quality",), features=("cell",), prior_rows=prior_rows)
    # m_B = 0.5; r̂(u, B) = (0 + k·0.5) / (1 + k), r̂(v, B) = (1 + k·0.5) / (1 + k); only the B rows match
    assert result.estimates["quality"]["dr"].value == pytest.approx(dr)
    assert result.estimates["quality"]["ips"].value == pytest.approx((2 * 0 + 2 * 1) / 6)
    assert result.params.prior_rows == prior_rows


def test_an_action_never_logged_gets_the_global_mean_and_a_support_warning() -> None:
    logged, candidate = make_logs([("A", 0.5, 1.0, "Z"), ("A", 0.5, 0.0, "Z"), ("B", 0.5, 1.0, None)])
    result = off_policy(logged, candidate, metrics=("quality",), n_resamples=50)
    est = result.estimates["quality"]
    assert est["dr"].value == pytest.approx(2 / 3)
    assert est["ips"].value == 0
    assert est["snips"].value is None
    assert (est["snips"].ci_low, est["snips"].ci_high) == (0.0, 1.0)  # a weighted mean of r lies in r's range
    assert result.n_unsupported == 3
    assert result.support_share == 0
    assert result.ess == 0
    text = " ".join(result.warnings)
    assert "no logged support for 3 of 3 requests" in text
    assert "Z (2)" in text
    assert "(blocked) (1)" in text
    assert "never picks the logged model" in text


def test_support_is_judged_per_feature_cell() -> None:
    rows = [("A", 0.5, 1.0, "A"), ("B", 0.5, 0.0, "B"), ("A", 0.5, 1.0, "B"), ("A", 0.5, 0.0, "A")]
    logged, candidate = make_logs(rows, workflow=["x", "x", "y", "y"])
    with_cells = off_policy(logged, candidate, metrics=("quality",), features=("workflow",), n_resamples=20)
    assert with_cells.n_unsupported == 1
    assert with_cells.support_share == pytest.approx(0.75)
    assert "B in y (1)" in " ".join(with_cells.warnings)
    assert "workflow cell" in " ".join(with_cells.warnings)
    overall = off_policy(logged, candidate, metrics=("quality",), n_resamples=20)
    assert overall.n_unsupported == 0  # B is logged somewhere
    assert overall.support_share == 1


def test_ess_equals_n_when_every_weight_is_equal() -> None:
    rng = np.random.default_rng(3)
    rows = [("A", 0.5, float(q), "A") for q in rng.integers(0, 2, size=40)]
    logged, candidate = make_logs(rows)
    result = off_policy(logged, candidate, metrics=("quality",), n_resamples=100)
    assert result.ess == pytest.approx(40)
    assert result.n_matched == 40
    assert result.estimates["quality"]["snips"].value == pytest.approx(result.logged_value["quality"])
    assert result.estimates["quality"]["ips"].value == pytest.approx(2 * result.logged_value["quality"])
    assert result.warnings == []


def test_ips_and_dr_are_unbiased_over_many_simulations() -> None:
    estimates: dict[str, list[float | None]] = {"ips": [], "snips": [], "dr": []}
    for seed in range(200):
        logged, candidate, perfect = simulate(seed, 200)
        bad = perfect.assign(quality=0.9)  # a wrong direct model: DR's correction term must undo it
        result = off_policy(logged, candidate, metrics=("quality",), direct=bad, n_resamples=1)
        for name in offpolicy.ESTIMATORS:
            estimates[name].append(result.estimates["quality"][name].value)
    for values in estimates.values():  # SNIPS's bias is O(1/n), far below the tolerance
        arr = np.array(values, dtype=float)
        assert abs(arr.mean() - TRUTH) < 4 * arr.std(ddof=1) / np.sqrt(arr.size)


def test_dr_with_a_perfect_direct_model_has_no_correction_variance() -> None:
    spread_ips, spread_dr = [], []
    for seed in range(20):
        logged, candidate, perfect = simulate(seed, 300, noisy=False)
        result = off_policy(logged, candidate, metrics=("quality",), direct=perfect, n_resamples=1)
        direct_method = MEAN[logged["segment"], CANDIDATE[logged["segment"]]].mean()
        # r − r̂(x, a) = 0 on every row, so DR is exactly the direct method's mean r̂(x, π(x))
        assert result.estimates["quality"]["dr"].value == pytest.approx(direct_method, abs=1e-12)
        spread_ips.append(result.estimates["quality"]["ips"].value)
        spread_dr.append(result.estimates["quality"]["dr"].value)
    assert np.std(spread_dr) < np.std(spread_ips)


@pytest.mark.parametrize("seed", range(5))
def test_every_interval_contains_its_estimate(seed: int) -> None:
    logged, candidate, _ = simulate(100 + seed, 300)
    logged["cost_usd"] = np.random.default_rng(seed).gamma(2.0, 0.01, size=len(logged))
    result = off_policy(logged, candidate, features=("segment",), seed=seed, n_resamples=400)
    for metric, by_estimator in result.estimates.items():
        for name, est in by_estimator.items():
            assert est.value is not None
            assert est.ci_low <= est.value <= est.ci_high, (metric, name)
            assert est.method == "bootstrap-percentile"


def test_the_seed_reproduces_the_result_whatever_the_block_size(monkeypatch: pytest.MonkeyPatch) -> None:
    logged, candidate, _ = simulate(5, 250)
    first = off_policy(logged, candidate, metrics=("quality",), seed=11, n_resamples=300)
    monkeypatch.setattr(offpolicy, "_BLOCK_ELEMENTS", 1000)  # four resamples per block
    assert off_policy(logged, candidate, metrics=("quality",), seed=11, n_resamples=300) == first
    other = off_policy(logged, candidate, metrics=("quality",), seed=12, n_resamples=300)
    assert other.estimates["quality"]["ips"].ci_low != first.estimates["quality"]["ips"].ci_low
    assert (first.params.seed, first.params.n_resamples) == (11, 300)


def test_missing_direct_predictions_fall_back_to_the_cell_means() -> None:
    logged, candidate = make_logs(HAND)
    direct = pd.DataFrame({"request_id": ["r0", "r0"], "model": ["A", "B"], "quality": [0.5, 0.25]})
    result = off_policy(logged, candidate, metrics=("quality",), direct=direct, n_resamples=20)
    assert "direct: 6 of 8 predictions missing" in " ".join(result.warnings)
    # row 0 uses the given 0.5 (r̂(π) and r̂(a)): 0.5 + 2(0 − 0.5); the rest as in the default model
    assert result.estimates["quality"]["dr"].value == pytest.approx((-0.5 + 0 + 0.5 + 2.5) / 4)


def test_requests_in_one_frame_only_are_left_out_and_counted() -> None:
    logged, candidate = make_logs(HAND)
    result = off_policy(logged.iloc[1:], candidate.iloc[:3].assign(router="acme@2"), metrics=("quality",))
    assert (result.n, result.n_dropped_logged, result.n_dropped_candidate) == (2, 1, 1)
    assert result.params.candidate == "acme@2"
    assert "left out 1 logged request" in result.warnings[0]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.drop(columns="propensity"), "missing column(s) propensity"),
        (lambda f: f.assign(propensity=0.0), "propensity must lie in (0, 1]"),
        (lambda f: f.assign(quality=[1.0, None, 0.0, 1.0]), "quality is missing or not a finite number"),
        (lambda f: f.assign(kind="full"), "kind other than 'logged'"),
        (lambda f: f.assign(request_id="r0"), "request_id must be unique"),
    ],
    ids=["no-propensity", "zero-propensity", "missing-metric", "full-outcomes", "repeated-request"],
)
def test_bad_logs_are_rejected_with_the_reason(change: Any, message: str) -> None:
    logged, candidate = make_logs(HAND)
    with pytest.raises(FrameError, match=message.replace("(", r"\(").replace(")", r"\)").replace("]", r"\]")):
        off_policy(change(logged), candidate, metrics=("quality",))


def test_result_round_trips_through_json() -> None:
    logged, candidate, _ = simulate(1, 100)
    result = off_policy(logged, candidate, metrics=("quality",), n_resamples=50)
    assert type(result).model_validate_json(result.model_dump_json()) == result
    assert result.evaluator == "ope"
