"""Portable regexes: refused constructs name themselves; accepted ones get a Python and an RE2 spelling.

The RE2 spellings are also run through DuckDB (the SQL engine's RE2) to check the two engines agree.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any, NamedTuple

import pytest
from hypothesis import given
from hypothesis import strategies as st

from routelab.router_core.errors import RegexPortabilityError
from routelab.router_core.regex import portable


class Refused(NamedTuple):
    id: str
    pattern: str
    offset: int
    message: str


REFUSED = [
    Refused("lookahead", "a(?=b)", 1, "lookahead `(?=...)` is not supported by RE2"),
    Refused("nested-repetition-over-limit", "(?:a{100}){11}", 10, "nested counted repetition totals 1100"),
    Refused("nested-open-repetition-over-limit", "(?:x(?:a{2,}){20}){30}", 18, "totals 1200"),
    Refused("negative-lookahead", "a(?!b)", 1, "negative lookahead"),
    Refused("lookbehind", "(?<=a)b", 0, "lookbehind `(?<=...)` is not supported by RE2"),
    Refused("negative-lookbehind", "(?<!a)b", 0, "negative lookbehind"),
    Refused("backreference-numbered", r"(a)\1", 3, "backreferences"),
    Refused("backreference-named", "(?P<x>a)(?P=x)", 8, "backreferences are not supported by RE2"),
    Refused("inline-flag-case-insensitive", "(?i)abc", 0, "inline flags"),
    Refused("inline-flag-dotall", "(?s).", 0, "inline flags"),
    Refused("atomic-group", "(?>a)", 0, "atomic groups"),
    Refused("comment-group", "(?#note)a", 0, "comments"),
    Refused("conditional-group", "(a)?(?(1)b|c)", 4, "conditionals"),
    Refused("backslash-Z", r"abc\Z", 3, r"`\Z` means different things in Python and RE2"),
    Refused("repeat-without-minimum", "a{,3}", 1, "malformed repetition; write {n}, {n,} or {n,m}"),
    Refused("posix-class", "[[:alpha:]]", 1, "POSIX classes like [:alpha:]"),
    Refused("unicode-class", r"\p{L}", 0, r"Unicode classes \p{...}"),
    Refused("negated-unicode-class", r"\P{L}", 0, r"Unicode classes \p{...}"),
    Refused("possessive-star", "a*+", 2, "possessive"),
    Refused("possessive-plus", "a++", 2, "possessive"),
    Refused("possessive-repeat", "a{2}+", 4, "possessive"),
    Refused("unescaped-close-bracket", "a]", 1, r"unescaped `]`; write \]"),
    Refused("close-bracket-first-in-class", "[]a]", 1, r"escape it as \]"),
    Refused("nested-open-bracket", "[a[b]", 2, r"an unescaped `[` inside a class is not portable"),
    Refused("class-set-operation", "[a&&b]", 2, "set operations"),
    Refused("negated-shorthand-in-class", r"[\D]", 1, r"\D inside a class"),
    Refused("unicode-escape", r"\u0041", 0, r"\u/\U/\N escapes"),
    Refused("hex-escape-braces", r"\x{41}", 0, r"\xHH"),
    Refused("octal-escape", r"\0", 0, "octal escapes"),
    Refused("unknown-escape", r"\e", 0, r"the escape `\e` is not portable"),
    Refused("too-many-repetitions", "a{1001}", 1, "at most 1000 repetitions"),
    Refused("nothing-to-repeat", "*a", 0, r"nothing to repeat; escape it as \*"),
    Refused("unbalanced-close-paren", "a)", 1, "unbalanced `)`"),
    Refused("unbalanced-open-paren", "(a", 2, "a group is not closed"),
    Refused("unescaped-close-brace", "a}", 1, r"unescaped `}`"),
    Refused("trailing-backslash", "a\\", 1, "trailing backslash"),
    Refused("unterminated-class", "[ab", 0, "unterminated character class"),
]


@pytest.mark.parametrize("case", REFUSED, ids=[c.id for c in REFUSED])
def test_refused_pattern_names_the_construct(case: Refused) -> None:
    with pytest.raises(RegexPortabilityError) as info:
        portable(case.pattern)
    err = info.value
    assert case.message in err.message
    assert (err.pattern, err.position) == (case.pattern, case.offset)
    assert f"at offset {case.offset} of regex {case.pattern!r}" in str(err)


class Accepted(NamedTuple):
    id: str
    pattern: str
    python: str
    re2: str


SPACE = r"[\t\n\f\r ]"  # \s spelled out: Python's \s also takes \v, RE2's does not
ACCEPTED = [
    Accepted("digit-becomes-ascii-class", r"\d+", "[0-9]+", "[0-9]+"),
    Accepted("not-digit", r"\D", "[^0-9]", "[^0-9]"),
    Accepted("word", r"\w", "[0-9A-Za-z_]", "[0-9A-Za-z_]"),
    Accepted("not-word", r"\W", "[^0-9A-Za-z_]", "[^0-9A-Za-z_]"),
    Accepted("space-becomes-explicit-class", r"\s", SPACE, SPACE),
    Accepted("not-space", r"\S", "[^" + SPACE[1:], "[^" + SPACE[1:]),
    Accepted("shorthand-inside-class", r"[\d_]", "[0-9_]", "[0-9_]"),
    Accepted("space-inside-class", r"[\s,]", SPACE[:-1] + ",]", SPACE[:-1] + ",]"),
    Accepted("dollar-becomes-end-of-text", "a$", r"a\Z", r"a\z"),
    Accepted("backslash-z-is-end-of-text", r"a\z", r"a\Z", r"a\z"),
    Accepted("anchors-in-alternation", "^a|b$", r"^a|b\Z", r"^a|b\z"),
    Accepted("start-of-text", r"\Ax", r"\Ax", r"\Ax"),
    Accepted("dollar-in-class-is-literal", "[$]", "[$]", "[$]"),
    Accepted("lazy-repeat", "a{2,}?", "a{2,}?", "a{2,}?"),
    Accepted("bounded-repeat", "a{2,5}", "a{2,5}", "a{2,5}"),
    Accepted("non-capturing-group", "(?:ab)+", "(?:ab)+", "(?:ab)+"),
    Accepted("named-group", "(?P<n>a)", "(?P<n>a)", "(?P<n>a)"),
    Accepted("hex-escape", r"\x41", r"\x41", r"\x41"),
    Accepted("escaped-metacharacters", r"\.\$\[\]\{\}", r"\.\$\[\]\{\}", r"\.\$\[\]\{\}"),
    Accepted("word-boundary", r"\bx\b", r"\bx\b", r"\bx\b"),
    Accepted("non-ascii-literals", "İσ😀", "İσ😀", "İσ😀"),
    Accepted("ticket-id", "^INC-[0-9]+", "^INC-[0-9]+", "^INC-[0-9]+"),
]


@pytest.mark.parametrize("case", ACCEPTED, ids=[c.id for c in ACCEPTED])
def test_accepted_pattern_spellings(case: Accepted) -> None:
    rx = portable(case.pattern)
    assert (rx.source, rx.python, rx.re2) == (case.pattern, case.python, case.re2)


#: Texts where Python and RE2 readings of the same pattern would differ if spelled naively.
SAMPLES = [
    "",
    "a",
    "ab",
    "a\n",
    "xa",
    "42",
    "\u0663",
    "\u00a0",
    "\x0b",
    "\t",
    "x y",
    "İσ😀",
    "INC-7",
    "a.$[]{}",
]


@cache
def _duckdb() -> Any:
    duckdb = pytest.importorskip("duckdb")
    return duckdb.connect()


def re2_matches(re2: str, texts: list[str]) -> list[bool]:
    """DuckDB's (RE2) `regexp_matches` of each text, in order."""
    sql = "SELECT regexp_matches(s, $1) FROM (SELECT unnest($2) AS s, unnest(range(len($2))) AS i) ORDER BY i"
    return [bool(row[0]) for row in _duckdb().execute(sql, [re2, texts]).fetchall()]


@pytest.mark.parametrize("case", ACCEPTED, ids=[c.id for c in ACCEPTED])
def test_accepted_pattern_matches_alike_in_python_and_re2(case: Accepted) -> None:
    rx = portable(case.pattern)
    assert [rx.search(s) for s in SAMPLES] == re2_matches(rx.re2, SAMPLES)


def test_python_spelling_is_what_search_runs() -> None:
    rx = portable("a$")
    # the naive Python `$` also matches before a final newline; the portable spelling does not
    assert (re.search("a$", "a\n") is not None, rx.search("a\n"), rx.search("ba")) == (True, False, True)


_REGEX_CHARS = list("ab()[]{}\\^$.|?*+-:=!<>P019dswDSWzZAbBxn,# ")


@given(st.text(alphabet=_REGEX_CHARS, max_size=8))
def test_any_pattern_is_refused_cleanly_or_matches_alike(pattern: str) -> None:
    """No other exception escapes `portable`, and what it accepts Python and RE2 read alike."""
    try:
        rx = portable(pattern)
    except RegexPortabilityError as exc:
        refused: RegexPortabilityError | None = exc
    else:
        refused = None
    if refused is not None:
        assert 0 <= refused.position <= len(pattern), refused
        return
    if "\\B" in pattern:
        return  # see test_non_word_boundary_on_empty_text
    assert [rx.search(s) for s in SAMPLES] == re2_matches(rx.re2, SAMPLES)


def test_non_word_boundary_on_empty_text() -> None:
    with pytest.raises(RegexPortabilityError, match="empty text"):
        portable(r"\B")
