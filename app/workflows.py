"""Library flows that join the store and the evaluators; the CLI and the workbench both call these.

`datasets` and `evaluators` may not import each other (see ARCHITECTURE.md), so the step that reads the store
and hands DataFrames to a pure evaluator lives here, once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def evaluate_stored_version(
    store: Any, ref: str, by: Sequence[str] = (), baseline_model: str | None = None, save: bool = True
) -> Any:
    """Routing accuracy of a replayed version over the store's gold labels (see `evaluators.accuracy`).

    Money metrics use the store's full-information outcomes when it has them, else the version's prices
    (input + output per token as the relative price). The result is saved in `eval_results` when `save`.
    """
    from routelab.datasets import queries, results
    from routelab.evaluators.accuracy import evaluate_version
    from routelab.evaluators.gold import resolve_gold

    decisions = queries.decisions(store, ref)
    gold = resolve_gold(queries.labels(store), queries.annotations(store))
    requests = queries.requests(store, list(by)) if by else None
    models = queries.models(store, ref)
    tiers = dict(zip(models["model"], models["tier"], strict=True))
    order = [t for _, t in sorted(set(zip(models["tier_rank"], models["tier"], strict=True)))]
    outcomes = queries.outcomes(store, "full")
    prices = {
        m: float(i) + float(o)
        for m, i, o in zip(
            models["model"], models["input_per_token"], models["output_per_token"], strict=True
        )
    }
    result = evaluate_version(
        decisions,
        gold,
        requests,
        tiers,
        order,
        by=by,
        baseline_model=baseline_model,
        outcomes=outcomes if len(outcomes) else None,
        model_prices=None if len(outcomes) else prices,
    )
    if save:
        results.save(
            store, "accuracy", [ref], result.params.model_dump(mode="json"), result.model_dump(mode="json")
        )
    return result
