"""The correction form: what the path should have been, one widget per component."""

from __future__ import annotations

from typing import Any

import streamlit as st

from routelab.app.views.context import store

REASON_TAGS = (
    "over-powered model",
    "too weak a model",
    "missed retrieval",
    "needless retrieval",
    "should escalate",
    "privacy violation",
    "wrong task",
)
CACHE = ("serve", "bypass")
ESCALATION = ("none", "human_review")
ACTIONS = ("allow", "redact", "reroute", "block")


@st.cache_data(show_spinner=False, ttl=60)
def choices(router: str) -> dict[str, list[str]]:
    """Models, tiers and retrieval indexes seen in the decisions of any version (the correction's options)."""
    s = store()
    models = [
        r[0]
        for r in s.execute(
            "SELECT DISTINCT model FROM decisions WHERE model IS NOT NULL ORDER BY 1"
        ).fetchall()
    ]
    tiers = [
        r[0]
        for r in s.execute("SELECT DISTINCT tier FROM decisions WHERE tier IS NOT NULL ORDER BY 1").fetchall()
    ]
    indexes = [
        r[0]
        for r in s.execute(
            "SELECT DISTINCT retrieval FROM decisions WHERE retrieval IS NOT NULL ORDER BY 1"
        ).fetchall()
    ]
    return {"models": models, "tiers": tiers, "indexes": ["none", *indexes]}


def _index(options: list[str] | tuple[str, ...], value: Any) -> int:
    return options.index(value) if value in options else 0


def correction_form(decision: dict[str, Any], key: str) -> dict[str, Any]:
    """The components the annotator says should differ from `decision` (only the changed ones are returned).

    The model can be fixed as a tier (any model of that tier is right) or as one model.
    """
    options = choices(str(decision.get("router", "")))
    cols = st.columns(5)
    by = cols[0].radio("Fix the model as", ("tier", "model"), key=f"{key}_by", horizontal=True)
    out: dict[str, Any] = {}
    if by == "tier":
        tier = cols[0].selectbox(
            "Tier", options["tiers"], index=_index(options["tiers"], decision.get("tier")), key=f"{key}_tier"
        )
        if tier != decision.get("tier"):
            out["tier"] = tier
    else:
        model = cols[0].selectbox(
            "Model",
            options["models"],
            index=_index(options["models"], decision.get("model")),
            key=f"{key}_model",
        )
        if model != decision.get("model"):
            out["model"] = model
    current = decision.get("retrieval") or "none"
    retrieval = cols[1].selectbox(
        "Retrieval", options["indexes"], index=_index(options["indexes"], current), key=f"{key}_retrieval"
    )
    if retrieval != current:
        out["retrieval"] = retrieval
    cache = cols[2].selectbox("Cache", CACHE, index=_index(CACHE, decision.get("cache")), key=f"{key}_cache")
    if cache != decision.get("cache"):
        out["cache"] = cache
    escalation = cols[3].selectbox(
        "Escalation",
        ESCALATION,
        index=_index(ESCALATION, decision.get("escalation") or "none"),
        key=f"{key}_escalation",
    )
    if escalation != (decision.get("escalation") or "none"):
        out["escalation"] = escalation
    action = cols[4].selectbox(
        "Action", ACTIONS, index=_index(ACTIONS, decision.get("action")), key=f"{key}_action"
    )
    if action != decision.get("action"):
        out["action"] = action
    return out
