"""Prompt text for the demo traffic: templates rendered with slot fillers and planted PII.

Each segment has many templates; slots (`{product}`, `{order}`, `{trace}`, ...) are filled from small pools
with a numpy Generator, so one seed always gives the same text. The phrasings are written so that the keyword
and regex signals of the acme routers fire the way a real gateway's would, misses included: some refund
tickets never say "refund", some German and French tickets match no English keyword, and "activation"
contains the billing keyword "vat". PII (emails, phone numbers, Luhn-valid card numbers, mod-97-valid IBANs,
cloud keys) is only ever inserted where the caller plants it, and the pools avoid look-alikes (no IPv4
addresses, no 13+ digit ids, no `token = ...` assignments) so the detector's hits are the planted ones.
"""

from __future__ import annotations

import string
from dataclasses import dataclass

import numpy as np

from routelab.datasets.demo.phrasings import (
    FOREIGN,
    GREETINGS,
    PII_PHRASES,
    PII_PHRASES_ABOUT,
    SIGNOFFS,
    STAFF_WRITTEN,
    TEMPLATES,
)
from routelab.datasets.demo.pii import IBAN_BBAN, iban, luhn_card, phone, secret
from routelab.datasets.demo.pools import (
    ACTIONS,
    COMPANIES,
    COUNTRIES,
    CURRENCIES,
    DOC_KINDS,
    DOC_PARAS,
    ERRORS,
    FIRST,
    FLEET_ERRORS,
    FLEET_PRODUCTS,
    HISTORY,
    IDPS,
    INTEGRATIONS,
    LAST,
    MIGRATIONS,
    MONTHS,
    PLANS,
    PRODUCTS,
    SEGMENTS_RES,
    TOPICS_RES,
    TRANSCRIPT,
    VEHICLES,
)
from routelab.datasets.demo.snippets import CODE, TRACES
from routelab.datasets.errors import DatasetError

#: Stored prompts are cut to this many characters; the rest is described in the request's attrs.
MAX_PROMPT_CHARS = 4000

_FORMATTER = string.Formatter()
_FIELDS: dict[str, tuple[str, ...]] = {}


def _fields(template: str) -> tuple[str, ...]:
    """The slots of a template in order of first appearance (a fixed order keeps the draws reproducible)."""
    got = _FIELDS.get(template)
    if got is None:
        got = tuple(dict.fromkeys(f for _, f, _, _ in _FORMATTER.parse(template) if f))
        _FIELDS[template] = got
    return got


#: Slots filled by picking one entry of a pool.
_SIMPLE_SLOTS: dict[str, list[str]] = {
    "plan": PLANS,
    "product": PRODUCTS,
    "fleet": FLEET_PRODUCTS,
    "action": ACTIONS,
    "error": ERRORS,
    "fleet_error": FLEET_ERRORS,
    "integration": INTEGRATIONS,
    "idp": IDPS,
    "country": COUNTRIES,
    "month": MONTHS,
    "vehicle": VEHICLES,
    "topic": TOPICS_RES,
    "segment_res": SEGMENTS_RES,
    "doc_kind": DOC_KINDS,
    "currency": CURRENCIES[:2],
    "currency2": CURRENCIES[2:],
}


class _Slots:
    """Lazily fills the slots a template uses, from the pools, with one Generator."""

    def __init__(self, rng: np.random.Generator, lang: str, company: int) -> None:
        self.rng = rng
        self.lang = lang
        self.company = company

    def pick(self, seq: list[str]) -> str:
        return seq[int(self.rng.integers(len(seq)))]

    def value(self, name: str) -> str:
        r = self.rng
        if name in _SIMPLE_SLOTS:
            return self.pick(_SIMPLE_SLOTS[name])
        if name in ("order", "inc"):
            return str(int(r.integers(10_000, 99_999)))
        if name in ("invoice", "invoice2"):
            return f"INV-2026-{int(r.integers(10_000, 99_999))}"
        if name == "ticket":
            return f"T-{int(r.integers(100_000, 999_999))}"
        if name == "amount":
            return f"{self.pick(['$', '€', '£'])}{int(r.integers(19, 2400))}.{self.pick(['00', '50', '99'])}"
        if name == "date":
            return f"{int(r.integers(1, 29))} {self.pick(MONTHS[6:])}"
        if name == "time":
            return f"{int(r.integers(0, 24)):02d}:{int(r.integers(0, 60)):02d}"
        if name == "lang":
            return {"python": "Python", "typescript": "TypeScript", "go": "Go", "java": "Java"}[self.lang]
        if name == "code":
            return self.pick(CODE[self.lang])
        if name == "trace":
            return self.pick(TRACES[self.lang])
        if name == "java_trace":
            return self.pick(TRACES["java"])
        if name == "diff":
            lines = self.pick(CODE[self.lang]).splitlines()
            return "".join(("+" if i % 3 else "-") + ln + "\n" for i, ln in enumerate(lines))
        if name in ("person", "person2", "first"):
            return self.pick(FIRST) + ("" if name == "first" else " " + self.pick(LAST))
        if name == "company":
            return COMPANIES[self.company][0]
        if name == "service":
            return self.pick(["dispatch", "telematics", "billing-export", "driver-sync"])
        if name == "http_error":
            return self.pick(["502 Bad Gateway", "503 Service Unavailable", "504 Gateway Timeout"])
        if name == "budget":
            return f"${int(r.integers(40, 900))}k"
        if name == "migration":
            return self.pick(MIGRATIONS[self.lang])
        if name == "pct":
            return str(int(r.integers(5, 30)))
        if name == "seats":
            return str(int(r.integers(2, 60)) * 5)
        if name == "doc":
            return "\n\n".join(self.pick(DOC_PARAS) for _ in range(3))
        if name == "transcript":
            a, b = self.pick(FIRST), self.pick(FIRST)
            start = int(r.integers(0, 3))
            return "\n" + "\n".join(ln.format(a=a, b=b) for ln in TRANSCRIPT[start : start + 5])
        raise DatasetError(f"demo template slot {{{name}}} has no filler; add one to _Slots.value")

    def fill(self, template: str) -> str:
        return template.format(**{f: self.value(f) for f in _fields(template)})

    def pii(self, kind: str, staff: bool) -> str:
        """A sentence carrying one planted PII value of `kind` (worded by staff or by the customer)."""
        r = self.rng
        name, domain = self.pick(FIRST), COMPANIES[self.company][1]
        values = {
            "email": lambda: f"{name.lower()}.{self.pick(LAST).lower()}@{domain}",
            "phone": lambda: phone(r),
            "card": lambda: luhn_card(r),
            "iban": lambda: iban(r, self.pick(list(IBAN_BBAN))),
            "secret": lambda: secret(r),
        }
        phrase = self.pick((PII_PHRASES_ABOUT if staff else PII_PHRASES)[kind])
        return phrase.format(**{kind: values[kind]()})


@dataclass(frozen=True)
class Rendered:
    """One rendered prompt."""

    prompt: str
    """The stored text (cut to `MAX_PROMPT_CHARS` when the full prompt is longer)."""
    full_chars: int
    """Characters of the full prompt, attached material included."""
    truncated: bool
    """Whether `prompt` is an excerpt."""


def render(
    segment: str,
    rng: np.random.Generator,
    *,
    lang: str = "python",
    company: int = 0,
    foreign: bool = False,
    pii: str = "",
    full_chars: int = 0,
) -> Rendered:
    """Render one prompt of a segment (e.g. `support/refund`).

    Args:
        segment: Template key in `TEMPLATES`.
        rng: The Generator every choice is drawn from.
        lang: Programming language of code slots.
        company: Index into `COMPANIES` for company names and email domains.
        foreign: Use a German or French phrasing where the segment has one.
        pii: Plant one PII value of this kind (`email`, `phone`, `card`, `iban`, `secret`), or none.
        full_chars: Size of the full prompt with its attachments; longer text than the template is padded
            with segment material, and anything beyond `MAX_PROMPT_CHARS` is cut (marked `truncated`).
    """
    slots = _Slots(rng, lang, company)
    pool = FOREIGN[segment] if foreign and segment in FOREIGN else TEMPLATES[segment]
    text = slots.fill(slots.pick(pool))
    staff = segment.startswith(STAFF_WRITTEN)
    if not staff and not foreign:
        text = slots.pick(GREETINGS) + text + slots.fill(slots.pick(SIGNOFFS))
    if pii:
        sentence = slots.pii(pii, staff)
        text = f"{sentence}\n{text}" if pii == "secret" else f"{text} {sentence}"
    target = max(full_chars, len(text))
    if target > len(text) + 40:
        pad = _padding(segment, slots, min(target, MAX_PROMPT_CHARS + 200) - len(text))
        text = text + "\n" + pad
    if target > MAX_PROMPT_CHARS:
        marker = f"\n[... excerpt; full prompt {target} characters]"
        return Rendered(text[: MAX_PROMPT_CHARS - len(marker)].rstrip() + marker, target, True)
    return Rendered(text, len(text), False)


def _padding(segment: str, slots: _Slots, n: int) -> str:
    """About `n` characters of material that fits the segment (code, document text, transcript, history)."""
    workflow = segment.split("/", maxsplit=1)[0]
    parts: list[str] = []
    size = 0
    code = CODE[slots.lang]
    order = slots.rng.permutation(len(code))  # cycle through the pool so neighbours differ
    while size < n:
        if workflow == "coding":
            piece = code[order[len(parts) % len(code)]]
        elif workflow == "research":
            piece = slots.pick(DOC_PARAS)
        elif workflow == "sales":
            a, b = slots.pick(FIRST), slots.pick(FIRST)
            piece = (
                slots.pick(TRANSCRIPT).format(a=a, b=b)
                if segment != "sales/proposal"
                else slots.pick(DOC_PARAS)
            )
        else:
            piece = "Agent note: " + slots.pick(HISTORY)
        parts.append(piece)
        size += len(piece) + 1
    return "\n".join(parts)[:n]
