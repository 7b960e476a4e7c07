"""Inter-annotator agreement: published and hand-computed kappa/alpha, the value rule, per-annotator stats."""

from __future__ import annotations

import json
from collections.abc import Hashable
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from routelab.evaluators.agreement import agreement, alpha_band, cohen_kappa, kappa_band, krippendorff_alpha
from routelab.evaluators.errors import EmptySampleError, InvalidArgumentError, LengthMismatchError
from routelab.evaluators.frames import FrameError

T0 = datetime(2026, 9, 7, 9, 0)
PATH: dict[str, Any] = {
    "model": "gpt-4o",
    "retrieval": None,
    "context_tokens": 8000,
    "cache": "bypass",
    "escalation": "none",
    "fallbacks": [],
    "action": "allow",
}

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", example C: 4 observers, 12 units,
# nominal values 1..5, None = missing. Published: alpha_nominal = 0.743 (unit 12 has one value: not pairable).
KRIPPENDORFF_2011 = {
    "A": [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    "B": [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    "C": [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    "D": [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
}


def make_annotation(
    request_id: str,
    annotator: str,
    verdict: str,
    *,
    kind: str = "judgement",
    corrected: dict[str, Any] | None = None,
    router: str = "acme@1",
    time_spent_s: float | None = None,
    minute: int = 0,
) -> dict[str, Any]:
    """An `annotations_current` row."""
    return {
        "request_id": request_id,
        "router": router,
        "annotator": annotator,
        "kind": kind,
        "verdict": verdict,
        "decision_path": json.dumps(PATH),
        "corrected": json.dumps(corrected) if corrected else None,
        "time_spent_s": time_spent_s,
        "created_at": T0 + timedelta(minutes=minute),
    }


def annotations_frame(*rows: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=list(make_annotation("x", "a", "correct")))


# --- the statistics -----------------------------------------------------------------------------------------


def test_krippendorff_published_example_gives_0_743() -> None:
    units = {
        u: {coder: values[u] for coder, values in KRIPPENDORFF_2011.items() if values[u] is not None}
        for u in range(12)
    }
    result = krippendorff_alpha(units)
    assert round(result.alpha or 0, 3) == 0.743
    assert (result.n_units, result.n_values, result.band) == (11, 40, "tentative")


def test_two_coders_without_missing_values_hand_computed() -> None:
    # A: a a b b, B: a b b b. kappa: p_o 3/4, p_e (2·1 + 2·3)/16 = 1/2 → 1/2. Scott's pi pools the
    # marginals: p_e = (3² + 5²)/64 → pi = 7/15; alpha = 1 − (1 − pi)(2N − 1)/(2N) = 8/15 for N = 4 units.
    a, b = list("aabb"), list("abbb")
    kappa = cohen_kappa(a, b)
    assert (kappa.kappa, kappa.observed, kappa.expected, kappa.n) == (0.5, 0.75, 0.5, 4)
    alpha = krippendorff_alpha({i: {"A": x, "B": y} for i, (x, y) in enumerate(zip(a, b, strict=True))})
    assert alpha.alpha == pytest.approx(8 / 15)
    assert alpha.alpha == pytest.approx(1 - (1 - 7 / 15) * 7 / 8)


def test_kappa_classic_two_by_two_table() -> None:
    # a=20 (both yes), b=5 (first only), c=10 (second only), d=15 (neither): p_o 0.7, p_e 0.5.
    first = ["yes"] * 25 + ["no"] * 25
    second = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
    result = cohen_kappa(first, second)
    assert (result.observed, result.expected, result.n, result.band) == (0.7, 0.5, 50, "fair")
    assert result.kappa == pytest.approx(0.4)


def test_kappa_perfect_independent_and_undefined() -> None:
    assert cohen_kappa(list("abcab"), list("abcab")).kappa == 1
    # marginals 1/2 each, every combination once: p_o = p_e = 1/2
    assert cohen_kappa(list("aabb"), list("abab")).kappa == 0
    undefined = cohen_kappa(["x"] * 3, ["x"] * 3)
    assert (undefined.kappa, undefined.expected, undefined.band) == (None, 1.0, "n/a")
    assert "p_e = 1" in (undefined.note or "")


def test_kappa_rejects_bad_input() -> None:
    with pytest.raises(LengthMismatchError):
        cohen_kappa(["a"], ["a", "b"])
    with pytest.raises(EmptySampleError):
        cohen_kappa([], [])
    with pytest.raises(InvalidArgumentError, match="missing value"):
        cohen_kappa(["a", float("nan")], ["a", "b"])


def test_alpha_undefined_without_pairs_or_variation() -> None:
    assert krippendorff_alpha({1: {"A": "x"}, 2: {"B": "y"}}).band == "n/a"
    same = krippendorff_alpha({1: {"A": "x", "B": "x"}, 2: {"A": "x", "B": "x"}})
    assert (same.alpha, same.n_units, same.n_values, same.band) == (None, 2, 4, "n/a")


@pytest.mark.parametrize(
    ("k", "band"),
    [
        (None, "n/a"),
        (-0.01, "poor"),
        (0.0, "slight"),
        (0.20, "slight"),
        (0.21, "fair"),
        (0.40, "fair"),
        (0.3999999999999999, "fair"),
        (0.41, "moderate"),
        (0.60, "moderate"),
        (0.61, "substantial"),
        (0.80, "substantial"),
        (0.81, "almost perfect"),
    ],
)
def test_kappa_bands_at_the_boundaries(k: float | None, band: str) -> None:
    assert kappa_band(k) == band


@pytest.mark.parametrize(
    ("a", "band"),
    [
        (None, "n/a"),
        (0.8, "reliable"),
        (0.7999999999, "reliable"),
        (0.799, "tentative"),
        (0.667, "tentative"),
        (0.666, "unreliable"),
    ],
)
def test_alpha_bands_at_the_boundaries(a: float | None, band: str) -> None:
    assert alpha_band(a) == band


labels = st.sampled_from(["a", "b", "c", None])


@given(st.lists(st.tuples(labels, labels), min_size=1, max_size=30))
def test_kappa_is_at_most_one(pairs: list[tuple[str | None, str | None]]) -> None:
    a, b = zip(*pairs, strict=True)
    kappa = cohen_kappa(a, b).kappa
    assert kappa is None or kappa <= 1


coders = st.dictionaries(st.sampled_from("ABCD"), labels, max_size=4)


@given(st.dictionaries(st.integers(0, 20), coders, max_size=15))
def test_alpha_is_at_most_one(units: dict[int, dict[str, Hashable]]) -> None:
    alpha = krippendorff_alpha(units).alpha
    assert alpha is None or alpha <= 1


@given(st.lists(st.tuples(labels, st.integers(2, 4)), min_size=2, max_size=15))
def test_alpha_of_identical_coders_is_one(rows: list[tuple[str | None, int]]) -> None:
    units = {u: {coder: value for coder in "ABCD"[:m]} for u, (value, m) in enumerate(rows)}
    result = krippendorff_alpha(units)
    if len({value for value, _ in rows}) > 1:
        assert result.alpha == 1
    else:
        assert result.alpha is None


# --- the evaluator ------------------------------------------------------------------------------------------


def test_value_rule_correct_incorrect_unsure() -> None:
    frame = annotations_frame(
        make_annotation("r1", "ann", "correct"),
        make_annotation("r1", "bob", "incorrect", corrected={"model": "gpt-4o-mini"}),
        make_annotation("r2", "ann", "correct"),
        make_annotation("r2", "bob", "unsure"),
        make_annotation("r3", "ann", "incorrect", corrected={"cache": "use"}),
        make_annotation("r3", "bob", "incorrect", corrected={"cache": "read", "model": "gpt-4o-mini"}),
    )
    result = agreement(frame, components=("verdict", "model", "cache", "retrieval"))
    pairs = {p.component: p.result for p in result.pairs}
    # model: r1 gpt-4o vs corrected gpt-4o-mini; r2 missing for bob (unsure); r3 undisputed vs corrected
    assert (pairs["model"].n, pairs["model"].observed) == (2, 0.0)
    assert (pairs["cache"].n, pairs["cache"].observed) == (2, 0.5)
    assert (pairs["retrieval"].n, pairs["retrieval"].observed) == (2, 1.0)
    assert (pairs["verdict"].n, pairs["verdict"].observed) == (3, 1 / 3)  # unsure is a category
    assert result.alpha["retrieval"].band == "n/a"  # "none" everywhere: no variation


def test_incorrect_without_correction_and_tier_only_correction_leave_the_model_missing() -> None:
    frame = annotations_frame(
        make_annotation("r1", "ann", "incorrect"),  # alternatives only: which component is wrong is unsaid
        make_annotation("r1", "bob", "correct"),
        make_annotation("r2", "ann", "incorrect", corrected={"tier": "small"}),
        make_annotation("r2", "bob", "correct"),
        make_annotation("r3", "ann", "correct"),
        make_annotation("r3", "bob", "correct"),
    )
    result = agreement(frame, components=("model", "cache"))
    pairs = {p.component: p.result.n for p in result.pairs}
    assert pairs == {"model": 1, "cache": 2}


def test_adjudications_are_not_coders_and_are_counted() -> None:
    frame = annotations_frame(
        make_annotation("r1", "ann", "correct"),
        make_annotation("r1", "bob", "incorrect", corrected={"model": "m"}),
        make_annotation("r1", "rev", "correct", kind="adjudication", minute=1),
        make_annotation("r2", "ann", "correct"),
        make_annotation("r2", "bob", "correct"),
        make_annotation("r2", "rev", "incorrect", kind="adjudication", corrected={"model": "m"}, minute=1),
        make_annotation("r2", "boss", "correct", kind="adjudication", minute=2),  # latest adjudication wins
        make_annotation("r3", "rev", "correct", kind="adjudication"),
    )
    result = agreement(frame)
    assert (result.n_units, result.n_multi, result.n_adjudicated) == (2, 2, 3)
    assert [s.annotator for s in result.annotators] == ["ann", "bob"]
    assert {(p.annotator_a, p.annotator_b) for p in result.pairs} == {("ann", "bob")}
    ann, bob = result.annotators
    assert (ann.agreement_with_adjudication, ann.n_adjudicated) == (1.0, 2)
    assert (bob.agreement_with_adjudication, bob.n_adjudicated) == (0.5, 2)


def test_per_annotator_statistics() -> None:
    frame = annotations_frame(
        make_annotation("r1", "ann", "correct", time_spent_s=10),
        make_annotation("r1", "bob", "correct", time_spent_s=30),
        make_annotation("r1", "cat", "unsure"),
        make_annotation("r2", "ann", "incorrect", corrected={"model": "m"}, time_spent_s=20),
        make_annotation("r2", "bob", "correct"),
        make_annotation("r3", "ann", "unsure", time_spent_s=60),
    )
    result = agreement(frame)
    stats = {s.annotator: s for s in result.annotators}
    ann = stats["ann"]
    assert (ann.judged, ann.correct, ann.incorrect, ann.unsure) == (3, 1, 1, 1)
    assert ann.median_time_s == 20
    assert ann.agreement_with_others == pytest.approx(1 / 3)  # r1: bob yes, cat no; r2: bob no
    assert stats["bob"].agreement_with_others == pytest.approx(1 / 3)
    assert (stats["cat"].median_time_s, stats["cat"].agreement_with_adjudication) == (None, None)
    assert (result.n_units, result.n_multi) == (3, 2)
    assert {f"{p.annotator_a}-{p.annotator_b}" for p in result.pairs} == {"ann-bob", "ann-cat", "bob-cat"}
    # cat is unsure: no path values, so no pair on model
    assert not [p for p in result.pairs if p.component == "model" and p.annotator_b == "cat"]


def test_router_filter_empty_and_single_annotator_frames() -> None:
    frame = annotations_frame(
        make_annotation("r1", "ann", "correct"),
        make_annotation("r1", "bob", "correct", router="acme@2"),
    )
    one = agreement(frame, router="acme@1")
    assert (one.router, one.n_units, one.pairs) == ("acme@1", 1, [])
    assert {a.band for a in one.alpha.values()} == {"n/a"}
    assert [s.annotator for s in one.annotators] == ["ann"]
    empty = agreement(annotations_frame())
    assert (empty.n_units, empty.pairs, empty.annotators) == (0, [], [])
    assert set(empty.alpha) == {"verdict", "model", "retrieval", "cache", "escalation", "action"}
    assert all(a.alpha is None for a in empty.alpha.values())


def test_input_is_checked_and_not_mutated() -> None:
    frame = annotations_frame(make_annotation("r1", "ann", "correct"), make_annotation("r1", "bob", "unsure"))
    before = frame.copy()
    agreement(frame)
    pd.testing.assert_frame_equal(frame, before)
    with pytest.raises(FrameError, match="missing column"):
        agreement(frame.drop(columns=["verdict"]))
    twice = annotations_frame(make_annotation("r1", "ann", "correct"), make_annotation("r1", "ann", "unsure"))
    with pytest.raises(FrameError, match="annotations_current"):
        agreement(twice)
    with pytest.raises(FrameError, match="kind 'undo'"):
        agreement(annotations_frame(make_annotation("r1", "ann", "correct", kind="undo")))
    with pytest.raises(InvalidArgumentError, match="components"):
        agreement(frame, components=("verdict", "tier"))
