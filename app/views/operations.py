"""Operations: the gateway owner's weekly questions over logged traffic (`routelab ops`), in six tabs.

Every table downloads as CSV; selecting a row shows the requests behind it (prompts masked).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd
import streamlit as st

from routelab.app.views.auth import require
from routelab.app.views.context import show_error, store
from routelab.app.views.requests import selectable, show_requests

SECTIONS = ("Expensive prompts", "Failures", "Fallbacks", "Traffic", "Caching", "Budget")


def _data_key() -> str:
    """Changes whenever logged calls, labels or annotations change: the key of the cached result."""
    row = (
        store()
        .execute(
            "SELECT (SELECT count(*) FROM outcomes WHERE kind = 'logged'), (SELECT max(finished_at) FROM "
            "imports), (SELECT count(*) FROM labels), (SELECT count(*) FROM annotations)"
        )
        .fetchone()
    )
    return "|".join(map(str, row))


@st.cache_data(show_spinner="Reading the logs…", max_entries=8)
def operations(
    since: date | None, until: date | None, budgets: tuple[tuple[str, float], ...] | None, data_key: str
) -> Any:
    """`ops_stored` for the window, cached per data key."""
    from routelab.app.ops_flow import ops_stored

    return ops_stored(store(), since, until, budgets=dict(budgets) if budgets is not None else None)


def _table(tables: dict[str, pd.DataFrame], name: str, percent: str | None = None) -> None:
    """A selectable table with its CSV download; a selected row shows its requests."""
    frame = tables[name]
    shown = frame.drop(columns=["examples"], errors="ignore")
    picked = selectable(shown, f"ops_{name}", percent=percent)
    st.download_button(
        f"Download {name}.csv", frame.to_csv(index=False), f"{name}.csv", "text/csv", key=f"ops_csv_{name}"
    )
    if picked is None:
        return
    ids = str(frame["examples"].iloc[picked]).split() if "examples" in frame else []
    if "request_id" in frame:
        ids = [str(frame["request_id"].iloc[picked])]
    st.caption(f"Requests behind the selected row ({len(ids)} shown)")
    show_requests(store(), ids)


def _budgets() -> tuple[tuple[str, float], ...] | None:
    from routelab.app.ops_flow import BudgetFileError, load_budgets

    with st.sidebar.expander("Budgets"):
        text = st.text_area("Team: monthly USD (YAML)", key="ops_budgets", placeholder="support-eu: 1500")
    if not text.strip():
        return None
    try:
        return tuple(sorted(load_budgets(text, "budgets").items()))
    except BudgetFileError as exc:
        st.sidebar.error(str(exc))
        return None


def _window() -> tuple[date | None, date | None]:
    from routelab.app.ops_flow import logged_span

    n, first, last = logged_span(store())
    if not n:
        st.info(
            "No logged calls yet: import production logs (`routelab import FILE --format litellm-spend`)."
        )
        st.stop()
    if first is None:
        return None, None
    span = (first.date(), last.date())
    chosen = st.date_input("Window", value=span, min_value=span[0], max_value=span[1], key="ops_window")
    return (chosen[0], chosen[1]) if isinstance(chosen, tuple) and len(chosen) == 2 else span


def _weekly(frame: pd.DataFrame, field: str, value: str, index: str = "period") -> pd.DataFrame:
    part = frame[frame["field"] == field]
    return part.pivot_table(index=index, columns="value", values=value, aggfunc="sum")


def _sections(result: Any, t: dict[str, pd.DataFrame]) -> None:
    prompts, failures, fallbacks, traffic, caching, budget = st.tabs(SECTIONS)
    with prompts:
        st.bar_chart(t["prompt_groups_by_cost"], x="prompt_group", y="cost_usd", horizontal=True)
        st.subheader("Prompt groups by total cost")
        _table(t, "prompt_groups_by_cost", "cost_share")
        st.subheader(f"By cost per request (groups of at least {result.prompts.min_requests})")
        _table(t, "prompt_groups_by_cost_per_request", "cost_share")
        st.subheader("Costliest requests")
        _table(t, "top_requests")
    with failures:
        first = result.params.reliability_by[0]
        st.caption(
            f"Error rate per week by {first} (Wilson intervals in the tables; latency without cache hits)"
        )
        st.line_chart(_weekly(t["reliability_weekly"], first, "error_rate"))
        _table(t, "reliability", "error_rate")
        _table(t, "reliability_weekly", "error_rate")
    with fallbacks:
        if not result.fallbacks.recorded:
            st.info("These logs record no fallback (no fallback_model).")
        daily = t["fallbacks_daily"]
        if len(daily):
            st.bar_chart(daily, x="day", y="fallbacks", color="model")
        _table(t, "fallbacks", "fallback_rate")
        st.caption(f"Spikes: binomial test per model and day, Benjamini–Hochberg FDR {result.fallbacks.fdr}")
        _table(t, "fallbacks_daily", "fallback_rate")
    with traffic:
        c = result.comparison
        st.caption(f"Week over week: {c.last_week} vs {c.previous_week}, first {c.days} day(s)" if c else "")
        st.bar_chart(_weekly(t["traffic_weekly"], result.params.traffic_by[0], "cost_usd", "week"))
        _table(t, "traffic", "cost_share")
        _table(t, "traffic_weekly")
    with caching:
        st.bar_chart(t["cache"], x="workflow", y="saved_usd")
        _table(t, "cache", "hit_rate")
        st.subheader(f"Cache hits judged different: {len(result.caching.judged)}")
        _table(t, "cache_judged")
    with budget:
        b = result.budget
        if b is not None:
            st.caption(
                f"{b.month} as of {b.as_of}: day {b.days_elapsed} of {b.days_in_month}; projection linear"
            )
            st.bar_chart(t["budget"], x="team", y=["spent_usd", "projected_usd"], stack=False)
        _table(t, "budget", "used")
        _table(t, "budget_monthly")


def render() -> None:
    """The Operations page."""
    require("viewer")
    from routelab.datasets.errors import DatasetError
    from routelab.evaluators.errors import EvaluatorError

    st.title("Operations")
    since, until = _window()
    budgets = _budgets()
    try:
        result = operations(since, until, budgets, _data_key())
    except (DatasetError, EvaluatorError) as exc:
        show_error(exc)
        return
    cols = st.columns(4)
    cols[0].metric("Logged calls", f"{result.n:,}")
    cols[1].metric("Cost", f"${result.cost_usd:,.2f}")
    cols[2].metric("Tokens", f"{result.tokens:,}")
    cols[3].metric("Prompt groups", f"{result.prompts.n_groups:,}")
    for note in result.notes:
        st.caption(note)
    _sections(result, result.tables())


if __name__ == "__main__":
    render()
