"""Frontier: cost against quality per evaluation group: every single model, the oracle, the random router,
the Pareto frontier and every replayed version, from full-information outcomes (`routelab frontier`)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from routelab.app.views.auth import require
from routelab.app.views.context import fingerprint, store


@st.cache_data(show_spinner="Placing the versions…", max_entries=8)
def frontier_document(data_key: str) -> dict[str, Any]:
    """`frontier_stored` for every replayed version (not saved), cached per data fingerprint."""
    from routelab.app.frontier_flow import frontier_stored

    return frontier_stored(store(), save=False)


def points(group: dict[str, Any]) -> pd.DataFrame:
    """One row per single model, baseline and version point of a group."""
    rows = [{"name": m, "kind": "single model", **p} for m, p in group["models"].items()]
    rows.append({"name": "oracle", "kind": "baseline", **group["oracle"]})
    rows.append({"name": "random (expected)", "kind": "baseline", **group["random"]})
    for ref, version in group["versions"].items():
        for k, p in enumerate(version["points"]):
            name = ref if len(version["points"]) == 1 else f"{ref} #{k}"
            rows.append({"name": name, "kind": "router version", **p})
    return pd.DataFrame(rows)[["name", "kind", "quality", "cost_per_1k_usd", "cost_usd", "n"]]


def render() -> None:
    """The Frontier page."""
    require("viewer")
    import plotly.express as px

    from routelab.datasets.errors import DatasetError

    st.title("Cost–quality frontier")
    try:
        doc = frontier_document(fingerprint())
    except DatasetError as exc:
        st.info(str(exc))
        st.stop()
    name = st.segmented_control("Evaluation group", list(doc["groups"]), default=next(iter(doc["groups"])))
    group = doc["groups"][name or next(iter(doc["groups"]))]
    frame = points(group)
    figure = px.scatter(
        frame, x="cost_per_1k_usd", y="quality", color="kind", hover_name="name",
        labels={"cost_per_1k_usd": "cost per 1,000 requests (USD)", "quality": "mean quality"},
    )  # fmt: skip
    pareto = (
        frame.set_index("name")
        .reindex([p.removeprefix("model:").removeprefix("version:") for p in group["pareto"]])
        .dropna(subset=["quality"])
    )
    figure.add_scatter(x=pareto["cost_per_1k_usd"], y=pareto["quality"], mode="lines", name="Pareto frontier",
                       line={"dash": "dot"})  # fmt: skip
    figure.update_layout(height=520)
    st.plotly_chart(figure, width="stretch")
    aiq = group["zero_router_aiq"]
    st.caption(
        f"{group['n_requests']:,} requests with every model scored ({group['n_dropped']:,} dropped). "
        f"Best single model: {group['best_single']}. Zero-router AIQ ({group['aiq_variant']}): "
        + (f"{aiq:.4f}." if aiq is not None else "n/a.")
        + " Oracle: the best model per request, the cheapest on ties."
    )
    versions = pd.DataFrame(
        [
            {
                "version": ref,
                "quality": v["quality"]["value"] if v["quality"] else None,
                "95 % CI": f"[{v['quality']['ci_low']:.4f}, {v['quality']['ci_high']:.4f}]"
                if v["quality"]
                else "",
                "oracle gap": v["oracle_gap"],
                "vs best single": v["improvement_over_best_single"],
                "AIQ": v["aiq"],
            }
            for ref, v in group["versions"].items()
        ]
    )
    st.dataframe(versions, hide_index=True, width="stretch")
    st.dataframe(frame.sort_values("cost_per_1k_usd"), hide_index=True, width="stretch")


if __name__ == "__main__":
    render()
