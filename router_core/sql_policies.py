"""Policies as DuckDB SQL: the per-model facts they read and the layers (CTEs) each policy adds.

The semantics are those of `engine.py` (see its docstring). `policy_layers` turns policy k into five CTEs:
the current model's facts, the violation `_v` and target `_t`, the policy's own change (block or move),
the hard-policy restriction of fallbacks and escalation, and the result with the helper columns dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

from routelab.router_core.config import (
    ConfidenceFloorPolicy,
    CostCeilingPolicy,
    LatencyTargetPolicy,
    PrivacyPolicy,
    RegionPolicy,
)
from routelab.router_core.paths import ESCALATION_HUMAN, ESCALATION_MODEL_PREFIX
from routelab.router_core.pricing import ModelPrice
from routelab.router_core.sql_expr import in_list, num, q
from routelab.router_core.validate import Router


class ModelFacts:
    """A router's per-model facts as SQL: tier ranks, cost, eligibility and the hard-policy checks."""

    def __init__(self, router: Router, prices: dict[str, ModelPrice]) -> None:
        self.router = router
        self.prices = prices
        self.models = list(router.models)
        self.policies = [cp.policy for cp in router.policies]

    def by_model(self, column: str, values: dict[str, str], default: str = "NULL") -> str:
        if not values:
            return default
        whens = " ".join(f"WHEN {q(m)} THEN {v}" for m, v in values.items())
        return f"(CASE {column} {whens} ELSE {default} END)"

    def rank(self, m: str) -> int:
        return self.router.tier_rank[self.router.models[m].tier]

    def cost(self, m: str) -> str:
        p = self.prices[m]
        return f"((pt * {num(p.input_per_token)}) + (out_tokens * {num(p.output_per_token)}))"

    def retrieval(self, attr: str) -> str:
        values = {i: num(getattr(spec, attr)) for i, spec in self.router.indexes.items()}
        return self.by_model("retrieval", values, default="0.0")

    def is_hard(self, k: int) -> bool:
        pol = self.policies[k]
        return isinstance(pol, RegionPolicy) or (
            isinstance(pol, PrivacyPolicy) and pol.on_violation in ("reroute", "block")
        )

    def satisfies(self, k: int, m: str) -> str:
        pol = self.policies[k]
        spec = self.router.models[m]
        if isinstance(pol, PrivacyPolicy):
            return "TRUE" if spec.boundary in pol.allowed_boundaries else "FALSE"
        if isinstance(pol, RegionPolicy):
            if not spec.regions:
                return "TRUE"
            return f"(f_region IS NULL OR {in_list('f_region', spec.regions)})"
        return "TRUE"

    def satisfies_column(self, k: int, column: str) -> str:
        """Whether the model named by `column` meets hard policy k (TRUE for NULL or unknown)."""
        return self.by_model(column, {m: self.satisfies(k, m) for m in self.models}, default="TRUE")

    def eligible(self, m: str) -> str:
        """Whether model m may take over: hard constraints hold, and the context fits its window."""
        window = num(float(self.router.models[m].context_window))
        parts = [
            f"(NOT a_{k} OR {self.satisfies(k, m)})" for k in range(len(self.policies)) if self.is_hard(k)
        ]
        parts.append(f"((pt + CAST(context_tokens AS DOUBLE)) <= {window})")
        return "(" + " AND ".join(parts) + ")"

    def pick(self, cands: list[tuple[str, str, list[str]]]) -> str:
        """The first candidate (in order) that is allowed and whose key is minimal; NULL when none is.

        `cands` holds (model, allowed condition, key expressions). Candidates become structs of their keys and
        their position, sorted: structs compare field by field, so the minimal key wins and ties go to the
        earlier candidate, as in the Python engine's `pick`.
        """
        if not cands:
            return "CAST(NULL AS VARCHAR)"
        items = []
        for pos, (m, ok, key) in enumerate(cands):
            fields = [f"'k{n}': {expr}" for n, expr in enumerate(key)]
            fields += [f"'o': {pos}", f"'m': {q(m)}", f"'ok': {ok}"]
            items.append("{" + ", ".join(fields) + "}")
        return f"(list_sort(list_filter([{', '.join(items)}], lambda x: x.ok)))[1].m"

    # Per-model facts that do not change across policy layers (a policy changes the model, and a block ends
    # the pipeline) are computed once per request: c_i cost, p_i p95 latency, e_i eligibility of model i.
    def col(self, prefix: str, m: str) -> str:
        return f"{prefix}_{self.models.index(m)}"

    def current(self, prefix: str) -> str:
        """The per-model column `prefix_i` of the current model."""
        return self.by_model("model", {m: self.col(prefix, m) for m in self.models})

    def cur_rank(self) -> str:
        return self.by_model("model", {m: str(self.rank(m)) for m in self.models})


@dataclass(frozen=True)
class _Violation:
    """When policy k is violated, and the model it would move the request to."""

    live: str
    """Whether the policy applies to the request (and it is not blocked)."""
    violated: str
    """Whether the policy is violated."""
    target: str
    """The model to move to (NULL when the policy does not move, or nothing qualifies)."""


@dataclass(frozen=True)
class _Effect:
    """What a violation of the policy does to the path."""

    blocked: str
    """Whether the request ends up blocked."""
    moved: str
    """Whether the request moves to the target model."""
    action: str
    """The new action."""
    escalation: str
    """The new escalation."""


def _violation(facts: ModelFacts, k: int) -> _Violation:
    """The violation condition and target of policy k, over the current-model facts `_rank`, `_cc`, `_cp`."""
    pol = facts.policies[k]
    live = f"(action <> 'block' AND a_{k})"
    target = "CAST(NULL AS VARCHAR)"
    if isinstance(pol, PrivacyPolicy | RegionPolicy):
        if isinstance(pol, RegionPolicy):
            live = f"({live} AND f_region IS NOT NULL)"
        violated = f"({live} AND NOT {facts.satisfies_column(k, 'model')})"
        if pol.on_violation == "reroute":
            target = facts.pick(
                [
                    (
                        m,
                        f"(_rank <= {facts.rank(m)} AND {facts.col('e', m)})",
                        [facts.col("c", m), f"{facts.rank(m)}.0"],
                    )
                    for m in facts.models
                ]
            )
    elif isinstance(pol, CostCeilingPolicy):
        ceiling = num(pol.max_usd)
        violated = f"({live} AND (_cc + _rc) > {ceiling})"
        if pol.on_violation == "downgrade":
            target = facts.pick(
                [
                    (
                        m,
                        f"(_rank >= {facts.rank(m)} AND {facts.col('e', m)} AND "
                        f"({facts.col('c', m)} + _rc) <= {ceiling})",
                        [f"-{facts.rank(m)}.0", facts.col("c", m)],
                    )
                    for m in facts.models
                ]
            )
    elif isinstance(pol, LatencyTargetPolicy):
        goal = num(pol.p95_ms)
        violated = f"({live} AND _cp > {goal})"
        if pol.on_violation == "downgrade":
            target = facts.pick(
                [
                    (
                        m,
                        f"(_rank >= {facts.rank(m)} AND {facts.col('e', m)} AND "
                        f"{facts.col('p', m)} <= {goal})",
                        [f"-{facts.rank(m)}.0", facts.col("p", m), facts.col("c", m)],
                    )
                    for m in facts.models
                ]
            )
    elif isinstance(pol, ConfidenceFloorPolicy):
        violated = f"({live} AND confidence < {num(pol.min_confidence)})"
    else:  # pragma: no cover
        raise TypeError(f"unknown policy {pol!r}")
    return _Violation(live, violated, target)


def _effect(facts: ModelFacts, k: int) -> _Effect:
    """What a violation `_v` of policy k (with target `_t`) does: block, move, or change action/escalation."""
    pol = facts.policies[k]
    blocked = "FALSE"
    moved = "FALSE"
    new_action = "action"
    new_escalation = "escalation"
    if isinstance(pol, PrivacyPolicy | RegionPolicy):
        if pol.on_violation == "block":
            blocked = "_v"
        elif pol.on_violation == "reroute":
            blocked = "(_v AND _t IS NULL)"
            moved = "(_v AND _t IS NOT NULL)"
            new_action = "(CASE WHEN _v AND action IN ('allow', 'redact') THEN 'reroute' ELSE action END)"
        else:
            new_action = "(CASE WHEN _v AND action = 'allow' THEN 'redact' ELSE action END)"
    elif isinstance(pol, CostCeilingPolicy):
        blocked = "_v" if pol.on_violation == "block" else "(_v AND _t IS NULL)"
        if pol.on_violation == "downgrade":
            moved = "(_v AND _t IS NOT NULL)"
            new_action = "(CASE WHEN _v AND action IN ('allow', 'redact') THEN 'reroute' ELSE action END)"
    elif isinstance(pol, LatencyTargetPolicy):
        moved = "(_v AND _t IS NOT NULL)"
        new_action = (
            "(CASE WHEN _v AND _t IS NOT NULL AND action IN ('allow', 'redact') "
            "THEN 'reroute' ELSE action END)"
        )
    elif isinstance(pol, ConfidenceFloorPolicy):
        esc = pol.escalate_to
        if esc.startswith(ESCALATION_MODEL_PREFIX):
            m = esc[len(ESCALATION_MODEL_PREFIX) :]
            esc_sql = f"(CASE WHEN {facts.col('e', m)} THEN {q(esc)} ELSE {q(ESCALATION_HUMAN)} END)"
        else:
            esc_sql = q(esc)
        new_escalation = f"(CASE WHEN _v THEN {esc_sql} ELSE escalation END)"
    return _Effect(blocked, moved, new_action, new_escalation)


def policy_layers(facts: ModelFacts, k: int, prev: str) -> list[tuple[str, str]]:
    """CTEs for policy k: current-model facts, the violation `_v` and target `_t`, then applying them."""
    pol = facts.policies[k]
    flag_extra = "FALSE"
    facts_sql = (
        f"SELECT *, {facts.cur_rank()} AS _rank, {facts.current('c')} AS _cc, {facts.current('p')} AS _cp "
        f"FROM {prev}"
    )
    v = _violation(facts, k)
    # the target is only looked for where the policy is violated
    first = f"SELECT *, {v.violated} AS _v, (CASE WHEN {v.violated} THEN {v.target} END) AS _t FROM {prev}_f"

    eff = _effect(facts, k)
    blocked = eff.blocked
    # stage 1: the path after the policy's own change (block or move); stage 2: hard-policy restriction
    stage1 = [
        f"{blocked} AS _blk",
        f"(CASE WHEN {blocked} THEN CAST(NULL AS VARCHAR) WHEN {eff.moved} THEN _t ELSE model END) AS _model",
        f"(CASE WHEN {blocked} THEN CAST([] AS VARCHAR[]) "
        f"WHEN {eff.moved} THEN list_filter(fallbacks, lambda x: x <> _t) ELSE fallbacks END) AS _fb1",
        f"(CASE WHEN {blocked} THEN 'none' ELSE {eff.escalation} END) AS _esc1",
    ]
    fallbacks, escalation = "_fb1", "_esc1"
    if facts.is_hard(k):
        # while a hard policy applies (and the request is not blocked), drop what breaks it
        keep = f"lambda x: {facts.satisfies_column(k, 'x')}"
        restrict_live = f"({v.live} AND NOT _blk)"
        fallbacks = f"(CASE WHEN {restrict_live} THEN list_filter(_fb1, {keep}) ELSE _fb1 END)"
        esc_ok = facts.by_model(
            "_esc1", {ESCALATION_MODEL_PREFIX + m: facts.satisfies(k, m) for m in facts.models}, "TRUE"
        )
        human = q(ESCALATION_HUMAN)
        escalation = f"(CASE WHEN {restrict_live} AND NOT {esc_ok} THEN {human} ELSE _esc1 END)"
        flag_extra = "(len(fallbacks) <> len(_fb2) OR escalation <> _esc2)"
    stage2 = f"SELECT *, {fallbacks} AS _fb2, {escalation} AS _esc2 FROM {prev}_s"
    flag = f"(CASE WHEN _v OR {flag_extra} THEN list_append(flags, {q(pol.id)}) ELSE flags END) AS flags"
    final_cols = [
        "_model AS model",
        "(CASE WHEN _blk THEN CAST(NULL AS VARCHAR) ELSE retrieval END) AS retrieval",
        "(CASE WHEN _blk THEN CAST(0 AS BIGINT) ELSE context_tokens END) AS context_tokens",
        "(CASE WHEN _blk THEN 'bypass' ELSE cache END) AS cache",
        f"(CASE WHEN _blk THEN 'block' ELSE {eff.action} END) AS action",
        "_fb2 AS fallbacks",
        "_esc2 AS escalation",
        flag,
    ]
    helpers = "_rank, _cc, _cp, _v, _t, _blk, _model, _fb1, _esc1, _fb2, _esc2"
    last = f"SELECT * EXCLUDE ({helpers}) REPLACE ({', '.join(final_cols)}) FROM {prev}_r"
    return [
        (f"{prev}_f", facts_sql),
        (f"{prev}_v", first),
        (f"{prev}_s", f"SELECT *, {', '.join(stage1)} FROM {prev}_v"),
        (f"{prev}_r", stage2),
        (f"p{k}", last),
    ]
