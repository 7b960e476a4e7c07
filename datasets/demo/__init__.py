"""The demo traffic: eight weeks of ACME gateway requests, gold labels, outcomes and a planted story.

`generate(seed)` is pure: the same seed gives the same frames (seeded numpy Generators only; no clock; the
only input read is the acme example router and price table shipped in `routelab.router_core`).
`write_demo` stores the three frames in one transaction through `tables.write`.

**Traffic.** Four workflows (support, coding, research, sales) over 56 days from `start` (a Monday), with
per-workflow weekday patterns and business-hour profiles in the requester's local time (US Eastern/Pacific,
Central Europe/UK, DST included), stored in UTC. Each request belongs to a *segment* (`SEGMENT_NEEDS`), which
fixes its task field, phrasing, difficulty, size, PII and data-class rates and production lane. The `truth`
frame keeps the segment and the latent difficulty: generator ground truth for tests and the README, never
stored.

**Gold labels: what a careful operator wants** (source `demo:careful-operator`):
- *quality*: the cheapest tier whose success probability on the request reaches 0.75 (the quality model
  below, at tier level) is the *need*, at least medium for refunds, disputes, escalations and legal requests
  (`MIN_TIER`: the answer applies a policy to the customer's case); tiers up to `cap` above the need are
  acceptable (`-`: no upper limit, for high-stakes segments such as refunds, disputes, legal, migrations,
  debugging, analysis, proposals);
- *retrieval* where the answer depends on it (`req`): support-kb for refunds, disputes and troubleshooting
  (refund policy, order history, known issues), incident-runbooks for outages, code-search for debugging,
  review and migrations, research-wiki for analysis, crm-notes for proposals and emails; triage, completion
  and billing FAQ answers need none (FAQ is fine from cache);
- *escalation*: legal threats and GDPR requests always reach a human;
- *constraints*: confidential data and planted PII stay on private models, EU requests on models serving the
  EU, and the model's context window holds the prompt plus the lane's context budget.
Acceptable paths name tiers when no constraint removes a model of those tiers, else models (cheapest
first). About 60 % of requests are labelled (completions and the new-product segments less; weeks 7-8 less,
annotation lags), about 2 % of those are abstains.

**Outcomes.** `kind='full'`: every request x every model of the acme config. `quality` is a 0/1 success draw
(`quality_scale='binary'`) with p = 0.02 + 0.95 sigmoid(9 (skill - difficulty)), skill = tier skill + model
offset (+ Sonnet/Haiku on code, Gemini on long documents, Llama minus on them); draws are correlated within
a request. The path assumed is the model with the segment's retrieval index (recorded in `path`). Cost =
(prompt + retrieved tokens) x input price + output tokens x output price + the index's query cost, with the
planted price change; latency = lognormal time to first token matching the model's p50/p95, prefill,
generation and retrieval. Errors score 0: context_length_exceeded, timeout (> 120 s), rate_limited,
server_error. `kind='logged'`: one row per request from the production policy (`SEGMENT_LANES`, v1's lanes
with its privacy and residency reroutes) with 10 % uniform exploration over the allowed models;
`propensity` is the probability of the logged model. Cache hits on cached lanes; a gpt-4o incident whose
failed calls fall back (`error` names the primary's failure, `fallback_model` the model that answered).

**Modules.** `models` (the acme catalogue, tiers, eligibility), `segments` (`SEGMENT_NEEDS`, `SEGMENT_DATA`,
`SEGMENT_LANES`, production lanes), `traffic` (volumes, timestamps, segments), `attributes` (per-request
draws, prompts, attrs), `text` with `phrasings`, `pools`, `snippets` and `pii` (prompt rendering), `outcomes`
(full information), `policy` (production policy, logged rows), `labels` (`MIN_TIER`, gold labels), `story`
(launch, price change, incident), `writer` (`write_demo`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd

from routelab.datasets.demo.attributes import draw_attributes, render_texts
from routelab.datasets.demo.labels import LABEL_SOURCE, MIN_TIER, draw_labels, need_tier
from routelab.datasets.demo.models import TIERS, Catalogue, catalogue
from routelab.datasets.demo.outcomes import draw_full, full_frame
from routelab.datasets.demo.policy import draw_logged
from routelab.datasets.demo.segments import SEGMENTS, Lane, Segment, production_lanes
from routelab.datasets.demo.story import (
    INCIDENT,
    LAUNCH_DAY,
    PRICE_DAY,
    PRICE_FACTOR,
    PRICE_MODEL,
    PriceChange,
    narrate,
)
from routelab.datasets.demo.traffic import DAYS, draw_traffic
from routelab.datasets.demo.writer import write_demo
from routelab.datasets.errors import DatasetError

__all__ = [
    "DAYS",
    "INCIDENT",
    "LABEL_SOURCE",
    "LAUNCH_DAY",
    "PRICE_DAY",
    "PRICE_FACTOR",
    "PRICE_MODEL",
    "SEGMENTS",
    "TIERS",
    "Catalogue",
    "DemoData",
    "Lane",
    "PriceChange",
    "Segment",
    "catalogue",
    "generate",
    "write_demo",
]


@dataclass(frozen=True, eq=False)
class DemoData:
    """The generated demo: store-shaped frames, the planted price change and the story."""

    seed: int
    n_requests: int
    requests: pd.DataFrame
    labels: pd.DataFrame
    outcomes: pd.DataFrame
    truth: pd.DataFrame
    """Generator ground truth per request (segment, difficulty, need tier, planted PII); not stored."""
    price_change: PriceChange
    story: list[str]

    @property
    def import_id(self) -> str:
        """The import id the rows are stored under."""
        return f"demo-{self.seed}-{self.n_requests}"


def generate(seed: int = 7, n_requests: int = 20_000, start: date = date(2026, 9, 7)) -> DemoData:
    """Generate the demo traffic, labels and outcomes; pure and deterministic for a seed.

    Args:
        seed: Seed of every random draw.
        n_requests: Number of requests (outcomes: one full row per model and one logged row per request).
        start: First day, a Monday (the weekday patterns, "week 6" and the price change count from it).

    Raises:
        DatasetError: `n_requests` is below 1, `seed` is negative or `start` is not a Monday.
    """
    if n_requests < 1:
        raise DatasetError(f"demo: n_requests must be at least 1, got {n_requests}")
    if seed < 0:
        raise DatasetError(f"demo: seed must be a non-negative integer, got {seed}")
    if start.weekday() != 0:
        raise DatasetError(f"demo: start must be a Monday, got {start:%A} {start}")
    cat = catalogue()
    r_traffic, r_attr, r_text, r_full, r_logged, r_labels = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(6)
    )
    t = draw_attributes(r_attr, draw_traffic(r_traffic, n_requests, start))
    t["request_id"] = [f"demo{seed}-{i:06d}" for i in range(n_requests)]
    texts = render_texts(r_text, t)
    t["prompt_tokens"] = texts.tokens
    floor = t["segment"].map(MIN_TIER).fillna(0).to_numpy(dtype=np.int64)
    t["need_tier"] = np.maximum(need_tier(t["difficulty"].to_numpy()), floor)
    requests = pd.DataFrame(
        {
            "request_id": t["request_id"],
            "ts": t["ts"],
            "workflow": t["workflow"],
            "task": t["task"],
            "team": t["team"],
            "region": t["region"],
            "data_class": t["data_class"],
            "prompt": texts.prompts,
            "prompt_tokens": texts.tokens,
            "expected_output_tokens": t["eot"].astype("Int64").where(t["eot"] > 0),
            "attrs": texts.attrs,
        }
    )
    lanes = production_lanes(t)
    change = PriceChange(
        model=PRICE_MODEL,
        factor=PRICE_FACTOR,
        effective=start + timedelta(days=PRICE_DAY),
        note=f"{PRICE_MODEL} input and output prices +25 %",
    )
    full = draw_full(r_full, t, cat, lanes, datetime.combine(change.effective, datetime.min.time()))
    outcomes = pd.concat(
        [full_frame(t, cat, full), draw_logged(r_logged, t, cat, lanes, full)], ignore_index=True
    )
    truth = pd.DataFrame(
        {
            "request_id": t["request_id"],
            "segment": t["segment"],
            "difficulty": t["difficulty"],
            "need_tier": np.array(TIERS)[t["need_tier"]],
            "pii": t["pii"],
            "after_launch": t["post"].astype(bool),
            "long_document": t["long"],
            "foreign_language": t["foreign"].astype(bool),
        }
    )
    return DemoData(
        seed=seed,
        n_requests=n_requests,
        requests=requests,
        labels=draw_labels(r_labels, t, cat, lanes, start),
        outcomes=outcomes,
        truth=truth,
        price_change=change,
        story=narrate(start, change),
    )
