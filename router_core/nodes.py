"""The AST of the rule language: whitelisted, immutable nodes, each with its static type.

`parser.py` builds them (see `rules.py` for the grammar and semantics), `canonical.py` prints them back,
`evaluation.py` runs them in Python and `sql_expr.py` compiles them to DuckDB SQL.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from routelab.router_core.regex import PortableRegex

Type = Literal["text", "number", "bool"]


@dataclass(frozen=True, slots=True)
class Node:
    """Base of all AST nodes."""

    @property
    def type(self) -> Type:  # pragma: no cover - every subclass overrides
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class Lit(Node):
    """A literal text, number or boolean."""

    value: str | float | bool

    @property
    def type(self) -> Type:
        if isinstance(self.value, bool):
            return "bool"
        return "text" if isinstance(self.value, str) else "number"


@dataclass(frozen=True, slots=True)
class Ref(Node):
    """A reference to a request field, an attr or a signal value; resolved by the schema."""

    name: str
    kind: Literal["field", "attr", "signal"]
    value_type: Type

    @property
    def type(self) -> Type:
        return self.value_type


@dataclass(frozen=True, slots=True)
class ToNumber(Node):
    """Text read as a decimal number (missing when it is not one)."""

    arg: Node

    @property
    def type(self) -> Type:
        return "number"


@dataclass(frozen=True, slots=True)
class Call(Node):
    """A call of one of the whitelisted functions `len` and `lower`."""

    func: Literal["len", "lower"]
    arg: Node

    @property
    def type(self) -> Type:
        return "number" if self.func == "len" else "text"


@dataclass(frozen=True, slots=True)
class Neg(Node):
    """Unary minus."""

    arg: Node

    @property
    def type(self) -> Type:
        return "number"


@dataclass(frozen=True, slots=True)
class Arith(Node):
    """Binary arithmetic on numbers."""

    op: Literal["+", "-", "*", "/"]
    left: Node
    right: Node

    @property
    def type(self) -> Type:
        return "number"


@dataclass(frozen=True, slots=True)
class Compare(Node):
    """A comparison; false when either side is missing."""

    op: Literal["==", "!=", "<", "<=", ">", ">="]
    left: Node
    right: Node

    @property
    def type(self) -> Type:
        return "bool"


@dataclass(frozen=True, slots=True)
class InList(Node):
    """Membership in a list of literals; false when the value is missing."""

    arg: Node
    values: tuple[str | float | bool, ...]
    negate: bool

    @property
    def type(self) -> Type:
        return "bool"


@dataclass(frozen=True, slots=True)
class TextOp(Node):
    """`contains`, `startswith` or `endswith` on text; false when either side is missing."""

    op: Literal["contains", "startswith", "endswith"]
    left: Node
    right: Node

    @property
    def type(self) -> Type:
        return "bool"


@dataclass(frozen=True, slots=True)
class Matches(Node):
    """A portable regex search; false when the text is missing."""

    arg: Node
    regex: PortableRegex = field(compare=True)

    @property
    def type(self) -> Type:
        return "bool"


@dataclass(frozen=True, slots=True)
class Not(Node):
    """Boolean negation."""

    arg: Node

    @property
    def type(self) -> Type:
        return "bool"


@dataclass(frozen=True, slots=True)
class BoolOp(Node):
    """`and` / `or` over two or more conditions."""

    op: Literal["and", "or"]
    args: tuple[Node, ...]

    @property
    def type(self) -> Type:
        return "bool"


#: Resolves a (possibly dotted) name to a reference, or returns None when the name is unknown.
Resolver = Callable[[str], Ref | Lit | None]  # a knob resolves to its value, a literal
