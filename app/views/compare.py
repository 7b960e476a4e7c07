"""Compare: two versions on the same requests, with intervals, the flip Sankey, slices, attribution and
the requests behind any number (select a row)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from routelab.app.views.auth import require
from routelab.app.views.charts import sankey
from routelab.app.views.context import compare, fingerprint, pick_versions, store
from routelab.app.views.requests import selectable
from routelab.reports.formatting import p_text

SLICE_FIELDS = ("task", "workflow", "team", "region", "data_class", "week")


def _est(m: dict[str, Any] | None, fmt: str) -> str:
    if not m or m.get("value") is None:
        return "n/a"
    text = f"{fmt.format(m['value'])} [{fmt.format(m['ci_low'])}, {fmt.format(m['ci_high'])}]"
    return text + (f", {p_text(m['p_value'], spaced=True)}" if m.get("p_value") is not None else "")


def _headline(doc: dict[str, Any]) -> None:
    acc, cost, lat = doc["accuracy"], doc["cost"], doc["latency"]
    cols = st.columns(4)
    cols[0].metric(
        "Accuracy",
        f"{acc['candidate']['value']:.1%}" if acc["candidate"]["value"] is not None else "n/a",
        f"{acc['delta']['value']:+.1%}" if acc["delta"]["value"] is not None else None,
        help=f"Baseline {_est(acc['baseline'], '{:.1%}')}; delta {_est(acc['delta'], '{:+.1%}')}",
    )
    pct = cost.get("delta_pct")
    cols[1].metric(
        "Cost",
        f"${cost['candidate']['value']:,.2f}",
        f"{pct['value']:+.1f} %" if pct and pct.get("value") is not None else None,
        delta_color="inverse",
        help=f"Delta {_est(cost['delta'], '{:+,.2f}')} USD; "
        f"per 1,000 requests {_est(cost['delta_per_1k'], '{:+,.3f}')}",
    )
    p95 = lat.get("p95", {}).get("delta")
    cols[2].metric(
        "Latency p95 delta",
        _est(p95, "{:+,.0f}").split(" [")[0] + " ms" if p95 else "n/a",
        help=f"Estimated, paired bootstrap: {_est(p95, '{:+,.0f}')} ms",
    )
    cols[3].metric(
        "Flip rate", f"{doc['flips']['rate']['value']:.1%}", help=_est(doc["flips"]["rate"], "{:.1%}")
    )
    st.caption(
        f"{doc['baseline']} → {doc['candidate']} on {doc['n']:,} requests "
        f"({doc['flips']['labelled']:,} labelled). "
        f"Accuracy delta {_est(acc['delta'], '{:+.1%}')} (Newcombe interval, McNemar); cost "
        f"{_est(pct, '{:+.1f}')} % (paired bootstrap)."
    )


def _behind(
    base: str, candidate: str, slice_field: str | None, slice_value: str | None, bucket: str | None
) -> None:
    """The requests behind a selected number: both decisions side by side."""
    where, params = ["b.path_key IS DISTINCT FROM c.path_key"], [base, candidate]
    if slice_field and slice_value is not None and slice_field != "week":
        where = [f"coalesce(CAST(r.{slice_field} AS VARCHAR), '(missing)') = ?"]
        params.append(slice_value)
    sql = (
        "WITH d AS (SELECT router, request_id, model, retrieval, escalation, action, est_cost_usd, rule_id, "
        "concat_ws(' | ', coalesce(model, '-'), coalesce(retrieval, 'none'), "
        "coalesce(escalation, 'none'), action) "
        "AS path_key FROM decisions) "
        "SELECT r.request_id, r.workflow, r.task, b.path_key AS baseline_path, c.path_key AS candidate_path, "
        "b.rule_id AS baseline_rule, c.rule_id AS candidate_rule, "
        "c.est_cost_usd - b.est_cost_usd AS cost_delta "
        "FROM requests r JOIN d b ON b.request_id = r.request_id AND b.router = ? "
        "JOIN d c ON c.request_id = r.request_id AND c.router = ? "
        f"WHERE {' AND '.join(where)} ORDER BY r.request_id LIMIT 200"
    )
    rows = store().df(sql, params)
    title = f"{slice_field} = {slice_value}" if slice_value is not None else (bucket or "changed paths")
    st.markdown(f"**Requests behind: {title}** ({len(rows):,} shown, at most 200)")
    st.dataframe(rows, hide_index=True, width="stretch")


def _slices(doc: dict[str, Any], field: str) -> tuple[str | None, str | None]:
    rows = doc["slices"]["by"].get(field, [])
    table = pd.DataFrame(
        [
            {
                field: r["value"],
                "requests": r["n"],
                "labelled": r["labelled"],
                "accuracy Δ": r["accuracy"]["delta"]["value"],
                "95 % CI": _est(r["accuracy"]["delta"], "{:+.1%}").split(", p")[0],
                "adjusted p": r["p_adjusted"],
                "significant": r["significant"],
                "cost Δ USD": (r.get("cost") or {}).get("delta", {}).get("value"),
            }
            for r in rows
        ]
    )
    st.subheader(f"Slices by {field}, ranked by impact")
    st.caption(
        f"{doc['slices']['multiple_testing']} over {doc['slices']['n_tests']} tests. "
        "Select a row for its requests."
    )
    picked = selectable(table, "compare_slices", percent="accuracy Δ", scientific=["adjusted p"])
    return (field, str(table.iloc[picked][field])) if picked is not None else (None, None)


def _attribution(doc: dict[str, Any]) -> None:
    changes = [c for c in doc["attribution"]["changes"] if c["shared"]["flips"]]
    st.subheader("Router changes behind the flips")
    table = pd.DataFrame(
        [
            {
                "change": f"{c['change']['section']}:{c['change']['item']} ({c['change']['change']})",
                "flips": c["shared"]["flips"],
                "fixed": c["shared"].get("fixed"),
                "broken": c["shared"].get("broken"),
                "cost Δ USD": c["shared"]["cost_delta_usd"],
                "examples": ", ".join(c["examples"][:3]),
            }
            for c in changes
        ]
    )
    st.dataframe(table, hide_index=True, width="stretch")


def render() -> None:
    """The Compare page."""
    require("viewer")
    st.title("Compare two versions")
    base, candidate = pick_versions("Version", 2, "compare_versions")
    if base == candidate:
        st.info("Pick two different versions.")
        st.stop()
    field = st.selectbox("Slice by", SLICE_FIELDS, key="compare_by")
    doc = compare(base, candidate, (field,), fingerprint())
    _headline(doc)
    st.subheader("Where requests moved")
    st.plotly_chart(sankey(doc["flips"]["matrix"], base, candidate), width="stretch")
    buckets = pd.DataFrame(
        [
            {"bucket": k, "requests": v["count"], "examples": ", ".join(v["examples"][:3])}
            for k, v in doc["flips"]["buckets"].items()
        ]
    )
    st.dataframe(buckets, hide_index=True, width="stretch")
    slice_field, slice_value = _slices(doc, field)
    _attribution(doc)
    _behind(base, candidate, slice_field, slice_value, None)


if __name__ == "__main__":
    render()
