"""The gold rule: adjudication > majority of annotations (ties unresolved) > imported label."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
import pytest

from routelab.evaluators.errors import EvaluatorError
from routelab.evaluators.frames import FrameError
from routelab.evaluators.gold import GOLD_RULE, GoldLabels, GoldSource, resolve_gold

T0 = datetime(2026, 9, 7, 9, 0)
#: A decision snapshot as `annotations.record` stores it (every path component).
GPT4O = {
    "model": "gpt-4o",
    "retrieval": None,
    "context_tokens": 8000,
    "cache": "bypass",
    "escalation": "none",
    "fallbacks": ["claude-sonnet"],
    "action": "allow",
}
MINI = {**GPT4O, "model": "gpt-4o-mini", "context_tokens": 4000, "fallbacks": []}
#: What a snapshot becomes in gold: model, retrieval, cache, escalation, action.
GPT4O_GOLD = {
    "model": "gpt-4o",
    "retrieval": "none",
    "cache": "bypass",
    "escalation": "none",
    "action": "allow",
}
MINI_GOLD = {**GPT4O_GOLD, "model": "gpt-4o-mini"}


def make_label(request_id: str, *paths: dict[str, Any], abstain: bool = False) -> dict[str, Any]:
    """A `labels` row; acceptable as JSON text, as the store holds it."""
    return {
        "request_id": request_id,
        "source": "import:test",
        "abstain": abstain,
        "acceptable": json.dumps(paths),
    }


def make_annotation(
    request_id: str,
    verdict: str | None,
    path: dict[str, Any] = GPT4O,
    annotator: str = "ann",
    *,
    router: str = "acme@1",
    kind: str = "judgement",
    corrected: dict[str, Any] | None = None,
    acceptable: list[dict[str, Any]] | None = None,
    minute: int = 0,
) -> dict[str, Any]:
    """An `annotations_current` row."""
    return {
        "request_id": request_id,
        "router": router,
        "annotator": annotator,
        "kind": kind,
        "verdict": verdict,
        "decision_path": json.dumps(path),
        "corrected": json.dumps(corrected) if corrected else None,
        "acceptable": json.dumps(acceptable) if acceptable else None,
        "created_at": T0 + timedelta(minutes=minute),
    }


def labels_frame(*rows: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=["request_id", "source", "abstain", "acceptable"])


def annotations_frame(*rows: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=list(make_annotation("x", "correct")))


def gold_of(labels: list[dict[str, Any]], annotations: list[dict[str, Any]], request_id: str = "r1") -> Any:
    gold = resolve_gold(labels_frame(*labels), annotations_frame(*annotations))
    return {g.request_id: g for g in gold.labels}[request_id]


IMPORTED = make_label("r1", {"tier": "small"}, {"tier": "medium", "retrieval": None})

# (labels, annotations, expected source, expected acceptable paths)
CASES: dict[str, tuple[list[dict[str, Any]], list[dict[str, Any]], GoldSource, list[dict[str, Any]]]] = {
    "import-only": (
        [IMPORTED],
        [],
        GoldSource.IMPORT,
        [{"tier": "small"}, {"tier": "medium", "retrieval": "none"}],
    ),
    "abstain-label": ([make_label("r1", abstain=True)], [], GoldSource.ABSTAIN, []),
    "majority-correct-beats-import": (
        [IMPORTED],
        [
            make_annotation("r1", "correct", annotator="a"),
            make_annotation("r1", "correct", annotator="b"),
            make_annotation("r1", "incorrect", annotator="c", corrected={"model": "gpt-4o-mini"}),
        ],
        GoldSource.ANNOTATIONS,
        [GPT4O_GOLD],
    ),
    "majority-incorrect-accepts-correction-and-alternatives": (
        [],
        [
            make_annotation("r1", "incorrect", annotator="a", corrected={"model": "gpt-4o-mini"}),
            make_annotation("r1", "incorrect", annotator="b", acceptable=[{"tier": "medium"}]),
            make_annotation("r1", "correct", annotator="c"),
        ],
        GoldSource.ANNOTATIONS,
        [MINI_GOLD, {"tier": "medium"}],
    ),
    "annotations-beat-an-abstaining-label": (
        [make_label("r1", abstain=True)],
        [make_annotation("r1", "correct")],
        GoldSource.ANNOTATIONS,
        [GPT4O_GOLD],
    ),
    "tie-is-unresolved-not-the-import": (
        [IMPORTED],
        [make_annotation("r1", "correct", annotator="a"), make_annotation("r1", "incorrect", annotator="b")],
        GoldSource.UNRESOLVED,
        [],
    ),
    "tie-on-one-judged-path-leaves-the-request-unresolved": (
        [],
        [
            make_annotation("r1", "correct", MINI, "a", router="acme@2"),
            make_annotation("r1", "correct", annotator="a"),
            make_annotation("r1", "incorrect", annotator="b", corrected={"tier": "small"}),
        ],
        GoldSource.UNRESOLVED,
        [],
    ),
    "unsure-is-ignored": (
        [IMPORTED],
        [make_annotation("r1", "unsure", annotator="a"), make_annotation("r1", "correct", annotator="b")],
        GoldSource.ANNOTATIONS,
        [GPT4O_GOLD],
    ),
    "only-unsure-falls-back-to-import": (
        [IMPORTED],
        [make_annotation("r1", "unsure", annotator="a"), make_annotation("r1", "unsure", annotator="b")],
        GoldSource.IMPORT,
        [{"tier": "small"}, {"tier": "medium", "retrieval": "none"}],
    ),
    "adjudication-beats-majority": (
        [IMPORTED],
        [
            make_annotation("r1", "incorrect", annotator="a", corrected={"model": "gpt-4o-mini"}),
            make_annotation("r1", "incorrect", annotator="b", corrected={"model": "gpt-4o-mini"}),
            make_annotation("r1", "correct", annotator="lead", kind="adjudication", minute=5),
        ],
        GoldSource.ADJUDICATED,
        [GPT4O_GOLD],
    ),
    "latest-adjudication-of-a-path-wins": (
        [],
        [
            make_annotation("r1", "correct", annotator="lead", kind="adjudication", minute=9),
            make_annotation(
                "r1",
                "incorrect",
                annotator="boss",
                kind="adjudication",
                corrected={"cache": "serve"},
                minute=1,
            ),
        ],
        GoldSource.ADJUDICATED,
        [GPT4O_GOLD],
    ),
    "unsure-adjudication-does-not-count": (
        [],
        [
            make_annotation("r1", "unsure", annotator="lead", kind="adjudication"),
            make_annotation("r1", "correct", MINI, annotator="a"),
        ],
        GoldSource.ANNOTATIONS,
        [MINI_GOLD],
    ),
    "correction-naming-a-tier-drops-the-model": (
        [],
        [make_annotation("r1", "incorrect", corrected={"tier": "small", "retrieval": "support-kb"})],
        GoldSource.ANNOTATIONS,
        [
            {
                "retrieval": "support-kb",
                "cache": "bypass",
                "escalation": "none",
                "action": "allow",
                "tier": "small",
            }
        ],
    ),
    "versions-pool-corrections-first-then-correct-then-alternatives": (
        [],
        [
            make_annotation("r1", "correct", MINI, "a", router="acme@2"),
            make_annotation(
                "r1", "incorrect", annotator="a", corrected={"cache": "serve"}, acceptable=[{"tier": "large"}]
            ),
        ],
        GoldSource.ANNOTATIONS,
        [{**GPT4O_GOLD, "cache": "serve"}, MINI_GOLD, {"tier": "large"}],
    ),
    "a-path-rejected-elsewhere-is-removed": (
        [],
        [
            make_annotation("r1", "correct", MINI, "a", router="acme@2"),
            make_annotation("r1", "incorrect", MINI, "b", router="acme@2", corrected={"model": "gpt-4o"}),
            make_annotation("r1", "incorrect", MINI, "c", router="acme@2", corrected={"model": "gpt-4o"}),
            make_annotation("r1", "incorrect", annotator="a", corrected={"model": "gpt-4o-mini"}),
        ],
        GoldSource.UNRESOLVED,  # gpt-4o and mini each rejected by a majority: nothing acceptable is left
        [],
    ),
    "most-proposed-correction-first": (
        [],
        [
            make_annotation("r1", "incorrect", annotator="a", corrected={"cache": "serve"}),
            make_annotation("r1", "incorrect", annotator="b", corrected={"model": "gpt-4o-mini"}),
            make_annotation("r1", "incorrect", annotator="c", corrected={"model": "gpt-4o-mini"}),
        ],
        GoldSource.ANNOTATIONS,
        [MINI_GOLD, {**GPT4O_GOLD, "cache": "serve"}],
    ),
}


@pytest.mark.parametrize(("labels", "annotations", "source", "acceptable"), CASES.values(), ids=CASES.keys())
def test_gold_rule(
    labels: list[dict[str, Any]],
    annotations: list[dict[str, Any]],
    source: GoldSource,
    acceptable: list[dict[str, Any]],
) -> None:
    got = gold_of(labels, annotations)
    assert got.source == source
    assert [dict(p) for p in got.acceptable] == acceptable


def test_counts_by_source_include_zeros_and_every_request() -> None:
    labels = labels_frame(
        make_label("a", {"tier": "small"}),
        make_label("b", abstain=True),
        make_label("c", {"tier": "large"}),
    )
    annotations = annotations_frame(
        make_annotation("c", "correct", annotator="x"),
        make_annotation("c", "incorrect", annotator="y", corrected={"tier": "small"}),
        make_annotation("d", "correct"),
    )
    gold = resolve_gold(labels, annotations)
    assert gold.counts == {"adjudicated": 0, "annotations": 1, "import": 1, "unresolved": 1, "abstain": 1}
    assert gold.n_labelled == 2
    assert gold.rule == GOLD_RULE
    frame = gold.frame()
    assert frame["request_id"].tolist() == ["a", "b", "c", "d"]
    assert frame["source"].tolist() == ["import", "abstain", "unresolved", "annotations"]
    assert frame.loc[0, "acceptable"] == [{"tier": "small"}]


def test_labels_alone_and_parsed_lists_are_accepted() -> None:
    labels = pd.DataFrame(
        {"request_id": ["a"], "abstain": [False], "acceptable": [[{"model": "m", "escalation": None}]]}
    )
    [label] = resolve_gold(labels).labels
    assert label.acceptable == ({"model": "m", "escalation": "none"},)


def test_inputs_are_not_mutated() -> None:
    labels = labels_frame(IMPORTED)
    annotations = annotations_frame(
        make_annotation("r1", "correct"), make_annotation("r1", "correct", annotator="b")
    )
    before = (labels.copy(), annotations.copy())
    resolve_gold(labels, annotations)
    pd.testing.assert_frame_equal(labels, before[0])
    pd.testing.assert_frame_equal(annotations, before[1])


@pytest.mark.parametrize(
    ("labels", "annotations", "message"),
    [
        pytest.param(
            labels_frame(make_label("a", {"modle": "x"})), None, "unknown path component(s) modle", id="typo"
        ),
        pytest.param(
            labels_frame(make_label("a", {"tier": "s"}), make_label("a", {"tier": "m"})),
            None,
            "request_id must be unique; repeated: a",
            id="repeated-label",
        ),
        pytest.param(
            labels_frame(make_label("a")),
            None,
            "lists no acceptable path and does not abstain",
            id="empty-label",
        ),
        pytest.param(
            labels_frame({"request_id": "a", "source": "s", "abstain": False, "acceptable": "[{"}),
            None,
            "not valid JSON",
            id="bad-json",
        ),
        pytest.param(
            labels_frame(),
            annotations_frame(make_annotation("a", None, kind="undo")),
            "contains undo rows",
            id="undo-rows",
        ),
        pytest.param(
            labels_frame(),
            annotations_frame(make_annotation("a", "incorrect", corrected={"colour": "red"})),
            "annotation of a by ann (acme@1), corrected: unknown path component(s) colour",
            id="bad-correction",
        ),
    ],
)
def test_bad_input_names_the_row_and_the_fix(
    labels: pd.DataFrame, annotations: pd.DataFrame | None, message: str
) -> None:
    with pytest.raises(EvaluatorError, match=re.escape(message)):
        resolve_gold(labels, annotations)


def test_missing_columns_are_named() -> None:
    with pytest.raises(
        FrameError, match=r"labels: missing column\(s\) abstain; it has: request_id, acceptable"
    ):
        resolve_gold(pd.DataFrame({"request_id": ["a"], "acceptable": ["[]"]}))


def test_gold_from_a_frame_round_trips_and_checks_sources() -> None:
    gold = resolve_gold(labels_frame(IMPORTED, make_label("r2", abstain=True)))
    again = GoldLabels.from_frame(gold.frame())
    assert again.labels == gold.labels
    assert again.counts == gold.counts
    bad = pd.DataFrame({"request_id": ["a"], "source": ["guess"], "acceptable": ["[]"]})
    with pytest.raises(EvaluatorError, match="gold of a: unknown source 'guess'; known: adjudicated, "):
        GoldLabels.from_frame(bad)
    empty = pd.DataFrame({"request_id": ["a"], "source": ["import"], "acceptable": ["[]"]})
    with pytest.raises(EvaluatorError, match="source import needs at least one acceptable path"):
        GoldLabels.from_frame(empty)
