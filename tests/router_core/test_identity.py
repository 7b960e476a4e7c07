"""Router identity: the hash ignores spelling (key order, whitespace, defaults); `diff` names what changed."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any, NamedTuple

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from routelab.router_core.engine import route
from routelab.router_core.identity import canonical, config_hash, diff
from routelab.router_core.pricing import PriceTable
from routelab.router_core.request import Request
from routelab.router_core.validate import Router, load_router

Data = dict[str, Any]
Edit = Callable[[Data], None]


def _model(ident: str, tier: str, boundary: str = "external") -> Data:
    return {
        "id": ident,
        "tier": tier,
        "boundary": boundary,
        "context_window": 32000,
        "latency": {"p50_ms": 300, "p95_ms": 900, "output_tokens_per_s": 100},
        "price": {"input_per_token": 1e-7, "output_per_token": 4e-7},
    }


def base_config() -> Data:
    """A small valid config; `m-spare` is referenced nowhere, so it can be removed."""
    return {
        "name": "ident",
        "version": "1",
        "description": "base",
        "models": [
            _model("m-small", "small"),
            _model("m-big", "frontier", "private"),
            _model("m-spare", "medium"),
        ],
        "indexes": [{"id": "kb", "latency_ms": 100, "cost_per_query": 0.0005}],
        "signals": [
            {"kind": "keywords", "name": "intent", "labels": [{"label": "refund", "phrases": ["refund"]}]},
            {"kind": "pii", "name": "has_pii"},
            {
                "kind": "length",
                "name": "size",
                "buckets": [{"label": "short", "max": 500}, {"label": "long"}],
            },
        ],
        "rules": [
            {
                "id": "refunds",
                "when": 'intent == "refund" and not has_pii',
                "route": {"model": "m-small", "retrieval": "kb"},
                "confidence": "intent.confidence * 0.9",
            },
            {"id": "long", "when": 'size == "long" or attrs.tier >= 2', "route": {"model": "m-big"}},
            {
                "id": "teams",
                "when": 'team in ["a", "b"]',
                "route": {"model": "m-big", "fallbacks": ["m-small"]},
            },
        ],
        "default": {"route": {"model": "m-small"}, "confidence": 0.4},
        "policies": [
            {"kind": "privacy", "id": "conf", "when": "has_pii", "allowed_boundaries": ["private"]},
            {"kind": "cost_ceiling", "id": "ceil", "max_usd": 0.05},
        ],
    }


def load(data: Data) -> Router:
    return load_router(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), "router.yaml")


BASE_HASH = config_hash(load(base_config()))


def edited(*edits: Edit) -> Router:
    data = base_config()
    for edit in edits:
        edit(data)
    return load(data)


def _shuffled(node: Any, rnd: random.Random) -> Any:
    """The same data with every mapping's keys in a random order (lists keep theirs: order matters)."""
    if isinstance(node, dict):
        keys = list(node)
        rnd.shuffle(keys)
        return {k: _shuffled(node[k], rnd) for k in keys}
    if isinstance(node, list):
        return [_shuffled(v, rnd) for v in node]
    return node


@settings(max_examples=25)  # each example loads a router; a few orders are enough to catch an ordered dump
@given(st.randoms(use_true_random=False))
def test_hash_ignores_key_order(rnd: random.Random) -> None:
    assert config_hash(load(_shuffled(base_config(), rnd))) == BASE_HASH


def _rule_when(i: int, when: str) -> Edit:
    return lambda data: data["rules"][i].update(when=when)


SAME_MEANING: dict[str, Edit] = {
    # whitespace and spelling inside expressions
    "when-whitespace": _rule_when(0, '  intent=="refund"\tand\nnot   has_pii '),
    "when-single-quotes": _rule_when(0, "intent == 'refund' and not has_pii"),
    "when-redundant-parentheses": _rule_when(1, '(size == "long") or (attrs.tier >= 2)'),
    "when-attr-brackets": _rule_when(1, 'size == "long" or attrs["tier"] >= 2'),
    "when-number-spelling": _rule_when(1, 'size == "long" or attrs.tier >= 2.0'),
    "confidence-whitespace": lambda data: data["rules"][0].update(confidence="intent.confidence*0.9"),
    "policy-when-parentheses": lambda data: data["policies"][0].update(when="(has_pii)"),
    "signal-field-whitespace": lambda data: data["signals"][2].update(field="  prompt_tokens "),
    # spelled-out defaults
    "tiers-spelled-out": lambda data: data.update(tiers=["small", "medium", "large", "frontier"]),
    "defaults-spelled-out": lambda data: data.update(
        defaults={"expected_output_tokens": 500, "context_tokens": 0}
    ),
    "route-defaults-spelled-out": lambda data: data["rules"][1]["route"].update(
        retrieval="none", cache="bypass", escalation="none", fallbacks=[], context_tokens=None
    ),
    "rule-defaults-spelled-out": lambda data: data["rules"][1].update(description="", confidence=1),
    "model-regions-spelled-out": lambda data: data["models"][0].update(regions=[]),
    "keyword-signal-defaults": lambda data: data["signals"][0].update(field="prompt", case_sensitive=False),
    "keyword-confidence-default": lambda data: data["signals"][0]["labels"][0].update(confidence=1.0),
    "policy-defaults-spelled-out": lambda data: data["policies"][1].update(
        when="true", on_violation="downgrade"
    ),
    "version-as-int": lambda data: data.update(version=1),
}


@pytest.mark.parametrize("edit", SAME_MEANING.values(), ids=SAME_MEANING.keys())
def test_hash_ignores_spelling(edit: Edit) -> None:
    router = edited(edit)
    assert (config_hash(router), diff(load(base_config()), router).changes) == (BASE_HASH, ())


def test_hash_ignores_all_spellings_at_once() -> None:
    assert config_hash(edited(*SAME_MEANING.values())) == BASE_HASH


def _swap_rules(data: Data) -> None:
    data["rules"][0], data["rules"][1] = data["rules"][1], data["rules"][0]


DIFFERENT: dict[str, Edit] = {
    "rule-condition": _rule_when(0, 'intent == "refund"'),
    "rule-condition-literal": _rule_when(2, 'team in ["a", "c"]'),
    "rule-order": _swap_rules,
    "rule-model": lambda data: data["rules"][1]["route"].update(model="m-small"),
    "rule-retrieval": lambda data: data["rules"][0]["route"].update(retrieval="none"),
    "rule-confidence": lambda data: data["rules"][0].update(confidence="intent.confidence"),
    "rule-fallbacks": lambda data: data["rules"][2]["route"].update(fallbacks=[]),
    "policy-threshold": lambda data: data["policies"][1].update(max_usd=0.06),
    "signal-phrase": lambda data: data["signals"][0]["labels"][0].update(phrases=["refund", "money back"]),
    "model-price": lambda data: data["models"][0]["price"].update(input_per_token=2e-7),
    "default-route": lambda data: data["default"]["route"].update(model="m-big"),
}


@pytest.mark.parametrize("edit", DIFFERENT.values(), ids=DIFFERENT.keys())
def test_hash_changes_with_meaning(edit: Edit) -> None:
    assert config_hash(edited(edit)) != BASE_HASH


def test_canonical_form_has_canonical_expressions() -> None:
    form = canonical(edited(SAME_MEANING["when-whitespace"]))
    assert [r["when"] for r in form["rules"]] == [
        '(intent == "refund" and not (has_pii))',
        '(size == "long" or attrs.tier >= 2)',
        'team in ["a", "b"]',
    ]


# ------------------------------------------------------------------------------------------------- diff


class DiffCase(NamedTuple):
    id: str
    edits: tuple[Edit, ...]
    expected: set[tuple[str, str, str, tuple[str, ...]]]  # (section, item, change, fields)


def _append(section: str, item: Data) -> Edit:
    return lambda data: data[section].append(item)


def _remove(section: str, index: int) -> Edit:
    return lambda data: data[section].pop(index) and None


DIFF_CASES = [
    DiffCase(
        "rule-added",
        (_append("rules", {"id": "night", "when": "hour < 6", "route": {"model": "m-small"}}),),
        {("rules", "night", "added", ())},
    ),
    DiffCase("rule-removed", (_remove("rules", 2),), {("rules", "teams", "removed", ())}),
    DiffCase("rule-changed", (DIFFERENT["rule-condition"],), {("rules", "refunds", "changed", ("when",))}),
    DiffCase(
        "rule-route-changed",
        (DIFFERENT["rule-model"], DIFFERENT["rule-fallbacks"]),
        {
            ("rules", "long", "changed", ("route.model",)),
            ("rules", "teams", "changed", ("route.fallbacks",)),
        },
    ),
    DiffCase(
        "rules-moved", (_swap_rules,), {("rules", "long", "moved", ()), ("rules", "refunds", "moved", ())}
    ),
    DiffCase(
        "policy-added-removed-changed",
        (
            lambda data: data["policies"][1].update(max_usd=0.06),
            _remove("policies", 0),
            _append("policies", {"kind": "region", "id": "res"}),
        ),
        {
            ("policies", "ceil", "changed", ("max_usd",)),
            ("policies", "conf", "removed", ()),
            ("policies", "res", "added", ()),
        },
    ),
    DiffCase(
        "policies-moved",
        (lambda data: data["policies"].reverse(),),
        {("policies", "ceil", "moved", ()), ("policies", "conf", "moved", ())},
    ),
    DiffCase(
        "signals-moved",
        (lambda data: data["signals"].reverse(),),
        {("signals", "intent", "moved", ()), ("signals", "size", "moved", ())},
    ),
    DiffCase(
        "signal-added-and-changed",
        (DIFFERENT["signal-phrase"], _append("signals", {"kind": "pii", "name": "pii2"})),
        {("signals", "intent", "changed", ("labels",)), ("signals", "pii2", "added", ())},
    ),
    DiffCase(
        "models-added-removed-changed",
        (DIFFERENT["model-price"], _remove("models", 2), _append("models", _model("m-new", "large"))),
        {
            ("models", "m-small", "changed", ("price.input_per_token",)),
            ("models", "m-spare", "removed", ()),
            ("models", "m-new", "added", ()),
        },
    ),
    DiffCase(
        "default-changed",
        (DIFFERENT["default-route"],),
        {("default", "default", "changed", ("route.model",))},
    ),
    DiffCase(
        "rule-description-only",
        (lambda data: data["rules"][0].update(description="why"),),
        {("rules", "refunds", "changed", ("description",))},
    ),
]


@pytest.mark.parametrize("case", DIFF_CASES, ids=[c.id for c in DIFF_CASES])
def test_diff_reports_changes(case: DiffCase) -> None:
    result = diff(load(base_config()), edited(*case.edits))
    assert {(c.section, c.item, c.change, c.fields) for c in result.changes} == case.expected
    assert len(result.changes) == len(case.expected)


def test_diff_records_positions_of_moved_rules() -> None:
    result = diff(load(base_config()), edited(_swap_rules))
    assert {c.item: (c.before, c.after) for c in result.changes} == {"long": (1, 0), "refunds": (0, 1)}


def test_diff_positions_count_only_shared_items() -> None:
    # removing the first rule shifts the others, but their order among shared rules is unchanged
    result = diff(load(base_config()), edited(_remove("rules", 0)))
    assert [(c.item, c.change) for c in result.changes] == [("refunds", "removed")]


def test_diff_records_before_and_after_of_a_changed_item() -> None:
    (change,) = diff(load(base_config()), edited(DIFFERENT["policy-threshold"])).changes
    assert (change.before["max_usd"], change.after["max_usd"]) == (0.05, 0.06)


IDENTICAL = {
    "version-bump-and-description": (
        (lambda data: data.update(version="2", description="Only the docs changed."),),
        True,
    ),
    "rule-description-only": ((lambda data: data["rules"][0].update(description="why"),), True),
    "index-description-only": ((lambda data: data["indexes"][0].update(description="the KB"),), True),
    "rule-condition": ((DIFFERENT["rule-condition"],), False),
    "rule-description-and-route": (
        (lambda data: data["rules"][1].update(description="why"), DIFFERENT["rule-model"]),
        False,
    ),
    "rule-moved": ((_swap_rules,), False),
}


@pytest.mark.parametrize(("edits", "identical"), IDENTICAL.values(), ids=IDENTICAL.keys())
def test_identical_means_same_routing(edits: tuple[Edit, ...], identical: bool) -> None:
    assert diff(load(base_config()), edited(*edits)).identical is identical


def test_version_bump_with_description_only_has_no_changes() -> None:
    candidate = edited(IDENTICAL["version-bump-and-description"][0][0])
    result = diff(load(base_config()), candidate)
    assert (result.base, result.candidate, result.changes, result.identical) == (
        "ident@1",
        "ident@2",
        (),
        True,
    )


def test_reordered_models_are_not_identical() -> None:
    def tie(data: Data) -> None:
        # two private models alike in tier and price: the privacy reroute picks the first in config order
        data["models"] += [_model("p1", "small", "private"), _model("p2", "small", "private")]
        data["policies"][0]["when"] = "true"

    def swap(data: Data) -> None:
        data["models"][-2:] = data["models"][-1:-3:-1]

    base, candidate = edited(tie), edited(tie, swap)
    request = Request(request_id="r", prompt="hello")
    models = [route(r, request, PriceTable(prices={})).model for r in (base, candidate)]
    assert models == ["p1", "p2"]  # the two versions route the request differently ...
    assert not diff(base, candidate).identical  # ... so they must not be called identical
