"""The workbench: `routelab app` runs this script with Streamlit; one page per module in `app/views/`."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

VIEWS = Path(__file__).parent / "views"
PAGES = (
    ("overview.py", "Overview", ":material/dashboard:"),
    ("annotate.py", "Annotate", ":material/edit_note:"),
    ("review.py", "Review", ":material/gavel:"),
    ("compare.py", "Compare", ":material/compare_arrows:"),
    ("drift.py", "Drift", ":material/timeline:"),
    ("frontier.py", "Frontier", ":material/scatter_plot:"),
    ("operations.py", "Operations", ":material/monitoring:"),
    ("reports.py", "Reports", ":material/description:"),
)


def main() -> None:
    """Configure the page and run the chosen view."""
    st.set_page_config(page_title="routelab workbench", page_icon=":material/route:", layout="wide")
    pages = [st.Page(VIEWS / name, title=title, icon=icon) for name, title, icon in PAGES]
    st.navigation(pages).run()


main()
