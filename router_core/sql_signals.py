"""Signals as DuckDB SQL: one `SignalSql` per signal, which the compiler (`sql.py`) lays out in layers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from routelab.router_core.config import KeywordSignal, LengthSignal, PiiSignal, RegexSignal
from routelab.router_core.evaluation import fold_lower
from routelab.router_core.pii import any_candidate_pattern, has_any_pii_sql, recorded_pii_sql
from routelab.router_core.sql_expr import expr_sql, field_column, num, q
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


@dataclass(frozen=True)
class SignalSql:
    """The SQL of one text signal: its input text, a regex every match needs, and the values given both."""

    hay: str | None
    guard_pattern: str | None
    index: Callable[[str, str], list[tuple[str, str]]]
    values: Callable[[str], list[tuple[str, str]]]


def signal_sql(sig: CompiledSignal) -> SignalSql:
    """The SQL computing one signal (and its confidence) from the base columns.

    Text signals name their input (`hay`) and a regex that any match needs (`guard_pattern`); the compiler
    computes each distinct input once and one guard per input for all its signals, so a text that matches no
    signal costs one regex pass per input.
    """
    spec = sig.spec
    x = expr_sql(sig.field, field_column)
    name = spec.name
    if isinstance(spec, PiiSignal):
        types = spec.types

        def pii_values(hay_col: str) -> list[tuple[str, str]]:
            found = f"(CASE WHEN _g{hay_col} THEN {has_any_pii_sql(hay_col, types)} ELSE FALSE END)"
            text = f"coalesce(({hay_col} IS NOT NULL AND {found}), FALSE)"
            return [(f"s_{name}", f"({recorded_pii_sql('attrs', types)} OR {text})")]

        return SignalSql(x, any_candidate_pattern(types), lambda _h, _g: [], pii_values)
    if isinstance(spec, LengthSignal):
        whens = " ".join(
            f"WHEN {x} <= {num(b.max)} THEN {q(b.label)}" if b.max is not None else f"ELSE {q(b.label)}"
            for b in spec.buckets
        )
        value = f"(CASE WHEN {x} IS NULL THEN NULL {whens} END)"
        return SignalSql(None, None, lambda _h, _g: [], lambda _h: [(f"s_{name}", value)])
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
    idx_col = f"_ix_{name}"

    def index(hay_col: str, group_guard: str) -> list[tuple[str, str]]:
        # the input's shared guard first, then this signal's own: most texts match no label of any signal
        guard = (
            f"WHEN NOT {group_guard} THEN NULL "
            f"WHEN NOT coalesce(regexp_matches({hay_col}, {q(any_label)}), FALSE) THEN NULL"
        )
        whens = " ".join(f"WHEN {c} THEN {k + 1}" for k, c in enumerate(conds(hay_col)))
        return [(idx_col, f"(CASE {guard} {whens} END)")]

    label_list = "[" + ", ".join(q(v) for v in labels) + "]"
    conf_list = "[" + ", ".join(num(v) for v in confidences) + "]"

    def values(_hay_col: str) -> list[tuple[str, str]]:
        return [
            (f"s_{name}", f"{label_list}[{idx_col}]"),
            (f"s_{name}.confidence", f"{conf_list}[{idx_col}]"),
        ]

    return SignalSql(hay, any_label, index, values)
