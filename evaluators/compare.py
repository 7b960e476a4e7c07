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

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from routelab.evaluators.accuracy import DECISION_COLUMNS, MISSING, PATH_COLUMNS
from routelab.evaluators.errors import EvaluatorError, InvalidCountError, ZeroBaselineError
from routelab.evaluators.frames import FrameError, is_missing, iso_week, require_columns, require_unique
from routelab.evaluators.gold import LABELLED_SOURCES, GoldLabels, GoldSource, matches, normalise_value
from routelab.evaluators.stats import (
    BootstrapEstimate,
    Estimate,
    StatisticName,
    benjamini_hochberg,
    paired_accuracy_delta,
    paired_bootstrap,
    paired_bootstrap_pct,
    quantile,
    wilson,
)

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd  # type: ignore[import-untyped,unused-ignore]  # no pandas-stubs in the dev lock yet
    from numpy.typing import NDArray

#: Components that make up a path in the flip matrix, in the order of its readable key.
PATH_KEY_COMPONENTS = ("model", "retrieval", "escalation", "action")
BUCKETS = (
    "fixed",
    "broken",
    "changed_both_right",
    "changed_both_wrong",
    "unchanged_right",
    "unchanged_wrong",
)
RANKING = "impact = n × |accuracy delta| desc, then cost impact = |cost delta usd| desc, then field, value"
_SIDES = ("base", "cand")


def per_1k(x: NDArray[np.float64]) -> NDArray[np.float64]:
    """Bootstrap statistic of `delta_per_1k`: 1000 × the mean of the last axis (cost per 1,000 requests)."""
    out: NDArray[np.float64] = 1000.0 * x.mean(axis=-1)
    return out


def _observed(value: float, n: int, confidence: float) -> Estimate:
    """A quantity computed from all the data, not estimated: its interval is the value itself."""
    return Estimate(value=value, ci_low=value, ci_high=value, n=n, method="observed", confidence=confidence)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CompareParams(_Frozen):
    """Everything that produced a `CompareResult`, so it can be recomputed."""

    baseline: str | None = Field(description="Baseline version (`router` column); None when absent.")
    candidate: str | None = Field(description="Candidate version (`router` column); None when absent.")
    by: tuple[str, ...] = Field(description="Request fields sliced by (`week` = ISO week of ts).")
    seed: int = Field(description="Seed of every paired bootstrap.")
    n_resamples: int = Field(description="Resamples of every paired bootstrap.")
    confidence: float = Field(description="Confidence level of every interval.")
    examples: int = Field(description="Most example request ids per flip bucket.")
    fdr_level: float = Field(description="Benjamini–Hochberg level for the slices' `significant` flag.")
    path_components: tuple[str, ...] = Field(description="Components of a path in the flip matrix.")
    gold_rule: str = Field(description="The gold resolution rule.")
    gold_counts: dict[str, int] = Field(description="Requests per gold source, before pairing.")


class Coverage(_Frozen):
    """Which requests the comparison covers."""

    n: int = Field(description="Requests both versions decided (the comparison's population).")
    dropped_baseline: int = Field(description="Baseline decisions without a candidate decision, left out.")
    dropped_candidate: int = Field(description="Candidate decisions without a baseline decision, left out.")
    gold: dict[str, int] = Field(description="Paired requests per gold status (sources and `unlabelled`).")
    labelled: int = Field(description="Paired requests with acceptable paths: the accuracy population.")


class FlipMatrix(_Frozen):
    """Baseline value × candidate value counts over the paired requests."""

    matrix: dict[str, dict[str, int]] = Field(description="Baseline → candidate → requests (non-zero cells).")
    changed: int = Field(description="Requests off the diagonal: n − trace.")
    rate: Estimate = Field(description="Flip rate 1 − trace/n, Wilson interval.")


class Bucket(_Frozen):
    """One class of labelled requests by what the change did to them."""

    count: int = Field(description="Labelled requests in the bucket.")
    share: Estimate = Field(description="count / labelled requests, Wilson interval.")
    examples: tuple[str, ...] = Field(description="The first request ids of the bucket, in id order.")


class Flips(FlipMatrix):
    """Where the paired requests went: the path flip matrix, per component, and the correctness buckets."""

    n: int = Field(description="Paired requests.")
    components: dict[str, FlipMatrix] = Field(description="The flip matrix of each path component.")
    labelled: int = Field(description="Labelled paired requests: the buckets' population.")
    buckets: dict[str, Bucket] = Field(description=f"By name: {', '.join(BUCKETS)}.")


class AccuracyComparison(_Frozen):
    """Acceptable-set accuracy of both versions on the same labelled requests."""

    baseline: Estimate = Field(description="Baseline accuracy, Wilson interval.")
    candidate: Estimate = Field(description="Candidate accuracy, Wilson interval.")
    delta: Estimate = Field(description="candidate − baseline: Newcombe paired interval, McNemar p_value.")


class CostTotals(_Frozen):
    """Total estimated cost (USD) of both versions on the same requests and its paired delta."""

    baseline: Estimate = Field(description="Baseline total est_cost_usd (observed).")
    candidate: Estimate = Field(description="Candidate total est_cost_usd (observed).")
    delta: BootstrapEstimate = Field(description="candidate − baseline total, paired bootstrap of the sum.")


class CostComparison(CostTotals):
    """`CostTotals` plus the delta per 1,000 requests and in percent."""

    delta_per_1k: BootstrapEstimate = Field(description="Delta per 1,000 requests (statistic `per_1k`).")
    delta_pct: BootstrapEstimate | None = Field(
        description="100 · delta / baseline total; None when the baseline costs 0 and the candidate not."
    )


class LatencyQuantile(_Frozen):
    """One quantile of est_latency_ms for both versions and its paired delta."""

    baseline: Estimate = Field(description="Baseline quantile, ms (observed).")
    candidate: Estimate = Field(description="Candidate quantile, ms (observed).")
    delta: BootstrapEstimate = Field(description="candidate − baseline, ms, paired bootstrap.")


class LatencyComparison(_Frozen):
    """Latency quantiles (type 7, `stats.quantile`) of both versions."""

    p50: LatencyQuantile = Field(description="Median.")
    p95: LatencyQuantile = Field(description="95th percentile.")


class SliceDelta(_Frozen):
    """The comparison restricted to one value of one request field."""

    value: str = Field(description=f"The field's value (`{MISSING}` when the request has none).")
    n: int = Field(description="Paired requests in the slice.")
    labelled: int = Field(description="Labelled paired requests in the slice.")
    accuracy: AccuracyComparison = Field(
        description="Accuracy of both versions and the delta, raw McNemar p."
    )
    p_adjusted: float | None = Field(description="Benjamini–Hochberg adjusted p; None without a test.")
    significant: bool = Field(description="p_adjusted <= fdr_level.")
    cost: CostTotals = Field(description="Cost totals and delta on the slice.")
    impact: float = Field(description="n × |accuracy delta| (0 without labelled requests).")
    cost_impact_usd: float = Field(description="|cost delta| in USD.")
    rank: int = Field(description="Rank among all slices of the comparison, 1 = most impact.")


class SliceComparison(_Frozen):
    """Every slice, with multiple-testing control across all of them."""

    multiple_testing: Literal["benjamini-hochberg"] = Field(
        default="benjamini-hochberg", description="Adjustment of the slices' McNemar p-values."
    )
    fdr_level: float = Field(description="False discovery rate level of `significant`.")
    n_tests: int = Field(description="Slices tested (with a labelled request), every field together.")
    ranking: str = Field(default=RANKING, description="How each field's slices are ordered.")
    by: dict[str, list[SliceDelta]] = Field(description="Field → its slices, ranked.")


class CompareResult(_Frozen):
    """Candidate against baseline on the same requests (the `--json` document of `routelab compare`)."""

    evaluator: Literal["compare"] = Field(default="compare", description="The evaluator's name.")
    params: CompareParams = Field(description="What produced the result.")
    baseline: str | None = Field(description="Baseline version.")
    candidate: str | None = Field(description="Candidate version.")
    n: int = Field(description="Requests compared (decided by both).")
    coverage: Coverage = Field(description="Dropped requests and gold status of the compared ones.")
    accuracy: AccuracyComparison = Field(description="On the labelled requests.")
    cost: CostComparison = Field(description="Estimated cost.")
    latency: LatencyComparison = Field(description="Estimated latency.")
    flips: Flips = Field(description="Flip matrices and correctness buckets.")
    slices: SliceComparison = Field(description="Per slice, ranked, with Benjamini–Hochberg control.")
    warnings: tuple[str, ...] = Field(description="What the comparison had to leave out, and why.")


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


def _text(value: object) -> str:
    return "-" if value is None else str(value)


def _side(decisions: pd.DataFrame, what: str) -> tuple[pd.DataFrame, str | None]:
    """Normalised path components, path key and estimates of one version, and its `router`."""
    import numpy as np
    import pandas as pd

    require_columns(decisions, DECISION_COLUMNS, what)
    require_unique(decisions, "request_id", what)
    routers = decisions["router"].dropna().unique().tolist() if "router" in decisions.columns else []
    if len(routers) > 1:
        raise EvaluatorError(f"{what}: several router versions ({', '.join(map(str, routers))}); pass one")
    out = pd.DataFrame({"request_id": [str(r) for r in decisions["request_id"]]})
    for c in PATH_COLUMNS:
        out[c] = pd.Series([normalise_value(c, v) for v in decisions[c]], dtype=object)
    out["path"] = [
        " | ".join(map(_text, vals)) for vals in zip(*(out[c] for c in PATH_KEY_COMPONENTS), strict=True)
    ]
    for c in ("est_cost_usd", "est_latency_ms"):
        values = pd.to_numeric(decisions[c], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(values)
        if bad.any():
            first = out["request_id"][bad].iloc[0]
            raise FrameError(
                f"{what}: {c} is missing or not finite for {int(bad.sum())} request(s), e.g. {first}; "
                "replay the version so every decision carries its estimates"
            )
        out[c] = values
    if "rule_id" in decisions.columns:
        out["rule_id"] = decisions["rule_id"].to_numpy()
    return out, str(routers[0]) if routers else None


def pair_decisions(
    base_decisions: pd.DataFrame, cand_decisions: pd.DataFrame, gold: GoldLabels | pd.DataFrame
) -> PairedDecisions:
    """Join two versions' decisions on request_id and judge each against gold (see the module docstring).

    Raises:
        EvaluatorError: a missing column, a repeated request, several versions in one frame, missing
            estimates, or no request decided by both.
    """
    import pandas as pd

    if not isinstance(gold, GoldLabels):
        gold = GoldLabels.from_frame(gold)
    base, base_ref = _side(base_decisions, "base_decisions")
    cand, cand_ref = _side(cand_decisions, "cand_decisions")
    frame = base.merge(cand, on="request_id", suffixes=("_base", "_cand"), validate="one_to_one")
    if frame.empty:
        raise EvaluatorError(
            f"base_decisions ({base_ref}) and cand_decisions ({cand_ref}) share no request; replay both "
            "versions over the same traffic"
        )
    frame = frame.sort_values("request_id", kind="stable", ignore_index=True)
    gold_map = {g.request_id: g for g in gold.labels}
    labels = [gold_map.get(r) for r in frame["request_id"]]
    frame["status"] = [g.source.value if g else "unlabelled" for g in labels]
    frame["labelled"] = frame["status"].isin([s.value for s in LABELLED_SOURCES]).to_numpy(dtype=bool)
    for side in _SIDES:
        decided = frame[[f"{c}_{side}" for c in PATH_COLUMNS]].to_numpy(dtype=object)
        ok = [
            any(matches(p, dict(zip(PATH_COLUMNS, row, strict=True))) for p in g.acceptable)
            if g is not None and g.source in LABELLED_SOURCES
            else None
            for g, row in zip(labels, decided, strict=True)
        ]
        frame[f"ok_{side}"] = pd.array(ok, dtype="boolean")
    return PairedDecisions(
        frame=frame,
        baseline=base_ref,
        candidate=cand_ref,
        dropped_baseline=len(base) - len(frame),
        dropped_candidate=len(cand) - len(frame),
    )


# --- the metrics --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Settings:
    seed: int
    n_resamples: int
    confidence: float

    def boot(self, frame: pd.DataFrame, column: str, statistic: StatisticName) -> BootstrapEstimate:
        base = frame[f"{column}_base"].to_numpy(dtype=float)
        cand = frame[f"{column}_cand"].to_numpy(dtype=float)
        return paired_bootstrap(
            base,
            cand,
            statistic=statistic,
            n_resamples=self.n_resamples,
            confidence=self.confidence,
            seed=self.seed,
        )


def _flip_matrix(base: pd.Series, cand: pd.Series, confidence: float) -> FlipMatrix:
    counts = base.to_frame("a").assign(b=cand.to_numpy()).groupby(["a", "b"], sort=True).size()
    matrix: dict[str, dict[str, int]] = {}
    for (a, b), k in counts.items():
        matrix.setdefault(str(a), {})[str(b)] = int(k)
    changed = int((base.to_numpy() != cand.to_numpy()).sum())
    return FlipMatrix(matrix=matrix, changed=changed, rate=wilson(changed, len(base), confidence))


def _flips(frame: pd.DataFrame, examples: int, confidence: float) -> Flips:
    path = _flip_matrix(frame["path_base"], frame["path_cand"], confidence)
    components = {
        c: _flip_matrix(frame[f"{c}_base"].map(_text), frame[f"{c}_cand"].map(_text), confidence)
        for c in PATH_KEY_COMPONENTS
    }
    lab = frame[frame["labelled"]]
    ok_b, ok_c = lab["ok_base"].astype(bool), lab["ok_cand"].astype(bool)
    moved = lab["path_base"] != lab["path_cand"]
    masks = {
        "fixed": ~ok_b & ok_c,
        "broken": ok_b & ~ok_c,
        "changed_both_right": ok_b & ok_c & moved,
        "changed_both_wrong": ~ok_b & ~ok_c & moved,
        "unchanged_right": ok_b & ok_c & ~moved,
        "unchanged_wrong": ~ok_b & ~ok_c & ~moved,
    }
    buckets = {
        name: Bucket(
            count=int(mask.sum()),
            share=wilson(int(mask.sum()), len(lab), confidence),
            examples=tuple(lab.loc[mask, "request_id"].iloc[:examples]),  # frame is ordered by request_id
        )
        for name, mask in masks.items()
    }
    return Flips(**path.model_dump(), n=len(frame), components=components, labelled=len(lab), buckets=buckets)


def _accuracy(frame: pd.DataFrame, confidence: float) -> AccuracyComparison:
    lab = frame[frame["labelled"]]
    ok_b, ok_c = lab["ok_base"].to_numpy(dtype=bool), lab["ok_cand"].to_numpy(dtype=bool)
    return AccuracyComparison(
        baseline=wilson(int(ok_b.sum()), len(lab), confidence),
        candidate=wilson(int(ok_c.sum()), len(lab), confidence),
        delta=paired_accuracy_delta(ok_b, ok_c, confidence=confidence),
    )


def _cost_totals(frame: pd.DataFrame, s: _Settings) -> CostTotals:
    n = len(frame)
    return CostTotals(
        baseline=_observed(float(frame["est_cost_usd_base"].sum()), n, s.confidence),
        candidate=_observed(float(frame["est_cost_usd_cand"].sum()), n, s.confidence),
        delta=s.boot(frame, "est_cost_usd", "sum"),
    )


def _cost(frame: pd.DataFrame, s: _Settings, warnings: list[str]) -> CostComparison:
    totals = _cost_totals(frame, s)
    d = totals.delta
    scale = 1000.0 / len(frame)  # sum/n = mean on every resample: the same resamples give the per-1k delta
    per_1k_delta = d.model_copy(
        update={
            "value": None if d.value is None else d.value * scale,
            "ci_low": d.ci_low * scale,
            "ci_high": d.ci_high * scale,
            "statistic": "per_1k",
        }
    )
    pct: BootstrapEstimate | None
    try:
        pct = paired_bootstrap_pct(
            frame["est_cost_usd_base"].to_numpy(dtype=float),
            frame["est_cost_usd_cand"].to_numpy(dtype=float),
            statistic="sum",
            n_resamples=s.n_resamples,
            confidence=s.confidence,
            seed=s.seed,
        )
    except ZeroBaselineError:
        pct = None
        warnings.append("cost.delta_pct undefined: the baseline's total cost is 0 and the candidate's is not")
    return CostComparison(**dict(totals), delta_per_1k=per_1k_delta, delta_pct=pct)


def _latency(frame: pd.DataFrame, s: _Settings) -> LatencyComparison:
    def one(statistic: Literal["p50", "p95"], q: float) -> LatencyQuantile:
        obs = {side: quantile(frame[f"est_latency_ms_{side}"], q) for side in _SIDES}
        return LatencyQuantile(
            baseline=_observed(obs["base"], len(frame), s.confidence),
            candidate=_observed(obs["cand"], len(frame), s.confidence),
            delta=s.boot(frame, "est_latency_ms", statistic),
        )

    return LatencyComparison(p50=one("p50", 0.5), p95=one("p95", 0.95))


def _slice_keys(frame: pd.DataFrame, requests: pd.DataFrame | None, by: Sequence[str]) -> pd.DataFrame:
    """The `by` fields of each paired request as text, aligned with `frame`."""
    if requests is None:
        raise EvaluatorError(f"slices by {', '.join(by)} need the requests frame; pass `requests`")
    need = ["request_id", *dict.fromkeys("ts" if f == "week" else f for f in by)]
    require_columns(requests, need, "requests")
    require_unique(requests, "request_id", "requests")
    fields = requests[need].assign(request_id=requests["request_id"].astype(str))
    if "week" in by:
        fields["week"] = iso_week(fields["ts"])
    keys = frame[["request_id"]].merge(fields, on="request_id", how="left", validate="one_to_one")
    return keys[list(dict.fromkeys(by))].map(lambda v: MISSING if is_missing(v) else str(v))


def _slices(
    frame: pd.DataFrame, requests: pd.DataFrame | None, by: Sequence[str], s: _Settings, fdr_level: float
) -> SliceComparison:
    if not by:
        return SliceComparison(fdr_level=fdr_level, n_tests=0, by={})
    keys = _slice_keys(frame, requests, by)
    rows: list[dict[str, Any]] = []
    for order, field in enumerate(dict.fromkeys(by)):
        for value, group in frame.groupby(keys[field].to_numpy(), sort=True):
            acc = _accuracy(group, s.confidence)
            cost = _cost_totals(group, s)
            delta = acc.delta.value
            rows.append(
                {
                    "field": field,
                    "order": order,
                    "value": str(value),
                    "n": len(group),
                    "labelled": int(group["labelled"].sum()),
                    "accuracy": acc,
                    "cost": cost,
                    "impact": len(group) * abs(delta) if delta is not None else 0.0,
                    "cost_impact_usd": abs(cost.delta.value or 0.0),
                }
            )
    tested = [r["labelled"] > 0 for r in rows]
    raw = [r["accuracy"].delta.p_value if t else float("nan") for r, t in zip(rows, tested, strict=True)]
    for r, t, p in zip(rows, tested, benjamini_hochberg(raw), strict=True):
        r["p_adjusted"] = p if t else None
        r["significant"] = t and p <= fdr_level
    rows.sort(key=lambda r: (-r["impact"], -r["cost_impact_usd"], r["order"], r["value"]))
    out: dict[str, list[SliceDelta]] = {f: [] for f in dict.fromkeys(by)}
    for rank, r in enumerate(rows, start=1):
        field = r.pop("field")
        del r["order"]
        out[field].append(SliceDelta(**r, rank=rank))
    return SliceComparison(fdr_level=fdr_level, n_tests=sum(tested), by=out)


# --- the evaluator ------------------------------------------------------------------------------------------


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

    Raises:
        EvaluatorError: bad input (a missing column, repeated requests, no shared request, a bad parameter).
    """
    if isinstance(examples, bool) or not isinstance(examples, int) or examples < 0:
        raise InvalidCountError("examples", f"is {examples!r}", "pass a whole number >= 0")
    if not isinstance(gold, GoldLabels):
        gold = GoldLabels.from_frame(gold)
    paired = pair_decisions(base_decisions, cand_decisions, gold)
    frame = paired.frame
    s = _Settings(seed=seed, n_resamples=n_resamples, confidence=confidence)
    warnings: list[str] = []
    for side, dropped in (("baseline", paired.dropped_baseline), ("candidate", paired.dropped_candidate)):
        if dropped:
            warnings.append(
                f"{dropped} {side} decision(s) have no counterpart in the other version: left out"
            )
    labelled = int(frame["labelled"].sum())
    if not labelled:
        warnings.append("no compared request is labelled: accuracy deltas are undefined")
    status = frame["status"].value_counts()
    gold_status = [*(g.value for g in GoldSource), "unlabelled"]
    return CompareResult(
        params=CompareParams(
            baseline=paired.baseline,
            candidate=paired.candidate,
            by=tuple(by),
            seed=seed,
            n_resamples=n_resamples,
            confidence=confidence,
            examples=examples,
            fdr_level=fdr_level,
            path_components=PATH_KEY_COMPONENTS,
            gold_rule=gold.rule,
            gold_counts=gold.counts,
        ),
        baseline=paired.baseline,
        candidate=paired.candidate,
        n=len(frame),
        coverage=Coverage(
            n=len(frame),
            dropped_baseline=paired.dropped_baseline,
            dropped_candidate=paired.dropped_candidate,
            gold={k: int(status.get(k, 0)) for k in gold_status},
            labelled=labelled,
        ),
        accuracy=_accuracy(frame, confidence),
        cost=_cost(frame, s, warnings),
        latency=_latency(frame, s),
        flips=_flips(frame, examples, confidence),
        slices=_slices(frame, requests, by, s, fdr_level),
        warnings=tuple(warnings),
    )
