"""Semantic checks of a router config and its compilation into a `Router` both engines run.

The schema (`config.py`) checks shapes; this module checks meaning: every reference resolves, ids are unique,
expressions parse and type-check, regexes are portable, no rule is shadowed by an earlier catch-all, and every
rerouting policy has somewhere to go. All problems are collected and raised together, each with its YAML path.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from routelab.router_core.canonical import is_constant_false, is_constant_true, unparse
from routelab.router_core.config import (
    ConfidenceFloorPolicy,
    DefaultRoute,
    IndexSpec,
    KeywordSignal,
    Knob,
    LengthSignal,
    ModelSpec,
    PiiSignal,
    Policy,
    PrivacyPolicy,
    RegexSignal,
    RouterConfig,
    RouteSpec,
    Rule,
    Signal,
    line_of,
    parse_config,
)
from routelab.router_core.errors import ConfigError, ConfigProblem, RegexPortabilityError, RuleSyntaxError
from routelab.router_core.nodes import Lit, Node, Ref, Resolver
from routelab.router_core.parser import FUNCTIONS, KEYWORDS
from routelab.router_core.paths import ESCALATION_HUMAN, ESCALATION_MODEL_PREFIX, ESCALATION_NONE
from routelab.router_core.regex import PortableRegex, portable
from routelab.router_core.request import NUMBER_FIELDS, TEXT_FIELDS
from routelab.router_core.rules import parse, parse_condition, parse_number


@dataclass(frozen=True)
class CompiledSignal:
    """A signal with its input expression parsed (and its regexes made portable)."""

    spec: Signal
    field: Node
    regexes: tuple[PortableRegex, ...] = ()


@dataclass(frozen=True)
class CompiledRule:
    """A rule with its condition and confidence parsed."""

    rule: Rule
    when: Node
    confidence: Node


@dataclass(frozen=True)
class CompiledPolicy:
    """A policy with its `when` parsed."""

    policy: Policy
    when: Node


@dataclass(frozen=True)
class Router:
    """A validated router version, ready for either engine."""

    config: RouterConfig
    signals: tuple[CompiledSignal, ...]
    rules: tuple[CompiledRule, ...]
    default_confidence: Node
    policies: tuple[CompiledPolicy, ...]
    models: dict[str, ModelSpec] = field(repr=False)
    indexes: dict[str, IndexSpec] = field(repr=False)
    tier_rank: dict[str, int] = field(repr=False)

    @property
    def ref(self) -> str:
        """`name@version`."""
        return self.config.ref


RESERVED = set(TEXT_FIELDS) | set(NUMBER_FIELDS) | {"attrs"} | KEYWORDS | FUNCTIONS


def field_resolver() -> Resolver:
    """Resolver for request fields and attrs only (used by signal inputs)."""

    def resolve(name: str) -> Ref | None:
        if name in TEXT_FIELDS:
            return Ref(name, "field", "text")
        if name in NUMBER_FIELDS:
            return Ref(name, "field", "number")
        if name.startswith("attrs.") and len(name) > len("attrs."):
            return Ref(name, "attr", "text")
        return None

    return resolve


def router_resolver(signals: Iterable[Signal], knobs: Mapping[str, Knob] | None = None) -> Resolver:
    """Resolver for rule conditions: request fields, attrs, the router's signals and its knobs.

    A knob `knobs.NAME` resolves to its value as a literal, so both engines see a plain number.
    """
    base = field_resolver()
    table: dict[str, Ref] = {}
    for sig in signals:
        if isinstance(sig, PiiSignal):
            table[sig.name] = Ref(sig.name, "signal", "bool")
        else:
            table[sig.name] = Ref(sig.name, "signal", "text")
        if isinstance(sig, KeywordSignal | RegexSignal):
            table[f"{sig.name}.confidence"] = Ref(f"{sig.name}.confidence", "signal", "number")

    values = {f"knobs.{k}": Lit(float(v.value)) for k, v in (knobs or {}).items()}

    def resolve(name: str) -> Ref | Lit | None:
        return base(name) or table.get(name) or values.get(name)

    return resolve


class _Checker:
    def __init__(self, config: RouterConfig) -> None:
        self.config = config
        self.problems: list[ConfigProblem] = []
        self.models = {m.id: m for m in config.models}
        self.indexes = {i.id: i for i in config.indexes}

    def add(self, path: str, message: str) -> None:
        self.problems.append(ConfigProblem(path, message))

    def known(self, kind: str, names: Iterable[str]) -> str:
        listed = ", ".join(sorted(names)) or "none defined"
        return f"known {kind}: {listed}"

    def unique(self, section: str, ids: list[str]) -> None:
        seen: set[str] = set()
        for i, ident in enumerate(ids):
            if ident in seen:
                self.add(
                    f"{section}[{i}]({ident})", f"duplicate id `{ident}`; ids must be unique in {section}"
                )
            seen.add(ident)

    def expr(self, path: str, source: str, resolve: Resolver, kind: str) -> Node | None:
        try:
            if kind == "condition":
                return parse_condition(source, resolve)
            if kind == "number":
                return parse_number(source, resolve)
            return parse(source, resolve)
        except RuleSyntaxError as exc:
            self.add(path, f"{exc.message} at column {exc.column} of `{source}`")
            return None

    def model_ref(self, path: str, model_id: str) -> ModelSpec | None:
        spec = self.models.get(model_id)
        if spec is None:
            close = difflib.get_close_matches(model_id, list(self.models), n=1)
            hint = f"did you mean `{close[0]}`? " if close else ""
            self.add(path, f"unknown model `{model_id}`; {hint}{self.known('models', self.models)}")
        return spec

    def escalation(self, path: str, value: str) -> None:
        if value in (ESCALATION_NONE, ESCALATION_HUMAN):
            return
        if value.startswith(ESCALATION_MODEL_PREFIX):
            self.model_ref(path, value[len(ESCALATION_MODEL_PREFIX) :])
            return
        self.add(path, f"`{value}` is not an escalation; write `none`, `human_review` or `model:<model id>`")

    def route(self, path: str, route: RouteSpec) -> None:
        spec = self.model_ref(f"{path}.model", route.model)
        if route.retrieval is not None and route.retrieval not in self.indexes:
            self.add(
                f"{path}.retrieval",
                f"unknown index `{route.retrieval}`; {self.known('indexes', self.indexes)} (or `none`)",
            )
        ctx = (
            route.context_tokens if route.context_tokens is not None else self.config.defaults.context_tokens
        )
        if spec is not None and ctx > spec.context_window:
            self.add(
                f"{path}.context_tokens",
                f"{ctx} exceeds {spec.id}'s context window of {spec.context_window}; "
                "lower it or pick a larger model",
            )
        seen: set[str] = set()
        for j, fb in enumerate(route.fallbacks):
            self.model_ref(f"{path}.fallbacks[{j}]", fb)
            if fb == route.model:
                self.add(
                    f"{path}.fallbacks[{j}]", f"`{fb}` is the primary model; a fallback must be another model"
                )
            if fb in seen:
                self.add(f"{path}.fallbacks[{j}]", f"`{fb}` is listed twice")
            seen.add(fb)
        self.escalation(f"{path}.escalation", route.escalation)

    def confidence(self, path: str, value: float | str, resolve: Resolver) -> Node:
        if isinstance(value, str):
            node = self.expr(path, value, resolve, "number")
            return node if node is not None else Lit(0.0)
        if not 0 <= value <= 1:
            self.add(path, f"confidence {value} is outside [0, 1]")
        return Lit(float(value))


def _signal(ck: _Checker, i: int, sig: Signal) -> CompiledSignal | None:
    path = f"signals[{i}]({sig.name})"
    if sig.name in RESERVED:
        ck.add(f"{path}.name", f"`{sig.name}` is a request field or keyword; choose another signal name")
    kind = "number" if isinstance(sig, LengthSignal) else "text"
    node = ck.expr(f"{path}.field", sig.field, field_resolver(), "any")
    if node is not None and node.type != kind:
        if kind == "number" and isinstance(node, Ref) and node.kind == "attr":
            node = parse_number(sig.field, field_resolver())
        else:
            ck.add(f"{path}.field", f"a {sig.kind} signal reads a {kind} value; `{sig.field}` is {node.type}")
            node = None
    regexes: list[PortableRegex] = []
    if isinstance(sig, RegexSignal):
        for j, lab in enumerate(sig.labels):
            try:
                regexes.append(portable(lab.pattern))
            except RegexPortabilityError as exc:
                ck.add(
                    f"{path}.labels[{j}].pattern",
                    f"regex not portable: {exc.message} (offset {exc.position})",
                )
    if isinstance(sig, KeywordSignal | RegexSignal):
        labels = [lab.label for lab in sig.labels]
        if len(set(labels)) != len(labels):
            ck.add(f"{path}.labels", "a label is listed twice; merge its phrases or patterns into one entry")
    if node is None or len(regexes) != (len(sig.labels) if isinstance(sig, RegexSignal) else 0):
        return None
    return CompiledSignal(sig, node, tuple(regexes))


def _policy(ck: _Checker, i: int, pol: Policy, resolve: Resolver) -> CompiledPolicy | None:
    path = f"policies[{i}]({pol.id})"
    node = ck.expr(f"{path}.when", pol.when, resolve, "condition")
    boundaries = {m.boundary for m in ck.config.models}
    if isinstance(pol, PrivacyPolicy):
        for j, b in enumerate(pol.allowed_boundaries):
            if b not in boundaries:
                ck.add(
                    f"{path}.allowed_boundaries[{j}]",
                    f"no model has boundary `{b}`; {ck.known('boundaries', boundaries)}",
                )
        allowed = [m.id for m in ck.config.models if m.boundary in pol.allowed_boundaries]
        if pol.on_violation == "reroute" and not allowed:
            ck.add(
                f"{path}.on_violation",
                "nowhere to reroute: no model lies inside the allowed boundaries; add one or use `block`",
            )
    if isinstance(pol, ConfidenceFloorPolicy):
        if pol.escalate_to == ESCALATION_NONE:
            ck.add(f"{path}.escalate_to", "escalate_to must be `human_review` or `model:<id>`, not `none`")
        else:
            ck.escalation(f"{path}.escalate_to", pol.escalate_to)
    return CompiledPolicy(pol, node) if node is not None else None


def check(config: RouterConfig) -> tuple[Router | None, list[ConfigProblem]]:
    """Check a parsed config; return the compiled router (None if any problem) and the problems found."""
    ck = _Checker(config)
    ck.unique("models", [m.id for m in config.models])
    ck.unique("indexes", [x.id for x in config.indexes])
    ck.unique("signals", [s.name for s in config.signals])
    ck.unique("rules", [r.id for r in config.rules])
    for name in config.knobs:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            ck.add(f"knobs.{name}", "a knob name is letters, digits and underscores, not led by a digit")
    ck.unique("policies", [p.id for p in config.policies])
    if len(set(config.tiers)) != len(config.tiers):
        ck.add("tiers", "a tier is listed twice")
    for i, m in enumerate(config.models):
        if m.tier not in config.tiers:
            ck.add(
                f"models[{i}]({m.id}).tier", f"unknown tier `{m.tier}`; tiers are {', '.join(config.tiers)}"
            )
    for i, r in enumerate(config.rules):
        if r.id == "default":
            ck.add(f"rules[{i}](default).id", "`default` is reserved for the default route; rename the rule")

    signals = [s for i, sig in enumerate(config.signals) if (s := _signal(ck, i, sig)) is not None]
    resolve = router_resolver(config.signals, config.knobs)

    rules: list[CompiledRule] = []
    catch_all: str | None = None
    seen_conditions: dict[str, str] = {}
    for i, r in enumerate(config.rules):
        path = f"rules[{i}]({r.id})"
        ck.route(f"{path}.route", r.route)
        when = ck.expr(f"{path}.when", r.when, resolve, "condition")
        conf = ck.confidence(f"{path}.confidence", r.confidence, resolve)
        if when is None:
            continue
        canonical = unparse(when)
        if catch_all is not None:
            ck.add(
                f"{path}.when",
                f"rule can never fire: rule `{catch_all}` before it matches every request; "
                "move the catch-all last or make it the `default`",
            )
        elif canonical in seen_conditions:
            ck.add(
                f"{path}.when",
                f"rule can never fire: rule `{seen_conditions[canonical]}` before it has the same condition",
            )
        elif is_constant_false(when):
            ck.add(f"{path}.when", "rule can never fire: its condition is always false")
        seen_conditions.setdefault(canonical, r.id)
        if catch_all is None and is_constant_true(when):
            catch_all = r.id
        rules.append(CompiledRule(r, when, conf))
    default: DefaultRoute = config.default
    ck.route("default.route", default.route)
    default_conf = ck.confidence("default.confidence", default.confidence, resolve)
    policies = [p for i, pol in enumerate(config.policies) if (p := _policy(ck, i, pol, resolve)) is not None]
    if ck.problems:
        return None, ck.problems
    router = Router(
        config=config,
        signals=tuple(signals),
        rules=tuple(rules),
        default_confidence=default_conf,
        policies=tuple(policies),
        models=ck.models,
        indexes=ck.indexes,
        tier_rank={t: k for k, t in enumerate(config.tiers)},
    )
    return router, []


def compile_router(config: RouterConfig, source: str | None = None) -> Router:
    """Check a config and compile it; raise ConfigError listing every problem."""
    router, problems = check(config)
    if router is None:
        raise ConfigError(problems, source)
    return router


def _with_line(problem: ConfigProblem, text: str) -> ConfigProblem:
    """The problem with the YAML line of its path appended (`rules[2](x).when` → line of that key)."""
    keys: list[int | str] = []
    for name, index in re.findall(r"([A-Za-z_]+)|\[(\d+)\]", re.sub(r"\([^)]*\)", "", problem.path)):
        keys.append(int(index) if index else name)
    line = line_of(text, tuple(keys))
    return ConfigProblem(problem.path, problem.message, line)


def load_router(text: str, source: str | None = None) -> Router:
    """Parse YAML text and compile it into a Router (schema and semantic checks).

    Raises:
        ConfigError: every problem, each with its YAML path and line.
    """
    router, problems = check(parse_config(text, source))
    if router is None:
        raise ConfigError([_with_line(p, text) for p in problems], source)
    return router


def with_knob(router: Router, name: str, value: float) -> Router:
    """The same version with knob `name` set to `value`, compiled again (for sweeps).

    Raises:
        ConfigError: the version has no such knob (naming the knobs it has).
    """
    knobs = router.config.knobs
    if name not in knobs:
        known = ", ".join(sorted(knobs)) or "none"
        raise ConfigError([ConfigProblem("knobs", f"{router.ref} has no knob `{name}`; its knobs: {known}")])
    changed = {**knobs, name: knobs[name].model_copy(update={"value": float(value)})}
    return compile_router(router.config.model_copy(update={"knobs": changed}))
