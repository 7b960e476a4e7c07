"""Makers of the PII the demo plants: Luhn-valid cards, mod-97-valid IBANs, phone numbers, cloud keys."""

from __future__ import annotations

import string

import numpy as np


def luhn_card(rng: np.random.Generator) -> str:
    """A 16-digit Visa or Mastercard number whose Luhn checksum is valid, grouped by spaces or dashes."""
    prefix = [4] if rng.random() < 0.6 else [5, int(rng.integers(1, 6))]
    digits = prefix + [int(d) for d in rng.integers(0, 10, 15 - len(prefix))]
    total = 0
    for i, d in enumerate(reversed(digits)):  # the check digit will sit at position 0 from the right
        total += (d * 2 - 9 if d * 2 > 9 else d * 2) if i % 2 == 0 else d
    digits.append((10 - total % 10) % 10)
    text = "".join(map(str, digits))
    sep = [" ", "-", ""][int(rng.integers(3))]
    return sep.join(text[i : i + 4] for i in range(0, 16, 4))


#: The BBAN layout per country (`9`: a digit, `A`: a letter).
IBAN_BBAN = {"DE": "9999999999" + "99999999", "NL": "AAAA" + "9" * 10, "FR": "9" * 23, "ES": "9" * 20}


def iban(rng: np.random.Generator, country: str = "DE") -> str:
    """An IBAN with correct ISO 13616 check digits, printed in groups of four."""
    bban = "".join(
        chr(65 + int(rng.integers(26))) if c == "A" else str(int(rng.integers(10)))
        for c in IBAN_BBAN[country]
    )
    numeric = "".join(str(int(c, 36)) for c in bban + country + "00")
    check = 98 - int(numeric) % 97
    compact = f"{country}{check:02d}{bban}"
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))


def phone(rng: np.random.Generator) -> str:
    """A phone number in one of the formats the detector knows (NANP, UK, German, French)."""
    n = rng.integers(0, 10, 8)
    d = "".join(map(str, n))
    return [
        f"(415) 555-{d[:4]}",
        f"+1 646 555 {d[:4]}",
        f"+44 20 7946 {d[:4]}",
        f"+49 30 {d[:6]}",
        f"+33 1 42 {d[:2]} {d[2:4]} {d[4:6]}",
    ][int(rng.integers(5))]


def secret(rng: np.random.Generator) -> str:
    """A pasted cloud credential (AWS key id or an OpenAI-style key)."""
    alnum = string.ascii_uppercase + string.digits
    if rng.random() < 0.5:
        return "AWS_ACCESS_KEY_ID=AKIA" + "".join(alnum[int(i)] for i in rng.integers(0, 36, 16))
    chars = string.ascii_letters + string.digits
    return "OPENAI_API_KEY=sk-proj-" + "".join(chars[int(i)] for i in rng.integers(0, 62, 32))
