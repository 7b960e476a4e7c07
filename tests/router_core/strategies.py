"""Hypothesis strategies: random valid router configs, random requests, portable regexes, rule expressions.

The strategy builders are cached: a strategy is an immutable description, and building (and validating) a
fresh `st.recursive`/`st.one_of` tree inside every draw cost most of the engines-agree test's time. The
drawn values are the same either way.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from hypothesis import assume
from hypothesis import strategies as st

from routelab.router_core.config import RouterConfig
from routelab.router_core.pricing import PriceTable
from routelab.router_core.validate import Router, check

#: Text values chosen to hit edge cases: case folding (İ, final sigma), PII, phrases, empties, emoji, NUL.
VOCAB = [
    "support",
    "sales",
    "coding",
    "research",
    "eu",
    "us",
    "confidential",
    "public",
    "",
    " ",
    "\n",
    "İstanbul",
    "ΣΟΦΟΣ",
    "σοφος",
    "refund",
    "Refund",
    "REFUND",
    "money back",
    "INC-123",
    "inc-9",
    "a@b.co",
    "4111 1111 1111 1111",
    "4111 1111 1111 1112",
    "GB82 WEST 1234 5698 7654 32",
    "123-45-6789",
    "10.0.0.1",
    "sk-abcdefghijklmnopqrstuvwx",
    "😀",
    "x",
    "e\u0301",
    "ß",
    "\x00",
    "-",
    "1",
    "3.5",
]
ATTR_VALUES = ["3", "2.5", "-1", "1e999", " 1", "1_000", "abc", "", "1e5", ".5", "5.", "+7", "0", "-0", "İ"]
MODELS = ["m0", "m1", "m2", "m3", "m4"]
TIERS = ["small", "medium", "large", "frontier"]
NO_NUL = st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",))

texts = st.one_of(
    st.sampled_from(VOCAB),
    st.text(max_size=12),
    st.lists(st.one_of(st.sampled_from(VOCAB), st.text(max_size=4)), max_size=6).map("".join),
)


def quote(text: str) -> str:
    """A rule-language string literal for `text`."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


# -------------------------------------------------------------------------------------------- regexes

_REGEX_LITERALS = [*"abzAZ09 -@_İσ😀ß", "\\.", "\\+", "\\(", "\\)", "\\*", "\\?", "\\[", "\\]", "\\$"]
_REGEX_CLASSES = [
    "[a-z]",
    "[^0-9]",
    "[A-Za-z_]",
    "[İσ]",
    "\\d",
    "\\w",
    "\\s",
    "\\S",
    "\\D",
    ".",
    "[0-9-]",
    "[\\s\\d]",
    "[^a]",
]


@cache
def regexes(depth: int = 2, anchors: bool = True) -> st.SearchStrategy[str]:
    """A portable regex source."""
    return _regexes(depth, anchors)


@st.composite
def _regexes(draw: st.DrawFn, depth: int, anchors: bool) -> str:
    parts: list[str] = []
    if anchors and draw(st.booleans()) and draw(st.booleans()):
        parts.append("^")
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.integers(0, 9))
        if kind <= 4:
            atom = draw(st.sampled_from(_REGEX_LITERALS))
        elif kind <= 7:
            atom = draw(st.sampled_from(_REGEX_CLASSES))
        elif depth > 0:
            inner = draw(st.lists(regexes(depth - 1, anchors=False), min_size=1, max_size=3))
            atom = "(?:" + "|".join(inner) + ")"
        else:
            atom = "\\b"
        if atom != "\\b" and draw(st.booleans()):
            atom += draw(st.sampled_from(["*", "+", "?", "{1,3}", "{2}", "*?", "+?", "{0,}"]))
        parts.append(atom)
    if anchors and draw(st.booleans()) and draw(st.booleans()):
        parts.append("$")
    return "".join(parts)


# ---------------------------------------------------------------------------------------- expressions

TEXT_REFS = [
    "workflow",
    "task",
    "team",
    "region",
    "data_class",
    "prompt",
    "attrs.k1",
    "attrs.k2",
    "kw",
    "rx",
    "sz",
]
NUMBER_REFS = [
    "prompt_tokens",
    "expected_output_tokens",
    "hour",
    "kw.confidence",
    "rx.confidence",
    "attrs.k1",
    "len(prompt)",
    "len(attrs.k2)",
    "len(lower(team))",
]
number_literals = st.one_of(
    st.sampled_from([0.0, 1.0, 0.5, 3.0, 100.0, 2000.0, 1e15, 1e300, 2.5e-7, 7.0]),
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
).map(lambda x: repr(x) if x >= 0 else f"-{-x!r}")
text_literals = st.one_of(st.sampled_from(VOCAB[:-3]), st.text(alphabet=NO_NUL, max_size=5)).map(quote)


@cache
def text_exprs() -> st.SearchStrategy[str]:
    """Text-valued expressions."""
    base = st.sampled_from(TEXT_REFS)
    return st.one_of(base, base.map(lambda r: f"lower({r})"))


@cache
def number_exprs() -> st.SearchStrategy[str]:
    """Number-valued expressions (attrs in numeric context, arithmetic with missing and zero)."""
    leaf = st.one_of(st.sampled_from(NUMBER_REFS), number_literals)
    return st.recursive(
        leaf,
        lambda inner: st.one_of(
            st.tuples(inner, st.sampled_from(["+", "-", "*", "/"]), inner).map(
                lambda t: f"({t[0]} {t[1]} {t[2]})"
            ),
            inner.map(lambda e: f"-({e})"),
        ),
        max_leaves=4,
    )


@cache
def conditions() -> st.SearchStrategy[str]:
    """Conditions over fields, attrs and the signals kw, rx, sz, pii."""
    cmp_text = st.tuples(text_exprs(), st.sampled_from(["==", "!="]), st.one_of(text_literals, text_exprs()))
    cmp_num = st.tuples(number_exprs(), st.sampled_from(["==", "!=", "<", "<=", ">", ">="]), number_exprs())
    in_text = st.tuples(text_exprs(), st.booleans(), st.lists(text_literals, min_size=1, max_size=3))
    in_num = st.tuples(
        st.sampled_from(NUMBER_REFS), st.booleans(), st.lists(number_literals, min_size=1, max_size=3)
    )
    text_op = st.tuples(
        text_exprs(),
        st.sampled_from(["contains", "startswith", "endswith"]),
        st.one_of(text_literals, text_exprs()),
    )
    leaf = st.one_of(
        cmp_text.map(" ".join),
        cmp_num.map(" ".join),
        in_text.map(lambda t: f"{t[0]} {'not in' if t[1] else 'in'} [{', '.join(t[2])}]"),
        in_num.map(lambda t: f"{t[0]} {'not in' if t[1] else 'in'} [{', '.join(t[2])}]"),
        text_op.map(" ".join),
        st.tuples(text_exprs(), regexes()).map(lambda t: f"{t[0]} matches {quote(t[1])}"),
        st.sampled_from(["pii", "not pii", "pii == true", "true", "false"]),
    )
    return st.recursive(
        leaf,
        lambda inner: st.one_of(
            inner.map(lambda c: f"not ({c})"),
            st.tuples(inner, st.sampled_from(["and", "or"]), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        ),
        max_leaves=4,
    )


# -------------------------------------------------------------------------------------------- configs


@st.composite
def routes(draw: st.DrawFn, models: list[str], indexes: list[str]) -> dict[str, Any]:
    """A random route over the given models and indexes."""
    model = draw(st.sampled_from(models))
    others = [m for m in models if m != model]
    return {
        "model": model,
        "retrieval": draw(st.sampled_from([None, *indexes])),
        "context_tokens": draw(st.sampled_from([None, 0, 1000, 8000])),
        "cache": draw(st.sampled_from(["serve", "bypass"])),
        "escalation": draw(st.sampled_from(["none", "human_review", *[f"model:{m}" for m in models]])),
        "fallbacks": draw(st.lists(st.sampled_from(others), unique=True, max_size=3)) if others else [],
    }


@st.composite
def signals(draw: st.DrawFn) -> list[dict[str, Any]]:
    """The four signals kw, rx, sz, pii with random parameters."""
    phrases = st.lists(st.sampled_from([v for v in VOCAB if v and v != "\x00"]), min_size=1, max_size=3)
    kw_labels = draw(st.lists(st.tuples(phrases, st.floats(0, 1)), min_size=1, max_size=3))
    rx_labels = draw(st.lists(st.tuples(regexes(), st.floats(0, 1)), min_size=1, max_size=2))
    maxes = sorted(set(draw(st.lists(st.sampled_from([0.0, 1.0, 5.0, 50.0, 500.0, 4000.0]), max_size=3))))
    buckets = [{"label": f"b{i}", "max": m} for i, m in enumerate(maxes)]
    if draw(st.booleans()) or not buckets:
        buckets.append({"label": "rest"})
    return [
        {
            "kind": "keywords",
            "name": "kw",
            "field": draw(st.sampled_from(["prompt", "attrs.k2", "team"])),
            "case_sensitive": draw(st.booleans()),
            "labels": [
                {"label": f"k{i}", "phrases": p, "confidence": c} for i, (p, c) in enumerate(kw_labels)
            ],
        },
        {
            "kind": "regex",
            "name": "rx",
            "field": draw(st.sampled_from(["prompt", "workflow", "lower(prompt)"])),
            "labels": [
                {"label": f"r{i}", "pattern": p, "confidence": c} for i, (p, c) in enumerate(rx_labels)
            ],
        },
        {
            "kind": "length",
            "name": "sz",
            "field": draw(st.sampled_from(["prompt_tokens", "len(prompt)", "attrs.k1"])),
            "buckets": buckets,
        },
        {
            "kind": "pii",
            "name": "pii",
            "field": draw(st.sampled_from(["prompt", "attrs.k2"])),
            "types": draw(
                st.lists(
                    st.sampled_from(
                        ["email", "phone", "payment_card", "iban", "us_ssn", "ip_address", "secret"]
                    ),
                    min_size=1,
                    max_size=3,
                    unique=True,
                )
            ),
        },
    ]


@st.composite
def policies(draw: st.DrawFn, models: list[str], boundaries: list[str]) -> list[dict[str, Any]]:
    """Zero to five policies of random kinds."""
    out: list[dict[str, Any]] = []
    for k in range(draw(st.integers(0, 5))):
        kind = draw(
            st.sampled_from(["privacy", "region", "cost_ceiling", "latency_target", "confidence_floor"])
        )
        when = draw(st.one_of(st.just("true"), conditions()))
        pol: dict[str, Any] = {"kind": kind, "id": f"p{k}", "when": when}
        if kind == "privacy":
            pol["allowed_boundaries"] = draw(
                st.lists(st.sampled_from(sorted(set(boundaries))), min_size=1, max_size=2, unique=True)
            )
            pol["on_violation"] = draw(st.sampled_from(["reroute", "block", "redact"]))
        elif kind == "region":
            pol["on_violation"] = draw(st.sampled_from(["reroute", "block"]))
        elif kind == "cost_ceiling":
            pol["max_usd"] = draw(st.sampled_from([1e-6, 1e-4, 1e-3, 0.01, 0.1]))
            pol["on_violation"] = draw(st.sampled_from(["downgrade", "block"]))
        elif kind == "latency_target":
            pol["p95_ms"] = draw(st.sampled_from([100.0, 1000.0, 5000.0, 20000.0]))
            pol["on_violation"] = draw(st.sampled_from(["downgrade", "flag"]))
        else:
            pol["min_confidence"] = draw(st.sampled_from([0.3, 0.5, 0.9]))
            pol["escalate_to"] = draw(st.sampled_from(["human_review", *[f"model:{m}" for m in models]]))
        out.append(pol)
    return out


class Scenario:
    """A compiled random router and the price table that prices its models."""

    def __init__(self, router: Router, prices: PriceTable) -> None:
        self.router = router
        self.prices = prices


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    """A random valid router (problems such as shadowed rules are dropped, not failed) and its prices."""
    n = draw(st.integers(1, 5))
    names = MODELS[:n]
    boundaries = draw(st.lists(st.sampled_from(["private", "external"]), min_size=n, max_size=n))
    if "private" not in boundaries:
        boundaries[0] = "private"  # so privacy policies always have somewhere to reroute
    models = []
    table: dict[str, tuple[float, float]] = {}
    for i, name in enumerate(names):
        p50 = draw(st.sampled_from([50.0, 300.0, 800.0, 2000.0]))
        price = (
            draw(st.sampled_from([0.0, 1e-7, 5e-7, 3e-6, 1.5e-5])),
            draw(st.sampled_from([0.0, 4e-7, 6e-6])),
        )
        spec: dict[str, Any] = {
            "id": name,
            "tier": draw(st.sampled_from(TIERS)),
            "boundary": boundaries[i],
            "regions": draw(st.lists(st.sampled_from(["us", "eu"]), unique=True, max_size=2)),
            "context_window": draw(st.sampled_from([8000, 32000, 128000])),
            "latency": {
                "p50_ms": p50,
                "p95_ms": p50 * draw(st.sampled_from([1.0, 2.0, 3.5])),
                "output_tokens_per_s": draw(st.sampled_from([10.0, 45.5, 200.0])),
            },
        }
        if draw(st.booleans()):
            spec["price"] = {"input_per_token": price[0], "output_per_token": price[1]}
        else:
            table[name] = price
        models.append(spec)
    indexes = [
        {"id": f"ix{i}", "latency_ms": draw(st.sampled_from([0.0, 20.0, 150.0])), "cost_per_query": c}
        for i, c in enumerate(draw(st.lists(st.sampled_from([0.0, 1e-4, 5e-3]), max_size=2)))
    ]
    index_ids = [x["id"] for x in indexes]
    rules = [
        {
            "id": f"rule{i}",
            "when": draw(conditions()),
            "route": draw(routes(names, index_ids)),
            "confidence": draw(st.one_of(st.floats(0, 1), st.sampled_from(["kw.confidence", "attrs.k1"]))),
        }
        for i in range(draw(st.integers(0, 6)))
    ]
    data = {
        "name": "prop",
        "version": "1",
        "models": models,
        "indexes": indexes,
        "signals": draw(signals()),
        "rules": rules,
        "default": {"route": draw(routes(names, index_ids)), "confidence": draw(st.floats(0, 1))},
        "policies": draw(policies(names, boundaries)),
        "defaults": {"expected_output_tokens": draw(st.sampled_from([0, 1, 500]))},
    }
    config = RouterConfig.model_validate(data)
    router, problems = check(config)
    if router is None:
        # drop the rules a problem points at (shadowed, duplicate or always-false conditions), then retry
        bad = {p.path.split("(")[1].split(")")[0] for p in problems if p.path.startswith("rules[")}
        data["rules"] = [r for r in rules if r["id"] not in bad]
        router, problems = check(RouterConfig.model_validate(data))
    assume(router is not None)
    assert router is not None
    return Scenario(router, PriceTable.from_mapping(table, source="hypothesis"))


_maybe_text = st.one_of(st.none(), texts)
_attrs = st.dictionaries(
    st.sampled_from(["k1", "k2", "k3"]), st.one_of(st.sampled_from(ATTR_VALUES), texts), max_size=3
)
_ts = st.one_of(st.none(), st.datetimes(datetime(2020, 1, 1), datetime(2030, 12, 31)))
_workflow = st.one_of(st.none(), st.sampled_from(["support", "sales", "coding", ""]), texts)
_region = st.one_of(st.none(), st.sampled_from(["us", "eu", "apac"]))
_data_class = st.one_of(st.none(), st.sampled_from(["confidential", "public", "internal"]))
_prompt_tokens = st.one_of(st.none(), st.integers(0, 2**40), st.sampled_from([0, 1, 500, 501, 4000]))
_expected_output_tokens = st.one_of(st.none(), st.integers(0, 10**6))


@cache
def request_dicts(i: int) -> st.SearchStrategy[dict[str, Any]]:
    """One request as a dict of Request fields."""
    return _request_dicts(i)


@st.composite
def _request_dicts(draw: st.DrawFn, i: int) -> dict[str, Any]:
    attrs = draw(_attrs)
    return {
        "request_id": f"r{i}",
        "ts": draw(_ts),
        "workflow": draw(_workflow),
        "task": draw(_maybe_text),
        "team": draw(_maybe_text),
        "region": draw(_region),
        "data_class": draw(_data_class),
        "prompt": draw(_maybe_text),
        "prompt_tokens": draw(_prompt_tokens),
        "expected_output_tokens": draw(_expected_output_tokens),
        "attrs": attrs,
    }


@cache
def _batch(n: int) -> st.SearchStrategy[list[dict[str, Any]]]:
    return st.tuples(*[request_dicts(i) for i in range(n)]).map(list)


@cache
def request_batches() -> st.SearchStrategy[list[dict[str, Any]]]:
    """One to twelve requests."""
    return st.integers(1, 12).flatmap(_batch)
