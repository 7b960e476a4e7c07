"""Reports: the leaders' report of two versions, generated here and downloaded as HTML or Markdown.

Calls the same functions as `routelab report`: `report_flow.report_bundle`, then `routelab.reports`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import streamlit as st

from routelab.app.views.auth import require
from routelab.app.views.context import pick_versions, show_error, store

DECISION_COLOURS = {"ship": "green", "ship with caveats": "orange", "do not ship": "red"}


def _generate(base: str, candidate: str, conditions: list[str]) -> dict[str, Any]:
    """The bundle, both renderings and the verdict (what the download buttons offer)."""
    from routelab.app.commands.report import default_out
    from routelab.app.report_flow import report_bundle
    from routelab.reports.bundle import clean, dumps
    from routelab.reports.markdown import render_markdown
    from routelab.reports.render import render_html
    from routelab.reports.verdict import decide

    bundle = clean(report_bundle(store(), base, candidate, conditions=conditions, at=datetime.now(UTC)))
    return {
        "key": (base, candidate),
        "verdict": decide(bundle),
        "html": render_html(bundle),
        "md": render_markdown(bundle),
        "json": dumps(bundle),
        "stem": default_out(base, candidate, "html").stem,
    }


def _show(report: dict[str, Any]) -> None:
    from routelab.reports.formatting import plain

    verdict = report["verdict"]
    colour = DECISION_COLOURS[verdict.decision]
    st.markdown(f"### Verdict: :{colour}[{verdict.decision}]")
    for finding in verdict.reasons:
        st.text(f"• {plain(finding.text)}")  # st.text: names from the data are shown, never interpreted
    if verdict.failures:
        for finding in verdict.caveats:
            st.text(f"caveat: {plain(finding.text)}")
    stem = report["stem"]
    cols = st.columns(3)
    cols[0].download_button("HTML report", report["html"], f"{stem}.html", "text/html", key="report_html")
    cols[1].download_button("Markdown", report["md"], f"{stem}.md", "text/markdown", key="report_md")
    cols[2].download_button(
        "Bundle (JSON)", report["json"], f"{stem}.html.json", "application/json", key="report_json"
    )


def render() -> None:
    """The Reports page."""
    require("viewer")
    from routelab.datasets.errors import DatasetError
    from routelab.evaluators.errors import EvaluatorError
    from routelab.reports.errors import ReportError

    st.title("Reports for leaders")
    st.caption(
        "One self-contained HTML file (opens offline), or Markdown for a ticket: the verdict from the gate, "
        "plain sentences with every number's interval, the top risks and the evidence."
    )
    base, candidate = pick_versions("Version", 2, "report_versions")
    if base == candidate:
        st.info("Pick two different versions.")
        st.stop()
    text = st.text_area(
        "Gate conditions (optional): one per line, each describing a failure",
        placeholder="accuracy.delta.ci_high < 0\ncost.delta_pct.value > 0",
        key="report_conditions",
    )
    if st.button("Generate", type="primary", key="report_generate"):
        conditions = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
        try:
            with st.spinner("Evaluating both versions…"):
                st.session_state["report"] = _generate(base, candidate, conditions)
        except (DatasetError, EvaluatorError, ReportError) as exc:
            st.session_state.pop("report", None)
            show_error(exc)
    report = st.session_state.get("report")
    if report and report["key"] == (base, candidate):
        _show(report)


if __name__ == "__main__":
    render()
