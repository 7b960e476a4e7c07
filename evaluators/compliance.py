"""Compliance: the decisions of a router version that break a privacy boundary or region residency.

A replay records what each version decided; this evaluator checks every decision against the request's data
class, the PII in its prompt and its region, independently of the version's own policies (a policy whose
condition was narrowed, as in the demo's version 2, is exactly what it must catch).

**Rules** (`ComplianceRules`, recorded with the result):

- *Sensitive request*: ``data_class`` in ``sensitive_classes`` (default confidential, restricted; compared
  case-insensitively) or PII of one of ``pii_types`` (default: every type the detector knows).
- *Privacy breach*: a sensitive request that is not blocked, whose path may reach a model outside
  ``private_boundaries`` (default: private). With ``redact_masks_pii`` (default) a ``redact`` action masked
  the PII first, so only the data class can make such a decision a breach.
- *Residency breach*: a request with a region (not missing, not empty), not blocked, whose path may reach a
  model whose ``regions`` are non-empty and do not hold the region (case-insensitive). A model without
  regions serves any region, as in the router config.
- *The models a path may reach*: the decided model and, with ``check_fallbacks`` (default), the fallbacks
  and a ``model:<id>`` escalation. The engines drop those while a privacy or region policy covers the
  request, so they only ever breach where no policy did.

**PII of a request**, computed once per request (and once per distinct prompt text):

- a ``pii_types`` column in `requests`, when present, is taken as the detector's result and the prompt is
  not scanned: comma-separated type names (``""``: none) or a boolean (true: PII of an unnamed type, cause
  ``pii:pii``). The flow computes it inside DuckDB with `router_core.pii.has_pii_sql` (the SQL engine's
  twin, guarded by `has_any_pii_sql`), about 25 times faster than scanning in Python, and keeps it per
  request in the store (`datasets.pii_cache`), so a prompt is scanned once, not once per check;
- else the ``prompt`` column is scanned here: a type is present when `router_core.pii.has_pii` finds it,
  which is what the SQL twin and a router's ``pii`` signal compute. (`detect` finds a span exactly when
  some type is present; it reports a span that reads as two types, say a card number that is also a phone
  number, once, where the per-type check counts both.);
- an ``attrs.pii_types`` column (what ``routelab import --redact`` stores, since the masked prompt no longer
  holds the PII) is added to either;
- names outside the detector's vocabulary count as PII (a compliance check errs towards flagging); with
  neither a ``pii_types`` nor a ``prompt`` column PII is not checked, and a warning says so.

**Counts** over every decision, per period (ISO week of ``ts`` via `frames.iso_week`, or day; decisions of
undated requests are counted in ``n_undated``) and per value of each slice field (default ``workflow``):
counts, the rate over all decisions and over the decisions the rule applies to (sensitive ones for privacy,
ones with a region for residency), both with Wilson intervals, and the first `examples` request ids in id
order. `compare_compliance` pairs two versions' flags: the change of each breach rate on the requests both
decided, with Newcombe's paired interval and McNemar's test (`intervals.paired_accuracy_delta`).

The per-decision flags (`flag_breaches`, `BreachFlags`) live in `compliance_flags`; the result models in
`compliance_types`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from routelab.evaluators.accuracy_types import MISSING
from routelab.evaluators.arguments import check_confidence, check_count
from routelab.evaluators.compliance_flags import (
    DEFAULT_RULES,
    BreachFlags,
    ModelScope,
    flag_breaches,
    model_scopes,
)
from routelab.evaluators.compliance_types import (
    KINDS,
    BreachCount,
    ComplianceComparison,
    ComplianceCounts,
    ComplianceDelta,
    ComplianceParams,
    ComplianceResult,
    ComplianceRules,
    ModelCompliance,
    Period,
    PeriodCompliance,
    SliceCompliance,
)
from routelab.evaluators.errors import EvaluatorError, UnknownOptionError
from routelab.evaluators.frames import is_missing, iso_week, require_columns
from routelab.evaluators.intervals import paired_accuracy_delta, wilson
from routelab.evaluators.registry import evaluator
from routelab.router_core.config import ModelSpec

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped,unused-ignore]  # no pandas-stubs in the dev lock yet

PERIODS = ("week", "day")


# --- counts -------------------------------------------------------------------------------------------------


def _breach(frame: pd.DataFrame, kind: str, at_risk: int, examples: int, confidence: float) -> BreachCount:
    hits = frame[kind].to_numpy(dtype=bool)
    count = int(hits.sum())
    return BreachCount(
        count=count,
        rate=wilson(count, len(frame), confidence),
        rate_at_risk=wilson(count, at_risk, confidence),
        examples=tuple(str(r) for r in frame.loc[hits, "request_id"].head(examples)),
    )


def _counts(frame: pd.DataFrame, examples: int, confidence: float) -> dict[str, Any]:
    """The fields of `ComplianceCounts` for the decisions in `frame` (in request_id order)."""
    sensitive = frame["sensitive"].to_numpy(dtype=bool)
    regional = frame["regional"].to_numpy(dtype=bool)
    at_risk = {
        "privacy": int(sensitive.sum()),
        "residency": int(regional.sum()),
        "any": int((sensitive | regional).sum()),
    }
    return {
        "n": len(frame),
        "n_sensitive": at_risk["privacy"],
        "n_regional": at_risk["residency"],
        "n_blocked": int(frame["blocked"].to_numpy(dtype=bool).sum()),
        **{kind: _breach(frame, kind, at_risk[kind], examples, confidence) for kind in KINDS},
    }


def _period_labels(ts: pd.Series, by: Period) -> pd.Series:
    import pandas as pd

    if by == "week":
        return iso_week(ts)
    stamps = pd.to_datetime(ts)
    return stamps.dt.strftime("%Y-%m-%d").astype(object).where(stamps.notna(), None)


def _models(
    flags: pd.DataFrame, scopes: Mapping[str, tuple[str, frozenset[str]]], raw: Mapping[str, ModelScope]
) -> tuple[ModelCompliance, ...]:
    privacy = Counter(m for ms in flags["privacy_models"] for m in ms)
    residency = Counter(m for ms in flags["residency_models"] for m in ms)
    out = []
    for model in set(privacy) | set(residency):
        scope = raw[model]
        regions = scope.regions if isinstance(scope, ModelSpec) else tuple(scope[1])
        out.append(
            ModelCompliance(
                model=model,
                boundary=scopes[model][0],
                regions=tuple(map(str, regions)),
                privacy=privacy[model],
                residency=residency[model],
            )
        )
    return tuple(sorted(out, key=lambda m: (-(m.privacy + m.residency), m.model)))


@evaluator(
    "compliance",
    "Decisions that break a privacy boundary or region residency, per version, period and slice.",
)
def compliance(
    decisions: pd.DataFrame,
    requests: pd.DataFrame,
    models: Mapping[str, ModelScope],
    *,
    by_period: Period | None = "week",
    examples: int = 5,
    rules: ComplianceRules = DEFAULT_RULES,
    slices: Sequence[str] = ("workflow",),
    confidence: float = 0.95,
    flags: BreachFlags | None = None,
) -> ComplianceResult:
    """Count the decisions of one version that break a privacy boundary or region residency.

    Args:
        decisions: One version's decisions (see `flag_breaches`).
        requests: The requests (see `flag_breaches`), with ``ts`` when `by_period` is set and the `slices`.
        models: Model id → `ModelSpec` or (boundary, regions), from the version's config.
        by_period: ``week`` (ISO week of ts), ``day``, or None for no timeline.
        examples: Most example request ids per count.
        rules: What makes a breach (module docstring).
        slices: Request fields to count per value.
        confidence: Confidence level of every Wilson interval.
        flags: `flag_breaches(decisions, requests, models, rules=rules, carry=...)` when the caller already
            has it (with ``ts`` and the slices carried); computed here otherwise.

    Raises:
        EvaluatorError: bad input (missing columns, unknown models or options, bad counts).
    """
    if by_period is not None and by_period not in PERIODS:
        raise UnknownOptionError("by_period", f"is {by_period!r}", f"pass one of: {', '.join(PERIODS)}, None")
    examples = check_count(examples, "examples")
    confidence = check_confidence(confidence)
    carry = [*(["ts"] if by_period else []), *slices]
    if flags is None:
        flags = flag_breaches(decisions, requests, models, rules=rules, carry=carry)
    require_columns(flags.frame, carry, "flags")
    frame = flags.frame
    periods: list[PeriodCompliance] = []
    n_undated = 0
    if by_period is not None:
        labels = _period_labels(frame["ts"], by_period)
        dated = labels.notna().to_numpy(dtype=bool)
        n_undated = int((~dated).sum())
        for label, part in frame[dated].groupby(labels[dated].astype(str), sort=True):
            periods.append(PeriodCompliance(period=str(label), **_counts(part, examples, confidence)))
    sliced: dict[str, tuple[SliceCompliance, ...]] = {}
    for field in dict.fromkeys(slices):
        values = frame[field].map(lambda v: MISSING if is_missing(v) else str(v))
        rows = [
            SliceCompliance(field=field, value=str(value), **_counts(part, examples, confidence))
            for value, part in frame.groupby(values, sort=True)
        ]
        sliced[field] = tuple(sorted(rows, key=lambda r: (-r.any.count, r.value)))
    causes = Counter(c for cs in frame.loc[frame["privacy"].to_numpy(dtype=bool), "causes"] for c in cs)
    return ComplianceResult(
        params=ComplianceParams(
            version=flags.version,
            by_period=by_period,
            slices=tuple(dict.fromkeys(slices)),
            examples=examples,
            confidence=confidence,
            rules=flags.rules,
            pii_source=flags.pii_source,
        ),
        version=flags.version,
        totals=ComplianceCounts(**_counts(frame, examples, confidence)),
        periods=tuple(periods),
        n_undated=n_undated,
        slices=sliced,
        models=_models(frame, model_scopes(models), models),
        causes=dict(sorted(causes.items(), key=lambda kv: (-kv[1], kv[0]))),
        warnings=flags.warnings,
    )


# --- two versions -------------------------------------------------------------------------------------------


def _weighted_counts(
    frame: pd.DataFrame, weights: Any, ids: Any, examples: int, confidence: float
) -> dict[str, Any]:
    """`_counts` where row i stands for ``weights[i]`` requests whose first ids are ``ids[i]``."""
    import numpy as np

    w = np.asarray(weights, dtype=np.int64)
    sensitive = frame["sensitive"].to_numpy(dtype=bool)
    regional = frame["regional"].to_numpy(dtype=bool)
    at_risk = {
        "privacy": int(w[sensitive].sum()),
        "residency": int(w[regional].sum()),
        "any": int(w[sensitive | regional].sum()),
    }
    n = int(w.sum())
    breaches = {}
    for kind in KINDS:
        hits = frame[kind].to_numpy(dtype=bool)
        count = int(w[hits].sum())
        picked = sorted(str(r) for i in np.flatnonzero(hits) for r in ids[i])[:examples]
        breaches[kind] = BreachCount(
            count=count,
            rate=wilson(count, n, confidence),
            rate_at_risk=wilson(count, at_risk[kind], confidence),
            examples=tuple(picked),
        )
    return {
        "n": n,
        "n_sensitive": at_risk["privacy"],
        "n_regional": at_risk["residency"],
        "n_blocked": int(w[frame["blocked"].to_numpy(dtype=bool)].sum()),
        **breaches,
    }


def periods_counted(
    flags: BreachFlags,
    groups: pd.DataFrame,
    by_period: Period,
    *,
    examples: int = 5,
    confidence: float = 0.95,
) -> tuple[PeriodCompliance, ...]:
    """`compliance(...).periods` where each flagged row stands for a group of requests (counted elsewhere).

    The flags' ``request_id`` is a group key; `groups` has one row per key: ``key``, ``day`` (the requests'
    day, missing when undated), ``n`` and ``ids`` (the group's first request ids). Requests are grouped by
    the day and everything the flags read, so the periods equal those of the ungrouped flags.

    Raises:
        EvaluatorError: an unknown period, or a key without a group.
    """
    import numpy as np

    if by_period not in PERIODS:
        raise UnknownOptionError("by_period", f"is {by_period!r}", f"pass one of: {', '.join(PERIODS)}")
    info = groups.set_index("key")
    keys = flags.frame["request_id"].to_numpy()
    missing = set(keys.tolist()) - set(info.index.tolist())
    if missing:
        raise EvaluatorError(f"flags: group key(s) {sorted(missing)[:5]} have no row in groups")
    rows = info.loc[keys]
    labels = _period_labels(rows["day"].reset_index(drop=True), by_period)
    dated = labels.notna().to_numpy(dtype=bool)
    texts = labels[dated].astype(str).to_numpy()
    frame, n, ids = flags.frame[dated], rows["n"].to_numpy()[dated], rows["ids"].to_numpy()[dated]
    out = []
    for label in sorted(set(texts.tolist())):
        at = np.flatnonzero(texts == label)
        counts = _weighted_counts(frame.iloc[at], n[at], ids[at], examples, confidence)
        out.append(PeriodCompliance(period=label, **counts))
    return tuple(out)


def compare_compliance_counts(
    base: BreachFlags,
    candidate: BreachFlags,
    groups: pd.DataFrame,
    *,
    examples: int = 5,
    confidence: float = 0.95,
) -> ComplianceComparison:
    """`compare_compliance` where each flagged row stands for a group of requests (counted elsewhere).

    The flags' ``request_id`` is a group key; `groups` has one row per key: ``key``, ``n`` (requests),
    ``has_b`` / ``has_c`` (whether the base / candidate decided them) and ``ids`` (the group's first
    request ids). Requests are grouped by everything the flags read, so every request of a group gets the
    group's flags: the result equals `compare_compliance` of the ungrouped flags.

    Raises:
        EvaluatorError: the two were flagged under different rules, a key without a group, or a bad count.
    """
    import numpy as np

    examples = check_count(examples, "examples")
    confidence = check_confidence(confidence)
    if base.rules != candidate.rules:
        raise EvaluatorError("base and candidate flags were computed under different rules; use the same")
    info = groups.set_index("key")
    totals = {}
    for side, flags in (("base", base), ("cand", candidate)):
        keys = flags.frame["request_id"].to_numpy()
        missing = set(keys.tolist()) - set(info.index.tolist())
        if missing:
            raise EvaluatorError(f"{side} flags: group key(s) {sorted(missing)[:5]} have no row in groups")
        rows = info.loc[keys]
        totals[side] = ComplianceCounts(
            **_weighted_counts(flags.frame, rows["n"].to_numpy(), rows["ids"].tolist(), examples, confidence)
        )
    paired = base.frame.merge(candidate.frame, on="request_id", suffixes=("_base", "_cand"))
    rows = info.loc[paired["request_id"].to_numpy()]
    weights, ids = rows["n"].to_numpy(dtype=np.int64), rows["ids"].tolist()
    delta = {}
    for kind in KINDS:
        was = paired[f"{kind}_base"].to_numpy(dtype=bool)
        now = paired[f"{kind}_cand"].to_numpy(dtype=bool)
        introduced = now & ~was
        picked = sorted(str(r) for i in np.flatnonzero(introduced) for r in ids[i])[:examples]
        delta[kind] = ComplianceDelta(
            count=getattr(totals["cand"], kind).count - getattr(totals["base"], kind).count,
            rate=paired_accuracy_delta(
                np.repeat(was, weights), np.repeat(now, weights), confidence=confidence
            ),
            introduced=int(weights[introduced].sum()),
            resolved=int(weights[was & ~now].sum()),
            examples=tuple(picked),
        )
    return ComplianceComparison(
        baseline_version=base.version,
        candidate_version=candidate.version,
        n_paired=int(weights.sum()),
        baseline=totals["base"],
        candidate=totals["cand"],
        delta=delta,
        rules=base.rules,
    )


def compare_compliance(
    base: BreachFlags, candidate: BreachFlags, *, examples: int = 5, confidence: float = 0.95
) -> ComplianceComparison:
    """Both versions' breach totals and, on the requests both decided, the paired change of each rate.

    Raises:
        EvaluatorError: the two were flagged under different rules, or a bad count or confidence.
    """
    examples = check_count(examples, "examples")
    confidence = check_confidence(confidence)
    if base.rules != candidate.rules:
        raise EvaluatorError("base and candidate flags were computed under different rules; use the same")
    paired = base.frame.merge(candidate.frame, on="request_id", suffixes=("_base", "_cand"))
    paired = paired.sort_values("request_id", kind="stable", ignore_index=True)
    delta = {}
    totals = {
        side: ComplianceCounts(**_counts(f.frame, examples, confidence))
        for side, f in (("base", base), ("cand", candidate))
    }
    for kind in KINDS:
        was = paired[f"{kind}_base"].to_numpy(dtype=bool)
        now = paired[f"{kind}_cand"].to_numpy(dtype=bool)
        introduced = now & ~was
        delta[kind] = ComplianceDelta(
            count=getattr(totals["cand"], kind).count - getattr(totals["base"], kind).count,
            rate=paired_accuracy_delta(was, now, confidence=confidence),
            introduced=int(introduced.sum()),
            resolved=int((was & ~now).sum()),
            examples=tuple(str(r) for r in paired.loc[introduced, "request_id"].head(examples)),
        )
    return ComplianceComparison(
        baseline_version=base.version,
        candidate_version=candidate.version,
        n_paired=len(paired),
        baseline=totals["base"],
        candidate=totals["cand"],
        delta=delta,
        rules=base.rules,
    )
