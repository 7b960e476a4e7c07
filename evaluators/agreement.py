"""Inter-annotator agreement: Cohen's kappa per pair, Krippendorff's alpha, per-annotator statistics.

**Unit and coders.** A unit is one judged decision, (request_id, router). Only ``judgement`` rows are coders'
values; an ``adjudication`` is a reviewer's final word, not a coder: adjudicated units are counted apart and
each annotator's verdicts are compared with the latest adjudication of the unit (by `created_at`).

**Values** (`unit_values`) of one judgement, per component:

- ``verdict``: the verdict; ``unsure`` is a category of its own.
- A path component (model, retrieval, cache, escalation, action): the value the annotator says is right.
  *correct*: the judged decision's (`decision_path`). *incorrect*: the corrected value where the correction
  names the component, else the judged one (not disputed); missing when the judgement carries no correction
  at all (it rejects the path through alternatives only, so it does not say which component is wrong) and,
  for ``model``, when the correction names a tier but no model (the model is disputed, the right one not
  named). *unsure*: missing. Values are normalised like gold's (`gold_paths.normalise_value`).

**Cohen's kappa** of two annotators on one component, over the units both gave a value: observed agreement
p_o, chance agreement p_e = Σ_k p_a(k)·p_b(k) from each annotator's own marginals, κ = (p_o − p_e)/(1 − p_e),
computed on integer counts so it is exact. p_e = 1 (both used one same category throughout) leaves κ
undefined: None, with a note. Band (Landis & Koch 1977) of κ rounded to two decimals, as their table is
written: < 0 poor, ≤ 0.20 slight, ≤ 0.40 fair, ≤ 0.60 moderate, ≤ 0.80 substantial, else almost perfect.

**Krippendorff's alpha** (nominal) over all annotators with missing values, via the coincidence matrix
(Krippendorff 2011, "Computing Krippendorff's Alpha-Reliability"): units with fewer than two values are not
pairable and are dropped; α = 1 − D_o/D_e = 1 − (n − 1)·Σ_u (m_u² − Σ_c n_uc²)/(m_u − 1) / (n² − Σ_c n_c²)
over the n pairable values. A single category overall leaves α undefined (None). Band of α rounded to three
decimals: ≥ 0.800 reliable, ≥ 0.667 tentative, else unreliable.

Every present value is a category compared with ``==`` (None included, e.g. the model of a blocked
decision); NaN, pandas NA and NaT are rejected since they are not equal to themselves. Nothing is random.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Hashable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from routelab.evaluators.errors import (
    EmptySampleError,
    EvaluatorError,
    InvalidArgumentError,
    LengthMismatchError,
    UnknownOptionError,
)
from routelab.evaluators.frames import FrameError, is_missing, require_columns
from routelab.evaluators.gold_paths import SNAPSHOT_COMPONENTS, normalise_path, parse_json
from routelab.evaluators.registry import evaluator

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped,unused-ignore]  # no pandas-stubs in the dev lock yet

VERDICT = "verdict"
#: Components agreement can be measured on: the verdict and the components a "correct" verdict rules on.
KNOWN_COMPONENTS = (VERDICT, *SNAPSHOT_COMPONENTS)
VERDICTS = ("correct", "incorrect", "unsure")
KINDS = ("judgement", "adjudication")
ANNOTATION_COLUMNS = ("request_id", "router", "annotator", "kind", "verdict", "decision_path", "corrected")
NA_BAND = "n/a"
KAPPA_BANDS = ((0.20, "slight"), (0.40, "fair"), (0.60, "moderate"), (0.80, "substantial"))
METHOD = (
    "Unit = (request_id, router); coders = judgements (adjudications apart). Cohen's kappa per annotator "
    "pair over the units both valued, p_e from each one's marginals; Krippendorff's alpha (nominal, "
    "coincidence matrix, units with < 2 values dropped). Path values: correct → judged path, incorrect → "
    "corrected component else judged one (missing without a correction), unsure → missing."
)

Unit = tuple[str, str]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class KappaResult(_Frozen):
    """Cohen's kappa of two annotators on one component."""

    kappa: float | None = Field(description="(p_o − p_e)/(1 − p_e); None when p_e = 1 (undefined).")
    observed: float = Field(ge=0, le=1, description="p_o: share of units with the same value.")
    expected: float = Field(ge=0, le=1, description="p_e: chance agreement from both annotators' marginals.")
    n: int = Field(ge=1, description="Units both annotators gave a value.")
    band: str = Field(description="Landis & Koch band of kappa (`n/a` when undefined).")
    note: str | None = Field(default=None, description="Why kappa is undefined, if it is.")


class AlphaResult(_Frozen):
    """Krippendorff's alpha (nominal) of all annotators on one component."""

    alpha: float | None = Field(description="1 − D_o/D_e; None without pairable values or variation.")
    n_units: int = Field(ge=0, description="Pairable units (two values or more).")
    n_values: int = Field(ge=0, description="Values in the pairable units (n of the coincidence matrix).")
    band: str = Field(description="reliable (≥ 0.8), tentative (≥ 0.667), unreliable, or `n/a`.")
    note: str | None = Field(default=None, description="Why alpha is undefined, if it is.")


class PairAgreement(_Frozen):
    """Kappa of one pair of annotators on one component."""

    annotator_a: str = Field(description="First annotator (alphabetically).")
    annotator_b: str = Field(description="Second annotator.")
    component: str = Field(description="`verdict` or a path component.")
    result: KappaResult = Field(description="Kappa over the units both valued.")


class AnnotatorStats(_Frozen):
    """What one annotator did, and how often they agreed with the others and with adjudications."""

    annotator: str = Field(description="The annotator.")
    judged: int = Field(ge=0, description="Units they judged.")
    correct: int = Field(ge=0, description="Judgements with verdict correct.")
    incorrect: int = Field(ge=0, description="Judgements with verdict incorrect.")
    unsure: int = Field(ge=0, description="Judgements with verdict unsure.")
    median_time_s: float | None = Field(description="Median time_spent_s; None when none is known.")
    agreement_with_others: float | None = Field(
        description="Share of (unit, other annotator) verdict pairs that are equal; None without any."
    )
    agreement_with_adjudication: float | None = Field(
        description="Share of their adjudicated units where their verdict equals the adjudication's."
    )
    n_adjudicated: int = Field(ge=0, description="Their judged units that carry an adjudication.")


class AgreementResult(_Frozen):
    """Inter-annotator agreement on one router version (or all), per component."""

    evaluator: Literal["agreement"] = Field(default="agreement", description="The evaluator's name.")
    router: str | None = Field(description="The router version the units were restricted to; None: all.")
    components: list[str] = Field(description="Components measured, in order.")
    n_units: int = Field(ge=0, description="Units with at least one judgement.")
    n_multi: int = Field(ge=0, description="Units judged by two annotators or more.")
    n_adjudicated: int = Field(ge=0, description="Units carrying an adjudication.")
    pairs: list[PairAgreement] = Field(description="Per annotator pair and component with shared units.")
    alpha: dict[str, AlphaResult] = Field(description="Krippendorff's alpha per component.")
    annotators: list[AnnotatorStats] = Field(description="Per annotator, by name.")
    method: str = Field(default=METHOD, description="The method in a few sentences.")


# --- the statistics -----------------------------------------------------------------------------------------


def kappa_band(k: float | None) -> str:
    """Landis & Koch's band of a kappa, read at two decimals (their table's precision); `n/a` for None."""
    if k is None:
        return NA_BAND
    r = round(k, 2)
    if r < 0:
        return "poor"
    return next((name for upper, name in KAPPA_BANDS if r <= upper), "almost perfect")


def alpha_band(a: float | None) -> str:
    """Krippendorff's band of an alpha, read at three decimals: reliable ≥ .800, tentative ≥ .667."""
    if a is None:
        return NA_BAND
    r = round(a, 3)
    return "reliable" if r >= 0.8 else "tentative" if r >= 0.667 else "unreliable"


def _check_values(values: Sequence[Hashable], argument: str) -> None:
    bad = next((v for v in values if v is not None and is_missing(v)), None)
    if bad is not None:
        raise InvalidArgumentError(
            argument, f"holds the missing value {bad!r}", "leave a missing value out (None is a category)"
        )


def cohen_kappa(a: Sequence[Hashable], b: Sequence[Hashable]) -> KappaResult:
    """Cohen's kappa of two annotators' labels on the same units.

    Args:
        a: The first annotator's label per unit.
        b: The second annotator's label on the same units, in the same order.

    Returns:
        A `KappaResult`; kappa None (band `n/a`) when both used one same category throughout.

    Raises:
        LengthMismatchError: `a` and `b` differ in length.
        EmptySampleError: no units.
        InvalidArgumentError: a label is NaN, pandas NA or NaT.
    """
    if len(a) != len(b):
        raise LengthMismatchError(
            "b", f"has {len(b)} labels but a has {len(a)}", "pass one label per unit each"
        )
    if not len(a):
        raise EmptySampleError("a", "is empty", "pass the labels of at least one unit")
    _check_values(a, "a")
    _check_values(b, "b")
    n = len(a)
    agree = sum(x == y for x, y in zip(a, b, strict=True))
    count_b = Counter(b)
    chance = sum(k * count_b.get(c, 0) for c, k in Counter(a).items())  # n² · p_e, exact
    kappa = (n * agree - chance) / (n * n - chance) if chance < n * n else None
    return KappaResult(
        kappa=kappa,
        observed=agree / n,
        expected=chance / n**2,
        n=n,
        band=kappa_band(kappa),
        note=None if kappa is not None else "undefined: both used one same category throughout (p_e = 1)",
    )


def _mismatches(counts: Counter[Hashable]) -> int:
    """Ordered pairs of values from different categories among one unit's values."""
    m = counts.total()
    return m * m - sum(k * k for k in counts.values())


def krippendorff_alpha(units: Mapping[Hashable, Mapping[str, Hashable]]) -> AlphaResult:
    """Krippendorff's alpha for nominal values, any number of coders, missing values allowed.

    Args:
        units: Per unit, each coder's value; a coder without a value is absent from the unit's mapping.

    Returns:
        An `AlphaResult`; alpha None (band `n/a`) without a pairable unit or when every pairable value is
        the same category.

    Raises:
        InvalidArgumentError: a value is NaN, pandas NA or NaT.
    """
    per_unit = []
    for coders in units.values():
        _check_values(list(coders.values()), "units")
        if len(coders) >= 2:
            per_unit.append(Counter(coders.values()))
    totals: Counter[Hashable] = Counter()
    for c in per_unit:
        totals.update(c)
    n, expected = totals.total(), _mismatches(totals)  # expected = (n − 1) · Σ_{c≠k} e_ck
    if not expected:
        why = "every value is the same category (no variation)" if n else "no unit has two values"
        return AlphaResult(
            alpha=None, n_units=len(per_unit), n_values=n, band=NA_BAND, note=f"undefined: {why}"
        )
    # Σ_{c≠k} o_ck: each unit's mismatching ordered pairs, weighted 1/(m_u − 1)
    observed = math.fsum(_mismatches(c) / (c.total() - 1) for c in per_unit)
    alpha = 1 - (n - 1) * observed / expected
    return AlphaResult(alpha=alpha, n_units=len(per_unit), n_values=n, band=alpha_band(alpha))


# --- reading the annotations --------------------------------------------------------------------------------


def unit_values(row: Mapping[str, Any], components: Sequence[str]) -> dict[str, Hashable]:
    """The values one judgement gives its unit, per component; a missing value is left out (module docstring).

    Raises:
        EvaluatorError: bad JSON, a missing judged path or an unknown path component.
    """
    where = f"annotation of {row['request_id']} by {row['annotator']} ({row['router']})"
    verdict = row["verdict"]
    out: dict[str, Hashable] = {VERDICT: verdict} if VERDICT in components else {}
    paths = [c for c in components if c != VERDICT]
    if verdict == "unsure" or not paths:
        return out
    raw = parse_json(row["decision_path"], f"{where}, decision_path")
    if not isinstance(raw, Mapping):
        raise EvaluatorError(f"{where}, decision_path: the judged decision's path is missing")
    judged = normalise_path(raw, f"{where}, decision_path")
    fix: Mapping[str, Any] = {}
    if verdict == "incorrect":
        corrected = parse_json(row["corrected"], f"{where}, corrected")
        if not corrected:
            return out
        if not isinstance(corrected, Mapping):
            raise EvaluatorError(
                f"{where}, corrected: expected an object of path components, got {corrected!r}"
            )
        fix = normalise_path(corrected, f"{where}, corrected")
    for c in paths:
        if c in fix:
            out[c] = fix[c]
        elif c == "model" and "tier" in fix:
            continue  # a new tier disputes the model without naming the right one
        elif c in judged:
            out[c] = judged[c]
    return out


def _check_components(components: Sequence[str]) -> list[str]:
    unknown = [c for c in components if c not in KNOWN_COMPONENTS]
    if unknown or not components:
        raise UnknownOptionError(
            "components",
            f"names unknown component(s) {', '.join(map(str, unknown))}" if unknown else "is empty",
            f"pass some of: {', '.join(KNOWN_COMPONENTS)}",
        )
    return list(dict.fromkeys(components))


def _rows(annotations: pd.DataFrame, router: str | None) -> list[dict[str, Any]]:
    """The rows to use, checked: current judgements and adjudications with a known verdict."""
    require_columns(annotations, (*ANNOTATION_COLUMNS, "created_at"), "annotations")
    frame = annotations if router is None else annotations[annotations["router"] == router]
    rows: list[dict[str, Any]] = frame.to_dict(orient="records")
    for row in rows:
        for column, known in (("kind", KINDS), ("verdict", VERDICTS)):
            if row[column] not in known:
                raise FrameError(
                    f"annotations: {column} {row[column]!r} of {row['request_id']} by {row['annotator']}; "
                    f"known: {', '.join(known)} (pass the current annotations: routelab.datasets.queries)"
                )
    seen = Counter((r["request_id"], r["router"], r["annotator"]) for r in rows if r["kind"] == "judgement")
    repeated = [k for k, n in seen.items() if n > 1]
    if repeated:
        raise FrameError(
            f"annotations: {len(repeated)} annotator(s) judged a unit twice, e.g. {repeated[0]}; pass the "
            "current annotations (the `annotations_current` view), one judgement per annotator and unit"
        )
    return rows


def _median_time(rows: list[dict[str, Any]]) -> float | None:
    times = [float(r["time_spent_s"]) for r in rows if not is_missing(r.get("time_spent_s"))]
    return statistics.median(times) if times else None


def _annotator_stats(
    name: str,
    rows: list[dict[str, Any]],
    verdicts: dict[Unit, dict[str, Hashable]],
    adjudged: dict[Unit, str],
) -> AnnotatorStats:
    counts = Counter(r["verdict"] for r in rows)
    units: list[Unit] = [(str(r["request_id"]), str(r["router"])) for r in rows]
    pairs = [(verdicts[u][name], w) for u in units for other, w in verdicts[u].items() if other != name]
    with_adj = [(verdicts[u][name], adjudged[u]) for u in units if u in adjudged]
    return AnnotatorStats(
        annotator=name,
        judged=len(rows),
        correct=counts["correct"],
        incorrect=counts["incorrect"],
        unsure=counts["unsure"],
        median_time_s=_median_time(rows),
        agreement_with_others=sum(x == y for x, y in pairs) / len(pairs) if pairs else None,
        agreement_with_adjudication=sum(x == y for x, y in with_adj) / len(with_adj) if with_adj else None,
        n_adjudicated=len(with_adj),
    )


def _pair_kappas(
    table: dict[str, dict[Hashable, dict[str, Hashable]]], names: list[str]
) -> list[PairAgreement]:
    out = []
    for a, b in itertools.combinations(names, 2):
        for component, units in table.items():
            both = [(v[a], v[b]) for v in units.values() if a in v and b in v]
            if both:
                xs, ys = zip(*both, strict=True)
                result = cohen_kappa(xs, ys)
                out.append(PairAgreement(annotator_a=a, annotator_b=b, component=component, result=result))
    return out


@evaluator(
    "agreement",
    "Inter-annotator agreement per component: Cohen's kappa per pair, Krippendorff's alpha, "
    "per-annotator statistics.",
)
def agreement(
    annotations: pd.DataFrame,
    *,
    components: Sequence[str] = (VERDICT, *SNAPSHOT_COMPONENTS),
    router: str | None = None,
) -> AgreementResult:
    """Agreement between annotators on the units they judged (definitions in the module docstring).

    Args:
        annotations: Current annotations (`annotations_current`, no undo rows): request_id, router,
            annotator, kind, verdict, decision_path, corrected, created_at; time_spent_s if present.
        components: ``verdict`` and/or path components (model, retrieval, cache, escalation, action).
        router: Only the units of this router version; None: every version's units.

    Returns:
        An `AgreementResult`; with fewer than two annotators, no pairs and every alpha `n/a`.

    Raises:
        EvaluatorError: a missing column, an unknown kind, verdict or component, a repeated judgement,
            bad JSON in a path.
    """
    components = _check_components(components)
    rows = _rows(annotations, router)
    judgements = [r for r in rows if r["kind"] == "judgement"]
    adjudications = sorted(
        (r for r in rows if r["kind"] == "adjudication"), key=lambda r: (r["created_at"], r["annotator"])
    )
    # the latest adjudication of a unit is its final word
    adjudged = {(str(r["request_id"]), str(r["router"])): str(r["verdict"]) for r in adjudications}
    table: dict[str, dict[Hashable, dict[str, Hashable]]] = {c: defaultdict(dict) for c in components}
    verdicts: dict[Unit, dict[str, Hashable]] = defaultdict(dict)
    by_annotator: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in judgements:
        unit, name = (str(row["request_id"]), str(row["router"])), str(row["annotator"])
        verdicts[unit][name] = row["verdict"]
        by_annotator[name].append(row)
        for c, value in unit_values(row, components).items():
            table[c][unit][name] = value
    names = sorted(by_annotator)
    return AgreementResult(
        router=router,
        components=components,
        n_units=len(verdicts),
        n_multi=sum(len(v) >= 2 for v in verdicts.values()),
        n_adjudicated=len(adjudged),
        pairs=_pair_kappas(table, names),
        alpha={c: krippendorff_alpha(table[c]) for c in components},
        annotators=[_annotator_stats(n, by_annotator[n], verdicts, adjudged) for n in names],
    )
