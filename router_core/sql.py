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
Expressions are compiled by `sql_expr.py`, signals by `sql_signals.py` and policies by `sql_policies.py`.
"""

from __future__ import annotations

from collections.abc import Callable

from routelab.router_core.nodes import Node
from routelab.router_core.pricing import ModelPrice, PriceTable, resolve_prices
from routelab.router_core.request import NUMBER_FIELDS, TEXT_FIELDS
from routelab.router_core.sql_expr import expr_sql, field_column, ident, num, q
from routelab.router_core.sql_policies import ModelFacts, policy_layers
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


class _Compiler:
    """Builds the layers (CTEs) of one router's query."""

    def __init__(self, router: Router, prices: dict[str, ModelPrice]) -> None:
        self.router = router
        self.facts = ModelFacts(router, prices)

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
            cols.append(f"{expr_sql(cp.when, field_column)} AS a_{k}")
        return f"SELECT {', '.join(cols)} FROM sig"

    def ruled(self) -> str:
        whens = " ".join(
            f"WHEN {expr_sql(cr.when, field_column)} THEN {q(cr.rule.id)}" for cr in self.router.rules
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
            x = expr_sql(node, field_column)
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

    def precompute(self) -> list[tuple[str, str]]:
        """The per-model columns c_i, e_i and p_i, computed once per request (see `ModelFacts.col`)."""
        facts = self.facts
        first = [
            "*",
            f"{facts.retrieval('cost_per_query')} AS _rc",
            f"{facts.retrieval('latency_ms')} AS _rl",
        ]
        first += [f"{facts.cost(m)} AS {facts.col('c', m)}" for m in facts.models]
        first += [f"{facts.eligible(m)} AS {facts.col('e', m)}" for m in facts.models]
        second = ["*"]
        for m in facts.models:
            spec = self.router.models[m]
            tps = num(spec.latency.output_tokens_per_s)
            lat = f"({num(spec.latency.p95_ms)} + ((out_tokens / {tps}) * 1000.0))"
            second.append(f"({lat} + _rl) AS {facts.col('p', m)}")
        return [
            ("pre1", f"SELECT {', '.join(first)} FROM r0"),
            ("pre2", f"SELECT {', '.join(second)} FROM pre1"),
        ]

    def final(self, prev: str) -> str:
        cfg = self.router.config
        p50 = {
            m: f"({num(s.latency.p50_ms)} + ((out_tokens / {num(s.latency.output_tokens_per_s)}) * 1000.0))"
            for m, s in self.router.models.items()
        }
        tier = {m: q(s.tier) for m, s in self.router.models.items()}
        computed = {
            "router": f"{q(cfg.ref)} AS router",
            "tier": f"{self.facts.by_model('model', tier)} AS tier",
            "est_cost_usd": f"(CASE WHEN model IS NULL THEN 0.0 ELSE ({self.facts.current('c')} + _rc) END)"
            " AS est_cost_usd",
            "est_latency_ms": "(CASE WHEN model IS NULL THEN 0.0 ELSE "
            f"({self.facts.by_model('model', p50)} + _rl) END) AS est_latency_ms",
            "policy_flags": "flags AS policy_flags",
        }
        cols = [computed.get(c, c) for c in DECISION_COLUMNS]
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
        for k in range(len(self.facts.policies)):
            layers = policy_layers(self.facts, k, prev)
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
