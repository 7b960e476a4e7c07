"""Annotations are append-only: the latest standing judgement wins, undo appends, threads never lose one."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest

from routelab.datasets import annotations, replay
from routelab.datasets.annotations import Judgement
from routelab.datasets.errors import DatasetError, NotFoundError
from routelab.datasets.store import Store

T0 = datetime(2026, 11, 1, 9, 0)


@pytest.fixture
def judged(example_store: Store) -> Store:
    replay.replay(example_store, "acme-gateway@2")
    return example_store


def judge(verdict: str = "correct", annotator: str = "ana", **extra: object) -> Judgement:
    return Judgement(
        request_id="ex-refund", router="acme-gateway@2", annotator=annotator, verdict=verdict, **extra
    )


def test_latest_judgement_wins_and_undo_restores_the_previous(judged: Store) -> None:
    first = annotations.record(judged, judge("correct"), at=T0)
    second = annotations.record(
        judged, judge("incorrect", corrected={"model": "gpt-4o"}), at=T0 + timedelta(1)
    )
    assert annotations.current(judged)["annotation_id"].tolist() == [second]
    annotations.undo(judged, second, "ana", at=T0 + timedelta(2))
    assert annotations.current(judged)["annotation_id"].tolist() == [first]
    assert judged.scalar("SELECT count(*) FROM annotations") == 3  # nothing deleted


def test_only_the_author_can_undo_a_judgement(judged: Store) -> None:
    mine = annotations.record(judged, judge("correct"), at=T0)
    with pytest.raises(DatasetError, match="only its author can"):
        annotations.undo(judged, mine, "someone-else")
    assert judged.scalar("SELECT count(*) FROM annotations WHERE kind = 'undo'") == 0


def test_each_judgement_keeps_a_snapshot_of_the_decision(judged: Store) -> None:
    annotations.record(judged, judge())
    snapshot = judged.scalar("SELECT decision_path FROM annotations")
    assert '"model": "gemini/gemini-2.5-flash-lite"' in snapshot


def test_an_incorrect_verdict_needs_the_correction(judged: Store) -> None:
    with pytest.raises(DatasetError, match="corrected path"):
        annotations.record(judged, judge("incorrect"))


def test_judging_a_decision_that_does_not_exist_is_refused(judged: Store) -> None:
    with pytest.raises(NotFoundError, match="replay the version first"):
        annotations.record(
            judged,
            Judgement(request_id="ex-refund", router="acme-gateway@1", annotator="a", verdict="correct"),
        )


def test_two_annotators_writing_at_once_lose_nothing(judged: Store) -> None:
    def work(name: str) -> None:
        for _ in range(25):
            annotations.record(judged, judge(annotator=name))

    threads = [threading.Thread(target=work, args=(n,)) for n in ("ana", "bo")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert judged.scalar("SELECT count(*) FROM annotations") == 50
    assert sorted(annotations.current(judged)["annotator"]) == ["ana", "bo"]
