"""Config validation: all problems are reported together, each with its YAML path (and line where known).

Each case starts from a valid base config built here, applies one small change and expects exactly the
problems listed (path, fragment of the message). `{line}` in a path is the line of `marker` in the YAML.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, NamedTuple

import pytest
import yaml

from routelab.router_core.config import parse_config
from routelab.router_core.errors import ConfigError, ConfigProblem
from routelab.router_core.validate import load_router

Data = dict[str, Any]


def _model(ident: str, tier: str, boundary: str, window: int, **extra: Any) -> Data:
    return {
        "id": ident,
        "tier": tier,
        "boundary": boundary,
        "context_window": window,
        "latency": {"p50_ms": 300, "p95_ms": 900, "output_tokens_per_s": 100},
        "price": {"input_per_token": 1e-7, "output_per_token": 4e-7},
        **extra,
    }


def base_config() -> Data:
    """A small valid config touching every section: three models, an index, four signals, rules, policies."""
    return {
        "name": "base",
        "version": "1",
        "models": [
            _model("m-small", "small", "external", 16000),
            _model("m-private", "medium", "private", 32000),
            _model("m-big", "frontier", "external", 128000, regions=["us", "eu"]),
        ],
        "indexes": [{"id": "kb", "latency_ms": 100, "cost_per_query": 0.0005}],
        "signals": [
            {"kind": "keywords", "name": "intent", "labels": [{"label": "refund", "phrases": ["refund"]}]},
            {"kind": "regex", "name": "ticket", "labels": [{"label": "incident", "pattern": "INC-[0-9]+"}]},
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
                "when": 'intent == "refund"',
                "route": {"model": "m-small", "retrieval": "kb", "fallbacks": ["m-big"]},
                "confidence": "intent.confidence",
            },
            {"id": "tickets", "when": 'ticket == "incident"', "route": {"model": "m-big"}},
            {"id": "long", "when": 'size == "long"', "route": {"model": "m-big"}},
        ],
        "default": {"route": {"model": "m-small"}, "confidence": 0.4},
        "policies": [
            {
                "kind": "privacy",
                "id": "conf",
                "when": 'data_class == "confidential" or has_pii',
                "allowed_boundaries": ["private"],
            },
            {"kind": "region", "id": "res"},
            {"kind": "cost_ceiling", "id": "ceil", "max_usd": 0.05},
            {"kind": "confidence_floor", "id": "floor", "min_confidence": 0.5, "escalate_to": "model:m-big"},
        ],
    }


def to_yaml(data: Data) -> str:
    """The config as block-style YAML, keys in the order written."""
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def problems_of(text: str) -> list[ConfigProblem]:
    """Every problem `load_router` reports (none for a valid config)."""
    try:
        load_router(text, "router.yaml")
    except ConfigError as exc:
        return exc.problems
    return []


def line_of(text: str, marker: str) -> int:
    """1-based line of the first occurrence of `marker`."""
    return text[: text.index(marker)].count("\n") + 1


# An edit changes the data in place, or returns the YAML text to use instead.
Edit = Callable[[Data], str | None]


class Case(NamedTuple):
    id: str
    edit: Edit
    expected: list[tuple[str, str]]
    marker: str = ""


def _key(part: str) -> int | str:
    return int(part) if part.isdigit() else part


def _parent(data: Data, path: str) -> tuple[Any, int | str]:
    """The container holding the dotted path (`rules.0.route.model`) and the last key."""
    *parents, last = path.split(".")
    node: Any = data
    for part in parents:
        node = node[_key(part)]
    return node, _key(last)


def _set(path: str, value: Any) -> Edit:
    """Set the value at a dotted path."""

    def edit(data: Data) -> None:
        node, key = _parent(data, path)
        node[key] = value

    return edit


def _delete(path: str) -> Edit:
    """Remove the key at a dotted path."""

    def edit(data: Data) -> None:
        node, key = _parent(data, path)
        del node[key]

    return edit


def _both(*edits: Edit) -> Edit:
    def edit(data: Data) -> None:
        for e in edits:
            e(data)

    return edit


def _append(section: str, item: Data) -> Edit:
    return lambda data: data[section].append(item)


def _insert(section: str, index: int, item: Data) -> Edit:
    return lambda data: data[section].insert(index, item)


def _rule(ident: str, when: str, model: str = "m-big") -> Data:
    return {"id": ident, "when": when, "route": {"model": model}}


KNOWN_MODELS = "known models: m-big, m-private, m-small"
UNKNOWN_KEY = "unknown key; check its spelling"
NEVER_FIRES = "rule can never fire"

CASES = [
    Case(
        "unknown-key-in-model",
        _set("models.1.colour", "red"),
        [("models[1](m-private).colour (line {line})", UNKNOWN_KEY)],
        marker="colour:",
    ),
    Case("unknown-key-at-root", _set("owner", "me"), [("owner (line {line})", UNKNOWN_KEY)], marker="owner:"),
    Case(
        "unknown-key-in-route",
        _set("rules.1.route.modle", "m-big"),
        [("rules[1](tickets).route.modle (line {line})", UNKNOWN_KEY)],
        marker="modle:",
    ),
    Case(
        "missing-required-key",
        _delete("models.0.context_window"),
        [("models[0](m-small).context_window (line {line})", "required key is missing")],
        marker="- id: m-small",
    ),
    Case(
        "unknown-policy-kind",
        _set("policies.1.kind", "residency"),
        [("policies[1](res) (line {line})", "'privacy', 'region', 'cost_ceiling'")],
        marker="- kind: residency",
    ),
    Case(
        "unknown-model-in-route",
        _set("rules.0.route.model", "nope"),
        [("rules[0](refunds).route.model", f"unknown model `nope`; {KNOWN_MODELS}")],
    ),
    Case(
        "unknown-model-in-fallbacks",
        _set("rules.0.route.fallbacks", ["m-private", "nope"]),
        [("rules[0](refunds).route.fallbacks[1]", f"unknown model `nope`; {KNOWN_MODELS}")],
    ),
    Case(
        "unknown-model-in-escalation",
        _set("rules.0.route.escalation", "model:nope"),
        [("rules[0](refunds).route.escalation", f"unknown model `nope`; {KNOWN_MODELS}")],
    ),
    Case(
        "unknown-model-in-default",
        _set("default.route.model", "nope"),
        [("default.route.model", f"unknown model `nope`; {KNOWN_MODELS}")],
    ),
    Case(
        "unknown-model-in-confidence-floor",
        _set("policies.3.escalate_to", "model:nope"),
        [("policies[3](floor).escalate_to", f"unknown model `nope`; {KNOWN_MODELS}")],
    ),
    Case(
        "escalation-not-a-target",
        _set("rules.1.route.escalation", "pager"),
        [("rules[1](tickets).route.escalation", "write `none`, `human_review` or `model:<model id>`")],
    ),
    Case(
        "fallback-is-the-primary",
        _set("rules.0.route.fallbacks", ["m-small"]),
        [("rules[0](refunds).route.fallbacks[0]", "`m-small` is the primary model")],
    ),
    Case(
        "unknown-index",
        _set("rules.0.route.retrieval", "wiki"),
        [("rules[0](refunds).route.retrieval", "unknown index `wiki`; known indexes: kb")],
    ),
    Case(
        "duplicate-model-id",
        lambda data: data["models"].append(copy.deepcopy(data["models"][0])),
        [("models[3](m-small)", "duplicate id `m-small`; ids must be unique in models")],
    ),
    Case(
        "duplicate-rule-id",
        _append("rules", _rule("tickets", "hour > 3")),
        [("rules[3](tickets)", "duplicate id `tickets`; ids must be unique in rules")],
    ),
    Case(
        "duplicate-policy-id",
        _append("policies", {"kind": "region", "id": "ceil"}),
        [("policies[4](ceil)", "duplicate id `ceil`; ids must be unique in policies")],
    ),
    Case(
        "signal-name-is-a-request-field",
        _append("signals", {"kind": "pii", "name": "team"}),
        [("signals[4](team).name", "`team` is a request field or keyword; choose another signal name")],
    ),
    Case(
        "signal-name-is-a-keyword",
        _append("signals", {"kind": "pii", "name": "contains"}),
        [("signals[4](contains).name", "`contains` is a request field or keyword")],
    ),
    Case(
        "rule-after-a-catch-all",
        _insert("rules", 2, _rule("everything", "true")),
        [("rules[3](long).when", f"{NEVER_FIRES}: rule `everything` before it matches every request")],
    ),
    Case(
        "rule-after-a-catch-all-written-as-or",
        _insert("rules", 2, _rule("any", "team == 'x' or true")),
        [("rules[3](long).when", f"{NEVER_FIRES}: rule `any` before it matches every request")],
    ),
    Case(
        "rule-with-the-condition-of-an-earlier-one",
        _append("rules", _rule("again", "intent=='refund'")),
        [("rules[3](again).when", f"{NEVER_FIRES}: rule `refunds` before it has the same condition")],
    ),
    Case(
        "rule-always-false",
        _set("rules.1.when", "false and true"),
        [("rules[1](tickets).when", f"{NEVER_FIRES}: its condition is always false")],
    ),
    Case(
        "rule-syntax-error",
        _set("rules.1.when", 'workflow = "a"'),
        [("rules[1](tickets).when", '(use `==` for equality) at column 10 of `workflow = "a"`')],
    ),
    Case(
        "non-portable-regex-in-matches",
        _set("rules.1.when", 'prompt matches "(?i)inc"'),
        [("rules[1](tickets).when", "regex not portable: inline flags")],
    ),
    Case(
        "non-portable-regex-in-signal",
        _set("signals.1.labels.0.pattern", "INC-[0-9]+(?=x)"),
        [("signals[1](ticket).labels[0].pattern", "regex not portable: lookahead")],
    ),
    Case(
        "privacy-reroute-with-no-model-inside-the-boundaries",
        _set("models.1.boundary", "external"),
        [
            ("policies[0](conf).allowed_boundaries[0]", "no model has boundary `private`"),
            ("policies[0](conf).on_violation", "nowhere to reroute"),
        ],
    ),
    Case(
        "privacy-block-with-no-model-inside-the-boundaries",
        _both(_set("models.1.boundary", "external"), _set("policies.0.on_violation", "block")),
        [("policies[0](conf).allowed_boundaries[0]", "no model has boundary `private`")],
    ),
    Case(
        "unknown-boundary",
        _set("policies.0.allowed_boundaries", ["private", "onprem"]),
        [
            (
                "policies[0](conf).allowed_boundaries[1]",
                "no model has boundary `onprem`; known boundaries: external, private",
            )
        ],
    ),
    Case(
        "context-tokens-above-the-window",
        _set("rules.0.route.context_tokens", 20000),
        [("rules[0](refunds).route.context_tokens", "20000 exceeds m-small's context window of 16000")],
    ),
    Case(
        "default-context-tokens-above-the-window",
        _set("defaults", {"context_tokens": 20000}),
        [
            ("rules[0](refunds).route.context_tokens", "20000 exceeds m-small's context window of 16000"),
            ("default.route.context_tokens", "20000 exceeds m-small's context window of 16000"),
        ],
    ),
    Case(
        "tier-not-in-tiers",
        _set("models.0.tier", "tiny"),
        [("models[0](m-small).tier", "unknown tier `tiny`; tiers are small, medium, large, frontier")],
    ),
    Case(
        "confidence-above-one",
        _set("rules.1.confidence", 1.5),
        [("rules[1](tickets).confidence", "confidence 1.5 is outside [0, 1]")],
    ),
    Case(
        "invalid-yaml",
        lambda data: to_yaml(data).replace("\nversion:", "\n  version:"),
        [("line {line}", "not valid YAML: mapping values are not allowed here")],
        marker="  version:",
    ),
    Case("not-a-mapping", lambda data: "- name: base\n", [("", "a router config is a YAML mapping")]),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_broken_config_reports_its_problems(case: Case) -> None:
    data = base_config()
    text = case.edit(data) or to_yaml(data)
    line = line_of(text, case.marker) if case.marker else None
    expected = [(path.format(line=line), fragment) for path, fragment in case.expected]
    found = [(p.path, str(p).rsplit(": " + p.message, 1)[0], p.message) for p in problems_of(text)]
    unmatched = [e for e in expected if not any(e[0] in (p, w) and e[1] in m for p, w, m in found)]
    assert (len(found), unmatched) == (len(expected), []), f"problems reported: {found}"


def test_base_config_is_valid() -> None:
    router = load_router(to_yaml(base_config()), "router.yaml")
    assert [r.rule.id for r in router.rules] == ["refunds", "tickets", "long"]


def test_all_problems_are_reported_together() -> None:
    data = base_config()
    data["models"][0]["tier"] = "tiny"
    data["rules"][0]["route"]["model"] = "nope"
    data["policies"][0]["allowed_boundaries"].append("onprem")
    with pytest.raises(ConfigError) as info:
        load_router(to_yaml(data), "router.yaml")
    paths = [p.path for p in info.value.problems]
    assert paths == [
        "models[0](m-small).tier",
        "rules[0](refunds).route.model",
        "policies[0](conf).allowed_boundaries[1]",
    ]
    # one line per problem, each naming the file
    assert [line.split(": ", 2)[:2] for line in str(info.value).splitlines()] == [
        ["router.yaml", f"{p.path} (line {p.line})"] for p in info.value.problems
    ]
    assert all(p.line for p in info.value.problems)


def test_all_schema_problems_are_reported_together() -> None:
    data = base_config()
    data["owner"] = "me"
    del data["models"][2]["latency"]
    data["policies"][2]["max_usd"] = -1
    with pytest.raises(ConfigError) as info:
        parse_config(to_yaml(data), "router.yaml")
    assert sorted(p.path.split(" (line")[0] for p in info.value.problems) == [
        "models[2](m-big).latency",
        "owner",
        "policies[2](ceil).max_usd",
    ]


VERSIONS = {
    "int": ("2", "2"),
    "quoted": ("'2'", "2"),
    "dotted": ("2.1.0", "2.1.0"),
    "float": ("1.5", "1.5"),
    "float-ending-in-zero": ("1.10", "1.10"),
    "leading-zero": ("010", "010"),
}


@pytest.mark.parametrize(("written", "expected"), VERSIONS.values(), ids=VERSIONS.keys())
def test_version_is_kept_as_written(written: str, expected: str) -> None:
    """YAML reads `version: 2` as an int; the config keeps the text "2" (config.py: "keep what was meant")."""
    text = to_yaml(base_config()).replace("version: '1'", f"version: {written}")
    assert parse_config(text).version == expected
