"""Compliance flags: every decision of one version checked against the privacy and residency rules.

The rules and where the PII comes from are documented in `evaluators.compliance`. Traffic repeats a few
paths (model, fallbacks, escalation, action), data classes, regions and PII sets, so each distinct one is
checked once and rows pick their answers by integer codes (`pandas.factorize`): a million decisions cost a
few vectorised passes, not a million Python calls. Prompts are scanned once per distinct text; the fallback
lists DuckDB hands over as one numpy array per row are turned into tuples only where non-empty, and read
once per distinct list. Frames in request_id order (as the store returns them) skip the hash passes of the
uniqueness check and the alignment.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from routelab.evaluators.compliance_types import ComplianceRules, PiiSource
from routelab.evaluators.errors import EvaluatorError
from routelab.evaluators.frames import FrameError, is_missing, require_columns, require_unique
from routelab.router_core.config import ModelSpec
from routelab.router_core.paths import ESCALATION_MODEL_PREFIX
from routelab.router_core.pii import PiiType, any_candidate_pattern, has_pii

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd  # type: ignore[import-untyped,unused-ignore]  # no pandas-stubs in the dev lock yet
    from numpy.typing import NDArray

#: A model's scope: a `ModelSpec`, or the pair (boundary, regions) read from one.
ModelScope = ModelSpec | tuple[str, Sequence[str]]
DEFAULT_RULES = ComplianceRules()
#: The PII type name of a `pii_types` column that only says "some PII" (a boolean).
UNNAMED_PII = "pii"
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
_NO_PII: frozenset[str] = frozenset()


@dataclass(frozen=True)
class BreachFlags:
    """Every decision of one version checked against the rules.

    `frame` has one row per decision in request_id order: the `FLAG_COLUMNS` (``causes`` and the two
    ``*_models`` columns hold tuples of strings; the booleans are numpy bools), then the request columns the
    caller asked to carry (``ts`` and slice fields).
    """

    frame: pd.DataFrame
    version: str | None
    rules: ComplianceRules
    pii_source: PiiSource
    warnings: tuple[str, ...]


# --- coded columns ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Coded:
    """A column as integer codes into its distinct values; a missing cell is the last value, None."""

    codes: NDArray[np.intp]
    values: list[Any]

    def map(self, fn: Callable[[Any], Any]) -> _Coded:
        """`fn` applied once per distinct value; equal results share a code."""
        return _coded_results(self.codes, [fn(v) for v in self.values])


def _coded(column: Any) -> _Coded:
    """Code a Series (or a sequence) of hashable cells.

    Raises:
        TypeError: a cell is unhashable (a list or a dict).
    """
    import numpy as np
    import pandas as pd

    series = column if isinstance(column, pd.Series) else pd.Series(list(column), dtype=object)
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    values = [*list(uniques), None]
    return _Coded(np.where(codes < 0, len(values) - 1, codes).astype(np.intp), values)


def _coded_results(codes: NDArray[np.intp], results: list[Any]) -> _Coded:
    import numpy as np

    index: dict[Any, int] = {}
    remap = np.fromiter((index.setdefault(r, len(index)) for r in results), dtype=np.intp, count=len(results))
    return _Coded(remap[codes], list(index))


def _combined(*parts: _Coded) -> _Coded:
    """Codes of the tuples of several coded columns (only the combinations that occur)."""
    import numpy as np

    key = np.zeros(len(parts[0].codes), dtype=np.int64)
    for part in parts:
        key = key * len(part.values) + part.codes
    unique, inverse = np.unique(key, return_inverse=True)
    tuples = []
    for k in unique.tolist():
        items = []
        for part in reversed(parts):
            k, code = divmod(k, len(part.values))
            items.append(part.values[code])
        tuples.append(tuple(reversed(items)))
    return _Coded(inverse.astype(np.intp).reshape(-1), tuples)


def _objects(items: Sequence[Any]) -> NDArray[np.object_]:
    """A 1-D object array holding `items` (tuples stay tuples: numpy would make them a second axis)."""
    import numpy as np

    out = np.empty(len(items), dtype=object)
    for i, item in enumerate(items):
        out[i] = item
    return out


# --- cells --------------------------------------------------------------------------------------------------


def model_scopes(models: Mapping[str, ModelScope]) -> dict[str, tuple[str, frozenset[str]]]:
    """Model id → (boundary, case-folded regions)."""
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


def _folded(value: object) -> str | None:
    """A region as compared: stripped and case-folded; None when missing or empty."""
    text = _text(value)
    return None if text is None else text.casefold()


def _names(value: object, where: str) -> frozenset[str]:
    """PII type names of one `pii_types` cell: a comma-separated string, a boolean, or missing."""
    if is_missing(value):
        return _NO_PII
    if isinstance(value, str):
        return frozenset(t.strip() for t in value.split(",") if t.strip())
    if type(value).__name__ in ("bool", "bool_"):  # numpy's bool too, without importing numpy
        return frozenset({UNNAMED_PII}) if value else _NO_PII
    raise FrameError(
        f"{where}: {value!r} is neither comma-separated PII type names nor true/false; "
        f"known types: {', '.join(sorted(_KNOWN_PII))}"
    )


def _coded_names(requests: pd.DataFrame, column: str) -> _Coded:
    """The PII names of a pii_types column, each distinct cell parsed once; errors name the request."""
    ids = requests["request_id"].tolist()
    try:
        coded = _coded(requests[column])
    except TypeError:  # an unhashable cell (a list): `_names` refuses the first one, naming its request
        for rid, value in zip(ids, requests[column].tolist(), strict=True):
            _names(value, f"requests.{column} of {rid}")
        raise
    names = []
    for k, value in enumerate(coded.values):
        try:
            names.append(_names(value, ""))
        except FrameError:
            first = ids[int((coded.codes == k).argmax())]
            names.append(_names(value, f"requests.{column} of {first}"))
    return _coded_results(coded.codes, names)


class _Scanner:
    """PII types of prompt texts, each distinct text scanned once."""

    def __init__(self, types: Sequence[PiiType]) -> None:
        self.types = tuple(types)
        self.guard = re.compile(any_candidate_pattern(self.types), re.ASCII) if self.types else None

    def __call__(self, text: object) -> frozenset[str]:
        if not isinstance(text, str) or self.guard is None:
            return _NO_PII
        if self.guard.search(text) is None:  # most prompts: one regex call instead of one per type
            return _NO_PII
        return frozenset(t.value for t in self.types if has_pii(text, t))


def _pii(requests: pd.DataFrame, rules: ComplianceRules) -> tuple[_Coded, PiiSource, list[str]]:
    """Per request: the PII type names that count under `rules`, where they came from, and warnings."""
    import numpy as np

    warnings: list[str] = []
    source: PiiSource
    if "pii_types" in requests.columns:
        found = _coded_names(requests, "pii_types")
        source = "column"
    elif "prompt" in requests.columns:
        found = _coded(requests["prompt"]).map(_Scanner(rules.pii_types))
        source = "prompt"
    else:
        found = _Coded(np.zeros(len(requests), dtype=np.intp), [_NO_PII])
        source = "none"
        warnings.append("requests have neither a prompt nor a pii_types column: PII was not checked")
    if "attrs.pii_types" in requests.columns:
        found = _combined(found, _coded_names(requests, "attrs.pii_types")).map(lambda fg: fg[0] | fg[1])
    counted = {t.value for t in rules.pii_types}
    return (
        found.map(lambda f: frozenset(n for n in f if n in counted or n not in _KNOWN_PII)),
        source,
        warnings,
    )


def _fallbacks(value: object) -> tuple[str, ...]:
    """Fallback model ids of a decision cell: a list or array; missing (None, NaN, NA) means none."""
    if isinstance(value, str) or is_missing(value) or not hasattr(value, "__iter__"):
        return ()
    return tuple(str(m) for m in value if not is_missing(m))


def _coded_fallbacks(column: pd.Series) -> _Coded:
    """The fallbacks of each decision as codes, `_fallbacks` read once per distinct list.

    DuckDB hands a list column over as one numpy array per row, which cannot be hashed. Rows without
    fallbacks (missing or empty, most of them) get code 0 from two C-level passes (`pandas.isna`, `len`);
    only the others become tuples, and each distinct tuple goes through `_fallbacks` once. A column with a
    string cell (which `_fallbacks` reads as no fallbacks, not as its letters), a cell without a length or
    an unhashable item takes the per-row path.
    """
    import itertools

    import numpy as np
    import pandas as pd

    cells = column.to_numpy(dtype=object)
    if not any(map(isinstance, cells, itertools.repeat(str))):
        try:
            present = np.flatnonzero(~pd.isna(cells))
            sizes = np.fromiter(map(len, cells[present]), dtype=np.intp, count=len(present))
            at = present[sizes > 0]
            listed = _coded(list(map(tuple, cells[at])))
        except TypeError:  # a cell without a length (a number), or an item that cannot be hashed
            pass
        else:
            codes = np.zeros(len(cells), dtype=np.intp)
            codes[at] = listed.codes + 1
            return _coded_results(codes, [(), *(_fallbacks(v) for v in listed.values)])
    return _coded([_fallbacks(c) for c in cells])


def _escalated(value: object) -> str | None:
    """The model a `model:<id>` escalation sends the request to; None for none or human review."""
    if isinstance(value, str) and value.startswith(ESCALATION_MODEL_PREFIX):
        return value[len(ESCALATION_MODEL_PREFIX) :]
    return None


def _reach(
    path: tuple[Any, ...], rules: ComplianceRules, scopes: Mapping[str, Any], version: str | None
) -> tuple[str, ...]:
    """The models a (model, fallbacks, escalated model, action) path may send the request to, in order.

    Raises:
        EvaluatorError: a model `scopes` does not know.
    """
    model, fallbacks, escalated, action = path
    if action == "block":
        return ()
    found = [] if is_missing(model) else [str(model)]
    if rules.check_fallbacks:
        found += [*fallbacks, *([escalated] if escalated else [])]
    unknown = [m for m in found if m not in scopes]
    if unknown:
        raise EvaluatorError(
            f"a decision of {version or 'the version'} reaches model {unknown[0]!r}, which models does not "
            f"know; known: {', '.join(sorted(scopes)) or '(none)'}; pass the version's config models"
        )
    return tuple(dict.fromkeys(found))


def _causes(key: tuple[Any, ...], rules: ComplianceRules) -> tuple[str, ...]:
    """Why a (data class, PII set, action) request is sensitive: its class, then its PII types.

    With `redact_masks_pii` a `redact` action masked the PII before it left: only the class counts then.
    """
    data_class, pii, action = key
    classes = {c.casefold() for c in rules.sensitive_classes}
    by_class = (
        [f"data_class:{data_class}"] if data_class is not None and data_class.casefold() in classes else []
    )
    masked = action == "redact" and rules.redact_masks_pii
    return (*by_class, *([] if masked else [f"pii:{t}" for t in sorted(pii)]))


# --- the flags ----------------------------------------------------------------------------------------------


def _version(decisions: pd.DataFrame) -> str | None:
    if "router" not in decisions.columns:
        return None
    versions = sorted(str(v) for v in decisions["router"].dropna().unique())
    if len(versions) > 1:
        raise EvaluatorError(
            f"decisions: hold {len(versions)} versions ({', '.join(versions[:5])}); pass one version's"
        )
    return versions[0] if versions else None


def _increasing(column: pd.Series) -> bool:
    """Whether the values strictly increase (so they are unique): one vectorised comparison, no hashing.

    The store returns frames in request_id order, so this is the common case; anything else (a missing
    value, values that do not compare) answers False and the caller takes the general path.
    """
    if len(column) < 2:
        return not column.hasnans
    values = column.array
    try:
        return not column.hasnans and bool((values[1:] > values[:-1]).all())
    except TypeError:
        return False


def _require_unique(frame: pd.DataFrame, column: str, what: str) -> None:
    """`require_unique`, without its hash pass over a million ids when they strictly increase."""
    if not _increasing(frame[column]):
        require_unique(frame, column, what)


def _aligned(decisions: pd.DataFrame, requests: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The decisions in request_id order and their requests, row for row.

    Frames from the store are in request_id order, and usually hold the same requests: then nothing is
    sorted or looked up.

    Raises:
        FrameError: a decision whose request is not in `requests`.
    """
    import pandas as pd

    if _increasing(decisions["request_id"]):
        dec = decisions.reset_index(drop=True)
    else:
        dec = decisions.sort_values("request_id", kind="stable", ignore_index=True)
    if dec["request_id"].array.equals(requests["request_id"].array):
        return requests.reset_index(drop=True), dec
    at = pd.Index(requests["request_id"]).get_indexer(pd.Index(dec["request_id"]))
    if (at < 0).any():
        missing = dec["request_id"][at < 0].tolist()
        raise FrameError(
            f"decisions: {len(missing)} request(s) not in requests, e.g. {', '.join(map(str, missing[:5]))}; "
            "pass every decided request"
        )
    return requests.iloc[at].reset_index(drop=True), dec


def _values(column: pd.Series) -> Any:
    """A request column's values for the flags frame: as numpy values, or as they are when text.

    A text column's round trip through Python objects costs about a second a million rows and gives back
    the same `str` column.
    """
    return column.array if column.dtype == "str" else column.to_numpy()


def flag_breaches(
    decisions: pd.DataFrame,
    requests: pd.DataFrame,
    models: Mapping[str, ModelScope],
    *,
    rules: ComplianceRules = DEFAULT_RULES,
    carry: Sequence[str] = (),
) -> BreachFlags:
    """Check every decision of one version against the rules (see `evaluators.compliance`).

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
    import numpy as np
    import pandas as pd

    require_columns(decisions, DECISION_COLUMNS, "decisions")
    require_columns(requests, [*REQUEST_COLUMNS, *carry], "requests")
    _require_unique(decisions, "request_id", "decisions")
    _require_unique(requests, "request_id", "requests")
    version = _version(decisions)
    scopes = model_scopes(models)
    private = set(rules.private_boundaries)
    reqs, dec = _aligned(decisions, requests)
    pii, source, warnings = _pii(reqs, rules)
    n = len(reqs)
    constant = _Coded(np.zeros(n, dtype=np.intp), [None])
    action = _coded(dec["action"])
    fallbacks = _coded_fallbacks(dec["fallbacks"]) if "fallbacks" in dec.columns else constant
    escalated = _coded(dec["escalation"]).map(_escalated) if "escalation" in dec.columns else constant
    path = _combined(_coded(dec["model"]), fallbacks, escalated, action)
    reached = [_reach(p, rules, scopes, version) for p in path.values]
    region = _coded(reqs["region"]).map(_folded)
    data_class = _coded(reqs["data_class"]).map(_text)
    causes = _combined(data_class, pii, action).map(lambda key: _causes(key, rules))
    has_cause = np.array([bool(c) for c in causes.values], dtype=bool)[causes.codes]
    # privacy: the models outside the boundaries per path; rows without a cause point at the last entry, ()
    outside = [tuple(m for m in models_ if scopes[m][0] not in private) for models_ in reached]
    privacy_at = np.where(has_cause, path.codes, len(outside))
    # residency: per (path, region), the models that list regions but not this one
    off_region = [
        tuple(m for m in models_ if r is not None and scopes[m][1] and r not in scopes[m][1])
        for models_ in reached
        for r in region.values
    ]
    residency_at = path.codes * len(region.values) + region.codes
    privacy = np.array([bool(m) for m in outside] + [False], dtype=bool)[privacy_at]
    residency = np.array([bool(m) for m in off_region], dtype=bool)[residency_at]
    classes = {c.casefold() for c in rules.sensitive_classes}
    by_class = np.array([d is not None and d.casefold() in classes for d in data_class.values], dtype=bool)
    by_pii = np.array([bool(p) for p in pii.values], dtype=bool)
    frame = pd.DataFrame(
        {
            "request_id": _values(reqs["request_id"]),
            "sensitive": by_class[data_class.codes] | by_pii[pii.codes],
            "regional": np.array([r is not None for r in region.values], dtype=bool)[region.codes],
            "blocked": np.array([a == "block" for a in action.values], dtype=bool)[action.codes],
            "privacy": privacy,
            "residency": residency,
            "any": privacy | residency,
            "causes": _objects(causes.values)[causes.codes],
            "privacy_models": _objects([*outside, ()])[privacy_at],
            "residency_models": _objects(off_region)[residency_at],
        },
        columns=list(FLAG_COLUMNS),
    )
    for column in dict.fromkeys(carry):
        if column != "request_id":
            frame[column] = _values(reqs[column])
    return BreachFlags(frame=frame, version=version, rules=rules, pii_source=source, warnings=tuple(warnings))
