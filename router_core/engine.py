"""The Python engine: route one request at a time and record the trace.

`route(router, request, prices)` must give exactly the decision the SQL engine (`sql.compile_sql`) gives;
`tests/router_core/test_engines_agree.py` checks it on random routers and requests. The policy semantics:

- Hard constraints: every privacy policy (with `reroute` or `block`) and region policy whose `when` holds for
  the request restricts which models may serve it. Any model a policy picks satisfies all of them, so a later
  policy never undoes an earlier one, and its context window holds the prompt plus the path's context budget.
- privacy: a model outside the allowed boundaries is rerouted to the cheapest eligible model of the same or a
  higher tier (ties: lower tier, then config order), or blocked; `redact` keeps the model and marks the
  action.
  While it applies, fallbacks outside the boundaries are dropped and a model escalation outside them becomes
  human review.
- region: as privacy, for a model that does not serve the request's region (no region: nothing to check).
- cost_ceiling: an estimate above `max_usd` downgrades to the highest-tier eligible model at or below the
  current tier whose estimate fits (ties: cheapest, then config order), else blocks.
- latency_target: an estimated p95 above the target downgrades like the cost ceiling (ties: fastest, then
  cheapest), else — or with `flag` — keeps the path and flags it.
- confidence_floor: confidence below the floor sets the escalation (an ineligible model becomes human review).
- A blocked request has no model, retrieval or fallbacks, and zero context, cost and latency; later
  policies leave it alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from routelab.router_core.canonical import unparse
from routelab.router_core.config import (
    ConfidenceFloorPolicy,
    CostCeilingPolicy,
    KeywordSignal,
    LatencyTargetPolicy,
    LengthSignal,
    ModelSpec,
    PiiSignal,
    PrivacyPolicy,
    RegexSignal,
    RegionPolicy,
)
from routelab.router_core.evaluation import Value, evaluate, fold_lower
from routelab.router_core.nodes import Node
from routelab.router_core.paths import (
    ACTION_PRECEDENCE,
    ESCALATION_HUMAN,
    ESCALATION_MODEL_PREFIX,
    ESCALATION_NONE,
    Action,
    Cache,
    Decision,
    PolicyStep,
    RuleStep,
    Trace,
)
from routelab.router_core.pii import RECORDED_ATTR, has_pii, recorded_types
from routelab.router_core.pricing import (
    ModelPrice,
    PriceTable,
    effective_prompt_tokens,
    model_cost,
    model_latency,
    resolve_prices,
)
from routelab.router_core.request import NUMBER_FIELDS, TEXT_FIELDS, Request
from routelab.router_core.validate import CompiledSignal, Router

HARD_PRIVACY_ACTIONS = ("reroute", "block")


def request_env(request: Request) -> dict[str, Value]:
    """The rule-language environment of a request: fields (numbers as floats) and `attrs.<key>`."""
    env: dict[str, Value] = {name: request.field_value(name) for name in TEXT_FIELDS}  # type: ignore[misc]
    for name in NUMBER_FIELDS:
        v = request.field_value(name)
        env[name] = None if v is None else float(v)  # type: ignore[arg-type]
    for key, value in request.attrs.items():
        env[f"attrs.{key}"] = value
    return env


def signal_values(sig: CompiledSignal, env: dict[str, Value]) -> tuple[Value, float | None]:
    """A signal's value (label, or bool for PII) and its confidence (keyword and regex signals)."""
    spec = sig.spec
    value = evaluate(sig.field, env)
    if isinstance(spec, PiiSignal):
        recorded = recorded_types(env.get(f"attrs.{RECORDED_ATTR}"))
        if any(t.value in recorded for t in spec.types):
            return True, None
        return (value is not None and any(has_pii(str(value), t) for t in spec.types)), None
    if value is None:
        return None, None
    if isinstance(spec, LengthSignal):
        x = float(value)
        for bucket in spec.buckets:
            if bucket.max is None or x <= bucket.max:
                return bucket.label, None
        return None, None
    text = str(value)
    if isinstance(spec, KeywordSignal):
        hay = text if spec.case_sensitive else fold_lower(text)
        for lab in spec.labels:
            for phrase in lab.phrases:
                if (phrase if spec.case_sensitive else fold_lower(phrase)) in hay:
                    return lab.label, lab.confidence
        return None, None
    if isinstance(spec, RegexSignal):
        for rx_label, rx in zip(spec.labels, sig.regexes, strict=True):
            if rx.search(text):
                return rx_label.label, rx_label.confidence
        return None, None
    raise TypeError(f"unknown signal {spec!r}")  # pragma: no cover


def clamp_confidence(value: Value) -> float:
    """A confidence expression's value clamped to [0, 1]; missing counts as 0."""
    if value is None:
        return 0.0
    x = float(value)
    return 0.0 if x < 0 else 1.0 if x > 1 else x


@dataclass
class _State:
    model: str | None
    retrieval: str | None
    context_tokens: int
    cache: Cache
    escalation: str
    fallbacks: list[str]
    action: Action = Action.ALLOW
    flags: list[str] = field(default_factory=list)

    @property
    def blocked(self) -> bool:
        return self.action == Action.BLOCK

    def set_action(self, action: Action) -> None:
        if ACTION_PRECEDENCE[action] > ACTION_PRECEDENCE[self.action]:
            self.action = action

    def block(self) -> None:
        self.model = None
        self.retrieval = None
        self.context_tokens = 0
        self.cache = Cache.BYPASS
        self.escalation = ESCALATION_NONE
        self.fallbacks = []
        self.action = Action.BLOCK


class _Run:
    """One request through one router: signals, the rule that fires, then each policy in order."""

    def __init__(self, router: Router, request: Request, prices: dict[str, ModelPrice]) -> None:
        self.router = router
        self.request = request
        self.prices = prices
        cfg = router.config
        self.env = request_env(request)
        self.pt = effective_prompt_tokens(request.prompt_tokens, request.prompt)
        self.out = float(
            request.expected_output_tokens
            if request.expected_output_tokens is not None
            else cfg.defaults.expected_output_tokens
        )
        self.signal_trace: dict[str, Value] = {}
        for sig in router.signals:
            value, conf = signal_values(sig, self.env)
            self.env[sig.spec.name] = value
            self.signal_trace[sig.spec.name] = value
            if isinstance(sig.spec, KeywordSignal | RegexSignal):
                self.env[f"{sig.spec.name}.confidence"] = conf
                self.signal_trace[f"{sig.spec.name}.confidence"] = conf
        self.applies = [bool(evaluate(p.when, self.env)) for p in router.policies]

    # -- model facts
    def spec(self, model_id: str) -> ModelSpec:
        return self.router.models[model_id]

    def rank(self, model_id: str) -> int:
        return self.router.tier_rank[self.spec(model_id).tier]

    def cost(self, model_id: str) -> float:
        return model_cost(self.prices[model_id], self.pt, self.out)

    def retrieval_cost(self, state: _State) -> float:
        return self.router.indexes[state.retrieval].cost_per_query if state.retrieval else 0.0

    def retrieval_latency(self, state: _State) -> float:
        return self.router.indexes[state.retrieval].latency_ms if state.retrieval else 0.0

    def p95(self, model_id: str, state: _State) -> float:
        return model_latency(self.spec(model_id), self.out, "p95") + self.retrieval_latency(state)

    # -- constraints
    def satisfies(self, k: int, model_id: str) -> bool:
        """Whether `model_id` meets hard policy k (ignoring whether k applies)."""
        pol = self.router.policies[k].policy
        spec = self.spec(model_id)
        if isinstance(pol, PrivacyPolicy):
            return spec.boundary in pol.allowed_boundaries
        if isinstance(pol, RegionPolicy):
            region = self.request.region
            return region is None or not spec.regions or region in spec.regions
        return True

    def is_hard(self, k: int) -> bool:
        pol = self.router.policies[k].policy
        return isinstance(pol, RegionPolicy) or (
            isinstance(pol, PrivacyPolicy) and pol.on_violation in HARD_PRIVACY_ACTIONS
        )

    def eligible(self, model_id: str, state: _State) -> bool:
        """Whether a model may take over: hard constraints hold, and prompt plus context fit its window."""
        if self.pt + float(state.context_tokens) > float(self.spec(model_id).context_window):
            return False
        return all(
            self.satisfies(k, model_id)
            for k in range(len(self.router.policies))
            if self.applies[k] and self.is_hard(k)
        )

    def pick(self, candidates: Sequence[str], key: object) -> str | None:
        best: str | None = None
        best_key: tuple[float, ...] | None = None
        for m in candidates:
            k = key(m)  # type: ignore[operator]
            if best_key is None or k < best_key:
                best, best_key = m, k
        return best

    def reroute_target(self, current: str, state: _State) -> str | None:
        rank = self.rank(current)
        cands = [m for m in self.router.models if self.rank(m) >= rank and self.eligible(m, state)]
        return self.pick(cands, lambda m: (self.cost(m), float(self.rank(m))))

    def restrict(self, k: int, state: _State, changes: list[str]) -> None:
        """While hard policy k applies: drop fallbacks and model escalations that break it."""
        kept = [f for f in state.fallbacks if self.satisfies(k, f)]
        if kept != state.fallbacks:
            changes.append(f"dropped fallbacks {sorted(set(state.fallbacks) - set(kept))}")
            state.fallbacks = kept
        esc = state.escalation
        if esc.startswith(ESCALATION_MODEL_PREFIX) and not self.satisfies(
            k, esc[len(ESCALATION_MODEL_PREFIX) :]
        ):
            state.escalation = ESCALATION_HUMAN
            changes.append(f"escalation {esc} → {ESCALATION_HUMAN}")

    def move(self, state: _State, target: str, changes: list[str], why: str) -> None:
        changes.append(f"{why}: {state.model} → {target}")
        state.model = target
        if target in state.fallbacks:
            state.fallbacks = [f for f in state.fallbacks if f != target]

    # -- policies
    def apply_policy(self, k: int, state: _State, confidence: float) -> PolicyStep:
        cp = self.router.policies[k]
        pol = cp.policy
        applies = self.applies[k]
        changes: list[str] = []
        violated = False
        if state.action == Action.BLOCK or not applies:
            return PolicyStep(policy_id=pol.id, kind=pol.kind, applies=applies, violated=False)
        assert state.model is not None
        if isinstance(pol, PrivacyPolicy | RegionPolicy):
            if isinstance(pol, RegionPolicy) and self.request.region is None:
                return PolicyStep(policy_id=pol.id, kind=pol.kind, applies=applies, violated=False)
            violated = not self.satisfies(k, state.model)
            if violated and pol.on_violation == "redact":
                state.set_action(Action.REDACT)
                changes.append("redact PII before sending")
            elif violated and pol.on_violation == "block":
                state.block()
                changes.append("blocked")
            elif violated:
                target = self.reroute_target(state.model, state)
                if target is None:
                    state.block()
                    changes.append("blocked: no eligible model to reroute to")
                else:
                    self.move(state, target, changes, "rerouted")
                    state.set_action(Action.REROUTE)
            if not state.blocked and self.is_hard(k):
                self.restrict(k, state, changes)
        elif isinstance(pol, CostCeilingPolicy):
            cost = self.cost(state.model) + self.retrieval_cost(state)
            violated = cost > pol.max_usd
            if violated and pol.on_violation == "block":
                state.block()
                changes.append(f"blocked: estimate ${cost:.6f} > ${pol.max_usd}")
            elif violated:
                rank = self.rank(state.model)
                extra = self.retrieval_cost(state)
                cands = [
                    m
                    for m in self.router.models
                    if self.rank(m) <= rank
                    and self.eligible(m, state)
                    and self.cost(m) + extra <= pol.max_usd
                ]
                target = self.pick(cands, lambda m: (-float(self.rank(m)), self.cost(m)))
                if target is None:
                    state.block()
                    changes.append("blocked: no eligible model fits the ceiling")
                else:
                    self.move(state, target, changes, "downgraded")
                    state.set_action(Action.REROUTE)
        elif isinstance(pol, LatencyTargetPolicy):
            p95 = self.p95(state.model, state)
            violated = p95 > pol.p95_ms
            if violated:
                target = None
                if pol.on_violation == "downgrade":
                    rank = self.rank(state.model)
                    cands = [
                        m
                        for m in self.router.models
                        if self.rank(m) <= rank
                        and self.eligible(m, state)
                        and self.p95(m, state) <= pol.p95_ms
                    ]
                    target = self.pick(
                        cands, lambda m: (-float(self.rank(m)), self.p95(m, state), self.cost(m))
                    )
                if target is None:
                    changes.append(f"flagged: estimated p95 {p95:.0f} ms > {pol.p95_ms:.0f} ms")
                else:
                    self.move(state, target, changes, "downgraded")
                    state.set_action(Action.REROUTE)
        elif isinstance(pol, ConfidenceFloorPolicy):
            violated = confidence < pol.min_confidence
            if violated:
                target = pol.escalate_to
                if target.startswith(ESCALATION_MODEL_PREFIX) and not self.eligible(
                    target[len(ESCALATION_MODEL_PREFIX) :], state
                ):
                    target = ESCALATION_HUMAN
                changes.append(f"escalation {state.escalation} → {target}")
                state.escalation = target
        if changes:
            state.flags.append(pol.id)
        return PolicyStep(
            policy_id=pol.id, kind=pol.kind, applies=applies, violated=violated, changes=tuple(changes)
        )

    def decide(self, trace: bool) -> Decision:
        cfg = self.router.config
        rule_steps: list[RuleStep] = []
        chosen = None
        for cr in self.router.rules:
            matched = bool(evaluate(cr.when, self.env))
            if trace:
                rule_steps.append(RuleStep(rule_id=cr.rule.id, when=unparse(cr.when), matched=matched))
            if matched:
                chosen = cr
                break
        route_spec = chosen.rule.route if chosen else cfg.default.route
        conf_node: Node = chosen.confidence if chosen else self.router.default_confidence
        confidence = clamp_confidence(evaluate(conf_node, self.env))
        state = _State(
            model=route_spec.model,
            retrieval=route_spec.retrieval,
            context_tokens=route_spec.context_tokens
            if route_spec.context_tokens is not None
            else cfg.defaults.context_tokens,
            cache=Cache(route_spec.cache),
            escalation=route_spec.escalation,
            fallbacks=list(route_spec.fallbacks),
        )
        steps = [self.apply_policy(k, state, confidence) for k in range(len(self.router.policies))]
        if state.model is None:
            cost = latency = 0.0
        else:
            cost = self.cost(state.model) + self.retrieval_cost(state)
            latency = model_latency(self.spec(state.model), self.out, "p50") + self.retrieval_latency(state)
        return Decision(
            request_id=self.request.request_id,
            router=self.router.ref,
            model=state.model,
            tier=self.spec(state.model).tier if state.model else None,
            retrieval=state.retrieval,
            context_tokens=state.context_tokens,
            cache=state.cache,
            escalation=state.escalation,
            fallbacks=tuple(state.fallbacks),
            action=state.action,
            rule_id=chosen.rule.id if chosen else "default",
            confidence=confidence,
            est_cost_usd=cost,
            est_latency_ms=latency,
            policy_flags=tuple(state.flags),
            trace=Trace(
                signals=self.signal_trace,
                rules=tuple(rule_steps),
                policies=tuple(steps),
                estimate={
                    "prompt_tokens": self.pt,
                    "output_tokens": self.out,
                    "input_per_token": self.prices[state.model].input_per_token if state.model else None,
                    "output_per_token": self.prices[state.model].output_per_token if state.model else None,
                    "retrieval_cost_usd": self.retrieval_cost(state),
                    "retrieval_latency_ms": self.retrieval_latency(state),
                },
            )
            if trace
            else None,
        )


def route(router: Router, request: Request, prices: PriceTable, trace: bool = True) -> Decision:
    """Route one request and (by default) record the trace.

    Raises:
        PriceError: when a model of the router has no price.
    """
    return _Run(router, request, resolve_prices(router.models, prices)).decide(trace)


def route_many(router: Router, requests: Sequence[Request], prices: PriceTable) -> list[Decision]:
    """Route many requests without traces."""
    table = resolve_prices(router.models, prices)
    return [_Run(router, r, table).decide(False) for r in requests]
