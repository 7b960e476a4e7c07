"""Policies as DuckDB SQL: the per-model facts they read and the layers (CTEs) each policy adds.

The semantics are those of `engine.py` (see its docstring). Between the rule layer and the final decision
the path is held in integer and boolean columns (`PathState`), so a policy layer compares and copies
numbers, never strings or lists (a CASE over a list column copies every list of the chunk):

| column | holds |
|---|---|
| `_m` | the model: its 1-based position in the router's models; NULL once blocked |
| `_a` | the action: 0 allow, 1 redact, 2 reroute, 3 block (the precedence order) |
| `_e` | the escalation: 0 none, 1 human review, 1 + i escalation to the model at position i |
| `_fk<j>` | whether the rule's j-th fallback (0-based) is still kept |
| `_f<k>` | whether policy k flagged the request |

`sql.py` turns them into the decision's strings and lists in the last layer. `policy_layers` turns policy k
into CTEs: the violation `_v`; for a policy that moves the request, the candidates allowed and the target
`_t` (a lexicographic arg-min, one layer per key component); the policy's own change (block, move, action,
escalation); for a hard policy the restriction of fallbacks and escalation; helper columns are dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from routelab.router_core.config import (
    ConfidenceFloorPolicy,
    CostCeilingPolicy,
    LatencyTargetPolicy,
    PrivacyPolicy,
    RegionPolicy,
)
from routelab.router_core.paths import (
    ACTION_PRECEDENCE,
    ESCALATION_HUMAN,
    ESCALATION_MODEL_PREFIX,
    ESCALATION_NONE,
    Action,
)
from routelab.router_core.pricing import ModelPrice
from routelab.router_core.sql_expr import in_list, num, q
from routelab.router_core.validate import Router

#: The column holding the current model's position (1-based; NULL when blocked).
MODEL = "_m"
#: Action codes of `_a`: their precedence (`paths.ACTION_PRECEDENCE`), in precedence order.
ALLOW, REDACT, REROUTE, BLOCK = (
    ACTION_PRECEDENCE[a] for a in (Action.ALLOW, Action.REDACT, Action.REROUTE, Action.BLOCK)
)
#: Escalation codes of `_e` below the model escalations (1 + model position).
NONE_CODE, HUMAN_CODE = 0, 1


def lookup(values: Sequence[str], index: str) -> str:
    """The `index`-th (1-based) of the constant SQL `values`; NULL for a NULL index.

    DuckDB folds the constant list once, so a lookup costs a few nanoseconds a row, far less than a CASE.
    """
    return f"[{', '.join(values)}][{index}]"


def by_position(column: str, exprs: Sequence[str], default: str = "NULL") -> str:
    """Per-row expressions chosen by an INTEGER position column (1-based)."""
    if not exprs:
        return default
    whens = " ".join(f"WHEN {k + 1} THEN {e}" for k, e in enumerate(exprs))
    return f"(CASE {column} {whens} ELSE {default} END)"


class ModelFacts:
    """A router's per-model facts as SQL over model positions: ranks, cost, latency, eligibility and the
    hard-policy checks."""

    def __init__(self, router: Router, prices: dict[str, ModelPrice]) -> None:
        self.router = router
        self.prices = prices
        self.models = list(router.models)
        self.policies = [cp.policy for cp in router.policies]

    def pos(self, m: str) -> int:
        """The 1-based position of model m (its value in `_m`)."""
        return self.models.index(m) + 1

    def name(self, column: str = MODEL) -> str:
        """The model id at the position `column`."""
        return lookup([q(m) for m in self.models], column)

    def escalation_code(self, escalation: str) -> int:
        """The code of an escalation in `_e`."""
        if escalation == ESCALATION_NONE:
            return NONE_CODE
        if escalation == ESCALATION_HUMAN:
            return HUMAN_CODE
        return HUMAN_CODE + self.pos(escalation[len(ESCALATION_MODEL_PREFIX) :])

    def escalation(self, column: str = "_e") -> str:
        """The escalation text of the code `column`."""
        names = [q(ESCALATION_NONE), q(ESCALATION_HUMAN)] + [
            q(ESCALATION_MODEL_PREFIX + m) for m in self.models
        ]
        return lookup(names, f"({column} + 1)")

    def rank(self, m: str) -> int:
        return self.router.tier_rank[self.router.models[m].tier]

    def cost(self, m: str) -> str:
        p = self.prices[m]
        return f"((pt * {num(p.input_per_token)}) + (out_tokens * {num(p.output_per_token)}))"

    def p95(self, m: str) -> str:
        """The p95 latency estimate of model m, retrieval included."""
        spec = self.router.models[m].latency
        lat = f"({num(spec.p95_ms)} + ((out_tokens / {num(spec.output_tokens_per_s)}) * 1000.0))"
        return f"({lat} + _rl)"

    # The current model's facts are lookups by `_m` into constant lists, written as the per-model
    # expressions are (same operations in the same order), so both give the same doubles. The facts of
    # every model (cost, p95, eligibility) are only needed to pick a target, on the few rows that violate a
    # policy: they stay inline there, evaluated on those rows only.
    def current_cost(self) -> str:
        ins = lookup([num(self.prices[m].input_per_token) for m in self.models], MODEL)
        outs = lookup([num(self.prices[m].output_per_token) for m in self.models], MODEL)
        return f"((pt * {ins}) + (out_tokens * {outs}))"

    def current_p95(self) -> str:
        specs = [self.router.models[m].latency for m in self.models]
        p95 = lookup([num(s.p95_ms) for s in specs], MODEL)
        tps = lookup([num(s.output_tokens_per_s) for s in specs], MODEL)
        return f"(({p95} + ((out_tokens / {tps}) * 1000.0)) + _rl)"

    def cur_rank(self) -> str:
        return lookup([str(self.rank(m)) for m in self.models], MODEL)

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

    def satisfies_at(self, k: int, position: str) -> str:
        """Whether the model at `position` (an INTEGER expression) meets hard policy k (TRUE for NULL)."""
        checks = [self.satisfies(k, m) for m in self.models]
        if all(c in ("TRUE", "FALSE") for c in checks):
            return f"coalesce({lookup(checks, position)}, TRUE)"
        return by_position(position, checks, default="TRUE")

    def _hard_checks(self) -> dict[tuple[int, str], str]:
        """Per hard policy k and distinct check of its models (other than TRUE): the column holding
        ``NOT a_k OR check`` (`eligibility_columns`)."""
        out: dict[tuple[int, str], str] = {}
        for k in range(len(self.policies)):
            if self.is_hard(k):
                for m in self.models:
                    check = self.satisfies(k, m)
                    if check != "TRUE":
                        out.setdefault((k, check), f"_h{len(out)}")
        return out

    def eligibility_columns(self) -> list[tuple[str, str]]:
        """Columns `eligible` reads, computed once per request: the prompt plus context budget, and whether
        each distinct hard-policy check holds (or its policy does not apply)."""
        cols = [("_need", "(pt + CAST(context_tokens AS DOUBLE))")]
        cols += [(col, f"(NOT a_{k} OR {check})") for (k, check), col in self._hard_checks().items()]
        return cols

    def eligible(self, m: str) -> str:
        """Whether model m may take over: hard constraints hold, and the context fits its window."""
        window = num(float(self.router.models[m].context_window))
        checks = self._hard_checks()
        parts = [
            checks[(k, self.satisfies(k, m))]
            for k in range(len(self.policies))
            if self.is_hard(k) and self.satisfies(k, m) != "TRUE"
        ]
        parts.append(f"(_need <= {window})")
        return "(" + " AND ".join(parts) + ")"


@dataclass(frozen=True)
class PathState:
    """The rule's fallbacks, as the policy layers see them (keep flags by position)."""

    positions: tuple[tuple[int, ...], ...]
    """Per rule (the default last), the model positions of its fallbacks in order."""

    @property
    def width(self) -> int:
        """The most fallbacks any rule has: the number of keep flags `_fk<j>`."""
        return max((len(p) for p in self.positions), default=0)

    def fallback_at(self, j: int) -> str:
        """The model position of the fired rule's j-th fallback (NULL when it has fewer)."""
        return lookup([str(p[j]) if j < len(p) else "NULL" for p in self.positions], "_rule")

    def keep_flags(self) -> list[str]:
        return [f"_fk{j}" for j in range(self.width)]


@dataclass(frozen=True)
class _Candidate:
    """A model a policy may move a request to: when it is allowed, and its sort key (smaller wins)."""

    pos: int
    """Its position in the router's models (the value `_t` takes)."""
    ok: str
    """Whether it is allowed."""
    key: tuple[str, ...]
    """Its sort key, compared as a tuple."""


def pick_layer(cands: Sequence[_Candidate], when: str, prev: str) -> tuple[str, str]:
    """The CTE adding `_t`: where `when` holds, the position of the first allowed candidate whose key is
    minimal.

    The keys compare as tuples, ties going to the earlier candidate, as the Python engine's `pick` does: each
    allowed candidate is a struct of its key components, its order among the candidates and its position,
    and `least` compares structs field by field and skips NULLs (the candidates not allowed), so a tie on
    the key goes to the earlier candidate. NULL where `when` does not hold or no candidate is allowed. One
    CASE on `when`: the candidates are only looked at where it holds.
    """
    items = []
    for i, c in enumerate(cands):
        fields = [f"'k{j}': CAST({k} AS DOUBLE)" for j, k in enumerate(c.key)]
        fields += [f"'i': {i}", f"'p': {c.pos}"]
        items.append(f"(CASE WHEN {c.ok} THEN {{{', '.join(fields)}}} END)")
    target = f"SELECT *, (CASE WHEN {when} THEN least({', '.join(items)}).p END) AS _t FROM {prev}"
    return f"{prev}_t", target


@dataclass(frozen=True)
class _Policy:
    """Policy k as SQL over the path state: when it applies and is violated, where it moves the request, and
    what a violation does."""

    live: str
    """Whether the policy applies to the request (and it is not blocked)."""
    violated: str
    """Whether the policy is violated (false where not live)."""
    candidates: tuple[_Candidate, ...] | None
    """The models to move to, in order (None when the policy does not move)."""
    blocked: str
    """Whether the request ends up blocked (over `_v` and `_t`)."""
    moved: str
    """Whether the request moves to `_t`."""
    action: str
    """The new action code, when not blocked."""
    escalation: str
    """The new escalation code, when not blocked."""


def _policy(facts: ModelFacts, k: int) -> _Policy:
    """Policy k's conditions and effects (see `engine.py`'s `apply_policy`)."""
    pol = facts.policies[k]
    live = f"(_a <> {BLOCK} AND a_{k})"
    rank = facts.cur_rank()
    cands: list[_Candidate] | None = None
    blocked, moved = "FALSE", "FALSE"
    action, escalation = "_a", "_e"
    move = f"(CASE WHEN _v AND _a <= {REDACT} THEN {REROUTE} ELSE _a END)"
    if isinstance(pol, PrivacyPolicy | RegionPolicy):
        if isinstance(pol, RegionPolicy):
            live = f"({live} AND f_region IS NOT NULL)"
        condition = f"NOT {facts.satisfies_at(k, MODEL)}"
        if pol.on_violation == "reroute":
            cands = [
                _Candidate(
                    facts.pos(m),
                    f"({rank} <= {facts.rank(m)} AND {facts.eligible(m)})",
                    (facts.cost(m), f"{facts.rank(m)}.0"),
                )
                for m in facts.models
            ]
            blocked, moved, action = "(_v AND _t IS NULL)", "(_v AND _t IS NOT NULL)", move
        elif pol.on_violation == "block":
            blocked = "_v"
        else:
            action = f"(CASE WHEN _v AND _a = {ALLOW} THEN {REDACT} ELSE _a END)"
    elif isinstance(pol, CostCeilingPolicy):
        ceiling = num(pol.max_usd)
        condition = f"(({facts.current_cost()} + _rc) > {ceiling})"
        if pol.on_violation == "downgrade":
            cands = [
                _Candidate(
                    facts.pos(m),
                    f"({rank} >= {facts.rank(m)} AND {facts.eligible(m)} AND "
                    f"({facts.cost(m)} + _rc) <= {ceiling})",
                    (f"-{facts.rank(m)}.0", facts.cost(m)),
                )
                for m in facts.models
            ]
            blocked, moved, action = "(_v AND _t IS NULL)", "(_v AND _t IS NOT NULL)", move
        else:
            blocked = "_v"
    elif isinstance(pol, LatencyTargetPolicy):
        goal = num(pol.p95_ms)
        condition = f"({facts.current_p95()} > {goal})"
        if pol.on_violation == "downgrade":
            cands = [
                _Candidate(
                    facts.pos(m),
                    f"({rank} >= {facts.rank(m)} AND {facts.eligible(m)} AND {facts.p95(m)} <= {goal})",
                    (f"-{facts.rank(m)}.0", facts.p95(m), facts.cost(m)),
                )
                for m in facts.models
            ]
            moved = "(_v AND _t IS NOT NULL)"
            action = f"(CASE WHEN _v AND _t IS NOT NULL AND _a <= {REDACT} THEN {REROUTE} ELSE _a END)"
    elif isinstance(pol, ConfidenceFloorPolicy):
        condition = f"(confidence < {num(pol.min_confidence)})"
        esc = pol.escalate_to
        code = str(facts.escalation_code(esc))
        if esc.startswith(ESCALATION_MODEL_PREFIX):
            m = esc[len(ESCALATION_MODEL_PREFIX) :]
            code = f"(CASE WHEN {facts.eligible(m)} THEN {code} ELSE {HUMAN_CODE} END)"
        escalation = f"(CASE WHEN _v THEN {code} ELSE _e END)"
    else:  # pragma: no cover
        raise TypeError(f"unknown policy {pol!r}")
    # CASE, not AND: the condition is evaluated only where the policy is live
    violated = f"(CASE WHEN {live} THEN {condition} ELSE FALSE END)"
    return _Policy(
        live, violated, None if cands is None else tuple(cands), blocked, moved, action, escalation
    )


def policy_layers(facts: ModelFacts, state: PathState, k: int, prev: str) -> list[tuple[str, str]]:
    """CTEs for policy k over the path state; the last one is named `p<k>`."""
    p = _policy(facts, k)
    layers: list[tuple[str, str]] = [(f"{prev}_v", f"SELECT *, {p.violated} AS _v FROM {prev}")]
    helpers = ["_v"]
    if p.candidates:
        layers.append(pick_layer(p.candidates, "_v", f"{prev}_v"))
        helpers.append("_t")
    else:  # a policy that never moves the request has no target
        layers[-1] = (f"{prev}_v", f"SELECT *, {p.violated} AS _v, CAST(NULL AS INTEGER) AS _t FROM {prev}")
        helpers.append("_t")
    b, mv = p.blocked, p.moved
    # the policy's own change: block, move (dropping the target from the fallbacks), action, escalation
    changed = [
        f"(CASE WHEN {b} THEN CAST(NULL AS INTEGER) WHEN {mv} THEN _t ELSE {MODEL} END) AS {MODEL}",
        f"(CASE WHEN {b} THEN {BLOCK} ELSE {p.action} END) AS _a",
        f"(CASE WHEN {b} THEN {NONE_CODE} ELSE {p.escalation} END) AS _e",
    ]
    for j, col in enumerate(state.keep_flags()):
        changed.append(
            f"(CASE WHEN {b} THEN FALSE WHEN {mv} THEN ({col} AND {state.fallback_at(j)} <> _t) "
            f"ELSE {col} END) AS {col}"
        )
    if not facts.is_hard(k):
        layers.append((f"p{k}", _select(layers[-1][0], helpers, changed, [f"_v AS _f{k}"])))
        return layers
    layers.append((f"{prev}_s", _select(layers[-1][0], [], changed, [])))
    # while a hard policy applies (and the request is not blocked, now), drop what breaks it: fallbacks
    # outside it, and an escalation to a model outside it (which becomes human review)
    restrict = p.live
    kept = []
    dropped = []
    for j, col in enumerate(state.keep_flags()):
        ok = facts.satisfies_at(k, state.fallback_at(j))
        kept.append(f"(CASE WHEN {col} AND {restrict} THEN {ok} ELSE {col} END) AS {col}")
        dropped.append(f"(CASE WHEN {col} THEN NOT {ok} ELSE FALSE END)")
    # CASE, not AND: a projection evaluates both sides of an AND on every row
    escalation_ok = facts.satisfies_at(k, f"(_e - {HUMAN_CODE})")
    escalated = f"(CASE WHEN _e > {HUMAN_CODE} THEN NOT {escalation_ok} ELSE FALSE END)"
    dropped.append(escalated)
    restricted = [
        *kept,
        f"(CASE WHEN _e > {HUMAN_CODE} AND {restrict} AND {escalated} THEN {HUMAN_CODE} ELSE _e END) AS _e",
    ]
    flag = f"(_v OR (CASE WHEN {restrict} THEN ({' OR '.join(dropped)}) ELSE FALSE END)) AS _f{k}"
    layers.append((f"p{k}", _select(f"{prev}_s", helpers, restricted, [flag])))
    return layers


def _select(src: str, exclude: Sequence[str], replace: Sequence[str], extra: Sequence[str]) -> str:
    """``SELECT * EXCLUDE (...) REPLACE (...), extra FROM src``; the extra columns may read excluded ones."""
    star = "*"
    if exclude:
        star += f" EXCLUDE ({', '.join(exclude)})"
    if replace:
        star += f" REPLACE ({', '.join(replace)})"
    return f"SELECT {', '.join([star, *extra])} FROM {src}"
