"""Attribution: which changes of the router diff account for which flips between two versions.

A request *flips* when its path differs between the base and the candidate decisions in `model`, `retrieval`,
`escalation` or `action` (a missing retrieval or escalation is "none"). Decisions carry no request text, so
nothing is re-routed: each flip is explained from the two decisions (the rule that fired, the policy flags,
the models and indexes on the path) and the structure of the diff, by this rule (`ATTRIBUTION_RULE`):

1. *A different rule fired* (`rule_id` differs). The candidate's firing rule when the diff *added* or
   *moved* it or changed its `when` (role `candidate_rule`), and the base's firing rule when the diff
   *removed* or *moved* it or changed its `when` (`base_rule`): both are listed, the candidate's first
   (shift-only moves aside, below). Route, confidence or description edits of a firing rule do not decide
   whether it matches, so they do not count here. Else the rules placed before the firing rule (in the
   candidate's order for the candidate's rule, in the base's order for the base's; every rule precedes
   `default`) that were added, removed, moved or had their `when` changed (`earlier_rule`): the request fell
   through, or stopped, at them. Else the signals either firing rule's `when` references (in either
   version) that were added, removed or changed (`rule_signal`). With unchanged conditions and order the
   same rule would fire, so a rule flip that neither firing rule explains is, in practice, a signal change.
2. *Policy flags differ*: the policies in one version's flags but not the other's that were added, removed,
   moved or changed; and the policies in both versions' flags that moved or changed in something other than
   `when` (they acted in both, but differently) (`policy`).
3. *The same rule fired* (or `default` in both) and the diff changed its `route.model`, `route.retrieval`,
   `route.context_tokens` (it decides which models fit a reroute), `route.escalation` or `confidence` (the
   confidence floor reads it) (`route`). `route.cache` and `route.fallbacks` cannot flip a compared
   component and do not count.
4. *Models and indexes on the path*: changed, added or removed models that either decision chose or
   escalates to (moved ones too when a policy flagged the request, since config order breaks a reroute's
   ties) (`model`), and changed, added or removed indexes either decision retrieves from (`index`).
5. Only when 1–4 found nothing: signals referenced by the `when` of the policies whose flags differ, or by
   the firing rule's confidence expression (`signal`); else, when a policy flagged the request, changed
   privacy and region policies, which restrict every policy's choice of model without flagging
   (`constraint`); else changes to `tiers` or `defaults` (`global`). Otherwise the flip is *unexplained*.

Changes that touch only a `description` never explain anything. Within a step, changes keep the diff's
order, except that *shift-only* moves come last: the diff reports `moved` for every item whose position
among the shared items changed, so moving one rule up three places also reports the three it jumped over;
the items in every longest common subsequence of the two orders only shifted (`shift_only`), the others
really moved. The *primary* change of a flip is the first listed: rule selection before policies before
routes before models, so a real move outranks the shift it caused (v1 → v2 moved `support-billing-faq`
above `support-billing`; v2 → v3 moved it back: both times the FAQ lane is primary).

**Counting.** A flip is listed under *every* change that explains it: `shared` counts (and their cost and
accuracy impact) overlap, so they can sum to more than the number of flips. `primary` counts split the
flips: each explained flip counts once, under its primary change, so they sum to the explained flips. Cost
impact sums candidate − base `est_cost_usd` over the flips (a missing cost counts as no change); accuracy
impact, with per-request correctness of both versions, counts fixed (base wrong, candidate right) and broken
(base right, candidate wrong) flips and their difference. Every diff change is reported, ranked by shared
flips, then primary flips, then diff order; examples are request ids, primary flips first, then by id.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from routelab.evaluators.attribution_types import (
    FLIP_COMPONENTS,
    Attribution,
    AttributionParams,
    ChangeAttribution,
    ChangeRef,
    Impact,
    Role,
    change_key,
)
from routelab.evaluators.errors import InvalidArgumentError
from routelab.evaluators.flip_explainer import Explainer, affects
from routelab.evaluators.flip_frames import (
    check_policy_flags,
    check_routers,
    check_rules,
    explain_frames,
    explain_patterns,
)
from routelab.evaluators.registry import evaluator
from routelab.router_core.identity import RouterDiff
from routelab.router_core.validate import Router

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped,unused-ignore]  # no pandas-stubs in the dev lock yet


def explain_flips(
    diff: RouterDiff,
    base_router: Router,
    cand_router: Router,
    base_decisions: pd.DataFrame,
    cand_decisions: pd.DataFrame,
    correctness: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Explain every flip between two versions' decisions by the diff changes involved (module docstring).

    Args:
        diff: `router_core.identity.diff(base_router, cand_router)`.
        base_router: The base version.
        cand_router: The candidate version.
        base_decisions: The base's decisions (columns `DECISION_COLUMNS`; a `router` column is checked).
        cand_decisions: The candidate's decisions, same columns.
        correctness: Optional per-request correctness: request_id, base_correct, cand_correct (bool or
            0/1; missing: unlabelled).

    Returns:
        One row per flip, by request_id: `request_id`, `components` (the flipped ones), `base_rule`,
        `cand_rule`, `primary` (a change key, `section:change:item`; None when unexplained), `causes` and
        `roles` (every explaining change, primary first, and how each explained it), `cost_delta_usd`
        (candidate − base) and `outcome` (fixed, broken, both_right, both_wrong or unlabelled).

    Raises:
        AttributionError: the routers are not the diff's, or decisions name other versions, rules or policies.
        FrameError: a frame lacks a column, repeats a request or holds an unreadable value.
    """
    explained = explain_frames(diff, base_router, cand_router, base_decisions, cand_decisions, correctness)
    return explained.frame.drop(columns="_pattern")


# --- aggregation ------------------------------------------------------------------------------------------


def _impact(sums: Any, with_correctness: bool) -> Impact:
    """An `Impact` from [flips, cost, labelled, fixed, broken]."""
    flips, cost, labelled, fixed, broken = (float(v) for v in sums)
    if not with_correctness:
        return Impact(flips=int(flips), cost_delta_usd=cost, labelled=None, fixed=None, broken=None, net=None)
    return Impact(
        flips=int(flips),
        cost_delta_usd=cost,
        labelled=int(labelled),
        fixed=int(fixed),
        broken=int(broken),
        net=int(fixed) - int(broken),
    )


@evaluator(
    "attribution",
    "Which router diff changes account for which flips, with their cost and accuracy impact.",
)
def attribute_flips(
    diff: RouterDiff,
    base_router: Router,
    cand_router: Router,
    base_decisions: pd.DataFrame,
    cand_decisions: pd.DataFrame,
    correctness: pd.DataFrame | None = None,
    examples: int = 5,
) -> Attribution:
    """Which diff changes account for which flips, with their cost and accuracy impact.

    Each flip is explained as `explain_flips` does (the rule is in the module docstring); every diff change
    is then reported with the flips it is listed under (`shared`, overlapping) and the flips whose primary
    change it is (`primary`, splitting them), ranked by shared flips.

    Args:
        diff: `router_core.identity.diff(base_router, cand_router)`.
        base_router: The base version.
        cand_router: The candidate version.
        base_decisions: The base's decisions (columns `DECISION_COLUMNS`).
        cand_decisions: The candidate's decisions, same columns.
        correctness: Optional request_id, base_correct, cand_correct; without it accuracy impact is None.
        examples: Example request ids kept per change (and for the unexplained flips).

    Raises:
        InvalidArgumentError: `examples` is negative.
        AttributionError: the routers are not the diff's, or decisions name other versions, rules or policies.
        FrameError: a frame lacks a column, repeats a request or holds an unreadable value.
    """
    import numpy as np

    if isinstance(examples, bool) or not isinstance(examples, int) or examples < 0:
        raise InvalidArgumentError("examples", f"{examples!r} is not a count", "pass an integer ≥ 0")
    ex = explain_frames(diff, base_router, cand_router, base_decisions, cand_decisions, correctness)
    frame, n = ex.frame, len(ex.causes)
    codes = frame["_pattern"].to_numpy(dtype=np.int64)
    columns = (
        np.ones(len(frame)),
        np.nan_to_num(frame["cost_delta_usd"].to_numpy(dtype=float)),  # a missing cost: no change
        (frame["outcome"] != "unlabelled").to_numpy(dtype=float),
        (frame["outcome"] == "fixed").to_numpy(dtype=float),
        (frame["outcome"] == "broken").to_numpy(dtype=float),
    )
    sums = np.stack([np.bincount(codes, weights=w, minlength=n) for w in columns], axis=1)  # pattern × 5
    heads = frame.groupby("_pattern", sort=False).head(examples)  # the smallest ids of each pattern
    ids: dict[int, list[str]] = {}
    for code, rid in zip(heads["_pattern"], heads["request_id"], strict=True):
        ids.setdefault(int(code), []).append(str(rid))
    return _attribution(
        diff,
        ex.explainer,
        ex.causes,
        sums,
        ids,
        ex.n_requests,
        list(ex.warnings),
        examples,
        correctness is not None,
    )


#: Columns of `attribute_patterns`' input besides the pattern itself (`flip_frames.explain_patterns`).
PATTERN_SUMS = ("flips", "cost_delta_usd", "labelled", "fixed", "broken")


def attribute_patterns(
    diff: RouterDiff,
    base_router: Router,
    cand_router: Router,
    patterns: pd.DataFrame,
    n_requests: int,
    examples: int = 5,
    with_correctness: bool = True,
    warnings: Sequence[str] = (),
) -> Attribution:
    """`attribute_flips`' result from flips counted by pattern elsewhere (e.g. in DuckDB, `app.paired_store`).

    Args:
        diff: `router_core.identity.diff(base_router, cand_router)`.
        base_router: The base version.
        cand_router: The candidate version.
        patterns: One row per group of flips sharing a pattern (`flip_frames.explain_patterns`' columns;
            several rows may share one): `PATTERN_SUMS` (flips, their candidate − base cost, labelled,
            fixed and broken flips) and ``ids`` (the group's first request ids, any order).
        n_requests: Requests both versions decided.
        examples: Example request ids kept per change (and for the unexplained flips).
        with_correctness: Whether labelled/fixed/broken are known (else accuracy impact is None).
        warnings: Warnings of the counting step (e.g. requests only one version decided), kept first.

    Raises:
        InvalidArgumentError: `examples` is negative.
        AttributionError: the routers are not the diff's, or the patterns name unknown rules or policies.
    """
    import numpy as np

    if isinstance(examples, bool) or not isinstance(examples, int) or examples < 0:
        raise InvalidArgumentError("examples", f"{examples!r} is not a count", "pass an integer ≥ 0")
    check_routers(diff, base_router, cand_router)
    check_rules(patterns["rule_b"], base_router, "base_decisions")
    check_rules(patterns["rule_c"], cand_router, "cand_decisions")
    check_policy_flags([*patterns["flags_b"], *patterns["flags_c"]], base_router, cand_router)
    keys = [f"{c}{side}" for c in FLIP_COMPONENTS for side in ("_b", "_c")]
    keys += ["rule_b", "rule_c", "flags_b", "flags_c"]
    codes = patterns.groupby(keys, sort=False, dropna=False).ngroup().to_numpy() if len(patterns) else []
    firsts = np.unique(codes, return_index=True)[1]
    explainer = Explainer(diff, base_router, cand_router)
    rows = (patterns.iloc[i][keys].to_dict() for i in firsts)
    causes, _components = explain_patterns(explainer, rows)
    n = len(causes)
    sums = np.zeros((n, len(PATTERN_SUMS)))
    ids: dict[int, list[str]] = {}
    for code, row in zip(codes, patterns[[*PATTERN_SUMS, "ids"]].itertuples(index=False), strict=True):
        sums[code] += [float(v) for v in row[: len(PATTERN_SUMS)]]
        ids.setdefault(int(code), []).extend(str(i) for i in row[-1])
    ids = {k: sorted(v)[:examples] for k, v in ids.items()}
    return _attribution(
        diff, explainer, causes, sums, ids, n_requests, list(warnings), examples, with_correctness
    )


def _attribution(
    diff: RouterDiff,
    explainer: Explainer,
    causes: list[tuple[tuple[str, Role], ...]],
    sums: Any,
    ids: dict[int, list[str]],
    n_requests: int,
    warnings: list[str],
    examples: int,
    with_c: bool,
) -> Attribution:
    """The attribution from each flip pattern's causes, its [flips, cost, labelled, fixed, broken] sums
    and its first request ids (in id order)."""
    import numpy as np

    n = len(causes)
    keys = [change_key(c) for c in diff.changes]
    shared = {k: np.zeros(5) for k in keys}
    primary = {k: np.zeros(5) for k in keys}
    roles: dict[str, dict[str, int]] = {k: {} for k in keys}
    picks: dict[str, tuple[list[str], list[str]]] = {k: ([], []) for k in keys}
    unexplained, unexplained_ids = np.zeros(5), []
    for code, pattern_causes in enumerate(causes):
        if not pattern_causes:
            unexplained += sums[code]
            unexplained_ids += ids.get(code, [])
        for i, (key, role) in enumerate(pattern_causes):
            shared[key] += sums[code]
            roles[key][role] = roles[key].get(role, 0) + int(sums[code][0])
            if i == 0:
                primary[key] += sums[code]
            picks[key][0 if i == 0 else 1].extend(ids.get(code, []))
    changes = [
        ChangeAttribution(
            change=ChangeRef(section=c.section, item=c.item, change=c.change, fields=c.fields),
            affects_routing=affects(c),
            shift_only=explainer.shift_only(c),
            shared=_impact(shared[k], with_c),
            primary=_impact(primary[k], with_c),
            roles=dict(sorted(roles[k].items())),
            examples=tuple((sorted(picks[k][0]) + sorted(picks[k][1]))[:examples]),
        )
        for c, k in zip(diff.changes, keys, strict=True)
    ]
    order = sorted(
        range(len(changes)), key=lambda i: (-changes[i].shared.flips, -changes[i].primary.flips, i)
    )
    if unexplained[0]:
        warnings.append(f"{int(unexplained[0])} flip(s) not explained by any diff change")
    return Attribution(
        params=AttributionParams(
            base=diff.base,
            candidate=diff.candidate,
            base_hash=diff.base_hash,
            candidate_hash=diff.candidate_hash,
            examples=examples,
            correctness=with_c,
        ),
        n_requests=n_requests,
        n_flips=int(sums[:, 0].sum()) if n else 0,
        total=_impact(sums.sum(axis=0) if n else np.zeros(5), with_c),
        changes=tuple(changes[i] for i in order),
        unexplained=_impact(unexplained, with_c),
        unexplained_examples=tuple(sorted(unexplained_ids)[:examples]),
        warnings=tuple(warnings),
    )
