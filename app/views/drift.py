"""Drift: the timeline of one version, the windows' drifted measures, and the alarms with their evidence."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from routelab.app.views.auth import require
from routelab.app.views.charts import timeline
from routelab.app.views.context import drift, fingerprint, pick_versions, store
from routelab.app.views.requests import selectable, show_requests
from routelab.reports.formatting import p_text

COMPONENTS = ("model", "tier", "retrieval", "cache", "escalation", "action")


def _charts(periods: list[dict[str, Any]]) -> None:
    left, right = st.columns(2)
    left.plotly_chart(
        timeline(periods, "accuracy", "Accuracy (annotated)", ("ci_low", "ci_high")), width="stretch"
    )
    right.plotly_chart(timeline(periods, "cost_per_1k_usd", "Cost per 1,000 requests (USD)"), width="stretch")
    left.plotly_chart(timeline(periods, "latency_p95_ms", "Latency p95 (ms)"), width="stretch")
    right.plotly_chart(
        timeline(periods, "fallback_rate", "Fallback rate (production)", ("ci_low", "ci_high")),
        width="stretch",
    )
    component = st.segmented_control("Route shares of", COMPONENTS, default="model", key="drift_component")
    shares = pd.DataFrame(
        [
            {"period": p["label"], "value": value, "share": share}
            for p in periods
            for value, share in p["route_shares"].get(component or "model", {}).items()
        ]
    )
    if len(shares):
        st.bar_chart(shares, x="period", y="share", color="value", height=300)


def _windows(doc: dict[str, Any]) -> None:
    rows = [
        {
            "window": w["window"]["label"] + (" (in reference)" if w["excluded"] else ""),
            "requests": w["n_current"],
            "accuracy": w["accuracy"]["current"]["value"],
            "reference accuracy": w["accuracy"]["reference"]["value"],
            "drifted measures": len(w["flagged"]),
        }
        for w in doc["windows"]
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    for w in doc["windows"]:
        if w["flagged"]:
            with st.expander(f"{w['window']['label']}: {len(w['flagged'])} drifted measure(s)"):
                st.text("\n".join(w["flagged"]))


def _alarms(doc: dict[str, Any]) -> None:
    alarms = doc["alarms"]
    st.subheader(f"Silent routing failures: {len(alarms)}")
    st.caption(
        f"Benjamini–Hochberg over {doc['n_slices_tested']:,} slice tests "
        f"(FDR {doc['params']['alarms']['fdr']}); "
        "a slice alarms when its path mix shifted and it got worse. Most impact first; "
        "select one for its requests."
    )
    if not alarms:
        st.success("No alarm stands.")
        return
    table = pd.DataFrame(
        [
            {
                "window": a["window"],
                "slice": f"{a['slice_field']} = {a['slice_value']}",
                "requests": a["n_current"],
                "on another path": a["shift"],
                "harms": "; ".join(
                    f"{h['metric']} {h['reference']:.3g} → {h['current']:.3g} "
                    f"({p_text(h['p_value'], spaced=True)})"
                    for h in a["harms"]
                ),
                "more wrong": a["extra_wrong"],
                "extra USD": a["extra_cost_usd"],
                "adjusted p": a["p_adjusted"],
            }
            for a in alarms
        ]
    )
    picked = selectable(table, "drift_alarms", percent="on another path", scientific=["adjusted p"])
    if picked is not None:
        alarm = alarms[picked]
        st.markdown(
            f"**Evidence: {alarm['slice_field']} = {alarm['slice_value']} in {alarm['window']}** "
            f"(reference {alarm['reference']})"
        )
        st.dataframe(pd.DataFrame(alarm["moves"]), hide_index=True)
        show_requests(store(), alarm["examples"])


def render() -> None:
    """The Drift page."""
    require("viewer")
    st.title("Drift and silent routing failures")
    (ref,) = pick_versions("Version", 1, "drift_version")
    by = st.segmented_control("Periods", ("week", "day"), default="week", key="drift_by") or "week"
    doc = drift(ref, by, fingerprint())
    _charts(doc["timeline"]["periods"])
    st.subheader("Windows against the reference")
    _windows(doc)
    _alarms(doc)


if __name__ == "__main__":
    render()
