"""The Python evaluation of rule expressions, with the missing-value semantics of `rules.py`.

The SQL engine (`sql_expr.py`) mirrors every case here; `NUMBER_TEXT`, `fold_lower` and `finite` are shared
with it so the two read text as numbers and lower-case text alike.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping

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

#: The decimal-number syntax used to read text as a number; the SQL engine uses the same regex.
NUMBER_TEXT = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
_NUMBER_TEXT_RE = re.compile(NUMBER_TEXT)

Value = str | float | bool | None
Env = Mapping[str, Value]
Evaluator = Callable[[Env], Value]


def finite(x: float | None) -> float | None:
    """The number itself when finite, else missing."""
    return x if x is not None and math.isfinite(x) else None


def text_to_number(text: str | None) -> float | None:
    """Read text as a decimal number; missing when it is not one (same rule as the SQL engine)."""
    if text is None or not _NUMBER_TEXT_RE.fullmatch(text):
        return None
    return finite(float(text))


def fold_lower(text: str) -> str:
    """Lower-case per character, as DuckDB's `lower` does (no final sigma, İ becomes i)."""
    if "\u0130" in text or "\u03a3" in text:
        text = text.replace("\u0130", "i").replace("\u03a3", "\u03c3")
    return text.lower()


def evaluate(node: Node, env: Env) -> Value:
    """Evaluate an expression against an environment of name → value (missing values as None)."""
    match node:
        case Lit(value=lit):
            return lit
        case Ref(name=n):
            return env.get(n)
        case ToNumber(arg=a):
            v = evaluate(a, env)
            return text_to_number(v) if isinstance(v, str) else None
        case Call(func="len", arg=a):
            v = evaluate(a, env)
            return None if v is None else float(len(str(v)))
        case Call(func="lower", arg=a):
            v = evaluate(a, env)
            return None if v is None else fold_lower(str(v))
        case Neg(arg=a):
            v = evaluate(a, env)
            return None if v is None else -float(v)
        case Arith(op=op, left=lft, right=rgt):
            return _arith(op, evaluate(lft, env), evaluate(rgt, env))
        case Compare(op=op, left=lft, right=rgt):
            return _compare(op, evaluate(lft, env), evaluate(rgt, env))
        case InList(arg=a, values=vs, negate=neg):
            v = evaluate(a, env)
            if v is None:
                return False
            return (v not in vs) if neg else (v in vs)
        case TextOp(op=op, left=lft, right=rgt):
            x, y = evaluate(lft, env), evaluate(rgt, env)
            if x is None or y is None:
                return False
            sx, sy = str(x), str(y)
            if op == "contains":
                return sy in sx
            return sx.startswith(sy) if op == "startswith" else sx.endswith(sy)
        case Matches(arg=a, regex=rx):
            v = evaluate(a, env)
            return v is not None and rx.search(str(v))
        case Not(arg=a):
            return not evaluate(a, env)
        case BoolOp(op="and", args=args):
            return all(evaluate(a, env) for a in args)
        case BoolOp(op="or", args=args):
            return any(evaluate(a, env) for a in args)
    raise TypeError(f"unknown node {node!r}")  # pragma: no cover


def _arith(op: str, x: Value, y: Value) -> float | None:
    if x is None or y is None:
        return None
    a, b = float(x), float(y)
    if op == "+":
        return finite(a + b)
    if op == "-":
        return finite(a - b)
    if op == "*":
        return finite(a * b)
    return None if b == 0 else finite(a / b)


def _compare(op: str, x: Value, y: Value) -> bool:
    if x is None or y is None:
        return False
    if op == "==":
        return x == y
    if op == "!=":
        return x != y
    a, b = float(x), float(y)
    if op == "<":
        return a < b
    if op == "<=":
        return a <= b
    if op == ">":
        return a > b
    return a >= b
