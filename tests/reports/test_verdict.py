"""The verdict rules, one at a time, on edits of the demo bundle: a neutral bundle ships, each caveat alone
gives "ship with caveats", and a failed gate condition gives "do not ship" whatever else holds."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from routelab.reports.formatting import Num, plain
from routelab.reports.risks import risks
from routelab.reports.verdict import CAVEATS, LATEST_WINDOWS, MIN_LABEL_COVERAGE, decide

from .builders import no_breaches, set_breaches

PASSED = {"name": "cost-up", "condition": "cost.delta_pct.value > 0", "description": None, "holds": False,
          "undetermined": False, "values": {"cost.delta_pct.value": -45.6}}  # fmt: skip


@pytest.fixture
def neutral(bundle: dict[str, Any]) -> dict[str, Any]:
    """The demo bundle edited so no caveat applies and a one-condition gate passed: it ships."""
    b = copy.deepcopy(bundle)
    compare = b["compare"]
    compare["gate"] = {**compare["gate"], "passed": True, "failures": [], "checked": [dict(PASSED)]}
    b["drift"]["alarms"] = []
    for rows in compare["slices"]["by"].values():
        for row in rows:
            row["significant"] = False
    meta = b["meta"]
    b["policy"][meta["candidate"]] = dict(b["policy"][meta["base"]])
    changes = compare["attribution"]["changes"]
    compare["attribution"]["changes"] = [c for c in changes if c["change"]["section"] != "policies"]
    return no_breaches(b)


def _new_breach(b: dict[str, Any]) -> None:
    set_breaches(b, "privacy", 0, 3, ci=(-0.0004, 0.0011), p=0.25)  # not significant, but new


def _latest_alarm(b: dict[str, Any]) -> None:
    latest = b["drift"]["windows"][-1]["window"]["label"]
    b["drift"]["alarms"] = [
        {"window": latest, "slice_field": "workflow", "slice_value": "support", "p_adjusted": 0.001}
    ]


def _unclear_accuracy_dearer(b: dict[str, Any]) -> None:
    b["compare"]["accuracy"]["delta"].update(value=-0.004, ci_low=-0.02, ci_high=0.012, p_value=0.6)
    b["compare"]["cost"]["delta"].update(value=3.2, ci_low=1.0, ci_high=5.5)


def _slice_drop(b: dict[str, Any]) -> None:
    row = b["compare"]["slices"]["by"]["workflow"][0]
    row["significant"] = True
    row["accuracy"]["delta"]["value"] = -0.12


def _privacy_flags(b: dict[str, Any]) -> None:
    meta = b["meta"]
    b["policy"][meta["base"]]["privacy"] = 10
    b["policy"][meta["candidate"]]["privacy"] = 25


def _policy_changed(b: dict[str, Any]) -> None:
    b["compare"]["attribution"]["changes"].append(
        {
            "change": {"section": "policies", "item": "privacy", "change": "changed", "fields": ["when"]},
            "affects_routing": True,
            "shared": {
                "flips": 40,
                "cost_delta_usd": -1.0,
                "labelled": 20,
                "fixed": 0,
                "broken": 9,
                "net": -9,
            },
        }
    )


def _low_coverage(b: dict[str, Any]) -> None:
    for row in b["labels"]["coverage"]:
        row["labelled"] = int(row["requests"] * (MIN_LABEL_COVERAGE / 2))


def _undetermined(b: dict[str, Any]) -> None:
    b["compare"]["gate"]["checked"][0].update(undetermined=True, values={"cost.delta_pct.value": None})


def _no_gate(b: dict[str, Any]) -> None:
    b["compare"]["gate"] = {**b["compare"]["gate"], "checked": [], "failures": [], "passed": True}


EDITS: dict[str, Callable[[dict[str, Any]], None]] = {
    "compliance-breach": _new_breach,
    "silent-failure": _latest_alarm,
    "accuracy-unclear-cost-up": _unclear_accuracy_dearer,
    "slice-drop": _slice_drop,
    "privacy-flags": _privacy_flags,
    "policy-changed": _policy_changed,
    "low-label-coverage": _low_coverage,
    "gate-undetermined": _undetermined,
    "no-gate": _no_gate,
}


def test_every_caveat_rule_has_a_case() -> None:
    assert set(EDITS) == {rule for rule, _ in CAVEATS}


def test_a_passed_gate_without_caveats_ships(neutral: dict[str, Any]) -> None:
    verdict = decide(neutral)
    assert verdict.decision == "ship"
    assert verdict.exit_code == 0
    assert [plain(r.text) for r in verdict.reasons] == [
        "All 1 gate condition(s) passed and no caveat applies."
    ]


@pytest.mark.parametrize("rule", list(EDITS))
def test_each_caveat_alone_gives_ship_with_caveats(neutral: dict[str, Any], rule: str) -> None:
    EDITS[rule](neutral)
    verdict = decide(neutral)
    assert verdict.decision == "ship with caveats"
    assert verdict.exit_code == 0
    assert [c.rule for c in verdict.caveats] == [rule]
    assert verdict.reasons == verdict.caveats


def test_an_alarm_outside_the_latest_windows_is_no_caveat(neutral: dict[str, Any]) -> None:
    old = neutral["drift"]["windows"][-(LATEST_WINDOWS + 1)]["window"]["label"]
    neutral["drift"]["alarms"] = [
        {"window": old, "slice_field": "team", "slice_value": "x", "p_adjusted": 0.01}
    ]
    assert decide(neutral).decision == "ship"


def test_a_clear_accuracy_change_with_higher_cost_is_no_caveat(neutral: dict[str, Any]) -> None:
    _unclear_accuracy_dearer(neutral)
    neutral["compare"]["accuracy"]["delta"].update(value=0.03, ci_low=0.01, ci_high=0.05)
    assert decide(neutral).decision == "ship"


def test_fewer_privacy_flags_are_no_caveat(neutral: dict[str, Any]) -> None:
    meta = neutral["meta"]
    neutral["policy"][meta["base"]]["privacy"] = 25
    neutral["policy"][meta["candidate"]]["privacy"] = 10
    assert decide(neutral).decision == "ship"


#: (base, candidate, paired 95 % interval, McNemar p, flagged) of one breach kind.
BREACH_CASES = {
    "new-where-none": (0, 3, (-0.0004, 0.0011), 0.25, True),
    "significant-rise": (40, 90, (0.0015, 0.0035), 1e-6, True),
    "rise-by-the-test-only": (40, 60, (-0.0001, 0.002), 0.03, True),
    "rise-within-chance": (40, 44, (-0.0003, 0.0007), 0.5, False),
    "fall": (40, 10, (-0.002, -0.001), 1e-5, False),
    "none-either": (0, 0, (-0.0002, 0.0002), 1.0, False),
}


@pytest.mark.parametrize("kind", ["privacy", "residency"])
@pytest.mark.parametrize("case", list(BREACH_CASES))
def test_a_candidate_that_adds_breaches_is_flagged_and_only_then(
    neutral: dict[str, Any], kind: str, case: str
) -> None:
    base, cand, ci, p, flagged = BREACH_CASES[case]
    set_breaches(neutral, kind, base, cand, ci=ci, p=p)
    verdict = decide(neutral)
    first = [plain(r) for r in risks(neutral)][:1]
    if not flagged:
        assert verdict.decision == "ship"
        assert not [r for r in first if "breaches added" in r]
        return
    assert verdict.decision == "ship with caveats"
    (caveat,) = verdict.caveats
    assert caveat.rule == "compliance-breach"
    text = plain(caveat.text)
    assert f"({kind} breaches) rise from {base:,} to {cand:,} decisions" in text
    assert first[0].startswith(f"{kind.capitalize()} breaches added: {max(cand - base, 0):,} requests")


def test_both_kinds_added_are_named_in_one_caveat_and_two_risks(neutral: dict[str, Any]) -> None:
    set_breaches(neutral, "privacy", 0, 12, ci=(0.0001, 0.002), p=0.001)
    set_breaches(neutral, "residency", 2, 30, ci=(0.0008, 0.003), p=1e-5)
    (caveat,) = decide(neutral).caveats
    assert "(privacy breaches)" in plain(caveat.text)
    assert "(residency breaches)" in plain(caveat.text)
    assert [plain(r).split(":")[0] for r in risks(neutral)[:2]] == [
        "Privacy breaches added",
        "Residency breaches added",
    ]


def test_a_bundle_from_before_the_compliance_key_reads_the_comparisons(neutral: dict[str, Any]) -> None:
    set_breaches(neutral, "privacy", 0, 5, ci=(0.0001, 0.0006), p=0.03)
    del neutral["compliance"]
    (caveat,) = decide(neutral).caveats
    assert caveat.rule == "compliance-breach"
    paths = {part.path for part in caveat.text if isinstance(part, Num)}
    assert "compare.compliance.candidate.privacy.count" in paths


def test_a_failed_condition_does_not_ship_and_names_it(bundle: dict[str, Any]) -> None:
    verdict = decide(bundle)
    assert verdict.decision == "do not ship"
    assert verdict.exit_code == 1
    (reason,) = verdict.reasons
    assert reason.rule == "gate"
    assert "accuracy.delta.ci_high < 0 holds" in plain(reason.text)
    assert {"slice-drop", "policy-changed"} <= {c.rule for c in verdict.caveats}


def test_a_failure_outranks_every_caveat(neutral: dict[str, Any]) -> None:
    for edit in EDITS.values():
        if edit is not _no_gate:
            edit(neutral)
    failed = {**PASSED, "name": "latency", "condition": "latency.p95.delta.value > 0", "holds": True}
    neutral["compare"]["gate"].update(passed=False, failures=[failed], checked=[failed])
    verdict = decide(neutral)
    assert verdict.decision == "do not ship"
    assert plain(verdict.reasons[0].text).startswith(
        "Gate condition latency: latency.p95.delta.value > 0 holds"
    )
    assert len(verdict.caveats) == len(EDITS) - 2  # neither no-gate nor gate-undetermined
