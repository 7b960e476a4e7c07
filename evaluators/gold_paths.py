"""Gold paths: the components they judge, normalised values, parsing from JSON, and matching a decision.

Retrieval and escalation `None` mean "none" (as a NULL `retrieval` in `decisions` does); see `gold`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, SupportsInt, cast

from routelab.evaluators.errors import EvaluatorError
from routelab.evaluators.frames import is_missing

if TYPE_CHECKING:
    pass  # type: ignore[import-untyped,unused-ignore]  # no pandas-stubs in the dev lock yet


#: Components a gold path may judge.
GOLD_COMPONENTS = ("model", "tier", "retrieval", "context_tokens", "cache", "escalation", "action")
#: Components of a judged decision snapshot that a plain "correct" verdict rules on.
SNAPSHOT_COMPONENTS = ("model", "retrieval", "cache", "escalation", "action")
#: Components whose missing value means "none".
NONE_COMPONENTS = ("retrieval", "escalation")
#: Components of decision snapshots that gold never judges.
IGNORED_COMPONENTS = ("fallbacks",)

PathValue = str | int | None
Path = dict[str, PathValue]


def normalise_value(component: str, value: object) -> PathValue:
    """One component's value as gold and decisions compare it ("none" for no retrieval/escalation)."""
    if is_missing(value):
        return "none" if component in NONE_COMPONENTS else None
    if component == "context_tokens":
        return int(cast(SupportsInt, value))
    return str(value)


def normalise_path(raw: Mapping[str, Any], where: str) -> Path:
    """A partial path with known components only and normalised values.

    Raises:
        EvaluatorError: a component gold does not know (naming `where` and the known components).
    """
    unknown = sorted(set(raw) - set(GOLD_COMPONENTS) - set(IGNORED_COMPONENTS))
    if unknown:
        raise EvaluatorError(
            f"{where}: unknown path component(s) {', '.join(unknown)}; known: {', '.join(GOLD_COMPONENTS)}"
        )
    return {c: normalise_value(c, raw[c]) for c in GOLD_COMPONENTS if c in raw}


def parse_json(value: object, where: str) -> Any:
    """A JSON column's value: text is parsed, anything else (already parsed, or missing) passed through."""
    if isinstance(value, str | bytes):
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise EvaluatorError(f"{where}: not valid JSON ({exc}): {str(value)[:200]!r}") from exc
    if is_missing(value):
        return None
    return value


def parse_paths(value: object, where: str) -> list[Path]:
    """A JSON list of partial paths (or a single path, or nothing) as normalised paths."""
    parsed = parse_json(value, where)
    if parsed is None:
        return []
    if isinstance(parsed, Mapping):
        parsed = [parsed]
    if not isinstance(parsed, list) or not all(isinstance(p, Mapping) for p in parsed):
        raise EvaluatorError(f"{where}: expected a JSON list of paths (objects), got {str(value)[:200]!r}")
    return [normalise_path(p, where) for p in parsed]


def path_key(path: Mapping[str, PathValue]) -> tuple[tuple[str, PathValue], ...]:
    """A hashable, order-independent key of a path."""
    return tuple(sorted(path.items()))


def matches(path: Mapping[str, PathValue], decision: Mapping[str, PathValue]) -> bool:
    """Whether a decision (normalised full path) satisfies a partial path: every named component is equal."""
    return all(decision.get(c) == v for c, v in path.items())


def dedupe(paths: Iterable[Path]) -> list[Path]:
    """Paths in first-appearance order without repeats."""
    seen: set[tuple[tuple[str, PathValue], ...]] = set()
    out = []
    for p in paths:
        key = path_key(p)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out
