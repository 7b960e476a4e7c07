"""Showing stored requests safely: prompts as plain text, PII masked unless revealed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import streamlit as st


def selectable(
    table: Any, key: str, percent: str | None = None, scientific: Sequence[str] = ()
) -> int | None:
    """A table whose rows can be selected (one at a time); the selected row's position, or None.

    `percent` names a column of fractions shown as percentages; `scientific` columns (p-values) are shown
    as ``6.1E-258`` rather than as a run of zeros.
    """
    config = {c: st.column_config.NumberColumn(format="scientific") for c in scientific}
    if percent:
        config[percent] = st.column_config.NumberColumn(format="percent")
    event = st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        on_select="rerun",
        selection_mode="single-row",
        key=key,
        column_config=config or None,
    )
    rows = event.selection.rows if event is not None else []
    return int(rows[0]) if rows else None


def masked(text: str | None) -> str:
    """The text with PII replaced by its type (`router_core.pii.redact`)."""
    from routelab.router_core.pii import redact

    return redact(text or "")


def show_prompt(text: str | None, reveal: bool = False) -> None:
    """A prompt as plain text: never rendered as markdown or HTML; PII masked unless `reveal`."""
    st.code(text or "" if reveal else masked(text), language=None, wrap_lines=True)


def show_requests(store: Any, request_ids: Sequence[str]) -> None:
    """A table of requests (fields and masked prompt excerpt) for example ids."""
    if not request_ids:
        return
    placeholders = ", ".join("?" for _ in request_ids)
    rows = store.df(
        f"SELECT request_id, ts, workflow, task, team, region, data_class, prompt FROM requests "
        f"WHERE request_id IN ({placeholders}) ORDER BY request_id",
        list(request_ids),
    )
    rows["prompt"] = [masked(p)[:300] for p in rows["prompt"]]
    st.dataframe(rows, hide_index=True, width="stretch")
