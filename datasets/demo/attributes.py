"""Per-request draws: task, team, data class, planted PII, difficulty, sizes, prompt text and attrs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from routelab.datasets.demo.pools import COMPANIES
from routelab.datasets.demo.segments import SEGMENTS
from routelab.datasets.demo.text import render

# fmt: off
TEAMS = {
    ("support", "us"): ["support-tier1", "support-tier1", "support-tier2", "billing-ops"],
    ("support", "eu"): ["support-eu", "support-dach"],
    ("coding", "us"): ["platform", "payments", "mobile", "data-eng", "web", "platform"],
    ("coding", "eu"): ["platform-berlin", "mobile-dublin"],
    ("research", "us"): ["strategy", "product-research", "corp-dev"],
    ("research", "eu"): ["strategy-eu"],
    ("sales", "us"): ["enterprise-sales", "smb-sales", "smb-sales"],
    ("sales", "eu"): ["sales-dach", "sales-emea"],
}
CONFIDENTIAL_TEAMS = ("payments", "corp-dev")  # everything these teams send is confidential
FOREIGN_SEGMENTS = ("support/refund", "support/dispute", "support/troubleshoot-fleet")
# fmt: on


def draw_attributes(rng: np.random.Generator, t: pd.DataFrame) -> pd.DataFrame:
    """Task, team, data class, planted PII, difficulty, sizes and the other per-request draws."""
    t = t.sort_values("ts", kind="stable").reset_index(drop=True)
    n = len(t)
    seg_col, region = t["segment"].to_numpy(), t["region"].to_numpy()
    task = np.full(n, None, dtype=object)
    team = np.full(n, "", dtype=object)
    data_class = np.full(n, "internal", dtype=object)
    pii = np.full(n, "", dtype=object)
    difficulty = np.zeros(n)
    full_tokens = np.zeros(n, dtype=np.int64)
    eot = np.zeros(n, dtype=np.int64)
    long = np.zeros(n, dtype=bool)
    lang = np.array(["python", "typescript", "go", "java"])[rng.choice(4, n, p=[0.45, 0.3, 0.15, 0.1])]
    foreign_p = np.where(t["post"], 0.3, 0.05)
    foreign = (region == "eu") & np.isin(seg_col, FOREIGN_SEGMENTS) & (rng.random(n) < foreign_p)
    for (wf, reg), pool in TEAMS.items():
        m = (t["workflow"].to_numpy() == wf) & (region == reg)
        team[m] = np.array(pool, dtype=object)[rng.integers(0, len(pool), int(m.sum()))]
    team[(seg_col == "support/escalation") & (region == "us")] = "support-tier2"
    team[(seg_col == "research/analysis") & (region == "us") & (rng.random(n) < 0.5)] = "corp-dev"
    team_secret = np.isin(team, CONFIDENTIAL_TEAMS)
    for name, seg in SEGMENTS.items():
        m = seg_col == name
        k = int(m.sum())
        if not k:
            continue
        task[m] = np.array(seg.tasks, dtype=object)[rng.choice(len(seg.tasks), k, p=seg.task_p)]
        u = rng.random(k)
        drawn = np.where(
            u < seg.confidential, "confidential", np.where(u > 1 - seg.public, "public", "internal")
        )
        data_class[m] = np.where(team_secret[m], "confidential", drawn)
        kinds = np.array(seg.pii_kinds, dtype=object)[rng.integers(0, len(seg.pii_kinds), k)]
        pii[m] = np.where(rng.random(k) < seg.pii, kinds, "")
        is_long = rng.random(k) < seg.long_share
        long[m] = is_long
        if seg.tokens is not None:
            med, sig, top = seg.tokens
            size = np.clip(med * np.exp(sig * rng.standard_normal(k)), med / 5, top)
            # Long documents that must stay on the private cluster or in the EU fit its 131k windows.
            strict = (region[m] == "eu") | (data_class[m] == "confidential")
            big = np.clip(
                60_000 * np.exp(0.5 * rng.standard_normal(k)), 33_000, np.where(strict, 95_000, 180_000)
            )
            full_tokens[m] = np.where(is_long, big, size).astype(np.int64)
        # Most clients send max_tokens; the IDE always does (256), others forget it now and then.
        eot[m] = seg.eot if name == "coding/completion" else np.where(rng.random(k) < 0.08, 0, seg.eot)
        mean = seg.difficulty + 0.15 * is_long + 0.05 * foreign[m]
        difficulty[m] = rng.beta(mean * 40, (1 - mean) * 40)
    deal = np.round(80_000 * np.exp(rng.standard_normal(n)), -3).astype(np.int64)
    has_deal = (seg_col == "sales/proposal") | ((seg_col == "sales/crm_notes") & (rng.random(n) < 0.4))
    deal = np.where(has_deal, deal, 0)
    deal[(seg_col == "sales/proposal") & (rng.random(n) < 0.04)] = -1  # "TBD" in the CRM
    difficulty = np.where(deal >= 250_000, np.clip(difficulty + 0.12, 0, 0.95), difficulty)
    return t.assign(
        task=task,
        team=team,
        data_class=data_class,
        pii=pii,
        difficulty=difficulty,
        full_tokens=full_tokens,
        eot=eot,
        long=long,
        lang=lang,
        company=rng.integers(0, len(COMPANIES), n),
        foreign=foreign,
        deal=deal,
        tier_draw=rng.random(n),
    )


def _attrs(row: Any, draw: float) -> dict[str, str]:
    """The free-form attributes a gateway would attach to a request of this workflow."""
    a: dict[str, str] = {}
    task = row.task if isinstance(row.task, str) else None  # pandas keeps a missing task as NaN
    if row.workflow == "support":
        if task in ("escalation", "triage"):
            a["channel"] = "agent" if task == "escalation" else "automation"
        else:
            a["channel"] = "email" if task is None else "chat" if draw < 0.3 else "web_form"
        a["customer_tier"] = (
            "enterprise" if row.tier_draw < 0.25 else "pro" if row.tier_draw < 0.7 else "free"
        )
        a["language"] = ("de" if draw < 0.6 else "fr") if row.foreign else "en"
    elif row.workflow == "coding":
        a["ide"] = "vscode" if draw < 0.6 else "jetbrains" if draw < 0.9 else "neovim"
        a["language"] = row.lang
    elif row.workflow == "research":
        a["source"] = "upload" if row.full_tokens else "chat"
    else:
        a["crm"] = "salesforce" if draw < 0.7 else "hubspot"
        a["account"] = COMPANIES[int(row.company)][0]
        if row.deal:
            a["deal_size_usd"] = "TBD" if row.deal < 0 else str(int(row.deal))
    if row.segment.endswith("-fleet"):
        a["product"] = "fleet"
    return a


@dataclass(frozen=True)
class Texts:
    """The rendered prompts, their token counts and the requests' attrs."""

    prompts: list[str]
    tokens: np.ndarray
    attrs: list[dict[str, str]]


def render_texts(rng: np.random.Generator, t: pd.DataFrame) -> Texts:
    """Render every prompt; its token count (about 4 characters a token, the full size when cut); attrs."""
    prompts: list[str] = []
    tokens = np.zeros(len(t), dtype=np.int64)
    attrs: list[dict[str, str]] = []
    noise = rng.uniform(0.9, 1.1, len(t))
    draw = rng.random(len(t))
    for i, row in enumerate(t.itertuples(index=False)):
        r = render(
            row.segment,
            rng,
            lang=row.lang,
            company=int(row.company),
            foreign=bool(row.foreign),
            pii=row.pii,
            full_chars=int(row.full_tokens) * 4,
        )
        prompts.append(r.prompt)
        tokens[i] = row.full_tokens if r.truncated else max(1, round(len(r.prompt) / 4 * noise[i]))
        a = _attrs(row, float(draw[i]))
        if r.truncated:
            a["prompt_truncated"] = "true"
            a["prompt_chars"] = str(r.full_chars)
        attrs.append(a)
    return Texts(prompts, tokens, attrs)
