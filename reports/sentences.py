"""Plain sentences generated from the results, every number with its uncertainty and its bundle path.

`summary` gives the first page's sentences, in reading order; `routelab.reports.risks` the top risks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from routelab.reports.formatting import Text, derived, interval, lookup, missing, num, path
from routelab.reports.verdict import (
    ALPHA,  # the significance level of the wording ("does not separate from chance" above it)
    BREACH_KINDS,
    LATEST_WINDOWS,
    compliance_paths,
    label_coverage,
)

PERIODS = {"day": "daily", "week": "weekly", "month": "monthly"}


def _verb(value: float | None, up: str, down: str, flat: str) -> str:
    if missing(value) or value == 0:
        return flat
    return up if value is not None and value > 0 else down


def scope(bundle: Mapping[str, Any]) -> Text:
    """Which versions, on how many requests, how many labelled."""
    c = bundle["compare"]
    share = c["coverage"]["labelled"] / c["n"] if c["n"] else None
    return (
        f"{c['candidate']} was replayed against {c['baseline']} on the same ",
        num(bundle, "compare.n", "count"),
        " requests; ",
        num(bundle, "compare.coverage.labelled", "count"),
        " of them (",
        derived(share, "rate"),
        ") carry a gold label for routing accuracy.",
    )


def _significance(bundle: Mapping[str, Any]) -> Text:
    delta = bundle["compare"]["accuracy"]["delta"]
    test = "McNemar's test" if str(delta.get("test") or "").startswith("mcnemar") else "the paired test"
    p = num(bundle, "compare.accuracy.delta.p_value", "p")
    if missing(delta.get("p_value")):
        return (f", a difference {test} could not assess",)
    if delta["p_value"] >= ALPHA:
        return (f", a difference {test} does not separate from chance (p = ", p, ")")
    kind = "drop" if delta["value"] < 0 else "rise"
    return (f", a {kind} {test} puts at p = ", p)


def cost_and_accuracy(bundle: Mapping[str, Any]) -> Text:
    """The headline: cost per 1,000 requests and routing accuracy, with intervals and the test."""
    cost = bundle["compare"]["cost"]
    pct = cost.get("delta_pct") or {}
    change: Text
    if not missing(pct.get("value")):
        change = (
            num(bundle, "compare.cost.delta_pct.value", "percent", True),
            " (",
            *interval(bundle, "compare.cost.delta_pct", "percent"),
            ")",
        )
        moved = pct["value"]
    else:
        change = (
            num(bundle, "compare.cost.delta_per_1k.value", "usd", True),
            " (",
            *interval(bundle, "compare.cost.delta_per_1k", "usd"),
            ")",
        )
        moved = cost["delta_per_1k"].get("value")
    text: Text = (
        "Cost per 1,000 requests ",
        _verb(moved, "rises", "falls", "stays level"),
        " from ",
        num(bundle, "accuracy.base.overall.cost_per_1k_usd", "usd"),
        " to ",
        num(bundle, "accuracy.candidate.overall.cost_per_1k_usd", "usd"),
        ", ",
        *change,
    )
    acc = bundle["compare"]["accuracy"]
    if missing(acc["delta"].get("value")):
        return (*text, "; routing accuracy cannot be measured: no request carries a gold label.")
    return (
        *text,
        ", while routing accuracy moves from ",
        num(bundle, "compare.accuracy.baseline.value", "rate"),
        " to ",
        num(bundle, "compare.accuracy.candidate.value", "rate"),
        " (",
        num(bundle, "compare.accuracy.delta.value", "points", True),
        ", ",
        *interval(bundle, "compare.accuracy.delta", "points"),
        ")",
        *_significance(bundle),
        ".",
    )


def latency(bundle: Mapping[str, Any]) -> Text | None:
    """Estimated latency percentiles and their paired-bootstrap deltas."""
    lat = bundle["compare"].get("latency") or {}
    parts: list[Any] = []
    for name in ("p50", "p95"):
        if name not in lat:
            continue
        base = f"compare.latency.{name}"
        parts += [
            " and " if parts else "",
            f"{name} from ",
            num(bundle, f"{base}.baseline.value", "ms"),
            " to ",
            num(bundle, f"{base}.candidate.value", "ms"),
            " (",
            num(bundle, f"{base}.delta.value", "ms", True),
            ", ",
            *interval(bundle, f"{base}.delta", "ms"),
            ")",
        ]
    return ("Estimated latency moves: ", *parts, ".") if parts else None


def flips(bundle: Mapping[str, Any]) -> Text:
    """How many requests change path, and how many labelled ones were broken or fixed."""
    buckets = bundle["compare"]["flips"]["buckets"]
    text: Text = (
        num(bundle, "compare.flips.rate.value", "rate"),
        " of requests take a different path (",
        *interval(bundle, "compare.flips.rate", "rate", signed=False),
        ")",
    )
    if "broken" not in buckets or "fixed" not in buckets:
        return (*text, ".")
    return (
        *text,
        "; of the labelled ones, ",
        num(bundle, "compare.flips.buckets.broken.count", "count"),
        " that the base routed right go wrong (",
        num(bundle, "compare.flips.buckets.broken.share.value", "rate"),
        ", ",
        *interval(bundle, "compare.flips.buckets.broken.share", "rate", signed=False),
        ") and ",
        num(bundle, "compare.flips.buckets.fixed.count", "count"),
        " go the other way (",
        num(bundle, "compare.flips.buckets.fixed.share.value", "rate"),
        ").",
    )


def worse_slices(bundle: Mapping[str, Any]) -> list[tuple[str, int, dict[str, Any]]]:
    """(field, index, row) of every slice significantly worse after BH, the largest drop first."""
    rows = (bundle["compare"].get("slices") or {}).get("by") or {}
    worse = [
        (field, i, row)
        for field, items in rows.items()
        for i, row in enumerate(items)
        if row.get("significant") and (row["accuracy"]["delta"].get("value") or 0) < 0
    ]
    return sorted(worse, key=lambda item: item[2]["accuracy"]["delta"]["value"])


def slices(bundle: Mapping[str, Any]) -> Text | None:
    """How many slices changed significantly after the false-discovery-rate control."""
    info = bundle["compare"].get("slices") or {}
    if not info.get("by"):
        return None
    worse = worse_slices(bundle)
    control = (
        f"Benjamini–Hochberg at a false discovery rate of {100 * info.get('fdr_level', 0.05):g} % over ",
        num(bundle, "compare.slices.n_tests", "count"),
        " tests",
    )
    if not worse:
        return ("No slice's accuracy falls significantly (", *control, ").")
    field, i, row = worse[0]
    at = path("compare", "slices", "by", field, i, "accuracy", "delta")
    return (
        "Accuracy falls significantly in ",
        derived(len(worse), "count"),
        " slice(s) (",
        *control,
        "); the largest drop is ",
        f"{field} = {row['value']}, ",
        num(bundle, f"{at}.value", "points", True),
        " (",
        *interval(bundle, at, "points"),
        ").",
    )


def drift(bundle: Mapping[str, Any]) -> Text:
    """Alarms over the candidate's drift windows."""
    doc = bundle["drift"]
    windows = [w["window"]["label"] for w in doc.get("windows") or []]
    latest = windows[-LATEST_WINDOWS:]
    alarms = doc.get("alarms") or []
    live = sum(1 for a in alarms if a["window"] in latest)
    by = str((doc.get("params") or {}).get("by", ""))
    tested: Text = (
        " (Benjamini–Hochberg over ",
        num(bundle, "drift.n_slices_tested", "count"),
        " slice tests)",
    )
    if not alarms:
        return (
            f"Over {len(windows)} {PERIODS.get(by, by)} windows the candidate raised no silent-failure alarm",
            *tested,
            ".",
        )
    return (
        f"Over {len(windows)} {PERIODS.get(by, by)} windows the candidate raised ",
        derived(len(alarms), "count"),
        " silent-failure alarm(s)",
        *tested,
        ", ",
        derived(live, "count"),
        f" of them in its latest window(s) ({', '.join(latest) or 'none'}).",
    )


def compliance(bundle: Mapping[str, Any], define: bool = False) -> Text | None:
    """Privacy and residency breaches of both versions, with the candidate's rate and the paired change;
    `define` says what each breach is (the section's lead; the first page leaves that to the verdict)."""
    at = compliance_paths(bundle)
    if at is None:
        return None
    totals = [lookup(bundle, at[side]) for side in ("base", "candidate")]
    if not any(t[kind]["count"] for t in totals for kind in BREACH_KINDS):
        return (
            "Neither version sends a sensitive request past the private boundary or a request outside its "
            "region (",
            num(bundle, f"{at['candidate']}.n", "count"),
            " decisions each checked by the compliance rules).",
        )
    text: list[Any] = []
    for kind, what in BREACH_KINDS.items():
        c, d = f"{at['candidate']}.{kind}", f"{at['delta']}.{kind}.rate"
        meaning = f" ({what})" if define else ""
        text.append(f"; {kind}" if text else kind.capitalize())
        if not any(t[kind]["count"] for t in totals):
            text.append(f" breaches{meaning}: none under either version")
            continue
        text += [
            f" breaches{meaning} go from ",
            num(bundle, f"{at['base']}.{kind}.count", "count"),
            " to ",
            num(bundle, f"{c}.count", "count"),
            " (",
            num(bundle, f"{c}.rate.value", "rate"),
            " of decisions, ",
            *interval(bundle, f"{c}.rate", "rate", signed=False),
            "; paired change ",
            num(bundle, f"{d}.value", "points", True),
            ", p = ",
            num(bundle, f"{d}.p_value", "p"),
            ")",
        ]
    return (*text, ".")


def labels(bundle: Mapping[str, Any]) -> Text:
    """Label coverage and annotator agreement."""
    agreement = bundle["labels"].get("agreement") or {}
    verdict = (agreement.get("alpha") or {}).get("verdict") or {}
    text: Text = ("Label coverage: ", derived(label_coverage(bundle), "rate"), " of requests; ")
    if missing(verdict.get("alpha")):
        return (*text, "annotator agreement cannot be measured yet (no request has two judgements).")
    return (
        *text,
        "annotator agreement on the verdict, Krippendorff's α = ",
        num(bundle, "labels.agreement.alpha.verdict.alpha", "ratio"),
        f" ({verdict.get('band')}, ",
        num(bundle, "labels.agreement.alpha.verdict.n_units", "count"),
        " requests).",
    )


def summary(bundle: Mapping[str, Any]) -> list[Text]:
    """The first page's sentences, in reading order."""
    out = [scope(bundle), cost_and_accuracy(bundle), latency(bundle), flips(bundle), slices(bundle)]
    out += [compliance(bundle), drift(bundle), labels(bundle)]
    return [s for s in out if s is not None]
