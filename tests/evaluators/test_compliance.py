"""The compliance evaluator: the privacy and residency rules, PII sources, counts, periods, pairing."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from routelab.evaluators import compliance_flags
from routelab.evaluators.compliance import compare_compliance, compliance, flag_breaches
from routelab.evaluators.compliance_types import ComplianceRules
from routelab.evaluators.errors import EvaluatorError, UnknownOptionError
from routelab.evaluators.frames import FrameError
from routelab.evaluators.registry import get_evaluator
from routelab.router_core.config import LatencyProfile, ModelSpec
from routelab.router_core.pii import PiiType

MODELS: dict[str, Any] = {
    "ext-us": ("external", ("us",)),
    "ext-eu": ("external", ("eu",)),
    "ext-any": ("external", ()),
    "priv": ("private", ("us", "eu")),
}
EMAIL = "please write to jane.doe@example.com today"
PHONE = "call me on +44 20 7946 0958 please"


def make_request(rid: str, **fields: Any) -> dict[str, Any]:
    """A request row: internal, us, a harmless prompt, a timestamp and a workflow unless given."""
    return {
        "request_id": rid,
        "data_class": "internal",
        "region": "us",
        "prompt": "how do I rotate a log file?",
        "ts": pd.Timestamp("2026-09-07 10:00"),
        "workflow": "support",
        **fields,
    }


def make_decision(rid: str, **fields: Any) -> dict[str, Any]:
    """A decision row: model priv, action allow, no fallbacks, no escalation unless given."""
    return {
        "request_id": rid,
        "router": "r@1",
        "model": "priv",
        "action": "allow",
        "fallbacks": [],
        "escalation": "none",
        **fields,
    }


def frames(rows: list[tuple[dict[str, Any], dict[str, Any]]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(decisions, requests) from (request fields, decision fields) pairs, ids r000, r001, ..."""
    reqs = [make_request(f"r{i:03d}", **r) for i, (r, _) in enumerate(rows)]
    decs = [make_decision(f"r{i:03d}", **d) for i, (_, d) in enumerate(rows)]
    return pd.DataFrame(decs), pd.DataFrame(reqs)


# --- the rules, one decision at a time ----------------------------------------------------------------------

# (id, request fields, decision fields, privacy, residency)
RULE_CASES: list[tuple[str, dict[str, Any], dict[str, Any], bool, bool]] = [
    ("confidential-to-external", {"data_class": "confidential"}, {"model": "ext-us"}, True, False),
    ("class-case-insensitive", {"data_class": " Confidential "}, {"model": "ext-us"}, True, False),
    ("restricted-to-external", {"data_class": "restricted"}, {"model": "ext-any"}, True, False),
    ("internal-to-external", {}, {"model": "ext-us"}, False, False),
    ("confidential-to-private", {"data_class": "confidential"}, {"model": "priv"}, False, False),
    (
        "confidential-blocked",
        {"data_class": "confidential"},
        {"model": None, "action": "block"},
        False,
        False,
    ),
    ("pii-in-prompt-to-external", {"prompt": EMAIL}, {"model": "ext-us"}, True, False),
    ("pii-redacted-by-the-router", {"prompt": EMAIL}, {"model": "ext-us", "action": "redact"}, False, False),
    (
        "redact-keeps-the-data-class",
        {"data_class": "confidential", "prompt": EMAIL},
        {"model": "ext-us", "action": "redact"},
        True,
        False,
    ),
    (
        "redacted-import-keeps-its-types",
        {"prompt": "write to [email]", "attrs.pii_types": "email"},
        {"model": "ext-us"},
        True,
        False,
    ),
    ("redacted-import-without-pii", {"attrs.pii_types": ""}, {"model": "ext-us"}, False, False),
    ("missing-prompt", {"prompt": None}, {"model": "ext-us"}, False, False),
    (
        "external-fallback",
        {"data_class": "confidential"},
        {"model": "priv", "fallbacks": ["ext-us"]},
        True,
        False,
    ),
    (
        "external-escalation",
        {"data_class": "confidential"},
        {"model": "priv", "escalation": "model:ext-any"},
        True,
        False,
    ),
    (
        "human-review-is-no-model",
        {"data_class": "confidential"},
        {"escalation": "human_review"},
        False,
        False,
    ),
    ("eu-to-us-model", {"region": "eu"}, {"model": "ext-us"}, False, True),
    ("region-case-insensitive", {"region": "EU"}, {"model": "ext-eu"}, False, False),
    ("model-without-regions-serves-any", {"region": "eu"}, {"model": "ext-any"}, False, False),
    ("no-region", {"region": None}, {"model": "ext-eu"}, False, False),
    ("empty-region", {"region": ""}, {"model": "ext-eu"}, False, False),
    ("eu-blocked", {"region": "eu"}, {"model": None, "action": "block"}, False, False),
    ("eu-us-fallback", {"region": "eu"}, {"model": "priv", "fallbacks": ["ext-us"]}, False, True),
    ("both", {"region": "eu", "data_class": "confidential"}, {"model": "ext-us"}, True, True),
]


@pytest.mark.parametrize(
    ("request_fields", "decision_fields", "privacy", "residency"),
    [c[1:] for c in RULE_CASES],
    ids=[c[0] for c in RULE_CASES],
)
def test_rule(
    request_fields: dict[str, Any], decision_fields: dict[str, Any], privacy: bool, residency: bool
) -> None:
    decisions, requests = frames([(request_fields, decision_fields)])
    row = flag_breaches(decisions, requests, MODELS).frame.iloc[0]
    assert (row["privacy"], row["residency"], row["any"]) == (privacy, residency, privacy or residency)


def test_fallbacks_and_escalations_can_be_left_out() -> None:
    decisions, requests = frames(
        [
            ({"data_class": "confidential"}, {"fallbacks": ["ext-us"]}),
            ({"region": "eu"}, {"escalation": "model:ext-us"}),
        ]
    )
    flags = flag_breaches(decisions, requests, MODELS, rules=ComplianceRules(check_fallbacks=False))
    assert not flags.frame["any"].any()


def test_causes_name_the_class_and_each_pii_type_and_the_models_reached() -> None:
    decisions, requests = frames(
        [({"data_class": "confidential", "prompt": f"{EMAIL} or {PHONE}"}, {"model": "ext-us"})]
    )
    row = flag_breaches(decisions, requests, MODELS).frame.iloc[0]
    assert row["causes"] == ("data_class:confidential", "pii:email", "pii:phone")
    assert row["privacy_models"] == ("ext-us",)


def test_sensitive_classes_and_pii_types_are_configurable() -> None:
    decisions, requests = frames(
        [
            ({"data_class": "internal"}, {"model": "ext-us"}),
            ({"data_class": "public", "prompt": PHONE}, {"model": "ext-us"}),
        ]
    )
    rules = ComplianceRules(sensitive_classes=("internal",), pii_types=(PiiType.EMAIL,))
    assert flag_breaches(decisions, requests, MODELS, rules=rules).frame["privacy"].tolist() == [True, False]


def test_model_specs_and_pairs_give_the_same_flags() -> None:
    latency = LatencyProfile(p50_ms=1, p95_ms=2, output_tokens_per_s=3)
    specs = {
        m: ModelSpec(id=m, tier="small", boundary=b, regions=r, context_window=10, latency=latency)
        for m, (b, r) in MODELS.items()
    }
    decisions, requests = frames([({"region": "eu", "data_class": "confidential"}, {"model": "ext-us"})])
    by_spec = flag_breaches(decisions, requests, specs).frame
    pd.testing.assert_frame_equal(by_spec, flag_breaches(decisions, requests, MODELS).frame)


# --- where the PII comes from -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "privacy", "causes"),
    [
        (True, True, ("pii:pii",)),
        (False, False, ()),
        ("email,phone", True, ("pii:email", "pii:phone")),
        ("", False, ()),
        (None, False, ()),
        ("passport", True, ("pii:passport",)),  # unknown names count: a compliance check errs to flagging
    ],
    ids=["true", "false", "names", "empty", "missing", "unknown-name"],
)
def test_a_pii_types_column_replaces_the_scan(value: object, privacy: bool, causes: tuple[str, ...]) -> None:
    decisions, requests = frames([({"prompt": EMAIL, "pii_types": value}, {"model": "ext-us"})])
    flags = flag_breaches(decisions, requests, MODELS)
    assert flags.pii_source == "column"
    assert (flags.frame.at[0, "privacy"], flags.frame.at[0, "causes"]) == (privacy, causes)


def test_an_unreadable_pii_types_value_names_the_request() -> None:
    decisions, requests = frames([({"pii_types": 3}, {"model": "ext-us"})])
    with pytest.raises(FrameError, match="pii_types of r000"):
        flag_breaches(decisions, requests, MODELS)


def test_without_prompt_or_pii_column_pii_is_not_checked_and_a_warning_says_so() -> None:
    decisions, requests = frames([({"data_class": "confidential"}, {"model": "ext-us"})])
    flags = flag_breaches(decisions, requests.drop(columns=["prompt"]), MODELS)
    assert flags.pii_source == "none"
    assert flags.frame.at[0, "privacy"]  # the data class still counts
    assert "PII was not checked" in flags.warnings[0]


def test_each_distinct_prompt_is_scanned_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = compliance_flags.has_pii

    def counting(text: str | None, pii_type: PiiType) -> bool:
        calls.append(str(text))
        return real(text, pii_type)

    monkeypatch.setattr(compliance_flags, "has_pii", counting)
    decisions, requests = frames([({"prompt": EMAIL}, {})] * 50 + [({}, {})] * 50)
    flags = flag_breaches(decisions, requests, MODELS)
    assert int(flags.frame["sensitive"].sum()) == 50
    assert set(calls) == {EMAIL}  # the harmless prompt never got past the guard regex
    assert len(calls) == len(PiiType)


# --- counts, periods, slices --------------------------------------------------------------------------------


def test_counts_rates_examples_periods_and_slices() -> None:
    week1, week2 = pd.Timestamp("2026-09-07 09:00"), pd.Timestamp("2026-09-15 09:00")
    rows = [
        ({"data_class": "confidential", "ts": week1, "workflow": "sales"}, {"model": "ext-us"}),
        ({"data_class": "confidential", "ts": week2, "workflow": "sales"}, {"model": "ext-us"}),
        ({"data_class": "confidential", "ts": week2, "workflow": "sales"}, {"model": "priv"}),
        ({"region": "eu", "ts": week2, "workflow": None}, {"model": "ext-us"}),
        ({"ts": None, "workflow": "coding"}, {"model": "ext-us"}),
    ]
    decisions, requests = frames(rows)
    result = compliance(decisions, requests, MODELS, examples=1)
    t = result.totals
    assert (t.n, t.n_sensitive, t.n_regional) == (5, 3, 5)
    assert (t.privacy.count, t.residency.count, t.any.count) == (2, 1, 3)
    assert t.privacy.examples == ("r000",)
    assert t.privacy.rate.value == pytest.approx(2 / 5)
    assert t.privacy.rate_at_risk.value == pytest.approx(2 / 3)
    for b in (t.privacy, t.residency, t.any):
        assert b.rate.ci_low <= b.rate.value <= b.rate.ci_high
    assert [(p.period, p.n, p.privacy.count, p.residency.count) for p in result.periods] == [
        ("2026-W37", 1, 1, 0),
        ("2026-W38", 3, 1, 1),
    ]
    assert result.n_undated == 1
    assert [(s.value, s.any.count) for s in result.slices["workflow"]] == [
        ("sales", 2),
        ("(missing)", 1),
        ("coding", 0),
    ]
    assert result.causes == {"data_class:confidential": 2}
    assert [(m.model, m.privacy, m.residency) for m in result.models] == [("ext-us", 2, 1)]
    assert result.params.version == result.version == "r@1"
    assert result.evaluator == "compliance"


def test_by_day_and_no_timeline() -> None:
    decisions, requests = frames(
        [({"ts": pd.Timestamp("2026-09-07 23:00")}, {}), ({"ts": pd.Timestamp("2026-09-08 01:00")}, {})]
    )
    assert [p.period for p in compliance(decisions, requests, MODELS, by_period="day").periods] == [
        "2026-09-07",
        "2026-09-08",
    ]
    no_ts = requests.drop(columns=["ts"])
    assert compliance(decisions, no_ts, MODELS, by_period=None).periods == ()


def test_inputs_are_not_mutated() -> None:
    decisions, requests = frames([({"data_class": "confidential"}, {"model": "ext-us"})] * 3)
    before = (decisions.copy(deep=True), requests.copy(deep=True))
    compliance(decisions, requests, MODELS)
    pd.testing.assert_frame_equal(decisions, before[0])
    pd.testing.assert_frame_equal(requests, before[1])


def test_the_registered_evaluator_is_this_function() -> None:
    assert get_evaluator("compliance").function is compliance


# --- bad input ----------------------------------------------------------------------------------------------


def test_bad_input_is_named() -> None:
    decisions, requests = frames([({}, {"model": "nope"})])
    with pytest.raises(EvaluatorError, match=r"model 'nope'.*known: ext-any, ext-eu, ext-us, priv"):
        flag_breaches(decisions, requests, MODELS)
    with pytest.raises(FrameError, match="missing column"):
        flag_breaches(decisions.drop(columns=["action"]), requests, MODELS)
    with pytest.raises(FrameError, match="not in requests"):
        flag_breaches(decisions, requests.iloc[:0], MODELS)
    two = pd.concat([decisions, decisions.assign(request_id="r9", router="r@2")])
    with pytest.raises(EvaluatorError, match="2 versions"):
        flag_breaches(two, requests, MODELS)
    with pytest.raises(UnknownOptionError, match="by_period"):
        compliance(decisions, requests, {"nope": ("private", ())}, by_period="month")  # type: ignore[arg-type]
    with pytest.raises(EvaluatorError, match="examples"):
        compliance(decisions, requests, {"nope": ("private", ())}, examples=-1)


# --- two versions -------------------------------------------------------------------------------------------


def test_compare_counts_introduced_and_resolved_breaches() -> None:
    rows = [({"data_class": "confidential"}, {})] * 4
    decisions, requests = frames(rows)
    cand = decisions.assign(router="r@2", model=["ext-us", "ext-us", "ext-us", "priv"])
    base = decisions.assign(model=["ext-us", "priv", "priv", "priv"])
    result = compare_compliance(
        flag_breaches(base, requests, MODELS), flag_breaches(cand, requests, MODELS), examples=5
    )
    d = result.delta["privacy"]
    assert (result.baseline.privacy.count, result.candidate.privacy.count) == (1, 3)
    assert (d.count, d.introduced, d.resolved, d.examples) == (2, 2, 0, ("r001", "r002"))
    assert d.rate.value == pytest.approx(2 / 4)
    assert d.rate.ci_low <= d.rate.value <= d.rate.ci_high
    assert (result.baseline_version, result.candidate_version, result.n_paired) == ("r@1", "r@2", 4)


def test_compare_refuses_flags_under_different_rules() -> None:
    decisions, requests = frames([({}, {})])
    strict = ComplianceRules(sensitive_classes=("internal",))
    with pytest.raises(EvaluatorError, match="different rules"):
        compare_compliance(
            flag_breaches(decisions, requests, MODELS),
            flag_breaches(decisions, requests, MODELS, rules=strict),
        )


# --- invariants ---------------------------------------------------------------------------------------------

ROW = st.tuples(
    st.fixed_dictionaries(
        {
            "data_class": st.sampled_from(["internal", "confidential", None]),
            "region": st.sampled_from(["us", "eu", "apac", None]),
            "prompt": st.sampled_from(["hello", EMAIL, None]),
            "ts": st.sampled_from([pd.Timestamp("2026-09-07"), pd.Timestamp("2026-09-21"), None]),
            "workflow": st.sampled_from(["sales", "support", None]),
        }
    ),
    st.fixed_dictionaries(
        {
            "model": st.sampled_from(sorted(MODELS)),
            "action": st.sampled_from(["allow", "reroute", "redact", "block"]),
            "fallbacks": st.lists(st.sampled_from(sorted(MODELS)), max_size=2),
        }
    ),
)


@settings(max_examples=40)
@given(st.lists(ROW, min_size=1, max_size=25))
def test_counts_add_up(rows: list[tuple[dict[str, Any], dict[str, Any]]]) -> None:
    decisions, requests = frames(rows)
    result = compliance(decisions, requests, MODELS)
    t = result.totals
    flags = flag_breaches(decisions, requests, MODELS).frame
    assert t.any.count == int((flags["privacy"] | flags["residency"]).sum())
    assert max(t.privacy.count, t.residency.count) <= t.any.count <= t.privacy.count + t.residency.count
    assert sum(p.n for p in result.periods) + result.n_undated == t.n
    assert sum(p.any.count for p in result.periods) <= t.any.count
    assert sum(s.n for s in result.slices["workflow"]) == t.n
    assert sum(s.privacy.count for s in result.slices["workflow"]) == t.privacy.count
    assert not (flags["blocked"] & flags["any"]).any()
    assert t.privacy.count <= t.n_sensitive
    assert t.residency.count <= t.n_regional
