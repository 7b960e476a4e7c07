"""The verdict on the first page: ship, ship with caveats, or do not ship, with its reasons.

**Rule.** Any gate condition that holds (``compare.gate.failures``) → *do not ship*; the reasons are the
failed conditions, by name and text, with the values they read. Otherwise (the gate passed, or none was
given) → *ship with caveats* when at least one caveat below applies, else *ship*.

**Caveats** (rule id: when it applies):

- ``compliance-breach``: the candidate adds privacy or residency breaches (the compliance evaluator's rules,
  recorded in the bundle): for a kind, the paired change of its breach rate is positive and significant
  (the 95 % interval lies above 0, or McNemar's p < ``ALPHA``), or the candidate breaches at all where the
  base never did. Read from ``compliance`` (else ``compare.compliance``); absent from a bundle, no caveat.
- ``silent-failure``: the drift evaluator raised a silent-failure alarm on the candidate in one of its
  latest ``LATEST_WINDOWS`` windows (an older alarm may be fixed; a recent one is live).
- ``accuracy-unclear-cost-up``: the 95 % interval of the accuracy delta includes 0 while the cost delta is
  positive: paying more for a change in accuracy the data cannot tell from none.
- ``slice-drop``: a slice of the comparison is significant after Benjamini–Hochberg with a negative
  accuracy delta (a local regression the overall number can hide).
- ``privacy-flags``: a privacy or residency policy flagged more decisions under the candidate than under the
  base. The bundle names policies by id, not kind: an id counts when it matches ``PRIVACY_FLAGS``.
- ``policy-changed``: a policy itself changed between the versions and the change moved requests
  (attribution section ``policies``): guardrails deserve a human look whatever the gate says.
- ``low-label-coverage``: under ``MIN_LABEL_COVERAGE`` of the requests carry a label or an annotation, so
  accuracy rests on few labels.
- ``gate-undetermined``: a gate condition read null, so its outcome was unknown and counted as passing.
- ``no-gate``: no gate condition was given: the verdict rests on these default caveats alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from routelab.reports.formatting import Text, derived, interval, lookup, missing, num, path

Decision = Literal["ship", "ship with caveats", "do not ship"]

#: Alarms in this many of the candidate's most recent drift windows are live.
LATEST_WINDOWS = 2
#: Below this share of labelled requests, accuracy rests on too few labels.
MIN_LABEL_COVERAGE = 0.10
#: Policy ids counted as privacy or residency policies.
PRIVACY_FLAGS = re.compile(r"privacy|residen|region|pii|gdpr|sovereign", re.IGNORECASE)
#: Items named in one caveat before "and N more".
LISTED = 3
#: Significance level of the paired breach test (and of the report's wording).
ALPHA = 0.05
#: The breach kinds a candidate must not add, and what each means in words.
BREACH_KINDS = {
    "privacy": "a sensitive request that may reach a model outside the private boundary",
    "residency": "a request that may reach a model outside its region",
}
#: How the verdict names the decisions of each kind (a plural noun phrase that carries the meaning).
BREACH_SUBJECTS = {
    "privacy": "Sensitive requests that may reach a model outside the private boundary (privacy breaches)",
    "residency": "Requests that may reach a model outside their region (residency breaches)",
}


class Finding(BaseModel):
    """One reason or caveat: the rule that produced it and its text."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rule: str = Field(description="The rule id (module docstring), or `gate` for a failed condition.")
    text: Text = Field(description="What it says, numbers marked with their bundle paths.")


class Verdict(BaseModel):
    """What the first page says, and why."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    decision: Decision = Field(description="ship, ship with caveats, or do not ship.")
    failures: tuple[Finding, ...] = Field(description="Gate conditions that hold.")
    caveats: tuple[Finding, ...] = Field(description="Caveats that apply, in the module docstring's order.")
    gate_conditions: int = Field(description="Gate conditions checked (0: no gate).")

    @property
    def reasons(self) -> tuple[Finding, ...]:
        """Why: the failures (do not ship), the caveats (ship with caveats), or the passed gate (ship)."""
        if self.failures:
            return self.failures
        if self.caveats:
            return self.caveats
        n = self.gate_conditions
        return (Finding(rule="gate", text=(f"All {n} gate condition(s) passed and no caveat applies.",)),)

    @property
    def exit_code(self) -> int:
        """1 for do not ship (so CI can gate on the report), else 0."""
        return 1 if self.decision == "do not ship" else 0


def _gate(bundle: Mapping[str, Any]) -> Mapping[str, Any]:
    return bundle["compare"].get("gate") or {}


def _more(count: int) -> str:
    return f", and {count - LISTED} more" if count > LISTED else ""


def _failures(bundle: Mapping[str, Any]) -> list[Finding]:
    out = []
    for i, failure in enumerate(_gate(bundle).get("failures") or []):
        text: list[Any] = ["Gate condition "]
        if failure.get("name"):
            text += [failure["name"], ": "]
        text += [failure["condition"], " holds"]
        read = [
            (key, num(bundle, path("compare", "gate", "failures", i, "values", key), "num"))
            for key in failure.get("values") or {}
        ]
        for j, (key, value) in enumerate(read):
            text += [" (" if j == 0 else ", ", f"{key} = ", value]
        text += [")" if read else "", "."]
        out.append(Finding(rule="gate", text=tuple(text)))
    return out


def compliance_paths(bundle: Mapping[str, Any]) -> dict[str, str] | None:
    """Bundle paths of both versions' breach totals and of the paired deltas, or None without them.

    Keys `base`, `candidate` (a `ComplianceCounts` each) and `delta` (kind → `ComplianceDelta`); read from
    the bundle's `compliance` key, else from the comparison's.
    """
    doc = bundle.get("compliance")
    if isinstance(doc, Mapping) and all(
        isinstance(doc.get(k), Mapping) for k in ("base", "candidate", "delta")
    ):
        return {
            "base": "compliance.base.totals",
            "candidate": "compliance.candidate.totals",
            "delta": "compliance.delta",
        }
    doc = bundle["compare"].get("compliance")
    if isinstance(doc, Mapping) and all(
        isinstance(doc.get(k), Mapping) for k in ("baseline", "candidate", "delta")
    ):
        return {
            "base": "compare.compliance.baseline",
            "candidate": "compare.compliance.candidate",
            "delta": "compare.compliance.delta",
        }
    return None


def added_breaches(bundle: Mapping[str, Any]) -> list[str]:
    """The breach kinds the candidate adds (rule ``compliance-breach``), in `BREACH_KINDS` order."""
    at = compliance_paths(bundle)
    if at is None:
        return []
    out = []
    for kind in BREACH_KINDS:
        base = lookup(bundle, f"{at['base']}.{kind}.count")
        cand = lookup(bundle, f"{at['candidate']}.{kind}.count")
        rate = lookup(bundle, f"{at['delta']}.{kind}.rate")
        value, low, p = rate.get("value"), rate.get("ci_low"), rate.get("p_value")
        rises = not missing(value) and value > 0
        significant = rises and ((not missing(low) and low > 0) or (not missing(p) and p < ALPHA))
        if significant or (cand > 0 and base == 0):
            out.append(kind)
    return out


def _compliance_breach(bundle: Mapping[str, Any]) -> Text | None:
    kinds = added_breaches(bundle)
    at = compliance_paths(bundle)
    if not kinds or at is None:
        return None
    text: list[Any] = []
    for kind in kinds:
        d = f"{at['delta']}.{kind}"
        text += [
            " " if text else "",
            f"{BREACH_SUBJECTS[kind]} rise from ",
            num(bundle, f"{at['base']}.{kind}.count", "count"),
            " to ",
            num(bundle, f"{at['candidate']}.{kind}.count", "count"),
            " decisions (paired change ",
            num(bundle, f"{d}.rate.value", "points", True),
            ", ",
            *interval(bundle, f"{d}.rate", "points"),
            ", p = ",
            num(bundle, f"{d}.rate.p_value", "p"),
            ").",
        ]
    return tuple(text)


def _silent_failure(bundle: Mapping[str, Any]) -> Text | None:
    drift = bundle["drift"]
    labels = [w["window"]["label"] for w in drift.get("windows") or []]
    latest = labels[-LATEST_WINDOWS:]
    live = [(i, a) for i, a in enumerate(drift.get("alarms") or []) if a["window"] in latest]
    if not live:
        return None
    text: list[Any] = [derived(len(live), "count"), " silent-failure alarm(s) in the latest window(s) "]
    text += [", ".join(latest), ": "]
    for k, (i, alarm) in enumerate(live[:LISTED]):
        where = f"{alarm['slice_field']} = {alarm['slice_value']} in {alarm['window']}"
        p = num(bundle, path("drift", "alarms", i, "p_adjusted"), "p")
        text += ["; " if k else "", where, " (adjusted p = ", p, ")"]
    return (*text, _more(len(live)), ".")


def _accuracy_unclear_cost_up(bundle: Mapping[str, Any]) -> Text | None:
    acc, cost = bundle["compare"]["accuracy"]["delta"], bundle["compare"]["cost"]["delta"]
    if missing(acc.get("value")) or missing(cost.get("value")) or not cost["value"] > 0:
        return None
    if not acc["ci_low"] <= 0 <= acc["ci_high"]:
        return None
    return (
        "Cost rises by ",
        num(bundle, "compare.cost.delta.value", "usd", signed=True),
        " (",
        *interval(bundle, "compare.cost.delta", "usd"),
        ") while the accuracy change, ",
        num(bundle, "compare.accuracy.delta.value", "points", signed=True),
        ", cannot be told from none (",
        *interval(bundle, "compare.accuracy.delta", "points"),
        ").",
    )


def _slice_drop(bundle: Mapping[str, Any]) -> Text | None:
    slices = bundle["compare"].get("slices") or {}
    drops = [
        (field, i, row)
        for field, rows in (slices.get("by") or {}).items()
        for i, row in enumerate(rows)
        if row.get("significant") and (row["accuracy"]["delta"].get("value") or 0) < 0
    ]
    if not drops:
        return None
    text: list[Any] = ["Accuracy drops significantly (Benjamini–Hochberg) in ", derived(len(drops), "count")]
    text.append(" slice(s): ")
    for k, (field, i, row) in enumerate(drops[:LISTED]):
        delta = num(bundle, path("compare", "slices", "by", field, i, "accuracy", "delta", "value"), "points")
        text += ["; " if k else "", f"{field} = {row['value']} ", delta]
    return (*text, _more(len(drops)), ".")


def _privacy_flags(bundle: Mapping[str, Any]) -> Text | None:
    policy, meta = bundle["policy"], bundle["meta"]
    base, cand = policy.get(meta["base"]) or {}, policy.get(meta["candidate"]) or {}
    rising = sorted(f for f in cand if PRIVACY_FLAGS.search(f) and cand[f] > base.get(f, 0))
    if not rising:
        return None
    text: list[Any] = ["Privacy or residency policies flag more decisions under the candidate: "]
    for k, flag in enumerate(rising):
        before = (
            num(bundle, path("policy", meta["base"], flag), "count") if flag in base else derived(0, "count")
        )
        text += [
            "; " if k else "",
            f"{flag} ",
            before,
            " → ",
            num(bundle, path("policy", meta["candidate"], flag), "count"),
        ]
    return (*text, ".")


def _policy_changed(bundle: Mapping[str, Any]) -> Text | None:
    changes = (bundle["compare"].get("attribution") or {}).get("changes") or []
    moved = [
        (i, c) for i, c in enumerate(changes) if c["change"]["section"] == "policies" and c["shared"]["flips"]
    ]
    if not moved:
        return None
    text: list[Any] = ["A policy changed between the versions and moved requests: "]
    for k, (i, change) in enumerate(moved[:LISTED]):
        fields = ", ".join(change["change"].get("fields") or []) or change["change"]["change"]
        flips = num(bundle, path("compare", "attribution", "changes", i, "shared", "flips"), "count")
        text += ["; " if k else "", f"{change['change']['item']} ({fields}), ", flips, " requests moved"]
        if change["shared"].get("net") is not None:
            net = num(bundle, path("compare", "attribution", "changes", i, "shared", "net"), "count", True)
            text += [", net ", net, " labelled right"]
    return (*text, _more(len(moved)), ".")


def label_coverage(bundle: Mapping[str, Any]) -> float | None:
    """Share of requests with a label or an annotation (from `labels.coverage`); None without requests."""
    rows = bundle["labels"].get("coverage") or []
    total = sum(int(r["requests"]) for r in rows)
    return sum(int(r["labelled"]) for r in rows) / total if total else None


def _low_label_coverage(bundle: Mapping[str, Any]) -> Text | None:
    share = label_coverage(bundle)
    if share is None or share >= MIN_LABEL_COVERAGE:
        return None
    return (
        "Only ",
        derived(share, "rate"),
        f" of the requests carry a label or an annotation (under {MIN_LABEL_COVERAGE:.0%}): "
        "accuracy rests on few labels.",
    )


def _gate_undetermined(bundle: Mapping[str, Any]) -> Text | None:
    unknown = [c for c in _gate(bundle).get("checked") or [] if c.get("undetermined")]
    if not unknown:
        return None
    names = "; ".join(c.get("name") or c["condition"] for c in unknown)
    return (f"Gate condition(s) read a null value and counted as passing: {names}.",)


def _no_gate(bundle: Mapping[str, Any]) -> Text | None:
    if _gate(bundle).get("checked"):
        return None
    return ("No gate given: the verdict rests on the default caveats.",)


#: The caveat rules, in the order the report lists them.
CAVEATS: tuple[tuple[str, Callable[[Mapping[str, Any]], Text | None]], ...] = (
    ("compliance-breach", _compliance_breach),
    ("silent-failure", _silent_failure),
    ("accuracy-unclear-cost-up", _accuracy_unclear_cost_up),
    ("slice-drop", _slice_drop),
    ("privacy-flags", _privacy_flags),
    ("policy-changed", _policy_changed),
    ("low-label-coverage", _low_label_coverage),
    ("gate-undetermined", _gate_undetermined),
    ("no-gate", _no_gate),
)


def decide(bundle: Mapping[str, Any]) -> Verdict:
    """The verdict of a report bundle (module docstring)."""
    failures = _failures(bundle)
    caveats = []
    for rule, check in CAVEATS:
        text = check(bundle)
        if text is not None:
            caveats.append(Finding(rule=rule, text=text))
    decision: Decision = "do not ship" if failures else "ship with caveats" if caveats else "ship"
    return Verdict(
        decision=decision,
        failures=tuple(failures),
        caveats=tuple(caveats),
        gate_conditions=len(_gate(bundle).get("checked") or []),
    )
