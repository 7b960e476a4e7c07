"""Route shares across two versions: what switching the same traffic from one version to the other would move.

The decision frames are joined on request_id (a request only one version decided is counted and left out).
Per slice and path component, for every value either version routes to: share_base = k_b / n and
share_candidate = k_c / n over the slice's n paired requests, and delta = share_candidate − share_base from
the 2×2 table of the indicator "routed to this value" under base × candidate: a (both), b (base only: the
requests leaving it), c (candidate only: entering it), d (neither); delta = (c − b) / n, `moved` = b + c.

- **Interval**: Newcombe's paired score interval (`intervals`, his method 10), the one `compare` uses for
  accuracy deltas. **Test**: McNemar on b and c (exact below 25 discordant requests).
- **Slices**: always ``all``; then each `by` field, ``week`` = ISO week of requests.ts and ``a*b`` the cross
  of fields (value ``support × refund``). A missing component value reads ``none``, a missing slice value
  ``(missing)``. Slices with fewer than `min_requests` paired requests are reported, not tested.
- **Many tests**: Benjamini–Hochberg across every tested row of every slice and component. A row no request
  moves in or out of has McNemar p = 1 and can never be rejected; it is left out of the family (independent
  filtering: McNemar is conditional on b + c) and reported with p_adjusted = 1, so unchanged components do
  not dilute the tests of the changed ones. ``significant`` = p_adjusted < `alpha`.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field

from routelab.evaluators.accuracy_types import MISSING
from routelab.evaluators.arguments import check_confidence, check_count
from routelab.evaluators.errors import EvaluatorError, InvalidProbabilityError, UnknownOptionError
from routelab.evaluators.estimates import Estimate
from routelab.evaluators.frames import CROSS, is_missing, iso_week, require_columns, require_unique, slice_key
from routelab.evaluators.intervals import _newcombe_paired, mcnemar
from routelab.evaluators.rank_tests import benjamini_hochberg
from routelab.evaluators.registry import evaluator

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped,unused-ignore]  # no pandas-stubs in the dev lock yet

COMPONENTS = ("model", "tier", "retrieval", "cache", "escalation", "action")
NONE = "none"
METHOD = "newcombe-paired-score"  # the name `paired_accuracy_delta` records for the same interval
METHOD_NOTE = (
    "Shares over the requests both versions decided, delta = candidate − base with Newcombe's paired score "
    "interval and McNemar's test on the requests leaving and entering each value, p-values adjusted by "
    "Benjamini–Hochberg across the tested rows with at least one move (the others keep p_adjusted = 1)."
)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RouteShare(_Frozen):
    """The share of one slice's requests routed to one value of one component, under both versions."""

    slice_field: str = Field(description="Slice field: `all`, a request field, `week` or a cross `a*b`.")
    slice_value: str = Field(description=f"Its value (`all`; `a × b` for a cross; `{MISSING}` if none).")
    component: str = Field(description="Path component, e.g. `model`.")
    value: str = Field(description="The component's value (`none` when the decision has none).")
    n: int = Field(ge=1, description="Paired requests in the slice.")
    share_base: float = Field(ge=0, le=1, description="Share of them the base version routes to the value.")
    share_candidate: float = Field(ge=0, le=1, description="The same under the candidate.")
    delta: Estimate = Field(
        description="share_candidate − share_base, Newcombe interval, McNemar p if tested."
    )
    p_adjusted: float | None = Field(description="Benjamini–Hochberg adjusted p; None when not tested.")
    significant: bool = Field(description="p_adjusted < alpha.")
    moved: int = Field(ge=0, description="Requests leaving the value plus requests entering it.")


class RouteShareResult(_Frozen):
    """Route shares of two versions on the same requests, per slice and component."""

    evaluator: Literal["route-shares"] = Field(default="route-shares", description="The evaluator's name.")
    base_version: str | None = Field(description="Base version (`router` column); None when absent.")
    candidate_version: str | None = Field(description="Candidate version (`router` column); None if absent.")
    n_paired: int = Field(ge=1, description="Requests both versions decided (the population).")
    n_base_only: int = Field(ge=0, description="Base decisions without a candidate decision, left out.")
    n_candidate_only: int = Field(ge=0, description="Candidate decisions without a base decision, left out.")
    by: list[str] = Field(description="Slice fields after `all` (`week`, crosses `a*b`).")
    components: list[str] = Field(description="Path components compared.")
    confidence: float = Field(description="Confidence level of every interval.")
    alpha: float = Field(description="False discovery rate level of `significant`.")
    min_requests: int = Field(description="Fewest paired requests for a slice to be tested.")
    rows: list[RouteShare] = Field(
        description="By slice field (`all` first), slice value, component, −|delta|."
    )
    method_note: str = Field(default=METHOD_NOTE, description="The method in one sentence.")

    def top(self, k: int = 10) -> list[RouteShare]:
        """The `k` significant rows with the most requests moved net (|delta| · n), most first."""
        significant = [r for r in self.rows if r.significant]
        significant.sort(key=lambda r: -round(abs(r.delta.value or 0.0) * r.n))
        return significant[: check_count(k, "k")]


def paired_share_delta(a: int, b: int, c: int, d: int, confidence: float = 0.95) -> Estimate:
    """share(candidate) − share(base) of one value on paired requests: Newcombe interval and McNemar p.

    Args:
        a: Requests both versions route to the value. b: only the base (leaving). c: only the candidate
            (entering). d: neither.
        confidence: Confidence level, strictly between 0 and 1.

    Returns:
        An `Estimate` of (c − b) / n; with no requests value None, interval (−1, 1), p = 1.
    """
    a, b, c, d = (check_count(x, name) for x, name in ((a, "a"), (b, "b"), (c, "c"), (d, "d")))
    confidence = check_confidence(confidence)
    test = mcnemar(b, c)
    n = a + b + c + d
    low, high = _newcombe_paired(a, b, c, d, confidence) if n else (-1.0, 1.0)
    return Estimate(
        value=(c - b) / n if n else None,
        ci_low=low,
        ci_high=high,
        n=n,
        method=METHOD,
        confidence=confidence,
        p_value=test.p_value,
        test=test.test,
    )


def _side(decisions: pd.DataFrame, components: Sequence[str], what: str) -> tuple[pd.DataFrame, str | None]:
    """request_id and the components as text (missing → ``none``), and the frame's `router`."""
    import numpy as np
    import pandas as pd

    require_columns(decisions, ["request_id", *components], what)
    require_unique(decisions, "request_id", what)
    routers = decisions["router"].dropna().unique().tolist() if "router" in decisions.columns else []
    if len(routers) > 1:
        raise EvaluatorError(f"{what}: several router versions ({', '.join(map(str, routers))}); pass one")
    out = pd.DataFrame({"request_id": [str(r) for r in decisions["request_id"]]})
    for c in components:
        codes, uniques = pd.factorize(decisions[c], use_na_sentinel=True)  # NA → −1 → the last label
        labels = [NONE if is_missing(u) else str(u) for u in uniques] + [NONE]
        out[c] = np.array(labels, dtype=object)[codes]
    return out, str(routers[0]) if routers else None


def _slice_keys(ids: pd.Series, requests: pd.DataFrame | None, by: Sequence[str]) -> pd.DataFrame:
    """Each `by` field's value as text per paired request, aligned with `ids`."""
    import pandas as pd

    if requests is None:
        raise EvaluatorError(f"slices by {', '.join(by)} need the requests frame; pass `requests`")
    require_columns(requests, ["request_id"], "requests")
    columns = [str(c) for c in requests.columns]
    available = [c for c in columns if c not in ("request_id", "week")] + ["week"] * ("ts" in columns)
    parts = {f: f.split(CROSS) for f in by}
    unknown = [f for f in by if any(p not in available for p in parts[f])]
    if unknown:
        raise UnknownOptionError(
            "by",
            f"names unknown field(s) {', '.join(unknown)}",
            f"pass fields of requests: {', '.join(available)} (or a cross of two, e.g. a*b)",
        )
    used = list(dict.fromkeys(p for f in by for p in parts[f]))
    need = list(dict.fromkeys("ts" if p == "week" else p for p in used))
    require_unique(requests, "request_id", "requests")
    fields = requests[["request_id", *need]].assign(request_id=requests["request_id"].astype(str))
    if "week" in used:
        fields["week"] = iso_week(fields["ts"])
    keys = ids.to_frame().merge(fields, on="request_id", how="left", validate="one_to_one")
    return pd.DataFrame({f: slice_key(keys, f).set_axis(ids.index) for f in by}, index=ids.index)


class _Cell(NamedTuple):
    """The 2×2 table of one (slice, component, value): a both, b base only, c candidate only, of n."""

    order: int
    field: str
    slice_value: str
    component: str
    value: str
    n: int
    a: int
    b: int
    c: int


def _cells(key: pd.Series, frame: pd.DataFrame, order: int, field: str, component: str) -> list[_Cell]:
    """One table per (slice value, route value) of one component; `key` holds each request's slice value."""
    import pandas as pd

    cells = pd.DataFrame({"s": key, "b": frame[f"{component}_base"], "c": frame[f"{component}_cand"]})
    n_of: Counter[str] = Counter()
    k_base: Counter[tuple[str, str]] = Counter()
    k_cand: Counter[tuple[str, str]] = Counter()
    both: Counter[tuple[str, str]] = Counter()
    for (s, vb, vc), k in cells.groupby(["s", "b", "c"], sort=False).size().items():
        n_of[s] += int(k)
        k_base[s, vb] += int(k)
        k_cand[s, vc] += int(k)
        if vb == vc:
            both[s, vb] += int(k)
    out = []
    for s, v in set(k_base) | set(k_cand):
        a = both[s, v]
        out.append(_Cell(order, field, s, component, v, n_of[s], a, k_base[s, v] - a, k_cand[s, v] - a))
    return out


@evaluator(
    "route-shares",
    "Two versions on the same requests: per slice and component, share routed to each value and its shift.",
)
def route_share_shift(
    base: pd.DataFrame,
    candidate: pd.DataFrame,
    requests: pd.DataFrame | None = None,
    *,
    by: Sequence[str] = (),
    components: Sequence[str] = COMPONENTS,
    confidence: float = 0.95,
    min_requests: int = 30,
    alpha: float = 0.05,
) -> RouteShareResult:
    """Share of the same requests routed to each component value by two versions, and its paired shift.

    See the module docstring for the definitions.

    Args:
        base: The base version's decisions: request_id and the `components` (router optional).
        candidate: The candidate's decisions, the same columns.
        requests: request_id and the slice fields (ts for `week`); needed only when `by` is not empty.
        by: Slice fields: request fields, `week` (ISO week of ts), `a*b` for the cross of two fields.
        components: Decision columns compared.
        confidence: Confidence level of every interval.
        min_requests: Slices with fewer paired requests are reported but not tested (p_value None).
        alpha: False discovery rate level of `significant` (p_adjusted < alpha).

    Raises:
        EvaluatorError: a missing column, a repeated request_id, several versions in one frame, no request
            decided by both, an unknown `by` field (the message lists the available ones), a bad parameter.
    """
    import pandas as pd

    confidence = check_confidence(confidence)
    min_requests = check_count(min_requests, "min_requests")
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0 < alpha < 1:
        raise InvalidProbabilityError("alpha", f"is {alpha!r}", "pass a level strictly between 0 and 1")
    by, components = list(dict.fromkeys(by)), list(dict.fromkeys(components))
    base_side, base_version = _side(base, components, "base decisions")
    cand_side, cand_version = _side(candidate, components, "candidate decisions")
    frame = base_side.merge(cand_side, on="request_id", suffixes=("_base", "_cand"), validate="one_to_one")
    if frame.empty:
        raise EvaluatorError(
            f"base decisions ({base_version}) and candidate decisions ({cand_version}) share no request_id; "
            "replay both versions over the same traffic"
        )
    keys = _slice_keys(frame["request_id"], requests, by) if by else pd.DataFrame(index=frame.index)
    slices = [("all", pd.Series("all", index=frame.index)), *((f, keys[f]) for f in by)]
    cells = [
        cell
        for order, (field, key) in enumerate(slices)
        for c in components
        for cell in _cells(key, frame, order, field, c)
    ]
    rank = {c: i for i, c in enumerate(components)}
    cells.sort(key=lambda t: (t.order, t.slice_value, rank[t.component], -abs(t.c - t.b), t.value))
    deltas = [paired_share_delta(t.a, t.b, t.c, t.n - t.a - t.b - t.c, confidence) for t in cells]
    tested = [t.n >= min_requests for t in cells]
    # Rows nobody moves in or out of have p = 1 and cannot be rejected: leave them out of the family.
    family = [ok and t.b + t.c > 0 for ok, t in zip(tested, cells, strict=True)]
    raw = [
        d.p_value if f and d.p_value is not None else math.nan for d, f in zip(deltas, family, strict=True)
    ]
    rows = []
    for t, d, ok, f, p in zip(cells, deltas, tested, family, benjamini_hochberg(raw), strict=True):
        p_adjusted = p if f else (1.0 if ok else None)
        rows.append(
            RouteShare(
                slice_field=t.field,
                slice_value=t.slice_value,
                component=t.component,
                value=t.value,
                n=t.n,
                share_base=(t.a + t.b) / t.n,
                share_candidate=(t.a + t.c) / t.n,
                delta=d if ok else d.model_copy(update={"p_value": None, "test": None}),
                p_adjusted=p_adjusted,
                significant=p_adjusted is not None and p_adjusted < alpha,
                moved=t.b + t.c,
            )
        )
    return RouteShareResult(
        base_version=base_version,
        candidate_version=cand_version,
        n_paired=len(frame),
        n_base_only=len(base_side) - len(frame),
        n_candidate_only=len(cand_side) - len(frame),
        by=by,
        components=components,
        confidence=confidence,
        alpha=float(alpha),
        min_requests=min_requests,
        rows=rows,
    )
