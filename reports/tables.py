"""Evidence tables from the comparison and accuracy documents; cells are texts with marked numbers.

Shared by the HTML and the Markdown report. Every number comes from the bundle at the path it is marked
with; a table never computes what an evaluator already reported.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from routelab.reports.formatting import Text, Unit, lookup, missing, num, path

SIDES = (("base", "baseline"), ("candidate", "candidate"))
#: Columns of a breakdown table after the slice value.
BREAKDOWN_COLUMNS = (
    "requests",
    "acc. base",
    "acc. cand.",
    "$/1k base",
    "$/1k cand.",
    "p95 base",
    "p95 cand.",
)
#: Router changes listed in the attribution table.
TOP_CHANGES = 12


class Table(BaseModel):
    """A table of the report: header, rows of cells, and which columns hold numbers (right-aligned)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str = Field(description="A stable id (HTML anchors, tests).")
    caption: str = Field(description="What the table shows and how it was computed.")
    columns: tuple[str, ...] = Field(description="Column headers.")
    numeric: tuple[bool, ...] = Field(description="Per column: right-align (numbers).")
    rows: tuple[tuple[Text, ...], ...] = Field(description="Cells, one text per column.")


def table(key: str, caption: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> Table:
    """A Table; cells may be a text, a single part or None (an empty cell). Numeric columns are those
    whose first row's cell starts with a number."""
    cells = tuple(tuple(_cell(c) for c in row) for row in rows)
    first = cells[0] if cells else ()
    numeric = tuple(bool(c) and not isinstance(c[0], str) for c in first) or (False,) * len(columns)
    return Table(key=key, caption=caption, columns=tuple(columns), numeric=numeric, rows=cells)


def _cell(value: Any) -> Text:
    if value is None:
        return ()
    return tuple(value) if isinstance(value, tuple | list) else (value,)


def est(bundle: Mapping[str, Any], at: str, unit: Unit, signed: bool = False) -> Text:
    """An estimate as ``value [low to high]`` (its interval), or ``value`` when it has none."""
    node = lookup(bundle, at)
    if not isinstance(node, Mapping) or missing(node.get("value")):
        return (num(bundle, f"{at}.value", unit),) if isinstance(node, Mapping) else ("n/a",)
    if node.get("ci_low") == node.get("ci_high") == node.get("value"):
        return (num(bundle, f"{at}.value", unit, signed),)
    return (
        num(bundle, f"{at}.value", unit, signed),
        " [",
        num(bundle, f"{at}.ci_low", unit, signed, bare=True),
        " to ",
        num(bundle, f"{at}.ci_high", unit, signed),
        "]",
    )


def headline(bundle: Mapping[str, Any]) -> Table:
    """The key numbers of both versions and the change, with intervals and tests."""
    c, a = "compare", "accuracy"
    rows: list[list[Any]] = [
        [
            "Routing accuracy (acceptable paths)",
            est(bundle, f"{c}.accuracy.baseline", "rate"),
            est(bundle, f"{c}.accuracy.candidate", "rate"),
            (
                *est(bundle, f"{c}.accuracy.delta", "points", True),
                ", p = ",
                num(bundle, f"{c}.accuracy.delta.p_value", "p"),
            ),
        ],
        [
            "Exact-path accuracy",
            est(bundle, f"{a}.base.overall.exact_path", "rate"),
            est(bundle, f"{a}.candidate.overall.exact_path", "rate"),
            None,
        ],
        [
            "Total cost (USD)",
            est(bundle, f"{c}.cost.baseline", "usd"),
            est(bundle, f"{c}.cost.candidate", "usd"),
            est(bundle, f"{c}.cost.delta", "usd", True),
        ],
        [
            "Cost per 1,000 requests",
            num(bundle, f"{a}.base.overall.cost_per_1k_usd", "usd"),
            num(bundle, f"{a}.candidate.overall.cost_per_1k_usd", "usd"),
            est(bundle, f"{c}.cost.delta_per_1k", "usd", True),
        ],
    ]
    if bundle[c]["cost"].get("delta_pct"):
        rows.append(["Cost change", None, None, est(bundle, f"{c}.cost.delta_pct", "percent", True)])
    for name in ("p50", "p95"):
        if name in bundle[c].get("latency", {}):
            at = f"{c}.latency.{name}"
            rows.append(
                [
                    f"Latency {name}, estimated",
                    est(bundle, f"{at}.baseline", "ms"),
                    est(bundle, f"{at}.candidate", "ms"),
                    est(bundle, f"{at}.delta", "ms", True),
                ]
            )
    for name, label in (("over_routing", "Over-routing (a bigger tier than needed)"),
                        ("under_routing", "Under-routing (a smaller tier than needed)")):  # fmt: skip
        rows.append(
            [
                label,
                est(bundle, f"{a}.base.overall.{name}.rate", "rate"),
                est(bundle, f"{a}.candidate.overall.{name}.rate", "rate"),
                None,
            ]
        )
    rows.append(["Requests on a different path", None, None, est(bundle, f"{c}.flips.rate", "rate")])
    return table(
        "headline",
        "Both versions on the same requests. Intervals are 95 %: Wilson for rates, Newcombe's paired score "
        "interval with McNemar's test for the accuracy delta, paired bootstrap percentile for cost and "
        "latency deltas. Latency is the router's estimate.",
        ("", "base", "candidate", "change [95 % interval]"),
        rows,
    )


def buckets(bundle: Mapping[str, Any]) -> Table:
    """The flip buckets: labelled requests by whether each version routed them right."""
    rows = []
    for name, bucket in bundle["compare"]["flips"]["buckets"].items():
        at = path("compare", "flips", "buckets", name)
        rows.append(
            [
                name.replace("_", " "),
                num(bundle, f"{at}.count", "count"),
                est(bundle, f"{at}.share", "rate"),
                ", ".join(bucket.get("examples") or []),
            ]
        )
    return table(
        "buckets",
        "Labelled requests by outcome: broken = the base routed it right and the candidate does not.",
        ("bucket", "requests", "share of labelled [95 % interval]", "examples"),
        rows,
    )


def slices(bundle: Mapping[str, Any]) -> list[Table]:
    """Accuracy by slice from the comparison, one table per slice field, ranked by impact."""
    info = bundle["compare"].get("slices") or {}
    out = []
    for field, items in (info.get("by") or {}).items():
        rows = []
        for i, row in enumerate(items):
            at = path("compare", "slices", "by", field, i)
            rows.append(
                [
                    str(row["value"]),
                    num(bundle, f"{at}.n", "count"),
                    num(bundle, f"{at}.labelled", "count"),
                    est(bundle, f"{at}.accuracy.baseline", "rate"),
                    est(bundle, f"{at}.accuracy.candidate", "rate"),
                    est(bundle, f"{at}.accuracy.delta", "points", True),
                    num(bundle, f"{at}.p_adjusted", "p"),
                    "yes" if row.get("significant") else "no",
                    est(bundle, f"{at}.cost.delta", "usd", True) if row.get("cost") else None,
                ]
            )
        out.append(
            table(
                f"slices-{field}",
                f"Accuracy by {field}, ranked by impact (requests × |accuracy delta|). p-values adjusted by "
                f"{info.get('multiple_testing', 'benjamini-hochberg')} over {info.get('n_tests')} tests.",
                (field, "requests", "labelled", "base", "candidate", "delta", "adj. p", "signif.", "cost Δ"),
                rows,
            )
        )
    return out


def breakdowns(bundle: Mapping[str, Any]) -> list[Table]:
    """The accuracy evaluator's breakdowns (`eval --json`) of both versions side by side."""
    out = []
    base = bundle["accuracy"]["base"].get("breakdowns") or {}
    for field, items in base.items():
        cand = {
            str(r["value"]): j for j, r in enumerate(bundle["accuracy"]["candidate"]["breakdowns"][field])
        }
        rows = []
        for i, row in enumerate(items):
            j = cand.get(str(row["value"]))
            b = path("accuracy", "base", "breakdowns", field, i, "summary")
            c = path("accuracy", "candidate", "breakdowns", field, j, "summary") if j is not None else None
            rows.append(
                [
                    str(row["value"]),
                    num(bundle, f"{b}.counts.decisions", "count"),
                    est(bundle, f"{b}.acceptable_set", "rate"),
                    est(bundle, f"{c}.acceptable_set", "rate") if c else None,
                    num(bundle, f"{b}.cost_per_1k_usd", "usd"),
                    num(bundle, f"{c}.cost_per_1k_usd", "usd") if c else None,
                    num(bundle, f"{b}.latency_p95_ms", "ms"),
                    num(bundle, f"{c}.latency_p95_ms", "ms") if c else None,
                ]
            )
        out.append(
            table(
                f"breakdown-{field}",
                f"Routing accuracy (Wilson 95 % intervals), cost and estimated p95 latency by {field}, "
                "from each version's accuracy evaluation.",
                (
                    field,
                    "requests",
                    "acc. base",
                    "acc. candidate",
                    "$/1k base",
                    "$/1k cand.",
                    "p95 base",
                    "p95 cand.",
                ),
                rows,
            )
        )
    return out


def gate(bundle: Mapping[str, Any]) -> Table | None:
    """Every gate condition, whether it held and the values it read."""
    doc = bundle["compare"].get("gate") or {}
    rows = []
    for i, check in enumerate(doc.get("checked") or []):
        outcome = "FAILS" if check["holds"] else "undetermined" if check.get("undetermined") else "passes"
        read: list[Any] = []
        for key in check.get("values") or {}:
            at = path("compare", "gate", "checked", i, "values", key)
            read += ["; " if read else "", f"{key} = ", num(bundle, at, "num")]
        rows.append([check.get("name") or "", check["condition"], outcome, read, check.get("description")])
    if not rows:
        return None
    return table(
        "gate",
        "The release gate: a condition describes a failure; any that holds fails the release.",
        ("name", "condition", "outcome", "values read", "description"),
        rows,
    )


def attribution(bundle: Mapping[str, Any]) -> Table | None:
    """The router changes behind the flips (those that moved requests), most flips first."""
    changes = (bundle["compare"].get("attribution") or {}).get("changes") or []
    rows: list[list[Any]] = []
    for i, ch in enumerate(changes):
        if not ch["shared"]["flips"] or len(rows) >= TOP_CHANGES:
            continue
        at = path("compare", "attribution", "changes", i, "shared")
        name = f"{ch['change']['section']}: {ch['change']['item']} ({ch['change']['change']})"
        rows.append(
            [
                name,
                num(bundle, f"{at}.flips", "count"),
                num(bundle, f"{at}.fixed", "count") if "fixed" in ch["shared"] else None,
                num(bundle, f"{at}.broken", "count") if "broken" in ch["shared"] else None,
                num(bundle, f"{at}.cost_delta_usd", "usd", True),
            ]
        )
    if not rows:
        return None
    return table(
        "attribution",
        "Router changes behind the flips (a flip shared by several changes counts for each).",
        ("change", "requests moved", "fixed", "broken", "cost Δ"),
        rows,
    )
