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

import bisect
import json
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field

from routelab.evaluators.errors import EvaluatorError, InvalidArgumentError
from routelab.evaluators.frames import FrameError, is_missing, require_columns, require_unique
from routelab.router_core.canonical import references
from routelab.router_core.identity import Change, RouterDiff, Section, config_hash
from routelab.router_core.paths import ESCALATION_MODEL_PREFIX
from routelab.router_core.validate import Router

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped,unused-ignore]  # no pandas-stubs in the dev lock yet

ATTRIBUTION_RULE = (
    "different rule fired: candidate's rule if added/moved/when-changed, base's rule if removed/moved/"
    "when-changed, else earlier added/removed/moved/when-changed rules, else changed signals they reference; "
    "differing policy flags: those policies if changed; same rule: its route/confidence change; models and "
    "indexes on the path if changed; else signals of differing policies, hard policies, tiers/defaults; "
    "shift-only moves after real ones; counts shared (every change listed), primary = first listed"
)
FLIP_COMPONENTS = ("model", "retrieval", "escalation", "action")
DECISION_COLUMNS = ("request_id", *FLIP_COMPONENTS, "rule_id", "policy_flags", "est_cost_usd")
CORRECTNESS_COLUMNS = ("request_id", "base_correct", "cand_correct")
ROUTE_FIELDS = frozenset(
    {"route.model", "route.retrieval", "route.context_tokens", "route.escalation", "confidence"}
)
_MATCHING = ("added", "removed", "moved")

Role = Literal[
    "candidate_rule",
    "base_rule",
    "earlier_rule",
    "rule_signal",
    "policy",
    "route",
    "model",
    "index",
    "signal",
    "constraint",
    "global",
]
Outcome = Literal["fixed", "broken", "both_right", "both_wrong", "unlabelled"]


class AttributionError(EvaluatorError):
    """The diff, routers and decisions do not belong together."""


class ChangeRef(BaseModel):
    """One change of the router diff, without its before/after bodies."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    section: Section = Field(description="Which part of the config changed.")
    item: str = Field(description="The id or name of the item (or the section name).")
    change: Literal["added", "removed", "changed", "moved"] = Field(description="What happened to it.")
    fields: tuple[str, ...] = Field(default=(), description="Changed fields (dotted), for `changed`.")

    @property
    def key(self) -> str:
        """`section:change:item`, unambiguous (section and change never hold a colon)."""
        return change_key(self)


class Impact(BaseModel):
    """How many flips, what they cost and what they did to accuracy."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    flips: int = Field(description="Flips counted.")
    cost_delta_usd: float = Field(description="Sum of candidate − base est_cost_usd over those flips.")
    labelled: int | None = Field(description="Flips with both correctness values known; None without them.")
    fixed: int | None = Field(description="Base wrong, candidate right; None without correctness.")
    broken: int | None = Field(description="Base right, candidate wrong; None without correctness.")
    net: int | None = Field(description="fixed − broken; None without correctness.")


class ChangeAttribution(BaseModel):
    """The flips one diff change accounts for."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    change: ChangeRef = Field(description="The diff change.")
    affects_routing: bool = Field(description="False when only a description changed (it explains nothing).")
    shift_only: bool = Field(
        description="A `moved` item that only shifted because others moved (it keeps its place relative to "
        "the rest in every longest common subsequence of the two orders); listed after real moves."
    )
    shared: Impact = Field(description="Every flip listing this change (overlaps with other changes).")
    primary: Impact = Field(description="Flips whose primary change this is (splits the flips).")
    roles: dict[str, int] = Field(description="How it explained its flips: role → flips.")
    examples: tuple[str, ...] = Field(description="Request ids of its flips, primary ones first.")


class AttributionParams(BaseModel):
    """Everything that produced an `Attribution`, so it can be recomputed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    base: str = Field(description="Base version, `name@version`.")
    candidate: str = Field(description="Candidate version, `name@version`.")
    base_hash: str = Field(description="Base config hash.")
    candidate_hash: str = Field(description="Candidate config hash.")
    examples: int = Field(description="Example request ids kept per change.")
    correctness: bool = Field(description="Whether per-request correctness was given.")
    rule: str = Field(default=ATTRIBUTION_RULE, description="The attribution rule.")
    seed: int | None = Field(default=None, description="Random seed; None: nothing here is random.")


class Attribution(BaseModel):
    """Which diff changes account for which flips between two router versions."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    evaluator: Literal["attribution"] = Field(default="attribution", description="The evaluator's name.")
    params: AttributionParams = Field(description="What produced the result.")
    n_requests: int = Field(description="Requests decided by both versions.")
    n_flips: int = Field(description="Requests whose model, retrieval, escalation or action differ.")
    total: Impact = Field(description="All flips.")
    changes: tuple[ChangeAttribution, ...] = Field(description="Every diff change, ranked by flips.")
    unexplained: Impact = Field(description="Flips no diff change explains (should be rare).")
    unexplained_examples: tuple[str, ...] = Field(description="Request ids of unexplained flips.")
    warnings: tuple[str, ...] = Field(description="Data left out, and why.")

    def find(self, section: str, item: str, change: str) -> ChangeAttribution | None:
        """The attribution of one diff change, or None when the diff has no such change."""
        return next(
            (
                c
                for c in self.changes
                if (c.change.section, c.change.item, c.change.change) == (section, item, change)
            ),
            None,
        )


def change_key(change: Change | ChangeRef) -> str:
    """`section:change:item`: how `explain_flips` names a change."""
    return f"{change.section}:{change.change}:{change.item}"


def _affects(change: Change) -> bool:
    return change.fields != ("description",)


class _Flip(NamedTuple):
    """What the explanation of a flip depends on (many flips share one)."""

    base_rule: str
    cand_rule: str
    base_flags: tuple[str, ...]
    cand_flags: tuple[str, ...]
    models: frozenset[str]
    indexes: frozenset[str]


class _Explainer:
    """Explains flips from the diff's structure; memoised, since flips repeat a few patterns."""

    def __init__(self, diff: RouterDiff, base: Router, cand: Router) -> None:
        self.changes = [c for c in diff.changes if _affects(c)]
        self.base, self.cand = base, cand
        self.signal_names = {s.spec.name for s in base.signals} | {s.spec.name for s in cand.signals}
        self.hard = {
            p.policy.id for r in (base, cand) for p in r.policies if p.policy.kind in ("privacy", "region")
        }
        self.shifted = {
            "rules": _shift_only([r.rule.id for r in base.rules], [r.rule.id for r in cand.rules]),
            "policies": _shift_only(
                [p.policy.id for p in base.policies], [p.policy.id for p in cand.policies]
            ),
            "models": _shift_only([m.id for m in base.config.models], [m.id for m in cand.config.models]),
        }
        self.memo: dict[_Flip, tuple[tuple[str, Role], ...]] = {}

    def shift_only(self, c: Change | ChangeRef) -> bool:
        """A move that only reflects other items moving (see `_shift_only`)."""
        return c.change == "moved" and c.item in self.shifted.get(c.section, set())

    def find(self, section: str, items: Iterable[str], ok: Callable[[Change], bool]) -> list[Change]:
        wanted = set(items)
        return [c for c in self.changes if c.section == section and c.item in wanted and ok(c)]

    def rules(self, ids: Iterable[str], kinds: Sequence[str]) -> list[Change]:
        return self.find(
            "rules", ids, lambda c: c.change in kinds or (c.change == "changed" and "when" in c.fields)
        )

    def signals(self, names: Iterable[str]) -> list[Change]:
        return self.find("signals", names, lambda c: c.change != "moved")

    def refs(self, nodes: Iterable[Any]) -> set[str]:
        out: set[str] = set()
        for node in nodes:
            out |= {n.split(".", 1)[0] for n in references(node) if not n.startswith("attrs.")}
        return out & self.signal_names

    def rule_nodes(self, rule_id: str, what: Literal["when", "confidence"]) -> list[Any]:
        nodes = []
        for router in (self.base, self.cand):
            for cr in router.rules:
                if cr.rule.id == rule_id:
                    nodes.append(getattr(cr, what))
            if rule_id == "default" and what == "confidence":
                nodes.append(router.default_confidence)
        return nodes

    @staticmethod
    def before(router: Router, rule_id: str) -> list[str]:
        ids = [cr.rule.id for cr in router.rules]
        return ids[: ids.index(rule_id)] if rule_id in ids else ids

    def explain(self, f: _Flip) -> tuple[tuple[str, Role], ...]:
        if f not in self.memo:
            self.memo[f] = tuple(self._explain(f).items())
        return self.memo[f]

    def _explain(self, f: _Flip) -> dict[str, Role]:
        out: dict[str, Role] = {}

        def add(*groups: tuple[Iterable[Change], Role]) -> None:
            """One step: its changes in diff order, moves that are shifts only last."""
            pairs = [(c, role) for changes, role in groups for c in changes]
            for c, role in sorted(pairs, key=lambda p: self.shift_only(p[0])):
                out.setdefault(change_key(c), role)

        if f.base_rule != f.cand_rule:
            add(
                (self.rules([f.cand_rule], ("added", "moved")), "candidate_rule"),
                (self.rules([f.base_rule], ("removed", "moved")), "base_rule"),
            )
            if not out:
                earlier = self.before(self.cand, f.cand_rule) + self.before(self.base, f.base_rule)
                add((self.rules(earlier, _MATCHING), "earlier_rule"))
            if not out:
                when = self.rule_nodes(f.base_rule, "when") + self.rule_nodes(f.cand_rule, "when")
                add((self.signals(self.refs(when)), "rule_signal"))
        differing, both = set(f.base_flags) ^ set(f.cand_flags), set(f.base_flags) & set(f.cand_flags)
        add(
            (
                self.find(
                    "policies",
                    differing | both,
                    lambda c: (
                        c.item in differing
                        or c.change == "moved"
                        or bool(set(c.fields) - {"when", "description"})
                    ),
                ),
                "policy",
            )
        )
        if f.base_rule == f.cand_rule:
            section, item = ("default", "default") if f.cand_rule == "default" else ("rules", f.cand_rule)
            add((self.find(section, [item], lambda c: bool(ROUTE_FIELDS & set(c.fields))), "route"))
        flagged = bool(f.base_flags or f.cand_flags)
        add(
            (self.find("models", f.models, lambda c: c.change != "moved" or flagged), "model"),
            (self.find("indexes", f.indexes, lambda c: True), "index"),
        )
        if not out:
            nodes = [p.when for r in (self.base, self.cand) for p in r.policies if p.policy.id in differing]
            if f.base_rule == f.cand_rule:
                nodes += self.rule_nodes(f.cand_rule, "confidence")
            add((self.signals(self.refs(nodes)), "signal"))
        if not out and flagged:
            add((self.find("policies", self.hard, lambda c: True), "constraint"))
        if not out:
            add(([c for c in self.changes if c.section in ("tiers", "defaults")], "global"))
        return out


def _lis(seq: Sequence[int]) -> int:
    """Length of the longest increasing subsequence (patience sorting)."""
    tails: list[int] = []
    for x in seq:
        i = bisect.bisect_left(tails, x)
        tails[i : i + 1] = [x]
    return len(tails)


def _shift_only(before: Sequence[str], after: Sequence[str]) -> set[str]:
    """Shared items that keep their relative order in every minimal explanation of a reordering.

    The diff reports `moved` for every item whose position among the shared items changed, so moving one
    rule up three places also reports the three it jumped over. The items of every longest common
    subsequence of the two orders stayed put relative to each other; the rest are the ones really moved.
    """
    shared = set(before) & set(after)
    pos = {k: i for i, k in enumerate(k for k in before if k in shared)}
    seq = [pos[k] for k in after if k in shared]
    best = _lis(seq)
    return {k for i, k in enumerate(k for k in after if k in shared) if _lis(seq[:i] + seq[i + 1 :]) < best}


# --- frames -----------------------------------------------------------------------------------------------


def _flags(value: object) -> tuple[str, ...]:
    """Policy flags as a tuple: a list, tuple or array (DuckDB's VARCHAR[]), JSON text, or missing."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return tuple(str(v) for v in json.loads(text))
        return tuple(part.strip() for part in text.split(",") if part.strip())
    try:
        return tuple(value)  # type: ignore[arg-type]  # any iterable; a non-iterable raises TypeError
    except TypeError:
        if is_missing(value):
            return ()
        raise FrameError(f"decisions: policy_flags must be a list of policy ids, not {value!r}") from None


def _correct(value: object) -> bool | None:
    if is_missing(value):
        return None
    if value in (True, False):  # bools, 0/1 and numpy's, exactly
        return bool(value)
    raise FrameError(
        f"correctness: base_correct/cand_correct must be true/false, 0/1 or missing, not {value!r}"
    )


def _text(series: pd.Series, missing: str) -> pd.Series:
    """Values as text (enums by value; already-text columns are not copied), a missing one as `missing`."""
    if series.dtype == object:
        series = series.astype("string")
    return series.fillna(missing)


def _check_inputs(diff: RouterDiff, base: Router, cand: Router, frames: dict[str, pd.DataFrame]) -> None:
    for what, router, ref, digest in (
        ("base_router", base, diff.base, diff.base_hash),
        ("cand_router", cand, diff.candidate, diff.candidate_hash),
    ):
        if router.ref != ref or config_hash(router) != digest:
            raise AttributionError(
                f"{what}: {router.ref} (hash {config_hash(router)[:12]}) is not the diff's {ref} "
                f"(hash {digest[:12]}); pass the routers the diff was computed from"
            )
    for (what, frame), router in zip(frames.items(), (base, cand), strict=True):
        require_columns(frame, DECISION_COLUMNS, what)
        require_unique(frame, "request_id", what)
        if "router" in frame.columns:
            others = sorted({str(r) for r in frame["router"].dropna().unique()} - {router.ref})
            if others:
                raise AttributionError(f"{what}: decisions of {', '.join(others)}; pass {router.ref}'s only")
        known = {cr.rule.id for cr in router.rules} | {"default"}
        unknown = sorted({str(r) for r in frame["rule_id"].dropna().unique()} - known)
        if unknown:
            raise AttributionError(
                f"{what}: rule_id {', '.join(unknown[:5])} not in {router.ref}; "
                f"its rules: {', '.join(sorted(known))}"
            )


class _Explained(NamedTuple):
    """Flips (sorted by request id) with the index of their pattern, and what the patterns explain."""

    frame: pd.DataFrame
    causes: list[tuple[tuple[str, Role], ...]]
    explainer: _Explainer
    n_requests: int
    warnings: tuple[str, ...]


def _explain_frames(
    diff: RouterDiff,
    base: Router,
    cand: Router,
    base_decisions: pd.DataFrame,
    cand_decisions: pd.DataFrame,
    correctness: pd.DataFrame | None,
) -> _Explained:
    import numpy as np
    import pandas as pd

    _check_inputs(diff, base, cand, {"base_decisions": base_decisions, "cand_decisions": cand_decisions})
    cols = list(DECISION_COLUMNS)
    merged = base_decisions[cols].merge(cand_decisions[cols], on="request_id", suffixes=("_b", "_c"))
    warnings = [
        f"{n} request(s) decided by {ref} only are left out"
        for n, ref in (
            (len(base_decisions) - len(merged), base.ref),
            (len(cand_decisions) - len(merged), cand.ref),
        )
        if n
    ]
    sig = pd.DataFrame(index=merged.index)
    for col in FLIP_COMPONENTS:
        for side in ("_b", "_c"):
            sig[col + side] = _text(merged[col + side], "none" if col in ("retrieval", "escalation") else "")
    mask = np.logical_or.reduce(
        [(sig[c + "_b"] != sig[c + "_c"]).to_numpy(dtype=bool) for c in FLIP_COMPONENTS]
    )
    flips, sig = merged[mask], sig[mask]
    seq_types = (np.ndarray, list, tuple)  # the common shapes, read without a call per row
    for side in ("_b", "_c"):
        sig["rule" + side] = _text(flips["rule_id" + side], "default")
        sig["flags" + side] = [
            tuple(v) if type(v) in seq_types else _flags(v) for v in flips["policy_flags" + side].to_numpy()
        ]
    known = {p.policy.id for r in (base, cand) for p in r.policies}
    unknown = {f for side in ("_b", "_c") for fl in sig["flags" + side].unique() for f in fl} - known
    if unknown:
        raise AttributionError(
            f"decisions: policy flag(s) {', '.join(sorted(unknown))} name no policy of either version; "
            f"policies: {', '.join(sorted(known)) or 'none'}"
        )
    # Explanations depend on these columns only: explain each distinct pattern once.
    codes = sig.groupby(list(sig.columns), sort=False, dropna=False).ngroup().to_numpy()
    explainer = _Explainer(diff, base, cand)
    causes, components = [], []
    for row in sig.iloc[np.unique(codes, return_index=True)[1]].itertuples(index=False):
        p = row._asdict()
        models = {p["model_b"], p["model_c"]} | {
            e[len(ESCALATION_MODEL_PREFIX) :]
            for e in (p["escalation_b"], p["escalation_c"])
            if e.startswith(ESCALATION_MODEL_PREFIX)
        }
        flip = _Flip(
            p["rule_b"],
            p["rule_c"],
            p["flags_b"],
            p["flags_c"],
            frozenset(models - {""}),
            frozenset({p["retrieval_b"], p["retrieval_c"]} - {"none"}),
        )
        causes.append(explainer.explain(flip))
        components.append(tuple(c for c in FLIP_COMPONENTS if p[c + "_b"] != p[c + "_c"]))

    def per_flip(values: list[Any]) -> Any:
        table = np.empty(len(values), dtype=object)
        table[:] = values
        return table[codes]

    try:
        costs = pd.to_numeric(flips["est_cost_usd_c"]) - pd.to_numeric(flips["est_cost_usd_b"])
    except (TypeError, ValueError) as exc:
        raise FrameError(f"decisions: est_cost_usd must be numeric ({exc})") from exc
    frame = pd.DataFrame(
        {
            "request_id": flips["request_id"].to_numpy(),
            "components": per_flip(components),
            "base_rule": sig["rule_b"].to_numpy(),
            "cand_rule": sig["rule_c"].to_numpy(),
            "primary": per_flip([c[0][0] if c else None for c in causes]),
            "causes": per_flip([tuple(key for key, _ in c) for c in causes]),
            "roles": per_flip([tuple(role for _, role in c) for c in causes]),
            "cost_delta_usd": costs.to_numpy(dtype=float, na_value=np.nan),
            "outcome": _outcomes(flips["request_id"], correctness, warnings),
            "_pattern": codes,
        }
    )
    frame = frame.sort_values("request_id", kind="stable").reset_index(drop=True)
    return _Explained(frame, causes, explainer, len(merged), tuple(warnings))


def _outcomes(request_ids: pd.Series, correctness: pd.DataFrame | None, warnings: list[str]) -> Any:
    """Fixed / broken / both_right / both_wrong / unlabelled, per flip (an object array)."""
    import numpy as np

    if correctness is None:
        return np.full(len(request_ids), "unlabelled", dtype=object)
    require_columns(correctness, CORRECTNESS_COLUMNS, "correctness")
    require_unique(correctness, "request_id", "correctness")
    rows = correctness[correctness["request_id"].isin(request_ids)]  # only the flips' rows are read
    joined = request_ids.to_frame().merge(rows, on="request_id", how="left", indicator=True)
    # element by element: Series.map would turn None back into pd.NA on nullable boolean columns
    base, cand = (np.array([_correct(v) for v in joined[c]], dtype=object) for c in CORRECTNESS_COLUMNS[1:])
    known = np.array([b is not None and c is not None for b, c in zip(base, cand, strict=True)], dtype=bool)
    b, c = base == True, cand == True  # noqa: E712  # object arrays of True/False/None
    outcome = np.select(
        [~known, ~b & c, b & ~c, b & c], ["unlabelled", "fixed", "broken", "both_right"], "both_wrong"
    ).astype(object)
    missing = int((joined["_merge"] == "left_only").sum())
    if missing:
        warnings.append(f"{missing} flip(s) have no correctness row; counted as unlabelled")
    return outcome


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
    explained = _explain_frames(diff, base_router, cand_router, base_decisions, cand_decisions, correctness)
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
    ex = _explain_frames(diff, base_router, cand_router, base_decisions, cand_decisions, correctness)
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
    keys = [change_key(c) for c in diff.changes]
    shared = {k: np.zeros(5) for k in keys}
    primary = {k: np.zeros(5) for k in keys}
    roles: dict[str, dict[str, int]] = {k: {} for k in keys}
    picks: dict[str, tuple[list[str], list[str]]] = {k: ([], []) for k in keys}
    unexplained, unexplained_ids = np.zeros(5), []
    for code, causes in enumerate(ex.causes):
        if not causes:
            unexplained += sums[code]
            unexplained_ids += ids.get(code, [])
        for i, (key, role) in enumerate(causes):
            shared[key] += sums[code]
            roles[key][role] = roles[key].get(role, 0) + int(sums[code][0])
            if i == 0:
                primary[key] += sums[code]
            picks[key][0 if i == 0 else 1].extend(ids.get(code, []))
    with_c = correctness is not None
    changes = [
        ChangeAttribution(
            change=ChangeRef(section=c.section, item=c.item, change=c.change, fields=c.fields),
            affects_routing=_affects(c),
            shift_only=ex.explainer.shift_only(c),
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
    warnings = list(ex.warnings)
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
        n_requests=ex.n_requests,
        n_flips=len(frame),
        total=_impact(sums.sum(axis=0) if n else np.zeros(5), with_c),
        changes=tuple(changes[i] for i in order),
        unexplained=_impact(unexplained, with_c),
        unexplained_examples=tuple(sorted(unexplained_ids)[:examples]),
        warnings=tuple(warnings),
    )
