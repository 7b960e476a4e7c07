"""Review: decisions whose annotators disagree, side by side; a reviewer adjudicates and that label wins."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import streamlit as st

from routelab.app.views.auth import User, allowed, require, reveal
from routelab.app.views.context import store
from routelab.app.views.form import correction_form
from routelab.app.views.requests import show_prompt

DISAGREEMENTS = """
WITH j AS (SELECT * FROM annotations_current WHERE kind = 'judgement'),
adjudicated AS (SELECT DISTINCT request_id, router FROM annotations_current WHERE kind = 'adjudication')
SELECT request_id, router, count(*) AS annotators, list(DISTINCT verdict) AS verdicts
FROM j WHERE (request_id, router) NOT IN (SELECT (request_id, router) FROM adjudicated)
GROUP BY request_id, router
HAVING count(*) >= 2
   AND (count(DISTINCT verdict) > 1 OR count(DISTINCT coalesce(CAST(corrected AS VARCHAR), '')) > 1)
ORDER BY request_id, router
"""


def disagreements() -> pd.DataFrame:
    """Judged decisions whose annotators disagree and that no reviewer has adjudicated."""
    return store().df(DISAGREEMENTS)


def _side_by_side(request_id: str, router: str) -> None:
    rows = store().df(
        "SELECT annotator, verdict, corrected, acceptable, reason_tags, note, time_spent_s, created_at "
        "FROM annotations_current WHERE request_id = ? AND router = ? AND kind = 'judgement' "
        "ORDER BY annotator",
        [request_id, router],
    )
    columns = st.columns(len(rows))
    for col, row in zip(columns, rows.itertuples(index=False), strict=True):
        with col:
            st.markdown(f"**{row.annotator}**: {row.verdict}")
            if isinstance(row.corrected, str):
                st.json(json.loads(row.corrected), expanded=True)
            if isinstance(row.reason_tags, list | tuple) and row.reason_tags:
                st.caption("tags: " + ", ".join(row.reason_tags))
            if isinstance(row.note, str) and row.note:
                st.text(row.note)


def _adjudicate(user: User, request_id: str, router: str, decision: dict[str, Any]) -> None:
    from routelab.datasets.annotations import Judgement, record

    st.subheader("Adjudicate")
    verdict = st.radio(
        "Final verdict", ("correct", "incorrect", "unsure"), horizontal=True, key="review_verdict"
    )
    corrected = correction_form(decision, key="review") if verdict == "incorrect" else None
    note = st.text_input("Note", key="review_note")
    if st.button("Adjudicate", type="primary", key="review_submit", shortcut="Ctrl+Enter"):
        if not allowed(user, "reviewer"):  # checked again at the write
            st.error("Adjudicating needs the reviewer role.")
            return
        if verdict == "incorrect" and not corrected:
            st.error(
                "An incorrect verdict needs the path it should have been: change at least one component."
            )
            return
        record(
            store(),
            Judgement(
                request_id=request_id,
                router=router,
                annotator=user.name,
                verdict=verdict,
                corrected=corrected or None,
                note=note or None,
                adjudication=True,
            ),
        )
        st.toast(f"Adjudicated {request_id}")
        st.rerun()


def render() -> None:
    """The Review page."""
    st.title("Review disagreements")
    user = require("reviewer")
    items = disagreements()
    st.caption(f"{len(items):,} decision(s) where annotators disagree and no reviewer has adjudicated.")
    if items.empty:
        st.success("Nothing to review.")
        return
    labels = [f"{r.request_id} · {r.router} · {', '.join(r.verdicts)}" for r in items.itertuples(index=False)]
    choice = st.selectbox("Item", range(len(items)), format_func=lambda i: labels[i], key="review_item")
    item = items.iloc[choice]
    request_id, router = str(item["request_id"]), str(item["router"])
    prompt, decision = (
        store()
        .execute(
            "SELECT r.prompt, to_json(d) FROM requests r JOIN decisions d USING (request_id) "
            "WHERE r.request_id = ? AND d.router = ?",
            [request_id, router],
        )
        .fetchone()
    )
    show_prompt(prompt, reveal=reveal(user, request_id))
    st.json(json.loads(decision), expanded=False)
    _side_by_side(request_id, router)
    _adjudicate(user, request_id, router, json.loads(decision))


if __name__ == "__main__":
    render()
