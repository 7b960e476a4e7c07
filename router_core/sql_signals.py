"""Signals as DuckDB SQL: one `SignalSql` per signal, which the compiler (`sql.py`) lays out in layers.

A text signal is computed in two steps. First its *text value*: an INTEGER that depends only on the text the
signal reads (a keyword or regex signal: the 1-based index of the label that matched, 0 for none; a PII
signal: 1 when the text holds PII of one of its types, else 0). Then the signal's columns from that integer
(the label and its confidence; for PII, OR the types recorded in `attrs.pii_types`). The first step is the
costly one (regexes over the whole prompt) and is what a cache may store per request (`sql_cache.py`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from routelab.router_core.config import KeywordSignal, LengthSignal, PiiSignal, RegexSignal
from routelab.router_core.evaluation import fold_lower
from routelab.router_core.pii import RECORDED_ATTR, any_candidate_pattern, has_any_pii_sql, recorded_pii_sql
from routelab.router_core.sql_expr import ColumnOf, expr_sql, field_column, num, q
from routelab.router_core.validate import CompiledSignal


def literal_alternation(phrases: Sequence[str]) -> str:
    """An RE2 pattern matching any of the phrases literally (punctuation escaped, other characters as is)."""
    return "|".join(
        "".join("\\" + ch if not ch.isalnum() and ch.isascii() else ch for ch in p) for p in phrases
    )


def _any_phrase(hay: str, needles: Sequence[str]) -> str:
    """Whether any needle occurs in `hay`: one RE2 alternation for many phrases, `contains` for few."""
    if len(needles) > 2:
        return f"coalesce(regexp_matches({hay}, {q(literal_alternation(needles))}), FALSE)"
    return "(" + " OR ".join(f"coalesce(contains({hay}, {q(n)}), FALSE)" for n in needles) + ")"


def _pick(index: str, values: Sequence[str]) -> str:
    """The `index`-th (1-based) of constant `values`; NULL for 0 or NULL. The list is a constant DuckDB folds
    once, so this costs less per row than a CASE over the index."""
    return f"[{', '.join(values)}][{index}]"


@dataclass(frozen=True)
class SignalSql:
    """The SQL of one signal: for a text signal its input, a regex every match needs, its text value and
    the columns computed from that value; for a length signal only the columns."""

    hay: str | None
    """The input text expression over the base columns (None: not a text signal)."""
    guard_pattern: str | None
    """A regex every text with a non-zero text value matches (the compiler shares one per input)."""
    text_value: Callable[[str, str], str] | None
    """(input column, shared guard column) → the INTEGER text value (see the module docstring)."""
    values: Callable[[str], list[tuple[str, str]]]
    """(text value column) → the signal's columns `s_<name>` (and `s_<name>.confidence`)."""


def signal_sql(sig: CompiledSignal, column: ColumnOf = field_column) -> SignalSql:
    """The SQL computing one signal (and its confidence).

    Text signals name their input (`hay`) and a regex that any match needs (`guard_pattern`); the compiler
    computes each distinct input once and one guard per input for all its signals, so a text that matches no
    signal costs one regex pass per input. `column` maps request fields to SQL (the base layer's columns by
    default; `sql_expr.raw_column` for an expression over the request relation itself).
    """
    spec = sig.spec
    x = expr_sql(sig.field, column)
    name = spec.name
    if isinstance(spec, PiiSignal):
        types = spec.types

        def pii_text(hay_col: str, group_guard: str) -> str:
            found = f"(CASE WHEN {group_guard} THEN {has_any_pii_sql(hay_col, types)} ELSE FALSE END)"
            return f"CAST(coalesce(({hay_col} IS NOT NULL AND {found}), FALSE) AS INTEGER)"

        def pii_values(value_col: str) -> list[tuple[str, str]]:
            # the recorded types are split and compared only where the text holds none and the attr is set
            recorded = f"attrs[{q(RECORDED_ATTR)}]"
            value = (
                f"(CASE WHEN {value_col} = 1 THEN TRUE WHEN {recorded} IS NULL THEN FALSE "
                f"ELSE {recorded_pii_sql('attrs', types)} END)"
            )
            return [(f"s_{name}", value)]

        return SignalSql(x, any_candidate_pattern(types), pii_text, pii_values)
    if isinstance(spec, LengthSignal):
        whens = " ".join(
            f"WHEN {x} <= {num(b.max)} THEN {q(b.label)}" if b.max is not None else f"ELSE {q(b.label)}"
            for b in spec.buckets
        )
        value = f"(CASE WHEN {x} IS NULL THEN NULL {whens} END)"
        return SignalSql(None, None, None, lambda _v: [(f"s_{name}", value)])
    if isinstance(spec, KeywordSignal):
        hay = x if spec.case_sensitive else f"lower({x})"
        needles = [[p if spec.case_sensitive else fold_lower(p) for p in lab.phrases] for lab in spec.labels]
        any_label = literal_alternation([p for n in needles for p in n])

        def conds(hay_col: str) -> list[str]:
            return [_any_phrase(hay_col, n) for n in needles]

    else:
        assert isinstance(spec, RegexSignal)
        hay = x
        any_label = "|".join(f"(?:{rx.re2})" for rx in sig.regexes)
        patterns = [rx.re2 for rx in sig.regexes]

        def conds(hay_col: str) -> list[str]:
            return [f"coalesce(regexp_matches({hay_col}, {q(p)}), FALSE)" for p in patterns]

    labels, confidences = [lab.label for lab in spec.labels], [lab.confidence for lab in spec.labels]

    def index(hay_col: str, group_guard: str) -> str:
        # the input's shared guard first, then this signal's own: most texts match no label of any signal
        guard = (
            f"WHEN NOT {group_guard} THEN 0 "
            f"WHEN NOT coalesce(regexp_matches({hay_col}, {q(any_label)}), FALSE) THEN 0"
        )
        whens = " ".join(f"WHEN {c} THEN {k + 1}" for k, c in enumerate(conds(hay_col)))
        return f"(CASE {guard} {whens} ELSE 0 END)"

    def values(value_col: str) -> list[tuple[str, str]]:
        return [
            (f"s_{name}", _pick(value_col, [q(v) for v in labels])),
            (f"s_{name}.confidence", _pick(value_col, [num(v) for v in confidences])),
        ]

    return SignalSql(hay, any_label, index, values)
