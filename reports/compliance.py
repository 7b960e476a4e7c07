"""The "Privacy and residency" section: both versions' breaches of the compliance rules, the paired change,
the week-by-week trend, why the requests were sensitive, which models they could reach, and a few examples.

Everything is read from the bundle's `compliance` key (each version's `compliance --json` result, the paired
`delta` and redacted `examples`); a bundle without it falls back to the comparison's totals and deltas
(`compare.compliance`), so the section still shows the key numbers. Example prompts are the redacted
excerpts the bundle holds, never raw prompts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from routelab.reports.formatting import Text, derived, num, path
from routelab.reports.sentences import compliance as sentence
from routelab.reports.tables import Table, est, table
from routelab.reports.verdict import BREACH_KINDS, compliance_paths

#: The breach kinds of the totals table and how each row is named.
KINDS = (("privacy", "privacy boundary"), ("residency", "region residency"), ("any", "either"))
#: The population each kind's "at risk" rate is taken over.
AT_RISK = {"privacy": ("n_sensitive", "sensitive"), "residency": ("n_regional", "with a region")}
#: Rows of the models and slice tables.
TOP_ROWS = 8


def versions(bundle: Mapping[str, Any]) -> tuple[Mapping[str, Any], Mapping[str, Any]] | None:
    """Both versions' compliance results (`compliance.base`, `compliance.candidate`), or None."""
    doc = bundle.get("compliance")
    if not isinstance(doc, Mapping):
        return None
    base, cand = doc.get("base"), doc.get("candidate")
    return (base, cand) if isinstance(base, Mapping) and isinstance(cand, Mapping) else None


def _count_rate(bundle: Mapping[str, Any], at: str) -> Text:
    return (num(bundle, f"{at}.count", "count"), " · ", *est(bundle, f"{at}.rate", "rate"))


def totals(bundle: Mapping[str, Any]) -> Table | None:
    """Breaches per kind: each version's count and rate, the candidate's rate among requests at risk, and
    the paired change with its interval, test and the requests introduced and resolved."""
    at = compliance_paths(bundle)
    if at is None:
        return None
    rows = []
    for kind, name in KINDS:
        b, c, d = (f"{at[side]}.{kind}" for side in ("base", "candidate", "delta"))
        risk: list[Any] = list(est(bundle, f"{c}.rate_at_risk", "rate"))
        if kind in AT_RISK:
            field, words = AT_RISK[kind]
            risk += [" of ", num(bundle, f"{at['candidate']}.{field}", "count"), f" {words}"]
        rows.append(
            [
                name,
                _count_rate(bundle, b),
                _count_rate(bundle, c),
                risk,
                est(bundle, f"{d}.rate", "points", True),
                num(bundle, f"{d}.rate.p_value", "p"),
                (num(bundle, f"{d}.introduced", "count"), " / ", num(bundle, f"{d}.resolved", "count")),
            ]
        )
    paired = bundle["compare"].get("compliance") or {}
    on = (
        (" on the ", num(bundle, "compare.compliance.n_paired", "count"), " requests both decided")
        if "n_paired" in paired
        else ("",)
    )
    caption = (
        "Decisions that break the compliance rules: count · share of all decisions (Wilson 95 % intervals); "
        "the candidate's share among the requests the rule applies to; the paired change"
        + "".join(str(p) for p in on)
        + " (Newcombe's 95 % interval, McNemar's test); requests the candidate newly breaches / no longer "
        "breaches."
    )
    columns = (
        "breach",
        "base",
        "candidate",
        "candidate, of those at risk",
        "change",
        "p",
        "introduced / resolved",
    )
    return table("compliance", caption, columns, rows)


def weeks(bundle: Mapping[str, Any]) -> Table | None:
    """Breaches per week of both versions, with the candidate's share of decisions that breach either."""
    both = versions(bundle)
    if both is None:
        return None
    index = [{p["period"]: i for i, p in enumerate(doc.get("periods") or [])} for doc in both]
    labels = sorted(set(index[0]) | set(index[1]))
    if not labels:
        return None
    rows = []
    for label in labels:
        i, j = index[0].get(label), index[1].get(label)
        b = path("compliance", "base", "periods", i) if i is not None else None
        c = path("compliance", "candidate", "periods", j) if j is not None else None
        cells: list[Any] = [label, num(bundle, f"{c or b}.n", "count")]
        for kind in BREACH_KINDS:
            cells += [num(bundle, f"{at}.{kind}.count", "count") if at else None for at in (b, c)]
        cells.append(est(bundle, f"{c}.any.rate", "rate") if c else None)
        rows.append(cells)
    by = (both[1].get("params") or {}).get("by_period") or "week"
    undated = both[1].get("n_undated") or 0
    note = f" {undated:,} decisions of undated requests are in no {by}." if undated else ""
    return table(
        "compliance-weeks",
        f"Breaches per {by} (ISO weeks), base and candidate; the candidate's share of decisions breaching "
        "either rule with its Wilson 95 % interval." + note,
        (
            by,
            "decisions",
            "privacy base",
            "privacy cand.",
            "residency base",
            "residency cand.",
            "cand. either",
        ),
        rows,
    )


def cause_name(cause: str) -> str:
    """A cause as words: `data_class:confidential` → data class confidential, `pii:email` → PII: email."""
    kind, _, value = cause.partition(":")
    return {"data_class": f"data class {value}", "pii": f"PII: {value}"}.get(kind, cause)


def causes(bundle: Mapping[str, Any]) -> Table | None:
    """Why the privacy breaches' requests were sensitive (data class, PII type), per version."""
    both = versions(bundle)
    if both is None:
        return None
    counts = [doc.get("causes") or {} for doc in both]
    names = sorted(
        set(counts[0]) | set(counts[1]), key=lambda k: (-counts[1].get(k, 0), -counts[0].get(k, 0), k)
    )
    rows = [
        [
            cause_name(name),
            *(
                num(bundle, path("compliance", side, "causes", name), "count")
                if name in side_counts
                else derived(0, "count")
                for side, side_counts in zip(("base", "candidate"), counts, strict=True)
            ),
        ]
        for name in names
    ]
    if not rows:
        return None
    return table(
        "compliance-causes",
        "Breach kinds: why the requests behind the privacy breaches were sensitive (a request can have "
        "several causes; with a redact action only the data class counts, the PII having been masked).",
        ("cause", "base", "candidate"),
        rows,
    )


def models(bundle: Mapping[str, Any]) -> Table | None:
    """The models breaching requests could reach, with their boundary and regions, per version."""
    both = versions(bundle)
    if both is None:
        return None
    where = [{m["model"]: i for i, m in enumerate(doc.get("models") or [])} for doc in both]
    order = list(dict.fromkeys([*where[1], *where[0]]))[:TOP_ROWS]
    rows = []
    for model in order:
        i, j = where[0].get(model), where[1].get(model)
        spec = both[1]["models"][j] if j is not None else both[0]["models"][i]
        cells: list[Any] = [model, str(spec.get("boundary")), ", ".join(spec.get("regions") or []) or "any"]
        for kind in BREACH_KINDS:
            for side, k in (("base", i), ("candidate", j)):
                at = path("compliance", side, "models", k, kind) if k is not None else None
                cells.append(num(bundle, at, "count") if at else derived(0, "count"))
        rows.append(cells)
    if not rows:
        return None
    return table(
        "compliance-models",
        "Models the breaching requests could reach (the decided model, its fallbacks and a model "
        "escalation), most breaches first.",
        (
            "model",
            "boundary",
            "regions",
            "privacy base",
            "privacy cand.",
            "residency base",
            "residency cand.",
        ),
        rows,
    )


def slices(bundle: Mapping[str, Any]) -> list[Table]:
    """Breaches per value of each slice field (workflow by default), both versions side by side."""
    both = versions(bundle)
    if both is None:
        return []
    out = []
    for field, cand_rows in (both[1].get("slices") or {}).items():
        base_at = {str(r["value"]): i for i, r in enumerate((both[0].get("slices") or {}).get(field) or [])}
        rows = []
        for j, row in enumerate(cand_rows[:TOP_ROWS]):
            i = base_at.get(str(row["value"]))
            b = path("compliance", "base", "slices", field, i) if i is not None else None
            c = path("compliance", "candidate", "slices", field, j)
            cells: list[Any] = [str(row["value"]), num(bundle, f"{c}.n", "count")]
            for kind in BREACH_KINDS:
                cells += [
                    num(bundle, f"{b}.{kind}.count", "count") if b else None,
                    num(bundle, f"{c}.{kind}.count", "count"),
                ]
            rows.append(cells)
        if rows:
            more = f" The first {TOP_ROWS} of {len(cand_rows)}." if len(cand_rows) > TOP_ROWS else ""
            out.append(
                table(
                    f"compliance-{field}",
                    f"Breaches by {field}, the candidate's most first." + more,
                    (
                        field,
                        "decisions",
                        "privacy base",
                        "privacy cand.",
                        "residency base",
                        "residency cand.",
                    ),
                    rows,
                )
            )
    return out


def examples(bundle: Mapping[str, Any]) -> list[dict[str, str]]:
    """A few breaching requests of the candidate, with their redacted prompt excerpts."""
    out = []
    for row in (bundle.get("compliance") or {}).get("examples") or []:
        fallbacks = row.get("cand_fallbacks") or []
        reach = str(row.get("cand_model") or "-") + (
            f" (fallbacks {', '.join(fallbacks)})" if fallbacks else ""
        )
        facts = [
            f"workflow {row['workflow']}" if row.get("workflow") else "",
            f"data class {row['data_class']}" if row.get("data_class") else "",
            f"region {row['region']}" if row.get("region") else "",
            f"PII: {', '.join(row['pii_types'])}" if row.get("pii_types") else "",
        ]
        out.append(
            {
                "request_id": str(row.get("request_id")),
                "kinds": " and ".join(row.get("kinds") or []),
                "status": "new under the candidate" if row.get("introduced") else "breached by both versions",
                "facts": " · ".join(f for f in facts if f),
                "base_model": str(row.get("base_model") or "-"),
                "cand_model": reach,
                "prompt": str(row.get("prompt_redacted") or ""),
            }
        )
    return out


def rules(bundle: Mapping[str, Any]) -> Text | None:
    """The rules the counts applied, in words (from the candidate's result)."""
    both = versions(bundle)
    r = ((both[1].get("params") or {}).get("rules") if both else None) or (
        (bundle["compare"].get("compliance") or {}).get("rules")
    )
    if not r:
        return None
    return (
        "Rules: a request is sensitive when its data class is "
        f"{' or '.join(r.get('sensitive_classes') or []) or 'none'} or it holds PII "
        f"({', '.join(r.get('pii_types') or []) or 'none'}); a privacy breach may send it to a model whose "
        f"boundary is not {' or '.join(r.get('private_boundaries') or [])}; a residency breach may send a "
        "request with a region to a model that does not serve that region. "
        + ("A redact action masks PII first. " if r.get("redact_masks_pii") else "")
        + (
            "Fallbacks and a model escalation count as models a request may reach. "
            if r.get("check_fallbacks")
            else ""
        )
        + "Checked independently of the versions' own policies.",
    )


def section(bundle: Mapping[str, Any]) -> dict[str, Any]:
    """Everything the section shows; `available` is False when the bundle has no compliance results."""
    both = versions(bundle)
    warnings = [str(w) for doc in both or () for w in doc.get("warnings") or []]
    return {
        "available": compliance_paths(bundle) is not None,
        "lead": sentence(bundle, define=True),
        "totals": totals(bundle),
        "weeks": weeks(bundle),
        "causes": causes(bundle),
        "models": models(bundle),
        "slices": slices(bundle),
        "examples": examples(bundle),
        "rules": rules(bundle),
        "warnings": list(dict.fromkeys(warnings)),
    }


def has_trend(bundle: Mapping[str, Any]) -> bool:
    """True when both versions' results carry periods to draw."""
    both = versions(bundle)
    return bool(both and (both[0].get("periods") or both[1].get("periods")))
