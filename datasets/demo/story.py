"""The planted story: the ACME Fleet launch, the Claude Haiku 4.5 price change and the gpt-4o incident."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from routelab.router_core.pricing import ModelPrice, PriceTable

LAUNCH_DAY = 35  # Monday of week 6: ACME Fleet launches
PRICE_DAY = 38  # Thursday of week 6: the Claude Haiku 4.5 price rises
PRICE_MODEL = "claude-haiku-4-5-20251001"
PRICE_FACTOR = 1.25
INCIDENT = (23, 13, 19)  # day, from hour, to hour (UTC): most gpt-4o calls fail


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


def narrate(start: date, change: PriceChange) -> list[str]:
    """The story lines: what the demo planted and when, for the README and `routelab demo`."""
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
