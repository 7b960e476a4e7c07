"""Gold labels by the careful-operator policy (see the package docstring): need, acceptable paths, notes."""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from routelab.datasets import tables
from routelab.datasets.demo.models import TIER_SKILL, TIERS, Catalogue, eligible
from routelab.datasets.demo.outcomes import success_prob
from routelab.datasets.demo.segments import SEGMENTS, Lane, Segment

LABEL_SOURCE = "demo:careful-operator"
NEED_P = 0.75

# fmt: off
#: Segments with a minimum tier whatever the difficulty (the answer applies a policy to the customer's case).
MIN_TIER = {"support/refund": 1, "support/dispute": 1, "support/escalation": 1, "support/legal": 1}
#: Why the label is what it is, per segment (stored as the label's note).
WHY = {
    "support/refund": "refund: needs the refund policy and order history (support-kb), medium+",
    "support/dispute": "billing dispute: needs the billing policy and order history (support-kb), medium+",
    "support/escalation": "agent escalation: capable model with the support KB",
    "support/triage": "triage: classification only, a small model suffices",
    "support/troubleshoot": "troubleshooting: known issues from the support KB",
    "support/troubleshoot-fleet": "new-product troubleshooting: thin KB, needs a stronger model",
    "support/howto": "how-to question: help-centre article from the support KB",
    "support/faq": "billing FAQ: fine on a small model, from cache",
    "support/outage": "outage: answer from the incident runbooks",
    "support/complaint": "complaint: careful answer with the support KB",
    "support/legal": "legal or GDPR: capable model, policy KB, always a human",
    "support/account": "account administration: support KB",
    "coding/completion": "inline completion: small fast model",
    "coding/debug": "debugging: reads surrounding code (code-search)",
    "coding/review": "code review: code-search for context",
    "coding/migration": "migration: rare and high-stakes",
    "coding/migration-fleet": "Fleet API v2 migration: new SDK, high-stakes",
    "coding/explain": "explain code",
    "coding/test": "write tests",
    "coding/refactor": "refactor",
    "research/summarise": "summary; long documents need a long-context model",
    "research/qa": "question over internal documents: research-wiki",
    "research/analysis": "analysis memo: strong model with the research wiki",
    "research/market_research": "market research: strong model with the research wiki",
    "research/literature_review": "literature review: strong model with the research wiki",
    "sales/email": "sales email: personalised from the CRM",
    "sales/crm_notes": "CRM notes: customer data stays private",
    "sales/call_summary": "call summary",
    "sales/proposal": "proposal: CRM history; strategic deals are high-stakes",
}
# fmt: on


def need_tier(difficulty: np.ndarray) -> np.ndarray:
    """The cheapest tier whose success probability reaches `NEED_P` (the top tier when none does)."""
    ok = success_prob(TIER_SKILL[None, :], difficulty[:, None]) >= NEED_P
    return np.where(ok.any(axis=1), ok.argmax(axis=1), len(TIERS) - 1)


def _acceptable(seg: Segment, need: int, allowed_any: np.ndarray, cat: Catalogue) -> list[dict[str, Any]]:
    """The acceptable partial paths of one request (empty when no compliant model fits)."""
    top = len(TIERS) - 1 if seg.cap is None else min(len(TIERS) - 1, need + seg.cap)
    in_range = (cat.tier >= need) & (cat.tier <= top)
    allowed = allowed_any & in_range
    if not allowed.any():  # the constraints leave nothing in range: accept any compliant stronger model
        allowed = allowed_any & (cat.tier >= need)
    extra: dict[str, Any] = {}
    if seg.needs_index:
        extra["retrieval"] = seg.index
    if seg.human:
        extra["escalation"] = "human_review"
    if (allowed == in_range).all():
        return [{"tier": TIERS[k], **extra} for k in range(need, top + 1)]
    price = cat.price_in + 4 * cat.price_out
    order = sorted(np.flatnonzero(allowed), key=lambda k: (cat.tier[k], price[k]))
    return [{"model": cat.ids[k], **extra} for k in order]


def draw_labels(
    rng: np.random.Generator, t: pd.DataFrame, cat: Catalogue, lanes: list[Lane], start: date
) -> pd.DataFrame:
    """Gold labels for a sample of requests, by the careful-operator policy in the package docstring."""
    n = len(t)
    ok = eligible(t, cat, np.array([ln.context for ln in lanes]))
    need = t["need_tier"].to_numpy()
    seg = t["segment"].to_numpy()
    week = ((t["ts"] - pd.Timestamp(start)).dt.days // 7).to_numpy()
    rate = np.array([SEGMENTS[s].labelled for s in seg]) * np.where(week >= 6, 0.7, 1.0)
    chosen = np.flatnonzero(rng.random(n) < rate)
    unsure = rng.random(n) < np.where(seg == "support/complaint", 0.1, 0.02)
    rows = []
    for i in chosen:
        rid = t.at[i, "request_id"]
        paths = [] if unsure[i] else _acceptable(SEGMENTS[seg[i]], int(need[i]), ok[i], cat)
        if paths:
            rows.append(tables.label_row(rid, paths, LABEL_SOURCE, note=WHY[seg[i]]))
        else:
            note = "annotator unsure" if unsure[i] else "no compliant model fits"
            rows.append(tables.label_row(rid, [], LABEL_SOURCE, abstain=True, note=note))
    columns = [c for c, _ in tables.TABLES["labels"][0] if c != "import_id"]
    return pd.DataFrame(rows, columns=columns)
