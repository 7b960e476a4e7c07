"""PII detection that the Python and the SQL routing engines compute identically.

Each PII type has ONE candidate pattern and one validator. The candidates of a text are the non-overlapping
leftmost matches of the pattern (Python ``re.finditer`` with ``re.ASCII``; DuckDB ``regexp_extract_all``,
which returns group 0), and a text contains PII of a type iff at least one candidate passes the validator.
The Python validators and their SQL twins are written side by side below, and every pattern is restricted
to the constructs Python ``re`` and RE2 read alike: no look-around, no backreferences, no ``\\d \\w \\s``,
no ``$``, no inline flags, no ``.``, no pattern that can match the empty string; ``\\b`` is ASCII in both.
Every character class is ASCII except the negated value class of ``password=``-style secrets, which matches
whole code points in both engines.

Pure: no I/O, no clock, no network.
"""

from __future__ import annotations

import bisect
import enum
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "IBAN_LENGTHS",
    "PiiSpan",
    "PiiType",
    "candidate_pattern",
    "detect",
    "has_pii",
    "has_pii_sql",
    "iban_valid",
    "luhn_valid",
    "redact",
]


class PiiType(str, enum.Enum):  # noqa: UP042 -- (str, Enum) as specified; use `.value` for the plain string
    """The kinds of personal or secret data the detector knows. Declaration order breaks overlap ties."""

    EMAIL = "email"
    PHONE = "phone"
    PAYMENT_CARD = "payment_card"
    IBAN = "iban"
    US_SSN = "us_ssn"
    IP_ADDRESS = "ip_address"
    SECRET = "secret"


class PiiSpan(BaseModel):
    """One detected piece of PII: its type and where it sits in the text."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: PiiType = Field(description="The kind of PII found.")
    start: int = Field(description="Code-point offset of the first character of the span in the text.")
    end: int = Field(description="Code-point offset just past the last character of the span (exclusive).")


# ---------------------------------------------------------------------------------------------------------
# Validators shared by both engines
# ---------------------------------------------------------------------------------------------------------

_LUHN_DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)

IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BI": 27,
    "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27, "DK": 18, "DO": 28,
    "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23,
    "GL": 18, "GR": 27, "GT": 28, "HN": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26,
    "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21,
    "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28,
    "NL": 18, "NO": 15, "OM": 23, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22,
    "RU": 33, "SA": 24, "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25,
    "SV": 28, "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}  # fmt: skip
"""Total IBAN length (without spaces) per ISO 3166 country code, from the SWIFT IBAN registry."""


def _ascii_digits(text: str) -> str:
    return "".join(ch for ch in text if "0" <= ch <= "9")


def luhn_valid(number: str) -> bool:
    """Check the Luhn (mod 10) checksum of a card-like number.

    Args:
        number: ASCII digits, optionally grouped by spaces or dashes.

    Returns:
        True iff `number` holds at least one digit, nothing but digits, spaces and dashes, and its digits pass
        the Luhn check. The length is not checked here.
    """
    digits = number.replace(" ", "").replace("-", "")
    if not digits or _ascii_digits(digits) != digits:
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        total += _LUHN_DOUBLED[d] if i % 2 else d
    return total % 10 == 0


def _iban_mod97(compact: str) -> int:
    """ISO 13616 / ISO 7064 mod 97-10 of an upper-case alphanumeric IBAN, digit by digit (no big ints)."""
    rem = 0
    for ch in compact[4:] + compact[:4]:
        v = ord(ch) - 48 if ch <= "9" else ord(ch) - 55
        rem = (rem * (10 if v < 10 else 100) + v) % 97
    return rem


def iban_valid(iban: str) -> bool:
    """Check an IBAN: known country, that country's length, and ISO 13616 mod-97 equal to 1.

    Args:
        iban: Upper-case IBAN, optionally grouped by spaces (e.g. ``"GB82 WEST 1234 5698 7654 32"``).

    Returns:
        True iff the IBAN is well formed for its country and its check digits are right.
    """
    compact = iban.replace(" ", "")
    if re.fullmatch(r"[A-Z]{2}[0-9]{2}[A-Z0-9]+", compact, re.ASCII) is None:
        return False
    return IBAN_LENGTHS.get(compact[:2]) == len(compact) and _iban_mod97(compact) == 1


def _valid_email(c: str) -> bool:
    return len(c) <= 254 and c.index("@") <= 64


def _valid_phone(c: str) -> bool:
    return 7 <= len(_ascii_digits(c)) <= 15


def _valid_card(c: str) -> bool:
    digits = _ascii_digits(c)
    return 13 <= len(digits) <= 19 and luhn_valid(digits)


def _valid_ssn(c: str) -> bool:
    area, group, serial = c[0:3], c[4:6], c[7:11]
    return area not in ("000", "666") and area < "900" and group != "00" and serial != "0000"


def _valid_ip(c: str) -> bool:
    if "." in c or "::" not in c:  # IPv4, IPv4-mapped IPv6 or the full 8-group form: the pattern suffices
        return True
    groups = [g for g in c.split(":") if g]
    if len(groups) > 7:
        return False
    # "::1" is the loopback; other compressed forms need 2 groups, one of 3+ hex digits, to tell an address
    # from `self::add`, `arr[1::2]` or `a::b` in code.
    return c == "::1" or (len(groups) >= 2 and any(len(g) >= 3 for g in groups))


# The SQL twins. `{c}` is the candidate (a lambda parameter); every nested lambda names its own parameters
# with a `pii_` prefix so that no column of the caller's query is shadowed or captured.
_DIGITS_SQL = "regexp_replace({c}, '[^0-9]', '', 'g')"
_EMAIL_SQL = "length({c}) <= 254 AND strpos({c}, '@') <= 65"
_PHONE_SQL = f"length({_DIGITS_SQL}) BETWEEN 7 AND 15"
_CARD_SQL = (
    f"length({_DIGITS_SQL}) BETWEEN 13 AND 19 AND list_sum(list_transform("
    f"string_split(reverse({_DIGITS_SQL}), ''), lambda pii_d, pii_i: CASE WHEN pii_i % 2 = 0 "
    f"THEN [0, 2, 4, 6, 8, 1, 3, 5, 7, 9][CAST(pii_d AS INTEGER) + 1] ELSE CAST(pii_d AS INTEGER) END"
    f")) % 10 = 0"
)
_IBAN_COMPACT_SQL = "replace({c}, ' ', '')"
# "AD24AE23...": two letters then two digits per country. Letter pairs only occur at entry starts, so
# strpos() of a two-letter country code always lands on its own entry (0 when the country is unknown).
_IBAN_TABLE_SQL = "'" + "".join(f"{cc}{n:02d}" for cc, n in IBAN_LENGTHS.items()) + "'"
_IBAN_POS_SQL = f"strpos({_IBAN_TABLE_SQL}, substr({{c}}, 1, 2))"
_IBAN_SQL = (
    f"{_IBAN_POS_SQL} > 0 AND length({_IBAN_COMPACT_SQL}) = "
    f"coalesce(TRY_CAST(substr({_IBAN_TABLE_SQL}, {_IBAN_POS_SQL} + 2, 2) AS INTEGER), -1) "
    f"AND list_reduce(list_transform(string_split("
    f"substr({_IBAN_COMPACT_SQL}, 5) || substr({_IBAN_COMPACT_SQL}, 1, 4), ''), "
    f"lambda pii_ch: CASE WHEN pii_ch <= '9' THEN ascii(pii_ch) - 48 ELSE ascii(pii_ch) - 55 END), "
    f"lambda pii_acc, pii_v: (pii_acc * CASE WHEN pii_v < 10 THEN 10 ELSE 100 END + pii_v) % 97, 0) = 1"
)
_SSN_SQL = (
    "substr({c}, 1, 3) NOT IN ('000', '666') AND substr({c}, 1, 3) < '900' "
    "AND substr({c}, 5, 2) <> '00' AND substr({c}, 8, 4) <> '0000'"
)
_IP_GROUPS_SQL = "list_filter(string_split({c}, ':'), lambda pii_g: pii_g <> '')"
_IP_SQL = (
    f"CASE WHEN strpos({{c}}, '.') > 0 OR strpos({{c}}, '::') = 0 THEN true "
    f"WHEN len({_IP_GROUPS_SQL}) > 7 THEN false "
    f"ELSE {{c}} = '::1' OR (len({_IP_GROUPS_SQL}) >= 2 AND "
    f"len(list_filter({_IP_GROUPS_SQL}, lambda pii_h: length(pii_h) >= 3)) >= 1) END"
)


# ---------------------------------------------------------------------------------------------------------
# Candidate patterns
# ---------------------------------------------------------------------------------------------------------


def _ci(word: str) -> str:
    """Case-insensitive spelling of an ASCII keyword without inline flags; `_` also matches `-` or nothing."""
    parts: list[str] = []
    for ch in word:
        if ch == "_":
            parts.append("[_-]?")
        elif ch.isalpha():
            parts.append(f"[{ch.upper()}{ch.lower()}]")
        else:
            parts.append(re.escape(ch))
    return "".join(parts)


# Repetitions are bounded (64-character atoms, at most 10 dots on either side of the @) so that Python's
# backtracking engine stays linear on long dotted or dashed runs without an @; RE2 is linear anyway but
# refuses nested counted repetitions whose product exceeds 1000.
_EMAIL = (
    r"\b[A-Za-z0-9_%+'-]{1,64}(?:\.[A-Za-z0-9_%+'-]{1,64}){0,10}"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.){1,10}[A-Za-z]{2,63}\b"
)

_PHONE = "|".join(
    [
        # International / E.164: +<country code> (or 00<country code>) then up to six digit groups, any of
        # them parenthesised.
        r"(?:\+|\b00)[1-9][0-9]{0,3}(?:[ .-]?(?:\([0-9]{1,4}\)|[0-9]{1,4})){1,6}\b",
        # North American: (555) 123-4567, 555-123-4567, 555.123.4567, optionally after "1-" / "1 ".
        r"(?:\b1[ .-])?(?:\([0-9]{3}\)[ ]?|\b[0-9]{3}[.-])[0-9]{3}[.-][0-9]{4}\b",
        # French national: 01 23 45 67 89 (separators required: bare 10-digit runs are order numbers).
        r"\b0[1-9](?:[ .-][0-9]{2}){4}\b",
        # Trunk-prefix national numbers (UK, Germany, ...): 020 7946 0958, 030 1234567, 089/1234567.
        r"\b0[1-9][0-9]{1,4}[ /-][0-9]{3,8}(?:[ -][0-9]{3,4})?\b",
    ]
)

_PAYMENT_CARD = "|".join(
    [
        r"\b[1-9][0-9]{12,18}\b",  # compact
        r"\b[1-9][0-9]{3}(?:[ -][0-9]{4}){3}\b",  # 4-4-4-4
        r"\b[1-9][0-9]{3}(?:[ -][0-9]{4}){2}[ -][0-9]{1,3}\b",  # 4-4-4-1..3 (13-15 digits)
        r"\b[1-9][0-9]{3}[ -][0-9]{6}[ -][0-9]{4,5}\b",  # Amex 4-6-5, Diners 4-6-4
    ]
)

_IBAN = r"\b[A-Z]{2}[0-9]{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,3})?\b"

_US_SSN = r"\b[0-9]{3}(?:-[0-9]{2}-|[ ][0-9]{2}[ ])[0-9]{4}\b"

_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = rf"{_OCTET}(?:\.{_OCTET}){{3}}\b"
_HEX = r"[0-9A-Fa-f]{1,4}"
_IP_ADDRESS = "|".join(
    [
        rf"\b{_IPV4}",
        rf"\b{_HEX}(?::{_HEX}){{7}}\b",  # full form
        rf"::[Ff]{{4}}:{_IPV4}",  # IPv4-mapped ::ffff:1.2.3.4
        rf"\b{_HEX}(?::{_HEX}){{0,6}}::(?:{_HEX}(?::{_HEX}){{0,6}}\b)?",  # head::[tail]
        rf"::{_HEX}(?::{_HEX}){{0,6}}\b",  # ::tail
    ]
)

_SECRET_KEYWORDS = (
    "password",
    "passwd",
    "passphrase",
    "pwd",
    "secret",
    "api_key",
    "access_key",
    "secret_key",
    "private_key",
    "token",
)
# `DB_PASSWORD = "..."`, `"api_key": "..."`, `X-Auth-Token: ...`: an optional dotted/underscored prefix (at
# most 4 bounded parts, for linear backtracking), a keyword, an optional closing quote, a separator, an
# optional opening quote.
_ASSIGNMENT_KEY = (
    r"\b(?:[A-Za-z0-9]{1,40}[_.-]){0,4}(?:" + "|".join(_ci(k) for k in _SECRET_KEYWORDS) + r")['\"]?"
    r"[ \t]*(?::=|=>|==|=|:)[ \t]*['\"]?"
)
# The value: at least 8 characters up to whitespace or a quote; placeholders (`${VAR}`, `<token>`, `{{x}}`,
# `*****`, `%s`) are refused by their first character.
_ASSIGNMENT_VALUE = r"[^ \t\n\r\f'\"$<{*%][^ \t\n\r\f'\"]{7,}"
_BEARER_KEY = r"\b[Bb][Ee][Aa][Rr][Ee][Rr][ \t]+"
_SECRET = "|".join(
    [
        r"\bsk-[A-Za-z0-9_-]{20,}",  # OpenAI (sk-, sk-proj-, sk-svcacct-) and look-alikes
        r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b",  # AWS access key id
        r"\bgh[pousr]_[A-Za-z0-9]{36,}",  # GitHub tokens
        r"\bgithub_pat_[A-Za-z0-9_]{22,}",  # GitHub fine-grained tokens
        r"\bxox[abposr]-[A-Za-z0-9-]{10,}",  # Slack
        r"\bAIza[0-9A-Za-z_-]{35}",  # Google API key
        r"\b[rs]k_(?:live|test)_[0-9A-Za-z]{10,}",  # Stripe secret / restricted keys
        r"\beyJ[A-Za-z0-9_-]{5,1000}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*",  # JWT (header bounded: linear)
        r"-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----",  # PEM / PGP private key header
        _BEARER_KEY + r"[A-Za-z0-9._~+/-]{20,}",  # HTTP bearer token
        _ASSIGNMENT_KEY + _ASSIGNMENT_VALUE,  # password= / api_key: / secret= / token= assignments
    ]
)


@dataclass(frozen=True, slots=True)
class _Spec:
    pattern: str
    validator: Callable[[str], bool] | None
    validator_sql: str | None
    regex: re.Pattern[str]


def _spec(pattern: str, validator: Callable[[str], bool] | None, validator_sql: str | None) -> _Spec:
    return _Spec(pattern, validator, validator_sql, re.compile(pattern, re.ASCII))


_SPECS: dict[PiiType, _Spec] = {
    PiiType.EMAIL: _spec(_EMAIL, _valid_email, _EMAIL_SQL),
    PiiType.PHONE: _spec(_PHONE, _valid_phone, _PHONE_SQL),
    PiiType.PAYMENT_CARD: _spec(_PAYMENT_CARD, _valid_card, _CARD_SQL),
    PiiType.IBAN: _spec(_IBAN, iban_valid, _IBAN_SQL),
    PiiType.US_SSN: _spec(_US_SSN, _valid_ssn, _SSN_SQL),
    PiiType.IP_ADDRESS: _spec(_IP_ADDRESS, _valid_ip, _IP_SQL),
    PiiType.SECRET: _spec(_SECRET, None, None),
}

_TYPE_RANK = {t: i for i, t in enumerate(PiiType)}

# Python-only: where the value starts inside an assignment / bearer candidate, so that `detect` and `redact`
# cover the secret itself and keep `password=` readable. Never used to decide whether a candidate counts.
_SECRET_KEY_PREFIX = re.compile(f"(?:{_ASSIGNMENT_KEY}|{_BEARER_KEY})", re.ASCII)


def candidate_pattern(pii_type: PiiType) -> str:
    """The candidate regex of a type, as both engines read it (Python with ``re.ASCII``, RE2).

    Args:
        pii_type: The PII type.

    Returns:
        The pattern source, without SQL quoting.
    """
    return _SPECS[PiiType(pii_type)].pattern


def _candidates(text: str, pii_type: PiiType) -> Iterable[re.Match[str]]:
    spec = _SPECS[pii_type]
    for m in spec.regex.finditer(text):
        if spec.validator is None or spec.validator(m.group(0)):
            yield m


def has_pii(text: str | None, pii_type: PiiType) -> bool:
    """Whether `text` contains PII of one type.

    Args:
        text: The text to scan; None counts as no PII.
        pii_type: The type to look for.

    Returns:
        True iff some candidate of that type (a non-overlapping leftmost match of its pattern) passes the
        type's validator. Equal to the SQL expression from `has_pii_sql` for every text.
    """
    if text is None:
        return False
    return next(iter(_candidates(text, PiiType(pii_type))), None) is not None


def _span_of(pii_type: PiiType, m: re.Match[str]) -> PiiSpan:
    start = m.start()
    if pii_type is PiiType.SECRET:
        key = _SECRET_KEY_PREFIX.match(m.group(0))
        if key is not None and start + key.end() < m.end():
            start += key.end()
    return PiiSpan(type=pii_type, start=start, end=m.end())


def detect(text: str | None, types: Iterable[PiiType] | None = None) -> list[PiiSpan]:
    """Find every validated PII span of the requested types.

    Spans are the validated candidates, except that for ``password=...``-style and ``Bearer ...`` secrets
    the span covers only the value. Overlaps between types are resolved deterministically: the longer span
    wins, then the type declared first in `PiiType`, then the earlier start.

    Args:
        text: The text to scan; None gives no spans.
        types: The types to look for; None means all of them.

    Returns:
        Non-overlapping spans sorted by start offset.
    """
    if text is None:
        return []
    wanted = (
        list(PiiType) if types is None else sorted({PiiType(t) for t in types}, key=_TYPE_RANK.__getitem__)
    )
    found = [_span_of(t, m) for t in wanted for m in _candidates(text, t)]
    found.sort(key=lambda s: (s.start - s.end, _TYPE_RANK[s.type], s.start))
    # Kept spans never overlap, so sorted by start they are sorted by end too: one bisect finds the only two
    # neighbours a new span could collide with.
    kept: list[PiiSpan] = []
    starts: list[int] = []
    for span in found:
        i = bisect.bisect_right(starts, span.start)
        if (i == 0 or kept[i - 1].end <= span.start) and (i == len(kept) or span.end <= kept[i].start):
            kept.insert(i, span)
            starts.insert(i, span.start)
    return kept


def redact(text: str, types: Iterable[PiiType] | None = None, mask: str = "[{type}]") -> str:
    """Replace every detected PII span by a mask.

    Args:
        text: The text to mask.
        types: The types to mask; None means all of them.
        mask: A `str.format` template; ``{type}`` becomes the span's type value (e.g. ``"email"``).

    Returns:
        The text with each span of `detect(text, types)` replaced by the formatted mask.
    """
    out: list[str] = []
    pos = 0
    for span in detect(text, types):
        out.append(text[pos : span.start])
        out.append(mask.format(type=span.type.value))
        pos = span.end
    out.append(text[pos:])
    return "".join(out)


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


#: Cheap conditions every candidate of a type needs (read off its pattern): an email has an `@`, an IP address
#: a `.` or `:`, and every phone number, card number, IBAN and SSN a digit.
_NECESSARY: dict[PiiType, str] = {
    PiiType.EMAIL: "contains({col}, '@')",
    PiiType.IP_ADDRESS: "(contains({col}, '.') OR contains({col}, ':'))",
    PiiType.PHONE: "regexp_matches({col}, '[0-9]')",
    PiiType.PAYMENT_CARD: "regexp_matches({col}, '[0-9]')",
    PiiType.IBAN: "regexp_matches({col}, '[0-9]')",
    PiiType.US_SSN: "regexp_matches({col}, '[0-9]')",
}


def has_pii_sql(column_sql: str, pii_type: PiiType) -> str:
    """A DuckDB boolean expression equal to `has_pii` for every text.

    Uses ``regexp_extract_all`` with the same candidate pattern and the validator written with DuckDB list
    functions and ``lambda`` syntax (DuckDB 1.3 or later). NULL input gives false, never NULL.

    Args:
        column_sql: A SQL expression of type VARCHAR (a column name, ``?``, ...). It is embedded verbatim in
            parentheses: pass trusted SQL only.
        pii_type: The type to look for.

    Returns:
        The SQL expression text.
    """
    spec = _SPECS[PiiType(pii_type)]
    col = f"CAST(({column_sql}) AS VARCHAR)"
    pattern = _sql_string(spec.pattern)
    if spec.validator_sql is None:
        return f"coalesce(regexp_matches({col}, {pattern}), false)"
    check = spec.validator_sql.format(c="pii_c")
    full = (
        f"coalesce(len(list_filter(regexp_extract_all({col}, {pattern}), lambda pii_c: {check})) > 0, false)"
    )
    # CASE evaluates the expensive branch only on rows passing a cheap necessary condition (no candidate can
    # match without it), which keeps the SQL engine fast on the many prompts without PII
    guard = f"regexp_matches({col}, {pattern})"
    cheap = _NECESSARY.get(PiiType(pii_type))
    if cheap is not None:
        guard = f"({cheap.format(col=col)} AND {guard})"
    return f"(CASE WHEN coalesce({guard}, false) THEN {full} ELSE false END)"


#: The request attr that records PII types found before the text was stored (comma-separated, e.g. by
#: `routelab import --redact`, which keeps only the masked text). A PII signal is true when the text holds
#: PII of one of its types or this attr lists one of them, in both engines.
RECORDED_ATTR = "pii_types"


def recorded_types(value: object) -> frozenset[str]:
    """The PII type names listed in a `RECORDED_ATTR` value ("" or missing: none)."""
    if not isinstance(value, str):
        return frozenset()
    return frozenset(t.strip(" ") for t in value.split(",") if t.strip(" "))  # as DuckDB trim()


def recorded_pii_sql(attrs_sql: str, pii_types: Iterable[PiiType]) -> str:
    """DuckDB SQL: whether the `RECORDED_ATTR` entry of the MAP `attrs_sql` lists any of `pii_types`."""
    wanted = ", ".join("'" + PiiType(t).value + "'" for t in pii_types)
    items = f"list_transform(string_split({attrs_sql}['{RECORDED_ATTR}'], ','), lambda pii_t: trim(pii_t))"
    return f"coalesce(list_has_any({items}, [{wanted}]), FALSE)"


def has_any_pii_sql(column_sql: str, pii_types: Iterable[PiiType]) -> str:
    """A DuckDB boolean expression: whether the text holds PII of any of the types (never NULL).

    One regex made of every type's candidate pattern guards the per-type checks: a row without any candidate
    costs one regex call instead of one per type.
    """
    types = [PiiType(t) for t in pii_types]
    col = f"CAST(({column_sql}) AS VARCHAR)"
    anyof = " OR ".join(has_pii_sql(column_sql, t) for t in types)
    guard = f"coalesce(regexp_matches({col}, {_sql_string(any_candidate_pattern(types))}), false)"
    return f"(CASE WHEN {guard} THEN ({anyof}) ELSE false END)"


def any_candidate_pattern(pii_types: Iterable[PiiType]) -> str:
    """One pattern (RE2 and Python) that matches wherever a candidate of any of the types does."""
    return "|".join(f"(?:{_SPECS[PiiType(t)].pattern})" for t in pii_types)
