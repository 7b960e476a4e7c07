"""`routelab compliance NAME@VER [NAME@VER ...] [--by week|day] [--slice FIELD] [--fail-on-breach] [--json]`.

Exit codes: 0 done (breaches or not, unless `--fail-on-breach`), 1 a breach with `--fail-on-breach`,
2 bad input.
"""

from __future__ import annotations

import argparse
from typing import Any

from routelab.app.commands.common import CliError, add_db, add_json, open_store, print_json

SHOWN_PERIODS = 60
SHOWN_SLICES = 10
SHOWN_MODELS = 8


def _rate(est: dict[str, Any]) -> str:
    if est.get("value") is None:
        return "n/a"
    return f"{est['value']:.1%} [{est['ci_low']:.1%}, {est['ci_high']:.1%}]"


def _line(name: str, b: dict[str, Any], population: str) -> str:
    text = f"  {name:<20} {b['count']:>7,}  {_rate(b['rate'])} of decisions"
    if b["count"]:
        text += f", {_rate(b['rate_at_risk'])} of {population}"
        text += f"  e.g. {', '.join(b['examples'][:3])}"
    return text


def _print(doc: dict[str, Any]) -> None:
    t = doc["totals"]
    print(
        f"{doc['version']}: {t['n']:,} decisions; {t['n_sensitive']:,} sensitive, "
        f"{t['n_regional']:,} with a region, {t['n_blocked']:,} blocked"
    )
    print(_line("privacy breaches", t["privacy"], "sensitive requests"))
    print(_line("residency breaches", t["residency"], "requests with a region"))
    if doc["causes"]:
        print("  privacy causes: " + ", ".join(f"{c} {n:,}" for c, n in doc["causes"].items()))
    for m in doc["models"][:SHOWN_MODELS]:
        where = f", regions {'/'.join(m['regions'])}" if m["regions"] else ""
        print(
            f"    reached {m['model']} ({m['boundary']}{where}): "
            f"{m['privacy']:,} privacy, {m['residency']:,} residency"
        )
    by = doc["params"]["by_period"]
    if doc["periods"]:
        print(f"  by {by}:{'':<12}{'n':>7} {'privacy':>8} {'residency':>10}")
    for p in doc["periods"][:SHOWN_PERIODS]:
        print(
            f"    {p['period']:<18} {p['n']:>7,} {p['privacy']['count']:>8,} {p['residency']['count']:>10,}"
        )
    if doc["n_undated"]:
        print(f"    (undated: {doc['n_undated']:,})")
    for field, rows in doc["slices"].items():
        shown = [r for r in rows if r["any"]["count"]][:SHOWN_SLICES]
        if shown:
            print(f"  by {field} (most breaches first):")
        for r in shown:
            examples = ", ".join(r["any"]["examples"][:3])
            print(
                f"    {r['value'][:30]:<30} {r['n']:>7,}  privacy {r['privacy']['count']:>6,}  "
                f"residency {r['residency']['count']:>6,}  e.g. {examples}"
            )
    for warning in doc["warnings"]:
        print(f"  warning: {warning}")


def cmd_compliance(args: argparse.Namespace) -> int:
    """Privacy and residency breaches of replayed versions; exit 1 on a breach with --fail-on-breach."""
    from routelab.app.compliance_flow import compliance_stored
    from routelab.evaluators.compliance_types import ComplianceRules
    from routelab.evaluators.errors import EvaluatorError

    if args.examples < 0:
        raise CliError(f"--examples: is {args.examples}; pass a whole number >= 0")
    rules = ComplianceRules(sensitive_classes=tuple(args.sensitive)) if args.sensitive else None
    with open_store(args.db) as store:
        try:
            doc = compliance_stored(
                store,
                args.versions,
                by=args.by,
                examples=args.examples,
                slices=args.slice or ("workflow",),
                rules=rules,
            )
        except EvaluatorError as exc:
            raise CliError(str(exc)) from exc
    if args.json:
        print_json(doc)
    else:
        for i, version in enumerate(doc["versions"]):
            if i:
                print()
            _print(version)
    breached = any(v["totals"]["any"]["count"] for v in doc["versions"])
    return 1 if args.fail_on_breach and breached else 0


def register(sub: Any) -> None:
    """Add `compliance`."""
    p = sub.add_parser(
        "compliance",
        help="decisions that break a privacy boundary or region residency, per version and over time",
        description="A privacy breach: a confidential/restricted request or one with PII (detected in the "
        "prompt, or attrs.pii_types of a redacted import), not blocked, whose path may reach a model outside "
        "the private boundary. A residency breach: a request with a region whose path may reach a model "
        "that lists regions without it.",
    )
    p.add_argument("versions", nargs="+", metavar="NAME@VERSION")
    p.add_argument("--by", choices=("week", "day"), default="week", help="timeline period (default: week)")
    p.add_argument(
        "--slice", action="append", metavar="FIELD", help="request field to count by (default: workflow)"
    )
    p.add_argument(
        "--sensitive",
        action="append",
        metavar="CLASS",
        help="data class that makes a request sensitive (default: confidential, restricted)",
    )
    p.add_argument("--examples", type=int, default=5, metavar="N", help="example request ids per count")
    p.add_argument("--fail-on-breach", action="store_true", help="exit 1 when any decision breaches")
    add_db(p)
    add_json(p)
    p.set_defaults(func=cmd_compliance)
