"""The evaluator registry: every evaluator is named, described and looked up through one dict.

Evaluators register with `@evaluator(name, description)` at their definition; the built-in ones are
`accuracy`, `compare`, `attribution`, `gate`, `route-shares`, `timeline`, `drift`,
`drift-versions`, `compliance` and `ops`. This module imports none of them, so it stays free of import
cycles and of heavy imports: `load_builtin()` imports the built-in modules (which registers them), and
`get_evaluator` / `list_evaluators` call it first, so a lookup always sees the built-ins. Importing
`routelab.evaluators` itself registers nothing, which keeps `routelab --help` cheap.

The registered name is the one every stored result records (its `evaluator` field), so a result can be
traced back to the function that produced it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from routelab.evaluators.errors import DuplicateEvaluatorError, UnknownEvaluatorError

F = TypeVar("F", bound=Callable[..., Any])

#: Modules whose evaluators `load_builtin` registers, by importing them.
BUILTIN_MODULES = (
    "routelab.evaluators.accuracy",
    "routelab.evaluators.compare",
    "routelab.evaluators.attribution",
    "routelab.evaluators.gate",
    "routelab.evaluators.route_shares",
    "routelab.evaluators.timeline",
    "routelab.evaluators.drift",
    "routelab.evaluators.agreement",
    "routelab.evaluators.frontier",
    "routelab.evaluators.threshold",
    "routelab.evaluators.offpolicy",
    "routelab.evaluators.compliance",
    "routelab.evaluators.compliance_drift",
    "routelab.evaluators.ops",
)


class EvaluatorSpec(BaseModel):
    """One registered evaluator."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, description="Unique name; the `evaluator` field of its results.")
    description: str = Field(description="One line on what the evaluator measures.")
    function: Callable[..., Any] = Field(description="The evaluator function itself.")

    @property
    def qualname(self) -> str:
        """``module.function`` of the registered function, for messages."""
        return f"{self.function.__module__}.{self.function.__qualname__}"


EVALUATORS: dict[str, EvaluatorSpec] = {}
"""Name → spec of every registered evaluator, in registration order."""


def evaluator(name: str, description: str) -> Callable[[F], F]:
    """Register the decorated function as the evaluator `name`; the function is returned unchanged.

    Args:
        name: Unique evaluator name.
        description: One line on what it measures.

    Raises:
        DuplicateEvaluatorError: `name` is already registered (the message names both functions).
    """

    def register(function: F) -> F:
        spec = EvaluatorSpec(name=name, description=description, function=function)
        existing = EVALUATORS.get(name)
        if existing is not None:
            raise DuplicateEvaluatorError(
                f"evaluator {name!r}: {spec.qualname} cannot be registered, {existing.qualname} already is; "
                "choose another name"
            )
        EVALUATORS[name] = spec
        return function

    return register


def load_builtin() -> None:
    """Import the built-in evaluator modules, which registers them; importing twice is a no-op."""
    for module in BUILTIN_MODULES:
        importlib.import_module(module)


def get_evaluator(name: str) -> EvaluatorSpec:
    """The evaluator registered as `name` (built-ins are loaded first).

    Raises:
        UnknownEvaluatorError: no evaluator has that name; the message lists the known ones.
    """
    load_builtin()
    try:
        return EVALUATORS[name]
    except KeyError:
        raise UnknownEvaluatorError(name, tuple(sorted(EVALUATORS))) from None


def list_evaluators() -> list[EvaluatorSpec]:
    """Every registered evaluator (built-ins loaded first), sorted by name."""
    load_builtin()
    return [EVALUATORS[name] for name in sorted(EVALUATORS)]
