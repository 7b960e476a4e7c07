"""Gold labels: the acceptable paths of each request, resolved from annotations and imported labels.

**The rule** (`GOLD_RULE`, recorded on every result), per request:

1. *Adjudicated.* If a reviewer adjudicated any decision of the request (verdict correct or incorrect), only
   adjudications count; for each judged path the latest adjudication (by `created_at`) is the verdict.
2. *Annotations.* Else, if annotators judged any decision (correct or incorrect; "unsure" is ignored), each
   judged path takes the majority verdict of its judgements. A tie on any judged path leaves the whole request
   *unresolved* (counted apart, no fallback to an imported label): building the set from the other paths
   would silently count the tied path wrong.
3. *Import.* Else the imported label (`labels` table): its acceptable paths, or *abstain* when it abstains.

A judged path is the decision snapshot the annotation carries (`decision_path`), reduced to the components
gold judges by default: model, retrieval, cache, escalation, action. `context_tokens` and `fallbacks` are
budgets and backups an annotator does not rule on when saying "correct"; they count only where a correction
or an alternative names them. Annotations of every router version take part, since they judge paths, not
versions. Verdict semantics:

- *correct*: the judged path is acceptable;
- *incorrect*: the judged path is rejected; the path with the `corrected` components applied, and every
  `acceptable` alternative, are acceptable. A correction naming a tier but no model drops the judged model
  (it belongs to the wrong tier).

Acceptable paths are ordered best first: corrections, then paths judged correct, then alternatives, each by
how many annotations proposed them, then first appearance. A path equal to a rejected one is removed; if
nothing is left the request is unresolved.

**Paths.** A path is a partial mapping over `GOLD_COMPONENTS`; a component it leaves out is not judged.
Retrieval and escalation `None` mean "none" (as a NULL `retrieval` in `decisions` does).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from routelab.evaluators.errors import EvaluatorError
from routelab.evaluators.frames import require_columns, require_unique
from routelab.evaluators.gold_paths import (
    SNAPSHOT_COMPONENTS,
    Path,
    PathValue,
    dedupe,
    normalise_path,
    parse_json,
    parse_paths,
    path_key,
)

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped,unused-ignore]  # no pandas-stubs in the dev lock yet


GOLD_RULE = (
    "adjudication (latest per judged path) > majority of annotations per judged path (any tie: unresolved) "
    "> imported label (abstain when it abstains); correct accepts the judged path (model, retrieval, cache, "
    "escalation, action), incorrect rejects it and accepts its correction and alternatives"
)

LABEL_COLUMNS = ("request_id", "abstain", "acceptable")
ANNOTATION_COLUMNS = (
    "request_id",
    "router",
    "annotator",
    "kind",
    "verdict",
    "decision_path",
    "corrected",
    "acceptable",
    "created_at",
)


class GoldSource(StrEnum):
    """Where a request's gold came from."""

    ADJUDICATED = "adjudicated"
    ANNOTATIONS = "annotations"
    IMPORT = "import"
    UNRESOLVED = "unresolved"
    ABSTAIN = "abstain"


#: Sources whose requests count as labelled (they carry acceptable paths).
LABELLED_SOURCES = (GoldSource.ADJUDICATED, GoldSource.ANNOTATIONS, GoldSource.IMPORT)


class GoldLabel(BaseModel):
    """The resolved gold of one request."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    request_id: str = Field(description="The request.")
    source: GoldSource = Field(description="Which step of the rule decided it.")
    acceptable: tuple[Path, ...] = Field(
        description="Acceptable partial paths, best first; empty unless labelled."
    )


class GoldLabels(BaseModel):
    """Gold labels of many requests, with counts by source and the rule that produced them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rule: str = Field(default=GOLD_RULE, description="The resolution rule, in words.")
    labels: tuple[GoldLabel, ...] = Field(description="One entry per request, ordered by request id.")
    counts: dict[str, int] = Field(description="Requests per source (every source present, zeros included).")

    @property
    def n_labelled(self) -> int:
        """Requests that carry acceptable paths."""
        return sum(self.counts[s.value] for s in LABELLED_SOURCES)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, rule: str = "unknown: gold given as a frame") -> GoldLabels:
        """Gold from a frame of request_id, source, acceptable (JSON text or lists), e.g. `frame()`'s output.

        Raises:
            EvaluatorError: a missing column, a repeated request, an unknown source, a labelled request
                without paths.
        """
        require_columns(frame, ("request_id", "source", "acceptable"), "gold")
        require_unique(frame, "request_id", "gold")
        labels = []
        for row in frame.to_dict(orient="records"):
            rid, source = str(row["request_id"]), row["source"]
            if source not in set(GoldSource):
                known = ", ".join(s.value for s in GoldSource)
                raise EvaluatorError(f"gold of {rid}: unknown source {source!r}; known: {known}")
            paths = parse_paths(row["acceptable"], f"gold of {rid}")
            if source in LABELLED_SOURCES and not paths:
                raise EvaluatorError(f"gold of {rid}: source {source} needs at least one acceptable path")
            labels.append(GoldLabel(request_id=rid, source=GoldSource(source), acceptable=tuple(paths)))
        return cls(rule=rule, labels=tuple(labels), counts=_count(labels))

    def frame(self) -> pd.DataFrame:
        """The labels as a DataFrame: request_id, source, acceptable (list of paths)."""
        import pandas as pd

        return pd.DataFrame(
            {
                "request_id": [g.request_id for g in self.labels],
                "source": [g.source.value for g in self.labels],
                "acceptable": [[dict(p) for p in g.acceptable] for g in self.labels],
            },
            columns=["request_id", "source", "acceptable"],
        )


def _count(labels: Iterable[GoldLabel]) -> dict[str, int]:
    """Requests per source, every source present."""
    counts = Counter(g.source.value for g in labels)
    return {s.value: counts.get(s.value, 0) for s in GoldSource}


# --- annotations ------------------------------------------------------------------------------------------


def _snapshot(row: Any) -> Path:
    """The judged path of an annotation, reduced to `SNAPSHOT_COMPONENTS`."""
    where = f"annotation of {row.request_id} by {row.annotator} ({row.router}), decision_path"
    raw = parse_json(row.decision_path, where)
    if not isinstance(raw, Mapping):
        raise EvaluatorError(
            f"{where}: the judged decision's path is missing; record judgements via annotations"
        )
    full = normalise_path(raw, where)
    return {c: full[c] for c in SNAPSHOT_COMPONENTS if c in full}


def _correction(row: Any, snapshot: Path) -> Path | None:
    """The judged path with the corrected components applied, or None without a correction."""
    where = f"annotation of {row.request_id} by {row.annotator} ({row.router}), corrected"
    raw = parse_json(row.corrected, where)
    if not raw:
        return None
    if not isinstance(raw, Mapping):
        raise EvaluatorError(f"{where}: expected an object of path components, got {raw!r}")
    fix = normalise_path(raw, where)
    out = {**snapshot, **fix}
    if "tier" in fix and "model" not in fix:
        out.pop("model", None)
    return out


class _Votes:
    """Accepted and rejected paths of one request, with the ordering rule of the module docstring."""

    def __init__(self) -> None:
        self.rank: dict[tuple[tuple[str, PathValue], ...], tuple[int, int]] = {}
        self.paths: dict[tuple[tuple[str, PathValue], ...], Path] = {}
        self.votes: Counter[tuple[tuple[str, PathValue], ...]] = Counter()
        self.rejected: set[tuple[tuple[str, PathValue], ...]] = set()

    def accept(self, path: Path, category: int) -> None:
        key = path_key(path)
        self.votes[key] += 1
        self.paths.setdefault(key, path)
        category_was, order = self.rank.get(key, (category, len(self.rank)))
        self.rank[key] = (min(category_was, category), order)

    def reject(self, path: Path) -> None:
        self.rejected.add(path_key(path))

    def add(self, verdict: str, rows: list[Any], snapshot: Path) -> None:
        """The winning verdict of one judged path, from the annotations that gave it."""
        if verdict == "correct":
            for _ in rows:
                self.accept(snapshot, 1)
            return
        self.reject(snapshot)
        for row in rows:
            fixed = _correction(row, snapshot)
            if fixed is not None:
                self.accept(fixed, 0)
            where = f"annotation of {row.request_id} by {row.annotator} ({row.router}), acceptable"
            for alt in parse_paths(row.acceptable, where):
                self.accept(alt, 2)

    def acceptable(self) -> list[Path]:
        keys = [k for k in self.paths if k not in self.rejected]
        keys.sort(key=lambda k: (self.rank[k][0], -self.votes[k], self.rank[k][1]))
        return [self.paths[k] for k in keys]


def _adjudicated(rows: list[Any]) -> list[Path]:
    """Acceptable paths from adjudications: the latest adjudication of each judged path decides it."""
    groups: dict[tuple[tuple[str, PathValue], ...], tuple[Path, list[Any]]] = {}
    for row in rows:  # rows come sorted by created_at
        snap = _snapshot(row)
        groups.setdefault(path_key(snap), (snap, []))[1].append(row)
    votes = _Votes()
    for snap, group in groups.values():
        latest = group[-1]
        votes.add(latest.verdict, [latest], snap)
    return votes.acceptable()


def _majority(rows: list[Any]) -> list[Path] | None:
    """Acceptable paths from judgements by majority per judged path; None on any tie."""
    groups: dict[tuple[tuple[str, PathValue], ...], tuple[Path, list[Any]]] = {}
    for row in rows:
        snap = _snapshot(row)
        groups.setdefault(path_key(snap), (snap, []))[1].append(row)
    votes = _Votes()
    for snap, group in groups.values():
        correct = [r for r in group if r.verdict == "correct"]
        incorrect = [r for r in group if r.verdict == "incorrect"]
        if len(correct) == len(incorrect):
            return None
        votes.add(
            *(("correct", correct) if len(correct) > len(incorrect) else ("incorrect", incorrect)), snap
        )
    return votes.acceptable()


def gold_from_annotations(annotations: pd.DataFrame) -> dict[str, GoldLabel]:
    """Gold from annotations (steps 1 and 2 of the rule) for every request with a decisive annotation.

    Raises:
        EvaluatorError: a missing column, undo rows, bad JSON or an unknown path component.
    """
    require_columns(annotations, ANNOTATION_COLUMNS, "annotations")
    undo = annotations["kind"].eq("undo")
    if undo.any():
        raise EvaluatorError(
            "annotations: contains undo rows; pass the current annotations (the `annotations_current` view, "
            "routelab.datasets.queries.annotations)"
        )
    decisive = annotations[annotations["verdict"].isin(["correct", "incorrect"])]
    decisive = decisive.sort_values(["request_id", "created_at", "router", "annotator"], kind="stable")
    out: dict[str, GoldLabel] = {}
    for request_id, group in decisive.groupby("request_id", sort=True):
        rid = str(request_id)
        rows = list(group.itertuples(index=False))
        adjudications = [r for r in rows if r.kind == "adjudication"]
        if adjudications:
            paths: list[Path] | None = _adjudicated(adjudications)
            source = GoldSource.ADJUDICATED
        else:
            paths = _majority(rows)
            source = GoldSource.ANNOTATIONS
        if not paths:
            out[rid] = GoldLabel(request_id=rid, source=GoldSource.UNRESOLVED, acceptable=())
        else:
            out[rid] = GoldLabel(request_id=rid, source=source, acceptable=tuple(paths))
    return out


def label_paths(text: object, request_id: str) -> tuple[Path, ...]:
    """The acceptable paths of one imported, non-abstaining label (its JSON text or list), deduplicated.

    Raises:
        EvaluatorError: bad JSON, an unknown component, or no acceptable path (naming the request).
    """
    paths = tuple(dedupe(parse_paths(text, f"label of {request_id}, acceptable")))
    if not paths:
        raise EvaluatorError(
            f"label of {request_id}: lists no acceptable path and does not abstain; "
            "give at least one partial path or set abstain"
        )
    return paths


def _from_labels(labels: pd.DataFrame) -> dict[str, GoldLabel]:
    """Gold from imported labels (each distinct acceptable text parsed once)."""
    require_columns(labels, LABEL_COLUMNS, "labels")
    require_unique(labels, "request_id", "labels")
    out: dict[str, GoldLabel] = {}
    ids = [str(r) for r in labels["request_id"].tolist()]
    abstains = [bool(a) for a in labels["abstain"].tolist()]
    # labels repeat a few acceptable sets: parse each distinct JSON text once (lists are parsed per row)
    parsed: dict[str, tuple[Path, ...]] = {}
    for rid, abstain, text in zip(ids, abstains, labels["acceptable"].tolist(), strict=True):
        if abstain:
            out[rid] = GoldLabel(request_id=rid, source=GoldSource.ABSTAIN, acceptable=())
            continue
        paths = parsed.get(text) if isinstance(text, str) else None
        if paths is None:
            paths = tuple(dedupe(parse_paths(text, f"label of {rid}, acceptable")))
            if isinstance(text, str):
                parsed[text] = paths
        if not paths:
            raise EvaluatorError(
                f"label of {rid}: lists no acceptable path and does not abstain; "
                "give at least one partial path or set abstain"
            )
        # the paths were validated when their text was parsed: skip re-validating one model per request
        out[rid] = GoldLabel.model_construct(request_id=rid, source=GoldSource.IMPORT, acceptable=paths)
    return out


def resolve_gold(labels: pd.DataFrame, annotations: pd.DataFrame | None = None) -> GoldLabels:
    """Resolve every request's acceptable paths by `GOLD_RULE` (see the module docstring).

    Args:
        labels: Imported labels: request_id, abstain, acceptable (JSON text or a list of partial paths).
        annotations: Current annotations (no undo rows): request_id, router, annotator, kind, verdict,
            decision_path, corrected, acceptable, created_at. None: labels only.

    Returns:
        One `GoldLabel` per request found in either frame, and the counts by source.

    Raises:
        EvaluatorError: a missing column, a repeated label, bad JSON or an unknown path component.
    """
    resolved = _from_labels(labels)
    if annotations is not None and len(annotations):
        resolved.update(gold_from_annotations(annotations))
    ordered = tuple(resolved[k] for k in sorted(resolved))
    return GoldLabels(labels=ordered, counts=_count(ordered))
