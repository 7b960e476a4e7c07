"""Caching value per workflow, and the cache hits that the annotators judged different.

- **Hit rate**: cache hits / calls whose cache flag was logged, Wilson interval.
- **Saved**: what each hit would have cost on its primary (the model logged for it), estimated as the
  median cost of that model's *reference* calls in the same workflow: calls that were not cache hits, logged
  no error, did not fall back and have a cost. Without reference calls in the workflow, the model's
  reference calls in every workflow; without any, the hit is *unestimated* (counted, not guessed). Tokens
  saved likewise from the median input + output tokens.
- **Judged different** (only where labels or annotations exist), two definitions, both reported:
  *gold: bypass*: the request's resolved gold (`gold.resolve_gold`: adjudications, then annotation
  majorities, then imported labels) is labelled and **no** acceptable path accepts serving from cache, i.e.
  every acceptable path names the cache component as ``bypass`` (a path that leaves cache out does not judge
  it, so it accepts a hit). *annotation: incorrect*: a current annotation (judgement or adjudication) of the
  request gave the verdict ``incorrect`` to a decision whose path served from cache (``decision_path.cache
  = serve``); the looser signal, since the annotator may have rejected the path for another component.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from routelab.evaluators.frames import is_missing, require_columns
from routelab.evaluators.gold import LABELLED_SOURCES, GoldLabels
from routelab.evaluators.gold_paths import parse_json
from routelab.evaluators.intervals import wilson
from routelab.evaluators.ops_frame import examples
from routelab.evaluators.ops_types import CacheJudged, CacheRow, Caching

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped,unused-ignore]  # no pandas-stubs in the dev lock yet

GOLD_BYPASS: Final = "gold: bypass"
ANNOTATION_INCORRECT: Final = "annotation: incorrect"


def gold_bypass(gold: GoldLabels | None) -> set[str]:
    """Requests whose labelled gold accepts no path that serves from cache."""
    if gold is None:
        return set()
    return {
        g.request_id
        for g in gold.labels
        if g.source in LABELLED_SOURCES
        and g.acceptable
        and all(p.get("cache") == "bypass" for p in g.acceptable)
    }


def _served_from_cache(path: Any) -> bool:
    parsed = parse_json(path, "annotation decision_path")
    return isinstance(parsed, dict) and parsed.get("cache") == "serve"


def disputed(annotations: pd.DataFrame | None) -> set[str]:
    """Requests with a current `incorrect` verdict on a decision that served from cache."""
    if annotations is None or annotations.empty:
        return set()
    require_columns(annotations, ("request_id", "kind", "verdict", "decision_path"), "annotations")
    rows = annotations[annotations["kind"].isin(["judgement", "adjudication"])]
    rows = rows[rows["verdict"].eq("incorrect")]
    return {str(r.request_id) for r in rows.itertuples(index=False) if _served_from_cache(r.decision_path)}


def _estimates(f: pd.DataFrame, hits: pd.DataFrame) -> pd.DataFrame:
    """Per hit, the estimated cost and tokens it saved (NaN where unestimated)."""
    ref = f[~f["hit"] & ~f["is_error"] & ~f["is_fallback"] & f["cost_usd"].notna()]
    cols = ["cost_usd", "tokens"]
    by_pair = ref.groupby(["workflow", "model"])[cols].median()
    by_model = ref.groupby("model")[cols].median()
    pair = by_pair.reindex(list(zip(hits["workflow"], hits["model"], strict=True)))
    model = by_model.reindex(hits["model"].to_list())
    out = pair.reset_index(drop=True).fillna(model.reset_index(drop=True))
    out.index = hits.index
    return out


def caching(
    f: pd.DataFrame,
    gold: GoldLabels | None,
    annotations: pd.DataFrame | None,
    confidence: float,
    n_examples: int,
) -> Caching:
    """Hit rate, tokens and USD saved per workflow; the hits judged different (module docstring)."""
    hits = f[f["hit"]]
    saved = _estimates(f, hits)
    bypass, against = gold_bypass(gold), disputed(annotations)
    labelled = {g.request_id for g in gold.labels if g.source in LABELLED_SOURCES} if gold else set()
    annotated = set() if annotations is None else set(annotations["request_id"].astype(str))
    hit_ids = hits["request_id"].astype(str)
    flagged = hits.assign(
        j_bypass=hit_ids.isin(bypass),
        j_disputed=hit_ids.isin(against),
        est_saved=saved["cost_usd"],
        est_tokens=saved["tokens"],
    )
    flagged["j_any"] = (flagged["j_bypass"] | flagged["j_disputed"]).astype(int)
    ids = examples(flagged, flagged["workflow"], ["j_any", "est_saved"], [False, False], n_examples)
    rows = []
    for workflow, g in f.groupby("workflow", sort=True):
        h = flagged[flagged["workflow"] == workflow]
        rows.append(
            CacheRow(
                workflow=str(workflow),
                requests=len(g),
                hits=len(h),
                hit_rate=wilson(len(h), int(g["cache_known"].sum()), confidence),
                tokens_saved=float(h["est_tokens"].sum()),
                saved_usd=float(h["est_saved"].sum()),
                unestimated=int(h["est_saved"].isna().sum()),
                judged_bypass=int(h["j_bypass"].sum()),
                disputed=int(h["j_disputed"].sum()),
                examples=list(ids.get(workflow, [])),
            )
        )
    rows.sort(key=lambda r: (-r.saved_usd, -r.hits, r.workflow))
    judged = [
        CacheJudged(
            request_id=str(r.request_id),
            ts=None if is_missing(r.ts) else r.ts,
            workflow=r.workflow,
            model=r.model,
            reason=reason,
        )
        for r in flagged.sort_values(["ts", "request_id"], kind="stable").itertuples(index=False)
        for reason, on in ((GOLD_BYPASS, r.j_bypass), (ANNOTATION_INCORRECT, r.j_disputed))
        if on
    ]
    return Caching(
        rows=rows,
        judged=judged,
        labelled_hits=int(hit_ids.isin(labelled).sum()),
        annotated_hits=int(hit_ids.isin(annotated).sum()),
    )
