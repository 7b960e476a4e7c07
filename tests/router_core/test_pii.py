"""Tests of the PII detector: golden corpus quality, Python/DuckDB agreement, checksums, redaction.

Token-like test values (API keys and the like) are assembled at run time from pieces, and the corpus file
spells the first character of each secret as a JSON ``\\u`` escape, so that no plain token sits in the
repository for secret scanners to trip on.
"""

from __future__ import annotations

import functools
import itertools
import json
import re
import string
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from routelab.router_core.pii import (
    IBAN_LENGTHS,
    PiiSpan,
    PiiType,
    candidate_pattern,
    detect,
    has_any_pii_sql,
    has_pii,
    has_pii_sql,
    iban_valid,
    luhn_valid,
    redact,
)

CORPUS = Path(__file__).parent / "data" / "pii_corpus.jsonl"
TYPES = list(PiiType)
STRUCTURED = [PiiType.PAYMENT_CARD, PiiType.IBAN, PiiType.US_SSN, PiiType.IP_ADDRESS, PiiType.EMAIL]
MIN_RECALL = 0.98
MIN_PRECISION = 0.95


def _sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


# One SELECT evaluates a batch of texts: per row, the 7 has_pii_sql booleans then the 7 candidate lists
# from regexp_extract_all. (Compiling the patterns dominates a query's cost, so batching is what keeps the
# property tests fast.)
ALL_SQL = (
    "SELECT "
    + ", ".join(
        [has_pii_sql("t", t) for t in TYPES]
        + [f"regexp_extract_all(t, {_sql_literal(candidate_pattern(t))})" for t in TYPES]
    )
    + " FROM unnest(CAST(? AS VARCHAR[])) WITH ORDINALITY AS texts(t, i) ORDER BY i"
)
PY_PATTERNS = [re.compile(candidate_pattern(t), re.ASCII) for t in TYPES]


@pytest.fixture(scope="module")
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    """One in-memory DuckDB connection for the whole module."""
    connection = duckdb.connect()
    yield connection
    connection.close()


def _sql_eval(
    con: duckdb.DuckDBPyConnection, texts: list[str | None]
) -> list[tuple[list[bool], list[list[str] | None]]]:
    rows = con.execute(ALL_SQL, [texts]).fetchall()
    assert len(rows) == len(texts)
    return [(list(row[: len(TYPES)]), list(row[len(TYPES) :])) for row in rows]


def _assert_engines_agree(con: duckdb.DuckDBPyConnection, texts: list[str]) -> None:
    for text, (sql_flags, sql_candidates) in zip(texts, _sql_eval(con, list(texts)), strict=True):
        py_candidates = [[m.group(0) for m in p.finditer(text)] for p in PY_PATTERNS]
        assert all(c for cands in py_candidates for c in cands), "a pattern matched the empty string"
        assert sql_candidates == py_candidates, f"candidates differ for {text!r}"
        py_flags = [has_pii(text, t) for t in TYPES]
        assert sql_flags == py_flags, f"has_pii differs for {text!r}: sql={sql_flags} python={py_flags}"


# ---------------------------------------------------------------------------------------------------------
# Golden corpus
# ---------------------------------------------------------------------------------------------------------


@functools.cache
def _corpus() -> list[tuple[str, list[tuple[str, str]]]]:
    rows = []
    for line in CORPUS.read_text(encoding="utf-8").splitlines():
        if line.strip():
            record = json.loads(line)
            rows.append((record["text"], [(s["type"], s["value"]) for s in record["spans"]]))
    return rows


@functools.cache
def _corpus_counts() -> dict[PiiType, tuple[int, int, int]]:
    """(true positives, false positives, false negatives) per type, spans compared as (type, substring)."""
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    for text, labels in _corpus():
        expected = Counter(labels)
        found = Counter((s.type.value, text[s.start : s.end]) for s in detect(text))
        for (kind, _), n in (expected & found).items():
            tp[kind] += n
        for (kind, _), n in (found - expected).items():
            fp[kind] += n
        for (kind, _), n in (expected - found).items():
            fn[kind] += n
    return {t: (tp[t.value], fp[t.value], fn[t.value]) for t in TYPES}


def _ratio(num: int, den: int) -> float:
    return num / den if den else 1.0


def test_corpus_is_well_formed() -> None:
    rows = _corpus()
    assert len(rows) >= 150
    kinds = {t.value for t in TYPES}
    for text, labels in rows:
        for kind, value in labels:
            assert kind in kinds
            assert value
            assert value in text, (value, text)
    labelled = Counter(kind for _, labels in rows for kind, _ in labels)
    assert all(labelled[t.value] >= 10 for t in TYPES), labelled
    assert sum(1 for _, labels in rows if not labels) >= 40, "too few hard negatives"


def test_corpus_report(capsys: pytest.CaptureFixture[str]) -> None:
    lines = [f"{'type':<14} {'tp':>4} {'fp':>4} {'fn':>4} {'precision':>10} {'recall':>8}"]
    for t, (tp, fp, fn) in _corpus_counts().items():
        lines.append(
            f"{t.value:<14} {tp:>4} {fp:>4} {fn:>4} {_ratio(tp, tp + fp):>10.3f} {_ratio(tp, tp + fn):>8.3f}"
        )
    with capsys.disabled():
        print("\nPII corpus, span level (detect() vs labels):\n" + "\n".join(lines))


@pytest.mark.parametrize("pii_type", STRUCTURED, ids=lambda t: t.value)
def test_corpus_precision_recall(pii_type: PiiType) -> None:
    tp, fp, fn = _corpus_counts()[pii_type]
    assert tp > 0
    precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    assert recall >= MIN_RECALL, f"{pii_type.value}: recall {recall:.3f} (tp={tp}, fn={fn})"
    assert precision >= MIN_PRECISION, f"{pii_type.value}: precision {precision:.3f} (tp={tp}, fp={fp})"


def test_engines_agree_on_corpus(con: duckdb.DuckDBPyConnection) -> None:
    _assert_engines_agree(con, [text for text, _ in _corpus()])


# ---------------------------------------------------------------------------------------------------------
# Hypothesis strategies: valid and near-valid PII values glued with random separators
# ---------------------------------------------------------------------------------------------------------

DIGITS = string.digits
UPPER_ALNUM = string.digits + string.ascii_uppercase
HEX = "0123456789abcdefABCDEF"


def _luhn_reference(digits: str) -> bool:
    """Textbook Luhn, written independently of the module under test."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def _mod97_reference(iban: str) -> int:
    """ISO 13616 mod 97 with Python's big integers."""
    compact = iban.replace(" ", "")
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(ch, 36)) for ch in rearranged)) % 97


def _mutate(draw: st.DrawFn, value: str, alphabet: str) -> str:
    """Sometimes (one time in three) change, drop or duplicate one character: a near-valid value."""
    if not value or draw(st.integers(0, 2)) > 0:
        return value
    i = draw(st.integers(0, len(value) - 1))
    action = draw(st.sampled_from(["replace", "drop", "double"]))
    if action == "replace":
        return value[:i] + draw(st.sampled_from(alphabet)) + value[i + 1 :]
    if action == "drop":
        return value[:i] + value[i + 1 :]
    return value[:i] + value[i] + value[i:]


def _group(value: str, sizes: list[int], sep: str) -> str:
    parts, pos = [], 0
    for size in sizes:
        if pos < len(value):
            parts.append(value[pos : pos + size])
            pos += size
    if pos < len(value):
        parts.append(value[pos:])
    return sep.join(parts)


@st.composite
def card_numbers(draw: st.DrawFn) -> str:
    length = draw(st.sampled_from([12, 13, 14, 15, 15, 16, 16, 16, 16, 17, 19, 20]))
    body = draw(st.text(DIGITS, min_size=length - 1, max_size=length - 1))
    check = next(d for d in DIGITS if _luhn_reference(body + d))
    number = _mutate(draw, body + check, DIGITS)
    layout = draw(st.sampled_from(["compact", "4s", "amex"]))
    sep = draw(st.sampled_from([" ", " ", "-", " - ", "  "]))
    if layout == "4s":
        return _group(number, [4] * 5, sep)
    if layout == "amex":
        return _group(number, [4, 6, 5], sep)
    return number


@st.composite
def ibans(draw: st.DrawFn) -> str:
    country = draw(st.sampled_from([*sorted(IBAN_LENGTHS), "XX", "US"]))
    length = IBAN_LENGTHS.get(country, 20) + draw(st.sampled_from([0, 0, 0, -1, 1]))
    bban = draw(st.text(UPPER_ALNUM, min_size=length - 4, max_size=length - 4))
    check = 98 - _mod97_reference(f"{country}00{bban}")
    iban = _mutate(draw, f"{country}{check:02d}{bban}", UPPER_ALNUM)
    if draw(st.booleans()):
        iban = _group(iban, [4] * 9, " ")
    return iban.lower() if draw(st.integers(0, 9)) == 0 else iban


@st.composite
def ssns(draw: st.DrawFn) -> str:
    special = draw(st.integers(0, 4)) == 0  # the forbidden area / group / serial values
    area = draw(st.sampled_from([0, 666, 900, 999]) if special else st.integers(0, 999))
    group = draw(st.sampled_from([0, 1, 99]) if special else st.integers(0, 99))
    serial = draw(st.sampled_from([0, 1, 9999]) if special else st.integers(0, 9999))
    sep1, sep2 = draw(
        st.sampled_from([("-", "-"), ("-", "-"), (" ", " "), ("-", " "), ("", ""), ("--", "-")])
    )
    return _mutate(draw, f"{area:03d}{sep1}{group:02d}{sep2}{serial:04d}", DIGITS + "- ")


@st.composite
def ipv4s(draw: st.DrawFn) -> str:
    octets = draw(st.lists(st.integers(0, 300) | st.sampled_from([0, 1, 255, 256]), min_size=3, max_size=5))
    text = ".".join(str(o) for o in octets)
    return "0" + text if draw(st.integers(0, 9)) == 0 else text


@st.composite
def ipv6s(draw: st.DrawFn) -> str:
    groups = draw(st.lists(st.text(HEX, min_size=1, max_size=5), min_size=1, max_size=9))
    if draw(st.booleans()):
        cut = draw(st.integers(0, len(groups)))
        head, tail = ":".join(groups[:cut]), ":".join(groups[cut:])
        address = f"{head}::{tail}"
    else:
        address = ":".join(groups)
    if draw(st.integers(0, 5)) == 0:
        address = "::ffff:" + draw(ipv4s())
    return address


@st.composite
def emails(draw: st.DrawFn) -> str:
    local = draw(st.text(string.ascii_letters + string.digits + "._%+-'", min_size=1, max_size=12))
    labels = draw(
        st.lists(st.text(string.ascii_lowercase + string.digits + "-", min_size=1, max_size=8), max_size=3)
    )
    tld = draw(st.text(string.ascii_letters, min_size=1, max_size=5))
    return f"{local}@{'.'.join([*labels, tld])}"


@st.composite
def phones(draw: st.DrawFn) -> str:
    def digits(lo: int, hi: int) -> str:
        return draw(st.text(DIGITS, min_size=lo, max_size=hi))

    kind = draw(st.sampled_from(["intl", "na", "fr", "trunk", "bare"]))
    if kind == "intl":
        prefix = draw(st.sampled_from(["+", "00", "+0", "+ "]))
        groups = draw(st.lists(st.text(DIGITS, min_size=1, max_size=5), min_size=1, max_size=7))
        seps = draw(
            st.lists(st.sampled_from([" ", "-", ".", ""]), min_size=len(groups), max_size=len(groups))
        )
        body = "".join(s + g for s, g in zip(seps, groups, strict=True))
        if draw(st.booleans()):
            body = body.replace(" ", " (", 1) + ")"
        return prefix + digits(1, 3) + body
    if kind == "na":
        sep = draw(st.sampled_from(["-", ".", " "]))
        area = f"({digits(3, 3)}) " if draw(st.booleans()) else digits(2, 4) + sep
        lead = draw(st.sampled_from(["", "1-", "1 ", "+1 "]))
        return f"{lead}{area}{digits(3, 3)}{sep}{digits(3, 5)}"
    if kind == "fr":
        sep = draw(st.sampled_from([" ", ".", "-", ""]))
        return "0" + digits(1, 1) + "".join(sep + digits(2, 2) for _ in range(draw(st.integers(3, 5))))
    if kind == "trunk":
        return (
            f"0{digits(2, 5)}{draw(st.sampled_from([' ', '/', '-']))}{digits(3, 9)} {digits(0, 4)}".rstrip()
        )
    return digits(6, 16)


SECRET_PREFIXES = [
    "sk-",
    "sk-" + "proj-",
    "AK" + "IA",
    "AS" + "IA",
    "gh" + "p_",
    "gh" + "s_",
    "github" + "_pat_",
    "xo" + "xb-",
    "xo" + "xp-",
    "AI" + "za",
    "sk" + "_live_",
    "rk" + "_live_",
    "sk" + "_test_",
    "ey" + "J",
    "Bearer ",
    "bearer\t",
]
SECRET_KEYS = [
    "password",
    "PASSWORD",
    "Passwd",
    "pwd",
    "secret",
    "api_key",
    "apiKey",
    "API-KEY",
    "token",
    "x-auth-token",
]


@st.composite
def secrets(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["token", "jwt", "pem", "assignment"]))
    token_chars = string.ascii_letters + string.digits + "_-"
    if kind == "token":
        body = draw(
            st.text(
                string.ascii_uppercase + string.digits if draw(st.booleans()) else token_chars,
                min_size=5,
                max_size=50,
            )
        )
        return draw(st.sampled_from(SECRET_PREFIXES)) + body
    if kind == "jwt":
        parts = draw(st.lists(st.text(token_chars, min_size=0, max_size=12), min_size=3, max_size=3))
        return "ey" + "J" + parts[0] + ".ey" + "J" + parts[1] + "." + parts[2]
    if kind == "pem":
        label = draw(st.sampled_from(["", "RSA ", "EC ", "OPENSSH ", "ENCRYPTED ", "rsa ", "PUBLIC "]))
        return "-----BEGIN " + label + "PRIVATE KEY" + draw(st.sampled_from(["-----", " BLOCK-----", "----"]))
    key = draw(st.sampled_from(SECRET_KEYS))
    prefix = draw(st.sampled_from(["", "DB_", "aws.", "my-"]))
    sep = draw(st.sampled_from(["=", ": ", " = ", ":=", "=>", "==", '": "', "='", " "]))
    value = draw(st.text(string.printable + "é€", min_size=0, max_size=14))
    return prefix + key + sep + value


SEPARATORS = st.sampled_from(
    [
        " ",
        "",
        "\n",
        "\t",
        "-",
        ".",
        ":",
        "::",
        "@",
        "+",
        "(",
        ")",
        "'",
        '"',
        "=",
        "/",
        "_",
        "é",
        "😀",
        "\u00a0",
        "1",
        "A",
    ]
)
FRAGMENT = st.one_of(
    card_numbers(),
    ibans(),
    ssns(),
    ipv4s(),
    ipv6s(),
    emails(),
    phones(),
    secrets(),
    SEPARATORS,
    st.text(max_size=6),
)
# Fragments, each followed by a separator (which may be empty or a word character that kills a boundary).
PII_LIKE_TEXT = st.lists(st.tuples(FRAGMENT, SEPARATORS), min_size=1, max_size=6).map(
    lambda parts: "".join(fragment + sep for fragment, sep in parts)
)


# A query's cost is compiling the patterns, not the rows: 200 examples of ten texts check as many texts as
# 500 examples of four did, in 200 queries instead of 500.
@settings(max_examples=200, deadline=None)
@given(texts=st.tuples(st.text(), st.text(), *[PII_LIKE_TEXT] * 8))
def test_engines_agree(con: duckdb.DuckDBPyConnection, texts: tuple[str, ...]) -> None:
    """Per example: two arbitrary unicode texts and eight PII-like texts, evaluated in one SELECT."""
    _assert_engines_agree(con, list(texts))


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(PII_LIKE_TEXT, st.text()))
def test_detect_spans_do_not_overlap(text: str) -> None:
    spans = detect(text)
    for span in spans:
        assert 0 <= span.start < span.end <= len(text)
    for left, right in itertools.pairwise(spans):
        assert left.end <= right.start
    assert detect(text, list(reversed(TYPES))) == spans
    for t in TYPES:
        only = detect(text, [t])
        assert all(s.type is t for s in only)
        assert bool(only) == has_pii(text, t)
        assert {(s.start, s.end) for s in spans if s.type is t} <= {(s.start, s.end) for s in only}


# ---------------------------------------------------------------------------------------------------------
# Checksums
# ---------------------------------------------------------------------------------------------------------

VALID_CARDS = [
    "4111 1111 1111 1111",
    "4111-1111-1111-1111",
    "5555555555554444",
    "378282246310005",
    "6011111111111117",
    "30569309025904",
    "4222222222222",
    "0",
]
INVALID_CARDS = ["4111 1111 1111 1112", "1234567890123456", "5555555555554445", "", "41111x11", "4111_1111"]


@pytest.mark.parametrize("number", VALID_CARDS)
def test_luhn_valid(number: str) -> None:
    assert luhn_valid(number)


@pytest.mark.parametrize("number", INVALID_CARDS)
def test_luhn_invalid(number: str) -> None:
    assert not luhn_valid(number)


@given(digits=st.text(DIGITS, min_size=1, max_size=25))
def test_luhn_matches_reference(digits: str) -> None:
    assert luhn_valid(digits) == _luhn_reference(digits)


def test_card_validator_needs_13_to_19_digits() -> None:
    assert luhn_valid("0000000000")
    assert not has_pii("0000 0000 0000 0000", PiiType.PAYMENT_CARD)  # no card number starts with 0
    assert not has_pii("4111 1111 111", PiiType.PAYMENT_CARD)
    assert has_pii("4222222222222", PiiType.PAYMENT_CARD)


VALID_IBANS = [
    "GB82 WEST 1234 5698 7654 32",
    "DE89 3704 0044 0532 0130 00",
    "GB29NWBK60161331926819",
    "FR14 2004 1010 0505 0001 3M02 606",
    "NO93 8601 1117 947",
    "MT84 MALT 0110 0001 2345 MTLC AST0 01S",
]
INVALID_IBANS = [
    "GB82 WEST 1234 5698 7654 33",  # check digits
    "DE89 3704 0044 0532 0130 0",  # length
    "XX82 WEST 1234 5698 7654 32",  # unknown country
    "gb82 west 1234 5698 7654 32",  # lower case
    "GB82-WEST-1234-5698-7654-32",  # dashes
    "",
]


@pytest.mark.parametrize("iban", VALID_IBANS)
def test_iban_valid(iban: str) -> None:
    assert iban_valid(iban)
    assert _mod97_reference(iban) == 1


@pytest.mark.parametrize("iban", INVALID_IBANS)
def test_iban_invalid(iban: str) -> None:
    assert not iban_valid(iban)


@given(iban=ibans())
def test_iban_mod97_matches_reference(iban: str) -> None:
    compact = iban.replace(" ", "")
    well_formed = re.fullmatch(r"[A-Z]{2}[0-9]{2}[A-Z0-9]+", compact) is not None
    expected = (
        well_formed and IBAN_LENGTHS.get(compact[:2]) == len(compact) and _mod97_reference(compact) == 1
    )
    assert iban_valid(iban) == expected


def test_iban_lengths_table() -> None:
    assert len(IBAN_LENGTHS) >= 80
    assert all(re.fullmatch("[A-Z]{2}", cc) and 15 <= n <= 33 for cc, n in IBAN_LENGTHS.items())
    assert (IBAN_LENGTHS["DE"], IBAN_LENGTHS["GB"], IBAN_LENGTHS["NO"]) == (22, 22, 15)


# ---------------------------------------------------------------------------------------------------------
# Per-type behaviour
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "pii_type", "expected"),
    [
        ("ssn 123-45-6789", PiiType.US_SSN, True),
        ("ssn 123 45 6789", PiiType.US_SSN, True),
        ("ssn 123456789", PiiType.US_SSN, False),
        ("ssn 000-12-3456", PiiType.US_SSN, False),
        ("ssn 666-12-3456", PiiType.US_SSN, False),
        ("ssn 900-12-3456", PiiType.US_SSN, False),
        ("ssn 123-00-4567", PiiType.US_SSN, False),
        ("ssn 123-45-0000", PiiType.US_SSN, False),
        ("host 255.255.255.255", PiiType.IP_ADDRESS, True),
        ("host 999.1.1.1", PiiType.IP_ADDRESS, False),
        ("host 256.1.1.1", PiiType.IP_ADDRESS, False),
        ("peer 2001:db8::8a2e:370:7334", PiiType.IP_ADDRESS, True),
        ("peer 2001:0db8:85a3:0000:0000:8a2e:0370:7334", PiiType.IP_ADDRESS, True),
        ("loopback ::1", PiiType.IP_ADDRESS, True),
        ("self::add and arr[1::2] and std::cout", PiiType.IP_ADDRESS, False),
        ("at 10:30:45", PiiType.IP_ADDRESS, False),
        ("write to a.b-c@mail.example.co.uk", PiiType.EMAIL, True),
        ("write to root@localhost", PiiType.EMAIL, False),
        ("call +1 (415) 555-0132", PiiType.PHONE, True),
        ("call 020 7946 0958", PiiType.PHONE, True),
        ("call 01 23 45 67 89", PiiType.PHONE, True),
        ("order 0123456789", PiiType.PHONE, False),
        ("dial +12 34", PiiType.PHONE, False),
        ("password=hunter2222", PiiType.SECRET, True),
        ("password=hunter2", PiiType.SECRET, False),
        ("password: ********", PiiType.SECRET, False),
        ("token=${GITHUB_TOKEN}", PiiType.SECRET, False),
        ("max_tokens=409600000", PiiType.SECRET, False),
        ("key AK" + "IAIOSFODNN7EXAMPLE", PiiType.SECRET, True),
        ("-----BEGIN EC PRIVATE KEY-----", PiiType.SECRET, True),
        ("-----BEGIN PUBLIC KEY-----", PiiType.SECRET, False),
    ],
)
def test_has_pii_examples(
    con: duckdb.DuckDBPyConnection, text: str, pii_type: PiiType, expected: bool
) -> None:
    assert has_pii(text, pii_type) is expected
    sql = f"SELECT {has_pii_sql('t', pii_type)} FROM (SELECT ? AS t)"
    assert con.execute(sql, [text]).fetchone() == (expected,)
    assert con.execute(
        f"SELECT {has_any_pii_sql('t', [pii_type])} FROM (SELECT ? AS t)", [text]
    ).fetchone() == (expected,)


def test_none_and_null(con: duckdb.DuckDBPyConnection) -> None:
    assert detect(None) == []
    for t in TYPES:
        assert has_pii(None, t) is False
        assert has_pii("", t) is False
    for flags, candidates in _sql_eval(con, [None, ""]):
        assert flags == [False] * len(TYPES)
        assert all(not c for c in candidates)


def test_has_pii_sql_on_a_table(con: duckdb.DuckDBPyConnection) -> None:
    texts = ["mail jane@example.com", None, "nothing here", "card 4111 1111 1111 1111"]
    con.execute("CREATE OR REPLACE TEMP TABLE pii_msgs (id INTEGER, body VARCHAR)")
    con.executemany("INSERT INTO pii_msgs VALUES (?, ?)", list(enumerate(texts)))
    cols = ", ".join(f"{has_pii_sql('body', t)} AS {t.value}" for t in TYPES)
    rows = con.execute(f"SELECT {cols} FROM pii_msgs ORDER BY id").fetchall()
    assert rows == [tuple(has_pii(text, t) for t in TYPES) for text in texts]


# ---------------------------------------------------------------------------------------------------------
# detect / redact
# ---------------------------------------------------------------------------------------------------------


def test_detect_offsets_are_code_points() -> None:
    text = "😀👍 écrire à jane@example.com"
    (span,) = detect(text)
    assert span == PiiSpan(type=PiiType.EMAIL, start=12, end=28)
    assert text[span.start : span.end] == "jane@example.com"


def test_detect_longer_span_wins() -> None:
    text = "IBAN DE89 3704 0044 0532 0130 00"
    assert has_pii(text, PiiType.PHONE)  # "0044 0532 0130 00" reads as a 00-prefixed international number
    assert [(s.type, text[s.start : s.end]) for s in detect(text)] == [
        (PiiType.IBAN, "DE89 3704 0044 0532 0130 00")
    ]
    assert [s.type for s in detect(text, [PiiType.PHONE])] == [PiiType.PHONE]


def test_detect_secret_assignment_covers_the_value_only() -> None:
    text = (
        'DB_PASSWORD="s3cr3t-Value" api_key: abcdefgh1234 Authorization: Bearer abcdefghijklmnopqrstuvwxyz012'
    )
    found = [text[s.start : s.end] for s in detect(text)]
    assert found == ["s3cr3t-Value", "abcdefgh1234", "abcdefghijklmnopqrstuvwxyz012"]


def test_pii_span_is_frozen_and_strict() -> None:
    span = PiiSpan(type=PiiType.EMAIL, start=0, end=3)
    with pytest.raises(ValueError, match="frozen"):
        span.start = 1  # type: ignore[misc]
    with pytest.raises(ValueError, match=r"(?i)extra"):
        PiiSpan(type=PiiType.EMAIL, start=0, end=3, value="x")  # type: ignore[call-arg]
    assert PiiSpan.model_validate({"type": "iban", "start": 1, "end": 2}).type is PiiType.IBAN


def test_pii_type_values() -> None:
    assert [t.value for t in PiiType] == [
        "email",
        "phone",
        "payment_card",
        "iban",
        "us_ssn",
        "ip_address",
        "secret",
    ]


def test_redact_default_mask() -> None:
    text = "Mail jane.doe@example.com, card 4111 1111 1111 1111, ip 10.0.0.1, password=hunter2222 ok."
    assert redact(text) == "Mail [email], card [payment_card], ip [ip_address], password=[secret] ok."


def test_redact_types_and_mask() -> None:
    text = "jane@example.com paid with 4111 1111 1111 1111"
    assert redact(text, [PiiType.EMAIL]) == "[email] paid with 4111 1111 1111 1111"
    assert redact(text, mask="<{type}>") == "<email> paid with <payment_card>"
    assert redact(text, mask="***") == "*** paid with ***"
    assert redact(text, []) == text
    assert redact("no pii here") == "no pii here"
    assert redact("") == ""


@settings(max_examples=200, deadline=None)
@given(text=PII_LIKE_TEXT)
def test_redact_replaces_each_span_once(text: str) -> None:
    masked = redact(text, mask="\x00")
    assert masked.count("\x00") - text.count("\x00") == len(detect(text))


@pytest.mark.parametrize("pii_type", TYPES, ids=lambda t: t.value)
def test_patterns_are_portable(pii_type: PiiType) -> None:
    pattern = candidate_pattern(pii_type)
    outside_classes = re.sub(r"\[(?:\\.|[^\]])*\]", "", pattern)
    unescaped = re.sub(r"\\[^dDwWsSZ1-9]", "", outside_classes)
    assert re.search(r"\(\?[^:]|\\[dDwWsSZ1-9]|[$.]", unescaped) is None, unescaped
    assert re.search(r"\(\?[^:]|\\[dDwWsS]", pattern) is None
    assert re.compile(pattern, re.ASCII).search("") is None
