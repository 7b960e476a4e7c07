"""Annotations as JSON Lines: export every row, import it back losslessly, idempotently, all-or-nothing."""

from __future__ import annotations

import json
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from routelab.datasets import annotations, replay
from routelab.datasets.annotation_io import export_annotations, import_annotations
from routelab.datasets.annotations import COLUMNS, Judgement
from routelab.datasets.store import Store, open_store

V2 = "acme-gateway@2"
T0 = datetime(2026, 11, 1, 9, 0, 0, 123456)


@pytest.fixture
def annotated(example_store: Store) -> Store:
    """Judgements, an incorrect one with corrections, an undo and an adjudication of acme v2."""
    replay.replay(example_store, V2)

    def judge(rid: str, who: str, verdict: str, minutes: int, **extra: Any) -> str:
        j = Judgement(request_id=rid, router=V2, annotator=who, verdict=verdict, **extra)  # type: ignore[arg-type]
        return annotations.record(example_store, j, at=T0 + timedelta(minutes=minutes))

    first = judge("ex-refund", "ana", "correct", 0)
    judge(
        "ex-refund",
        "bo",
        "incorrect",
        1,
        corrected={"model": "gpt-4o", "retrieval": None},
        acceptable=[{"model": "claude-sonnet"}],
        reason_tags=["quality", "policy"],
        note="refunds need the FAQ index — «toujours»",
        time_spent_s=42.5,
    )
    annotations.undo(example_store, first, "ana", at=T0 + timedelta(minutes=2))
    judge("ex-debug", "lead", "unsure", 3, adjudication=True)
    return example_store


def rows(store: Store) -> list[tuple[Any, ...]]:
    return store.execute(f"SELECT {', '.join(COLUMNS)} FROM annotations ORDER BY annotation_id").fetchall()


def test_export_writes_every_row_with_every_column(annotated: Store, tmp_path: Path) -> None:
    out = tmp_path / "ann.jsonl"
    assert export_annotations(annotated, out) == 4
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [list(line) for line in lines] == [list(COLUMNS)] * 4
    assert [line["kind"] for line in lines] == ["judgement", "judgement", "undo", "adjudication"]
    incorrect = lines[1]
    assert incorrect["corrected"] == {"model": "gpt-4o", "retrieval": None}
    assert incorrect["acceptable"] == [{"model": "claude-sonnet"}]
    assert incorrect["decision_path"]["model"] == "gemini/gemini-2.5-flash-lite"
    assert incorrect["created_at"] == "2026-11-01T09:01:00.123456"
    assert lines[2]["undoes"] == lines[0]["annotation_id"]
    assert export_annotations(annotated, tmp_path / "none.jsonl", router="acme-gateway@1") == 0


def test_export_then_import_into_a_fresh_store_is_lossless_and_idempotent(
    annotated: Store, tmp_path: Path
) -> None:
    out = tmp_path / "ann.jsonl"
    export_annotations(annotated, out)
    with open_store(tmp_path / "fresh.duckdb") as fresh:  # no decisions here: allowed
        result = import_annotations(fresh, out)
        assert (result.n_read, result.n_added, result.n_skipped_existing, result.errors) == (4, 4, 0, [])
        assert rows(fresh) == rows(annotated)
        # the view agrees too: the undone judgement stays hidden
        assert fresh.scalar("SELECT count(*) FROM annotations_current") == 2
        again = import_annotations(fresh, out)
        assert (again.n_added, again.n_skipped_existing) == (0, 4)
        assert rows(fresh) == rows(annotated)


def good_row(**changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "annotation_id": "a1",
        "request_id": "r1",
        "router": V2,
        "annotator": "ana",
        "kind": "judgement",
        "verdict": "correct",
        "created_at": "2026-11-01T09:00:00",
    }
    row.update(changes)
    return {k: v for k, v in row.items() if v is not ...}


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (json.dumps(good_row(annotation_id="a2", verdict="maybe")), "verdict: Input should be 'correct'"),
        (json.dumps(good_row(annotation_id="a2", annotator=...)), "annotator: Field required"),
        ('{"annotation_id": "a2", "router": }', "column 35: not valid JSON (Expecting value)"),
        ("[1, 2]", "(row): expected a JSON object, got list"),
        (json.dumps(good_row(annotation_id="a2", colour="red")), "colour: Extra inputs are not permitted"),
        (json.dumps(good_row(annotation_id="a2", created_at="soon")), "created_at: Input should be a valid"),
        (json.dumps(good_row(annotation_id="a2", router="acme")), "router: String should match pattern"),
        (json.dumps(good_row(annotation_id="a2", verdict="incorrect")), "corrected: an `incorrect` verdict"),
        (
            json.dumps(good_row(annotation_id="a2", kind="undo", verdict=None, undoes="zz")),
            "undoes: no annotation",
        ),
        (json.dumps(good_row(annotation_id="a2", kind="undo", verdict=None)), "undoes: an undo names"),
        (json.dumps(good_row(verdict="unsure")), "annotation_id: repeats line 1 with different content"),
    ],
    ids=[
        "bad-verdict",
        "missing-annotator",
        "malformed-json",
        "not-an-object",
        "unknown-field",
        "bad-time",
        "router-without-version",
        "incorrect-without-correction",
        "undo-of-nothing",
        "undo-without-target",
        "id-repeated-differently",
    ],
)
def test_a_bad_line_names_line_and_field_and_writes_nothing(
    store: Store, tmp_path: Path, line: str, message: str
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(good_row()) + "\n\n" + line + "\n", encoding="utf-8")
    result = import_annotations(store, path)
    assert result.n_added == 0
    assert len(result.errors) == 1
    assert result.errors[0].startswith(f"{path}:3: ")
    assert message in result.errors[0]
    assert store.scalar("SELECT count(*) FROM annotations") == 0


def test_every_bad_line_is_reported_in_file_order(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    bad = [good_row(annotation_id=f"a{i}", verdict="maybe") for i in range(3)]
    undo = good_row(annotation_id="u", kind="undo", verdict=None, undoes="nope")
    path.write_text("\n".join(json.dumps(r) for r in [undo, *bad]) + "\n", encoding="utf-8")
    errors = import_annotations(store, path).errors
    assert [e.split(": ")[0] for e in errors] == [f"{path}:{n}" for n in (1, 2, 3, 4)]


def test_undo_may_point_into_the_store_or_the_file(store: Store, tmp_path: Path) -> None:
    first = tmp_path / "first.jsonl"
    first.write_text(json.dumps(good_row()) + "\n")
    assert import_annotations(store, first).n_added == 1
    later = tmp_path / "later.jsonl"
    undo_stored = good_row(annotation_id="u1", kind="undo", verdict=None, undoes="a1")
    undo_in_file = good_row(annotation_id="u2", kind="undo", verdict=None, undoes="a2")
    lines = [undo_stored, undo_in_file, good_row(annotation_id="a2")]
    later.write_text("\n".join(json.dumps(r) for r in lines) + "\n")
    result = import_annotations(store, later)
    assert (result.n_added, result.errors) == (3, [])
    assert store.scalar("SELECT count(*) FROM annotations_current") == 0


def test_an_id_stored_with_other_content_is_an_error(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text(json.dumps(good_row()) + "\n")
    import_annotations(store, path)
    path.write_text(json.dumps(good_row(note="edited")) + "\n")
    result = import_annotations(store, path)
    assert result.errors == [f"{path}:1: annotation_id: 'a1' is stored with other content"]
    assert store.scalar("SELECT note FROM annotations") is None


TEXT = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=20)
ROW = st.fixed_dictionaries(
    {
        "annotation_id": st.uuids().map(lambda u: u.hex),
        "request_id": TEXT.filter(bool),
        "router": st.sampled_from(["a@1", "b@2"]),
        "annotator": TEXT.filter(bool),
        "kind": st.sampled_from(["judgement", "adjudication"]),
        "verdict": st.sampled_from(["correct", "incorrect", "unsure"]),
        "decision_path": st.none() | st.dictionaries(TEXT, TEXT | st.none(), max_size=3),
        "corrected": st.dictionaries(TEXT, TEXT | st.integers(-(2**40), 2**40), min_size=1, max_size=3),
        "acceptable": st.none() | st.lists(st.dictionaries(TEXT, TEXT, max_size=2), max_size=2),
        "reason_tags": st.none() | st.lists(TEXT, max_size=3),
        "note": st.none() | TEXT,
        "time_spent_s": st.none() | st.floats(0, 1e6, allow_nan=False),
        "undoes": st.none(),
        "created_at": st.datetimes(datetime(2000, 1, 1), datetime(2100, 1, 1)).map(lambda d: d.isoformat()),
    }
)


@settings(max_examples=25)
@given(st.lists(ROW, max_size=6, unique_by=lambda r: r["annotation_id"]))
def test_import_then_export_gives_the_rows_back(rows_in: list[dict[str, Any]]) -> None:
    with tempfile.TemporaryDirectory() as tmp, open_store(Path(tmp) / "p.duckdb") as store:
        source, back = Path(tmp) / "in.jsonl", Path(tmp) / "out.jsonl"
        source.write_text("".join(json.dumps(r) + "\n" for r in rows_in), encoding="utf-8")
        result = import_annotations(store, source)
        assert (result.errors, result.n_added) == ([], len(rows_in))
        assert export_annotations(store, back) == len(rows_in)
        exported = [json.loads(line) for line in back.read_text(encoding="utf-8").splitlines()]
    expected = sorted(rows_in, key=lambda r: (datetime.fromisoformat(r["created_at"]), r["annotation_id"]))
    assert exported == expected
