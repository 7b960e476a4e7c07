"""Evidence tables from the frontier, drift, policy and label documents, and the method notes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from routelab.reports.formatting import Text, derived, num, path
from routelab.reports.risks import HARM_UNITS
from routelab.reports.tables import Table, est, table
from routelab.reports.verdict import LATEST_WINDOWS, PRIVACY_FLAGS

#: Alarms listed in the alarm table.
TOP_ALARMS = 20


def frontier(bundle: Mapping[str, Any]) -> list[Table]:
    """Per evaluation group: each version, the oracle, the random router and the best single model."""
    doc = bundle.get("frontier")
    if not doc:
        return []
    out = []
    for name, group in doc["groups"].items():
        g = path("frontier", "groups", name)
        rows: list[list[Any]] = []
        for ref in group["versions"]:
            v = f"{g}.versions.{path(ref)}"
            rows.append(
                [
                    ref,
                    est(bundle, f"{v}.quality", "ratio"),
                    num(bundle, f"{v}.points.0.cost_per_1k_usd", "usd"),
                    num(bundle, f"{v}.oracle_gap", "ratio", True),
                    num(bundle, f"{v}.improvement_over_best_single", "ratio", True),
                    num(bundle, f"{v}.aiq", "ratio"),
                ]
            )
        best = group.get("best_single")
        baselines = [("oracle", f"{g}.oracle"), ("random (expected)", f"{g}.random")]
        if best in group["models"]:
            baselines.append((f"best single: {best}", f"{g}.models.{path(best)}"))
        for label, at in baselines:
            rows.append(
                [
                    label,
                    num(bundle, f"{at}.quality", "ratio"),
                    num(bundle, f"{at}.cost_per_1k_usd", "usd"),
                    None,
                    None,
                    None,
                ]
            )
        zero = num(bundle, f"{g}.zero_router_aiq", "ratio")
        rows.append(["zero router (mixes of single models)", None, None, None, None, zero])
        caption = (
            f"Evaluation group {name}: {group['n_requests']:,} requests scored for every model. AIQ "
            f"({group.get('aiq_variant', 'paper')} variant): area under the cost–quality hull, normalised by "
            "the cost range."
        )
        columns = ("router", "quality [95 % interval]", "$/1k", "oracle gap", "vs best single", "AIQ")
        out.append(table(f"frontier-{name}", caption, columns, rows))
    return out


def windows(bundle: Mapping[str, Any]) -> Table:
    """The candidate's drift windows: traffic, accuracy against the reference, drifted measures."""
    rows = []
    for i, w in enumerate(bundle["drift"].get("windows") or []):
        at = path("drift", "windows", i)
        rows.append(
            [
                w["window"]["label"],
                num(bundle, f"{at}.n_current", "count"),
                est(bundle, f"{at}.accuracy.current", "rate"),
                est(bundle, f"{at}.accuracy.reference", "rate"),
                derived(len(w.get("flagged") or []), "count"),
            ]
        )
    return table(
        "drift-windows",
        "Each window against the reference weeks (windows inside the reference are compared with the "
        "reference without themselves). Accuracy with Wilson 95 % intervals.",
        ("window", "requests", "accuracy", "reference accuracy", "drifted measures"),
        rows,
    )


def alarms(bundle: Mapping[str, Any]) -> Table | None:
    """The silent-failure alarms, most impact first."""
    items = bundle["drift"].get("alarms") or []
    labels = [w["window"]["label"] for w in bundle["drift"].get("windows") or []]
    rows = []
    for i, alarm in enumerate(items[:TOP_ALARMS]):
        at = path("drift", "alarms", i)
        harms: list[Any] = []
        for j, harm in enumerate(alarm.get("harms") or []):
            unit = HARM_UNITS.get(harm["metric"], "num")
            h = f"{at}.harms.{j}"
            harms += ["; " if harms else "", harm["metric"].replace("_", " "), " "]
            harms += [num(bundle, f"{h}.reference", unit), " → ", num(bundle, f"{h}.current", unit)]
        live = " (latest)" if alarm["window"] in labels[-LATEST_WINDOWS:] else ""
        rows.append(
            [
                alarm["window"] + live,
                f"{alarm['slice_field']} = {alarm['slice_value']}",
                num(bundle, f"{at}.n_current", "count"),
                num(bundle, f"{at}.shift", "rate"),
                harms,
                num(bundle, f"{at}.p_adjusted", "p"),
            ]
        )
    if not rows:
        return None
    more = f" The first {TOP_ALARMS} of {len(items)}." if len(items) > TOP_ALARMS else ""
    return table(
        "alarms",
        "Silent routing failures: a slice whose path mix shifted and that got worse (shift and harm tests "
        "joined, Benjamini–Hochberg over every slice of every window)." + more,
        ("window", "slice", "requests", "on another path", "harms", "adj. p"),
        rows,
    )


def policy(bundle: Mapping[str, Any]) -> Table | None:
    """Decisions each policy changed or flagged, per version."""
    meta, doc = bundle["meta"], bundle["policy"]
    base, cand = doc.get(meta["base"]) or {}, doc.get(meta["candidate"]) or {}
    rows = []
    for flag in sorted(set(base) | set(cand)):
        cells = [
            num(bundle, path("policy", ref, flag), "count") if flag in side else derived(0, "count")
            for ref, side in ((meta["base"], base), (meta["candidate"], cand))
        ]
        change = derived(cand.get(flag, 0) - base.get(flag, 0), "count", signed=True)
        kind = "privacy / residency" if PRIVACY_FLAGS.search(flag) else ""
        rows.append([flag, *cells, change, kind])
    if not rows:
        return None
    return table(
        "policy",
        "Decisions each policy changed or flagged (by policy id). A privacy or residency flag means the "
        "router's own choice broke the policy and the policy layer corrected it.",
        ("policy", meta["base"], meta["candidate"], "change", "kind"),
        rows,
    )


def coverage(bundle: Mapping[str, Any]) -> Table:
    """Labelled requests (imported labels or annotations) by workflow."""
    rows = []
    for i, row in enumerate(bundle["labels"].get("coverage") or []):
        share = row["labelled"] / row["requests"] if row["requests"] else None
        at = path("labels", "coverage", i)
        rows.append(
            [
                str(row["workflow"]),
                num(bundle, f"{at}.requests", "count"),
                num(bundle, f"{at}.labelled", "count"),
                derived(share, "rate"),
            ]
        )
    return table(
        "coverage",
        "Requests with an imported label or an annotation, by workflow.",
        ("workflow", "requests", "labelled", "share"),
        rows,
    )


def agreement(bundle: Mapping[str, Any]) -> list[Table]:
    """Krippendorff's alpha per component, Cohen's kappa per annotator pair, and each annotator."""
    doc = bundle["labels"].get("agreement") or {}
    out = []
    alpha_rows = [
        [
            component,
            num(bundle, path("labels", "agreement", "alpha", component, "alpha"), "ratio"),
            str(a.get("band")),
            num(bundle, path("labels", "agreement", "alpha", component, "n_units"), "count"),
            a.get("note") or "",
        ]
        for component, a in (doc.get("alpha") or {}).items()
    ]
    if alpha_rows:
        caption = "Krippendorff's alpha (nominal): ≥ 0.8 reliable, ≥ 0.667 tentative."
        out.append(table("alpha", caption, ("component", "alpha", "band", "requests", "note"), alpha_rows))
    pair_rows = [
        [
            f"{p['annotator_a']} / {p['annotator_b']}",
            p["component"],
            num(bundle, path("labels", "agreement", "pairs", i, "result", "kappa"), "ratio"),
            str(p["result"].get("band")),
            num(bundle, path("labels", "agreement", "pairs", i, "result", "n"), "count"),
        ]
        for i, p in enumerate(doc.get("pairs") or [])
    ]
    if pair_rows:
        caption = "Cohen's kappa per annotator pair (Landis & Koch bands)."
        out.append(
            table("kappa", caption, ("annotators", "component", "kappa", "band", "requests"), pair_rows)
        )
    people = []
    for i, a in enumerate(doc.get("annotators") or []):
        at = path("labels", "agreement", "annotators", i)
        people.append(
            [
                a["annotator"],
                num(bundle, f"{at}.judged", "count"),
                num(bundle, f"{at}.correct", "count"),
                num(bundle, f"{at}.incorrect", "count"),
                num(bundle, f"{at}.unsure", "count"),
                num(bundle, f"{at}.agreement_with_others", "rate"),
            ]
        )
    if people:
        columns = ("annotator", "judged", "correct", "incorrect", "unsure", "agrees with others")
        out.append(table("annotators", "Judgements per annotator.", columns, people))
    return out


def method(bundle: Mapping[str, Any]) -> list[Text]:
    """How the numbers were made and what produced them: so the same inputs give the same report."""
    meta, params = bundle["meta"], bundle["compare"].get("params") or {}
    notes: list[Text] = [
        (
            "Tests: McNemar's test on the discordant pairs for the accuracy delta (exact binomial for "
            "small counts) with Newcombe's paired score interval; Wilson 95 % intervals for rates; paired "
            "bootstrap percentile intervals for cost and latency deltas (",
            num(bundle, "compare.params.n_resamples", "count") if "n_resamples" in params else "n/a",
            f" resamples, seed {params.get('seed', meta['seed'])}); Benjamini–Hochberg false discovery rate "
            "control over slices and drift alarms.",
        ),
        (f"Gold labels: {params.get('gold_rule', 'n/a')}.",),
        (f"Seed of the report: {meta['seed']}. Drift: {'; '.join(bundle['drift'].get('method') or [])}.",),
    ]
    for ref, info in (meta.get("versions") or {}).items():
        info = info or {}
        run, prices = info.get("run_id", "n/a"), info.get("price_table_id", "n/a")
        notes.append(
            (f"{ref}: router hash {info.get('router_hash', 'n/a')}, replay run {run}, prices {prices}.",)
        )
    for table_id, t in (meta.get("price_tables") or {}).items():
        as_of, source, litellm = (t.get(k) or "n/a" for k in ("as_of", "source", "litellm_version"))
        notes.append((f"Price table {table_id}: as of {as_of}, source {source}, litellm {litellm}.",))
    notes.append(
        (
            f"Data fingerprint {meta['data_fingerprint']}; routelab {meta.get('routelab_version', 'n/a')}; "
            f"generated at {meta['generated_at']}. Every marked number is the bundle's value at its "
            "data-metric path (the bundle is saved next to the report as JSON).",
        )
    )
    for source in ("compare", "drift", "frontier"):
        for warning in (bundle[source] or {}).get("warnings") or []:
            notes.append((f"Warning ({source}): {warning}",))
    return notes
