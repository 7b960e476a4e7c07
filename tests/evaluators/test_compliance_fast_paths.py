"""`flag_breaches`' fast paths read the cells as the per-row functions do.

Fallbacks are read once per distinct list (DuckDB hands each row's list over as a numpy array); ids that
strictly increase skip the hash passes of the uniqueness check and the alignment. Each must give what the
per-row reading gives, whatever the cells hold.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from routelab.evaluators import compliance_flags
from routelab.evaluators.compliance import flag_breaches
from routelab.evaluators.frames import FrameError

MODELS: dict[str, Any] = {"a": ("private", ()), "b": ("external", ("us",)), "c": ("external", ())}


def array(items: list[Any]) -> np.ndarray:
    """A 1-D object array, as DuckDB returns a list cell."""
    out = np.empty(len(items), dtype=object)
    out[:] = items
    return out


def read(cells: list[Any]) -> list[tuple[str, ...]]:
    coded = compliance_flags._coded_fallbacks(pd.Series(array(cells), dtype=object))
    return [coded.values[k] for k in coded.codes]


ITEMS = st.one_of(st.sampled_from(["a", "b", "c", "", "a\x1fb"]), st.none(), st.just(float("nan")))
LISTS = st.lists(ITEMS, max_size=3)
CELLS = st.one_of(
    LISTS.map(array),
    LISTS,
    LISTS.map(tuple),
    st.none(),
    st.just(float("nan")),
    st.just(pd.NA),
)
ODD = st.one_of(st.just("a,b"), st.integers(0, 3), st.just([["a"]]), st.just(b"ab"))


@given(st.lists(CELLS, max_size=30))
def test_list_cells_read_as_the_per_row_function_reads_them(cells: list[Any]) -> None:
    assert read(cells) == [compliance_flags._fallbacks(c) for c in cells]


@given(st.lists(CELLS, max_size=10), st.lists(ODD, min_size=1, max_size=3))
def test_odd_cells_take_the_per_row_path_and_read_the_same(cells: list[Any], odd: list[Any]) -> None:
    mixed = [*cells, *odd]
    assert read(mixed) == [compliance_flags._fallbacks(c) for c in mixed]


def test_each_distinct_list_is_read_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []
    real = compliance_flags._fallbacks
    monkeypatch.setattr(compliance_flags, "_fallbacks", lambda v: calls.append(v) or real(v))
    cells = [array(["a", "b"]), array([]), None, array(["a", "b"]), array(["c"])] * 1000
    assert read(cells)[:5] == [("a", "b"), (), (), ("a", "b"), ("c",)]
    assert len(calls) <= 4  # the two distinct lists, the missing sentinel: not one call per row


def frames(ids: list[str], fallbacks: list[Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    decisions = pd.DataFrame(
        {
            "request_id": ids,
            "router": "r@1",
            "model": "a",
            "action": "allow",
            "escalation": "none",
            "fallbacks": array(fallbacks),
        }
    )
    requests = pd.DataFrame(
        {"request_id": ids, "data_class": "confidential", "region": "eu", "prompt": "hello"}
    )
    return decisions, requests


@given(st.permutations(range(6)), st.lists(st.sampled_from([[], ["b"], ["c", "b"]]), min_size=6, max_size=6))
def test_order_of_the_frames_does_not_change_the_flags(order: list[int], lists: list[list[str]]) -> None:
    ids = [f"r{i}" for i in range(6)]
    decisions, requests = frames(ids, [array(x) for x in lists])
    sorted_flags = flag_breaches(decisions, requests, MODELS).frame
    shuffled = flag_breaches(decisions.iloc[order], requests.iloc[order[::-1]], MODELS).frame
    pd.testing.assert_frame_equal(shuffled, sorted_flags)
    assert sorted_flags["privacy"].tolist() == [bool(x) for x in lists]
    assert sorted_flags["residency"].tolist() == ["b" in x for x in lists]


@pytest.mark.parametrize(
    "ids", [["r1", "r1", "r2"], ["r2", "r1", "r2"], ["r1", None, None]], ids=["sorted", "unsorted", "missing"]
)
def test_a_repeated_request_is_still_refused(ids: list[Any]) -> None:
    decisions, requests = frames(ids, [[]] * len(ids))
    with pytest.raises(FrameError, match="decisions: request_id must be unique"):
        flag_breaches(decisions, requests.drop_duplicates("request_id"), MODELS)
    with pytest.raises(FrameError, match="requests: request_id must be unique"):
        flag_breaches(decisions.drop_duplicates("request_id"), requests, MODELS)
