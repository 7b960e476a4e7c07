"""Library flows for `routelab frontier` and `routelab ope`: read the store, call the pure evaluators.

`datasets` and `evaluators` may not import each other, so the joins live here (as in `workflows`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

#: Request fields the off-policy direct model and support check use by default.
OPE_FEATURES = ("workflow", "task")


def _two_model_metrics(
    group: dict[str, Any], version: dict[str, Any], decisions: list[Any]
) -> dict[str, Any]:
    """APGR and CPT of a two-model sweep: the strong model is the one with the better mean quality."""
    from routelab.evaluators.threshold import sweep_metrics

    models = group["models"]
    strong, weak = sorted(models, key=lambda m: (-models[m]["quality"], models[m]["cost_usd"]))
    points = []
    for point, frame in zip(version["points"], decisions, strict=True):
        routed = frame["model"].dropna()
        share = 100.0 * float((routed == strong).mean()) if len(routed) else 0.0
        points.append((share, point["quality"]))
    metrics = sweep_metrics(points, models[weak]["quality"], models[strong]["quality"])
    return {"strong": strong, "weak": weak, **metrics.model_dump(mode="json")}


def _default_refs(store: Any, sweep: str | None) -> list[str]:
    """Replayed versions; with a sweep also the registered versions that have the knob (no replay needed)."""
    from routelab.datasets import routers

    replayed = [r[0] for r in store.execute("SELECT DISTINCT router FROM decisions ORDER BY 1").fetchall()]
    if sweep is None:
        return replayed
    registered = [
        f"{r[0]}@{r[1]}"
        for r in store.execute("SELECT name, version FROM router_versions ORDER BY 1, 2").fetchall()
    ]
    knobbed = [ref for ref in registered if sweep in routers.get(store, ref).config.knobs]
    return sorted(set(replayed) | set(knobbed))


def frontier_stored(
    store: Any,
    refs: Sequence[str] = (),
    *,
    group: str | None = None,
    sweep: str | None = None,
    aiq_variant: str = "paper",
    seed: int = 0,
    save: bool = True,
) -> dict[str, Any]:
    """The cost–quality frontier of the store's full-information outcomes with `refs` (default: every
    replayed version) placed on it; with `sweep`, each version that has that knob becomes a curve.

    Returns the document `routelab frontier --json` prints: the `FrontierResult` fields; for a swept version
    in a two-model group also `apgr` and `cpt` (RouteLLM's metrics) under `versions.<ref>.threshold`.
    """
    from routelab.datasets import queries, results, routers
    from routelab.datasets.errors import DatasetError
    from routelab.datasets.sweep import sweep as sweep_knob
    from routelab.evaluators.frontier import frontier

    outcomes = queries.outcomes(store, "full")
    if outcomes.empty:
        raise DatasetError(
            f"{store.path}: no full-information outcomes; import them (`routelab import FILE --format "
            "outcomes` or `--format routerbench`) or build the demo"
        )
    column = None
    if group == "eval_group" or (group is None and outcomes["eval_group"].notna().any()):
        column = "eval_group"
    elif group is not None:
        fields = queries.requests(store, [group])
        outcomes = outcomes.merge(fields, on="request_id", how="left")
        column = group
    refs = list(refs) or _default_refs(store, sweep)
    versions: dict[str, Any] = {}
    swept: dict[str, list[Any]] = {}
    knob_values: dict[str, list[float]] = {}
    for ref in refs:
        knobs = routers.get(store, ref).config.knobs
        if sweep is not None and sweep in knobs:
            points = sweep_knob(store, ref, sweep)
            swept[ref] = [p.decisions for p in points]
            knob_values[ref] = [p.value for p in points]
            versions[ref] = swept[ref]
        else:
            versions[ref] = queries.decisions(store, ref)[["request_id", "model"]]
    if sweep is not None and not swept:
        among = ", ".join(refs) or "the registered versions"
        raise DatasetError(f"no version among {among} has a knob {sweep!r}; declare it under `knobs:`")
    result = frontier(outcomes, versions, group=column, seed=seed, aiq_variant=aiq_variant)  # type: ignore[arg-type]
    document: dict[str, Any] = result.model_dump(mode="json")
    for name, grp in document["groups"].items():
        for ref, frames in swept.items():
            if ref in grp["versions"]:
                grp["versions"][ref]["knob"] = {"name": sweep, "values": knob_values[ref]}
            if len(grp["models"]) == 2 and ref in grp["versions"]:
                members = set(outcomes.loc[outcomes[column] == name, "request_id"]) if column else None
                parts = [f[f["request_id"].isin(members)] if members is not None else f for f in frames]
                grp["versions"][ref]["threshold"] = _two_model_metrics(grp, grp["versions"][ref], parts)
    if save:
        params = {
            "group": column,
            "sweep": sweep,
            "aiq_variant": aiq_variant,
            **results.run_stamp(store, refs),
        }
        results.save(store, "frontier", refs, params, document, seed=seed)
    return document


def ope_stored(
    store: Any,
    ref: str,
    *,
    features: Sequence[str] = OPE_FEATURES,
    seed: int = 0,
    n_resamples: int = 1000,
    save: bool = True,
) -> dict[str, Any]:
    """A version's quality and cost estimated from the store's logged outcomes (IPS, SNIPS, doubly robust).

    Where full-information outcomes exist too, the document carries `truth`: the mean quality and cost of the
    version's chosen models there, for comparison.
    """
    from routelab.datasets import queries, results
    from routelab.datasets.errors import DatasetError
    from routelab.evaluators.offpolicy import off_policy

    logged = queries.outcomes(store, "logged")
    if logged.empty:
        raise DatasetError(
            f"{store.path}: no logged outcomes (kind 'logged', with propensities); "
            "import production logs first"
        )
    if features:
        logged = logged.merge(queries.requests(store, list(features)), on="request_id", how="left")
    decisions = queries.decisions(store, ref)[["router", "request_id", "model"]]
    result = off_policy(logged, decisions, features=list(features), seed=seed, n_resamples=n_resamples)
    document: dict[str, Any] = result.model_dump(mode="json")
    full = queries.outcomes(store, "full")
    if len(full):
        chosen = decisions.merge(full, on=["request_id", "model"], how="inner")
        document["truth"] = {
            "quality": float(chosen["quality"].mean()) if len(chosen) else None,
            "cost_usd": float(chosen["cost_usd"].mean()) if len(chosen) else None,
            "n": len(chosen),
            "source": "full-information outcomes of the chosen models",
        }
    if save:
        params = {"features": list(features), "n_resamples": n_resamples, **results.run_stamp(store, [ref])}
        results.save(store, "ope", [ref], params, document, seed=seed)
    return document
