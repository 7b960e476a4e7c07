"""The canonical text of a rule expression, the names it refers to, and constant conditions."""

from __future__ import annotations

import re

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


def _lit_text(value: str | float | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return '"' + escaped.replace("\r", "\\r") + '"'


def _operand(node: Node) -> str:
    """An operand of a comparison or text operator: conditions are parenthesised so the text parses back."""
    text = unparse(node)
    if node.type == "bool" and not isinstance(node, Lit | Ref | BoolOp):
        return f"({text})"
    return text


def unparse(node: Node) -> str:
    """The canonical text of an expression: fully parenthesised where precedence could mislead."""
    match node:
        case Lit(value=v):
            return _lit_text(v)
        case Ref(name=n):
            if n.startswith("attrs.") and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", n[6:]):
                return f"attrs[{_lit_text(n[6:])}]"
            return n
        case ToNumber(arg=a):
            return unparse(a)
        case Call(func=f, arg=a):
            return f"{f}({unparse(a)})"
        case Neg(arg=a):
            return f"-({unparse(a)})"
        case Arith(op=op, left=lft, right=rgt):
            return f"({unparse(lft)} {op} {unparse(rgt)})"
        case Compare(op=op, left=lft, right=rgt):
            return f"{_operand(lft)} {op} {_operand(rgt)}"
        case InList(arg=a, values=vs, negate=neg):
            items = ", ".join(_lit_text(v) for v in vs)
            return f"{_operand(a)} {'not in' if neg else 'in'} [{items}]"
        case TextOp(op=op, left=lft, right=rgt):
            return f"{_operand(lft)} {op} {_operand(rgt)}"
        case Matches(arg=a, regex=rx):
            return f"{unparse(a)} matches {_lit_text(rx.source)}"
        case Not(arg=a):
            return f"not ({unparse(a)})"
        case BoolOp(op=op, args=args):
            return "(" + f" {op} ".join(unparse(a) for a in args) + ")"
    raise TypeError(f"unknown node {node!r}")  # pragma: no cover


def references(node: Node) -> set[str]:
    """Every name an expression refers to."""
    match node:
        case Ref(name=n):
            return {n}
        case ToNumber(arg=a) | Call(arg=a) | Neg(arg=a) | Not(arg=a) | InList(arg=a) | Matches(arg=a):
            return references(a)
        case Arith(left=lft, right=rgt) | Compare(left=lft, right=rgt) | TextOp(left=lft, right=rgt):
            return references(lft) | references(rgt)
        case BoolOp(args=args):
            out: set[str] = set()
            for a in args:
                out |= references(a)
            return out
    return set()


def is_constant_true(node: Node) -> bool:
    """Whether a condition is true for every request (a literal `true`, or built from one)."""
    match node:
        case Lit(value=True):
            return True
        case BoolOp(op="or", args=args):
            return any(is_constant_true(a) for a in args)
        case BoolOp(op="and", args=args):
            return all(is_constant_true(a) for a in args)
        case Not(arg=a):
            return is_constant_false(a)
    return False


def is_constant_false(node: Node) -> bool:
    """Whether a condition is false for every request."""
    match node:
        case Lit(value=False):
            return True
        case BoolOp(op="and", args=args):
            return any(is_constant_false(a) for a in args)
        case BoolOp(op="or", args=args):
            return all(is_constant_false(a) for a in args)
        case Not(arg=a):
            return is_constant_true(a)
    return False
