"""The compliance flow's fast paths give the results of the slow ones, on the demo.

The PII comes from the cache (`datasets.pii_cache`) instead of a scan per call, the flags read each distinct
fallback list once instead of once per row, and callers may pass the decisions they have already loaded.
The references are the Python detector (`pii="python"`), the per-row reading of fallbacks, and the
decisions read from the store.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from routelab.app.compliance_flow import (
    compare_compliance_stored,
    compliance_requests,
    compliance_stored,
    stored_flags,
    version_decisions,
    version_models,
)
from routelab.datasets import queries
from routelab.datasets.errors import NotFoundError
from routelab.datasets.store import Store, open_store
from routelab.datasets.workspace import build_demo
from routelab.evaluators import compliance_flags
from routelab.evaluators.compliance import flag_breaches

V1, V2, V3 = "acme-gateway@1", "acme-gateway@2", "acme-gateway@3"
VERSIONS = (V1, V2, V3)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The demo (seed 7, 1,500 requests), its PII cache still empty."""
    path = tmp_path_factory.mktemp("compliance-cache") / "demo.duckdb"
    with open_store(path) as store:
        build_demo(store, seed=7, n_requests=1500)
    return str(path)


@pytest.fixture
def store(db: str, tmp_path: Path) -> Iterator[Store]:
    """A private, writable copy of the demo."""
    copy = tmp_path / "copy.duckdb"
    shutil.copy(db, copy)
    with open_store(copy) as s:
        yield s


def per_row(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make `flag_breaches` read the fallbacks cell by cell, as it did before the fast path."""
    monkeypatch.setattr(
        compliance_flags,
        "_coded_fallbacks",
        lambda column: compliance_flags._coded(column.map(compliance_flags._fallbacks)),
    )


def test_cached_pii_gives_the_flags_of_the_python_detector(store: Store) -> None:
    cold = compliance_requests(store)
    assert store.scalar("SELECT count(*) FROM request_pii") == len(cold) == 1500
    warm = compliance_requests(store)
    pd.testing.assert_frame_equal(warm, cold)
    python = compliance_requests(store, pii="python")
    pd.testing.assert_frame_equal(cold.drop(columns="pii_types"), python.drop(columns="prompt"))
    for ref in VERSIONS:
        by_cache = stored_flags(store, ref, cold)
        by_python = stored_flags(store, ref, python)
        assert (by_cache.pii_source, by_python.pii_source) == ("column", "prompt")
        pd.testing.assert_frame_equal(by_cache.frame, by_python.frame)
    assert stored_flags(store, V2, cold).frame["privacy"].sum() > 0  # the demo's planted breaches


def test_fast_flags_equal_the_per_row_reading(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with open_store(db, read_only=True) as store:  # read-only: the PII is computed, not cached
        requests = compliance_requests(store, slices=("workflow", "team"))
        loaded = {ref: (queries.decisions(store, ref), version_models(store, ref)) for ref in VERSIONS}
    carry = ("ts", "workflow", "team")
    fast = {ref: flag_breaches(d, requests, m, carry=carry).frame for ref, (d, m) in loaded.items()}
    # the general path: decisions out of order, requests out of order and holding undecided ones
    for ref, (decisions, models) in loaded.items():
        shuffled = decisions.sample(frac=1, random_state=3).iloc[: len(decisions) - 7]
        some = flag_breaches(shuffled, requests.sample(frac=1, random_state=4), models, carry=carry).frame
        expected = fast[ref][fast[ref]["request_id"].isin(shuffled["request_id"])].reset_index(drop=True)
        pd.testing.assert_frame_equal(some, expected)
    per_row(monkeypatch)
    for ref, (decisions, models) in loaded.items():
        pd.testing.assert_frame_equal(
            fast[ref], flag_breaches(decisions, requests, models, carry=carry).frame
        )


def test_passed_decisions_give_the_stored_ones_result(db: str) -> None:
    with open_store(db, read_only=True) as store:
        loaded: dict[str, Any] = {ref: queries.decisions(store, ref) for ref in VERSIONS}
        requests = compliance_requests(store)
        read = compare_compliance_stored(store, V1, V2, requests=requests)
        passed = compare_compliance_stored(store, V1, V2, requests=requests, decisions=loaded)
        assert passed == read
        assert passed["delta"]["privacy"]["introduced"] > 0
        # they are used, not read again: v1's decisions passed as v2's leave nothing to compare
        as_v2 = {V2: loaded[V1].assign(router=V2)}
        same = compare_compliance_stored(store, V1, V2, requests=requests, decisions=as_v2)
        assert same["delta"]["privacy"]["introduced"] == same["delta"]["privacy"]["resolved"] == 0
        one = compliance_stored(store, [V2], save=False, requests=requests)
        assert compliance_stored(store, [V2], save=False, requests=requests, decisions=loaded) == one


def test_compare_is_the_same_cold_warm_and_read_only(store: Store, db: str) -> None:
    with open_store(db, read_only=True) as read_only:
        reference = compare_compliance_stored(read_only, V1, V2)
    assert compare_compliance_stored(store, V1, V2) == reference  # fills the cache
    assert compare_compliance_stored(store, V1, V2) == reference  # reads it


def test_a_version_without_decisions_names_the_replayed_ones(db: str) -> None:
    with (
        open_store(db, read_only=True) as store,
        pytest.raises(NotFoundError, match=r"acme-gateway@9.*replayed: acme-gateway@1"),
    ):
        version_decisions(store, "acme-gateway@9")
