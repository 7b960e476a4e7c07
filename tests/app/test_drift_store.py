"""Drift counted inside DuckDB (`app.drift_store`, the default) equals drift over the per-request frame.

`drift_stored_version` no longer loads every decision: DuckDB joins gold, outcomes and request fields and
counts the distinct rows per day; the evaluators weigh them (`evaluators.drift_counted`,
`evaluators.timeline_grouped`). The frame path (``engine="frame"``) is the reference: on a demo store with
every gold source, the whole JSON document must match, with default windows by week and by day, with named
reference and current windows, other slices and features. Means summed in another order differ in the last
bits, so floats are compared with a relative tolerance of 1e-10.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from routelab.app import drift_store
from routelab.app.workflows import drift_stored_version
from routelab.datasets.annotations import Judgement, record
from routelab.datasets.store import Store, open_store
from routelab.datasets.workspace import build_demo
from routelab.evaluators import weighted
from routelab.evaluators.drift_stats import _binned, ks, wasserstein_normalised, welch

REF = "acme-gateway@3"


def differences(got: Any, want: Any, where: str = "") -> list[str]:
    """Where two JSON documents differ (floats within a relative 1e-10)."""
    if isinstance(got, dict) and isinstance(want, dict):
        if set(got) != set(want):
            return [f"{where}: keys {sorted(set(got) ^ set(want))}"]
        return [d for k in got for d in differences(got[k], want[k], f"{where}.{k}")]
    if isinstance(got, list) and isinstance(want, list):
        if len(got) != len(want):
            return [f"{where}: {len(got)} items, want {len(want)}"]
        return [
            d
            for i, (a, b) in enumerate(zip(got, want, strict=True))
            for d in differences(a, b, f"{where}[{i}]")
        ]
    if isinstance(got, float) and isinstance(want, float):
        return [] if math.isclose(got, want, rel_tol=1e-10, abs_tol=1e-15) else [f"{where}: {got} != {want}"]
    return [] if got == want else [f"{where}: {got!r} != {want!r}"]


def judge(store: Store, rid: str, annotator: str, verdict: str, **kw: Any) -> None:
    record(store, Judgement(request_id=rid, router=REF, annotator=annotator, verdict=verdict, **kw))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("drift") / "demo.duckdb"
    with open_store(path) as store:
        build_demo(store, seed=5, n_requests=3000)
        ids = [r[0] for r in store.execute("SELECT request_id FROM requests ORDER BY request_id").fetchall()]
        # every gold source: adjudication, a majority, a tie, a correction, abstaining labels
        judge(store, ids[0], "ann", "incorrect", corrected={"model": "gpt-4o"})
        judge(store, ids[0], "rev", "correct", adjudication=True)
        judge(store, ids[1], "a1", "correct")
        judge(store, ids[1], "a2", "incorrect", corrected={"model": "gpt-4o"})
        judge(store, ids[2], "a1", "incorrect", corrected={"model": "claude-haiku-4-5-20251001"})
        store.execute(
            "UPDATE labels SET abstain = TRUE, acceptable = '[]' WHERE request_id IN (?, ?)", ids[5:7]
        )
        # a request without a timestamp, and one whose decision is gone
        store.execute("UPDATE requests SET ts = NULL WHERE request_id = ?", [ids[8]])
        store.execute("DELETE FROM decision_rows WHERE router = ? AND request_id = ?", [REF, ids[9]])
    return path


CASES = {
    "week": {},
    "day": {"by": "day"},
    "windows": {"reference": "2026-W37..2026-W38", "current": "2026-W41"},
    "slices-features": {
        "by": "day",
        "slices": ["task", "team*region", "attrs.channel"],
        "features": ["prompt_tokens", "team", "attrs.deal_size_usd", "attrs.language"],
    },
}


@pytest.mark.parametrize("options", list(CASES.values()), ids=list(CASES))
def test_grouped_in_duckdb_equals_the_frame_path(db: Path, options: dict[str, Any]) -> None:
    with open_store(db, read_only=True) as store:
        grouped = drift_stored_version(store, REF, save=False, **options)
        frame = drift_stored_version(store, REF, save=False, engine="frame", **options)
    assert differences(grouped, frame) == []
    # the fixture reaches what the equality covers
    assert grouped["windows"]
    assert grouped["timeline"]["n_undated"] == 1
    assert grouped["params"]["gold_counts"]["adjudicated"] == 1
    if not options:
        assert grouped["alarms"]
        assert any(w["outcomes"] for w in grouped["windows"])


def test_partitioned_passes_give_the_same_document(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with open_store(db, read_only=True) as store:
        whole = drift_stored_version(store, REF, save=False, by="day")
        monkeypatch.setattr(drift_store, "PARTITION_ROWS", 700)  # five passes over the 3,000 decisions
        assert drift_store.partitions_for(2999) == 5
        parts = drift_stored_version(store, REF, save=False, by="day")
    assert differences(parts, whole) == []


def test_chunks_use_the_frame_path(db: Path) -> None:
    with open_store(db, read_only=True) as store:
        doc = drift_stored_version(store, REF, save=False, chunks=4, current="2026-W41")
    assert doc["params"]["chunks"] == 4
    assert doc["windows"][0]["chunks"]


def expanded(s: weighted.Sample) -> Any:
    return np.repeat(s.values, s.counts)


@pytest.mark.parametrize("seed", range(20))
def test_weighted_statistics_equal_those_of_the_expanded_sample(seed: int) -> None:
    rng = np.random.default_rng(seed)
    draw = [
        np.round(rng.gamma(2.0, 3.0, int(rng.integers(2, 400))), int(rng.integers(0, 3))) for _ in range(2)
    ]
    r, c = (weighted.sample(x, np.ones(x.size, dtype=np.int64)) for x in draw)
    ref, cur = expanded(r), expanded(c)
    qs = (0.0, 0.1, 0.5, 0.95, 1.0)
    assert weighted.quantiles(r, qs) == [float(x) for x in np.quantile(ref, qs)]
    assert weighted.binned(r, c, 10) == _binned(ref, cur)
    assert weighted.ks_test(r, c) == ks(ref, cur)
    assert math.isclose(
        weighted.wasserstein_normalised(r, c), wasserstein_normalised(ref, cur), rel_tol=1e-12
    )
    assert math.isclose(weighted.welch(r, c).p_value, welch(ref, cur).p_value, rel_tol=1e-9, abs_tol=1e-300)


def test_the_asymptotic_ks_matches_scipy_beyond_the_exact_limit() -> None:
    rng = np.random.default_rng(3)
    ref, cur = np.round(rng.normal(0, 1, 12_000), 2), np.round(rng.normal(0.05, 1, 15_000), 2)
    got = weighted.ks_test(weighted.sample(ref, np.ones(ref.size)), weighted.sample(cur, np.ones(cur.size)))
    assert got == ks(ref, cur)
