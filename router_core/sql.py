"""The SQL engine: compile a whole router version into one DuckDB query.

`compile_sql(router, prices, source)` returns a query that maps a relation of requests to one decision row
per request, with the same fields as the Python engine's `Decision` (without the trace);
`compile_packed_sql` returns the same decisions with their path packed into one integer (`PACKED_COLUMNS`),
which `decode_paths_sql` turns back into the path's columns (how a store writes decisions). The relation
(`source`: a table, view or parenthesised subquery) has these columns:

| column | type | notes |
|---|---|---|
| request_id | VARCHAR | |
| ts | TIMESTAMP | UTC, naive; `hour` is derived from it |
| workflow, task, team, region, data_class, prompt | VARCHAR | NULL = missing |
| prompt_tokens, expected_output_tokens | BIGINT | NULL = missing |
| attrs | MAP(VARCHAR, VARCHAR) | free-form attributes as canonical text (`request.attr_text`) |

With `cache=CacheColumns(...)` the relation also holds the values that depend only on the prompt
(`sql_cache.cached_values`: the text signals' values and the token estimate), which the query then reads
instead of computing them; when every one is cached and no rule reads the prompt, the query never touches it.

The query is built in layers (CTEs): signals, the rule that fires (as a number) with the policy conditions,
its path, per-model facts, then the layers of each policy, then the decision. The current model is an
integer position until the last layer and per-rule and per-model constants are lookups in constant lists:
DuckDB folds a constant list once, where a CASE over strings costs a comparison per branch and row. Every
expression mirrors `engine.py`; see its docstring for semantics. Expressions are compiled by `sql_expr.py`,
signals by `sql_signals.py` and policies by `sql_policies.py`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from routelab.router_core.config import RouteSpec
from routelab.router_core.nodes import Lit, Node
from routelab.router_core.paths import ACTION_PRECEDENCE
from routelab.router_core.pricing import ModelPrice, PriceTable, resolve_prices
from routelab.router_core.request import NUMBER_FIELDS, TEXT_FIELDS
from routelab.router_core.sql_cache import TOKEN_ESTIMATE, TOKEN_ESTIMATE_SQL, CacheColumns, cached_values
from routelab.router_core.sql_expr import expr_sql, field_column, ident, num, q
from routelab.router_core.sql_policies import (
    BLOCK,
    MODEL,
    ModelFacts,
    PathState,
    by_position,
    lookup,
    policy_layers,
)
from routelab.router_core.sql_signals import signal_sql
from routelab.router_core.validate import Router

#: The columns (and DuckDB types) of the request relation `compile_sql` reads.
REQUEST_COLUMNS: tuple[tuple[str, str], ...] = (
    ("request_id", "VARCHAR"),
    ("ts", "TIMESTAMP"),
    ("workflow", "VARCHAR"),
    ("task", "VARCHAR"),
    ("team", "VARCHAR"),
    ("region", "VARCHAR"),
    ("data_class", "VARCHAR"),
    ("prompt", "VARCHAR"),
    ("prompt_tokens", "BIGINT"),
    ("expected_output_tokens", "BIGINT"),
    ("attrs", "MAP(VARCHAR, VARCHAR)"),
)

DECISION_COLUMNS = (
    "request_id",
    "router",
    "model",
    "tier",
    "retrieval",
    "context_tokens",
    "cache",
    "escalation",
    "fallbacks",
    "action",
    "rule_id",
    "confidence",
    "est_cost_usd",
    "est_latency_ms",
    "policy_flags",
)

#: The columns of a decision that are functions of its path state alone (the rule, model, action, escalation,
#: kept fallbacks and policy flags): a store keeps each distinct path once and a path key per decision.
PATH_COLUMNS = (
    "model",
    "tier",
    "retrieval",
    "cache",
    "escalation",
    "fallbacks",
    "action",
    "rule_id",
    "policy_flags",
)
#: The columns of `compile_packed_sql`'s query: the decision with its path as one integer.
PACKED_COLUMNS = (
    "request_id",
    "router",
    "path_key",
    "context_tokens",
    "confidence",
    "est_cost_usd",
    "est_latency_ms",
)
#: A packed path key stays below this (a non-negative BIGINT with a bit to spare).
PATH_KEY_LIMIT = 1 << 62

#: The column of a text signal's value (`sql_signals`): computed from the text, or read from the cache.
_TEXT_VALUE = "_tv_"
#: The column of a cached value in a partly filled cache (NULL where missing).
_CACHED_VALUE = "_cv_"
#: Policies whose flags are looked up together: 2**6 lists of ids per group.
_FLAG_GROUP = 6


def _layer(cols: Sequence[tuple[str, str]], src: str) -> str:
    return f"SELECT {', '.join(['*', *(f'{e} AS {ident(c)}' for c, e in cols)])} FROM {src}"


def _clamp(x: str) -> str:
    return f"(CASE WHEN {x} IS NULL THEN 0.0 WHEN {x} < 0 THEN 0.0 WHEN {x} > 1 THEN 1.0 ELSE {x} END)"


class _Compiler:
    """Builds the layers (CTEs) of one router's query."""

    def __init__(self, router: Router, prices: dict[str, ModelPrice], cache: CacheColumns | None) -> None:
        self.router = router
        self.facts = ModelFacts(router, prices)
        self.cache = cache or CacheColumns(columns={}, complete=True)
        self.parts = {sig.spec.name: signal_sql(sig) for sig in router.signals}
        self.state = PathState(tuple(tuple(self.facts.pos(f) for f in r.fallbacks) for r, _ in self.routes()))

    def cached(self, name: str) -> str | None:
        """The source column holding the cached value `name`, if the caller provides it."""
        return self.cache.columns.get(name)

    # -- layers
    def base(self, source: str, extra: Sequence[str] = ()) -> str:
        cols = ["request_id"]
        cols += [f"CAST({ident(f)} AS VARCHAR) AS {ident('f_' + f)}" for f in TEXT_FIELDS]
        for f in NUMBER_FIELDS:
            src = "hour(ts)" if f == "hour" else ident(f)
            cols.append(f"CAST({src} AS DOUBLE) AS {ident('f_' + f)}")
        cols.append("attrs")
        estimate = self.cached(TOKEN_ESTIMATE)
        if estimate is None:
            estimate = TOKEN_ESTIMATE_SQL
        elif not self.cache.complete:
            estimate = f"coalesce({ident(estimate)}, {TOKEN_ESTIMATE_SQL})"
        else:
            estimate = ident(estimate)
        cols.append(f"CAST(coalesce(prompt_tokens, {estimate}) AS DOUBLE) AS pt")
        default_out = float(self.router.config.defaults.expected_output_tokens)
        cols.append(f"CAST(coalesce(expected_output_tokens, {num(default_out)}) AS DOUBLE) AS out_tokens")
        for name, part in self.parts.items():
            column = self.cached(name)
            if part.text_value is not None and column is not None:
                prefix = _TEXT_VALUE if self.cache.complete else _CACHED_VALUE
                cols.append(f"{ident(column)} AS {ident(prefix + name)}")
        cols += extra
        return f"SELECT {', '.join(cols)} FROM {source}"

    def text_values(self, names: Sequence[str], prev: str) -> list[tuple[str, str]]:
        """Layers computing the text values `_tv_<name>` of signals `names`: each distinct input once, one
        guard per input for all its signals, then the values. With a partly filled cache (`complete=False`)
        a cached signal's value is computed only where its cached value `_cv_<name>` is NULL, and an input
        read only by cached signals only on those rows."""
        by_hay: dict[str, list[str]] = {}
        for name in names:
            hay = self.parts[name].hay
            assert hay is not None
            by_hay.setdefault(hay, []).append(name)
        if not by_hay:
            return []
        inputs, guards, values = [], [], []
        for i, (hay, readers) in enumerate(by_hay.items()):
            col = f"_in_{i}"
            missing = [f"{ident(_CACHED_VALUE + n)} IS NULL" for n in readers if self.cached(n) is not None]
            if len(missing) == len(readers):  # only cached signals read it: only where one is missing
                hay = f"(CASE WHEN {' OR '.join(missing)} THEN {hay} END)"
            inputs.append((col, hay))
            pattern = "|".join(f"(?:{self.parts[n].guard_pattern})" for n in readers)
            guards.append((f"_g{col}", f"coalesce(regexp_matches({col}, {q(pattern)}), FALSE)"))
            for n in readers:
                text_value = self.parts[n].text_value
                assert text_value is not None
                value = text_value(col, f"_g{col}")
                if self.cached(n) is not None:
                    value = f"coalesce({ident(_CACHED_VALUE + n)}, {value})"
                values.append((_TEXT_VALUE + n, value))
        return [
            ("sig_in", _layer(inputs, prev)),
            ("sig_g", _layer(guards, "sig_in")),
            ("sig_tv", _layer(values, "sig_g")),
        ]

    def signals(self) -> list[tuple[str, str]]:
        """Text values (computed, or read from the cache), then every signal's columns."""
        to_compute = [
            n
            for n, p in self.parts.items()
            if p.text_value is not None and (self.cached(n) is None or not self.cache.complete)
        ]
        layers = self.text_values(to_compute, "base")
        prev = layers[-1][0] if layers else "base"
        cols: list[tuple[str, str]] = []
        for name, part in self.parts.items():
            cols += part.values(ident(_TEXT_VALUE + name))
        if cols:
            layers.append(("sig", _layer(cols, prev)))
        return layers

    def ruled(self, prev: str) -> str:
        """The policy conditions `a_k` and the rule that fires, `_rule`: its position, the default last."""
        cols = [f"{expr_sql(cp.when, field_column)} AS a_{k}" for k, cp in enumerate(self.router.policies)]
        whens = " ".join(
            f"WHEN {expr_sql(cr.when, field_column)} THEN {k + 1}" for k, cr in enumerate(self.router.rules)
        )
        default = len(self.router.rules) + 1
        cols.append(f"(CASE {whens} ELSE {default} END) AS _rule" if whens else f"{default} AS _rule")
        return f"SELECT *, {', '.join(cols)} FROM {prev}"

    def routes(self) -> list[tuple[RouteSpec, Node]]:
        """Each rule's route and confidence, by `_rule` position (the default last)."""
        routes = [(cr.rule.route, cr.confidence) for cr in self.router.rules]
        routes.append((self.router.config.default.route, self.router.default_confidence))
        return routes

    def per_rule(self, values: Sequence[str], cast: str) -> str:
        """The fired rule's constant among `values` (one per rule, the default last)."""
        return f"CAST([{', '.join(values)}] AS {cast}[])[_rule]"

    def routed(self) -> str:
        """The fired rule's path as the policies' state (`sql_policies.PathState`), its confidence, its
        context budget and the costs of its retrieval."""
        cfg = self.router.config
        routes = self.routes()
        facts = self.facts

        def confidence(nodes: list[Node]) -> str:
            if all(isinstance(n, Lit) for n in nodes):  # constants: folded into one list
                return self.per_rule([_clamp(expr_sql(n, field_column)) for n in nodes], "DOUBLE")
            whens = " ".join(
                f"WHEN {k + 1} THEN {_clamp(expr_sql(n, field_column))}" for k, n in enumerate(nodes)
            )
            return f"(CASE _rule {whens} END)"

        def index_fact(attr: str) -> list[str]:
            indexes = self.router.indexes
            return [num(getattr(indexes[r.retrieval], attr)) if r.retrieval else num(0.0) for r, _ in routes]

        context = [
            str(r.context_tokens if r.context_tokens is not None else cfg.defaults.context_tokens)
            for r, _ in routes
        ]
        cols = [
            "*",
            f"{self.per_rule([str(facts.pos(r.model)) for r, _ in routes], 'INTEGER')} AS {MODEL}",
            "0 AS _a",
            f"{self.per_rule([str(facts.escalation_code(r.escalation)) for r, _ in routes], 'INTEGER')} "
            "AS _e",
            f"{self.per_rule(context, 'BIGINT')} AS context_tokens",
            f"{confidence([c for _, c in routes])} AS confidence",
            f"{self.per_rule(index_fact('cost_per_query'), 'DOUBLE')} AS _rc",
            f"{self.per_rule(index_fact('latency_ms'), 'DOUBLE')} AS _rl",
        ]
        for j, col in enumerate(self.state.keep_flags()):
            cols.append(
                f"{self.per_rule([str(j < len(r.fallbacks)).upper() for r, _ in routes], 'BOOLEAN')} AS {col}"
            )
        return f"SELECT {', '.join(cols)} FROM ruled"

    def path_exprs(self) -> dict[str, str]:
        """The decision's path columns (`PATH_COLUMNS`): functions of the path state (`digits`) only."""
        models = self.router.models
        facts = self.facts
        routes = self.routes()
        blocked = f"(_a = {BLOCK})"
        rule_ids = [q(cr.rule.id) for cr in self.router.rules] + ["'default'"]
        retrievals = [q(r.retrieval) if r.retrieval else "NULL" for r, _ in routes]
        caches = [q(r.cache) for r, _ in routes] + [q("bypass")]  # a blocked request bypasses the cache
        unblocked_rule = f"(CASE WHEN {blocked} THEN NULL ELSE _rule END)"
        actions = [q(a.value) for a in sorted(ACTION_PRECEDENCE, key=ACTION_PRECEDENCE.__getitem__)]
        return {
            "model": facts.name(),
            "tier": lookup([q(s.tier) for s in models.values()], MODEL),
            "retrieval": f"CAST([{', '.join(retrievals)}] AS VARCHAR[])[{unblocked_rule}]",
            "cache": lookup(caches, f"(CASE WHEN {blocked} THEN {len(routes) + 1} ELSE _rule END)"),
            "escalation": facts.escalation(),
            "fallbacks": self.fallbacks(),
            "action": lookup(actions, "(_a + 1)"),
            "rule_id": lookup(rule_ids, "_rule"),
            "policy_flags": self.flags(),
        }

    def row_exprs(self) -> dict[str, str]:
        """The decision's columns that vary within one path: the context budget, confidence, estimates."""
        models = self.router.models
        facts = self.facts
        p50 = lookup([num(s.latency.p50_ms) for s in models.values()], MODEL)
        tps = lookup([num(s.latency.output_tokens_per_s) for s in models.values()], MODEL)
        return {
            "router": q(self.router.config.ref),
            "context_tokens": f"(CASE WHEN (_a = {BLOCK}) THEN CAST(0 AS BIGINT) ELSE context_tokens END)",
            "est_cost_usd": f"(CASE WHEN {MODEL} IS NULL THEN 0.0 ELSE ({facts.current_cost()} + _rc) END)",
            "est_latency_ms": f"(CASE WHEN {MODEL} IS NULL THEN 0.0 ELSE "
            f"(({p50} + ((out_tokens / {tps}) * 1000.0)) + _rl) END)",
        }

    def digits(self) -> list[_Digit]:
        """The path state, digit by digit of the path key: the rule, the model, the action, the escalation
        (integer codes), then the fallbacks' keep flags and the policies' flags.

        The packing is part of the store's format: stored keys are decoded with it (`decisions`), so a
        change to the digits or their order needs a migration that drops the stored packed paths
        (`decision_paths` rows with keys >= 0) and the decisions that point at them."""
        n_models = len(self.facts.models)
        out = [
            _Digit("_rule", 1, len(self.routes())),
            _Digit(MODEL, 1, n_models),
            _Digit("_a", 0, len(ACTION_PRECEDENCE)),
            _Digit("_e", 0, n_models + 2),
        ]
        out += [_Digit(c, None, 2) for c in self.state.keep_flags()]
        out += [_Digit(f"_f{k}", None, 2) for k in range(len(self.router.policies))]
        return out

    def final(self, prev: str, packed: bool = False) -> str:
        """The decision: the path state turned into the decision's strings and lists, and the estimates.
        `packed`: the path as one integer (`PACKED_COLUMNS`) instead of its strings and lists."""
        computed = {c: f"{e} AS {c}" for c, e in self.row_exprs().items()}
        if packed:
            digits = self.digits()
            key = " + ".join(d.encode(w) for d, w in zip(digits, _weights(digits), strict=True))
            computed["path_key"] = f"({key}) AS path_key"
            return f"SELECT {', '.join(computed.get(c, c) for c in PACKED_COLUMNS)} FROM {prev}"
        computed |= {c: f"{e} AS {c}" for c, e in self.path_exprs().items()}
        cols = [computed.get(c, c) for c in DECISION_COLUMNS]
        return f"SELECT {', '.join(cols)} FROM {prev}"

    def fallbacks(self) -> str:
        """The fired rule's fallbacks that are still kept (`_fk<j>`), in order."""
        flags = self.state.keep_flags()
        if not flags:
            return "CAST([] AS VARCHAR[])"
        lists = ["[" + ", ".join(q(f) for f in r.fallbacks) + "]" for r, _ in self.routes()]
        keep = by_position("i", flags, default="FALSE")
        return f"list_filter({self.per_rule(lists, 'VARCHAR[]')}, lambda x, i: {keep})"

    def flags(self) -> str:
        """The ids of the policies that flagged the request (`_f<k>`), in policy order: per group of
        `_FLAG_GROUP` policies, the list of their ids is looked up by the group's bit mask."""
        ids = [cp.policy.id for cp in self.router.policies]
        if not ids:
            return "CAST([] AS VARCHAR[])"
        parts = []
        for start in range(0, len(ids), _FLAG_GROUP):
            group = list(enumerate(ids))[start : start + _FLAG_GROUP]
            mask = " + ".join(f"(CASE WHEN _f{k} THEN {1 << b} ELSE 0 END)" for b, (k, _) in enumerate(group))
            subsets = [
                "[" + ", ".join(q(pid) for b, (_, pid) in enumerate(group) if bits >> b & 1) + "]"
                for bits in range(1 << len(group))
            ]
            parts.append(f"CAST([{', '.join(subsets)}] AS VARCHAR[][])[({mask}) + 1]")
        return parts[0] if len(parts) == 1 else f"flatten([{', '.join(parts)}])"

    def ctes(self, source: str) -> list[tuple[str, str]]:
        ctes: list[tuple[str, str]] = [("base", self.base(source))]
        ctes += self.signals()
        ctes.append(("ruled", self.ruled(ctes[-1][0])))
        ctes.append(("r0", self.routed()))
        ctes.append(("r1", _layer(self.facts.eligibility_columns(), "r0")))
        return ctes

    def compile(self, source: str, packed: bool = False) -> str:
        ctes = self.ctes(source)
        prev = "r1"
        for k in range(len(self.facts.policies)):
            layers = policy_layers(self.facts, self.state, k, prev)
            ctes += layers
            prev = layers[-1][0]
        return f"{_with(ctes)}\n{self.final(prev, packed)}"


@dataclass(frozen=True)
class _Digit:
    """One state column as a digit of the path key: an integer in `lo`..`lo + size - 1` (code 0 for
    NULL, then 1..size), or a flag (`lo` None: 1 when TRUE, 0 when FALSE or NULL, as the path reads it)."""

    column: str
    lo: int | None
    size: int

    @property
    def radix(self) -> int:
        return 2 if self.lo is None else self.size + 1

    def encode(self, weight: int) -> str:
        if self.lo is None:
            return f"(CASE WHEN {self.column} THEN {weight} ELSE 0 END)"
        return f"(CAST(coalesce({self.column} - {self.lo - 1}, 0) AS BIGINT) * {weight})"

    def decode(self, weight: int) -> str:
        code = f"((path_key // {weight}) % {self.radix})"
        if self.lo is None:
            return f"({code} = 1)"
        return f"CAST(NULLIF({code}, 0) + {self.lo - 1} AS INTEGER)"


def _weights(digits: Sequence[_Digit]) -> list[int]:
    """Each digit's place value in the path key (mixed radix, the first digit lowest)."""
    out, weight = [], 1
    for d in digits:
        out.append(weight)
        weight *= d.radix
    return out


def _with(ctes: Sequence[tuple[str, str]]) -> str:
    return "WITH " + ",\n".join(f"{name} AS (\n  {sql}\n)" for name, sql in ctes)


def compile_sql(
    router: Router, prices: PriceTable, source: str = "requests", cache: CacheColumns | None = None
) -> str:
    """Compile a router version into one DuckDB query over the relation `source`.

    Args:
        router: The validated version.
        prices: The price table estimates use.
        source: A table, view or parenthesised subquery with the columns of `REQUEST_COLUMNS`.
        cache: Columns of `source` holding cached values (`sql_cache.cached_values`), read instead of
            computed; without it every value is computed from the request's text.

    Raises:
        PriceError: when a model of the router has no price.
    """
    return _Compiler(router, resolve_prices(router.models, prices), cache).compile(source)


def compile_packed_sql(
    router: Router, prices: PriceTable, source: str = "requests", cache: CacheColumns | None = None
) -> str | None:
    """`compile_sql` with each decision's path as one integer: the columns of `PACKED_COLUMNS`.

    The path columns (`PATH_COLUMNS`) are functions of the path state (the rule, model, action and
    escalation codes, the keep flags of the rule's fallbacks and the policies' flags), which the key packs
    in mixed radix; `decode_paths_sql` turns keys back into the columns. Writing a small integer instead of
    nine strings and lists is most of what storing a decision costs. None when the state does not fit in
    `PATH_KEY_LIMIT` (hundreds of rules and models with dozens of policies): use `compile_sql`.

    Raises:
        PriceError: when a model of the router has no price.
    """
    compiler = _Compiler(router, resolve_prices(router.models, prices), cache)
    if math.prod(d.radix for d in compiler.digits()) > PATH_KEY_LIMIT:
        return None
    return compiler.compile(source, packed=True)


def decode_paths_sql(router: Router, keys: str) -> str:
    """The path columns of packed path keys: ``SELECT path_key, <PATH_COLUMNS>`` for each row of `keys` (a
    relation with a BIGINT column `path_key`, as `compile_packed_sql` wrote it for this router)."""
    compiler = _Compiler(router, {}, None)
    digits = compiler.digits()
    state = [f"{d.decode(w)} AS {d.column}" for d, w in zip(digits, _weights(digits), strict=True)]
    paths = [f"{e} AS {c}" for c, e in compiler.path_exprs().items()]
    return f"SELECT path_key, {', '.join(paths)} FROM (SELECT path_key, {', '.join(state)} FROM {keys})"


def cached_values_sql(router: Router, names: Sequence[str], source: str = "requests") -> str:
    """A query computing the cached values `names` (`sql_cache.cached_values`) of every request of `source`.

    Returns ``SELECT request_id, <one INTEGER column per name, named as the value>``; text signals reading
    the same input share its guard, as in `compile_sql`. Pure, like `compile_sql`: a store fills its cache
    with it.

    Raises:
        ValueError: a name that is not among the router's cached values (the message lists them).
    """
    known = {v.name: v for v in cached_values(router)}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"no cached value {', '.join(unknown)} in {router.ref}; known: {', '.join(known)}")
    compiler = _Compiler(router, {}, None)
    estimate = [f"{TOKEN_ESTIMATE_SQL} AS {ident(TOKEN_ESTIMATE)}"] if TOKEN_ESTIMATE in names else []
    layers = [("base", compiler.base(source, estimate))]
    signals = [n for n in names if n != TOKEN_ESTIMATE]
    layers += compiler.text_values(signals, "base")
    cols = [f"{ident(_TEXT_VALUE + n)} AS {ident(n)}" for n in signals] + [ident(TOKEN_ESTIMATE)] * bool(
        estimate
    )
    return f"{_with(layers)}\nSELECT request_id, {', '.join(cols)} FROM {layers[-1][0]}"
