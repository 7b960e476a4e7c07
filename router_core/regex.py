"""Regexes that Python `re` and DuckDB's RE2 read alike.

A pattern is parsed once, refused if it uses a construct the two engines disagree on (or RE2 lacks), and
emitted twice: once for Python (compiled with `re.ASCII`) and once for RE2. Shorthand classes are expanded to
explicit ASCII sets (`\\s` differs on vertical tab otherwise) and `$` / `\\z` become each engine's end-of-text
anchor (Python's `$` also matches before a final newline, RE2's does not).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from routelab.router_core.errors import RegexPortabilityError

_CLASS_SHORTHANDS = {"d": "0-9", "w": "0-9A-Za-z_", "s": "\\t\\n\\f\\r "}
_NEGATED_SHORTHANDS = {"D": "d", "W": "w", "S": "s"}
_SIMPLE_ESCAPES = {"n": "\\n", "t": "\\t", "r": "\\r", "f": "\\f"}
_META = set("\\^$.|?*+()[]{}")
_CLASS_META = set("\\]^-[")
MAX_REPEAT = 1000
_REFUSED_GROUPS = {
    "(?=": "lookahead `(?=...)` is not supported by RE2",
    "(?!": "negative lookahead `(?!...)` is not supported by RE2",
    "(?<=": "lookbehind `(?<=...)` is not supported by RE2",
    "(?<!": "negative lookbehind `(?<!...)` is not supported by RE2",
    "(?>": "atomic groups `(?>...)` are not supported by RE2",
    "(?#": "comments `(?#...)` are not supported by RE2",
    "(?(": "conditionals `(?(...)...)` are not supported by RE2",
    "(?P=": "backreferences are not supported by RE2",
}


@dataclass(frozen=True, slots=True)
class PortableRegex:
    """One pattern in its Python and RE2 spellings."""

    source: str
    python: str
    re2: str

    def search(self, text: str) -> bool:
        """Whether the pattern matches anywhere in `text` (Python engine).

        Matching uses RE2 (the `google-re2` binding) on the RE2 spelling: the same engine DuckDB uses, so
        the engines agree by construction, and in linear time, so no rule regex can make the Python engine
        backtrack exponentially (Python's `re` would on patterns such as `(?:a*)*$`).
        """
        return _compiled_re2(self.re2).search(text) is not None


@cache
def _compiled(pattern: str) -> re.Pattern[str]:
    """The Python spelling compiled with `re` (validates that Python reads the pattern too)."""
    return re.compile(pattern, re.ASCII)


@cache
def _compiled_re2(pattern: str) -> Any:
    import re2  # type: ignore[import-untyped,unused-ignore]

    return re2.compile(pattern)


def _fail(message: str, pattern: str, pos: int) -> RegexPortabilityError:
    return RegexPortabilityError(message, pattern, pos)


@cache
def portable(pattern: str) -> PortableRegex:
    """Parse `pattern`, refuse non-portable constructs, and return both spellings.

    Raises:
        RegexPortabilityError: naming the construct, its offset, and what to write instead.
    """
    py: list[str] = []
    r2: list[str] = []
    i = 0
    n = len(pattern)
    can_repeat = False  # whether the previous item is something a quantifier may follow
    depth = 0
    # RE2 refuses nested counted repetition whose product exceeds MAX_REPEAT: track it per group
    frames = [1]
    last_product = 1
    while i < n:
        ch = pattern[i]
        if ch == "\\":
            frag_py, frag_r2, i, can_repeat = _escape(pattern, i)
            py.append(frag_py)
            r2.append(frag_r2)
            last_product = 1
            continue
        if ch == "[":
            frag, i = _char_class(pattern, i)
            py.append(frag)
            r2.append(frag)
            can_repeat = True
            last_product = 1
            continue
        if ch == "(":
            if pattern.startswith("(?", i):
                for prefix, why in _REFUSED_GROUPS.items():
                    if pattern.startswith(prefix, i):
                        raise _fail(why, pattern, i)
                if pattern.startswith("(?:", i):
                    py.append("(?:")
                    r2.append("(?:")
                    i += 3
                elif pattern.startswith("(?P<", i):
                    end = pattern.find(">", i)
                    name = pattern[i + 4 : end] if end > 0 else ""
                    if end < 0 or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
                        raise _fail("malformed named group; write (?P<name>...)", pattern, i)
                    py.append(pattern[i : end + 1])
                    r2.append(pattern[i : end + 1])
                    i = end + 1
                else:
                    raise _fail(
                        "inline flags and other `(?...)` groups read differently in Python and RE2; "
                        "use (?:...) for grouping (case-insensitive matching: use a `keywords` signal)",
                        pattern,
                        i,
                    )
            else:
                py.append("(")
                r2.append("(")
                i += 1
            depth += 1
            frames.append(1)
            can_repeat = False
            continue
        if ch == ")":
            if depth == 0:
                raise _fail("unbalanced `)`; escape it as \\)", pattern, i)
            depth -= 1
            last_product = frames.pop()
            frames[-1] = max(frames[-1], last_product)
            py.append(")")
            r2.append(")")
            i += 1
            can_repeat = True
            continue
        if ch in "*+?{":
            if not can_repeat:
                raise _fail(f"quantifier `{ch}` has nothing to repeat; escape it as \\{ch}", pattern, i)
            start = i
            quant, i = _quantifier(pattern, i)
            count = _repeat_count(quant)
            if last_product * count > MAX_REPEAT:
                raise _fail(
                    f"nested counted repetition totals {last_product * count}; RE2 allows {MAX_REPEAT}",
                    pattern,
                    start,
                )
            frames[-1] = max(frames[-1], last_product * count)
            py.append(quant)
            r2.append(quant)
            can_repeat = False
            continue
        if ch == "$":
            py.append("\\Z")
            r2.append("\\z")
            i += 1
            can_repeat = False
            continue
        if ch == "^":
            py.append("^")
            r2.append("^")
            i += 1
            can_repeat = False
            continue
        if ch == "|":
            py.append("|")
            r2.append("|")
            i += 1
            can_repeat = False
            continue
        if ch in "]}":
            raise _fail(f"unescaped `{ch}`; write \\{ch}", pattern, i)
        if ch == "\x00":
            raise _fail("NUL characters are not allowed in a regex", pattern, i)
        py.append(ch)
        r2.append(ch)
        i += 1
        can_repeat = True
        last_product = 1
    if depth:
        raise _fail("unbalanced `(`: a group is not closed", pattern, n)
    result = PortableRegex(pattern, "".join(py), "".join(r2))
    try:
        _compiled(result.python)
    except re.error as exc:  # a structural error our scan let through: report it, never guess
        raise _fail(f"invalid regex: {exc}", pattern, exc.pos or 0) from exc
    return result


def _escape(pattern: str, i: int) -> tuple[str, str, int, bool]:
    """Translate the escape at `i`; return (python, re2, next index, can_repeat)."""
    if i + 1 >= len(pattern):
        raise _fail("trailing backslash", pattern, i)
    e = pattern[i + 1]
    if e in _CLASS_SHORTHANDS:
        cls = f"[{_CLASS_SHORTHANDS[e]}]"
        return cls, cls, i + 2, True
    if e in _NEGATED_SHORTHANDS:
        cls = f"[^{_CLASS_SHORTHANDS[_NEGATED_SHORTHANDS[e]]}]"
        return cls, cls, i + 2, True
    if e in _SIMPLE_ESCAPES:
        return _SIMPLE_ESCAPES[e], _SIMPLE_ESCAPES[e], i + 2, True
    if e == "b":
        return "\\b", "\\b", i + 2, False
    if e == "B":
        raise _fail(
            "`\\B` reads differently on empty text (RE2 matches, Python before 3.14 does not)", pattern, i
        )
    if e == "A":
        return "\\A", "\\A", i + 2, False
    if e == "z":
        return "\\Z", "\\z", i + 2, False
    if e == "Z":
        raise _fail(
            "`\\Z` means different things in Python and RE2; write `$` or `\\z` for end of text", pattern, i
        )
    if e == "x":
        hexdigits = pattern[i + 2 : i + 4]
        if (
            len(hexdigits) == 2
            and all(c in "0123456789abcdefABCDEF" for c in hexdigits)
            and hexdigits != "00"
        ):
            return pattern[i : i + 4], pattern[i : i + 4], i + 4, True
        raise _fail("write hex escapes as exactly two digits, \\xHH (not \\x00, not \\x{...})", pattern, i)
    if e in _META or e in "/-#&~ ,:;<>=!@%'\"`":
        lit = "\\" + e
        return lit, lit, i + 2, True
    if e.isdigit():
        raise _fail(
            "backreferences and octal escapes are not portable (RE2 has no backreferences)", pattern, i
        )
    if e in "pP":
        raise _fail("Unicode classes \\p{...} are not supported by Python's re", pattern, i)
    if e in {"u", "U", "N"}:
        raise _fail("\\u/\\U/\\N escapes are not read by RE2; type the character itself", pattern, i)
    raise _fail(f"the escape `\\{e}` is not portable between Python and RE2", pattern, i)


def _char_class(pattern: str, start: int) -> tuple[str, int]:
    """Translate the character class at `start`; return (class text, next index)."""
    i = start + 1
    out = ["["]
    if i < len(pattern) and pattern[i] == "^":
        out.append("^")
        i += 1
    if i < len(pattern) and pattern[i] == "]":
        raise _fail("a `]` first in a class reads differently; escape it as \\]", pattern, i)
    members = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "]":
            if members == 0:
                raise _fail("empty character class", pattern, start)
            out.append("]")
            return "".join(out), i + 1
        if ch == "[":
            if pattern.startswith("[:", i):
                raise _fail(
                    "POSIX classes like [:alpha:] are not read by Python; list the characters", pattern, i
                )
            raise _fail("an unescaped `[` inside a class is not portable; escape it as \\[", pattern, i)
        if pattern.startswith(("&&", "--", "~~", "||"), i):
            raise _fail("set operations inside a class are not portable; escape the characters", pattern, i)
        if ch == "\\":
            if i + 1 >= len(pattern):
                raise _fail("trailing backslash in a class", pattern, i)
            e = pattern[i + 1]
            if e in _CLASS_SHORTHANDS:
                out.append(_CLASS_SHORTHANDS[e])
            elif e in _NEGATED_SHORTHANDS:
                raise _fail(f"\\{e} inside a class is not portable; write the class out", pattern, i)
            elif e in _SIMPLE_ESCAPES:
                out.append(_SIMPLE_ESCAPES[e])
            elif e in _CLASS_META or e in _META or e in "/#&~ ,:;<>=!@%'\"`":
                out.append("\\" + e)
            elif e == "x":
                frag_py, _, nxt, _ = _escape(pattern, i)
                out.append(frag_py)
                members += 1
                i = nxt
                continue
            else:
                raise _fail(f"the escape `\\{e}` inside a class is not portable", pattern, i)
            members += 1
            i += 2
            continue
        if ch == "\x00":
            raise _fail("NUL characters are not allowed in a regex", pattern, i)
        out.append(ch)
        members += 1
        i += 1
    raise _fail("unterminated character class; close it with ]", pattern, start)


def _repeat_count(quant: str) -> int:
    """How many times RE2 counts a quantifier towards its repetition limit ({n,m} → m, {n,} → n)."""
    m = _QUANT.match(quant)
    if not m:
        return 1
    return int(m.group(3)) if m.group(3) else int(m.group(1))


_QUANT = re.compile(r"\{([0-9]+)(,([0-9]*))?\}")


def _quantifier(pattern: str, i: int) -> tuple[str, int]:
    ch = pattern[i]
    if ch == "{":
        m = _QUANT.match(pattern, i)
        if not m:
            raise _fail(
                "malformed repetition; write {n}, {n,} or {n,m} (or escape the brace as \\{)", pattern, i
            )
        low = int(m.group(1))
        high = m.group(3)
        if low > MAX_REPEAT or (high and int(high) > MAX_REPEAT):
            raise _fail(f"RE2 allows at most {MAX_REPEAT} repetitions", pattern, i)
        if high and int(high) < low:
            raise _fail("repetition {n,m} needs n <= m", pattern, i)
        quant = m.group(0)
        i = m.end()
    else:
        quant = ch
        i += 1
    if i < len(pattern) and pattern[i] == "?":
        quant += "?"
        i += 1
    if i < len(pattern) and pattern[i] in "*+?{":
        raise _fail(
            "a quantifier cannot follow another (possessive and doubled quantifiers are not portable)",
            pattern,
            i,
        )
    return quant, i
