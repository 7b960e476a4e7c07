"""Rule-language expressions as DuckDB SQL: literals, identifiers and `expr_sql`.

Every case mirrors `evaluation.py`: conditions compile to non-NULL booleans, a missing value is NULL, and
arithmetic that is not finite is NULL.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from routelab.router_core.evaluation import NUMBER_TEXT
from routelab.router_core.nodes import (
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
)
from routelab.router_core.request import NUMBER_FIELDS

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


def field_column(ref: Ref) -> str:
    """A reference as a column of the compiled query: `f_<field>`, `attrs[...]` or `s_<signal>`."""
    if ref.kind == "field":
        return ident(f"f_{ref.name}")
    if ref.kind == "attr":
        return f"attrs[{q(ref.name[len('attrs.') :])}]"
    return ident(f"s_{ref.name}")


def raw_column(ref: Ref) -> str:
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
    return expr_sql(condition, raw_column)
