"""The SQL engine: compile a whole router version into one DuckDB query.

`compile_sql(router, prices, source)` returns a query that maps a relation of requests to one decision row
per request, with the same fields as the Python engine's `Decision` (without the trace). The relation
(`source`: a table, view or parenthesised subquery) has these columns:

| column | type | notes |
|---|---|---|
| request_id | VARCHAR | |
| ts | TIMESTAMP | UTC, naive; `hour` is derived from it |
| workflow, task, team, region, data_class, prompt | VARCHAR | NULL = missing |
| prompt_tokens, expected_output_tokens | BIGINT | NULL = missing |
| attrs | MAP(VARCHAR, VARCHAR) | free-form attributes as canonical text (`request.attr_text`) |

The query is built in layers (CTEs): signals, policy conditions, the rule that fires, then one pair of
layers per policy, then the estimate. Every expression mirrors `engine.py`; see its docstring for semantics.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from routelab.router_core.config import (
    ConfidenceFloorPolicy,
    CostCeilingPolicy,
    KeywordSignal,
    LatencyTargetPolicy,
    LengthSignal,
    PiiSignal,
    PrivacyPolicy,
    RegexSignal,
    RegionPolicy,
)
from routelab.router_core.paths import ESCALATION_HUMAN, ESCALATION_MODEL_PREFIX
from routelab.router_core.pii import any_candidate_pattern, has_any_pii_sql
from routelab.router_core.pricing import ModelPrice, PriceTable, resolve_prices
from routelab.router_core.request import NUMBER_FIELDS, TEXT_FIELDS
from routelab.router_core.rules import (
    NUMBER_TEXT,
    Arith,
    BoolOp,
    Call,
    Compare,
    InList,
    Lit,
    Matches,
    Neg,
    Node,
    Not,
    Ref,
    TextOp,
    ToNumber,
    fold_lower,
)
from routelab.router_core.validate import CompiledSignal, Router

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


# ------------------------------------------------------------------------------------------ literals


def q(text: str) -> str:
    """A SQL string literal (NUL characters via chr(0), which a literal cannot hold)."""
    if "\x00" in text:
        return "(" + " || chr(0) || ".join(q(part) for part in text.split("\x00")) + ")"
    return "'" + text.replace("'", "''") + "'"


def num(x: float) -> str:
    """A DOUBLE literal that round-trips exactly (parsed from its shortest repr)."""
    if not math.isfinite(x):
        raise ValueError(f"non-finite number {x!r}")
    return f"CAST('{float(x)!r}' AS DOUBLE)"


def ident(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def finite(expr: str) -> str:
    """The number when finite, else NULL (the Python engine's `finite`)."""
    return f"(CASE WHEN isfinite({expr}) THEN {expr} END)"


def in_list(expr: str, values: Sequence[str]) -> str:
    """`expr IN (...)` that is false, not a syntax error, for an empty list (NULL-safe: never NULL)."""
    if not values:
        return "FALSE"
    return f"coalesce({expr} IN ({', '.join(q(v) for v in values)}), FALSE)"


# ------------------------------------------------------------------------------------- expressions

ColumnOf = Callable[[Ref], str]


def expr_sql(node: Node, col: ColumnOf) -> str:
    """Compile a rule-language expression; conditions compile to non-NULL booleans."""
    match node:
        case Lit(value=v):
            if isinstance(v, bool):
                return "TRUE" if v else "FALSE"
            return num(v) if isinstance(v, float) else q(v)
        case Ref():
            return col(node)
        case ToNumber(arg=a):
            x = expr_sql(a, col)
            return (
                f"(CASE WHEN regexp_full_match({x}, {q(NUMBER_TEXT)}) "
                f"THEN {finite(f'TRY_CAST({x} AS DOUBLE)')} END)"
            )
        case Call(func="len", arg=a):
            return f"CAST(length({expr_sql(a, col)}) AS DOUBLE)"
        case Call(func="lower", arg=a):
            return f"lower({expr_sql(a, col)})"
        case Neg(arg=a):
            return f"(-{expr_sql(a, col)})"
        case Arith(op=op, left=lft, right=rgt):
            x, y = expr_sql(lft, col), expr_sql(rgt, col)
            if op == "/":
                return finite(f"({x} / NULLIF({y}, 0))")
            return finite(f"({x} {op} {y})")
        case Compare(op=op, left=lft, right=rgt):
            sql_op = "<>" if op == "!=" else "=" if op == "==" else op
            return f"coalesce(({expr_sql(lft, col)} {sql_op} {expr_sql(rgt, col)}), FALSE)"
        case InList(arg=a, values=vs, negate=neg):
            x = expr_sql(a, col)
            if not vs:  # the parser refuses empty lists; kept total for ASTs built by hand
                return f"({x} IS NOT NULL)" if neg else "FALSE"
            items = ", ".join(expr_sql(Lit(v), col) for v in vs)
            return f"coalesce(({x} {'NOT IN' if neg else 'IN'} ({items})), FALSE)"
        case TextOp(op=op, left=lft, right=rgt):
            fn = {"contains": "contains", "startswith": "starts_with", "endswith": "ends_with"}[op]
            return f"coalesce({fn}({expr_sql(lft, col)}, {expr_sql(rgt, col)}), FALSE)"
        case Matches(arg=a, regex=rx):
            return f"coalesce(regexp_matches({expr_sql(a, col)}, {q(rx.re2)}), FALSE)"
        case Not(arg=a):
            return f"(NOT {expr_sql(a, col)})"
        case BoolOp(op=op, args=args):
            return "(" + f" {op.upper()} ".join(expr_sql(a, col) for a in args) + ")"
    raise TypeError(f"unknown node {node!r}")  # pragma: no cover


def _field_column(ref: Ref) -> str:
    if ref.kind == "field":
        return ident(f"f_{ref.name}")
    if ref.kind == "attr":
        return f"attrs[{q(ref.name[len('attrs.') :])}]"
    return ident(f"s_{ref.name}")


def _raw_column(ref: Ref) -> str:
    """A field of the raw request relation (the documented columns), typed as the rule language sees it."""
    if ref.kind == "attr":
        return f"attrs[{q(ref.name[len('attrs.') :])}]"
    if ref.name == "hour":
        return "CAST(hour(ts) AS DOUBLE)"
    if ref.name in NUMBER_FIELDS:
        return f"CAST({ident(ref.name)} AS DOUBLE)"
    return f"CAST({ident(ref.name)} AS VARCHAR)"


def where_sql(condition: Node) -> str:
    """A condition over request fields and attrs as a SQL predicate on the raw request relation."""
    return expr_sql(condition, _raw_column)


# ------------------------------------------------------------------------------------------ signals


def literal_alternation(phrases: Sequence[str]) -> str:
    """An RE2 pattern matching any of the phrases literally (punctuation escaped, other characters as is)."""
    return "|".join(
        "".join("\\" + ch if not ch.isalnum() and ch.isascii() else ch for ch in p) for p in phrases
    )


def _any_phrase(hay: str, needles: Sequence[str]) -> str:
    """Whether any needle occurs in `hay`: one RE2 alternation for many phrases, `contains` for few."""
    if len(needles) > 2:
        return f"coalesce(regexp_matches({hay}, {q(literal_alternation(needles))}), FALSE)"
    return "(" + " OR ".join(f"coalesce(contains({hay}, {q(n)}), FALSE)" for n in needles) + ")"


@dataclass(frozen=True)
class SignalSql:
    """The SQL of one text signal: its input text, a regex every match needs, and the values given both."""

    hay: str | None
    guard_pattern: str | None
    index: Callable[[str, str], list[tuple[str, str]]]
    values: Callable[[str], list[tuple[str, str]]]


def signal_sql(sig: CompiledSignal) -> SignalSql:
    """The SQL computing one signal (and its confidence) from the base columns.

    Text signals name their input (`hay`) and a regex that any match needs (`guard_pattern`); the compiler
    computes each distinct input once and one guard per input for all its signals, so a text that matches no
    signal costs one regex pass per input.
    """
    spec = sig.spec
    x = expr_sql(sig.field, _field_column)
    name = spec.name
    if isinstance(spec, PiiSignal):
        types = spec.types

        def pii_values(hay_col: str) -> list[tuple[str, str]]:
            found = f"(CASE WHEN _g{hay_col} THEN {has_any_pii_sql(hay_col, types)} ELSE FALSE END)"
            return [(f"s_{name}", f"coalesce(({hay_col} IS NOT NULL AND {found}), FALSE)")]

        return SignalSql(x, any_candidate_pattern(types), lambda _h, _g: [], pii_values)
    if isinstance(spec, LengthSignal):
        whens = " ".join(
            f"WHEN {x} <= {num(b.max)} THEN {q(b.label)}" if b.max is not None else f"ELSE {q(b.label)}"
            for b in spec.buckets
        )
        value = f"(CASE WHEN {x} IS NULL THEN NULL {whens} END)"
        return SignalSql(None, None, lambda _h, _g: [], lambda _h: [(f"s_{name}", value)])
    if isinstance(spec, KeywordSignal):
        hay = x if spec.case_sensitive else f"lower({x})"
        needles = [[p if spec.case_sensitive else fold_lower(p) for p in lab.phrases] for lab in spec.labels]
        any_label = literal_alternation([p for n in needles for p in n])

        def conds(hay_col: str) -> list[str]:
            return [_any_phrase(hay_col, n) for n in needles]

    else:
        assert isinstance(spec, RegexSignal)
        hay = x
        any_label = "|".join(f"(?:{rx.re2})" for rx in sig.regexes)
        patterns = [rx.re2 for rx in sig.regexes]

        def conds(hay_col: str) -> list[str]:
            return [f"coalesce(regexp_matches({hay_col}, {q(p)}), FALSE)" for p in patterns]

    labels, confidences = [lab.label for lab in spec.labels], [lab.confidence for lab in spec.labels]
    idx_col = f"_ix_{name}"

    def index(hay_col: str, group_guard: str) -> list[tuple[str, str]]:
        # the input's shared guard first, then this signal's own: most texts match no label of any signal
        guard = (
            f"WHEN NOT {group_guard} THEN NULL "
            f"WHEN NOT coalesce(regexp_matches({hay_col}, {q(any_label)}), FALSE) THEN NULL"
        )
        whens = " ".join(f"WHEN {c} THEN {k + 1}" for k, c in enumerate(conds(hay_col)))
        return [(idx_col, f"(CASE {guard} {whens} END)")]

    label_list = "[" + ", ".join(q(v) for v in labels) + "]"
    conf_list = "[" + ", ".join(num(v) for v in confidences) + "]"

    def values(_hay_col: str) -> list[tuple[str, str]]:
        return [
            (f"s_{name}", f"{label_list}[{idx_col}]"),
            (f"s_{name}.confidence", f"{conf_list}[{idx_col}]"),
        ]

    return SignalSql(hay, any_label, index, values)


# ----------------------------------------------------------------------------------------- compiler


class _Compiler:
    def __init__(self, router: Router, prices: dict[str, ModelPrice]) -> None:
        self.router = router
        self.prices = prices
        self.models = list(router.models)
        self.policies = [cp.policy for cp in router.policies]

    # -- per-model facts as SQL
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

    # -- layers
    def base(self, source: str) -> str:
        cols = ["request_id"]
        cols += [f"CAST({ident(f)} AS VARCHAR) AS {ident('f_' + f)}" for f in TEXT_FIELDS]
        for f in NUMBER_FIELDS:
            src = "hour(ts)" if f == "hour" else ident(f)
            cols.append(f"CAST({src} AS DOUBLE) AS {ident('f_' + f)}")
        cols.append("attrs")
        cols.append(
            "(CASE WHEN prompt_tokens IS NOT NULL THEN CAST(prompt_tokens AS DOUBLE) "
            "WHEN prompt IS NOT NULL THEN CAST(ceil(length(prompt) / 4) AS DOUBLE) ELSE 0.0 END) AS pt"
        )
        default_out = float(self.router.config.defaults.expected_output_tokens)
        cols.append(f"CAST(coalesce(expected_output_tokens, {num(default_out)}) AS DOUBLE) AS out_tokens")
        return f"SELECT {', '.join(cols)} FROM {source}"

    def signals(self) -> list[tuple[str, str]]:
        """Signal inputs (each distinct text once), one guard per input, label indexes, then the values."""
        parts = [signal_sql(sig) for sig in self.router.signals]
        hay_cols: dict[str, str] = {}
        patterns: dict[str, list[str]] = {}
        for part in parts:
            if part.hay is not None and part.guard_pattern is not None:
                col = hay_cols.setdefault(part.hay, f"_in_{len(hay_cols)}")
                patterns.setdefault(col, []).append(part.guard_pattern)
        guards = {
            col: f"coalesce(regexp_matches({col}, {q('|'.join(f'(?:{p})' for p in pats))}), FALSE)"
            for col, pats in patterns.items()
        }

        def layer(cols: list[tuple[str, str]], src: str) -> str:
            return f"SELECT {', '.join(['*', *(f'{e} AS {ident(c)}' for c, e in cols)])} FROM {src}"

        index_cols: list[tuple[str, str]] = []
        value_cols: list[tuple[str, str]] = []
        for part in parts:
            col = hay_cols.get(part.hay or "", "")
            index_cols += part.index(col, f"_g{col}")
            value_cols += part.values(col)
        return [
            ("sig_in", layer([(c, h) for h, c in hay_cols.items()], "base")),
            ("sig_g", layer([(f"_g{c}", g) for c, g in guards.items()], "sig_in")),
            ("sig_ix", layer(index_cols, "sig_g")),
            ("sig", layer(value_cols, "sig_ix")),
        ]

    def applies(self) -> str:
        cols = ["*"]
        for k, cp in enumerate(self.router.policies):
            cols.append(f"{expr_sql(cp.when, _field_column)} AS a_{k}")
        return f"SELECT {', '.join(cols)} FROM sig"

    def ruled(self) -> str:
        whens = " ".join(
            f"WHEN {expr_sql(cr.when, _field_column)} THEN {q(cr.rule.id)}" for cr in self.router.rules
        )
        rule_id = f"(CASE {whens} ELSE 'default' END)" if whens else "'default'"
        return f"SELECT *, {rule_id} AS rule_id FROM app"

    def routed(self) -> str:
        cfg = self.router.config
        routes = {cr.rule.id: (cr.rule.route, cr.confidence) for cr in self.router.rules}
        routes["default"] = (cfg.default.route, self.router.default_confidence)

        def per_rule(fn: Callable[[object, Node], str]) -> str:
            whens = " ".join(f"WHEN {q(rid)} THEN {fn(r, c)}" for rid, (r, c) in routes.items())
            return f"(CASE rule_id {whens} END)"

        def clamp(node: Node) -> str:
            x = expr_sql(node, _field_column)
            return (
                f"(CASE WHEN {x} IS NULL THEN 0.0 WHEN {x} < 0 THEN 0.0 WHEN {x} > 1 THEN 1.0 ELSE {x} END)"
            )

        def ctx(r: object) -> str:
            v = r.context_tokens  # type: ignore[attr-defined]
            return str(v if v is not None else cfg.defaults.context_tokens)

        def fallbacks(r: object) -> str:
            items = ", ".join(q(f) for f in r.fallbacks)  # type: ignore[attr-defined]
            return f"CAST([{items}] AS VARCHAR[])"

        cols = [
            "*",
            per_rule(lambda r, c: q(r.model)) + " AS model",  # type: ignore[attr-defined]
            per_rule(lambda r, c: q(r.retrieval) if r.retrieval else "CAST(NULL AS VARCHAR)")  # type: ignore[attr-defined]
            + " AS retrieval",
            f"CAST({per_rule(lambda r, c: ctx(r))} AS BIGINT) AS context_tokens",
            per_rule(lambda r, c: q(r.cache)) + " AS cache",  # type: ignore[attr-defined]
            per_rule(lambda r, c: q(r.escalation)) + " AS escalation",  # type: ignore[attr-defined]
            per_rule(lambda r, c: fallbacks(r)) + " AS fallbacks",
            "'allow' AS action",
            per_rule(lambda r, c: clamp(c)) + " AS confidence",
            "CAST([] AS VARCHAR[]) AS flags",
        ]
        return f"SELECT {', '.join(cols)} FROM ruled"

    # Per-model facts that do not change across policy layers (a policy changes the model, and a block ends
    # the pipeline) are computed once per request: c_i cost, p_i p95 latency, e_i eligibility of model i.
    def col(self, prefix: str, m: str) -> str:
        return f"{prefix}_{self.models.index(m)}"

    def precompute(self) -> list[tuple[str, str]]:
        first = ["*", f"{self.retrieval('cost_per_query')} AS _rc", f"{self.retrieval('latency_ms')} AS _rl"]
        first += [f"{self.cost(m)} AS {self.col('c', m)}" for m in self.models]
        first += [f"{self.eligible(m)} AS {self.col('e', m)}" for m in self.models]
        second = ["*"]
        for m in self.models:
            spec = self.router.models[m]
            tps = num(spec.latency.output_tokens_per_s)
            lat = f"({num(spec.latency.p95_ms)} + ((out_tokens / {tps}) * 1000.0))"
            second.append(f"({lat} + _rl) AS {self.col('p', m)}")
        return [
            ("pre1", f"SELECT {', '.join(first)} FROM r0"),
            ("pre2", f"SELECT {', '.join(second)} FROM pre1"),
        ]

    def current(self, prefix: str) -> str:
        """The per-model column `prefix_i` of the current model."""
        return self.by_model("model", {m: self.col(prefix, m) for m in self.models})

    def cur_rank(self) -> str:
        return self.by_model("model", {m: str(self.rank(m)) for m in self.models})

    def policy_layers(self, k: int, prev: str) -> list[tuple[str, str]]:
        """CTEs for policy k: current-model facts, the violation `_v` and target `_t`, then applying them."""
        pol = self.policies[k]
        live = f"(action <> 'block' AND a_{k})"
        target = "CAST(NULL AS VARCHAR)"
        flag_extra = "FALSE"
        facts = (
            f"SELECT *, {self.cur_rank()} AS _rank, {self.current('c')} AS _cc, {self.current('p')} AS _cp "
            f"FROM {prev}"
        )
        if isinstance(pol, PrivacyPolicy | RegionPolicy):
            if isinstance(pol, RegionPolicy):
                live = f"({live} AND f_region IS NOT NULL)"
            violated = f"({live} AND NOT {self.satisfies_column(k, 'model')})"
            if pol.on_violation == "reroute":
                target = self.pick(
                    [
                        (
                            m,
                            f"(_rank <= {self.rank(m)} AND {self.col('e', m)})",
                            [self.col("c", m), f"{self.rank(m)}.0"],
                        )
                        for m in self.models
                    ]
                )
        elif isinstance(pol, CostCeilingPolicy):
            ceiling = num(pol.max_usd)
            violated = f"({live} AND (_cc + _rc) > {ceiling})"
            if pol.on_violation == "downgrade":
                target = self.pick(
                    [
                        (
                            m,
                            f"(_rank >= {self.rank(m)} AND {self.col('e', m)} AND "
                            f"({self.col('c', m)} + _rc) <= {ceiling})",
                            [f"-{self.rank(m)}.0", self.col("c", m)],
                        )
                        for m in self.models
                    ]
                )
        elif isinstance(pol, LatencyTargetPolicy):
            goal = num(pol.p95_ms)
            violated = f"({live} AND _cp > {goal})"
            if pol.on_violation == "downgrade":
                target = self.pick(
                    [
                        (
                            m,
                            f"(_rank >= {self.rank(m)} AND {self.col('e', m)} AND "
                            f"{self.col('p', m)} <= {goal})",
                            [f"-{self.rank(m)}.0", self.col("p", m), self.col("c", m)],
                        )
                        for m in self.models
                    ]
                )
        elif isinstance(pol, ConfidenceFloorPolicy):
            violated = f"({live} AND confidence < {num(pol.min_confidence)})"
        else:  # pragma: no cover
            raise TypeError(f"unknown policy {pol!r}")
        # the target is only looked for where the policy is violated
        first = f"SELECT *, {violated} AS _v, (CASE WHEN {violated} THEN {target} END) AS _t FROM {prev}_f"

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
                esc_sql = f"(CASE WHEN {self.col('e', m)} THEN {q(esc)} ELSE {q(ESCALATION_HUMAN)} END)"
            else:
                esc_sql = q(esc)
            new_escalation = f"(CASE WHEN _v THEN {esc_sql} ELSE escalation END)"

        # stage 1: the path after the policy's own change (block or move); stage 2: hard-policy restriction
        stage1 = [
            f"{blocked} AS _blk",
            f"(CASE WHEN {blocked} THEN CAST(NULL AS VARCHAR) WHEN {moved} THEN _t ELSE model END) AS _model",
            f"(CASE WHEN {blocked} THEN CAST([] AS VARCHAR[]) "
            f"WHEN {moved} THEN list_filter(fallbacks, lambda x: x <> _t) ELSE fallbacks END) AS _fb1",
            f"(CASE WHEN {blocked} THEN 'none' ELSE {new_escalation} END) AS _esc1",
        ]
        fallbacks, escalation = "_fb1", "_esc1"
        if self.is_hard(k):
            # while a hard policy applies (and the request is not blocked), drop what breaks it
            keep = f"lambda x: {self.satisfies_column(k, 'x')}"
            restrict_live = f"({live} AND NOT _blk)"
            fallbacks = f"(CASE WHEN {restrict_live} THEN list_filter(_fb1, {keep}) ELSE _fb1 END)"
            esc_ok = self.by_model(
                "_esc1", {ESCALATION_MODEL_PREFIX + m: self.satisfies(k, m) for m in self.models}, "TRUE"
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
            f"(CASE WHEN _blk THEN 'block' ELSE {new_action} END) AS action",
            "_fb2 AS fallbacks",
            "_esc2 AS escalation",
            flag,
        ]
        helpers = "_rank, _cc, _cp, _v, _t, _blk, _model, _fb1, _esc1, _fb2, _esc2"
        last = f"SELECT * EXCLUDE ({helpers}) REPLACE ({', '.join(final_cols)}) FROM {prev}_r"
        return [
            (f"{prev}_f", facts),
            (f"{prev}_v", first),
            (f"{prev}_s", f"SELECT *, {', '.join(stage1)} FROM {prev}_v"),
            (f"{prev}_r", stage2),
            (f"p{k}", last),
        ]

    def final(self, prev: str) -> str:
        cfg = self.router.config
        p50 = {
            m: f"({num(s.latency.p50_ms)} + ((out_tokens / {num(s.latency.output_tokens_per_s)}) * 1000.0))"
            for m, s in self.router.models.items()
        }
        tier = {m: q(s.tier) for m, s in self.router.models.items()}
        cols = [
            "request_id",
            f"{q(cfg.ref)} AS router",
            "model",
            f"{self.by_model('model', tier)} AS tier",
            "retrieval",
            "context_tokens",
            "cache",
            "escalation",
            "fallbacks",
            "action",
            "rule_id",
            "confidence",
            f"(CASE WHEN model IS NULL THEN 0.0 ELSE ({self.current('c')} + _rc) END) AS est_cost_usd",
            f"(CASE WHEN model IS NULL THEN 0.0 ELSE ({self.by_model('model', p50)} + _rl) END)"
            " AS est_latency_ms",
            "flags AS policy_flags",
        ]
        return f"SELECT {', '.join(cols)} FROM {prev}"

    def compile(self, source: str) -> str:
        ctes: list[tuple[str, str]] = [
            ("base", self.base(source)),
            *self.signals(),
            ("app", self.applies()),
            ("ruled", self.ruled()),
            ("r0", self.routed()),
        ]
        ctes += self.precompute()
        prev = "pre2"
        for k in range(len(self.policies)):
            layers = self.policy_layers(k, prev)
            ctes += layers
            prev = layers[-1][0]
        body = ",\n".join(f"{name} AS (\n  {sql}\n)" for name, sql in ctes)
        return f"WITH {body}\n{self.final(prev)}"


def compile_sql(router: Router, prices: PriceTable, source: str = "requests") -> str:
    """Compile a router version into one DuckDB query over the relation `source`.

    Raises:
        PriceError: when a model of the router has no price.
    """
    return _Compiler(router, resolve_prices(router.models, prices)).compile(source)
