"""Compliance from the store: read the requests (PII found inside DuckDB, cached) and each version's models.

The evaluator (`evaluators.compliance`) is pure; this is the one place that feeds it from the store, for
`routelab compliance`, the `compliance` key of `compare --json`, the `compliance_timeline` of `drift --json`
and the report bundle.

**PII in DuckDB, once.** Scanning prompts in Python costs about 0.6 ms a prompt; the same per-type checks
compiled by `router_core.pii.has_pii_sql` (the SQL engine's twin of `has_pii`, guarded by one
`has_any_pii_sql` regex so a prompt without any candidate costs one regex call) run about 25 times faster
inside DuckDB, and `datasets.pii_cache` keeps their result per request, so only new or rewritten prompts are
scanned again (a million prompts: about 40 s the first time, then a join). The query returns the type names
as a `pii_types` column, which the evaluator takes instead of scanning the prompt; `pii="python"` passes the
prompts instead (the tests check that both give the same result).

**Decisions.** The flags read six decision columns; a caller that has loaded a version's decisions already
(`compare` has) passes them as ``decisions={ref: frame}`` and they are not read again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

#: Request fields every compliance check reads; slice fields are added.
REQUEST_FIELDS = ("ts", "workflow", "data_class", "region", "attrs.pii_types")
#: Decision columns the flags read (`evaluators.compliance_flags.flag_breaches`).
DECISION_FIELDS = ("router", "request_id", "model", "action", "escalation", "fallbacks")
PiiEngine = Literal["sql", "python"]


def compliance_requests(
    store: Any, *, pii: PiiEngine = "sql", rules: Any = None, slices: Sequence[str] = ("workflow",)
) -> Any:
    """request_id, ts, workflow, data_class, region, attrs.pii_types, the slices and the PII.

    With ``pii="sql"`` the PII comes as a `pii_types` column from the PII cache (`datasets.pii_cache`,
    scanning the prompts it lacks in DuckDB); with ``"python"`` the prompt is returned and the evaluator
    scans it. The cache holds every type the detector knows, whatever `rules` count: the evaluator keeps
    only the types `rules` name, so one cache serves every rule set (`rules` is accepted for that reason).

    Raises:
        DatasetError: an unknown slice field (naming the known ones).
    """
    from routelab.datasets import pii_cache, queries
    from routelab.router_core.pii import PiiType

    fields = list(dict.fromkeys([*REQUEST_FIELDS, *slices, *(["prompt"] if pii == "python" else [])]))
    if pii != "sql":
        return queries.requests(store, fields)
    query, names = queries.request_select(fields)
    cached = pii_cache.pii_types(store, tuple(PiiType))
    sql = (
        f"SELECT q.*, p.pii_types FROM ({query.sql}) q "
        f"LEFT JOIN ({cached.query.sql}) p ON p.request_id = q.request_id ORDER BY q.request_id"
    )
    joined = queries.Query(sql, [*query.params, *cached.query.params])
    return queries.run(store, joined, [*names, "pii_types"], "requests with their PII")


def version_models(store: Any, ref: str) -> dict[str, Any]:
    """Model id → `ModelSpec` of a registered version (boundary and regions are what compliance reads)."""
    from routelab.datasets import routers

    return {m.id: m for m in routers.get(store, ref).config.models}


def version_decisions(store: Any, ref: str, decisions: Mapping[str, Any] | None = None) -> Any:
    """The decisions of `ref` the flags read: ``decisions[ref]`` when the caller has it, else from the store.

    Raises:
        NotFoundError: the version has no decisions.
    """
    from routelab.datasets import queries

    if decisions is not None and ref in decisions:
        return decisions[ref]
    sql = queries.select_sql("decisions", DECISION_FIELDS, ["router = ?"], ["request_id"])
    frame = queries.run(store, queries.Query(sql, [ref]), DECISION_FIELDS, f"decisions of {ref}")
    return frame if len(frame) else queries.decisions(store, ref)  # raises, naming the replayed versions


def stored_flags(
    store: Any,
    ref: str,
    requests: Any,
    *,
    rules: Any = None,
    carry: Sequence[str] = (),
    decisions: Mapping[str, Any] | None = None,
) -> Any:
    """`flag_breaches` of a replayed version over `requests` (from `compliance_requests`).

    `decisions` maps versions to their already-loaded decisions (`queries.decisions`); others are read.
    """
    from routelab.evaluators.compliance import DEFAULT_RULES, flag_breaches

    return flag_breaches(
        version_decisions(store, ref, decisions),
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
    decisions: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The compliance result of each version (`routelab compliance --json`): ``{"versions": [...]}``.

    Each result is saved in `eval_results` (kind ``compliance``) when `save`. `requests` is
    `compliance_requests`' frame and `decisions` maps versions to their loaded decisions, when the caller
    has them already.
    """
    from routelab.datasets import results
    from routelab.evaluators.compliance import DEFAULT_RULES, compliance

    rules = rules or DEFAULT_RULES
    if requests is None:
        requests = compliance_requests(store, pii=pii, rules=rules, slices=slices)
    documents = []
    for ref in refs:
        result = compliance(
            version_decisions(store, ref, decisions),
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
    store: Any,
    base: str,
    candidate: str,
    *,
    examples: int = 5,
    requests: Any = None,
    decisions: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Both versions' breach totals and their paired difference: the `compliance` key of `compare --json`.

    `requests` (`compliance_requests`) and `decisions` (version → loaded decisions) are read from the store
    when not given.
    """
    from routelab.evaluators.compliance import compare_compliance

    requests = compliance_requests(store) if requests is None else requests
    flags = [stored_flags(store, ref, requests, decisions=decisions) for ref in (base, candidate)]
    return compare_compliance(flags[0], flags[1], examples=examples).model_dump(mode="json")


def compliance_timeline_stored(
    store: Any,
    ref: str,
    *,
    by: str = "week",
    requests: Any = None,
    decisions: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Breach counts of a version per week or day: the `compliance_timeline` of `drift --json`."""
    from routelab.evaluators.compliance import compliance

    requests = compliance_requests(store, slices=()) if requests is None else requests
    result = compliance(
        version_decisions(store, ref, decisions),
        requests,
        version_models(store, ref),
        by_period=by,  # type: ignore[arg-type]  # the CLI restricts it to week or day
        slices=(),
    )
    return [p.model_dump(mode="json") for p in result.periods]


def compliance_timeline_counted(
    store: Any, ref: str, *, by: str = "week", partitions: int | None = None
) -> list[dict[str, Any]]:
    """`compliance_timeline_stored` counted inside DuckDB: the same periods, without loading the version.

    Decisions are grouped by day and everything the flags read (`datasets.drift_sql.compliance_groups`,
    in `partitions` passes; None: `app.drift_store.partitions_for` the version's decisions); each group
    is flagged once as if it were one request and counted with its size
    (`evaluators.compliance.periods_counted`).
    """
    import pandas as pd

    from routelab.datasets import drift_sql, pii_cache
    from routelab.evaluators.compliance import DEFAULT_RULES, flag_breaches, periods_counted
    from routelab.router_core.pii import PiiType

    cached = pii_cache.pii_types(store, tuple(PiiType))
    pii = (cached.query.sql, list(cached.query.params))
    if partitions is None:
        from routelab.app.drift_store import partitions_for

        decided = store.scalar("SELECT count(*) FROM decisions WHERE router = ?", [ref])
        partitions = partitions_for(int(decided or 0))
    groups = drift_sql.compliance_groups(store, ref, pii, partitions)
    if groups.empty:
        version_decisions(store, ref)  # raises, naming the replayed versions, when there is no decision
    keys = [f"g{i:09d}" for i in range(len(groups))]
    request_cols = [*drift_sql.COMPLIANCE_REQUEST_FIELDS, "pii_types"]
    requests = pd.DataFrame({"request_id": keys, **{c: groups[c].to_numpy() for c in request_cols}})
    decisions = pd.DataFrame(
        {
            "router": ref,
            "request_id": keys,
            **{c: groups[c].to_numpy() for c in drift_sql.COMPLIANCE_DECISION_FIELDS},
        }
    )
    flags = flag_breaches(decisions, requests, version_models(store, ref), rules=DEFAULT_RULES)
    info = groups[["day", "n", "ids"]].assign(key=keys)
    periods = periods_counted(flags, info, by)  # type: ignore[arg-type]  # the CLI restricts it to week or day
    return [p.model_dump(mode="json") for p in periods]


def compare_compliance_counted(
    store: Any, base: str, candidate: str, *, examples: int = 5, pairing: Any = None
) -> dict[str, Any]:
    """`compare_compliance_stored` counted inside DuckDB: the same document, without loading any version.

    Requests are grouped by everything the flags read (`datasets.paired_sql.PairedTable.compliance_groups`:
    data class, region, PII, and each version's model, action, escalation and fallbacks); each group is
    flagged once as if it were one request and counted with its size
    (`evaluators.compliance.compare_compliance_counts`). `pairing` is an open `paired_store.Pairing` (with
    compliance) to count over; without one, both versions are joined here.
    """
    if pairing is None:
        from routelab.app.paired_store import open_pairing

        with open_pairing(store, base, candidate, compliance=True) as opened:
            return compare_compliance_counted(store, base, candidate, examples=examples, pairing=opened)
    import pandas as pd

    from routelab.datasets import paired_sql
    from routelab.evaluators.compliance import DEFAULT_RULES, compare_compliance_counts, flag_breaches

    groups = pairing.compliance_groups(examples)
    keys = [f"g{i:09d}" for i in range(len(groups))]
    requests = pd.DataFrame(
        {"request_id": keys, **{c: groups[c] for c in paired_sql.COMPLIANCE_REQUEST_COLUMNS}}
    )
    flags = []
    for ref, side in ((base, "b"), (candidate, "c")):
        has = groups[f"has_{side}"].to_numpy(dtype=bool)
        decisions = pd.DataFrame(
            {
                "router": ref,
                "request_id": [k for k, h in zip(keys, has, strict=True) if h],
                **{
                    c: groups.loc[has, f"{c}_{side}"].to_numpy()
                    for c in paired_sql.COMPLIANCE_DECISION_COLUMNS
                },
            }
        )
        flags.append(flag_breaches(decisions, requests, version_models(store, ref), rules=DEFAULT_RULES))
    info = groups[["n", "has_b", "has_c", "ids"]].assign(key=keys)
    return compare_compliance_counts(flags[0], flags[1], info, examples=examples).model_dump(mode="json")
