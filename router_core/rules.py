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
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from routelab.router_core.errors import RegexPortabilityError, RuleSyntaxError
from routelab.router_core.regex import PortableRegex, portable

Type = Literal["text", "number", "bool"]

KEYWORDS = {"and", "or", "not", "in", "contains", "startswith", "endswith", "matches", "true", "false"}
FUNCTIONS = {"len", "lower"}
#: The decimal-number syntax used to read text as a number; the SQL engine uses the same regex.
NUMBER_TEXT = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
_NUMBER_TEXT_RE = re.compile(NUMBER_TEXT)


# ---------------------------------------------------------------------------------------------- AST


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
Resolver = Callable[[str], Ref | None]


# -------------------------------------------------------------------------------------------- lexer


@dataclass(frozen=True, slots=True)
class Token:
    """One lexical token with its 1-based column."""

    kind: Literal["num", "str", "name", "op", "end"]
    text: str
    value: str | float
    col: int


_TOKEN_RE = re.compile(
    r"""(?P<ws>\s+)
      | (?P<num>(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)
      | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
      | (?P<op>==|!=|<=|>=|<|>|\+|-|\*|/|\(|\)|\[|\]|,|\.)
      | (?P<str>"|')""",
    re.VERBOSE,
)
_STRING_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'"}


def tokenize(source: str) -> list[Token]:
    """Split a rule expression into tokens; raise RuleSyntaxError on anything else."""
    tokens: list[Token] = []
    i = 0
    while i < len(source):
        m = _TOKEN_RE.match(source, i)
        if not m:
            hint = " (use `==` for equality)" if source[i] == "=" else ""
            raise RuleSyntaxError(f"unexpected character {source[i]!r}{hint}", source, i + 1)
        kind = m.lastgroup
        if kind == "ws":
            i = m.end()
            continue
        if kind == "str":
            text, end = _read_string(source, i)
            tokens.append(Token("str", source[i:end], text, i + 1))
            i = end
            continue
        if kind == "num":
            value = float(m.group())
            if not math.isfinite(value):
                raise RuleSyntaxError("number literal is too large", source, i + 1)
            tokens.append(Token("num", m.group(), value, i + 1))
        elif kind == "name":
            tokens.append(Token("name", m.group(), m.group(), i + 1))
        else:
            tokens.append(Token("op", m.group(), m.group(), i + 1))
        i = m.end()
    tokens.append(Token("end", "", "", len(source) + 1))
    return tokens


def _read_string(source: str, start: int) -> tuple[str, int]:
    quote = source[start]
    out: list[str] = []
    i = start + 1
    while i < len(source):
        ch = source[i]
        if ch == quote:
            return "".join(out), i + 1
        if ch == "\\":
            nxt = source[i + 1] if i + 1 < len(source) else ""
            if not nxt:
                break
            # unknown escapes stay as written, so regexes read naturally: "\d+" is the regex \d+
            out.append(_STRING_ESCAPES.get(nxt, "\\" + nxt))
            i += 2
            continue
        if ch == "\x00":
            raise RuleSyntaxError("NUL character in a string literal", source, i + 1)
        out.append(ch)
        i += 1
    raise RuleSyntaxError(f"string not closed: add a closing {quote}", source, start + 1)


# ------------------------------------------------------------------------------------------- parser


class _Parser:
    def __init__(self, source: str, resolve: Resolver) -> None:
        self.source = source
        self.tokens = tokenize(source)
        self.pos = 0
        self.resolve = resolve

    # -- helpers
    @property
    def tok(self) -> Token:
        return self.tokens[self.pos]

    def error(self, message: str, tok: Token | None = None) -> RuleSyntaxError:
        return RuleSyntaxError(message, self.source, (tok or self.tok).col)

    def at(self, *texts: str) -> bool:
        t = self.tok
        return t.kind in ("op", "name") and t.text in texts

    def take(self) -> Token:
        t = self.tok
        self.pos += 1
        return t

    def expect(self, text: str) -> Token:
        if not self.at(text):
            found = self.tok.text or "end of expression"
            raise self.error(f"expected `{text}`, found `{found}`")
        return self.take()

    # -- grammar
    def parse(self) -> Node:
        if self.tok.kind == "end":
            raise self.error("empty condition; write `true` to match every request")
        node = self.or_()
        rest = self.tok
        if rest.kind != "end":
            raise self.error(f"unexpected `{rest.text}`; join conditions with `and` / `or`")
        return node

    def or_(self) -> Node:
        first = self.tok
        args = [self.and_()]
        while self.at("or"):
            self.take()
            args.append(self.and_())
        return self._bool("or", args, first)

    def and_(self) -> Node:
        first = self.tok
        args = [self.not_()]
        while self.at("and"):
            self.take()
            args.append(self.not_())
        return self._bool("and", args, first)

    def _bool(self, op: Literal["and", "or"], args: list[Node], tok: Token) -> Node:
        if len(args) == 1:
            return args[0]
        for a in args:
            if a.type != "bool":
                raise self.error(f"`{op}` needs conditions on both sides, got a {a.type} value", tok)
        return BoolOp(op, tuple(args))

    def not_(self) -> Node:
        if self.at("not"):
            tok = self.take()
            arg = self.not_()
            if arg.type != "bool":
                raise self.error(f"`not` needs a condition, got a {arg.type} value", tok)
            return Not(arg)
        return self.compare()

    def compare(self) -> Node:
        start = self.tok
        left = self.sum_()
        if self.at("==", "!=", "<", "<=", ">", ">="):
            op_tok = self.take()
            right = self.sum_()
            return self._compare(op_tok, left, right)
        if self.at("in") or (self.at("not") and self._peek_text(1) == "in"):
            negate = self.at("not")
            if negate:
                self.take()
            op_tok = self.take()
            return self._in_list(op_tok, left, negate)
        if self.at("contains", "startswith", "endswith"):
            op_tok = self.take()
            right = self.sum_()
            left_t, right_t = self._as_text(left, start), self._as_text(right, op_tok)
            return TextOp(op_tok.text, left_t, right_t)  # type: ignore[arg-type]
        if self.at("matches"):
            op_tok = self.take()
            pat = self.tok
            if pat.kind != "str":
                raise self.error('`matches` takes a regex in quotes, e.g. matches "^INC-[0-9]+"')
            self.take()
            try:
                rx = portable(str(pat.value))
            except RegexPortabilityError as exc:
                raise self.error(f"regex not portable: {exc.message} (offset {exc.position})", pat) from exc
            return Matches(self._as_text(left, start), rx)
        return left

    def _peek_text(self, ahead: int) -> str:
        idx = self.pos + ahead
        return self.tokens[idx].text if idx < len(self.tokens) else ""

    def _as_text(self, node: Node, tok: Token) -> Node:
        if node.type != "text":
            raise self.error(f"expected text here, got a {node.type} value", tok)
        return node

    def _as_number(self, node: Node, tok: Token) -> Node:
        if node.type == "number":
            return node
        if isinstance(node, Ref) and node.kind == "attr":
            return ToNumber(node)
        raise self.error(f"expected a number here, got a {node.type} value", tok)

    def _compare(self, op_tok: Token, left: Node, right: Node) -> Node:
        op = op_tok.text
        if op in ("<", "<=", ">", ">="):
            return Compare(op, self._as_number(left, op_tok), self._as_number(right, op_tok))  # type: ignore[arg-type]
        lt, rt = left.type, right.type
        if lt != rt:
            # attrs are text but compare with numbers as numbers
            if lt == "number" or rt == "number":
                return Compare(op, self._as_number(left, op_tok), self._as_number(right, op_tok))  # type: ignore[arg-type]
            raise self.error(f"cannot compare a {lt} value with a {rt} value", op_tok)
        return Compare(op, left, right)  # type: ignore[arg-type]

    def _in_list(self, op_tok: Token, left: Node, negate: bool) -> Node:
        self.expect("[")
        values: list[str | float | bool] = []
        while not self.at("]"):
            neg = False
            if self.at("-"):
                self.take()
                neg = True
            tok = self.take()
            if tok.kind == "num":
                values.append(-float(tok.value) if neg else float(tok.value))
            elif tok.kind == "str" and not neg:
                values.append(str(tok.value))
            elif tok.kind == "name" and tok.text in ("true", "false") and not neg:
                values.append(tok.text == "true")
            else:
                raise self.error('`in` lists hold literals only, e.g. ["a", "b"] or [1, 2]', tok)
            if not self.at("]"):
                self.expect(",")
                if self.at("]"):
                    raise self.error("a value is missing after `,`")
        close = self.expect("]")
        if not values:
            raise self.error("an `in` list needs at least one value", close)
        kinds = {Lit(v).type for v in values}
        if len(kinds) > 1:
            raise self.error("an `in` list mixes types; use one type", op_tok)
        if kinds:
            kind = kinds.pop()
            if kind == "number":
                left = self._as_number(left, op_tok)
            elif left.type != kind:
                raise self.error(f"cannot look for a {left.type} value in a list of {kind} values", op_tok)
        return InList(left, tuple(values), negate)

    def sum_(self) -> Node:
        left = self.product()
        while self.at("+", "-"):
            op_tok = self.take()
            right = self.product()
            left = Arith(op_tok.text, self._as_number(left, op_tok), self._as_number(right, op_tok))  # type: ignore[arg-type]
        return left

    def product(self) -> Node:
        left = self.unary()
        while self.at("*", "/"):
            op_tok = self.take()
            right = self.unary()
            left = Arith(op_tok.text, self._as_number(left, op_tok), self._as_number(right, op_tok))  # type: ignore[arg-type]
        return left

    def unary(self) -> Node:
        if self.at("-"):
            tok = self.take()
            arg = self.unary()
            if isinstance(arg, Lit) and isinstance(arg.value, float):
                return Lit(-arg.value)
            return Neg(self._as_number(arg, tok))
        return self.atom()

    def atom(self) -> Node:
        tok = self.tok
        if tok.kind == "num":
            self.take()
            return Lit(float(tok.value))
        if tok.kind == "str":
            self.take()
            return Lit(str(tok.value))
        if self.at("("):
            self.take()
            node = self.or_()
            self.expect(")")
            return node
        if tok.kind == "name":
            if tok.text in ("true", "false"):
                self.take()
                return Lit(tok.text == "true")
            if tok.text in KEYWORDS:
                raise self.error(f"`{tok.text}` cannot start a value")
            self.take()
            if tok.text in FUNCTIONS and self.at("("):
                self.take()
                arg = self.or_()
                self.expect(")")
                return Call(tok.text, self._as_text(arg, tok))  # type: ignore[arg-type]
            if self.at("("):
                raise self.error(f"unknown function `{tok.text}`; the functions are len() and lower()", tok)
            name = tok.text
            if name == "attrs" and self.at("["):
                self.take()
                key = self.take()
                if key.kind != "str":
                    raise self.error('write attrs["key"] with the key in quotes', key)
                self.expect("]")
                name = f"attrs.{key.value}"
            else:
                while self.at("."):
                    self.take()
                    part = self.take()
                    if part.kind != "name":
                        raise self.error("expected a name after `.`", part)
                    name += "." + part.text
            ref = self.resolve(name)
            if ref is None:
                raise self.error(f"unknown name `{name}`", tok)
            return ref
        found = tok.text or "end of expression"
        raise self.error(f"expected a value, found `{found}`")


def parse(source: str, resolve: Resolver) -> Node:
    """Parse and type-check a rule expression.

    Args:
        source: the expression text.
        resolve: maps names to references (request fields, attrs, signals); None for unknown names.

    Raises:
        RuleSyntaxError: with the 1-based column of the problem.
    """
    return _Parser(source, resolve).parse()


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


# ------------------------------------------------------------------------------------ canonical form


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


# ------------------------------------------------------------------------------------ Python engine

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
