"""Comparing two router versions on the same requests: flips, accuracy, cost, latency and slices.

**Population.** The decision frames are joined on request_id; a request only one version decided is dropped
and counted (`coverage`). Flips, cost and latency use every paired request; accuracy uses the labelled ones
(gold source adjudicated, annotations or import), judged as `accuracy` judges them: a decision is right when
it matches any acceptable path (`gold.matches` on the decision's normalised path).

- **Path**: model + retrieval + escalation + action, shown as ``model | retrieval | escalation | action``
  (no retrieval or escalation is ``none``; a missing model, as on a blocked request, is ``-``). Gold may also
  judge cache, tier or context budget, so a request can be fixed or broken without its path changing.
- **Flips**: M[a, b] = requests the baseline routed to path a and the candidate to b; flip rate 1 − trace/n
  with its Wilson interval; the same per component (model, retrieval, escalation, action).
- **Buckets** (labelled requests): *fixed* (baseline wrong, candidate right), *broken* (the reverse); else
  *changed_both_right* / *changed_both_wrong* when the path changed, *unchanged_right* / *unchanged_wrong*
  when not. Each: count, share of the labelled (Wilson) and the first `examples` request ids in id order.
- **Accuracy**: acceptable-set accuracy of each version (Wilson); delta = candidate − baseline with Newcombe's
  paired interval and McNemar's p (exact below 25 discordant pairs), `stats.paired_accuracy_delta`.
- **Cost**: the totals of est_cost_usd are observed sums, not estimates (method ``observed``, zero-width
  interval). delta = paired bootstrap of the sum; ``delta_per_1k`` = the same resamples scaled by 1000/n
  (statistic `per_1k`); ``delta_pct`` = `stats.paired_bootstrap_pct` of the sum (None when the baseline
  costs nothing and the candidate does). **Latency**: p50 and p95 of est_latency_ms, observed per version,
  delta by paired bootstrap of the quantile. Every bootstrap uses `seed`, hence the same resampled requests.
- **Slices**: per value of each `by` field (a request field, or ``week`` = ISO week of ts): n, the accuracy
  comparison, the cost totals and delta. Every slice with a labelled request is one McNemar test; the
  p-values of all of them (every field) are adjusted together by Benjamini–Hochberg, and a slice is
  ``significant`` when its adjusted p is <= `fdr_level`. Ranked by **impact** = n × |accuracy delta|: the
  net number of the slice's requests (labelled or not) expected to turn right or wrong; ties (and slices
  without labels, impact 0) by **cost impact** = |cost delta| in USD, then field order and value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from routelab.evaluators.accuracy_types import PATH_COLUMNS
from routelab.evaluators.compare_metrics import (
    SIDES,
    Settings,
    accuracy_comparison,
    cost_comparison,
    flip_summary,
    latency_comparison,
    slice_comparison,
)
from routelab.evaluators.compare_types import (
    PATH_KEY_COMPONENTS,
    CompareParams,
    CompareResult,
    Coverage,
)
from routelab.evaluators.errors import EvaluatorError, InvalidCountError
from routelab.evaluators.gold import LABELLED_SOURCES, GoldLabels, GoldSource
from routelab.evaluators.judging import Judge, normalise_decisions
from routelab.evaluators.paired_counts import PairedCounts, counts_from_frame
from routelab.evaluators.registry import evaluator

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped,unused-ignore]  # no pandas-stubs in the dev lock yet

# --- pairing and judging ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PairedDecisions:
    """Two versions' decisions joined per request and judged against gold.

    `frame` has one row per request both versions decided, ordered by request_id: ``request_id``, ``status``
    (gold source or ``unlabelled``), ``labelled`` (bool), and per side (suffix ``_base`` / ``_cand``) the
    normalised `PATH_COLUMNS`, ``path`` (readable key), ``ok`` (nullable boolean: NA unless labelled),
    ``est_cost_usd``, ``est_latency_ms`` and ``rule_id`` when the decisions carry it.
    """

    frame: pd.DataFrame
    baseline: str | None
    candidate: str | None
    dropped_baseline: int
    dropped_candidate: int

    def correctness(self) -> pd.DataFrame:
        """request_id, base_correct, cand_correct (NA unless labelled): attribution's `correctness`."""
        renamed = {"ok_base": "base_correct", "ok_cand": "cand_correct"}
        return self.frame[["request_id", *renamed]].rename(columns=renamed)


def pair_decisions(
    base_decisions: pd.DataFrame, cand_decisions: pd.DataFrame, gold: GoldLabels | pd.DataFrame
) -> PairedDecisions:
    """Join two versions' decisions on request_id and judge each against gold (see the module docstring).

    Raises:
        EvaluatorError: a missing column, a repeated request, several versions in one frame, missing
            estimates, or no request decided by both.
    """

    import numpy as np
    import pandas as pd

    if not isinstance(gold, GoldLabels):
        gold = GoldLabels.from_frame(gold)
    base, base_ref = normalise_decisions(base_decisions, "base_decisions")
    cand, cand_ref = normalise_decisions(cand_decisions, "cand_decisions")
    frame = base.merge(cand, on="request_id", suffixes=("_base", "_cand"), validate="one_to_one")
    if frame.empty:
        raise EvaluatorError(
            f"base_decisions ({base_ref}) and cand_decisions ({cand_ref}) share no request; replay both "
            "versions over the same traffic"
        )
    frame = frame.sort_values("request_id", kind="stable", ignore_index=True)
    # each request's gold label (None: none), found by index rather than one dict lookup per row
    pos = pd.Index([g.request_id for g in gold.labels]).get_indexer(frame["request_id"])
    by_pos = [*gold.labels, None]
    labels = [by_pos[i] for i in pos.tolist()]  # pos -1 (no gold) picks the trailing None
    sources = np.array([*(g.source.value for g in gold.labels), "unlabelled"], dtype=object)
    frame["status"] = sources[pos]
    frame["labelled"] = frame["status"].isin([s.value for s in LABELLED_SOURCES]).to_numpy(dtype=bool)
    judge = Judge()
    for side in SIDES:
        frame[f"ok_{side}"] = judge.verdicts(labels, frame[[f"{c}_{side}" for c in PATH_COLUMNS]])
    return PairedDecisions(
        frame=frame,
        baseline=base_ref,
        candidate=cand_ref,
        dropped_baseline=len(base) - len(frame),
        dropped_candidate=len(cand) - len(frame),
    )


# --- the metrics --------------------------------------------------------------------------------------------


# --- the evaluator ------------------------------------------------------------------------------------------


@evaluator(
    "compare",
    "Two versions on the same requests: flips, paired accuracy, cost and latency deltas, slices.",
)
def compare_versions(
    base_decisions: pd.DataFrame,
    cand_decisions: pd.DataFrame,
    gold: GoldLabels | pd.DataFrame,
    requests: pd.DataFrame | None = None,
    by: Sequence[str] = (),
    seed: int = 0,
    n_resamples: int = 2000,
    confidence: float = 0.95,
    examples: int = 5,
    fdr_level: float = 0.05,
    paired: PairedDecisions | None = None,
) -> CompareResult:
    """Compare a candidate version's decisions with a baseline's on the same requests (module docstring).

    Args:
        base_decisions: The baseline's decisions, one row per request: request_id, model, tier, retrieval,
            context_tokens, cache, escalation, action, est_cost_usd, est_latency_ms (router, rule_id and
            other columns optional).
        cand_decisions: The candidate's, the same columns.
        gold: `resolve_gold`'s result, or a frame of request_id, source, acceptable.
        requests: request_id and the `by` fields (ts for `week`); None when `by` is empty.
        by: Request fields to slice by; `week` is the ISO week of ts.
        seed: Seed of every paired bootstrap (recorded).
        n_resamples: Resamples of every paired bootstrap.
        confidence: Confidence level of every interval.
        examples: Most example request ids per flip bucket.
        fdr_level: Benjamini–Hochberg level at which a slice is flagged `significant`.
        paired: `pair_decisions(base_decisions, cand_decisions, gold)` when the caller already has it (the
            attribution step needs it too); computed here otherwise.

    Raises:
        EvaluatorError: bad input (a missing column, repeated requests, no shared request, a bad parameter).
    """
    if isinstance(examples, bool) or not isinstance(examples, int) or examples < 0:
        raise InvalidCountError("examples", f"is {examples!r}", "pass a whole number >= 0")
    if not isinstance(gold, GoldLabels):
        gold = GoldLabels.from_frame(gold)
    if paired is None:
        paired = pair_decisions(base_decisions, cand_decisions, gold)
    fields = list(dict.fromkeys(by))
    counts = counts_from_frame(
        paired.frame,
        paired.baseline,
        paired.candidate,
        (paired.dropped_baseline, paired.dropped_candidate),
        requests,
        fields,
        examples,
    )
    return compare_counts(
        counts,
        gold_rule=gold.rule,
        gold_counts=gold.counts,
        by=by,
        seed=seed,
        n_resamples=n_resamples,
        confidence=confidence,
        examples=examples,
        fdr_level=fdr_level,
    )


def compare_counts(
    counts: PairedCounts,
    *,
    gold_rule: str,
    gold_counts: Mapping[str, int],
    by: Sequence[str] = (),
    seed: int = 0,
    n_resamples: int = 2000,
    confidence: float = 0.95,
    examples: int = 5,
    fdr_level: float = 0.05,
) -> CompareResult:
    """`compare_versions`' result from the paired requests' sufficient statistics (`PairedCounts`).

    What `compare_versions` computes after pairing, for callers that counted the pairs elsewhere (inside
    DuckDB for a store of millions of requests: `app.paired_store`); equal counts give an equal result.

    Args:
        counts: The counts, with slices for each of `by` and bucket examples up to `examples`.
        gold_rule: The gold resolution rule (recorded).
        gold_counts: Requests per gold source before pairing (recorded).
        by, seed, n_resamples, confidence, examples, fdr_level: As for `compare_versions` (recorded).

    Raises:
        EvaluatorError: no paired request, or slices missing for a `by` field.
    """
    if isinstance(examples, bool) or not isinstance(examples, int) or examples < 0:
        raise InvalidCountError("examples", f"is {examples!r}", "pass a whole number >= 0")
    fields = list(dict.fromkeys(by))
    if list(counts.slices) != fields:
        raise EvaluatorError(
            f"counts have slices by {', '.join(counts.slices) or 'nothing'}; "
            f"by asks {', '.join(fields) or 'nothing'}: count the slices by the same fields"
        )
    n = counts.n
    if not n:
        raise EvaluatorError("the two versions share no request; replay both versions over the same traffic")
    s = Settings(seed=seed, n_resamples=n_resamples, confidence=confidence)
    warnings: list[str] = []
    for side, dropped in (("baseline", counts.dropped_baseline), ("candidate", counts.dropped_candidate)):
        if dropped:
            warnings.append(
                f"{dropped} {side} decision(s) have no counterpart in the other version: left out"
            )
    cells = counts.cells
    labelled = int(cells.loc[(cells["ok_b"] >= 0) & (cells["ok_c"] >= 0), "n"].sum())
    if not labelled:
        warnings.append("no compared request is labelled: accuracy deltas are undefined")
    status = cells.groupby("status")["n"].sum()
    gold_status = [*(g.value for g in GoldSource), "unlabelled"]
    return CompareResult(
        params=CompareParams(
            baseline=counts.baseline,
            candidate=counts.candidate,
            by=tuple(by),
            seed=seed,
            n_resamples=n_resamples,
            confidence=confidence,
            examples=examples,
            fdr_level=fdr_level,
            path_components=PATH_KEY_COMPONENTS,
            gold_rule=gold_rule,
            gold_counts=dict(gold_counts),
        ),
        baseline=counts.baseline,
        candidate=counts.candidate,
        n=n,
        coverage=Coverage(
            n=n,
            dropped_baseline=counts.dropped_baseline,
            dropped_candidate=counts.dropped_candidate,
            gold={k: int(status.get(k, 0)) for k in gold_status},
            labelled=labelled,
        ),
        accuracy=accuracy_comparison(cells, confidence),
        cost=cost_comparison(counts, s, warnings),
        latency=latency_comparison(counts, s),
        flips=flip_summary(counts, confidence),
        slices=slice_comparison(counts, s, fdr_level),
        warnings=tuple(warnings),
    )
