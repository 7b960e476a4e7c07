"""Library flows that join the store and the evaluators; the CLI and the workbench both call these.

`datasets` and `evaluators` may not import each other (see ARCHITECTURE.md), so the step that reads the store
and hands DataFrames to a pure evaluator lives here, once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal


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

    Everything is counted inside DuckDB (`app.paired_store`, `compliance_flow.compare_compliance_counted`):
    neither version's decisions are loaded, so the memory does not grow with the traffic. Returns the JSON
    document
    `routelab compare --json` prints: keys `baseline`, `candidate`, `n`, `accuracy`,
    `cost`, `latency`, `flips`, `slices`, `attribution`, `compliance` (both versions' privacy and residency
    breach totals and the paired change, `app.compliance_flow`; gate paths such as
    `compliance.candidate.privacy.count`) and `gate`.
    """
    from routelab.app.compliance_flow import compare_compliance_counted
    from routelab.app.paired_store import open_pairing
    from routelab.datasets import results, routers
    from routelab.evaluators.attribution import attribute_patterns
    from routelab.evaluators.compare import compare_counts
    from routelab.evaluators.gate import evaluate_gate
    from routelab.router_core.identity import diff

    fields = sorted(set(by))
    # pairing, gold and counting run inside DuckDB over one joined table: no version's decisions are loaded
    with open_pairing(store, base, candidate, fields, compliance=True) as opened:
        pairing = opened.counts()
        compliance = compare_compliance_counted(store, base, candidate, pairing=opened)
    comparison = compare_counts(
        pairing.counts, gold_rule=pairing.gold_rule, gold_counts=pairing.gold_counts, by=fields, seed=seed
    )
    base_router, cand_router = routers.get(store, base), routers.get(store, candidate)
    attribution = attribute_patterns(
        diff(base_router, cand_router),
        base_router,
        cand_router,
        pairing.flips,
        n_requests=pairing.counts.n,
        warnings=pairing.warnings,
    )
    document: dict[str, Any] = comparison.model_dump(mode="json")
    document["attribution"] = attribution.model_dump(mode="json")
    document["compliance"] = compliance
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


#: Request fields every drift frame carries (slices and input features); free-form attrs are added.
DRIFT_REQUEST_FIELDS = (
    "ts",
    "workflow",
    "task",
    "team",
    "region",
    "data_class",
    "prompt_tokens",
    "expected_output_tokens",
)
#: Share of requests an attr key needs to be an input feature by default.
ATTR_MIN_SHARE = 0.05


#: Share of an attr's values that must read as numbers for the attr to be numeric (the rest become missing).
NUMERIC_ATTR_SHARE = 0.95


def _numeric_attrs(requests: Any) -> Any:
    """attrs.* columns that read as numbers (at least 95 % of their values) become numbers.

    The store keeps attrs as text; a few placeholders such as ``TBD`` in an amount column become missing
    rather than turning the whole column categorical.
    """
    import pandas as pd

    out = requests.copy()
    for c in [c for c in out.columns if c.startswith("attrs.")]:
        values = out[c].dropna()
        numbers = pd.to_numeric(values, errors="coerce")
        if len(values) and numbers.notna().mean() >= NUMERIC_ATTR_SHARE:
            out[c] = pd.to_numeric(out[c], errors="coerce")
    return out


def stored_drift_frame(store: Any, ref: str, extra_fields: Sequence[str] = ()) -> Any:
    """The drift frame of a replayed version (`evaluators.drift_frame`), with every request field and attr."""
    from routelab.datasets import queries
    from routelab.evaluators.drift_frame import build_drift_frame
    from routelab.evaluators.gold import resolve_gold

    decisions = queries.decisions(store, ref)
    gold = resolve_gold(queries.labels(store), queries.annotations(store))
    attrs = [f"attrs.{k}" for k in queries.attr_keys(store, ATTR_MIN_SHARE)]
    fields = list(dict.fromkeys([*DRIFT_REQUEST_FIELDS, *attrs, *extra_fields]))
    requests = _numeric_attrs(queries.requests(store, fields))
    full, logged = queries.outcomes(store, "full"), queries.outcomes(store, "logged")
    return build_drift_frame(decisions, gold, requests, full, logged), gold


def drift_stored_version(
    store: Any,
    ref: str,
    *,
    reference: str | None = None,
    current: str | None = None,
    by: str = "week",
    features: Sequence[str] | None = None,
    slices: Sequence[str] | None = None,
    chunks: int | None = None,
    thresholds: Any = None,
    min_change: float = 0.1,
    fdr: float = 0.05,
    save: bool = True,
    compliance_requests: Any = None,
    engine: Literal["grouped", "frame"] = "grouped",
) -> dict[str, Any]:
    """Drift of a replayed version over time, its silent failures and its timeline (`evaluators.drift`).

    Returns the JSON document `routelab drift --json` prints: the `DriftResult` fields plus `timeline` and
    `compliance_timeline` (the version's privacy and residency breaches per period, `app.compliance_flow`),
    `compliance_alarms` (windows whose breach rate rose above their reference's, `compliance_drift`; tested
    apart from the silent-failure alarms, with their own Benjamini–Hochberg step) and `compliance_tests`.
    Features default to the request fields and the attrs at least 5 % of requests carry.

    `engine` ``grouped`` (the default) counts the decisions inside DuckDB and measures the distinct rows
    (`app.drift_store`); ``frame`` loads one row per decision (`stored_drift_frame`). Both give the same
    document (a test checks it); chunk thresholds split the reference by request, so `chunks` uses the frame.
    """
    from routelab.evaluators.drift_stats import DEFAULT_THRESHOLDS
    from routelab.evaluators.silent import DEFAULT_SLICES, default_settings
    from routelab.evaluators.windows import parse_range

    windows = (parse_range(reference) if reference else None, parse_range(current) if current else None)
    slice_fields = list(slices or DEFAULT_SLICES)
    extra = [p for name in [*(features or ()), *slice_fields] for p in name.split("*")]
    options: dict[str, Any] = {
        "reference": windows[0],
        "current": windows[1],
        "by": by,
        "thresholds": thresholds or DEFAULT_THRESHOLDS,
        "min_change": min_change,
        "alarms": default_settings(slice_fields, fdr),
    }
    if engine == "grouped" and chunks is None:
        result, line = _drift_grouped(store, ref, extra, features, options)
    else:
        result, line = _drift_frame(store, ref, extra, features, chunks, options)
    document: dict[str, Any] = result.model_dump(mode="json")
    document["timeline"] = line.model_dump(mode="json")
    counted = engine == "grouped" and compliance_requests is None
    _add_compliance(document, store, ref, by, fdr, compliance_requests, counted)
    if save:
        from routelab.datasets import results

        params = {**result.params.model_dump(mode="json"), **results.run_stamp(store, [ref])}
        results.save(store, "drift", [ref], params, document)
    return document


def _default_features(columns: Sequence[str]) -> list[str]:
    """The request fields and attrs among `columns`, in order: drift's input features by default."""
    return [c for c in columns if c in DRIFT_REQUEST_FIELDS[1:] or c.startswith("attrs.")]


def _drift_fields(store: Any, extra: Sequence[str]) -> list[str]:
    """Every request field a drift run reads: the standard ones, the common attrs and `extra`."""
    from routelab.datasets import queries

    attrs = [f"attrs.{k}" for k in queries.attr_keys(store, ATTR_MIN_SHARE)]
    return list(dict.fromkeys([*DRIFT_REQUEST_FIELDS, *attrs, *extra]))


def _drift_grouped(
    store: Any, ref: str, extra: Sequence[str], features: Sequence[str] | None, options: dict[str, Any]
) -> tuple[Any, Any]:
    """`DriftResult` and `Timeline` from the grouped drift frame counted in DuckDB."""
    from routelab.app.drift_store import grouped_drift_frame
    from routelab.evaluators.drift_counted import detect_drift_grouped
    from routelab.evaluators.timeline_grouped import timeline_grouped

    fields = [f for f in _drift_fields(store, extra) if f != "ts"]
    grouped = grouped_drift_frame(store, ref, fields)
    result = detect_drift_grouped(
        grouped.frame,
        router=ref,
        features=_default_features(grouped.fields) if features is None else features,
        gold_counts=grouped.gold_counts,
        **options,
    )
    line = timeline_grouped(grouped.frame, router=ref, period=options["by"])
    return result, line


def _drift_frame(
    store: Any,
    ref: str,
    extra: Sequence[str],
    features: Sequence[str] | None,
    chunks: int | None,
    options: dict[str, Any],
) -> tuple[Any, Any]:
    """`DriftResult` and `Timeline` from the per-request drift frame."""
    from routelab.evaluators.drift import detect_drift
    from routelab.evaluators.timeline import timeline

    frame, gold = stored_drift_frame(store, ref, extra)
    result = detect_drift(
        frame,
        features=_default_features(list(frame.columns)) if features is None else features,
        chunks=chunks,
        gold_counts=gold.counts,
        **options,
    )
    return result, timeline(frame, period=options["by"])


def _add_compliance(
    document: dict[str, Any], store: Any, ref: str, by: str, fdr: float, requests: Any, counted: bool
) -> None:
    """The compliance timeline of the version and its alarms, added to the drift document.

    `counted`: group the decisions in DuckDB (`compliance_flow.compliance_timeline_counted`); else flag
    every decision over `requests` (`compliance_requests`' frame, read when None).
    """
    from routelab.app.compliance_flow import compliance_timeline_counted, compliance_timeline_stored
    from routelab.evaluators.compliance_drift import compliance_shifts

    document["compliance_timeline"] = (
        compliance_timeline_counted(store, ref, by=by)
        if counted
        else compliance_timeline_stored(store, ref, by=by, requests=requests)
    )
    shifts = compliance_shifts(document["compliance_timeline"], document["windows"], fdr=fdr)
    document["compliance_alarms"] = [c.model_dump(mode="json") for c in shifts if c.alarm]
    document["compliance_tests"] = len(shifts)


def drift_between_versions(
    store: Any,
    base: str,
    candidate: str,
    *,
    window: str | None = None,
    slices: Sequence[str] | None = None,
    fdr: float = 0.05,
    save: bool = True,
) -> dict[str, Any]:
    """What switching the same traffic from `base` to `candidate` moves per slice, and its alarms."""
    from routelab.datasets import results
    from routelab.evaluators.drift import detect_version_drift
    from routelab.evaluators.silent import DEFAULT_SLICES, default_settings
    from routelab.evaluators.windows import parse_range

    slice_fields = list(slices or DEFAULT_SLICES)
    extra = [p for name in slice_fields for p in name.split("*")]
    base_frame, _ = stored_drift_frame(store, base, extra)
    cand_frame, _ = stored_drift_frame(store, candidate, extra)
    result = detect_version_drift(
        base_frame,
        cand_frame,
        window=parse_range(window) if window else None,
        alarms=default_settings(slice_fields, fdr),
    )
    document: dict[str, Any] = result.model_dump(mode="json")
    if save:
        params = {
            "window": window,
            "slices": slice_fields,
            "fdr": fdr,
            **results.run_stamp(store, [base, candidate]),
        }
        results.save(store, "drift-versions", [base, candidate], params, document)
    return document
