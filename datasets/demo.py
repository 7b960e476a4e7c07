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
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd
import yaml

from routelab.datasets import tables
from routelab.datasets.demo_text import COMPANIES, render
from routelab.datasets.errors import DatasetError
from routelab.datasets.store import Store
from routelab.router_core.pricing import ModelPrice, PriceTable, resolve_prices
from routelab.router_core.validate import load_router

DAYS = 56
LAUNCH_DAY = 35  # Monday of week 6: ACME Fleet launches
PRICE_DAY = 38  # Thursday of week 6: the Claude Haiku 4.5 price rises
PRICE_MODEL = "claude-haiku-4-5-20251001"
PRICE_FACTOR = 1.25
INCIDENT = (23, 13, 19)  # day, from hour, to hour (UTC): most gpt-4o calls fail
LABEL_SOURCE = "demo:careful-operator"
TIERS = ("small", "medium", "large", "frontier")
TIER_SKILL = np.array([0.45, 0.62, 0.72, 0.82])
NEED_P = 0.75
EXPLORE = 0.10
TIMEOUT_MS = 120_000.0
LONG_DOC = 32_000  # tokens: v1's research-long lane starts above this

# fmt: off
#: Short names used in the tables below.
INDEXES = {
    "kb": "support-kb", "runbooks": "incident-runbooks", "code": "code-search", "wiki": "research-wiki",
    "crm": "crm-notes",
}
HUMAN_REVIEW = ("support/legal",)  # segments whose label requires a human
#: Segments with a minimum tier whatever the difficulty (the answer applies a policy to the customer's case).
MIN_TIER = {"support/refund": 1, "support/dispute": 1, "support/escalation": 1, "support/legal": 1}
MODEL_ALIASES = {
    "mini": "gpt-4o-mini", "lite": "gemini/gemini-2.5-flash-lite", "gpt-4o": "gpt-4o",
    "sonnet": "claude-sonnet-4-5-20250929", "pro": "gemini/gemini-2.5-pro",
}
#: Per model: skill offset on its tier, output verbosity.
MODEL_TRAITS = """
model                                               offset  verbosity
gpt-4o-mini                                         0       0.90
gemini/gemini-2.5-flash-lite                        -0.03   0.85
azure/eu/gpt-4o-mini                                0       0.90
ollama/llama3.1                                     -0.08   0.90
claude-haiku-4-5-20251001                           0.02    1.00
gemini/gemini-2.5-flash                             0       1.05
gpt-4o                                              0       1.00
hosted_vllm/meta-llama/Llama-3.1-70B-Instruct       -0.05   1.00
claude-sonnet-4-5-20250929                          0.02    1.15
gemini/gemini-2.5-pro                               -0.01   1.20
hosted_vllm/meta-llama/Llama-3.1-405B-Instruct-FP8  -0.04   1.05
"""
#: What a segment is and needs. tasks: task-field values with weights (`-`: no task sent); diff: mean
#: difficulty; index: retrieval assumed by the full outcomes (`INDEXES`); req: the label requires it; cap:
#: acceptable tiers above the need (`-`: any); eot: expected output tokens; tokens: full prompt
#: median/sigma/max (`-`: as written); long: share of long documents (33k-180k tokens).
SEGMENT_NEEDS = """
segment                     tasks                      diff  index     req  cap  eot   tokens          long
support/refund              refund:.65,-:.35           .42   kb        y    -    350   -               0
support/dispute             billing_dispute:.55,-:.45  .42   kb        y    -    350   -               0
support/escalation          escalation:1               .46   kb        y    -    500   900/.6/6000     0
support/triage              triage:1                   .15   -         n    2    60    -               0
support/troubleshoot        troubleshoot:.7,-:.3       .26   kb        y    2    450   -               0
support/troubleshoot-fleet  troubleshoot:.75,-:.25     .42   kb        y    2    450   -               0
support/howto               question:.6,-:.4           .20   kb        y    2    350   -               0
support/faq                 billing_question:.5,-:.5   .16   -         n    2    250   -               0
support/outage              troubleshoot:.5,-:.5       .26   runbooks  y    2    300   -               0
support/complaint           question:.3,-:.7           .36   kb        y    -    300   -               0
support/legal               account:.3,-:.7            .45   kb        y    -    500   -               0
support/account             account:.7,-:.3            .22   kb        y    2    250   -               0
coding/completion           completion:1               .12   -         n    1    256   700/.5/3500     0
coding/debug                debug:1                    .45   code      y    -    700   1500/.7/12000   0
coding/review               review:1                   .45   code      y    2    900   6000/.7/30000   0
coding/migration            migration:1                .60   code      y    -    2500  12000/.6/60000  0
coding/migration-fleet      migration:1                .62   code      y    -    2500  14000/.6/60000  0
coding/explain              explain:1                  .22   code      n    2    400   500/.6/3000     0
coding/test                 test:1                     .26   code      n    2    800   600/.6/3000     0
coding/refactor             refactor:1                 .28   code      n    2    1200  1200/.6/8000    0
research/summarise          summarise:1                .22   wiki      n    2    600   2500/.6/20000   .3
research/qa                 qa:1                       .24   wiki      y    2    300   -               0
research/analysis           analysis:1                 .48   wiki      y    -    1500  5000/.6/30000   .1
research/market_research    market_research:1          .47   wiki      y    -    1500  -               0
research/literature_review  literature_review:1        .47   wiki      y    -    1200  8000/.6/30000   .35
sales/email                 email:1                    .18   crm       y    2    350   -               0
sales/crm_notes             crm_notes:1                .22   crm       n    2    300   1500/.6/8000    0
sales/call_summary          call_summary:1             .24   crm       n    2    450   3000/.6/15000   0
sales/proposal              proposal:1                 .40   crm       y    -    1800  3000/.8/90000   0
"""
#: Data per segment: planted PII rate and kinds (drawn uniformly), confidential, public and labelled shares,
#: and the segment mix within its workflow before and after the launch (weights).
SEGMENT_DATA = """
segment                     pii   pii_kinds          confidential  public  labelled  before  after
support/refund              .12   card,email,iban    .02           0       .85       .09     .08
support/dispute             .12   card,iban,email    .02           0       .85       .06     .05
support/escalation          .08   email,phone        .05           0       .8        .06     .05
support/triage              .03   email              .02           0       .65       .20     .17
support/troubleshoot        .02   email              .02           0       .75       .18     .12
support/troubleshoot-fleet  .02   email              .02           0       .55       0       .20
support/howto               .02   email              .02           0       .7        .15     .13
support/faq                 .04   email              .02           0       .7        .13     .10
support/outage              0     email              .02           0       .8        .05     .04
support/complaint           .05   phone              .02           0       .7        .04     .03
support/legal               .25   email,phone        .1            0       .9        .015    .01
support/account             .04   email              .02           0       .65       .025    .02
coding/completion           .003  secret             .03           .1      .45       .42     .35
coding/debug                .03   secret             .03           0       .65       .18     .16
coding/review               .015  secret             .03           0       .6        .10     .09
coding/migration            .01   secret             .03           0       .65       .03     .03
coding/migration-fleet      .01   secret             .03           0       .5        0       .13
coding/explain              0     secret             .02           .1      .6        .10     .09
coding/test                 0     secret             .02           0       .6        .08     .07
coding/refactor             0     secret             .02           0       .6        .09     .08
research/summarise          0     email              .02           .2      .7        .42     .42
research/qa                 0     email              .02           0       .6        .13     .13
research/analysis           0     email              .35           0       .7        .15     .15
research/market_research    0     email              .02           .35     .65       .15     .15
research/literature_review  0     email              .02           .3      .65       .15     .15
sales/email                 .06   email              .05           .25     .7        .35     .35
sales/crm_notes             .35   email,email,phone  .35           0       .8        .22     .22
sales/call_summary          .2    phone,phone,email  .25           0       .75       .20     .20
sales/proposal              .05   iban,email         .4            0       .75       .23     .23
"""
#: The production lane per segment (v1's rules; research above 32k tokens and proposals of $250k or more
#: take v1's long-document and strategic lanes instead).
SEGMENT_LANES = """
segment                     model   retrieval          context  cache   fallbacks  escalation
support/refund              sonnet  support-kb         8000     bypass  gpt-4o     none
support/dispute             sonnet  support-kb         8000     bypass  gpt-4o     none
support/escalation          sonnet  support-kb         8000     bypass  gpt-4o     none
support/triage              mini    -                  0        serve   -          none
support/troubleshoot        gpt-4o  support-kb         8000     bypass  sonnet     none
support/troubleshoot-fleet  gpt-4o  support-kb         8000     bypass  sonnet     none
support/howto               gpt-4o  support-kb         6000     bypass  -          none
support/faq                 gpt-4o  support-kb         4000     serve   -          none
support/outage              gpt-4o  incident-runbooks  6000     bypass  sonnet     none
support/complaint           sonnet  support-kb         8000     bypass  -          human_review
support/legal               sonnet  support-kb         8000     bypass  -          human_review
support/account             gpt-4o  support-kb         6000     bypass  -          none
coding/completion           lite    -                  4000     bypass  -          none
coding/debug                sonnet  code-search        16000    bypass  gpt-4o     none
coding/review               sonnet  code-search        32000    bypass  gpt-4o     none
coding/migration            sonnet  code-search        32000    bypass  gpt-4o     none
coding/migration-fleet      sonnet  code-search        32000    bypass  gpt-4o     none
coding/explain              gpt-4o  code-search        8000     bypass  -          none
coding/test                 gpt-4o  code-search        8000     bypass  -          none
coding/refactor             gpt-4o  code-search        8000     bypass  -          none
research/summarise          gpt-4o  research-wiki      8000     bypass  -          none
research/qa                 gpt-4o  research-wiki      8000     bypass  -          none
research/analysis           sonnet  research-wiki      16000    bypass  pro        none
research/market_research    sonnet  research-wiki      16000    bypass  pro        none
research/literature_review  sonnet  research-wiki      16000    bypass  pro        none
sales/email                 gpt-4o  crm-notes          4000     bypass  -          none
sales/crm_notes             gpt-4o  crm-notes          8000     bypass  -          none
sales/call_summary          gpt-4o  crm-notes          8000     bypass  -          none
sales/proposal              gpt-4o  crm-notes          16000    bypass  -          none
research/long               pro     research-wiki      32000    bypass  -          none
sales/strategic             sonnet  crm-notes          16000    bypass  gpt-4o     none
"""
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
WORKFLOWS = ("support", "coding", "research", "sales")
VOLUME = np.array([0.38, 0.32, 0.12, 0.18])
SURGE = np.array([0.30, 0.25, 0.0, 0.05])  # post-launch volume increase per workflow
DOW = np.array([                           # Monday .. Sunday
    [1.0, 1.0, 0.98, 0.97, 0.92, 0.45, 0.38],
    [1.0, 1.05, 1.05, 1.0, 0.85, 0.12, 0.1],
    [1.0, 1.0, 1.0, 1.0, 0.8, 0.1, 0.08],
    [1.05, 1.05, 1.0, 1.0, 0.85, 0.08, 0.05],
])
_OFFICE = np.array([.03, .02, .02, .02, .03, .06, .15, .4, .8, 1, 1, .95, .75, .9, 1, .95, .85, .6, .35, .25,
                    .2, .15, .1, .06])
_EVENING = np.r_[np.zeros(19), [0.15, 0.15, 0.15, 0.1, 0.05]]
HOURS = np.stack([_OFFICE * 0.75 + 0.12, _OFFICE + _EVENING, _OFFICE, _OFFICE])  # local hour of day
EU_SHARE = np.array([0.30, 0.30, 0.25, 0.25])
EU_LAUNCH = 0.12  # extra EU share after the launch
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


def _table(text: str) -> dict[str, list[str]]:
    """A whitespace-aligned table without its header row: first cell → the other cells."""
    rows = [line.split() for line in text.strip().splitlines()[1:]]
    return {row[0]: row[1:] for row in rows}


def _opt(cell: str) -> str | None:
    return None if cell == "-" else cell


@dataclass(frozen=True)
class Lane:
    """A production (v1-like) path."""

    model: str
    retrieval: str | None
    context: int
    cache: str
    fallbacks: tuple[str, ...]
    escalation: str


@dataclass(frozen=True)
class Segment:
    """One kind of request: how it is asked, how hard it is, what it needs (see the tables above)."""

    name: str
    tasks: tuple[str | None, ...]
    task_p: tuple[float, ...]
    difficulty: float
    index: str | None
    needs_index: bool
    cap: int | None
    human: bool
    eot: int
    tokens: tuple[float, float, float] | None
    long_share: float
    pii: float
    pii_kinds: tuple[str, ...]
    confidential: float
    public: float
    labelled: float
    lane: Lane


def _lane(cells: list[str]) -> Lane:
    model, retrieval, context, cache, fallbacks, escalation = cells
    return Lane(
        model=MODEL_ALIASES[model],
        retrieval=_opt(retrieval),
        context=int(context),
        cache=cache,
        fallbacks=tuple(MODEL_ALIASES[f] for f in fallbacks.split(",")) if fallbacks != "-" else (),
        escalation=escalation,
    )


def _segments() -> dict[str, Segment]:
    needs, data, lanes = _table(SEGMENT_NEEDS), _table(SEGMENT_DATA), _table(SEGMENT_LANES)
    out = {}
    for name, (tasks, diff, index, req, cap, eot, tokens, long) in needs.items():
        pairs = [t.rsplit(":", 1) for t in tasks.split(",")]
        pii, kinds, conf, public, labelled, _before, _after = data[name]
        med, sig, top = (float(x) for x in tokens.split("/")) if tokens != "-" else (0.0, 0.0, 0.0)
        out[name] = Segment(
            name=name,
            tasks=tuple(_opt(v) for v, _ in pairs),
            task_p=tuple(float(p) for _, p in pairs),
            difficulty=float(diff),
            index=INDEXES.get(index),
            needs_index=req == "y",
            cap=None if cap == "-" else int(cap),
            human=name in HUMAN_REVIEW,
            eot=int(eot),
            tokens=(med, sig, top) if tokens != "-" else None,
            long_share=float(long),
            pii=float(pii),
            pii_kinds=tuple(kinds.split(",")),
            confidential=float(conf),
            public=float(public),
            labelled=float(labelled),
            lane=_lane(lanes[name]),
        )
    return out


SEGMENTS = _segments()
LONG_LANE = _lane(_table(SEGMENT_LANES)["research/long"])
STRATEGIC_LANE = _lane(_table(SEGMENT_LANES)["sales/strategic"])
_TRAITS = {m: (float(a), float(b)) for m, (a, b) in _table(MODEL_TRAITS).items()}
_MIX = {name: (float(row[-2]), float(row[-1])) for name, row in _table(SEGMENT_DATA).items()}


@dataclass(frozen=True)
class PriceChange:
    """A provider price change planted in the outcomes: `model` costs `factor` times more from `effective`."""

    model: str
    factor: float
    effective: date
    note: str

    def apply(self, table: PriceTable) -> PriceTable:
        """The price table after the change (the model's input and output prices times `factor`)."""
        old = table.prices[self.model]
        new = ModelPrice(
            input_per_token=old.input_per_token * self.factor,
            output_per_token=old.output_per_token * self.factor,
        )
        return PriceTable(
            prices={**table.prices, self.model: new},
            source=f"{table.source}; {self.note}",
            as_of=self.effective.isoformat(),
        )


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


@dataclass(frozen=True)
class Catalogue:
    """The acme models as arrays in config order, with the prices and indexes."""

    ids: tuple[str, ...]
    tier: np.ndarray
    private: np.ndarray
    eu: np.ndarray
    window: np.ndarray
    price_in: np.ndarray
    price_out: np.ndarray
    p50: np.ndarray
    p95: np.ndarray
    tps: np.ndarray
    index_cost: dict[str, float]
    index_latency: dict[str, float]
    prices: PriceTable


@lru_cache(maxsize=1)
def catalogue() -> Catalogue:
    """The models, prices and indexes of the acme example router (v1; v2 and v3 share them)."""
    examples = resources.files("routelab.router_core").joinpath("examples")
    router = load_router(examples.joinpath("acme_v1.yaml").read_text(encoding="utf-8"), "acme_v1.yaml")
    raw = yaml.safe_load(examples.joinpath("prices.yaml").read_text(encoding="utf-8"))
    prices = PriceTable.model_validate(raw)
    resolved = resolve_prices(router.models, prices)
    specs = list(router.models.values())
    missing = [s.id for s in specs if s.id not in _TRAITS]
    if missing:
        raise DatasetError(f"demo: no quality traits for model(s) {missing}; add them to MODEL_TRAITS")

    def arr(f: Any) -> np.ndarray:
        return np.array([f(s) for s in specs])

    return Catalogue(
        ids=tuple(s.id for s in specs),
        tier=arr(lambda s: TIERS.index(s.tier)),
        private=arr(lambda s: s.boundary == "private"),
        eu=arr(lambda s: not s.regions or "eu" in s.regions),
        window=arr(lambda s: s.context_window),
        price_in=arr(lambda s: resolved[s.id].input_per_token),
        price_out=arr(lambda s: resolved[s.id].output_per_token),
        p50=arr(lambda s: s.latency.p50_ms),
        p95=arr(lambda s: s.latency.p95_ms),
        tps=arr(lambda s: s.latency.output_tokens_per_s),
        index_cost={i.id: i.cost_per_query for i in router.indexes.values()},
        index_latency={i.id: i.latency_ms for i in router.indexes.values()},
        prices=prices,
    )


# ------------------------------------------------------------------------------------------------ traffic
def _utc_offsets(start: date) -> np.ndarray:
    """Hours east of UTC per local day for US Eastern, US Pacific, Central Europe and the UK."""

    def last_sunday(y: int, m: int) -> date:
        d = date(y, m + 1, 1) - timedelta(days=1)
        return d - timedelta(days=(d.weekday() + 1) % 7)

    def first_sunday(y: int, m: int) -> date:
        d = date(y, m, 1)
        return d + timedelta(days=(6 - d.weekday()) % 7)

    out = np.zeros((DAYS, 4))
    for i in range(DAYS):
        d = start + timedelta(days=i)
        us = first_sunday(d.year, 3) + timedelta(days=7) <= d < first_sunday(d.year, 11)
        eu = last_sunday(d.year, 3) <= d < last_sunday(d.year, 10)
        out[i] = [-5 + us, -8 + us, 1 + eu, 0 + eu]
    return out


def _traffic(rng: np.random.Generator, n: int, start: date) -> pd.DataFrame:
    """Workflow, local day and hour, region and segment of each request; UTC timestamps."""
    days = np.arange(DAYS)
    dow = np.array([(start + timedelta(days=int(d))).weekday() for d in days])
    after = days >= LAUNCH_DAY
    surge = 1 + SURGE[:, None] * after * (1 + 0.5 * np.exp(-(days - LAUNCH_DAY).clip(0) / 3))
    weights = VOLUME[:, None] * DOW[:, dow] * (1 + 0.004 * days) * surge
    cell = rng.choice(weights.size, size=n, p=(weights / weights.sum()).ravel())
    wf, day = cell // DAYS, cell % DAYS
    post = day >= LAUNCH_DAY
    eu = rng.random(n) < EU_SHARE[wf] + EU_LAUNCH * post
    segment = np.empty(n, dtype=object)
    hour = np.zeros(n, dtype=np.int64)
    for w, name in enumerate(WORKFLOWS):
        names = [s for s in _MIX if s.startswith(name + "/")]
        for period in (0, 1):
            idx = np.flatnonzero((wf == w) & (post == period))
            p = np.array([_MIX[s][period] for s in names])
            segment[idx] = np.array(names, dtype=object)[rng.choice(len(names), size=idx.size, p=p / p.sum())]
        idx = np.flatnonzero(wf == w)
        hour[idx] = rng.choice(24, size=idx.size, p=HOURS[w] / HOURS[w].sum())
    zone = np.where(eu, 2 + (rng.random(n) < 0.2), (rng.random(n) < 0.4).astype(int))
    seconds = day * 86400 + hour * 3600 + rng.integers(0, 3600, n) - _utc_offsets(start)[day, zone] * 3600
    # Keep the window exact: the few requests that cross its edges in UTC move by one day.
    seconds = np.where(seconds < 0, seconds + 86400, seconds)
    seconds = np.where(seconds >= DAYS * 86400, seconds - 86400, seconds)
    return pd.DataFrame(
        {
            "workflow": np.array(WORKFLOWS)[wf],
            "segment": segment,
            "ts": pd.Timestamp(start) + pd.to_timedelta(seconds, unit="s"),
            "region": np.where(eu, "eu", "us"),
            "post": post,
        }
    )


def _attributes(rng: np.random.Generator, t: pd.DataFrame) -> pd.DataFrame:
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
class _Texts:
    """The rendered prompts, their token counts and the requests' attrs."""

    prompts: list[str]
    tokens: np.ndarray
    attrs: list[dict[str, str]]


def _texts(rng: np.random.Generator, t: pd.DataFrame) -> _Texts:
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
    return _Texts(prompts, tokens, attrs)


# ------------------------------------------------------------------------------------------------ outcomes
def _lanes(t: pd.DataFrame) -> list[Lane]:
    """The production lane of each request."""
    out = []
    for seg, tokens, deal in zip(t["segment"], t["prompt_tokens"], t["deal"], strict=True):
        if seg.startswith("research/") and tokens > LONG_DOC:
            out.append(LONG_LANE)
        elif seg == "sales/proposal" and deal >= 250_000:
            out.append(STRATEGIC_LANE)
        else:
            out.append(SEGMENTS[seg].lane)
    return out


def _eligible(t: pd.DataFrame, cat: Catalogue, context: np.ndarray) -> np.ndarray:
    """Request x model: privacy (confidential or PII → private), EU residency, context window."""
    private = (t["data_class"].eq("confidential") | t["pii"].ne("")).to_numpy()
    eu = t["region"].eq("eu").to_numpy()
    fits = t["prompt_tokens"].to_numpy()[:, None] + context[:, None] <= cat.window[None, :]
    return np.asarray((~private[:, None] | cat.private[None, :]) & (~eu[:, None] | cat.eu[None, :]) & fits)


def _success_prob(skill: np.ndarray, difficulty: np.ndarray) -> np.ndarray:
    return np.asarray(0.02 + 0.95 / (1 + np.exp(-9 * (skill - difficulty))))


def _need_tier(difficulty: np.ndarray) -> np.ndarray:
    """The cheapest tier whose success probability reaches `NEED_P` (the top tier when none does)."""
    ok = _success_prob(TIER_SKILL[None, :], difficulty[:, None]) >= NEED_P
    return np.where(ok.any(axis=1), ok.argmax(axis=1), len(TIERS) - 1)


@dataclass(frozen=True)
class _Full:
    """Full-information outcomes as request x model matrices."""

    quality: np.ndarray
    error: np.ndarray
    cost: np.ndarray
    latency: np.ndarray
    ttft: np.ndarray
    input_tokens: np.ndarray
    output_tokens: np.ndarray
    context: np.ndarray
    index: np.ndarray


def _skill(t: pd.DataFrame, cat: Catalogue) -> np.ndarray:
    """Request x model skill: tier skill, model offset, strengths on code and long documents."""
    ids = cat.ids
    base = TIER_SKILL[cat.tier] + np.array([_TRAITS[i][0] for i in ids])
    code = np.array([0.04 if "sonnet" in i else 0.02 if i == PRICE_MODEL else 0.0 for i in ids])
    long = np.array([0.05 if i.startswith("gemini/") else -0.05 if "llama" in i else 0.0 for i in ids])
    coding = t["workflow"].eq("coding").to_numpy()[:, None]
    is_long = (t["prompt_tokens"].to_numpy() > LONG_DOC)[:, None]
    return np.asarray(base[None, :] + coding * code[None, :] + is_long * long[None, :])


def _full(
    rng: np.random.Generator, t: pd.DataFrame, cat: Catalogue, lanes: list[Lane], effective: datetime
) -> _Full:
    n, m = len(t), len(cat.ids)
    index = np.array([SEGMENTS[s].index for s in t["segment"]], dtype=object)
    has_index = np.array([i is not None for i in index])
    context = np.where(has_index, [ln.context for ln in lanes], 0)
    retrieved = np.round(context * rng.uniform(0.4, 1.0, n)).astype(np.int64)
    pt = t["prompt_tokens"].to_numpy()
    p = _success_prob(_skill(t, cat), t["difficulty"].to_numpy()[:, None])
    latent = 0.6 * rng.standard_normal((n, 1)) + 0.8 * rng.standard_normal(
        (n, m)
    )  # shared part: hard for all
    success = 1 / (1 + np.exp(-1.702 * latent)) < p  # logistic approximation of the normal CDF
    eot = np.where(t["eot"].to_numpy() > 0, t["eot"].to_numpy(), 400)
    verbosity = np.array([_TRAITS[i][1] for i in cat.ids])
    out = np.round(0.8 * eot[:, None] * verbosity * np.exp(0.3 * rng.standard_normal((n, m)) - 0.045))
    out = np.maximum(1, out)
    out = np.where(t["task"].eq("completion").to_numpy()[:, None], np.minimum(out, 256), out).astype(np.int64)
    inp = np.repeat((pt + retrieved)[:, None], m, axis=1)
    sigma = np.log(cat.p95 / cat.p50) / 1.645
    prefill_ms = inp / np.where(cat.private, 4000, 20000) * 1000
    ttft = cat.p50 * np.exp(sigma * rng.standard_normal((n, m))) + prefill_ms
    ret_ms = np.array([cat.index_latency[i] if i else 0.0 for i in index]) * np.exp(
        0.2 * rng.standard_normal(n)
    )
    latency = ttft + out / cat.tps * 1000 * np.exp(0.15 * rng.standard_normal((n, m))) + ret_ms[:, None]
    late = (t["ts"].to_numpy() >= np.datetime64(effective))[:, None]
    factor = np.where(late & (np.array(cat.ids) == PRICE_MODEL)[None, :], PRICE_FACTOR, 1.0)
    in_cost = inp * cat.price_in * factor
    ret_cost = np.array([cat.index_cost[i] if i else 0.0 for i in index])[:, None]
    cost = in_cost + out * cat.price_out * factor + ret_cost
    u = rng.random((n, m))
    error = np.full((n, m), None, dtype=object)
    error[u < 0.002] = "server_error"
    error[(u > 0.997) & ~cat.private[None, :]] = "rate_limited"
    error[latency > TIMEOUT_MS] = "timeout"
    error[inp > cat.window[None, :]] = "context_length_exceeded"
    failed = error != None  # noqa: E711 -- element-wise
    quick = np.isin(error, ["context_length_exceeded", "rate_limited"])  # refused before any work
    latency = np.where(error == "timeout", TIMEOUT_MS, np.where(quick, rng.uniform(50, 400, (n, m)), latency))
    return _Full(
        quality=np.where(failed, 0.0, success.astype(float)),
        error=error,
        cost=np.where(quick, 0.0, np.where(failed, in_cost, cost)),
        latency=latency,
        ttft=np.where(failed, np.nan, ttft),
        input_tokens=np.where(quick, 0, inp),
        output_tokens=np.where(failed, 0, out),
        context=context,
        index=index,
    )


def _full_frame(t: pd.DataFrame, cat: Catalogue, f: _Full) -> pd.DataFrame:
    n, m = len(t), len(cat.ids)
    model_json = [json.dumps(i) for i in cat.ids]
    index_json = [json.dumps(i) for i in f.index]
    path = [
        f'{{"context_tokens": {f.context[r]}, "model": {model_json[k]}, "retrieval": {index_json[r]}}}'
        for r in range(n)
        for k in range(m)
    ]
    return pd.DataFrame(
        {
            "request_id": np.repeat(t["request_id"].to_numpy(), m),
            "model": np.tile(np.array(cat.ids, dtype=object), n),
            "kind": "full",
            "eval_group": np.repeat(t["workflow"].to_numpy(), m),
            "quality": f.quality.ravel(),
            "quality_scale": "binary",
            "cost_usd": f.cost.ravel(),
            "latency_ms": f.latency.ravel(),
            "ttft_ms": f.ttft.ravel(),
            "input_tokens": f.input_tokens.ravel(),
            "output_tokens": f.output_tokens.ravel(),
            "error": f.error.ravel(),
            "fallback_model": None,
            "cache_hit": False,
            "propensity": np.nan,
            "path": path,
            "ts": np.repeat(t["ts"].to_numpy(), m),
        }
    )


@dataclass(frozen=True)
class _Choice:
    """What the production policy chose per request."""

    model: np.ndarray  # model position in the catalogue
    propensity: np.ndarray
    rerouted: np.ndarray  # a policy moved the lane's model (and the choice was not exploration)
    allowed: np.ndarray  # request x model


def _policy(rng: np.random.Generator, t: pd.DataFrame, cat: Catalogue, lanes: list[Lane]) -> _Choice:
    """The production policy: v1's lane, rerouted like v1 when privacy, residency or the window forbid its
    model, and 10 % uniform exploration over the allowed models."""
    n, m = len(t), len(cat.ids)
    pos = {i: k for k, i in enumerate(cat.ids)}
    ok = _eligible(t, cat, np.array([ln.context for ln in lanes]))
    ok[~ok.any(axis=1), :] = True  # cannot happen with the demo's sizes; keeps the policy total
    first = np.array([pos[ln.model] for ln in lanes])
    eot = t["eot"].to_numpy()
    est = (
        t["prompt_tokens"].to_numpy()[:, None] * cat.price_in
        + np.where(eot > 0, eot, 400)[:, None] * cat.price_out
    )
    up = ok & (cat.tier[None, :] >= cat.tier[first][:, None])
    cheapest_up = np.where(up, est, np.inf).argmin(axis=1)
    best_down = np.where(ok, -cat.tier[None, :] * 1e6 + est, np.inf).argmin(axis=1)
    rerouted = ~ok[np.arange(n), first]
    primary = np.where(rerouted, np.where(up.any(axis=1), cheapest_up, best_down), first)
    explored = rng.random(n) < EXPLORE
    chosen = np.where(explored, np.where(ok, rng.random((n, m)), -1.0).argmax(axis=1), primary)
    propensity = (1 - EXPLORE) * (chosen == primary) + EXPLORE / ok.sum(axis=1)
    return _Choice(model=chosen, propensity=propensity, rerouted=rerouted & ~explored, allowed=ok)


def _logged(
    rng: np.random.Generator, t: pd.DataFrame, cat: Catalogue, lanes: list[Lane], f: _Full
) -> pd.DataFrame:
    """One outcome per request from the production policy, with its propensity."""
    n = len(t)
    pos = {i: k for k, i in enumerate(cat.ids)}
    choice = _policy(rng, t, cat, lanes)
    chosen, ok = choice.model, choice.allowed
    r = np.arange(n)
    quality, cost, latency = f.quality[r, chosen], f.cost[r, chosen], f.latency[r, chosen]
    ttft, inp, out = f.ttft[r, chosen], f.input_tokens[r, chosen], f.output_tokens[r, chosen]
    error = f.error[r, chosen].copy()
    ts = t["ts"]
    day = (ts.dt.normalize() - ts.iloc[0].normalize()).dt.days.to_numpy()
    hour = ts.dt.hour.to_numpy()
    in_incident = (day == INCIDENT[0]) & (hour >= INCIDENT[1]) & (hour < INCIDENT[2])
    incident = (np.array(cat.ids)[chosen] == "gpt-4o") & in_incident
    u = rng.random(n)
    error = np.where((error == None) & ((u < 0.008) | (incident & (u < 0.6))), "server_error", error)  # noqa: E711
    fallback = np.full(n, None, dtype=object)
    cache_hit = np.zeros(n, dtype=bool)
    hit_u = rng.random(n)
    paths = []
    for i, ln in enumerate(lanes):
        fbs = [fb for fb in ln.fallbacks if ok[i, pos[fb]] and pos[fb] != chosen[i]]
        if error[i] in ("server_error", "rate_limited", "timeout") and fbs:
            k = pos[fbs[0]]
            fallback[i] = fbs[0]
            quality[i], latency[i], ttft[i] = f.quality[i, k], latency[i] + f.latency[i, k], f.ttft[i, k]
            cost[i], inp[i], out[i] = (
                cost[i] + f.cost[i, k],
                inp[i] + f.input_tokens[i, k],
                f.output_tokens[i, k],
            )
        elif error[i] is not None:
            quality[i], out[i] = 0.0, 0
        elif ln.cache == "serve" and hit_u[i] < (0.15 if ln.retrieval is None else 0.3):
            cache_hit[i] = True
            cost[i], inp[i], out[i] = 0.0, 0, 0
            latency[i] = ttft[i] = 20 + 60 * hit_u[i]
        elif ln.retrieval and f.index[i] is None:  # v1's FAQ lane retrieves; the full rows assume it does not
            cost[i] += cat.index_cost[ln.retrieval]
            latency[i] += cat.index_latency[ln.retrieval]
        path = {
            "action": "reroute" if choice.rerouted[i] else "allow",
            "cache": ln.cache,
            "context_tokens": ln.context,
            "escalation": ln.escalation,
            "fallbacks": fbs,
            "model": cat.ids[chosen[i]],
            "retrieval": ln.retrieval,
        }
        paths.append(json.dumps(path, sort_keys=True))
    return pd.DataFrame(
        {
            "request_id": t["request_id"].to_numpy(),
            "model": np.array(cat.ids, dtype=object)[chosen],
            "kind": "logged",
            "eval_group": t["workflow"].to_numpy(),
            "quality": quality,
            "quality_scale": "binary",
            "cost_usd": cost,
            "latency_ms": latency,
            "ttft_ms": ttft,
            "input_tokens": inp,
            "output_tokens": out,
            "error": error,
            "fallback_model": fallback,
            "cache_hit": cache_hit,
            "propensity": choice.propensity,
            "path": paths,
            "ts": ts.to_numpy(),
        }
    )


# ------------------------------------------------------------------------------------------------ labels
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


def _labels(
    rng: np.random.Generator, t: pd.DataFrame, cat: Catalogue, lanes: list[Lane], start: date
) -> pd.DataFrame:
    """Gold labels for a sample of requests, by the careful-operator policy in the module docstring."""
    n = len(t)
    ok = _eligible(t, cat, np.array([ln.context for ln in lanes]))
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


# ------------------------------------------------------------------------------------------------ API
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
    t = _attributes(r_attr, _traffic(r_traffic, n_requests, start))
    t["request_id"] = [f"demo{seed}-{i:06d}" for i in range(n_requests)]
    texts = _texts(r_text, t)
    t["prompt_tokens"] = texts.tokens
    floor = t["segment"].map(MIN_TIER).fillna(0).to_numpy(dtype=np.int64)
    t["need_tier"] = np.maximum(_need_tier(t["difficulty"].to_numpy()), floor)
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
    lanes = _lanes(t)
    change = PriceChange(
        model=PRICE_MODEL,
        factor=PRICE_FACTOR,
        effective=start + timedelta(days=PRICE_DAY),
        note=f"{PRICE_MODEL} input and output prices +25 %",
    )
    full = _full(r_full, t, cat, lanes, datetime.combine(change.effective, datetime.min.time()))
    outcomes = pd.concat(
        [_full_frame(t, cat, full), _logged(r_logged, t, cat, lanes, full)], ignore_index=True
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
        labels=_labels(r_labels, t, cat, lanes, start),
        outcomes=outcomes,
        truth=truth,
        price_change=change,
        story=_story(start, change),
    )


def _story(start: date, change: PriceChange) -> list[str]:
    launch = start + timedelta(days=LAUNCH_DAY)
    incident = start + timedelta(days=INCIDENT[0])
    return [
        "acme-gateway v2 roughly halves v1's estimated model spend (small and medium tiers on most lanes).",
        "v2 flaw 1: refund and billing-dispute tickets that mention an invoice, charge, payment or "
        "subscription fall into the billing FAQ lane (Flash-Lite, no support-kb); small models fail many.",
        "v2 flaw 2: confidential sales requests and sales prompts with customer PII (CRM notes with emails, "
        "call summaries with phone numbers) reach external models; v1 and v3 keep them private.",
        f"Week 6 ({launch:%Y-%m-%d}): ACME Fleet launches: harder Fleet troubleshooting tickets (new "
        "phrasing, some German and French), Fleet API v2 migrations, more EU traffic, more volume.",
        "Fleet activation tickets say 'activation', which contains the billing keyword 'vat': v1 and v3 "
        "answer them in the billing FAQ lane (v3: Flash-Lite without the support KB).",
        f"{change.effective:%Y-%m-%d}: {change.note}; outcome costs reflect it from that day.",
        f"{incident:%Y-%m-%d} {INCIDENT[1]}:00-{INCIDENT[2]}:00 UTC: gpt-4o incident in the logs; most "
        "gpt-4o calls fail (server_error), lanes with fallbacks fall back to Claude Sonnet 4.5.",
    ]


def write_demo(store: Store, data: DemoData, on_conflict: tables.OnConflict = "error") -> dict[str, int]:
    """Write the demo's requests, labels and outcomes in one transaction, as import `demo-<seed>-<n>`.

    Returns:
        Rows inserted per table (rows already stored identically are skipped).

    Raises:
        ConflictError: rows with the same keys but other content are stored and `on_conflict` is `error`.
    """
    counts: dict[str, int] = {}
    with store.transaction() as cur:
        for table, frame in (
            ("requests", data.requests),
            ("labels", data.labels),
            ("outcomes", data.outcomes),
        ):
            counts[table] = tables.write(cur, table, frame, data.import_id, on_conflict).inserted
    return counts
