"""The tokenizer and the recursive-descent parser of the rule language (grammar: `rules.py`).

The parser type-checks as it goes: every node it returns has a static type, and attrs (text) used where a
number is expected are wrapped in `ToNumber`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal

from routelab.router_core.errors import RegexPortabilityError, RuleSyntaxError
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
    Resolver,
    TextOp,
    ToNumber,
)
from routelab.router_core.regex import portable

KEYWORDS = {"and", "or", "not", "in", "contains", "startswith", "endswith", "matches", "true", "false"}
FUNCTIONS = {"len", "lower"}


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


class Parser:
    """Parses one expression; `parse()` returns its type-checked AST or raises RuleSyntaxError."""

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
