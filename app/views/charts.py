"""Plotly figures the views share (pure: data in, figure out)."""

from __future__ import annotations

from typing import Any


def sankey(matrix: dict[str, dict[str, int]], base: str, candidate: str, top: int = 12) -> Any:
    """The flip Sankey: base paths on the left, candidate paths on the right, width = requests.

    Paths beyond the `top` busiest on either side are grouped as ``other``.
    """
    import plotly.graph_objects as go

    left_totals = {a: sum(row.values()) for a, row in matrix.items()}
    right_totals: dict[str, int] = {}
    for row in matrix.values():
        for b, n in row.items():
            right_totals[b] = right_totals.get(b, 0) + n
    keep_l = set(sorted(left_totals, key=lambda k: -left_totals[k])[:top])
    keep_r = set(sorted(right_totals, key=lambda k: -right_totals[k])[:top])
    flows: dict[tuple[str, str], int] = {}
    for a, row in matrix.items():
        for b, n in row.items():
            key = (a if a in keep_l else "other", b if b in keep_r else "other")
            flows[key] = flows.get(key, 0) + n
    lefts = sorted({a for a, _ in flows})
    rights = sorted({b for _, b in flows})
    labels = [f"{base}: {a}" for a in lefts] + [f"{candidate}: {b}" for b in rights]
    index_l = {a: i for i, a in enumerate(lefts)}
    index_r = {b: len(lefts) + i for i, b in enumerate(rights)}
    figure = go.Figure(
        go.Sankey(
            node={"label": labels, "pad": 12, "thickness": 14},
            link={
                "source": [index_l[a] for a, _ in flows],
                "target": [index_r[b] for _, b in flows],
                "value": list(flows.values()),
                "color": ["rgba(150,150,150,0.35)" if a == b else "rgba(214,39,40,0.45)" for a, b in flows],
            },
        )
    )
    figure.update_layout(
        height=max(360, 28 * max(len(lefts), len(rights))), margin={"l": 8, "r": 8, "t": 8, "b": 8}
    )
    return figure


def timeline(
    periods: list[dict[str, Any]], metric: str, title: str, band: tuple[str, str] | None = None
) -> Any:
    """A line over the periods of a drift timeline, with its interval as a band when there is one."""
    import plotly.graph_objects as go

    xs = [p["label"] for p in periods]

    def value(p: dict[str, Any]) -> Any:
        v = p.get(metric)
        return v.get("value") if isinstance(v, dict) else v

    figure = go.Figure()
    if band is not None:
        low = [(p.get(metric) or {}).get(band[0]) for p in periods]
        high = [(p.get(metric) or {}).get(band[1]) for p in periods]
        figure.add_trace(go.Scatter(x=xs, y=high, mode="lines", line={"width": 0}, showlegend=False))
        figure.add_trace(
            go.Scatter(x=xs, y=low, mode="lines", line={"width": 0}, fill="tonexty", name="95 % interval")
        )
    figure.add_trace(go.Scatter(x=xs, y=[value(p) for p in periods], mode="lines+markers", name=title))
    figure.update_layout(title=title, height=260, margin={"l": 8, "r": 8, "t": 36, "b": 8}, showlegend=False)
    return figure
