"""The rule language: parse errors point at their column, `unparse` round-trips, the semantics table holds.

The semantics are the module docstring of `routelab.router_core.rules`; `golden/rule_semantics.csv` writes
them down as cases (expression, environment, expected value; `null` is a missing value).
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import NamedTuple

import pytest
from hypothesis import given
from hypothesis import strategies as st

from routelab.router_core.canonical import unparse
from routelab.router_core.config import KeywordLabel, KeywordSignal, PiiSignal
from routelab.router_core.errors import RuleSyntaxError
from routelab.router_core.evaluation import Value, evaluate
from routelab.router_core.nodes import Node
from routelab.router_core.rules import parse, parse_condition
from routelab.router_core.validate import router_resolver

GOLDEN = Path(__file__).parent / "golden" / "rule_semantics.csv"

#: Request fields and attrs, plus a text signal with a confidence (`intent`) and a bool signal (`has_pii`).
RESOLVE = router_resolver(
    [
        KeywordSignal(
            kind="keywords", name="intent", labels=(KeywordLabel(label="refund", phrases=("refund",)),)
        ),
        PiiSignal(kind="pii", name="has_pii"),
    ]
)


def cond(source: str) -> Node:
    """Parse a condition against the test schema."""
    return parse_condition(source, RESOLVE)


def syntax_error(source: str) -> RuleSyntaxError:
    """The error parsing `source` as a condition raises (fails the test if it parses)."""
    with pytest.raises(RuleSyntaxError) as info:
        cond(source)
    return info.value


# ------------------------------------------------------------------------------------------ parse errors


class ParseErrorCase(NamedTuple):
    id: str
    source: str
    column: int
    message: str


PARSE_ERRORS = [
    ParseErrorCase("single-equals-suggests-double", "workflow = 1", 10, "use `==` for equality"),
    ParseErrorCase("unknown-name", 'nosuch == "a"', 1, "unknown name `nosuch`"),
    ParseErrorCase("unknown-dotted-name", "intent.score > 1", 1, "unknown name `intent.score`"),
    ParseErrorCase("unclosed-string", 'prompt == "abc', 11, 'string not closed: add a closing "'),
    ParseErrorCase("unclosed-single-quoted-string", "team == 'abc", 9, "string not closed: add a closing '"),
    ParseErrorCase("unknown-function-open-paren", "foo(", 1, "unknown function `foo`"),
    ParseErrorCase("unknown-function-lists-known", "foo(prompt)", 1, "the functions are len() and lower()"),
    ParseErrorCase(
        "text-ordered-against-number", "prompt > 3", 8, "expected a number here, got a text value"
    ),
    ParseErrorCase("text-equal-to-number", "workflow == 3", 10, "expected a number here, got a text value"),
    ParseErrorCase("text-equal-to-bool", "team == true", 6, "cannot compare a text value with a bool value"),
    ParseErrorCase("in-list-mixes-types", 'workflow in ["a", 1]', 10, "an `in` list mixes types"),
    ParseErrorCase("in-list-type-mismatch", 'prompt_tokens in ["a"]', 15, "cannot look for a number value"),
    ParseErrorCase("in-list-empty", "team in []", 10, "an `in` list needs at least one value"),
    ParseErrorCase("not-in-list-empty", "team not in []", 14, "an `in` list needs at least one value"),
    ParseErrorCase("in-list-not-literal", "team in [workflow]", 10, "`in` lists hold literals only"),
    ParseErrorCase("empty-expression", "", 1, "empty condition; write `true`"),
    ParseErrorCase("blank-expression", "   ", 4, "empty condition"),
    ParseErrorCase("dangling-and", 'team == "a" and', 16, "expected a value, found `end of expression`"),
    ParseErrorCase("unclosed-paren", '(team == "a"', 13, "expected `)`"),
    ParseErrorCase(
        "missing-connective", 'team == "a" workflow == "b"', 13, "join conditions with `and` / `or`"
    ),
    ParseErrorCase("number-is-not-a-condition", "prompt_tokens", 1, "a condition must be true or false"),
    ParseErrorCase("not-of-text", "not prompt", 1, "`not` needs a condition"),
    ParseErrorCase("and-of-text", "prompt and true", 1, "`and` needs conditions on both sides"),
    ParseErrorCase("len-of-number", "len(prompt_tokens) > 1", 1, "expected text here, got a number value"),
    ParseErrorCase("number-literal-too-large", "prompt_tokens > 1e999", 17, "number literal is too large"),
    ParseErrorCase("matches-needs-a-literal", "prompt matches team", 16, "`matches` takes a regex in quotes"),
    ParseErrorCase(
        "matches-non-portable-regex", 'prompt matches "(?=a)"', 16, "regex not portable: lookahead"
    ),
    ParseErrorCase("attrs-key-unquoted", 'attrs[1] == "a"', 7, 'write attrs["key"] with the key in quotes'),
    ParseErrorCase("keyword-as-value", 'and == "a"', 1, "`and` cannot start a value"),
    ParseErrorCase("stray-character", 'team @ "a"', 6, "unexpected character '@'"),
]


@pytest.mark.parametrize("case", PARSE_ERRORS, ids=[c.id for c in PARSE_ERRORS])
def test_parse_error_has_column_and_helpful_message(case: ParseErrorCase) -> None:
    err = syntax_error(case.source)
    assert (err.column, case.message in err.message) == (case.column, True), err.message
    # the rendered error repeats the column and the expression, so a log line is enough to find it
    assert f"column {case.column} of {case.source!r}" in str(err)


# -------------------------------------------------------------------------------------- unparse round trip

#: String literals without whitespace (so whitespace can be varied between tokens), with escapes.
_WORDS = ["a", "refund", "INC-1", "İ", "σ", "😀", "it's", 'say\\"hi\\"', "back\\\\slash", "tab\\t", "nl\\n"]
_TEXT_REFS = ["workflow", "team", "prompt", "intent", "attrs.tier", 'attrs["a-key"]', "attrs.and"]
_NUM_REFS = ["prompt_tokens", "hour", "intent.confidence", "expected_output_tokens", "attrs.tier"]
_NUMBERS = ["0", "1", "2.5", "1e-07", "1e+20", ".5", "3.", "12345678901234567890"]
_REGEXES = ["^INC-[0-9]+", "a$", "\\\\d{2,3}", "(?:x|y)z", "[^a-z]"]


def _text_lit() -> st.SearchStrategy[str]:
    return st.sampled_from(_WORDS).map(lambda w: f'"{w}"')


def _text(depth: int) -> st.SearchStrategy[str]:
    base = st.one_of(st.sampled_from(_TEXT_REFS), _text_lit())
    if depth == 0:
        return base
    return st.one_of(base, _text(depth - 1).map(lambda t: f"lower({t})"))


def _num(depth: int) -> st.SearchStrategy[str]:
    base = st.one_of(st.sampled_from(_NUM_REFS), st.sampled_from(_NUMBERS))
    if depth == 0:
        return base
    sub = _num(depth - 1)
    return st.one_of(
        base,
        st.tuples(sub, st.sampled_from("+-*/"), sub).map(lambda t: f"{t[0]} {t[1]} {t[2]}"),
        st.tuples(sub, st.sampled_from("+-*/"), sub).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        sub.map(lambda n: f"-{n}"),
        _text(depth - 1).map(lambda t: f"len({t})"),
    )


def _literal_list(items: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.lists(items, min_size=1, max_size=3).map(lambda xs: "[" + ", ".join(xs) + "]")


def _atom_condition(depth: int) -> st.SearchStrategy[str]:
    text, num = _text(depth), _num(depth)
    pair = st.tuples
    return st.one_of(
        st.sampled_from(["true", "false", "has_pii"]),
        pair(num, st.sampled_from(["==", "!=", "<", "<=", ">", ">="]), num).map(" ".join),
        pair(text, st.sampled_from(["==", "!="]), text).map(" ".join),
        pair(
            st.sampled_from(["has_pii", "true"]), st.sampled_from(["==", "!="]), st.sampled_from(["false"])
        ).map(" ".join),
        pair(text, st.sampled_from(["in", "not in"]), _literal_list(_text_lit())).map(" ".join),
        pair(num, st.sampled_from(["in", "not in"]), _literal_list(st.sampled_from(["1", "-2", "2.5"]))).map(
            " ".join
        ),
        pair(text, st.sampled_from(["contains", "startswith", "endswith"]), text).map(" ".join),
        pair(text, st.just("matches"), st.sampled_from(_REGEXES).map(lambda r: f'"{r}"')).map(" ".join),
    )


def _condition(depth: int) -> st.SearchStrategy[str]:
    atom = _atom_condition(min(depth, 1))
    if depth == 0:
        return atom
    sub = _condition(depth - 1)
    return st.one_of(
        atom,
        sub.map(lambda c: f"not {c}" if c.startswith("(") or " " not in c else f"not ({c})"),
        st.tuples(st.lists(sub, min_size=2, max_size=3), st.sampled_from(["and", "or"])).map(
            lambda t: "(" + f" {t[1]} ".join(t[0]) + ")"
        ),
    )


conditions = _condition(2)


@given(conditions)
def test_unparse_is_a_fixed_point_of_parse(source: str) -> None:
    canonical = unparse(cond(source))
    assert unparse(cond(canonical)) == canonical


_ENV_VALUES: dict[str, st.SearchStrategy[Value]] = {
    "workflow": st.sampled_from([None, "a", "refund", "İ"]),
    "team": st.sampled_from([None, "a", "it's"]),
    "prompt": st.sampled_from([None, "", "INC-12 a", 'say "hi"', "back\\slash", "tab\t", "x\n"]),
    "intent": st.sampled_from([None, "refund"]),
    "attrs.tier": st.sampled_from([None, "1", "2.5", " 3", "x"]),
    "attrs.a-key": st.sampled_from([None, "a"]),
    "attrs.and": st.sampled_from([None, "a"]),
    "prompt_tokens": st.sampled_from([None, 0.0, 1.0, 2.5, 1e300]),
    "hour": st.sampled_from([None, 0.0, 12.0]),
    "intent.confidence": st.sampled_from([None, 0.5]),
    "expected_output_tokens": st.sampled_from([None, 100.0]),
    "has_pii": st.booleans(),
}


@given(conditions, st.fixed_dictionaries(_ENV_VALUES))
def test_canonical_text_means_the_same(source: str, env: dict[str, Value]) -> None:
    assert evaluate(cond(unparse(cond(source))), env) == evaluate(cond(source), env)


@given(conditions, st.lists(st.sampled_from(["  ", "\t", "\n", "\r\n"]), min_size=1, max_size=8))
def test_canonical_text_ignores_whitespace(source: str, spaces: list[str]) -> None:
    # The generated literals hold no whitespace, so every space separates tokens.
    parts = source.split(" ")
    respaced = "".join(p + spaces[i % len(spaces)] for i, p in enumerate(parts))
    assert unparse(cond(respaced)) == unparse(cond(source))


ROUND_TRIP = {
    "precedence-kept-by-parentheses": ('team == "a" or team == "b" and not has_pii', None),
    "arithmetic-parenthesised": ("prompt_tokens + hour * 2 > 10", "(prompt_tokens + (hour * 2)) > 10"),
    "negative-literal-folded": ("prompt_tokens > -5", "prompt_tokens > -5"),
    "attr-key-needing-brackets": ('attrs["a.b"] == "x"', 'attrs["a.b"] == "x"'),
    "attr-dotted-and-bracketed-alike": ('attrs["tier"] == attrs.tier', "attrs.tier == attrs.tier"),
    "string-escapes": (r'prompt == "a\"b\\c\n"', r'prompt == "a\"b\\c\n"'),
    "single-quotes-become-double": ("team == 'it\\'s'", 'team == "it\'s"'),
    "integral-float-written-as-int": ("prompt_tokens == 3.0", "prompt_tokens == 3"),
    "regex-source-kept": (r'prompt matches "\d+$"', r'prompt matches "\\d+$"'),
}


@pytest.mark.parametrize(("source", "expected"), ROUND_TRIP.values(), ids=ROUND_TRIP.keys())
def test_unparse_table(source: str, expected: str | None) -> None:
    canonical = unparse(cond(source))
    if expected is not None:
        assert canonical == expected
    assert unparse(cond(canonical)) == canonical


# A comparison or `in` whose operand is itself a condition is valid (bool == bool), but `unparse` writes the
# operand without parentheses, and the result does not parse back.
BOOL_OPERANDS = {
    "condition-equals-condition": '(workflow == "a") == (team == "b")',
    "literal-equals-condition": 'true == (workflow == "a")',
    "signal-equals-condition": 'has_pii != (team == "b")',
    "condition-in-bool-list": '(workflow == "a") in [true]',
    "negated-condition-compared": 'not (workflow == "a") == true',
}


@pytest.mark.parametrize("source", BOOL_OPERANDS.values(), ids=BOOL_OPERANDS.keys())
def test_unparse_round_trips_conditions_used_as_operands(source: str) -> None:
    canonical = unparse(cond(source))
    assert unparse(cond(canonical)) == canonical


# The grammar reads `"in" "[" literal ("," literal)* "]"`: at least one literal, no trailing comma.
def test_in_list_with_a_trailing_comma_is_refused() -> None:
    assert syntax_error('team in ["a",]').column > 0


# ------------------------------------------------------------------------------------------- semantics


class SemanticsCase(NamedTuple):
    id: str
    expression: str
    env: dict[str, Value]
    expected: Value


def _golden_cases() -> list[SemanticsCase]:
    with GOLDEN.open(encoding="utf-8", newline="") as f:
        return [
            SemanticsCase(
                row["id"], row["expression"], json.loads(row["env_json"]), json.loads(row["expected"])
            )
            for row in csv.DictReader(f)
        ]


SEMANTICS = _golden_cases()


def _same_value(actual: Value, expected: Value) -> bool:
    """Equal and of the same kind: True is not 1.0, and a number is compared as a float."""
    if isinstance(expected, bool) or isinstance(actual, bool) or expected is None or actual is None:
        return type(actual) is type(expected) and actual == expected
    if isinstance(expected, int | float):
        return isinstance(actual, float) and math.isclose(actual, expected, rel_tol=1e-12)
    return isinstance(actual, str) and actual == expected


def test_golden_table_is_well_formed() -> None:
    ids = [c.id for c in SEMANTICS]
    assert len(SEMANTICS) >= 80
    assert len(ids) == len(set(ids)), "duplicate ids in the golden table"


@pytest.mark.parametrize("case", SEMANTICS, ids=[c.id for c in SEMANTICS])
def test_rule_semantics(case: SemanticsCase) -> None:
    node = parse(case.expression, RESOLVE)
    actual = evaluate(node, case.env)
    assert _same_value(actual, case.expected), f"{case.expression} with {case.env}: {actual!r}"


@pytest.mark.parametrize("case", [c for c in SEMANTICS if isinstance(c.expected, bool)], ids=lambda c: c.id)
def test_conditions_are_never_missing(case: SemanticsCase) -> None:
    """Every condition is true or false, also once negated: `not` of a false comparison is true."""
    node = cond(case.expression)
    assert evaluate(node, case.env) is case.expected
    assert evaluate(cond(f"not ({case.expression})"), case.env) is (not case.expected)
