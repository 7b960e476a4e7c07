"""The first page's top risks: privacy or residency breaches the candidate adds (verdict rule
``compliance-breach``), the most important silent-failure alarms (the drift evaluator ranks them by impact)
and the slices whose accuracy fell significantly, worst first, each with its numbers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from routelab.reports.compliance import cause_name
from routelab.reports.formatting import Text, Unit, interval, lookup, num, path
from routelab.reports.sentences import worse_slices
from routelab.reports.verdict import added_breaches, compliance_paths

#: Alarms among the top risks.
TOP_ALARMS = 3
#: Worsened slices among the top risks.
TOP_SLICES = 5
#: Most risks listed on the first page (breaches first, then alarms, then slices); the rest are counted.
TOP_RISKS = 7
#: Workflows, causes, models and example ids named in a breach risk (the first page has little room).
BREACH_LISTED = 2
#: How a drift harm's metric is shown.
HARM_UNITS: dict[str, Unit] = {
    "accuracy": "rate",
    "error_rate": "rate",
    "fallback_rate": "rate",
    "cache_hit_rate": "rate",
    "cost_per_request": "usd",
    "latency_p95_ms": "ms",
    "latency_p50_ms": "ms",
    "quality": "ratio",
}


def _alarm(bundle: Mapping[str, Any], i: int, alarm: Mapping[str, Any]) -> Text:
    at = path("drift", "alarms", i)
    text: list[Any] = [
        f"Silent failure in {alarm['window']}, {alarm['slice_field']} = {alarm['slice_value']}",
        " (adjusted p = ",
        num(bundle, f"{at}.p_adjusted", "p"),
        "): ",
        num(bundle, f"{at}.shift", "rate"),
        " of ",
        num(bundle, f"{at}.n_current", "count"),
        " requests took another path",
    ]
    for j, harm in enumerate(alarm.get("harms") or []):
        unit = HARM_UNITS.get(harm["metric"], "num")
        h = f"{at}.harms.{j}"
        text += [
            "; ",
            harm["metric"].replace("_", " "),
            " went from ",
            num(bundle, f"{h}.reference", unit),
            " to ",
            num(bundle, f"{h}.current", unit),
            " (p = ",
            num(bundle, f"{h}.p_value", "p"),
            ")",
        ]
    return (*text, ".")


def _slice(bundle: Mapping[str, Any], field: str, i: int, row: Mapping[str, Any]) -> Text:
    at = path("compare", "slices", "by", field, i)
    return (
        f"Slice {field} = {row['value']}: accuracy ",
        num(bundle, f"{at}.accuracy.baseline.value", "rate"),
        " → ",
        num(bundle, f"{at}.accuracy.candidate.value", "rate"),
        " (",
        num(bundle, f"{at}.accuracy.delta.value", "points", True),
        ", ",
        *interval(bundle, f"{at}.accuracy.delta", "points"),
        "; adjusted p = ",
        num(bundle, f"{at}.p_adjusted", "p"),
        "; ",
        num(bundle, f"{at}.labelled", "count"),
        " labelled).",
    )


def _listed(bundle: Mapping[str, Any], items: list[tuple[str, str]]) -> list[Any]:
    """`name count, name count, …` of (name, path) pairs, the first `BREACH_LISTED`."""
    out: list[Any] = []
    for k, (name, at) in enumerate(items[:BREACH_LISTED]):
        out += [", " if k else "", f"{name} ", num(bundle, at, "count")]
    return out


def _breach(bundle: Mapping[str, Any], kind: str) -> Text:
    """A breach kind the candidate adds: counts, where it happens, why, which models, examples."""
    at = compliance_paths(bundle) or {}
    d = f"{at['delta']}.{kind}"
    text: list[Any] = [
        f"{kind.capitalize()} breaches added: ",
        num(bundle, f"{d}.introduced", "count"),
        " requests newly exposed (",
        num(bundle, f"{d}.resolved", "count"),
        " no longer)",
    ]
    doc = bundle.get("compliance") or {}
    cand = doc.get("candidate") if at["candidate"].startswith("compliance.") else None
    if isinstance(cand, Mapping):
        c = "compliance.candidate"
        where = sorted(
            (
                (
                    -row[kind]["count"],
                    f"{field} = {row['value']}",
                    path("compliance", "candidate", "slices", field, i, kind, "count"),
                )
                for field, rows in (cand.get("slices") or {}).items()
                for i, row in enumerate(rows)
                if row[kind]["count"]
            ),
        )
        if where:
            text += ["; most in ", *_listed(bundle, [(name, p) for _, name, p in where])]
        counts = cand.get("causes") or {}
        causes = [(cause, f"{c}.causes.{path(cause)}") for cause in sorted(counts, key=lambda k: -counts[k])]
        if kind == "privacy" and causes:
            text += ["; sensitive for ", *_listed(bundle, [(cause_name(n), p) for n, p in causes])]
        models = [
            (
                f"{m['model']} ({m['boundary']})"
                if kind == "privacy"
                else f"{m['model']} ({', '.join(m['regions'])})",
                f"{c}.models.{i}.{kind}",
            )
            for i, m in enumerate(cand.get("models") or [])
            if m[kind]
        ]
        if models:
            text += ["; reaching ", *_listed(bundle, models)]
    examples = list(lookup(bundle, f"{d}.examples") or [])[:BREACH_LISTED]
    if examples:
        text += ["; e.g. ", ", ".join(examples)]
    return (*text, ".")


def risks(bundle: Mapping[str, Any]) -> list[Text]:
    """Breaches the candidate adds, the top alarms (in the drift evaluator's order) and the significantly
    worse slices, worst first, at most `TOP_RISKS` of them (alarms and breaches are never cut)."""
    out = [_breach(bundle, kind) for kind in added_breaches(bundle)]
    alarms = bundle["drift"].get("alarms") or []
    out += [_alarm(bundle, i, a) for i, a in enumerate(alarms[:TOP_ALARMS])]
    worse = worse_slices(bundle)
    shown = max(0, min(TOP_SLICES, TOP_RISKS - len(out)))
    out += [_slice(bundle, field, i, row) for field, i, row in worse[:shown]]
    if len(worse) > shown:
        out.append((f"… and {len(worse) - shown} more worse slice(s) in the evidence below.",))
    return out
