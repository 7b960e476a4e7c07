"""The evaluator registry: built-ins registered at their definition, duplicates and unknown names rejected."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from routelab.evaluators import registry
from routelab.evaluators.accuracy import evaluate_version
from routelab.evaluators.agreement import agreement
from routelab.evaluators.attribution import attribute_flips
from routelab.evaluators.compare import compare_versions
from routelab.evaluators.compliance import compliance
from routelab.evaluators.compliance_drift import compliance_shifts
from routelab.evaluators.drift import detect_drift, detect_version_drift
from routelab.evaluators.errors import DuplicateEvaluatorError, EvaluatorError, UnknownEvaluatorError
from routelab.evaluators.frontier import frontier
from routelab.evaluators.gate import evaluate_gate
from routelab.evaluators.offpolicy import off_policy
from routelab.evaluators.ops import operations
from routelab.evaluators.route_shares import route_share_shift
from routelab.evaluators.threshold import sweep_metrics
from routelab.evaluators.timeline import timeline

BUILTINS = {
    "accuracy": evaluate_version,
    "compare": compare_versions,
    "attribution": attribute_flips,
    "gate": evaluate_gate,
    "route-shares": route_share_shift,
    "timeline": timeline,
    "drift": detect_drift,
    "drift-versions": detect_version_drift,
    "agreement": agreement,
    "frontier": frontier,
    "threshold": sweep_metrics,
    "ope": off_policy,
    "compliance": compliance,
    "compliance-drift": compliance_shifts,
    "ops": operations,
}


@pytest.fixture
def scratch_registry(monkeypatch: pytest.MonkeyPatch) -> dict[str, registry.EvaluatorSpec]:
    """A copy of the registry that the test may change; the real one is restored afterwards."""
    registry.load_builtin()
    copy = dict(registry.EVALUATORS)
    monkeypatch.setattr(registry, "EVALUATORS", copy)
    return copy


def toy(x: int) -> int:
    """A stand-in evaluator."""
    return x


@pytest.mark.parametrize(("name", "function"), BUILTINS.items(), ids=BUILTINS.keys())
def test_builtin_evaluators_are_registered_at_their_definition(name: str, function: Any) -> None:
    spec = registry.get_evaluator(name)
    assert spec.function is function
    assert spec.name == name
    assert spec.description


def test_list_evaluators_is_sorted_and_holds_the_builtins() -> None:
    names = [spec.name for spec in registry.list_evaluators()]
    assert names == sorted(names)
    assert set(BUILTINS) <= set(names)


def test_decorator_registers_and_returns_the_function(
    scratch_registry: dict[str, registry.EvaluatorSpec],
) -> None:
    decorated = registry.evaluator("toy", "A stand-in.")(toy)
    assert decorated is toy
    assert scratch_registry["toy"].function is toy
    assert registry.get_evaluator("toy").qualname == f"{__name__}.toy"


def test_duplicate_name_is_rejected_naming_both_functions(
    scratch_registry: dict[str, registry.EvaluatorSpec],
) -> None:
    with pytest.raises(DuplicateEvaluatorError) as info:
        registry.evaluator("accuracy", "Another accuracy.")(toy)
    message = str(info.value)
    assert "routelab.evaluators.accuracy.evaluate_version" in message
    assert f"{__name__}.toy" in message
    assert scratch_registry["accuracy"].function is evaluate_version


def test_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(UnknownEvaluatorError) as info:
        registry.get_evaluator("acuracy")
    assert isinstance(info.value, EvaluatorError)
    assert info.value.name == "acuracy"
    assert set(BUILTINS) <= set(info.value.known)
    assert (
        "known evaluators: accuracy, agreement, attribution, compare, compliance, compliance-drift, drift, "
        "drift-versions, frontier, "
        "gate, ope, ops, route-shares, threshold" in str(info.value)
    )


def test_load_builtin_twice_registers_nothing_new() -> None:
    registry.load_builtin()
    before = dict(registry.EVALUATORS)
    registry.load_builtin()
    assert before == registry.EVALUATORS


def test_importing_the_registry_loads_no_evaluator_and_no_heavy_module() -> None:
    code = (
        "import sys; import routelab.evaluators.registry; "
        "heavy = {m.partition('.')[0] for m in sys.modules} & {'numpy', 'scipy', 'pandas'}; "
        "builtin = [m for m in sys.modules if m in routelab.evaluators.registry.BUILTIN_MODULES]; "
        "print(sorted(heavy), builtin)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[] []"
