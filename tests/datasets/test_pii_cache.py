"""The PII cache (`datasets.pii_cache`): computed once, recomputed when the detector or a prompt changes."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from routelab.datasets import pii_cache
from routelab.datasets.importers import import_file
from routelab.datasets.purge import purge
from routelab.datasets.store import Store, open_store
from routelab.datasets.tables import write
from routelab.router_core.pii import PiiType, has_pii

ALL = tuple(PiiType)
NOW = datetime(2026, 11, 1)
PROMPTS = {
    "r1": "please write to jane.doe@example.com today",
    "r2": "call me on +44 20 7946 0958 please",
    "r3": "how do I rotate a log file?",
    "r4": "card 4111 1111 1111 1111, mail ops@example.org",
    "r5": None,
}


def make_requests(prompts: dict[str, str | None], ts: datetime = NOW) -> pd.DataFrame:
    """A requests frame: one row per (id, prompt), all at `ts`."""
    return pd.DataFrame(
        {"request_id": list(prompts), "prompt": list(prompts.values()), "ts": [ts] * len(prompts)}
    )


def add_requests(store: Store, prompts: dict[str, str | None], ts: datetime = NOW) -> None:
    with store.transaction() as cur:
        write(cur, "requests", make_requests(prompts, ts), "test")


def expected(prompt: str | None) -> set[str]:
    """The types the Python detector finds: what the cached SQL column must hold."""
    return {t.value for t in ALL if prompt is not None and has_pii(prompt, t)}


def cached_types(store: Store, result: pii_cache.PiiTypes) -> dict[str, set[str]]:
    frame = store.df(result.query.sql, result.query.params)
    return {
        r: {t for t in v.split(",") if t}
        for r, v in zip(frame["request_id"], frame["pii_types"], strict=True)
    }


def rows(store: Store) -> dict[str, str]:
    return dict(store.execute("SELECT request_id, detector FROM request_pii ORDER BY 1").fetchall())


def test_types_are_computed_once_then_read_from_the_cache(store: Store) -> None:
    add_requests(store, PROMPTS)
    first = pii_cache.pii_types(store, ALL)
    assert (first.computed, first.stored) == (len(PROMPTS), True)
    assert cached_types(store, first) == {r: expected(p) for r, p in PROMPTS.items()}
    assert set(rows(store).values()) == {first.detector}
    second = pii_cache.pii_types(store, ALL)
    assert (second.computed, second.detector) == (0, first.detector)
    assert cached_types(store, second) == cached_types(store, first)
    add_requests(store, {"r6": "mail bob@example.net"})
    third = pii_cache.pii_types(store, ALL)
    assert third.computed == 1  # only the new request's prompt is scanned
    assert cached_types(store, third)["r6"] == {"email"}


def test_the_detector_is_the_hash_of_the_expression() -> None:
    expression = pii_cache.pii_types_sql("prompt", ALL)
    assert pii_cache.detector_id(expression) == pii_cache.detector_id(expression)
    assert len(pii_cache.detector_id(expression)) == pii_cache.DETECTOR_DIGITS
    assert pii_cache.detector_id(expression) != pii_cache.detector_id(
        pii_cache.pii_types_sql("prompt", ALL[:2])
    )


def test_a_changed_detector_recomputes_every_row(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    add_requests(store, PROMPTS)
    before = pii_cache.pii_types(store, ALL)
    store.execute("UPDATE request_pii SET pii_types = 'stale'")  # what an older detector might have said
    store.execute("UPDATE request_pii SET detector = 'olddetector00000'")
    after = pii_cache.pii_types(store, ALL)
    assert after.computed == len(PROMPTS)
    assert set(rows(store).values()) == {before.detector}  # the stale rows are gone, not kept beside
    assert cached_types(store, after) == {r: expected(p) for r, p in PROMPTS.items()}
    # editing the patterns changes the expression, hence the detector: nobody has to clear the cache
    real = pii_cache.pii_types_sql
    monkeypatch.setattr(pii_cache, "pii_types_sql", lambda column, types: f"({real(column, types)} || '')")
    edited = pii_cache.pii_types(store, ALL)
    assert edited.detector != before.detector
    assert edited.computed == len(PROMPTS)


def test_purge_forgets_the_purged_prompts(store: Store) -> None:
    add_requests(store, {"old1": PROMPTS["r1"], "old2": PROMPTS["r3"]}, ts=NOW - timedelta(days=200))
    add_requests(store, {"new1": PROMPTS["r4"]})
    pii_cache.pii_types(store, ALL)
    result = purge(store, timedelta(days=90), "test", now=NOW)
    assert result.n_requests == 2
    assert set(rows(store)) == {"new1"}  # deleted in the purge's own transaction
    again = pii_cache.pii_types(store, ALL)
    assert again.computed == 2
    types = cached_types(store, again)
    assert types["old1"] == set()  # the prompt is gone; attrs.pii_types keeps what it held
    assert types["new1"] == expected(PROMPTS["r4"])
    kept = store.scalar("SELECT map_extract(attrs, 'pii_types')[1] FROM requests WHERE request_id = 'old1'")
    assert kept == "email"


def test_purge_keeping_redacted_text_recomputes_on_the_masked_text(store: Store) -> None:
    add_requests(store, {"old1": PROMPTS["r1"]}, ts=NOW - timedelta(days=200))
    pii_cache.pii_types(store, ALL)
    purge(store, timedelta(days=90), "test", keep_redacted=True, now=NOW)
    again = pii_cache.pii_types(store, ALL)
    assert again.computed == 1
    masked = store.scalar("SELECT prompt FROM requests WHERE request_id = 'old1'")
    assert cached_types(store, again)["old1"] == expected(masked) == set()


def test_purge_keeps_attrs_keys_sorted(store: Store) -> None:
    """The purge adds `pii_types` to the attrs in the stored form (keys sorted), so a later import of the
    same request compares equal."""
    frame = make_requests({"old1": PROMPTS["r1"]}, ts=NOW - timedelta(days=200))
    frame["attrs"] = [{"zeta": "1", "team": "ops"}]
    with store.transaction() as cur:
        write(cur, "requests", frame, "test")
    purge(store, timedelta(days=90), "test", keep_redacted=True, now=NOW)
    keys = store.scalar("SELECT map_keys(attrs) FROM requests WHERE request_id = 'old1'")
    assert keys == ["pii_types", "team", "zeta"]


def jsonl(path: Path, prompts: dict[str, str]) -> Path:
    path.write_text("".join(json.dumps({"request_id": r, "prompt": p}) + "\n" for r, p in prompts.items()))
    return path


@pytest.mark.parametrize(
    ("on_conflict", "recomputed"), [("replace", {"a", "b"}), ("skip", set())], ids=["replace", "skip"]
)
def test_an_import_that_replaces_prompts_forgets_their_types(
    store: Store, tmp_path: Path, on_conflict: Any, recomputed: set[str]
) -> None:
    import_file(store, jsonl(tmp_path / "one.jsonl", {"a": PROMPTS["r3"], "b": PROMPTS["r1"]}), "requests")
    pii_cache.pii_types(store, ALL)
    changed = {"a": PROMPTS["r2"], "b": PROMPTS["r1"]}  # a's prompt changes, b's does not
    report = import_file(store, jsonl(tmp_path / "two.jsonl", changed), "requests", on_conflict=on_conflict)
    assert report.tables["requests"].replaced == (1 if on_conflict == "replace" else 0)
    assert set(rows(store)) == {"a", "b"} - recomputed
    again = pii_cache.pii_types(store, ALL)
    assert again.computed == len(recomputed)
    stored = dict(store.execute("SELECT request_id, prompt FROM requests").fetchall())
    assert cached_types(store, again) == {r: expected(p) for r, p in stored.items()}


def test_a_read_only_store_computes_without_storing(tmp_path: Path) -> None:
    path = tmp_path / "ro.duckdb"
    with open_store(path) as store:
        add_requests(store, PROMPTS)
    with open_store(path, read_only=True) as store:
        result = pii_cache.pii_types(store, ALL)
        assert (result.computed, result.stored) == (len(PROMPTS), False)
        assert cached_types(store, result) == {r: expected(p) for r, p in PROMPTS.items()}
        assert rows(store) == {}
    with open_store(path) as store:  # a partly filled cache: read-only uses the rows it has
        pii_cache.pii_types(store, ALL)
        store.execute("DELETE FROM request_pii WHERE request_id IN ('r1', 'r4')")
    with open_store(path, read_only=True) as store:
        result = pii_cache.pii_types(store, ALL)
        assert result.computed == 2
        assert cached_types(store, result) == {r: expected(p) for r, p in PROMPTS.items()}


def test_an_empty_type_list_caches_no_pii(store: Store) -> None:
    add_requests(store, PROMPTS)
    result = pii_cache.pii_types(store, ())
    assert cached_types(store, result) == {r: set() for r in PROMPTS}


def test_a_fill_that_loses_a_race_is_retried(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two workbench sessions (threads, one connection) filling at once: the later commit fails once."""
    add_requests(store, PROMPTS)
    real = pii_cache._fill
    attempts: list[int] = []

    def racing(*args: Any) -> int:
        if not attempts:  # another session commits the same rows while this one scans
            attempts.append(1)
            other = store.con.cursor()
            expression = pii_cache.pii_types_sql("prompt", ALL)
            with store.transaction() as cur:
                cur.execute(
                    f"INSERT INTO request_pii SELECT r.request_id, 'x', {expression} FROM requests r "
                    "WHERE r.request_id = 'r1'"
                )
                other.execute("BEGIN TRANSACTION")
                other.execute(
                    "INSERT INTO request_pii VALUES ('r1', ?, 'email')", [pii_cache.detector_id(expression)]
                )
                other.execute("COMMIT")
            return 0
        return real(*args)

    monkeypatch.setattr(pii_cache, "_fill", racing)
    result = pii_cache.pii_types(store, ALL)
    assert attempts == [1]
    assert result.computed == len(PROMPTS) - 1  # the other session's row is kept
    assert cached_types(store, result) == {r: expected(p) for r, p in PROMPTS.items()}
