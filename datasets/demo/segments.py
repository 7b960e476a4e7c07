"""The demo's request segments as tables: what each one is and needs, its data and its production lane.

A segment fixes a request's task field, phrasing, difficulty, size, PII and data-class rates and production
lane; `SEGMENTS` holds them parsed. Everything here is pure.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from routelab.datasets.demo.models import read_table

LONG_DOC = 32_000  # tokens: v1's research-long lane starts above this

# fmt: off
#: Short names used in the tables below.
INDEXES = {
    "kb": "support-kb", "runbooks": "incident-runbooks", "code": "code-search", "wiki": "research-wiki",
    "crm": "crm-notes",
}
MODEL_ALIASES = {
    "mini": "gpt-4o-mini", "lite": "gemini/gemini-2.5-flash-lite", "gpt-4o": "gpt-4o",
    "sonnet": "claude-sonnet-4-5-20250929", "pro": "gemini/gemini-2.5-pro",
}
HUMAN_REVIEW = ("support/legal",)  # segments whose label requires a human
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
# fmt: on


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
    needs, data, lanes = read_table(SEGMENT_NEEDS), read_table(SEGMENT_DATA), read_table(SEGMENT_LANES)
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
LONG_LANE = _lane(read_table(SEGMENT_LANES)["research/long"])
STRATEGIC_LANE = _lane(read_table(SEGMENT_LANES)["sales/strategic"])
#: Segment → (weight before the launch, weight after) within its workflow.
MIX = {name: (float(row[-2]), float(row[-1])) for name, row in read_table(SEGMENT_DATA).items()}


def production_lanes(t: pd.DataFrame) -> list[Lane]:
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
