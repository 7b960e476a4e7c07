"""The rule language: a small, safe expression language parsed into an AST of whitelisted nodes.

Grammar (lowest precedence first)::

    expr    := or
    or      := and ("or" and)*
    and     := not ("and" not)*
    not     := "not" not | compare
    compare := sum [ ("==" | "!=" | "<" | "<=" | ">" | ">=") sum
                   | ["not"] "in" "[" literal ("," literal)* "]"
                   | ("contains" | "startswith" | "endswith") sum
                   | "matches" STRING ]
    sum     := product (("+" | "-") product)*
    product := unary (("*" | "/") unary)*
    unary   := "-" unary | atom
    atom    := NUMBER | STRING | "true" | "false" | NAME | NAME "." NAME | "attrs" "[" STRING "]"
             | ("len" | "lower") "(" expr ")" | "(" expr ")"

Values are text, numbers (64-bit floats) or booleans, and any text or number may be *missing* (a request
without a team, an attr that is absent, a signal that found nothing). The semantics both engines implement:

- A comparison, `in`, `contains`, `startswith`, `endswith` or `matches` with a missing operand is false,
  never an error, and never missing: conditions are always true or false. So `team != "x"` is false when
  the team is missing, while `not (team == "x")` is true.
- Arithmetic with a missing operand is missing; division by zero and results that are not finite are missing.
- `attrs.<key>` is text; used where a number is expected (compared with a number, in arithmetic) it is read
  as a decimal number (`[+-]digits[.digits][e[+-]digits]`), and is missing if it is not one.
- Ordering comparisons (`<` ...) are between numbers only; `==`/`!=` need both sides of one type.
- `lower()` lower-cases each character on its own (no context rules such as Greek final sigma).
- `len()` counts Unicode code points.

This module is the entry point (`parse`, `parse_condition`, `parse_number`). The language lives in: `nodes.py`
(the AST), `parser.py` (tokenizer and parser), `canonical.py` (canonical text, references, constant
conditions), `evaluation.py` (the Python evaluation) and `sql_expr.py` (the SQL compilation).
"""

from __future__ import annotations

from routelab.router_core.errors import RuleSyntaxError
from routelab.router_core.nodes import Node, Ref, Resolver, ToNumber
from routelab.router_core.parser import Parser


def parse(source: str, resolve: Resolver) -> Node:
    """Parse and type-check a rule expression.

    Args:
        source: the expression text.
        resolve: maps names to references (request fields, attrs, signals); None for unknown names.

    Raises:
        RuleSyntaxError: with the 1-based column of the problem.
    """
    return Parser(source, resolve).parse()


def parse_condition(source: str, resolve: Resolver) -> Node:
    """Parse an expression that must be a condition (true/false)."""
    node = parse(source, resolve)
    if node.type != "bool":
        raise RuleSyntaxError(
            f"a condition must be true or false, this is a {node.type} value (compare it, e.g. `== ...`)",
            source,
            1,
        )
    return node


def parse_number(source: str, resolve: Resolver) -> Node:
    """Parse an expression that must be a number (for example a confidence)."""
    node = parse(source, resolve)
    if node.type == "text" and isinstance(node, Ref) and node.kind == "attr":
        return ToNumber(node)
    if node.type != "number":
        raise RuleSyntaxError(f"expected a number, this is a {node.type} value", source, 1)
    return node
