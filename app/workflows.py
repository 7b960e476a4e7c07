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
        params = {**result.params.model_dump(mode="json"), **results.run_stamp(store, [ref])}
        results.save(store, "accuracy", [ref], params, result.model_dump(mode="json"))
    return result


def compare_stored_versions(
    store: Any,
    base: str,
    candidate: str,
    by: Sequence[str] = (),
    conditions: Sequence[Any] = (),
    seed: int = 0,
    save: bool = True,
) -> dict[str, Any]:
    """Compare two replayed versions on the same requests, attribute the flips, and apply a release gate.

    Returns the JSON document `routelab compare --json` prints: keys `baseline`, `candidate`, `n`, `accuracy`,
    `cost`, `latency`, `flips`, `slices`, `attribution` and `gate`.
    """
    from routelab.datasets import queries, results, routers
    from routelab.evaluators.attribution import attribute_flips
    from routelab.evaluators.compare import compare_versions, pair_decisions
    from routelab.evaluators.gate import evaluate_gate
    from routelab.evaluators.gold import resolve_gold
    from routelab.router_core.identity import diff

    base_decisions = queries.decisions(store, base)
    cand_decisions = queries.decisions(store, candidate)
    gold = resolve_gold(queries.labels(store), queries.annotations(store))
    fields = sorted(set(by))
    requests = queries.requests(store, fields) if fields else None
    paired = pair_decisions(base_decisions, cand_decisions, gold)
    comparison = compare_versions(
        base_decisions, cand_decisions, gold, requests, by=fields, seed=seed, paired=paired
    )
    base_router, cand_router = routers.get(store, base), routers.get(store, candidate)
    attribution = attribute_flips(
        diff(base_router, cand_router),
        base_router,
        cand_router,
        base_decisions,
        cand_decisions,
        correctness=paired.correctness(),
    )
    document: dict[str, Any] = comparison.model_dump(mode="json")
    document["attribution"] = attribution.model_dump(mode="json")
    gate = evaluate_gate(document, list(conditions))
    document["gate"] = gate.model_dump(mode="json")
    if save:
        params = {
            "by": fields,
            "seed": seed,
            "conditions": [str(c) for c in conditions],
            **results.run_stamp(store, [base, candidate]),
        }
        results.save(store, "compare", [base, candidate], params, document, seed=seed)
    return document
