"""Plotly figures of the report (pure: bundle parts in, figure out).

Text from the data (model names, slice values, policy ids) is HTML-escaped before it reaches plotly:
plotly.js reads a few HTML-like tags in labels (``<b>``, ``<a href>``), and an escaped label shows as the
plain text it is. The figures reach the page as plotly's JSON, which escapes ``<``, ``>`` and ``/``.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

BASE_COLOUR, CAND_COLOUR, GREY = "#4c78a8", "#e45756", "#9d9d9d"
MARGIN = {"l": 8, "r": 8, "t": 40, "b": 8}
#: The drift timeline's metrics and where each goes in the 2 × 2 grid.
TIMELINE = ("accuracy", "cost_per_1k_usd", "latency_p95_ms", "fallback_rate")
CELLS = ((1, 1), (1, 2), (2, 1), (2, 2))
#: Paths beyond the busiest on either side of the Sankey are grouped as "other".
SANKEY_TOP = 10
#: Model names longer than this are cut to their last segment in Sankey labels.
LONG_MODEL = 28


def _go() -> Any:
    """`plotly.graph_objects`, imported where a figure is drawn (plotly is slow to import)."""
    import plotly.graph_objects as go  # type: ignore[import-untyped]

    return go


def _subplots() -> Any:
    """`plotly.subplots.make_subplots`, imported where a figure is drawn."""
    from plotly.subplots import make_subplots  # type: ignore[import-untyped]

    return make_subplots


def label(value: Any) -> str:
    """Untrusted text as a plotly label: HTML-escaped, so plotly shows it as written."""
    return html.escape(str(value), quote=False)


def _layout(fig: Any, title: str, height: int) -> Any:
    fig.update_layout(
        title={"text": title, "font": {"size": 14}},
        height=height,
        margin=MARGIN,
        template="plotly_white",
        font={"family": "system-ui, sans-serif", "size": 11},
        legend={"orientation": "h", "y": -0.15},
    )
    return fig


def frontier(name: str, group: Mapping[str, Any]) -> Any:
    """One evaluation group's cost–quality plane: single models, baselines, versions and the frontier."""
    go = _go()

    fig = go.Figure()
    models = group["models"]
    fig.add_trace(
        go.Scatter(
            x=[m["cost_per_1k_usd"] for m in models.values()],
            y=[m["quality"] for m in models.values()],
            text=[label(k) for k in models],
            mode="markers",
            name="single models",
            marker={"color": GREY, "size": 8},
            hovertemplate="%{text}<br>$%{x:.3f} per 1k<br>quality %{y:.3f}<extra></extra>",
        )
    )
    points = {f"model:{k}": v for k, v in models.items()} | {"oracle": group["oracle"]}
    hull = [points[p] for p in group.get("pareto") or [] if p in points]
    if hull:
        fig.add_trace(
            go.Scatter(
                x=[p["cost_per_1k_usd"] for p in hull],
                y=[p["quality"] for p in hull],
                mode="lines",
                name="Pareto frontier",
                line={"dash": "dot", "color": GREY},
            )
        )
    for title, point, symbol in (("oracle", group["oracle"], "star"), ("random", group["random"], "x")):
        fig.add_trace(
            go.Scatter(
                x=[point["cost_per_1k_usd"]],
                y=[point["quality"]],
                mode="markers",
                name=title,
                marker={"symbol": symbol, "size": 12, "color": "#54a24b"},
            )
        )
    for (ref, version), colour in zip(group["versions"].items(), (BASE_COLOUR, CAND_COLOUR), strict=False):
        q = version.get("quality") or {}
        point = version["points"][0]
        fig.add_trace(
            go.Scatter(
                x=[point["cost_per_1k_usd"]],
                y=[point["quality"]],
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": [(q.get("ci_high") or point["quality"]) - point["quality"]],
                    "arrayminus": [point["quality"] - (q.get("ci_low") or point["quality"])],
                },
                mode="markers",
                name=label(ref),
                marker={"size": 13, "color": colour, "line": {"width": 1, "color": "#222"}},
            )
        )
    costs = [m["cost_per_1k_usd"] for m in models.values() if m["cost_per_1k_usd"]]
    log = bool(costs) and max(costs) / max(min(costs), 1e-9) > 20
    fig.update_xaxes(title="cost per 1,000 requests (USD)", type="log" if log else "linear")
    fig.update_yaxes(title="mean quality")
    return _layout(fig, f"Evaluation group {label(name)}", 380)


def _short(keys: Sequence[str]) -> list[str]:
    """Path keys with a long model name cut to its last segment (`hosted_vllm/meta-llama/X` → `X`), for
    labels; a key whose short form would collide with another's stays whole."""

    def cut(key: str) -> str:
        model, sep, rest = key.partition(" | ")
        return (model.rsplit("/", 1)[-1] + sep + rest) if len(model) > LONG_MODEL else key

    short = [cut(k) for k in keys]
    clash = {s for s in short if sum(1 for k, t in zip(keys, short, strict=True) if t == s and k != s) > 1}
    clash |= {s for s, k in zip(short, keys, strict=True) if s != k and s in keys}
    return [k if s in clash else s for k, s in zip(keys, short, strict=True)]


def sankey(matrix: Mapping[str, Mapping[str, int]], base: str, candidate: str) -> Any:
    """The flip Sankey: base paths on the left, candidate paths on the right, width = requests; red links
    are requests whose path changed. Labels drop the model's provider prefix; the hover shows it whole."""
    go = _go()

    left: dict[str, int] = {}
    right: dict[str, int] = {}
    for a, row in matrix.items():
        for b, n in row.items():
            left[a] = left.get(a, 0) + n
            right[b] = right.get(b, 0) + n
    keep_l = set(sorted(left, key=lambda k: (-left[k], k))[:SANKEY_TOP])
    keep_r = set(sorted(right, key=lambda k: (-right[k], k))[:SANKEY_TOP])
    flows: dict[tuple[str, str], int] = {}
    for a in sorted(matrix):
        for b in sorted(matrix[a]):
            key = (a if a in keep_l else "other", b if b in keep_r else "other")
            flows[key] = flows.get(key, 0) + matrix[a][b]
    lefts, rights = sorted({a for a, _ in flows}), sorted({b for _, b in flows})
    index_l = {a: i for i, a in enumerate(lefts)}
    index_r = {b: len(lefts) + i for i, b in enumerate(rights)}
    full = [f"{base}: {a}" for a in lefts] + [f"{candidate}: {b}" for b in rights]
    fig = go.Figure(
        go.Sankey(
            node={
                "label": [label(k) for k in _short(lefts) + _short(rights)],
                "customdata": [label(k) for k in full],
                "hovertemplate": "%{customdata}<br>%{value} requests<extra></extra>",
                "pad": 14,
                "thickness": 12,
            },
            link={
                "source": [index_l[a] for a, _ in flows],
                "target": [index_r[b] for _, b in flows],
                "value": list(flows.values()),
                "color": ["rgba(150,150,150,0.35)" if a == b else "rgba(214,39,40,0.40)" for a, b in flows],
            },
        )
    )
    fig.update_layout(font={"size": 10})
    height = max(420, 34 * max(len(lefts), len(rights)) + 80)
    return _layout(fig, f"Where requests moved: {label(base)} (left) → {label(candidate)} (right)", height)


def cost_latency(bundle: Mapping[str, Any]) -> Any:
    """Cost per 1,000 requests and estimated latency percentiles of both versions, side by side."""
    go = _go()
    make_subplots = _subplots()

    meta, lat = bundle["meta"], bundle["compare"].get("latency") or {}
    fig = make_subplots(
        rows=1, cols=2, subplot_titles=("Cost per 1,000 requests (USD)", "Latency, estimated (ms)")
    )
    names = [n for n in ("p50", "p95") if n in lat]
    for side, key, colour in (("base", "baseline", BASE_COLOUR), ("candidate", "candidate", CAND_COLOUR)):
        ref = label(meta[side])
        cost = bundle["accuracy"][side]["overall"]["cost_per_1k_usd"]
        fig.add_trace(go.Bar(x=[ref], y=[cost], name=ref, marker_color=colour, showlegend=False), 1, 1)
        values = [lat[n][key]["value"] for n in names]
        fig.add_trace(go.Bar(x=names, y=values, name=ref, marker_color=colour), 1, 2)
    return _layout(fig, "", 320)  # the subplot titles say it


def slice_deltas(bundle: Mapping[str, Any]) -> Any:
    """Accuracy delta per slice with its 95 % interval; significant slices (after BH) in red."""
    go = _go()

    rows = [
        (f"{field} = {r['value']}", r)
        for field, items in ((bundle["compare"].get("slices") or {}).get("by") or {}).items()
        for r in items
        if r["accuracy"]["delta"].get("value") is not None
    ]
    fig = go.Figure()
    for significant, colour, name in (
        (True, CAND_COLOUR, "significant (BH)"),
        (False, GREY, "not significant"),
    ):
        chosen = [(n, r) for n, r in rows if bool(r.get("significant")) == significant]
        d = [r["accuracy"]["delta"] for _, r in chosen]
        fig.add_trace(
            go.Scatter(
                x=[100 * x["value"] for x in d],
                y=[label(n) for n, _ in chosen],
                error_x={
                    "type": "data",
                    "symmetric": False,
                    "array": [100 * (x["ci_high"] - x["value"]) for x in d],
                    "arrayminus": [100 * (x["value"] - x["ci_low"]) for x in d],
                },
                mode="markers",
                name=name,
                marker={"color": colour, "size": 9},
            )
        )
    fig.add_vline(x=0, line={"color": "#444", "width": 1})
    fig.update_xaxes(title="accuracy change (points), 95 % interval")
    _layout(fig, "Accuracy change by slice", max(280, 34 * len(rows) + 140))
    return fig.update_layout(legend={"y": -0.35})


def _band(
    fig: Any, xs: Sequence[str], periods: Sequence[Mapping[str, Any]], metric: str, cell: tuple[int, int]
) -> None:
    go = _go()

    low = [((p.get(metric) or {}).get("ci_low")) for p in periods]
    high = [((p.get(metric) or {}).get("ci_high")) for p in periods]
    fig.add_trace(
        go.Scatter(x=xs, y=high, mode="lines", line={"width": 0}, showlegend=False, hoverinfo="skip"), *cell
    )
    fill = {"fill": "tonexty", "fillcolor": "rgba(228,87,86,0.2)"}
    line = {"mode": "lines", "line": {"width": 0}, "showlegend": False, "hoverinfo": "skip"}
    fig.add_trace(go.Scatter(x=xs, y=low, **line, **fill), *cell)


def timeline(periods: Sequence[Mapping[str, Any]]) -> Any:
    """The candidate's drift timeline: accuracy with its band, cost per 1k, p95 latency, fallback rate."""
    go = _go()
    make_subplots = _subplots()

    titles = ("Accuracy (labelled), 95 % band", "Cost per 1,000 requests (USD)", "Latency p95 (ms)",
              "Fallback rate, 95 % band")  # fmt: skip
    fig = make_subplots(rows=2, cols=2, subplot_titles=titles, vertical_spacing=0.16)
    xs = [label(p["label"]) for p in periods]
    for (row, col), metric in zip(CELLS, TIMELINE, strict=True):
        values = [p.get(metric) for p in periods]
        ys = [v.get("value") if isinstance(v, Mapping) else v for v in values]
        if any(isinstance(v, Mapping) for v in values):
            _band(fig, xs, periods, metric, (row, col))
        fig.add_trace(
            go.Scatter(x=xs, y=ys, mode="lines+markers", showlegend=False, line={"color": CAND_COLOUR}),
            row,
            col,
        )
    return _layout(fig, "", 520)  # the subplot titles say it


def policy(bundle: Mapping[str, Any]) -> Any:
    """Decisions each policy changed or flagged, per version."""
    go = _go()

    meta, doc = bundle["meta"], bundle["policy"]
    flags = sorted(set().union(*(set(v) for v in doc.values())) if doc else set())
    fig = go.Figure()
    for side, colour in (("base", BASE_COLOUR), ("candidate", CAND_COLOUR)):
        counts = doc.get(meta[side]) or {}
        fig.add_trace(
            go.Bar(
                y=[label(f) for f in flags],
                x=[counts.get(f, 0) for f in flags],
                orientation="h",
                name=label(meta[side]),
                marker_color=colour,
            )
        )
    fig.update_xaxes(title="decisions changed or flagged")
    return _layout(fig, "Policy flags per version", max(240, 40 * len(flags) + 120))


def compliance_trend(bundle: Mapping[str, Any]) -> Any:
    """Privacy and residency breaches per week of both versions (the bundle's compliance results)."""
    go = _go()
    make_subplots = _subplots()

    meta, doc = bundle["meta"], bundle["compliance"]
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Privacy breaches", "Residency breaches"))
    for side, colour in (("base", BASE_COLOUR), ("candidate", CAND_COLOUR)):
        periods = doc[side].get("periods") or []
        xs = [label(p["period"]) for p in periods]
        for col, kind in ((1, "privacy"), (2, "residency")):
            fig.add_trace(
                go.Scatter(
                    x=xs,
                    y=[p[kind]["count"] for p in periods],
                    mode="lines+markers",
                    name=label(meta[side]),
                    legendgroup=side,
                    showlegend=col == 1,
                    line={"color": colour},
                    hovertemplate="%{x}: %{y} decisions<extra></extra>",
                ),
                1,
                col,
            )
    weeks = [label(p["period"]) for p in doc["candidate"].get("periods") or doc["base"].get("periods") or []]
    # ticks show the week alone (`W37`); the hover keeps the year
    fig.update_xaxes(tickvals=weeks, ticktext=[w.rsplit("-", 1)[-1] for w in weeks], tickangle=0)
    fig.update_yaxes(title="decisions", rangemode="tozero")
    _layout(fig, "", 320)  # the subplot titles say it
    return fig.update_layout(legend={"orientation": "h", "y": -0.22})
