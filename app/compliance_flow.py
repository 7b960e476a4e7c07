"""Compliance from the store: read the requests (PII detected inside DuckDB) and each version's models.

The evaluator (`evaluators.compliance`) is pure; this is the one place that feeds it from the store, for
`routelab compliance`, the `compliance` key of `compare --json`, the `compliance_timeline` of `drift --json`
and the report bundle.

**PII in DuckDB.** Scanning prompts in Python costs about 0.6 ms a prompt; the same per-type checks compiled
by `router_core.pii.has_pii_sql` (the SQL engine's twin of `has_pii`, guarded by one `has_any_pii_sql` regex
so a prompt without any candidate costs one regex call) run about 25 times faster inside DuckDB. The query
returns the type names as a `pii_types` column, which the evaluator takes instead of scanning the prompt;
`pii="python"` passes the prompts instead (the tests check that both give the same result).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

#: Request fields every compliance check reads; slice fields are added.
REQUEST_FIELDS = ("ts", "workflow", "data_class", "region", "attrs.pii_types")
PiiEngine = Literal["sql", "python"]


def pii_types_sql(column: str, types: Sequence[Any]) -> str:
    """A DuckDB expression: the comma-separated PII type names `column` holds (``''`` for none).

    Built only from router_core's compiled patterns and the fixed type names, never from data.
    """
    from routelab.router_core.pii import PiiType, has_any_pii_sql, has_pii_sql

    kinds = [PiiType(t) for t in types]
    if not kinds:
        return "''"
    each = ", ".join(f"CASE WHEN {has_pii_sql(column, t)} THEN '{t.value}' END" for t in kinds)
    return f"(CASE WHEN {has_any_pii_sql(column, kinds)} THEN concat_ws(',', {each}) ELSE '' END)"


def compliance_requests(
    store: Any, *, pii: PiiEngine = "sql", rules: Any = None, slices: Sequence[str] = ("workflow",)
) -> Any:
    """request_id, ts, workflow, data_class, region, attrs.pii_types, the slices and the PII.

    With ``pii="sql"`` the PII comes as a `pii_types` column computed in DuckDB; with ``"python"`` the
    prompt is returned and the evaluator scans it.

    Raises:
        DatasetError: an unknown slice field (naming the known ones).
    """
    from routelab.datasets import queries
    from routelab.evaluators.compliance import DEFAULT_RULES

    rules = rules or DEFAULT_RULES
    fields = list(dict.fromkeys([*REQUEST_FIELDS, *slices, *(["prompt"] if pii == "python" else [])]))
    frame = queries.requests(store, fields)
    if pii == "sql":
        sql = (
            f"SELECT request_id, {pii_types_sql('prompt', rules.pii_types)} AS pii_types "
            "FROM requests ORDER BY request_id"
        )
        column = queries.run(store, queries.Query(sql), ["request_id", "pii_types"], "PII of requests")
        frame = frame.merge(column, on="request_id", how="left", validate="one_to_one")
    return frame


def version_models(store: Any, ref: str) -> dict[str, Any]:
    """Model id → `ModelSpec` of a registered version (boundary and regions are what compliance reads)."""
    from routelab.datasets import routers

    return {m.id: m for m in routers.get(store, ref).config.models}


def stored_flags(store: Any, ref: str, requests: Any, *, rules: Any = None, carry: Sequence[str] = ()) -> Any:
    """`flag_breaches` of a replayed version over `requests` (from `compliance_requests`)."""
    from routelab.datasets import queries
    from routelab.evaluators.compliance import DEFAULT_RULES, flag_breaches

    return flag_breaches(
        queries.decisions(store, ref),
        requests,
        version_models(store, ref),
        rules=rules or DEFAULT_RULES,
        carry=carry,
    )


def compliance_stored(
    store: Any,
    refs: Sequence[str],
    *,
    by: Literal["week", "day"] = "week",
    examples: int = 5,
    slices: Sequence[str] = ("workflow",),
    pii: PiiEngine = "sql",
    rules: Any = None,
    save: bool = True,
    requests: Any = None,
) -> dict[str, Any]:
    """The compliance result of each version (`routelab compliance --json`): ``{"versions": [...]}``.

    Each result is saved in `eval_results` (kind ``compliance``) when `save`. `requests` is
    `compliance_requests`' frame when the caller has it already (the PII scan is the costly part).
    """
    from routelab.datasets import queries, results
    from routelab.evaluators.compliance import DEFAULT_RULES, compliance

    rules = rules or DEFAULT_RULES
    if requests is None:
        requests = compliance_requests(store, pii=pii, rules=rules, slices=slices)
    documents = []
    for ref in refs:
        result = compliance(
            queries.decisions(store, ref),
            requests,
            version_models(store, ref),
            by_period=by,
            examples=examples,
            rules=rules,
            slices=slices,
        )
        document = result.model_dump(mode="json")
        if save:
            params = {**result.params.model_dump(mode="json"), **results.run_stamp(store, [ref])}
            results.save(store, "compliance", [ref], params, document)
        documents.append(document)
    return {"versions": documents}


def compare_compliance_stored(
    store: Any, base: str, candidate: str, *, examples: int = 5, requests: Any = None
) -> dict[str, Any]:
    """Both versions' breach totals and their paired difference: the `compliance` key of `compare --json`."""
    from routelab.evaluators.compliance import compare_compliance

    requests = compliance_requests(store) if requests is None else requests
    flags = [stored_flags(store, ref, requests) for ref in (base, candidate)]
    return compare_compliance(flags[0], flags[1], examples=examples).model_dump(mode="json")


def compliance_timeline_stored(
    store: Any, ref: str, *, by: str = "week", requests: Any = None
) -> list[dict[str, Any]]:
    """Breach counts of a version per week or day: the `compliance_timeline` of `drift --json`."""
    from routelab.datasets import queries
    from routelab.evaluators.compliance import compliance

    requests = compliance_requests(store, slices=()) if requests is None else requests
    result = compliance(
        queries.decisions(store, ref),
        requests,
        version_models(store, ref),
        by_period=by,  # type: ignore[arg-type]  # the CLI restricts it to week or day
        slices=(),
    )
    return [p.model_dump(mode="json") for p in result.periods]
