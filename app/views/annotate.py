"""Annotate: one leased decision at a time, keyboard first.

Keys: 1 correct, 2 incorrect (then fix the path and press Ctrl+Enter, which works from inside the form's
fields), 3 unsure, S skip, U undo the last submission, Enter confirms a pre-filled label. A submission
appends a judgement (`datasets.annotations.record`) with the time spent and releases the lease; the next
item is leased to this annotator only.
"""

from __future__ import annotations

import json
import time
from typing import Any

import streamlit as st

from routelab.app.views.auth import User, allowed, require, reveal
from routelab.app.views.context import settings, store, versions
from routelab.app.views.form import REASON_TAGS, choices, correction_form
from routelab.app.views.requests import show_prompt

STRATEGIES = {
    "disagree": "versions disagree first",
    "confidence": "low router confidence first",
    "stratified": "slices with few labels first",
    "random": "random",
}
SNAPSHOT = ("model", "retrieval", "cache", "escalation", "action")


def _state(who: str | None = None) -> Any:
    """This session's annotation state (current item, undo stack, skipped ids, when the item was shown).

    The state belongs to one annotator: signing in as someone else starts theirs afresh (their own queue and
    undo stack; the previous annotator's lease simply goes stale).
    """
    ss = st.session_state
    if who is not None and ss.get("owner") != who:
        for key in ("item", "undo_stack", "skipped", "submitted", "mode"):
            ss.pop(key, None)
        ss.owner = who
    ss.setdefault("item", None)
    ss.setdefault("shown_at", time.monotonic())
    ss.setdefault("undo_stack", [])
    ss.setdefault("skipped", [])
    ss.setdefault("submitted", 0)
    ss.setdefault("mode", "choose")
    return ss


def _next(who: str, router: str, strategy: str, other: str | None) -> Any:
    from routelab.datasets.queue import next_item

    cfg = settings()
    return next_item(
        store(),
        who,
        router,
        strategy=strategy,  # type: ignore[arg-type]  # one of STRATEGIES
        other_router=other,
        lease_minutes=cfg.lease_minutes,
        double_share=cfg.double_share,
        skip=list(_state().skipped),
    )


def _decision(request_id: str, router: str) -> dict[str, Any] | None:
    row = (
        store()
        .execute(
            "SELECT to_json(d) FROM decisions d WHERE request_id = ? AND router = ?", [request_id, router]
        )
        .fetchone()
    )
    return json.loads(row[0]) if row else None


def _json(value: Any) -> Any:
    """A JSON column's value from a DataFrame row (missing values arrive as NaN)."""
    return json.loads(value) if isinstance(value, str) and value else None


def _list(value: Any) -> list[Any]:
    """A list column's value from a DataFrame row (numpy arrays, lists, or NaN for missing)."""
    return [] if value is None or isinstance(value, float) else list(value)


def _previous_label(request_id: str, router: str, decision: dict[str, Any]) -> dict[str, Any] | None:
    """A label given to another version's identical decision on this request, to confirm with one key."""
    rows = store().df(
        "SELECT router, annotator, verdict, decision_path, corrected, acceptable, reason_tags, note "
        "FROM annotations_current WHERE request_id = ? AND router <> ? "
        "AND kind IN ('judgement', 'adjudication') "
        "ORDER BY created_at DESC",
        [request_id, router],
    )
    for row in rows.to_dict("records"):
        judged = json.loads(row["decision_path"] or "{}")
        if all((judged.get(c) or None) == (decision.get(c) or None) for c in SNAPSHOT):
            return row
    return None


def _submit(who: str, item: Any, verdict: str, **extra: Any) -> None:
    from routelab.datasets.annotations import Judgement, record
    from routelab.datasets.queue import release

    ss = _state()
    user = st.session_state.get("annotate_user")
    if user is None or not allowed(user, "annotator"):  # checked again at the write
        st.error("Annotating needs the annotator role.")
        return
    spent = round(time.monotonic() - ss.shown_at, 1)
    annotation_id = record(
        store(),
        Judgement(
            request_id=item.request_id,
            router=item.router,
            annotator=who,
            verdict=verdict,
            time_spent_s=spent,
            **extra,
        ),
    )
    release(store(), item.request_id, item.router, who)
    ss.undo_stack.append((annotation_id, item))
    ss.submitted += 1
    ss.item, ss.mode = None, "choose"
    st.toast(f"Saved: {item.request_id} {verdict}")


def _undo(who: str) -> None:
    from routelab.datasets.annotations import undo

    ss = _state()
    annotation_id, item = ss.undo_stack.pop()
    undo(store(), annotation_id, who)
    ss.item, ss.mode, ss.shown_at = item, "choose", time.monotonic()
    ss.submitted -= 1
    st.toast(f"Undone: {item.request_id}")


def _progress(who: str, router: str) -> None:
    from routelab.datasets.queue import queue_stats

    stats = queue_stats(store(), router, who)
    done = stats.judged / stats.total if stats.total else 0.0
    st.progress(
        min(done, 1.0),
        text=f"{stats.judged:,} of {stats.total:,} decisions of {router} judged; "
        f"you: {stats.judged_by_annotator or 0:,} ({_state().submitted} this session)",
    )


def _item_view(user: User, item: Any, decision: dict[str, Any]) -> None:
    req = (
        store()
        .execute(
            "SELECT prompt, ts, workflow, task, team, region, data_class, prompt_tokens, attrs FROM requests "
            "WHERE request_id = ?",
            [item.request_id],
        )
        .fetchone()
    )
    left, right = st.columns([3, 2])
    with left:
        st.markdown(
            f"**Request** `{item.request_id}` · picked because: {item.reason}"
            + (" · second opinion" if item.second_opinion and "second opinion" not in item.reason else "")
        )
        with st.container(height=360):  # long prompts scroll here; the verdict keys stay in view
            show_prompt(req[0], reveal=reveal(user, item.request_id))
        fields = dict(
            zip(
                ("ts", "workflow", "task", "team", "region", "data_class", "prompt_tokens"),
                req[1:8],
                strict=True,
            )
        )
        st.caption(
            " · ".join(f"{k}: {v}" for k, v in fields.items() if v is not None)
            + (" · " + ", ".join(f"{k}={v}" for k, v in (req[8] or {}).items()) if req[8] else "")
        )
    with right:
        st.markdown(f"**{item.router}** routes it to")
        st.text(
            f"model       {decision.get('model') or '— (blocked)'} [{decision.get('tier') or '-'}]\n"
            f"retrieval   {decision.get('retrieval') or 'none'} ({decision.get('context_tokens')} tokens)\n"
            f"cache       {decision.get('cache')}\nescalation  {decision.get('escalation')}\n"
            f"fallbacks   {', '.join(decision.get('fallbacks') or []) or 'none'}\n"
            f"action      {decision.get('action')}\n"
            f"rule        {decision.get('rule_id')} (confidence {decision.get('confidence') or 0:.2f})\n"
            f"estimate    ${decision.get('est_cost_usd') or 0:.5f}, "
            f"{decision.get('est_latency_ms') or 0:,.0f} ms"
        )
        if item.other_router:
            other = _decision(item.request_id, item.other_router)
            if other and any(other.get(c) != decision.get(c) for c in SNAPSHOT):
                st.markdown(
                    f"**{item.other_router}** differs: "
                    + ", ".join(f"{c} {other.get(c)}" for c in SNAPSHOT if other.get(c) != decision.get(c))
                )
        with st.expander("Rule trace"):
            _trace(item.request_id, item.router)


def _trace(request_id: str, router: str) -> None:
    from routelab.datasets.replay import explain

    try:
        decision = explain(store(), request_id, router)
    except Exception as exc:  # noqa: BLE001 -- shown on the page; the item stays usable without a trace
        st.warning(f"No trace: {exc}")
        return
    trace = decision.trace
    if trace is not None:
        st.json(trace.model_dump(mode="json"), expanded=False)


def _actions(who: str, item: Any, decision: dict[str, Any]) -> None:
    ss = _state()
    previous = _previous_label(item.request_id, item.router, decision)
    if previous is not None and ss.mode == "choose":
        st.info(
            f"Same decision as {previous['router']}, labelled **{previous['verdict']}** "
            f"by {previous['annotator']}."
        )
        if st.button("Confirm that label (Enter)", shortcut="Enter", type="primary", key="confirm_previous"):
            _submit(
                who,
                item,
                previous["verdict"],
                corrected=_json(previous["corrected"]),
                acceptable=_json(previous["acceptable"]) or [],
                reason_tags=[str(t) for t in _list(previous["reason_tags"])],
                note=previous["note"] if isinstance(previous["note"], str) else None,
            )
            st.rerun()
    cols = st.columns(5)
    if cols[0].button("1 · Correct", shortcut="1", key="verdict_correct", type="primary"):
        _submit(who, item, "correct")
        st.rerun()
    if cols[1].button("2 · Incorrect", shortcut="2", key="verdict_incorrect"):
        ss.mode = "correct_it"
    if cols[2].button("3 · Unsure", shortcut="3", key="verdict_unsure"):
        _submit(who, item, "unsure")
        st.rerun()
    if cols[3].button("S · Skip", shortcut="S", key="skip"):
        from routelab.datasets.queue import release

        release(store(), item.request_id, item.router, who)
        ss.skipped.append(item.request_id)
        ss.item, ss.mode = None, "choose"
        st.rerun()
    if cols[4].button("U · Undo last", shortcut="U", key="undo", disabled=not ss.undo_stack):
        _undo(who)
        st.rerun()
    if ss.mode == "correct_it":
        _correction(who, item, decision)


def _correction(who: str, item: Any, decision: dict[str, Any]) -> None:
    st.markdown("**What should the path have been?**")
    corrected = correction_form(decision, key="annotate")
    tiers = choices(item.router)["tiers"]
    also = st.multiselect("Also acceptable (tiers)", tiers, key="annotate_also")
    tags = st.multiselect("Reasons", REASON_TAGS, key="annotate_tags")
    note = st.text_input("Note", key="annotate_note")
    # Ctrl+Enter: Streamlit ignores plain keys while a form field has the focus, but not modified ones
    if st.button(
        "Submit correction (Ctrl+Enter)", shortcut="Ctrl+Enter", type="primary", key="submit_correction"
    ):
        if not corrected and not also:
            st.error("Change at least one component, or add an acceptable tier.")
            return
        _submit(
            who,
            item,
            "incorrect",
            corrected=corrected or None,
            acceptable=[{"tier": t} for t in also],
            reason_tags=tags,
            note=note or None,
        )
        st.rerun()


def render() -> None:
    """The Annotate page."""
    st.title("Annotate routing decisions")
    user = require("annotator")
    who = user.name
    known = versions()
    if not known:
        st.info("No replayed version yet: `routelab replay NAME@VER`.")
        return
    ss = _state(who)
    ss.annotate_user = user
    with st.sidebar:
        router = st.selectbox("Version to judge", known, index=len(known) - 1, key="annotate_router")
        strategy = st.selectbox(
            "Queue", list(STRATEGIES), format_func=STRATEGIES.get, key="annotate_strategy"
        )
        others = [v for v in known if v != router]
        other = (
            st.selectbox("Against", others, key="annotate_other")
            if strategy == "disagree" and others
            else None
        )
        st.caption(
            "Keys: 1 correct · 2 incorrect (Ctrl+Enter submits) · 3 unsure · S skip · U undo · Enter confirms"
        )
    if ss.item is not None and ss.item.router != router:
        ss.item = None
    _progress(who, router)
    if ss.item is None:
        ss.item = _next(who, router, strategy if others or strategy != "disagree" else "random", other)
        ss.shown_at = time.monotonic()
    item = ss.item
    if item is None:
        st.success("Nothing left to judge in this queue.")
        if ss.undo_stack and st.button("U · Undo last", shortcut="U", key="undo_empty"):
            _undo(who)
            st.rerun()
        return
    decision = _decision(item.request_id, item.router)
    if decision is None:
        st.error(
            f"The decision of {item.router} for {item.request_id} is gone (replayed meanwhile?); skipping it."
        )
        ss.skipped.append(item.request_id)
        ss.item = None
        return
    _item_view(user, item, decision)
    _actions(who, item, decision)


if __name__ == "__main__":
    render()
