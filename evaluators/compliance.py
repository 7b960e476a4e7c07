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
  twin, guarded by `has_any_pii_sql`), about 25 times faster than scanning in Python;
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
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from routelab.evaluators.accuracy_types import MISSING
from routelab.evaluators.arguments import check_confidence, check_count
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
    PiiSource,
    SliceCompliance,
)
from routelab.evaluators.errors import EvaluatorError, UnknownOptionError
from routelab.evaluators.frames import FrameError, is_missing, iso_week, require_columns, require_unique
from routelab.evaluators.intervals import paired_accuracy_delta, wilson
from routelab.evaluators.registry import evaluator
from routelab.router_core.config import ModelSpec
from routelab.router_core.paths import ESCALATION_MODEL_PREFIX
from routelab.router_core.pii import PiiType, any_candidate_pattern, has_pii

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped,unused-ignore]  # no pandas-stubs in the dev lock yet

#: A model's scope: a `ModelSpec`, or the pair (boundary, regions) read from one.
ModelScope = ModelSpec | tuple[str, Sequence[str]]
DEFAULT_RULES = ComplianceRules()
#: The PII type name of a `pii_types` column that only says "some PII" (a boolean).
UNNAMED_PII = "pii"
PERIODS = ("week", "day")
DECISION_COLUMNS = ("request_id", "model", "action")
REQUEST_COLUMNS = ("request_id", "data_class", "region")
FLAG_COLUMNS = (
    "request_id",
    "sensitive",
    "regional",
    "blocked",
    "privacy",
    "residency",
    "any",
    "causes",
    "privacy_models",
    "residency_models",
)
_KNOWN_PII = frozenset(t.value for t in PiiType)


@dataclass(frozen=True)
class BreachFlags:
    """Every decision of one version checked against the rules.

    `frame` has one row per decision in request_id order: the `FLAG_COLUMNS` (``causes`` and the two
    ``*_models`` columns hold tuples of strings; the booleans are plain bools), then the request columns the
    caller asked to carry (``ts`` and slice fields).
    """

    frame: pd.DataFrame
    version: str | None
    rules: ComplianceRules
    pii_source: PiiSource
    warnings: tuple[str, ...]


# --- inputs -------------------------------------------------------------------------------------------------


def _scopes(models: Mapping[str, ModelScope]) -> dict[str, tuple[str, frozenset[str]]]:
    out: dict[str, tuple[str, frozenset[str]]] = {}
    for model, scope in models.items():
        regions: Sequence[str]
        if isinstance(scope, ModelSpec):
            boundary, regions = scope.boundary, scope.regions
        else:
            try:
                boundary, regions = scope
            except (TypeError, ValueError):
                raise EvaluatorError(
                    f"models[{model!r}]: is {scope!r}; pass a ModelSpec or a pair (boundary, regions)"
                ) from None
        out[str(model)] = (str(boundary), frozenset(str(r).casefold() for r in regions))
    return out


def _text(value: object) -> str | None:
    """A stripped, non-empty string, or None for a missing or empty cell."""
    if is_missing(value):
        return None
    text = str(value).strip()
    return text or None


def _names(value: object, where: str) -> frozenset[str]:
    """PII type names of one `pii_types` cell: a comma-separated string, a boolean, or missing."""
    if is_missing(value):
        return frozenset()
    if isinstance(value, str):
        return frozenset(t.strip() for t in value.split(",") if t.strip())
    if type(value).__name__ in ("bool", "bool_"):  # numpy's bool too, without importing numpy
        return frozenset({UNNAMED_PII}) if value else frozenset()
    raise FrameError(
        f"{where}: {value!r} is neither comma-separated PII type names nor true/false; "
        f"known types: {', '.join(sorted(_KNOWN_PII))}"
    )


class _Scanner:
    """PII types of prompt texts, each distinct text scanned once."""

    def __init__(self, types: Sequence[PiiType]) -> None:
        self.types = tuple(types)
        self.guard = re.compile(any_candidate_pattern(self.types), re.ASCII) if self.types else None
        self.cache: dict[str, frozenset[str]] = {}

    def __call__(self, text: object) -> frozenset[str]:
        if not isinstance(text, str) or self.guard is None:
            return frozenset()
        found = self.cache.get(text)
        if found is None:
            if self.guard.search(text) is None:  # most prompts: one regex call instead of one per type
                found = frozenset()
            else:
                found = frozenset(t.value for t in self.types if has_pii(text, t))
            self.cache[text] = found
        return found


def _pii(requests: pd.DataFrame, rules: ComplianceRules) -> tuple[list[frozenset[str]], PiiSource, list[str]]:
    """Per request row: the PII type names that count under `rules`, where they came from, and warnings."""
    warnings: list[str] = []
    source: PiiSource
    if "pii_types" in requests.columns:
        found = [
            _names(v, f"requests.pii_types of {r}")
            for r, v in zip(requests["request_id"].tolist(), requests["pii_types"].tolist(), strict=True)
        ]
        source = "column"
    elif "prompt" in requests.columns:
        scan = _Scanner(rules.pii_types)
        found = [scan(text) for text in requests["prompt"].tolist()]
        source = "prompt"
    else:
        found = [frozenset()] * len(requests)
        source = "none"
        warnings.append("requests have neither a prompt nor a pii_types column: PII was not checked")
    if "attrs.pii_types" in requests.columns:
        stored = requests["attrs.pii_types"]
        found = [
            f | _names(v, f"requests.attrs.pii_types of {r}")
            for f, r, v in zip(found, requests["request_id"].tolist(), stored.tolist(), strict=True)
        ]
    counted = {t.value for t in rules.pii_types}
    keep = [frozenset(n for n in f if n in counted or n not in _KNOWN_PII) for f in found]
    return keep, source, warnings


def _fallbacks(value: object) -> list[str]:
    """Fallback model ids of a decision cell: a list or array; missing (None, NaN, NA) means none."""
    if isinstance(value, str) or is_missing(value) or not hasattr(value, "__iter__"):
        return []
    return [str(m) for m in value if not is_missing(m)]


def _reach(model: object, fallbacks: object, escalation: object, rules: ComplianceRules) -> list[str]:
    """The models a path may send the request to, in order, without repeats."""
    out = [] if is_missing(model) else [str(model)]
    if rules.check_fallbacks:
        out += _fallbacks(fallbacks)
        if isinstance(escalation, str) and escalation.startswith(ESCALATION_MODEL_PREFIX):
            out.append(escalation[len(ESCALATION_MODEL_PREFIX) :])
    return list(dict.fromkeys(out))


# --- flags --------------------------------------------------------------------------------------------------


def flag_breaches(
    decisions: pd.DataFrame,
    requests: pd.DataFrame,
    models: Mapping[str, ModelScope],
    *,
    rules: ComplianceRules = DEFAULT_RULES,
    carry: Sequence[str] = (),
) -> BreachFlags:
    """Check every decision of one version against the rules (module docstring).

    Args:
        decisions: One row per request: request_id, model, action; fallbacks, escalation and router optional.
        requests: request_id, data_class, region; prompt or pii_types (else PII is not checked);
            attrs.pii_types optional; the `carry` columns. May hold requests the version did not decide.
        models: Model id → its `ModelSpec` or (boundary, regions), from the version's config.
        rules: The rules.
        carry: Request columns copied onto the flags (``ts``, slice fields).

    Raises:
        FrameError: a missing column, a repeated request, a decision without its request, an unreadable
            pii_types value.
        EvaluatorError: a decided model that `models` does not know, or several versions in `decisions`.
    """
    import pandas as pd

    require_columns(decisions, DECISION_COLUMNS, "decisions")
    require_columns(requests, [*REQUEST_COLUMNS, *carry], "requests")
    require_unique(decisions, "request_id", "decisions")
    require_unique(requests, "request_id", "requests")
    version = _version(decisions)
    scopes = _scopes(models)
    reqs = requests[requests["request_id"].isin(decisions["request_id"])]
    missing = sorted(set(decisions["request_id"]) - set(reqs["request_id"]))
    if missing:
        raise FrameError(
            f"decisions: {len(missing)} request(s) not in requests, e.g. {', '.join(map(str, missing[:5]))}; "
            "pass every decided request"
        )
    reqs = reqs.sort_values("request_id", kind="stable", ignore_index=True)
    pii, source, warnings = _pii(reqs, rules)
    dec = decisions.set_index("request_id").loc[reqs["request_id"]]
    n = len(reqs)
    fallbacks = dec["fallbacks"] if "fallbacks" in dec.columns else [None] * n
    escalation = dec["escalation"] if "escalation" in dec.columns else [None] * n
    classes = {c.casefold() for c in rules.sensitive_classes}
    private = set(rules.private_boundaries)
    rows: list[dict[str, Any]] = []
    columns = zip(
        reqs["request_id"].tolist(),
        reqs["data_class"].tolist(),
        reqs["region"].tolist(),
        dec["model"].tolist(),
        dec["action"].tolist(),
        list(fallbacks),
        list(escalation),
        strict=True,
    )
    for i, (rid, data_class_cell, region_cell, model, action, fb, esc) in enumerate(columns):
        data_class, region = _text(data_class_cell), _text(region_cell)
        blocked = action == "block"
        reach = [] if blocked else _reach(model, fb, esc, rules)
        unknown = [m for m in reach if m not in scopes]
        if unknown:
            raise EvaluatorError(
                f"decision of {rid} ({version or 'version'}) reaches model {unknown[0]!r}, which models does "
                f"not know; known: {', '.join(sorted(scopes)) or '(none)'}; pass the version's config models"
            )
        causes = []
        if data_class is not None and data_class.casefold() in classes:
            causes.append(f"data_class:{data_class}")
        if not (action == "redact" and rules.redact_masks_pii):
            causes += [f"pii:{t}" for t in sorted(pii[i])]
        privacy_models = [m for m in reach if scopes[m][0] not in private] if causes else []
        residency_models = (
            [m for m in reach if scopes[m][1] and region.casefold() not in scopes[m][1]] if region else []
        )
        rows.append(
            {
                "request_id": rid,
                "sensitive": bool(causes) or bool(pii[i]),
                "regional": region is not None,
                "blocked": blocked,
                "privacy": bool(privacy_models),
                "residency": bool(residency_models),
                "any": bool(privacy_models) or bool(residency_models),
                "causes": tuple(causes),
                "privacy_models": tuple(privacy_models),
                "residency_models": tuple(residency_models),
            }
        )
    frame = pd.DataFrame(rows, columns=list(FLAG_COLUMNS))
    for column in dict.fromkeys(carry):
        if column != "request_id":
            frame[column] = reqs[column].to_numpy()
    return BreachFlags(frame=frame, version=version, rules=rules, pii_source=source, warnings=tuple(warnings))


def _version(decisions: pd.DataFrame) -> str | None:
    if "router" not in decisions.columns:
        return None
    versions = sorted({str(v) for v in decisions["router"] if not is_missing(v)})
    if len(versions) > 1:
        raise EvaluatorError(
            f"decisions: hold {len(versions)} versions ({', '.join(versions[:5])}); pass one version's"
        )
    return versions[0] if versions else None


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
        models=_models(frame, _scopes(models), models),
        causes=dict(sorted(causes.items(), key=lambda kv: (-kv[1], kv[0]))),
        warnings=flags.warnings,
    )


# --- two versions -------------------------------------------------------------------------------------------


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
