"""Release gate: conditions over a comparison result; any condition that holds fails the release.

A condition describes a *failure*, e.g. ``accuracy.delta.ci_high < 0`` or ``cost.delta_pct.value > 0``. The
result is the JSON document of ``routelab compare --json`` (or any dict/list tree); the CLI exits 1 when
one condition holds.

The condition grammar, the parser and the gate's errors are in `gate_syntax`.

**Paths must exist.** A path that does not resolve raises :class:`UnknownPathError` naming the keys that
exist where it failed, so a typo in a gate file stops the run instead of silently passing. Every path of a
condition is resolved, also behind an ``and`` whose other side is already false. A path must end at a
number, true/false or null; an object, list or string raises :class:`GateValueTypeError`.

**Null** (``NULL_RULE``): a comparison that reads null (or NaN) with any operator except ``== null`` /
``!= null`` is *unknown*; ``and``/``or``/``not`` follow three-valued (Kleene) logic, and a condition whose
outcome is unknown does not hold (``ConditionCheck.undetermined`` says so). So ``x < 0`` and
``not (x >= 0)`` agree when x is null: neither fails the gate. A path that passes through a null reads
null (``cost.delta_pct.value`` when ``cost.delta_pct`` itself is null). Test for a missing estimate with
``accuracy.delta.value == null``.

**Gate YAML** (parsed by the caller; :func:`parse_gate_spec` validates the loaded object)::

    conditions:
      - name: accuracy-regression            # optional; unique; shown when the condition holds
        when: accuracy.delta.ci_high < 0     # required: the condition text
        description: The whole 95 % interval of the accuracy delta is below zero.   # optional
      - "cost.delta_pct.value > 0"           # a plain string is a condition without a name

A bare list of such items is accepted too. Quote a condition in YAML when it contains ``: `` or starts
with a character YAML treats specially.
"""

from __future__ import annotations

import difflib
import math
import numbers
import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from routelab.evaluators.gate_syntax import (
    INDEX,
    Comparison,
    Constant,
    Expression,
    GateSpecError,
    GateValueTypeError,
    Not,
    Or,
    PathRef,
    Scalar,
    UnknownPathError,
    parse_condition,
)
from routelab.evaluators.registry import evaluator

NULL_RULE = (
    "a comparison reading null or NaN is unknown unless it is '== null' or '!= null'; and/or/not use "
    "three-valued logic; an unknown condition does not hold"
)

_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}
_SPEC_KEYS = ("name", "when", "description")


# --- results ------------------------------------------------------------------------------------------------


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class GateCondition(_Record):
    """One condition of a gate, with the name and description a gate file may give it."""

    name: str | None = Field(default=None, min_length=1, description="Short unique name; None: unnamed.")
    condition: str = Field(description="The condition text (YAML key `when`).")
    description: str | None = Field(default=None, description="Why the condition fails the release.")

    def __str__(self) -> str:
        return self.condition


class ConditionCheck(_Record):
    """The outcome of one condition and the values it read."""

    name: str | None = Field(description="The condition's name, if it has one.")
    condition: str = Field(description="The condition text.")
    description: str | None = Field(description="The condition's description, if it has one.")
    holds: bool = Field(description="True: the condition holds, so the gate fails.")
    undetermined: bool = Field(
        description="True: a null value left the outcome unknown (counted as not holding)."
    )
    values: dict[str, Scalar] = Field(description="Path → value read (NaN reads as null), in order.")


class GateParameters(_Record):
    """Everything that produced a `GateResult`, so it can be recomputed."""

    conditions: tuple[GateCondition, ...] = Field(description="The conditions, in the order checked.")
    null_rule: str = Field(default=NULL_RULE, description="How null values are compared.")


class GateResult(_Record):
    """The gate's verdict: passed unless a condition holds."""

    evaluator: Literal["gate"] = Field(default="gate", description="The evaluator's name.")
    parameters: GateParameters = Field(description="What produced the result.")
    passed: bool = Field(description="True when no condition holds (also when there are no conditions).")
    failures: tuple[ConditionCheck, ...] = Field(description="The conditions that hold, in order.")
    checked: tuple[ConditionCheck, ...] = Field(description="Every condition, in order.")


# --- evaluation ---------------------------------------------------------------------------------------------


def _subject(condition: str, name: str | None) -> str:
    return f"gate condition '{name}' ({condition})" if name else f"gate condition '{condition}'"


def _items(count: int) -> str:
    return f"{count} item" if count == 1 else f"{count} items"


def _kind(node: object) -> str:
    if isinstance(node, Mapping):
        return f"an object with keys {', '.join(sorted(map(str, node))) or '(none)'}"
    if isinstance(node, list | tuple):
        return f"a list of {_items(len(node))}"
    if isinstance(node, str):
        return f"a string ('{node}')"
    if node is None:
        return "null"
    if isinstance(node, bool):
        return f"true/false ({str(node).lower()})"
    if isinstance(node, numbers.Real):
        return f"a number ({node})"
    return f"a {type(node).__name__}"


class _Reader:
    """Resolves paths against one result, recording each value read."""

    def __init__(self, result: Mapping[str, Any], subject: str) -> None:
        self.result = result
        self.subject = subject
        self.values: dict[str, Scalar] = {}

    def read(self, ref: PathRef) -> Scalar:
        node: Any = self.result
        for depth, segment in enumerate(ref.segments):
            if node is None:  # an undefined metric (e.g. `cost.delta_pct`): everything below it is null
                break
            node = self.step(node, ref, ".".join(ref.segments[:depth]), segment)
        value = self.scalar(node, ref)
        self.values.setdefault(ref.text, value)
        return value

    def step(self, node: Any, ref: PathRef, parent: str, segment: str) -> Any:
        where = f"'{parent}'" if parent else "the result"
        if isinstance(node, Mapping):
            if segment in node:
                return node[segment]
            known = tuple(sorted(map(str, node)))
            close = difflib.get_close_matches(segment, known, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            detail = f"{where} has no key '{segment}'{hint}; known keys: {', '.join(known) or '(none)'}"
            raise UnknownPathError(self.subject, ref.text, parent, known, detail)
        if isinstance(node, list | tuple):
            if INDEX.fullmatch(segment) and int(segment) < len(node):
                return node[int(segment)]
            span = f"indexes 0–{len(node) - 1}" if node else "it is empty"
            detail = (
                f"{where} is a list of {_items(len(node))}; '{segment}' is not one of its indexes ({span})"
            )
            raise UnknownPathError(self.subject, ref.text, parent, tuple(map(str, range(len(node)))), detail)
        detail = f"{where} is {_kind(node)}, not an object or a list: the path cannot go past it"
        raise UnknownPathError(self.subject, ref.text, parent, (), detail)

    def scalar(self, node: Any, ref: PathRef) -> Scalar:
        if node is None or isinstance(node, bool):
            return node
        if isinstance(node, numbers.Integral):
            return int(node)
        if isinstance(node, numbers.Real):
            value = float(node)
            return None if math.isnan(value) else value
        if isinstance(node, Mapping):
            fix = f"compare one of its keys, e.g. '{ref.text}.value'" if "value" in node else "compare a key"
        elif isinstance(node, list | tuple):
            fix = f"add an index, e.g. '{ref.text}.0'"
        else:
            fix = "conditions compare numbers, true/false and null"
        raise GateValueTypeError(f"{self.subject}: path '{ref.text}' is {_kind(node)}; {fix}")


def _show(value: Scalar) -> str:
    return "null" if value is None else str(value).lower() if isinstance(value, bool) else str(value)


def _is_null(side: PathRef | Constant) -> bool:
    return isinstance(side, Constant) and side.value is None


def _compare(expr: Comparison, reader: _Reader) -> bool | None:
    left, right = (reader.read(s) if isinstance(s, PathRef) else s.value for s in (expr.left, expr.right))
    if _is_null(expr.left) or _is_null(expr.right):
        tested = right if _is_null(expr.left) else left
        return (tested is None) == (expr.op == "==")
    if left is None or right is None:
        return None  # unknown: see NULL_RULE
    if isinstance(left, bool) != isinstance(right, bool) or (
        isinstance(left, bool) and expr.op not in ("==", "!=")
    ):
        raise GateValueTypeError(
            f"{reader.subject}: cannot compare {_show(left)} {expr.op} {_show(right)}: "
            "true/false compares only with true/false, using == or !="
        )
    return _COMPARE[expr.op](left, right)


def _truth(expr: Expression, reader: _Reader) -> bool | None:
    """Three-valued (Kleene) truth: None is unknown. Every operand is evaluated, so every path is checked."""
    if isinstance(expr, Comparison):
        return _compare(expr, reader)
    if isinstance(expr, Not):
        inner = _truth(expr.operand, reader)
        return None if inner is None else not inner
    values = [_truth(operand, reader) for operand in expr.operands]
    decisive = isinstance(expr, Or)  # True decides an `or`, False decides an `and`
    if decisive in values:
        return decisive
    return None if None in values else not decisive


def check_condition(result: Mapping[str, Any], condition: str | GateCondition) -> ConditionCheck:
    """Evaluate one condition against a result.

    Args:
        result: The comparison document (dicts and lists).
        condition: The condition text, or a `GateCondition` carrying a name and description.

    Raises:
        GateSyntaxError: the condition does not parse.
        UnknownPathError: a path does not exist; the message lists the keys that do.
        GateValueTypeError: a path ends at an object, list or string, or true/false meets a number.
    """
    spec = condition if isinstance(condition, GateCondition) else GateCondition(condition=condition)
    where = f"gate condition '{spec.name}'" if spec.name else None
    parsed = parse_condition(spec.condition, where=where)
    reader = _Reader(result, _subject(spec.condition, spec.name))
    outcome = _truth(parsed.expression, reader)
    return ConditionCheck(
        name=spec.name,
        condition=spec.condition,
        description=spec.description,
        holds=outcome is True,
        undetermined=outcome is None,
        values=reader.values,
    )


@evaluator(
    "gate",
    "Release gate: conditions over a comparison result; any that holds fails the release.",
)
def evaluate_gate(result: Mapping[str, Any], conditions: Sequence[str | GateCondition]) -> GateResult:
    """Check every condition; the gate passes when none holds (and trivially when there are none).

    Args:
        result: The comparison document, e.g. ``routelab compare --json`` output.
        conditions: Condition texts (``--fail-if``) and/or `GateCondition` items (a gate file).

    Raises:
        GateSpecError: ``conditions`` is a single string, holds another type, or repeats a name.
        GateSyntaxError, UnknownPathError, GateValueTypeError: as `check_condition`.
    """
    if isinstance(conditions, str):
        raise GateSpecError("conditions", "is a single string; pass a list, e.g. [condition]")
    specs: list[GateCondition] = []
    for index, item in enumerate(conditions):
        if isinstance(item, str):
            item = GateCondition(condition=item)
        elif not isinstance(item, GateCondition):
            raise GateSpecError(
                f"conditions[{index}]", f"must be a string or a GateCondition, got {_kind(item)}"
            )
        specs.append(item)
    _require_unique_names(specs, "conditions")
    checked = tuple(check_condition(result, spec) for spec in specs)
    failures = tuple(check for check in checked if check.holds)
    return GateResult(
        parameters=GateParameters(conditions=tuple(specs)),
        passed=not failures,
        failures=failures,
        checked=checked,
    )


# --- gate files ---------------------------------------------------------------------------------------------


def _require_unique_names(specs: Sequence[GateCondition], prefix: str) -> None:
    seen: dict[str, int] = {}
    for index, spec in enumerate(specs):
        if spec.name is None:
            continue
        if spec.name in seen:
            raise GateSpecError(
                f"{prefix}[{index}].name",
                f"'{spec.name}' is already the name of {prefix}[{seen[spec.name]}]; names must be unique",
            )
        seen[spec.name] = index


def _spec_item(item: object, location: str) -> GateCondition:
    if isinstance(item, str):
        parse_condition(item, where=location)
        return GateCondition(condition=item)
    if not isinstance(item, Mapping):
        raise GateSpecError(
            location, f"must be a condition string or a mapping with 'when', got {_kind(item)}"
        )
    unknown = [str(key) for key in item if key not in _SPEC_KEYS]
    if unknown:
        raise GateSpecError(
            location, f"unknown key(s) {', '.join(unknown)}; allowed keys: {', '.join(_SPEC_KEYS)}"
        )
    if "when" not in item:
        raise GateSpecError(location, "missing key 'when' (the condition text)")
    for key in _SPEC_KEYS:
        value = item.get(key)
        if key in item and not (value is None and key != "when") and not isinstance(value, str):
            raise GateSpecError(f"{location}.{key}", f"must be a string, got {_kind(value)}")
    name, when = item.get("name"), item["when"]
    if name is not None and not name.strip():
        raise GateSpecError(f"{location}.name", "is empty; give a name or leave the key out")
    parse_condition(when, where=f"{location}.when")
    return GateCondition(name=name, condition=when, description=item.get("description"))


def parse_gate_spec(data: Any) -> list[GateCondition]:
    """Validate a loaded gate YAML (see the module docstring for its shape) and parse every condition.

    Args:
        data: What ``yaml.safe_load`` returned: a mapping with a ``conditions`` list, or a bare list.

    Raises:
        GateSpecError: naming the item (``conditions[2]``) and field (``.when``) at fault.
        GateSyntaxError: a condition does not parse; the message names the item and the column.
    """
    if isinstance(data, Mapping):
        unknown = [str(key) for key in data if key != "conditions"]
        if unknown:
            raise GateSpecError("gate spec", f"unknown key(s) {', '.join(unknown)}; allowed keys: conditions")
        if "conditions" not in data:
            raise GateSpecError("gate spec", "missing key 'conditions' (a list of conditions)")
        items, prefix = data["conditions"], "conditions"
    elif isinstance(data, list):
        items, prefix = data, ""
    else:
        shape = "nothing (an empty file)" if data is None else _kind(data)
        raise GateSpecError(
            "gate spec", f"expected a mapping with a 'conditions' list, or a list; got {shape}"
        )
    if not isinstance(items, list):
        raise GateSpecError(prefix, f"must be a list of conditions, got {_kind(items)}")
    if not items:
        raise GateSpecError(prefix or "gate spec", "has no conditions; a gate needs at least one")
    specs = [_spec_item(item, f"{prefix}[{index}]") for index, item in enumerate(items)]
    _require_unique_names(specs, prefix)
    return specs
