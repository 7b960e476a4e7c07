"""The report bundle: every evaluator result a leaders' report shows, read from the store in one place.

`reports/` renders a bundle and never touches the store, so a report is a pure function of this document
(saved next to it as JSON): the same inputs give the same report, and its numbers are the evaluators' JSON.

Bundle keys: `meta` (versions, hashes, price tables, data fingerprint, seed, when), `compare` (the `compare
--json` document with its gate), `accuracy` (`eval --json` of both versions by workflow), `drift` (`drift
--json` of the candidate, by week), `frontier` (`frontier --json` of both, or None without full-information
outcomes), `policy` (per version, the decisions each policy changed or flagged), `regressions` (requests
the candidate broke, prompts redacted), `labels` (coverage by workflow and annotator agreement),
`compliance` (`base` and `candidate`: each version's `compliance --json` result by week and workflow,
`delta`: the paired change of its privacy and residency breaches, as in `compare["compliance"]`, and
`examples`: a few breaching requests of the candidate, introduced ones first, each with its kinds, data
class, PII types, both versions' models and its prompt redacted and cut to `BREACH_CHARS`), `ops` (the
operations summary `app.ops_flow.ops_summary` of the store's logged traffic in the candidate's traffic
window, the days of its requests' first and last timestamps (all logged traffic when they carry none): top
prompt groups, failing workflows, fallbacks, teams, caching, budget, notes, five rows each, prompt groups
redacted; fallback spikes cut to `OPS_SPIKES` with `n_fallback_spikes` the full count; and `store_logged`:
the count, first and last timestamp of every logged call in the store, so a report can say why a window is
empty).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

#: Most worst-regression examples a report shows.
REGRESSIONS = 10
#: Characters of a redacted prompt shown per regression.
PROMPT_CHARS = 400
#: Breaching requests of each kind (privacy, residency) shown as examples.
BREACH_EXAMPLES = 3
#: Characters of a redacted prompt shown per breach example.
BREACH_CHARS = 200
#: Fallback spikes kept in the operations summary.
OPS_SPIKES = 5


def _meta(store: Any, base: str, candidate: str, seed: int, at: datetime) -> dict[str, Any]:
    from routelab.datasets import results

    stamp = results.run_stamp(store, [base, candidate])
    tables = {}
    for info in stamp["versions"].values():
        if info and info["price_table_id"] not in tables:
            row = store.execute(
                "SELECT source, as_of, litellm_version FROM price_tables WHERE price_table_id = ?",
                [info["price_table_id"]],
            ).fetchone()
            if row:
                tables[info["price_table_id"]] = {
                    "source": row[0],
                    "as_of": str(row[1]) if row[1] else None,
                    "litellm_version": row[2],
                }
    return {
        "base": base,
        "candidate": candidate,
        "generated_at": at.isoformat(timespec="seconds"),
        "store": str(store.path),
        "seed": seed,
        "data_fingerprint": stamp["data_fingerprint"],
        "versions": stamp["versions"],
        "price_tables": tables,
        "routelab_version": _routelab_version(),
    }


def _routelab_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("routelab")
    except PackageNotFoundError:
        return "unknown"


def _policy(store: Any, refs: Sequence[str]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for ref in refs:
        rows = store.execute(
            "SELECT flag, count(*) FROM (SELECT unnest(policy_flags) AS flag FROM decisions "
            "WHERE router = ?) GROUP BY flag ORDER BY flag",
            [ref],
        ).fetchall()
        out[ref] = {str(r[0]): int(r[1]) for r in rows}
    return out


def _regressions(store: Any, base: str, candidate: str, ids: Sequence[str]) -> list[dict[str, Any]]:
    from routelab.router_core.pii import redact

    if not ids:
        return []
    marks = ", ".join("?" for _ in ids)
    rows = store.df(
        "SELECT r.request_id, r.workflow, r.task, r.prompt, "
        "concat_ws(' | ', coalesce(b.model, '-'), coalesce(b.retrieval, 'none'), b.escalation, b.action) "
        "AS base_path, "
        "concat_ws(' | ', coalesce(c.model, '-'), coalesce(c.retrieval, 'none'), c.escalation, c.action) "
        "AS cand_path, "
        "c.est_cost_usd - b.est_cost_usd AS cost_delta_usd "
        "FROM requests r JOIN decisions b ON b.request_id = r.request_id AND b.router = ? "
        f"JOIN decisions c ON c.request_id = r.request_id AND c.router = ? WHERE r.request_id IN ({marks}) "
        "ORDER BY r.request_id",
        [base, candidate, *ids],
    )
    out = []
    for row in rows.to_dict("records"):
        text = redact(row.pop("prompt") or "")
        out.append(
            {**row, "prompt_redacted": text[:PROMPT_CHARS] + ("…" if len(text) > PROMPT_CHARS else "")}
        )
    return out


def _cut(text: str, chars: int) -> str:
    return text[:chars] + ("…" if len(text) > chars else "")


def _breach_examples(
    store: Any, base: str, candidate: str, compliance: dict[str, Any], scanned: Any
) -> list[dict[str, Any]]:
    """A few breaching requests of the candidate per kind: those it introduced, else any of its own."""
    from routelab.router_core.pii import redact

    picked: dict[str, dict[str, Any]] = {}
    for kind in ("privacy", "residency"):
        introduced = list(compliance["delta"][kind]["examples"])
        ids = introduced or list(compliance["candidate"]["totals"][kind]["examples"])
        for rid in ids[:BREACH_EXAMPLES]:
            row = picked.setdefault(rid, {"request_id": rid, "kinds": [], "introduced": False})
            row["kinds"].append(kind)
            row["introduced"] = row["introduced"] or rid in introduced
    if not picked:
        return []
    marks = ", ".join("?" for _ in picked)
    rows = store.df(
        "SELECT r.request_id, r.workflow, r.data_class, r.region, r.prompt, b.model AS base_model, "
        "c.model AS cand_model, c.fallbacks AS cand_fallbacks, c.action AS cand_action FROM requests r "
        "LEFT JOIN decisions b ON b.request_id = r.request_id AND b.router = ? "
        "JOIN decisions c ON c.request_id = r.request_id AND c.router = ? "
        f"WHERE r.request_id IN ({marks}) ORDER BY r.request_id",
        [base, candidate, *picked],
    )
    found = scanned[scanned["request_id"].isin(list(picked))].set_index("request_id")
    out = []
    for row in rows.to_dict("records"):
        rid = row["request_id"]
        pii: list[str] = []
        if rid in found.index:
            for column in ("pii_types", "attrs.pii_types"):
                value = found.at[rid, column] if column in found.columns else None
                if isinstance(value, str) and value:
                    pii += [t.strip() for t in value.split(",") if t.strip() and t.strip() not in pii]
        fallbacks = row.pop("cand_fallbacks")
        out.append(
            {
                **picked[rid],
                **{k: row[k] for k in ("workflow", "data_class", "region", "base_model", "cand_model")},
                "cand_fallbacks": [str(f) for f in fallbacks] if fallbacks is not None else [],
                "cand_action": row["cand_action"],
                "pii_types": pii,
                "prompt_redacted": _cut(redact(row["prompt"] or ""), BREACH_CHARS),
            }
        )
    return sorted(out, key=lambda r: (not r["introduced"], r["request_id"]))


def _ops(store: Any, candidate: str, budgets: Mapping[str, float] | None = None) -> dict[str, Any]:
    """`ops_summary` over the candidate's traffic window, trimmed and with prompt groups redacted."""
    from routelab.app.ops_flow import logged_span, ops_summary
    from routelab.router_core.pii import redact

    first, last = store.execute(
        "SELECT min(r.ts), max(r.ts) FROM decisions d JOIN requests r USING (request_id) WHERE d.router = ?",
        [candidate],
    ).fetchone()
    n, first_logged, last_logged = logged_span(store)
    since, until = (first.date(), last.date()) if first is not None else (None, None)
    summary = ops_summary(store, since, until, budgets=budgets)
    spikes = summary["fallback_spikes"]
    return {
        **summary,
        "expensive_prompts": [
            {**row, "prompt_group": redact(row["prompt_group"]) if row["prompt_group"] else None}
            for row in summary["expensive_prompts"]
        ],
        "fallback_spikes": spikes[:OPS_SPIKES],
        "n_fallback_spikes": len(spikes),
        "store_logged": {
            "n": n,
            "first_ts": None if first_logged is None else first_logged.isoformat(),
            "last_ts": None if last_logged is None else last_logged.isoformat(),
        },
    }


def _labels(store: Any) -> dict[str, Any]:
    from routelab.evaluators.agreement import agreement

    coverage = store.df(
        "SELECT coalesce(r.workflow, '(missing)') AS workflow, count(*) AS requests, "
        "count(coalesce(l.request_id, a.request_id)) AS labelled FROM requests r "
        "LEFT JOIN labels l USING (request_id) "
        "LEFT JOIN (SELECT DISTINCT request_id FROM annotations_current) a USING (request_id) "
        "GROUP BY ALL ORDER BY requests DESC"
    )
    annotations = store.df("SELECT * FROM annotations_current")
    return {
        "coverage": coverage.to_dict("records"),
        "agreement": agreement(annotations).model_dump(mode="json"),
    }


def _trimmed(drift: dict[str, Any]) -> dict[str, Any]:
    """The drift document with only the drifted route-mix and outcome rows (the rest is `drift --json`'s)."""
    windows = [
        {
            **w,
            "route_mix": [r for r in w["route_mix"] if r["drifted"]],
            "outcomes": [o for o in w["outcomes"] if o["drifted"] or o["slice_field"] == "all"],
        }
        for w in drift["windows"]
    ]
    return {**drift, "windows": windows}


def report_bundle(
    store: Any,
    base: str,
    candidate: str,
    *,
    conditions: Sequence[Any] = (),
    seed: int = 0,
    at: datetime,
    budgets: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """Everything the report of `base` → `candidate` shows (module docstring); nothing is saved.

    `budgets` (team → monthly USD, `ops_flow.load_budgets`) fills the operations section's budget table.
    """
    from routelab.app.compliance_flow import compliance_requests, compliance_stored
    from routelab.app.frontier_flow import frontier_stored
    from routelab.app.workflows import compare_stored_versions, drift_stored_version, evaluate_stored_version
    from routelab.datasets import queries
    from routelab.datasets.errors import DatasetError

    scanned = compliance_requests(store)  # the PII of every request: once for compare, drift, compliance
    loaded = {ref: queries.decisions(store, ref) for ref in (base, candidate)}  # for the compliance section
    compare = compare_stored_versions(
        store, base, candidate, by=["workflow"], conditions=conditions, seed=seed, save=False
    )
    accuracy = {
        side: evaluate_stored_version(store, ref, by=["workflow"], save=False).model_dump(mode="json")
        for side, ref in (("base", base), ("candidate", candidate))
    }
    try:
        frontier: dict[str, Any] | None = frontier_stored(store, [base, candidate], save=False)
    except DatasetError:
        frontier = None  # no full-information outcomes: the report says so
    broken = compare["flips"]["buckets"].get("broken", {}).get("examples", [])[:REGRESSIONS]
    base_compliance, cand_compliance = compliance_stored(
        store, [base, candidate], save=False, requests=scanned, decisions=loaded
    )["versions"]
    compliance = {
        "base": base_compliance,
        "candidate": cand_compliance,
        "delta": compare["compliance"]["delta"],
    }
    return {
        "meta": _meta(store, base, candidate, seed, at),
        "compare": compare,
        "accuracy": accuracy,
        "drift": _trimmed(drift_stored_version(store, candidate, save=False, compliance_requests=scanned)),
        "frontier": frontier,
        "policy": _policy(store, [base, candidate]),
        "regressions": _regressions(store, base, candidate, broken),
        "labels": _labels(store),
        "compliance": {
            **compliance,
            "examples": _breach_examples(store, base, candidate, compliance, scanned),
        },
        "ops": _ops(store, candidate, budgets),
    }
