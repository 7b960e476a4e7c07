"""The release gate: condition grammar, path resolution, null handling, verdicts and gate files."""

from __future__ import annotations

import copy
import json
import math
import operator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from routelab.evaluators.errors import EvaluatorError
from routelab.evaluators.gate import NULL_RULE, GateCondition, check_condition, evaluate_gate, parse_gate_spec
from routelab.evaluators.gate_syntax import (
    And,
    Comparison,
    Condition,
    GateError,
    GateSpecError,
    GateSyntaxError,
    GateValueTypeError,
    Not,
    Or,
    UnknownPathError,
    parse_condition,
)


def make_estimate(
    value: float | None, ci_low: float, ci_high: float, n: int = 400, **extra: Any
) -> dict[str, Any]:
    """A metric as `routelab compare --json` prints it."""
    return {"value": value, "ci_low": ci_low, "ci_high": ci_high, "n": n, **extra}


#: A hand-made comparison document: accuracy down 2 points (significant), cost down 12 %, p95 latency up.
RESULT: dict[str, Any] = {
    "baseline": "acme-gateway@1",
    "candidate": "acme-gateway@2",
    "n": 400,
    "accuracy": {
        "baseline": make_estimate(0.90, 0.87, 0.93),
        "candidate": make_estimate(0.88, 0.85, 0.91),
        "delta": make_estimate(-0.02, -0.035, -0.005, p_value=0.01, test="mcnemar-exact"),
    },
    "cost": {
        "delta": make_estimate(-30.0, -41.0, -19.0),
        "delta_pct": make_estimate(-12.0, -16.0, -8.0),
    },
    "latency": {"p95": {"delta": make_estimate(35.0, 10.0, 60.0)}},
    "flips": {"rate": make_estimate(0.25, 0.21, 0.29), "count": 100},
    "slices": {
        "fdr_level": 0.05,
        "by": {
            "workflow": [
                {
                    "value": "support",
                    "significant": True,
                    "accuracy": {"delta": make_estimate(-0.2, -0.3, -0.1)},
                },
                {
                    "value": "sales",
                    "significant": False,
                    "accuracy": {"delta": make_estimate(None, -1.0, 1.0, 0)},
                },
            ]
        },
    },
    "attribution": {"changes": []},
    "odd keys": {"p-95": 3, "7": 7},
}

# (id, condition, holds)
HOLDS = [
    ("accuracy-drop", "accuracy.delta.value < -0.01", True),
    ("accuracy-drop-strict", "accuracy.delta.value < -0.05", False),
    ("interval-below-zero", "accuracy.delta.ci_high < 0", True),
    ("cost-up", "cost.delta_pct.value > 0", False),
    ("cost-interval", "cost.delta_pct.ci_high >= -8", True),
    ("significant-and-negative", "accuracy.delta.p_value < 0.05 and accuracy.delta.value < 0", True),
    ("significant-and-positive", "accuracy.delta.p_value < 0.05 and accuracy.delta.value > 0", False),
    ("flip-rate", "flips.rate.value >= 0.2", True),
    ("flip-rate-equal", "flips.rate.value == 0.25", True),
    ("flip-rate-not-equal", "flips.rate.value != 0.25", False),
    ("integer-n", "n <= 400", True),
    ("latency", "latency.p95.delta.value > 30", True),
    ("no-spaces", "accuracy.delta.value<-0.01", True),
    ("exponent", "accuracy.delta.p_value < 5e-2", True),
    ("leading-dot", "flips.rate.value > .2", True),
    ("constant-left", "0 > accuracy.delta.value", True),
    ("path-vs-path", "accuracy.candidate.value < accuracy.baseline.value", True),
    ("list-index", "slices.by.workflow.0.accuracy.delta.value < -0.1", True),
    ("list-index-bool", "slices.by.workflow.0.significant == true", True),
    ("bool-not-equal", "slices.by.workflow.1.significant != false", False),
    ("or-one-side", "cost.delta_pct.value > 0 or flips.rate.value > 0.2", True),
    ("or-neither", "cost.delta_pct.value > 0 or flips.rate.value > 0.5", False),
    ("not", "not cost.delta_pct.value > 0", True),
    ("not-parens", "not (accuracy.delta.value < 0 and flips.rate.value > 0.2)", False),
    ("double-not", "not not flips.rate.value > 0.2", True),
    ("quoted-key", "\"odd keys\".'p-95' == 3", True),
    ("hyphen-key", "'odd keys'.p-95 < 4", True),
    ("digit-key-on-dict", "'odd keys'.7 == 7", True),
]


@pytest.mark.parametrize(("condition", "holds"), [(c, h) for _, c, h in HOLDS], ids=[i for i, _, _ in HOLDS])
def test_condition_table(condition: str, holds: bool) -> None:
    check = check_condition(RESULT, condition)
    assert check.holds is holds
    assert check.undetermined is False
    assert check.condition == condition


def test_check_records_every_value_read_in_order() -> None:
    check = check_condition(RESULT, "accuracy.delta.p_value < 0.05 and accuracy.delta.value < 0")
    assert check.values == {"accuracy.delta.p_value": 0.01, "accuracy.delta.value": -0.02}
    assert isinstance(check_condition(RESULT, "n > 0").values["n"], int)


# --- precedence ---------------------------------------------------------------------------------------------


def test_not_binds_tighter_than_and_which_binds_tighter_than_or() -> None:
    expr = parse_condition("not a < 1 and b < 2 or c < 3").expression
    assert isinstance(expr, Or)
    first, second = expr.operands
    assert isinstance(first, And)
    assert isinstance(second, Comparison)
    assert isinstance(first.operands[0], Not)
    assert isinstance(first.operands[0].operand, Comparison)


def test_and_chains_are_flat_and_parentheses_regroup() -> None:
    flat = parse_condition("a < 1 and b < 2 and c < 3").expression
    assert isinstance(flat, And)
    assert len(flat.operands) == 3
    grouped = parse_condition("(a < 1 or b < 2) and c < 3").expression
    assert isinstance(grouped, And)
    assert isinstance(grouped.operands[0], Or)


@pytest.mark.parametrize(
    ("condition", "holds"),
    [
        # true or (false and false): `and` first
        ("flips.rate.value > 0.2 or n < 0 and n < 0", True),
        ("(flips.rate.value > 0.2 or n < 0) and n < 0", False),
        # (not false) and true / not (false and true)
        ("not n < 0 and n > 0", True),
        ("not (n < 0 and n > 0)", True),
        ("not (n > 0 and n > 1)", False),
    ],
)
def test_precedence_changes_the_outcome(condition: str, holds: bool) -> None:
    assert check_condition(RESULT, condition).holds is holds


def test_condition_round_trips_through_its_dump() -> None:
    condition = parse_condition("not (a.b < -1 or c.0 == null) and d != true")
    assert Condition.model_validate(condition.model_dump()) == condition
    assert condition.paths == ("a.b", "c.0", "d")


# --- null ---------------------------------------------------------------------------------------------------

NULL_RESULT = {"m": {"value": None, "nan": math.nan, "zero": 0.0}, "undefined": None}


@pytest.mark.parametrize(
    ("condition", "holds", "undetermined"),
    [
        ("m.value < 0", False, True),
        ("m.value >= 0", False, True),
        ("m.value != 0", False, True),
        ("not (m.value >= 0)", False, True),  # agrees with `m.value < 0`: three-valued logic
        ("m.value == null", True, False),
        ("null == m.value", True, False),
        ("m.value != null", False, False),
        ("m.zero == null", False, False),
        ("m.zero != null", True, False),
        ("m.nan > 0", False, True),  # NaN reads as null
        ("m.nan == null", True, False),
        ("m.value < 0 or m.zero == 0", True, False),  # true decides an `or`
        ("m.value < 0 and m.zero == 1", False, False),  # false decides an `and`
        ("m.value < 0 and m.zero == 0", False, True),
        ("m.value < 0 or m.zero == 1", False, True),
        ("m.value < m.zero", False, True),
        ("m.value == m.value", False, True),  # only the literal null tests for null
        ("undefined.value > 0", False, True),  # a path through a null reads null
        ("undefined.value.deeper == null", True, False),
    ],
)
def test_null_follows_the_documented_rule(condition: str, holds: bool, undetermined: bool) -> None:
    check = check_condition(NULL_RESULT, condition)
    assert (check.holds, check.undetermined) == (holds, undetermined)


def test_nan_is_recorded_as_null() -> None:
    assert check_condition(NULL_RESULT, "m.nan > 0").values == {"m.nan": None}


@given(
    x=st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False, width=32)),
    c=st.floats(allow_nan=False, allow_infinity=False, width=32),
    op=st.sampled_from(["<", "<=", ">", ">=", "==", "!="]),
)
def test_comparison_matches_python_and_null_never_holds(x: float | None, c: float, op: str) -> None:
    check = check_condition({"x": x}, f"x {op} {c!r}")
    ops = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
    ops |= {"==": operator.eq, "!=": operator.ne}
    assert check.holds is (x is not None and ops[op](x, c))
    negated = check_condition({"x": x}, f"not x {op} {c!r}")
    assert negated.holds is (x is not None and not ops[op](x, c))


# --- syntax errors ------------------------------------------------------------------------------------------

# (id, condition, column, words in the message)
SYNTAX_ERRORS = [
    ("empty", "", 1, "empty"),
    ("blank", "   ", 4, "empty"),
    ("double-operator", "accuracy.delta.value <<< 0", 23, "expected a path, a number"),
    ("missing-operator", "accuracy.delta.value", 21, "expected a comparison"),
    ("missing-right-side", "accuracy.delta.value <", 23, "found the end of the condition"),
    ("bare-path-in-and", "a < 1 and b", 12, "expected a comparison"),
    ("single-equals", "a = 1", 3, "write '=='"),
    ("c-and", "a < 1 && b < 2", 7, "write 'and'"),
    ("c-or", "a < 1 || b < 2", 7, "write 'or'"),
    ("c-not", "!a < 1", 1, "write 'not'"),
    ("uppercase-keyword", "a < 1 AND b < 2", 7, "keywords are lowercase: write 'and'"),
    ("python-none", "a == None", 6, "write 'null'"),
    ("unclosed-paren", "(a < 1 or b < 2", 16, "close the '(' at column 1"),
    ("unmatched-paren", "a < 1)", 6, "unmatched ')'"),
    ("empty-parens", "()", 2, "expected a path"),
    ("chained", "0 < a < 1", 7, "do not chain"),
    ("two-constants", "1 < 2", 1, "two constants"),
    ("ordered-null", "a.b < null", 7, "null compares only with == or !="),
    ("ordered-true", "true >= a", 1, "true compares only with == or !="),
    ("trailing-dot", "a. < 1", 3, "expected a key or an index after '.'"),
    ("space-after-dot", "a. b < 1", 3, "no spaces around dots"),
    ("leading-dot-path", ".a < 1", 1, "unexpected character '.'"),
    ("bad-number", "a < 1.2.3", 5, "malformed number"),
    ("number-then-letters", "a < 5x", 5, "malformed number"),
    ("unterminated-quote", "a.'b < 1", 3, "unterminated quoted key"),
    ("empty-quote", "a.'' < 1", 3, "empty quoted key"),
    ("stray-character", "a < 1 ; b", 7, "unexpected character ';'"),
    ("minus-path", "a < -b", 5, "unexpected character '-'"),
    ("keyword-as-operand", "and < 1", 1, "expected a path"),
    ("dangling-not", "not", 4, "found the end of the condition"),
    ("leftover", "a < 1 b < 2", 7, "expected 'and', 'or' or the end"),
]


@pytest.mark.parametrize(
    ("condition", "column", "words"),
    [(c, col, w) for _, c, col, w in SYNTAX_ERRORS],
    ids=[i for i, *_ in SYNTAX_ERRORS],
)
def test_syntax_errors_name_the_column(condition: str, column: int, words: str) -> None:
    with pytest.raises(GateSyntaxError) as info:
        parse_condition(condition)
    assert info.value.column == column
    assert words in str(info.value)
    assert f"column {column} of '{condition}'" in str(info.value)


def test_syntax_error_pointer_marks_the_column() -> None:
    with pytest.raises(GateSyntaxError) as info:
        parse_condition("a <= = 1")
    assert info.value.pointer == "a <= = 1\n     ^"


def test_syntax_error_of_a_named_condition_names_it() -> None:
    with pytest.raises(GateSyntaxError, match=r"^gate condition 'cost-up': column 3 of 'x = 1'"):
        check_condition(RESULT, GateCondition(name="cost-up", condition="x = 1"))


# --- paths that do not resolve ------------------------------------------------------------------------------


def test_unknown_key_lists_the_known_keys_and_suggests_one() -> None:
    with pytest.raises(UnknownPathError) as info:
        check_condition(RESULT, "accuracy.delta.vlaue < 0")
    error = info.value
    assert (error.path, error.parent) == ("accuracy.delta.vlaue", "accuracy.delta")
    assert error.known == ("ci_high", "ci_low", "n", "p_value", "test", "value")
    message = str(error)
    assert "'accuracy.delta' has no key 'vlaue' (did you mean 'value'?)" in message
    assert "known keys: ci_high, ci_low, n, p_value, test, value" in message


def test_unknown_top_level_key_lists_the_result_keys() -> None:
    with pytest.raises(UnknownPathError, match="the result has no key 'acuracy'") as info:
        check_condition(RESULT, "acuracy.delta.value < 0")
    assert info.value.parent == ""
    assert "accuracy" in info.value.known
    assert "baseline" in info.value.known


def test_index_out_of_range_gives_the_valid_indexes() -> None:
    with pytest.raises(
        UnknownPathError, match=r"'slices.by.workflow' is a list of 2 items; '5' .*indexes 0–1"
    ):
        check_condition(RESULT, "slices.by.workflow.5.significant == true")


def test_key_on_a_list_is_unknown() -> None:
    with pytest.raises(UnknownPathError, match=r"'slices\.by\.workflow' is a list of 2 items; 'support'"):
        check_condition(RESULT, "slices.by.workflow.support.significant == true")


def test_path_past_a_number_is_unknown() -> None:
    with pytest.raises(UnknownPathError, match=r"'n' is a number \(400\), not an object or a list"):
        check_condition(RESULT, "n.value > 0")


def test_every_path_is_checked_even_when_the_outcome_is_already_known() -> None:
    # `n < 0` is false, so the `and` is false whatever the typo reads; the typo must still be reported
    with pytest.raises(UnknownPathError, match="flip"):
        check_condition(RESULT, "n < 0 and flip.rate.value > 0")
    with pytest.raises(UnknownPathError, match="flip"):
        check_condition(RESULT, "n > 0 or flip.rate.value > 0")


def test_unknown_path_of_a_named_condition_names_it() -> None:
    condition = GateCondition(name="flips", condition="flip.rate.value > 0")
    with pytest.raises(UnknownPathError, match=r"^gate condition 'flips' \(flip.rate.value > 0\): path"):
        evaluate_gate(RESULT, [condition])


@pytest.mark.parametrize(
    ("condition", "words"),
    [
        (
            "accuracy.delta < 0",
            "is an object with keys ci_high, ci_low, n, p_value, test, value; compare one",
        ),
        ("slices.by.workflow > 0", "is a list of 2 items; add an index, e.g. 'slices.by.workflow.0'"),
        ("baseline == 1", "is a string ('acme-gateway@1')"),
        ("accuracy.delta.test == null", "is a string ('mcnemar-exact')"),
        ("slices.by.workflow.0.significant > 0", "cannot compare true > 0"),
        ("slices.by.workflow.0.significant == 1", "cannot compare true == 1"),
        ("n == true", "cannot compare 400 == true"),
        (
            "slices.by.workflow.0.significant < slices.by.workflow.1.significant",
            "cannot compare true < false",
        ),
    ],
)
def test_values_that_cannot_be_compared_are_errors(condition: str, words: str) -> None:
    with pytest.raises(GateValueTypeError) as info:
        check_condition(RESULT, condition)
    assert words in str(info.value)


# --- the gate -----------------------------------------------------------------------------------------------


def test_gate_fails_on_any_condition_that_holds_and_lists_it() -> None:
    conditions: list[str | GateCondition] = [
        "cost.delta_pct.value > 0",
        GateCondition(
            name="accuracy-regression", condition="accuracy.delta.ci_high < 0", description="Worse."
        ),
        "flips.rate.value >= 0.5",
    ]
    gate = evaluate_gate(RESULT, conditions)
    assert gate.passed is False
    assert [c.condition for c in gate.checked] == [str(c) for c in conditions]
    assert [c.holds for c in gate.checked] == [False, True, False]
    (failure,) = gate.failures
    assert (failure.name, failure.description) == ("accuracy-regression", "Worse.")
    assert failure.values == {"accuracy.delta.ci_high": -0.005}
    assert gate.evaluator == "gate"
    assert gate.parameters.conditions[0] == GateCondition(condition="cost.delta_pct.value > 0")
    assert gate.parameters.null_rule == NULL_RULE


def test_gate_passes_when_no_condition_holds_and_when_there_are_none() -> None:
    gate = evaluate_gate(RESULT, ["cost.delta_pct.value > 0", "accuracy.delta.value == null"])
    assert (gate.passed, gate.failures, len(gate.checked)) == (True, (), 2)
    empty = evaluate_gate(RESULT, [])
    assert (empty.passed, empty.checked) == (True, ())


def test_undetermined_condition_does_not_fail_the_gate() -> None:
    gate = evaluate_gate(RESULT, ["slices.by.workflow.1.accuracy.delta.value < 0"])
    assert gate.passed is True
    assert gate.checked[0].undetermined is True


def test_gate_result_is_json_and_input_is_untouched() -> None:
    before = copy.deepcopy(RESULT)
    gate = evaluate_gate(RESULT, ["accuracy.delta.value < -0.01"])
    assert before == RESULT
    dumped = json.loads(json.dumps(gate.model_dump(mode="json")))
    assert dumped["passed"] is False
    assert dumped["failures"][0]["condition"] == "accuracy.delta.value < -0.01"


def test_gate_rejects_a_single_string_other_types_and_repeated_names() -> None:
    with pytest.raises(GateSpecError, match=r"^conditions: is a single string"):
        evaluate_gate(RESULT, "n > 0")
    with pytest.raises(GateSpecError, match=r"^conditions\[1\]: must be a string or a GateCondition"):
        evaluate_gate(RESULT, ["n > 0", 3])  # type: ignore[list-item]
    twice = [GateCondition(name="x", condition="n > 0"), GateCondition(name="x", condition="n < 0")]
    with pytest.raises(
        GateSpecError, match=r"^conditions\[1\].name: 'x' is already the name of conditions\[0\]"
    ):
        evaluate_gate(RESULT, twice)


def test_every_gate_error_is_an_evaluator_error_and_a_value_error() -> None:
    for error in (GateSyntaxError, UnknownPathError, GateValueTypeError, GateSpecError):
        assert issubclass(error, GateError)
        assert issubclass(error, EvaluatorError)
        assert issubclass(error, ValueError)


# --- gate files ---------------------------------------------------------------------------------------------


def test_gate_spec_mapping_form() -> None:
    spec = {
        "conditions": [
            {
                "name": "accuracy-regression",
                "when": "accuracy.delta.ci_high < 0",
                "description": "The whole interval is below zero.",
            },
            {"when": "flips.rate.value >= 0.2"},
            "cost.delta_pct.value > 0",
        ]
    }
    conditions = parse_gate_spec(spec)
    assert conditions == [
        GateCondition(
            name="accuracy-regression",
            condition="accuracy.delta.ci_high < 0",
            description="The whole interval is below zero.",
        ),
        GateCondition(condition="flips.rate.value >= 0.2"),
        GateCondition(condition="cost.delta_pct.value > 0"),
    ]
    assert [c.holds for c in evaluate_gate(RESULT, conditions).checked] == [True, True, False]


def test_gate_spec_bare_list_form() -> None:
    assert parse_gate_spec(["n > 0", {"name": "big", "when": "n > 1000", "description": None}]) == [
        GateCondition(condition="n > 0"),
        GateCondition(name="big", condition="n > 1000"),
    ]


# (id, loaded YAML, start of the message)
SPEC_ERRORS: list[tuple[str, Any, str]] = [
    ("empty-file", None, "gate spec: expected a mapping with a 'conditions' list, or a list; got nothing"),
    ("scalar", "n > 0", "gate spec: expected a mapping with a 'conditions' list, or a list; got a string"),
    ("missing-conditions", {}, "gate spec: missing key 'conditions'"),
    (
        "unknown-top-key",
        {"conditions": ["n > 0"], "rules": []},
        "gate spec: unknown key(s) rules; allowed keys",
    ),
    (
        "conditions-not-list",
        {"conditions": "n > 0"},
        "conditions: must be a list of conditions, got a string",
    ),
    ("conditions-null", {"conditions": None}, "conditions: must be a list of conditions, got null"),
    ("no-conditions", {"conditions": []}, "conditions: has no conditions"),
    ("empty-list", [], "gate spec: has no conditions"),
    ("item-number", {"conditions": ["n > 0", 3]}, "conditions[1]: must be a condition string or a mapping"),
    ("missing-when", {"conditions": [{"name": "x"}]}, "conditions[0]: missing key 'when'"),
    (
        "condition-key",
        {"conditions": [{"condition": "n > 0"}]},
        "conditions[0]: unknown key(s) condition; allowed keys: name, when, description",
    ),
    ("when-number", {"conditions": [{"when": 3}]}, "conditions[0].when: must be a string, got a number (3)"),
    ("when-null", {"conditions": [{"when": None}]}, "conditions[0].when: must be a string, got null"),
    ("name-list", {"conditions": [{"when": "n > 0", "name": [1]}]}, "conditions[0].name: must be a string"),
    ("name-blank", {"conditions": [{"when": "n > 0", "name": " "}]}, "conditions[0].name: is empty"),
    (
        "description-number",
        {"conditions": [{"when": "n > 0", "description": 1}]},
        "conditions[0].description: must be a string",
    ),
    (
        "duplicate-name",
        {"conditions": [{"name": "a", "when": "n > 0"}, {"name": "a", "when": "n < 0"}]},
        "conditions[1].name: 'a' is already the name of conditions[0]",
    ),
    ("bare-list-item", ["n > 0", {"when": 1}], "[1].when: must be a string"),
    (
        "syntax-in-when",
        {"conditions": [{"when": "n > 0"}, {"when": "n = 0"}]},
        "conditions[1].when: column 3 of",
    ),
    ("syntax-in-string", {"conditions": ["n >"]}, "conditions[0]: column 4 of 'n >'"),
]


@pytest.mark.parametrize(
    ("data", "message"), [(d, m) for _, d, m in SPEC_ERRORS], ids=[i for i, _, _ in SPEC_ERRORS]
)
def test_gate_spec_errors_name_the_item_and_field(data: Any, message: str) -> None:
    with pytest.raises(GateError) as info:
        parse_gate_spec(data)
    assert str(info.value).startswith(message), str(info.value)


def test_gate_spec_error_attributes() -> None:
    with pytest.raises(GateSpecError) as info:
        parse_gate_spec({"conditions": [{"when": 3}]})
    assert (info.value.location, info.value.problem) == (
        "conditions[0].when",
        "must be a string, got a number (3)",
    )
    with pytest.raises(GateSyntaxError) as syntax:
        parse_gate_spec({"conditions": [{"when": "n = 0"}]})
    assert (syntax.value.condition, syntax.value.column) == ("n = 0", 3)
