"""Release-gate conditions as text: tokenizer, recursive-descent parser, parsed form and errors.

**Grammar** (a tokenizer and a recursive-descent parser; nothing is ``eval``-ed, and paths walk dicts and
lists only, never Python attributes)::

    condition  := or_expr END
    or_expr    := and_expr ("or" and_expr)*
    and_expr   := not_expr ("and" not_expr)*
    not_expr   := "not" not_expr | "(" or_expr ")" | comparison
    comparison := operand OP operand              (at least one side a path; no chains like a < b < c)
    operand    := path | NUMBER | "null" | "true" | "false"
    path       := key ("." (key | INDEX))*        (no spaces around the dots)
    key        := IDENT | "quoted" | 'quoted'     (IDENT: letters, digits, _ and -, not starting with -)
    OP         := "<" | "<=" | ">" | ">=" | "==" | "!="

``not`` binds tighter than ``and``, which binds tighter than ``or``. Keywords are lowercase. NUMBER is a
decimal such as ``-0.01``, ``5`` or ``1e-3``. An index selects a list item
(``slices.by.team.0.significant``); on a dict the same segment is a key. ``null``, ``true`` and ``false``
compare only with ``==`` and ``!=``.

How a parsed condition is evaluated against a result (paths must exist, null is unknown) is in `gate`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from routelab.evaluators.errors import EvaluatorError

Operator = Literal["<", "<=", ">", ">=", "==", "!="]
Scalar = bool | int | float | None

KEYWORDS = ("and", "or", "not", "null", "true", "false")
_CONSTANTS: dict[str, Scalar] = {"null": None, "true": True, "false": False}
_OPERATORS: tuple[Operator, ...] = ("<=", ">=", "==", "!=", "<", ">")  # two-character ones first
_MISTAKES = {"&&": "and", "||": "or", "=": "==", "!": "not"}  # checked after the real operators
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_FIRST_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_NEXT_KEY = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*")
INDEX = re.compile(r"[0-9]+")
_SPELLINGS = {"none": "null", **{keyword: keyword for keyword in KEYWORDS}}


# --- errors -------------------------------------------------------------------------------------------------


class GateError(EvaluatorError, ValueError):
    """Base class of the gate's errors; also a ``ValueError`` for callers that catch bad input that way."""


class GateSyntaxError(GateError):
    """A condition does not follow the grammar.

    Attributes:
        condition: The condition text.
        column: 1-based column of the offending character or token.
        problem: What is wrong there, and the fix.
    """

    def __init__(self, condition: str, column: int, problem: str, *, where: str | None = None) -> None:
        self.condition = condition
        self.column = column
        self.problem = problem
        super().__init__(f"{where or 'gate condition'}: column {column} of '{condition}': {problem}")

    @property
    def pointer(self) -> str:
        """The condition and a caret under the column, for multi-line displays."""
        return f"{self.condition}\n{' ' * (self.column - 1)}^"


class UnknownPathError(GateError):
    """A path does not exist in the result.

    Attributes:
        path: The path as written.
        parent: The part of the path that did resolve ('' for the result itself).
        known: The keys (or list indexes) available at ``parent``.
    """

    def __init__(self, subject: str, path: str, parent: str, known: tuple[str, ...], detail: str) -> None:
        self.path = path
        self.parent = parent
        self.known = known
        super().__init__(f"{subject}: path '{path}' not found: {detail}")


class GateValueTypeError(GateError):
    """A path ends at something a condition cannot compare (an object, a list, a string), or compares
    true/false with a number."""


class GateSpecError(GateError):
    """A gate spec (the loaded gate YAML, or the conditions passed in) is malformed.

    Attributes:
        location: Where, e.g. ``conditions[2].when``.
        problem: What is wrong and the fix.
    """

    def __init__(self, location: str, problem: str) -> None:
        self.location = location
        self.problem = problem
        super().__init__(f"{location}: {problem}")


# --- the parsed form ----------------------------------------------------------------------------------------


class _Node(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PathRef(_Node):
    """A dotted path into the result."""

    kind: Literal["path"] = Field(default="path", description="Discriminator.")
    text: str = Field(description="The path as written.")
    segments: tuple[str, ...] = Field(description="Keys and indexes, unquoted.")


class Constant(_Node):
    """A number, true, false or null."""

    kind: Literal["constant"] = Field(default="constant", description="Discriminator.")
    value: Scalar = Field(description="The value; None is null.")


Operand = Annotated[PathRef | Constant, Field(discriminator="kind")]


class Comparison(_Node):
    """``left OP right``."""

    kind: Literal["compare"] = Field(default="compare", description="Discriminator.")
    left: Operand = Field(description="Left side.")
    op: Operator = Field(description="The comparison operator.")
    right: Operand = Field(description="Right side.")


class Not(_Node):
    """``not operand``."""

    kind: Literal["not"] = Field(default="not", description="Discriminator.")
    operand: Expression = Field(description="The negated expression.")


class And(_Node):
    """All operands hold."""

    kind: Literal["and"] = Field(default="and", description="Discriminator.")
    operands: tuple[Expression, ...] = Field(description="Two or more expressions.")


class Or(_Node):
    """At least one operand holds."""

    kind: Literal["or"] = Field(default="or", description="Discriminator.")
    operands: tuple[Expression, ...] = Field(description="Two or more expressions.")


Expression = Annotated[Comparison | Not | And | Or, Field(discriminator="kind")]
for _model in (Not, And, Or):
    _model.model_rebuild()


class Condition(_Node):
    """A parsed condition: its text and its syntax tree."""

    text: str = Field(description="The condition as written.")
    expression: Expression = Field(description="The syntax tree.")

    @property
    def paths(self) -> tuple[str, ...]:
        """The paths the condition reads, in order of first appearance."""
        return tuple(dict.fromkeys(ref.text for ref in _path_refs(self.expression)))


def _path_refs(expr: Expression) -> list[PathRef]:
    if isinstance(expr, Comparison):
        return [side for side in (expr.left, expr.right) if isinstance(side, PathRef)]
    if isinstance(expr, Not):
        return _path_refs(expr.operand)
    return [ref for operand in expr.operands for ref in _path_refs(operand)]


# --- tokenizer and parser -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # "path", "number", "op", "(", ")", "end" or a keyword
    text: str
    column: int  # 1-based
    segments: tuple[str, ...] = ()
    number: int | float = 0


class _Tokenizer:
    def __init__(self, text: str, where: str | None) -> None:
        self.text = text
        self.where = where

    def fail(self, index: int, problem: str) -> GateSyntaxError:
        return GateSyntaxError(self.text, index + 1, problem, where=self.where)

    def tokens(self) -> list[_Token]:
        text, i, out = self.text, 0, []
        while i < len(text):
            char = text[i]
            if char.isspace():
                i += 1
            elif char in "()":
                out.append(_Token(char, char, i + 1))
                i += 1
            elif op := next((o for o in _OPERATORS if text.startswith(o, i)), None):
                out.append(_Token("op", op, i + 1))
                i += len(op)
            elif bad := next((m for m in _MISTAKES if text.startswith(m, i)), None):
                raise self.fail(i, f"unknown operator '{bad}'; write '{_MISTAKES[bad]}'")
            elif (number := _NUMBER.match(text, i)) and not _FIRST_KEY.match(text, i):
                end = number.end()
                if end < len(text) and (text[end] == "." or _NEXT_KEY.match(text, end)):
                    raise self.fail(i, f"malformed number starting '{text[i : end + 1]}'")
                value = number.group()
                out.append(_Token("number", value, i + 1, number=_to_number(value)))
                i = end
            elif char in "\"'" or _FIRST_KEY.match(text, i):
                token, i = self.path(i)
                out.append(token)
            else:
                raise self.fail(i, f"unexpected character '{char}'")
        out.append(_Token("end", "", len(text) + 1))
        return out

    def path(self, start: int) -> tuple[_Token, int]:
        segments: list[str] = []
        i = start
        while True:
            segment, i = self.segment(i, first=not segments)
            segments.append(segment)
            if i >= len(self.text) or self.text[i] != ".":
                break
            i += 1
        text = self.text[start:i]
        if text in KEYWORDS:
            return _Token(text, text, start + 1), i
        if text.lower() in _SPELLINGS:  # `AND`, `None`, `True`: never a key of the result's top level
            raise self.fail(start, f"keywords are lowercase: write '{_SPELLINGS[text.lower()]}'")
        return _Token("path", text, start + 1, segments=tuple(segments)), i

    def segment(self, i: int, *, first: bool) -> tuple[str, int]:
        text = self.text
        if i < len(text) and text[i] in "\"'":
            close = text.find(text[i], i + 1)
            if close < 0:
                raise self.fail(i, f"unterminated quoted key: add the closing {text[i]}")
            if close == i + 1:
                raise self.fail(i, "empty quoted key")
            return text[i + 1 : close], close + 1
        match = (_FIRST_KEY if first else _NEXT_KEY).match(text, i)
        if not match:
            raise self.fail(i, "expected a key or an index after '.' (no spaces around dots)")
        return match.group(), match.end()


def _to_number(text: str) -> int | float:
    return int(text) if re.fullmatch(r"[+-]?\d+", text) else float(text)


def _describe(token: _Token) -> str:
    return "the end of the condition" if token.kind == "end" else f"'{token.text}'"


class _Parser:
    def __init__(self, text: str, where: str | None) -> None:
        self.text = text
        self.where = where
        self.tokens = _Tokenizer(text, where).tokens()
        self.pos = 0

    @property
    def peek(self) -> _Token:
        return self.tokens[self.pos]

    def take(self) -> _Token:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def fail(self, token: _Token, problem: str) -> GateSyntaxError:
        return GateSyntaxError(self.text, token.column, problem, where=self.where)

    def parse(self) -> Expression:
        if not self.text.strip():
            raise self.fail(self.peek, "the condition is empty")
        expr = self.or_expr()
        if self.peek.kind == ")":
            raise self.fail(self.peek, "unmatched ')'")
        if self.peek.kind != "end":
            raise self.fail(self.peek, f"expected 'and', 'or' or the end, found {_describe(self.peek)}")
        return expr

    def or_expr(self) -> Expression:
        items = [self.and_expr()]
        while self.peek.kind == "or":
            self.take()
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else Or(operands=tuple(items))

    def and_expr(self) -> Expression:
        items = [self.not_expr()]
        while self.peek.kind == "and":
            self.take()
            items.append(self.not_expr())
        return items[0] if len(items) == 1 else And(operands=tuple(items))

    def not_expr(self) -> Expression:
        if self.peek.kind == "not":
            self.take()
            return Not(operand=self.not_expr())
        if self.peek.kind == "(":
            opening = self.take()
            expr = self.or_expr()
            if self.peek.kind != ")":
                raise self.fail(
                    self.peek,
                    f"expected ')' to close the '(' at column {opening.column}, found {_describe(self.peek)}",
                )
            self.take()
            return expr
        return self.comparison()

    def comparison(self) -> Comparison:
        left_token, left = self.operand("a path, a number, null, true, false, 'not' or '('")
        if self.peek.kind != "op":
            raise self.fail(
                self.peek,
                f"expected a comparison (<, <=, >, >=, ==, !=) after '{left_token.text}', "
                f"found {_describe(self.peek)}",
            )
        op = self.take()
        right_token, right = self.operand(f"a path, a number, null, true or false after '{op.text}'")
        if isinstance(left, Constant) and isinstance(right, Constant):
            raise self.fail(left_token, "compares two constants; one side must be a path into the result")
        for token, side in ((left_token, left), (right_token, right)):
            ordered = op.text not in ("==", "!=")
            if (
                ordered
                and isinstance(side, Constant)
                and (side.value is None or isinstance(side.value, bool))
            ):
                raise self.fail(token, f"{token.text} compares only with == or !=, not with {op.text}")
        if self.peek.kind == "op":
            raise self.fail(self.peek, "comparisons do not chain; join them with 'and'")
        return Comparison(left=left, op=op.text, right=right)

    def operand(self, expected: str) -> tuple[_Token, PathRef | Constant]:
        token = self.peek
        if token.kind == "path":
            self.take()
            return token, PathRef(text=token.text, segments=token.segments)
        if token.kind == "number":
            self.take()
            return token, Constant(value=token.number)
        if token.kind in _CONSTANTS:
            self.take()
            return token, Constant(value=_CONSTANTS[token.kind])
        raise self.fail(token, f"expected {expected}, found {_describe(token)}")


def parse_condition(text: str, *, where: str | None = None) -> Condition:
    """Parse a condition (see the module docstring for the grammar).

    Args:
        text: The condition, e.g. ``accuracy.delta.value < -0.01``.
        where: How error messages refer to the condition, e.g. ``conditions[2].when``.

    Raises:
        GateSyntaxError: with the 1-based column of the problem.
    """
    return Condition(text=text, expression=_Parser(text, where).parse())
