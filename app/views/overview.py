"""Overview: traffic, versions and runs, label coverage by slice, annotator progress."""

from __future__ import annotations

import streamlit as st

from routelab.app.views.auth import require
from routelab.app.views.context import store

COVERAGE_FIELDS = ("workflow", "task", "team", "region", "data_class")


def _traffic() -> None:
    s = store()
    n, first, last = s.execute("SELECT count(*), min(ts), max(ts) FROM requests").fetchone()
    if not n:
        st.info(
            "The store holds no request yet: `routelab import FILE --format requests` or `routelab demo`."
        )
        st.stop()
    cols = st.columns(4)
    cols[0].metric("Requests", f"{n:,}")
    cols[1].metric("From", f"{first:%Y-%m-%d}" if first else "—")
    cols[2].metric("To", f"{last:%Y-%m-%d}" if last else "—")
    cols[3].metric("Annotations", f"{s.scalar('SELECT count(*) FROM annotations_current'):,}")
    weekly = s.df(
        "SELECT date_trunc('week', ts) AS week, coalesce(workflow, '(missing)') AS workflow, "
        "count(*) AS requests "
        "FROM requests WHERE ts IS NOT NULL GROUP BY ALL ORDER BY week"
    )
    if len(weekly):
        st.bar_chart(weekly, x="week", y="requests", color="workflow", height=260)


def _versions() -> None:
    st.subheader("Router versions and replays")
    runs = store().df(
        "SELECT v.name || '@' || v.version AS version, v.hash, v.description, v.registered_at, "
        "r.n_decisions, r.engine, r.finished_at AS replayed_at, r.price_table_id "
        "FROM router_versions v LEFT JOIN (SELECT *, row_number() OVER (PARTITION BY router "
        "ORDER BY finished_at DESC) AS k FROM replay_runs) r "
        "ON r.router = v.name || '@' || v.version AND r.k = 1 "
        "ORDER BY v.registered_at"
    )
    st.dataframe(runs, hide_index=True, width="stretch")


def _coverage() -> None:
    st.subheader("Label coverage by slice")
    field = st.segmented_control("Slice by", COVERAGE_FIELDS, default="workflow", key="coverage_field")
    field = field or "workflow"
    coverage = store().df(
        f"SELECT coalesce(r.{field}, '(missing)') AS {field}, count(*) AS requests, "
        "count(l.request_id) AS imported_labels, count(a.request_id) AS annotated, "
        "round(100.0 * count(coalesce(l.request_id, a.request_id)) / count(*), 1) AS labelled_pct "
        "FROM requests r LEFT JOIN labels l USING (request_id) "
        "LEFT JOIN (SELECT DISTINCT request_id FROM annotations_current) a USING (request_id) "
        "GROUP BY ALL ORDER BY requests DESC"
    )
    st.dataframe(coverage, hide_index=True, width="stretch")


def _annotators() -> None:
    st.subheader("Annotator progress")
    progress = store().df(
        "SELECT annotator, count(*) AS judgements, count(*) FILTER (WHERE verdict = 'correct') AS correct, "
        "count(*) FILTER (WHERE verdict = 'incorrect') AS incorrect, "
        "count(*) FILTER (WHERE verdict = 'unsure') AS unsure, "
        "count(*) FILTER (WHERE kind = 'adjudication') AS adjudications, "
        "round(median(time_spent_s), 1) AS median_seconds, max(created_at) AS last_at "
        "FROM annotations_current GROUP BY annotator ORDER BY judgements DESC"
    )
    if progress.empty:
        st.caption("No annotation yet: open Annotate.")
    else:
        st.dataframe(progress, hide_index=True, width="stretch")


def _agreement() -> None:
    """Cohen's kappa per annotator pair and Krippendorff's alpha per component, with their bands."""
    import pandas as pd

    from routelab.evaluators.agreement import agreement

    st.subheader("Annotator agreement")
    annotations = store().df("SELECT * FROM annotations_current")
    result = agreement(annotations)
    if result.n_multi == 0:
        st.caption("No decision has two annotators yet: agreement needs double-annotated items.")
        return
    st.caption(
        f"{result.n_multi:,} decision(s) judged by two or more annotators, "
        f"{result.n_adjudicated:,} adjudicated. "
        "Krippendorff's alpha ≥ 0.8 reliable, ≥ 0.667 tentative; kappa bands after Landis & Koch."
    )
    alpha = pd.DataFrame(
        [
            {"component": c, "alpha": a.alpha, "band": a.band, "units": a.n_units}
            for c, a in result.alpha.items()
        ]
    )
    st.dataframe(alpha, hide_index=True, width="stretch", key="agreement_alpha")
    pairs = pd.DataFrame(
        [
            {
                "pair": f"{p.annotator_a} · {p.annotator_b}",
                "component": p.component,
                "kappa": p.result.kappa,
                "band": p.result.band,
                "units": p.result.n,
            }
            for p in result.pairs
        ]
    )
    if len(pairs):
        st.dataframe(pairs, hide_index=True, width="stretch", key="agreement_pairs")
    people = pd.DataFrame(
        [
            {
                "annotator": a.annotator,
                "judged": a.judged,
                "agrees with others": a.agreement_with_others,
                "agrees with adjudication": a.agreement_with_adjudication,
                "median seconds": a.median_time_s,
            }
            for a in result.annotators
        ]
    )
    st.dataframe(people, hide_index=True, width="stretch", key="agreement_annotators")


def render() -> None:
    """The Overview page."""
    require("viewer")
    st.title("Overview")
    _traffic()
    _versions()
    _coverage()
    _annotators()
    _agreement()


if __name__ == "__main__":
    render()
