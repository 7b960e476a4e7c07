"""Attribution of flips to router diff changes: one hand-built router pair per kind of change, hand-computed
impacts, input checks, and the shipped acme-gateway story (v1 → v2 breaks two things, v2 → v3 fixes them)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from importlib import resources
from string import Template
from typing import Any

import numpy as np
import pandas as pd
import pytest

from routelab.datasets.workspace import example_config, example_prices
from routelab.evaluators.attribution import attribute_flips, explain_flips
from routelab.evaluators.attribution_types import Attribution, AttributionError
from routelab.evaluators.errors import InvalidArgumentError
from routelab.evaluators.frames import FrameError
from routelab.router_core.engine import route_many
from routelab.router_core.identity import diff
from routelab.router_core.pricing import PriceTable
from routelab.router_core.request import Request
from routelab.router_core.validate import Router, load_router

TEMPLATE = Template("""
name: tiny
version: "$version"
models:
  - id: small
    tier: small
    boundary: external
    regions: $small_regions
    context_window: 100000
    latency: {p50_ms: 100, p95_ms: 200, output_tokens_per_s: 100}
    price: {input_per_token: 1.0e-6, output_per_token: 1.0e-6}
  - id: large
    tier: large
    boundary: external
    context_window: 100000
    latency: {p50_ms: 300, p95_ms: 600, output_tokens_per_s: 50}
    price: {input_per_token: 1.0e-5, output_per_token: 1.0e-5}
  - id: private
    tier: large
    boundary: private
    context_window: 100000
    latency: {p50_ms: 200, p95_ms: 400, output_tokens_per_s: 50}
    price: {input_per_token: 5.0e-6, output_per_token: 5.0e-6}
indexes:
  - {id: kb, latency_ms: 10, cost_per_query: 0.001}
signals:
  - kind: keywords
    name: topic
    labels:
      - {label: billing, phrases: $phrases}
rules:
$rules
default:
  route: {model: $default_model}
  confidence: 0.9
policies:
  - kind: privacy
    id: privacy
    when: $privacy_when
    allowed_boundaries: [private]
  - kind: region
    id: residency
  - kind: confidence_floor
    id: review-floor
    min_confidence: 0.5
""")

BILLING = """
  - id: billing
    when: task == "refund"
    route: {model: large, retrieval: kb}"""
COMPLAINT = """
  - id: complaint
    when: task == "complaint"
    route: {model: large}
    confidence: 0.8"""
FAQ = """
  - id: faq
    when: topic == "billing"
    route: {model: small, retrieval: kb, cache: serve}"""
URGENT = """
  - id: urgent
    when: task == "urgent"
    route: {model: large, escalation: human_review}"""

BASE: dict[str, str] = {
    "version": "1",
    "small_regions": "[us]",
    "phrases": "[invoice, charge]",
    "rules": BILLING + COMPLAINT + FAQ,
    "default_model": "small",
    "privacy_when": 'data_class == "confidential"',
}
PRICES = PriceTable(prices={})  # every tiny model carries a price override

REQUESTS = [
    Request(request_id="refund", workflow="support", task="refund", prompt="Refund the charge on my invoice"),
    Request(request_id="complaint", workflow="support", task="complaint", prompt="Third time I write"),
    Request(request_id="card", workflow="support", task="question", prompt="A charge on my card?"),
    Request(request_id="urgent", workflow="support", task="urgent", prompt="Call me back"),
    Request(request_id="crm", workflow="sales", task="crm", data_class="confidential", prompt="Notes"),
    Request(request_id="us", workflow="coding", task="explain", region="us", prompt="What is a monad?"),
    Request(request_id="plain", workflow="coding", task="explain", prompt="Explain this loop"),
]


def make_router(**changes: str) -> Router:
    """The tiny router, with some template values replaced (version 2 unless given)."""
    return load_router(TEMPLATE.substitute({**BASE, "version": "2", **changes}))


def decisions(router: Router, requests: Sequence[Request] = REQUESTS) -> pd.DataFrame:
    """The router's decisions as the store returns them (policy flags as lists)."""
    rows = [d.model_dump(mode="json", exclude={"trace"}) for d in route_many(router, requests, PRICES)]
    return pd.DataFrame(rows)


def attribute(base: Router, cand: Router, **kwargs: Any) -> tuple[Attribution, pd.DataFrame]:
    """The attribution and the per-flip explanations of base → cand over `REQUESTS`."""
    d = diff(base, cand)
    frames = (decisions(base), decisions(cand))
    return attribute_flips(d, base, cand, *frames, **kwargs), explain_flips(d, base, cand, *frames)


def flip(explained: pd.DataFrame, request_id: str) -> dict[str, Any]:
    """The explanation row of one request (which must have flipped)."""
    rows = explained[explained["request_id"] == request_id]
    assert len(rows) == 1, f"{request_id} did not flip; flips: {explained['request_id'].tolist()}"
    return dict(rows.iloc[0])


BASE_ROUTER = load_router(TEMPLATE.substitute(BASE))

# (id, candidate template values, request that flips, its primary change, the primary's role)
SCENARIOS = [
    ("moved-rule", {"rules": FAQ + BILLING + COMPLAINT}, "refund", "rules:moved:faq", "candidate_rule"),
    (
        "changed-route",
        {"rules": BILLING.replace("model: large", "model: private") + COMPLAINT + FAQ},
        "refund",
        "rules:changed:billing",
        "route",
    ),
    (
        "changed-confidence",
        {"rules": BILLING + COMPLAINT.replace("0.8", "0.3") + FAQ},
        "complaint",
        "rules:changed:complaint",
        "route",
    ),
    (
        "policy-when",
        {"privacy_when": '(data_class == "confidential") and workflow != "sales"'},
        "crm",
        "policies:changed:privacy",
        "policy",
    ),
    (
        "added-rule",
        {"rules": URGENT + BILLING + COMPLAINT + FAQ},
        "urgent",
        "rules:added:urgent",
        "candidate_rule",
    ),
    ("changed-signal", {"phrases": "[invoice]"}, "card", "signals:changed:topic", "rule_signal"),
    ("changed-model", {"small_regions": "[eu]"}, "us", "models:changed:small", "model"),
    ("changed-default", {"default_model": "large"}, "plain", "default:changed:default", "route"),
]


@pytest.mark.parametrize(
    ("changes", "request_id", "primary", "role"),
    [pytest.param(*s[1:], id=s[0]) for s in SCENARIOS],
)
def test_each_kind_of_change_is_attributed(
    changes: dict[str, str], request_id: str, primary: str, role: str
) -> None:
    result, explained = attribute(BASE_ROUTER, make_router(**changes))
    row = flip(explained, request_id)
    assert row["primary"] == primary
    assert row["roles"][0] == role
    section, change, item = primary.split(":", 2)
    found = result.find(section, item, change)
    assert found is not None
    assert found.primary.flips >= 1
    assert request_id in found.examples
    assert found.roles[role] >= 1
    assert result.unexplained.flips == 0


def test_a_moved_rule_outranks_the_rules_it_jumped_over_in_both_directions() -> None:
    moved = make_router(rules=FAQ + BILLING + COMPLAINT)
    forward, explained = attribute(BASE_ROUTER, moved)
    row = flip(explained, "refund")
    # faq really moved; billing and complaint only shifted down one place, and come last
    assert row["causes"] == ("rules:moved:faq", "rules:moved:billing")
    assert row["roles"] == ("candidate_rule", "base_rule")
    shift = {c.change.item: c.shift_only for c in forward.changes if c.change.change == "moved"}
    assert shift == {"faq": False, "billing": True, "complaint": True}

    back = load_router(TEMPLATE.substitute({**BASE, "version": "3"}))
    _, explained = attribute(moved, back)
    row = flip(explained, "refund")
    assert row["primary"] == "rules:moved:faq"  # the base's firing rule now, still the real move
    assert row["roles"] == ("base_rule", "candidate_rule")


def test_same_rule_policy_change_outranks_the_route_change() -> None:
    cand = make_router(
        privacy_when='(data_class == "confidential") and workflow != "sales"', default_model="large"
    )
    _, explained = attribute(BASE_ROUTER, cand)
    row = flip(explained, "crm")
    assert row["causes"] == ("policies:changed:privacy", "default:changed:default")
    assert row["components"] == ("model", "action")


def test_identical_versions_have_no_flips() -> None:
    result, explained = attribute(BASE_ROUTER, make_router())
    assert explained.empty
    assert result.n_flips == 0
    assert result.n_requests == len(REQUESTS)
    assert all(c.shared.flips == 0 for c in result.changes)


def test_a_flip_no_change_explains_is_reported_unexplained() -> None:
    cand = make_router()
    base_frame = decisions(BASE_ROUTER)
    cand_frame = decisions(cand)
    cand_frame.loc[cand_frame["request_id"] == "plain", "model"] = "large"  # not what `cand` decides
    result = attribute_flips(diff(BASE_ROUTER, cand), BASE_ROUTER, cand, base_frame, cand_frame)
    assert result.n_flips == 1
    assert result.unexplained.flips == 1
    assert result.unexplained_examples == ("plain",)
    assert any("not explained" in w for w in result.warnings)


# --- hand-computed impact ---------------------------------------------------------------------------------


def make_decision(
    request_id: str,
    rule_id: str,
    model: str,
    cost: float,
    *,
    flags: Sequence[str] = (),
    retrieval: str | None = None,
    action: str = "allow",
    router: str = "tiny@1",
) -> dict[str, Any]:
    """A `decisions` row with the columns attribution reads."""
    return {
        "router": router,
        "request_id": request_id,
        "model": model,
        "retrieval": retrieval,
        "escalation": "none",
        "action": action,
        "rule_id": rule_id,
        "policy_flags": list(flags),
        "est_cost_usd": cost,
    }


CAND_BOTH = make_router(
    rules=FAQ + BILLING + COMPLAINT, privacy_when='(data_class == "confidential") and workflow != "sales"'
)
BASE_ROWS = [
    make_decision("r1", "billing", "large", 0.010, retrieval="kb"),
    make_decision("r2", "billing", "large", 0.020, retrieval="kb"),
    make_decision("r3", "complaint", "large", 0.005),
    make_decision("r4", "default", "private", 0.004, flags=["privacy"], action="reroute"),
    make_decision("r5", "billing", "large", 0.010, retrieval="kb"),
]
CAND_ROWS = [
    make_decision("r1", "faq", "small", 0.001, router="tiny@2"),
    make_decision("r2", "faq", "small", 0.002, router="tiny@2"),
    make_decision("r3", "complaint", "large", 0.005, router="tiny@2"),
    make_decision("r4", "default", "small", 0.001, router="tiny@2"),
    make_decision("r5", "faq", "small", 0.001, router="tiny@2"),
]
CORRECTNESS = pd.DataFrame(
    {
        "request_id": ["r1", "r2", "r3", "r4"],  # r5 unlabelled
        "base_correct": [True, False, True, 1],
        "cand_correct": [False, True, True, 0],
    }
)


def hand_attribution(**kwargs: Any) -> Attribution:
    base_frame, cand_frame = pd.DataFrame(BASE_ROWS), pd.DataFrame(CAND_ROWS)
    return attribute_flips(
        diff(BASE_ROUTER, CAND_BOTH), BASE_ROUTER, CAND_BOTH, base_frame, cand_frame, **kwargs
    )


def test_counts_cost_and_accuracy_impact_by_hand() -> None:
    result = hand_attribution(correctness=CORRECTNESS)
    assert (result.n_requests, result.n_flips) == (5, 4)
    faq = result.find("rules", "faq", "moved")
    assert faq is not None
    assert faq.shared.flips == faq.primary.flips == 3  # r1, r2, r5
    assert faq.shared.cost_delta_usd == pytest.approx((0.001 - 0.010) + (0.002 - 0.020) + (0.001 - 0.010))
    assert (faq.shared.labelled, faq.shared.fixed, faq.shared.broken, faq.shared.net) == (2, 1, 1, 0)
    assert faq.examples == ("r1", "r2", "r5")
    billing = result.find("rules", "billing", "moved")
    assert billing is not None
    assert (billing.shared.flips, billing.primary.flips) == (3, 0)  # shared, never primary
    privacy = result.find("policies", "privacy", "changed")
    assert privacy is not None
    assert (privacy.primary.flips, privacy.primary.broken, privacy.primary.net) == (1, 1, -1)
    assert privacy.shared.cost_delta_usd == pytest.approx(0.001 - 0.004)
    # ranked by shared flips; primary counts split the flips, shared ones overlap
    assert [c.change.key for c in result.changes[:3]] == [
        "rules:moved:faq",
        "rules:moved:billing",
        "policies:changed:privacy",
    ]
    assert sum(c.primary.flips for c in result.changes) == result.n_flips - result.unexplained.flips
    assert sum(c.shared.flips for c in result.changes) > result.n_flips
    assert (result.total.fixed, result.total.broken, result.total.net, result.total.labelled) == (1, 2, -1, 3)
    assert any("no correctness row" in w for w in result.warnings)


def test_without_correctness_accuracy_impact_is_none_and_examples_are_capped() -> None:
    result = hand_attribution(examples=2)
    faq = result.find("rules", "faq", "moved")
    assert faq is not None
    assert faq.examples == ("r1", "r2")
    assert (faq.shared.fixed, faq.shared.broken, faq.shared.net, faq.shared.labelled) == (None,) * 4
    assert result.params.correctness is False
    none = hand_attribution(examples=0).find("rules", "faq", "moved")
    assert none is not None
    assert none.examples == ()


def test_result_does_not_depend_on_row_order() -> None:
    base_frame, cand_frame = pd.DataFrame(BASE_ROWS), pd.DataFrame(CAND_ROWS)
    d = diff(BASE_ROUTER, CAND_BOTH)
    shuffled = attribute_flips(
        d,
        BASE_ROUTER,
        CAND_BOTH,
        base_frame.sample(frac=1, random_state=1),
        cand_frame.sample(frac=1, random_state=2),
        correctness=CORRECTNESS.sample(frac=1, random_state=3),
    )
    assert shuffled == hand_attribution(correctness=CORRECTNESS)


FLAG_SHAPES: dict[str, Callable[[list[str]], object]] = {
    "list": list,
    "tuple": tuple,
    "numpy": lambda v: np.array(v, dtype=object),
    "json": json.dumps,
    "none-when-empty": lambda v: v or None,
}


@pytest.mark.parametrize("shape", FLAG_SHAPES)
def test_policy_flags_shapes_read_alike(shape: str) -> None:
    base_frame, cand_frame = pd.DataFrame(BASE_ROWS), pd.DataFrame(CAND_ROWS)
    for frame in (base_frame, cand_frame):
        frame["policy_flags"] = pd.Series(
            [FLAG_SHAPES[shape](f) for f in frame["policy_flags"]], dtype=object
        )
    d = diff(BASE_ROUTER, CAND_BOTH)
    assert attribute_flips(d, BASE_ROUTER, CAND_BOTH, base_frame, cand_frame) == hand_attribution()


# --- input checks -----------------------------------------------------------------------------------------


def test_routers_must_be_the_diffs() -> None:
    other = make_router(version="9", default_model="large")
    frames = pd.DataFrame(BASE_ROWS), pd.DataFrame(CAND_ROWS)
    with pytest.raises(AttributionError, match="cand_router: tiny@9"):
        attribute_flips(diff(BASE_ROUTER, CAND_BOTH), BASE_ROUTER, other, *frames)


@pytest.mark.parametrize(
    ("edit", "error", "match"),
    [
        pytest.param(lambda f: f.drop(columns="rule_id"), FrameError, "missing column", id="missing-column"),
        pytest.param(lambda f: pd.concat([f, f.head(1)]), FrameError, "unique", id="repeated-request"),
        pytest.param(lambda f: f.assign(rule_id="nope"), AttributionError, "rule_id nope", id="unknown-rule"),
        pytest.param(lambda f: f.assign(router="tiny@7"), AttributionError, "tiny@7", id="other-version"),
        pytest.param(
            lambda f: f.assign(policy_flags=[["ghost"]] * len(f)),
            AttributionError,
            "ghost",
            id="unknown-flag",
        ),
    ],
)
def test_bad_decisions_are_named(
    edit: Callable[[pd.DataFrame], pd.DataFrame], error: type, match: str
) -> None:
    d = diff(BASE_ROUTER, CAND_BOTH)
    with pytest.raises(error, match=match):
        attribute_flips(d, BASE_ROUTER, CAND_BOTH, pd.DataFrame(BASE_ROWS), edit(pd.DataFrame(CAND_ROWS)))


def test_bad_arguments_are_named() -> None:
    with pytest.raises(InvalidArgumentError, match="examples"):
        hand_attribution(examples=-1)
    with pytest.raises(FrameError, match="true/false"):
        hand_attribution(correctness=CORRECTNESS.assign(base_correct="yes"))


# --- the shipped example routers --------------------------------------------------------------------------


def example_requests() -> list[Request]:
    folder = resources.files("routelab.router_core").joinpath("examples", "requests")
    files = sorted((f for f in folder.iterdir() if f.name.endswith(".json")), key=lambda f: f.name)
    return [Request.model_validate(json.loads(f.read_text(encoding="utf-8"))) for f in files]


def example_explained(base_name: str, cand_name: str) -> tuple[Attribution, pd.DataFrame]:
    base, cand = (load_router(example_config(n)) for n in (base_name, cand_name))
    requests, prices = example_requests(), example_prices()
    frames = [
        pd.DataFrame([d.model_dump(mode="json", exclude={"trace"}) for d in route_many(r, requests, prices)])
        for r in (base, cand)
    ]
    d = diff(base, cand)
    return attribute_flips(d, base, cand, *frames), explain_flips(d, base, cand, *frames)


def test_acme_v1_to_v2_blames_the_moved_faq_lane_and_the_privacy_change() -> None:
    result, explained = example_explained("acme_v1.yaml", "acme_v2.yaml")
    refund = flip(explained, "ex-refund")
    assert (refund["base_rule"], refund["cand_rule"]) == ("support-billing", "support-billing-faq")
    assert refund["primary"] == "rules:moved:support-billing-faq"
    crm = flip(explained, "ex-sales-crm")
    assert crm["primary"] == "policies:changed:privacy"
    assert "rules:changed:sales-crm" in crm["causes"]  # the lane's cheaper model is involved too
    faq = result.find("rules", "support-billing-faq", "moved")
    assert faq is not None
    assert "ex-refund" in faq.examples
    assert faq.shared.cost_delta_usd < 0  # the FAQ lane is the cheap one
    assert result.unexplained.flips == 0


def test_acme_v2_to_v3_credits_the_fix_to_the_same_changes() -> None:
    _, explained = example_explained("acme_v2.yaml", "acme_v3.yaml")
    assert set(explained["request_id"]) == {"ex-refund", "ex-billing-escalation", "ex-sales-crm"}
    refund = flip(explained, "ex-refund")
    assert refund["primary"] == "rules:moved:support-billing-faq"
    assert refund["roles"][0] == "base_rule"
    assert flip(explained, "ex-sales-crm")["primary"] == "policies:changed:privacy"
