"""Frontier: cost against quality for every replayed version and every single model, with the oracle and
the Pareto frontier, from full-information outcomes (every candidate model scored on every request)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from routelab.app.views.context import store


def points() -> pd.DataFrame:
    """One row per version, single model and the oracle: quality, cost per 1,000 requests, requests scored."""
    s = store()
    models = s.df(
        "SELECT model AS name, 'single model' AS kind, avg(quality) AS quality, "
        "1000 * avg(cost_usd) AS cost_per_1k, "
        "count(*) AS n FROM outcomes WHERE kind = 'full' AND quality IS NOT NULL GROUP BY model"
    )
    versions = s.df(
        "SELECT d.router AS name, 'router version' AS kind, avg(o.quality) AS quality, "
        "1000 * avg(o.cost_usd) AS cost_per_1k, count(*) AS n FROM decisions d JOIN outcomes o "
        "ON o.request_id = d.request_id AND o.model = d.model AND o.kind = 'full' "
        "WHERE o.quality IS NOT NULL GROUP BY d.router"
    )
    oracle = s.df(
        "SELECT 'oracle' AS name, 'baseline' AS kind, avg(quality) AS quality, "
        "1000 * avg(cost_usd) AS cost_per_1k, count(*) AS n FROM (SELECT request_id, quality, cost_usd, "
        "row_number() OVER (PARTITION BY request_id ORDER BY quality DESC, cost_usd ASC) AS k "
        "FROM outcomes WHERE kind = 'full' AND quality IS NOT NULL) "
        "WHERE k = 1"
    )
    return pd.concat([models, versions, oracle], ignore_index=True)


def pareto(frame: pd.DataFrame) -> pd.DataFrame:
    """The points no other point beats on both cost (lower) and quality (higher), by cost."""
    ordered = frame.sort_values(["cost_per_1k", "quality"], ascending=[True, False])
    best, keep = -1.0, []
    for i, row in ordered.iterrows():
        if row["quality"] > best:
            keep.append(i)
            best = row["quality"]
    return ordered.loc[keep]


def render() -> None:
    """The Frontier page."""
    import plotly.express as px

    st.title("Cost–quality frontier")
    frame = points()
    if frame.empty or frame["n"].fillna(0).sum() == 0:
        st.info(
            "No full-information outcomes in the store: import them "
            "(`routelab import FILE --format outcomes` "
            "or `--format routerbench`) to see the frontier."
        )
        st.stop()
    front = pareto(frame)
    figure = px.scatter(
        frame,
        x="cost_per_1k",
        y="quality",
        color="kind",
        hover_name="name",
        text="name",
        labels={"cost_per_1k": "cost per 1,000 requests (USD)", "quality": "mean quality"},
    )
    figure.add_scatter(
        x=front["cost_per_1k"], y=front["quality"], mode="lines", name="Pareto frontier", line={"dash": "dot"}
    )
    figure.update_traces(textposition="top center", selector={"mode": "markers+text"})
    figure.update_layout(height=520)
    st.plotly_chart(figure, width="stretch")
    best = frame[frame["kind"] == "single model"].sort_values("quality", ascending=False).head(1)
    st.caption(
        "Quality is the mean outcome quality of the path each version chose (its model's full-information "
        "outcome); the oracle takes the best model per request, the cheapest on ties. "
        + (f"Best single model: {best['name'].iloc[0]} ({best['quality'].iloc[0]:.3f})." if len(best) else "")
    )
    st.dataframe(frame.sort_values("cost_per_1k"), hide_index=True, width="stretch")


if __name__ == "__main__":
    render()
