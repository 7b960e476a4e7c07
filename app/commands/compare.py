"""`routelab compare BASE CAND [--by FIELD ...] [--gate FILE | --fail-if EXPR ...] [--json]`.

Exit codes: 0 the gate passed (or none was given), 1 a gate condition held, 2 bad input.
"""

from __future__ import annotations

import argparse
from typing import Any

from routelab.app.commands.common import CliError, add_db, add_json, open_store, print_json, read_file
from routelab.reports.formatting import p_text


def gate_conditions(args: argparse.Namespace) -> list[Any]:
    """The gate conditions of `--gate FILE` and `--fail-if EXPR` (compare and report share them)."""
    from routelab.evaluators.gate import parse_gate_spec

    conditions: list[Any] = list(args.fail_if or [])
    if args.gate:
        import yaml

        try:
            spec = yaml.safe_load(read_file(args.gate))
        except yaml.YAMLError as exc:
            raise CliError(f"{args.gate}: not valid YAML: {exc}") from exc
        try:
            conditions += parse_gate_spec(spec)
        except ValueError as exc:
            raise CliError(f"{args.gate}: {exc}") from exc
    return conditions


def _est(m: Any, fmt: str = "{:+.3f}") -> str:
    """An estimate as `value [low, high] (p=...) n=...` in the given number format."""
    if not isinstance(m, dict) or m.get("value") is None:
        return "n/a"
    text = f"{fmt.format(m['value'])} [{fmt.format(m['ci_low'])}, {fmt.format(m['ci_high'])}]"
    if m.get("p_value") is not None:
        text += f" {p_text(m['p_value'])}"
    return text + f" n={m.get('n', 0):,}"


RATE, DELTA, PCT, MS, USD = "{:.1%}", "{:+.1%}", "{:+.1f} %", "{:+,.0f} ms", "{:+,.2f} USD"


def _print(doc: dict[str, Any]) -> None:
    acc, cost, lat, flips = doc["accuracy"], doc["cost"], doc["latency"], doc["flips"]
    print(f"{doc['baseline']} → {doc['candidate']} on {doc['n']:,} requests ({flips['labelled']:,} labelled)")
    print(f"  accuracy          {_est(acc['baseline'], RATE)}  →  {_est(acc['candidate'], RATE)}")
    print(f"  accuracy delta    {_est(acc['delta'], DELTA)}")
    print(f"  cost              ${cost['baseline']['value']:,.2f} → ${cost['candidate']['value']:,.2f}")
    print(f"  cost delta        {_est(cost['delta'], USD)}")
    if cost.get("delta_pct"):
        print(f"  cost delta %      {_est(cost['delta_pct'], PCT)}")
    for name in ("p50", "p95"):
        if name in lat:
            print(f"  latency {name} delta {_est(lat[name]['delta'], MS)}  (estimated)")
    print(f"  flip rate         {_est(flips['rate'], RATE)}")
    for name, bucket in flips["buckets"].items():
        examples = ", ".join(bucket["examples"][:3])
        print(f"    {name:<22} {bucket['count']:>7,}  {('e.g. ' + examples) if examples else ''}")
    slices = doc["slices"]
    for field, rows in slices["by"].items():
        shown = [r for r in rows if r["significant"]][:10]
        if shown:
            print(
                f"  significant slices by {field} ({slices['multiple_testing']}, {slices['n_tests']} tests):"
            )
        for r in shown:
            delta = _est(r["accuracy"]["delta"], DELTA)
            print(f"    {r['value']!s:<20} accuracy {delta}  adjusted {p_text(r['p_adjusted'])}")
    compliance = doc.get("compliance")
    for kind in ("privacy", "residency") if compliance else ():
        was, now = compliance["baseline"][kind]["count"], compliance["candidate"][kind]["count"]
        moved = compliance["delta"][kind]
        examples = ", ".join(moved["examples"][:3])
        print(
            f"  {kind + ' breaches':<18} {was:,} → {now:,}  ({moved['introduced']:,} "
            f"introduced, {moved['resolved']:,} resolved){'  e.g. ' + examples if examples else ''}"
        )
    changes = doc["attribution"]["changes"]
    if changes:
        print("  attribution (router changes behind the flips):")
    for ch in [c for c in changes if c["shared"]["flips"]][:8]:
        shared, name = (
            ch["shared"],
            f"{ch['change']['section']}:{ch['change']['item']} ({ch['change']['change']})",
        )
        net = f", net {shared['net']:+,}" if shared.get("net") is not None else ""
        print(f"    {name:<44} flips {shared['flips']:>6,}{net}, cost {shared['cost_delta_usd']:+,.2f} USD")
    gate = doc["gate"]
    for failure in gate["failures"]:
        print(f"  GATE FAILED: {failure.get('name') or failure['condition']}  ({failure['condition']})")
    if gate["checked"] and gate["passed"]:
        print(f"  gate passed ({len(gate['checked'])} conditions)")


def cmd_compare(args: argparse.Namespace) -> int:
    """Compare two replayed versions; exit 1 when a gate condition holds."""
    from routelab.app.workflows import compare_stored_versions
    from routelab.evaluators.errors import EvaluatorError

    conditions = gate_conditions(args)
    with open_store(args.db) as store:
        try:
            doc = compare_stored_versions(
                store, args.base, args.candidate, by=args.by or (), conditions=conditions, seed=args.seed
            )
        except EvaluatorError as exc:
            raise CliError(str(exc)) from exc
    if args.json:
        print_json(doc)
    else:
        _print(doc)
    return 0 if (doc.get("gate") or {}).get("passed", True) else 1


def register(sub: Any) -> None:
    """Add `compare`."""
    p = sub.add_parser("compare", help="compare two replayed versions; gate a release on the result")
    p.add_argument("base", metavar="BASE")
    p.add_argument("candidate", metavar="CANDIDATE")
    p.add_argument("--by", action="append", metavar="FIELD", help="slice by a request field or `week`")
    p.add_argument("--gate", metavar="FILE", help="gate YAML: conditions that fail the release")
    p.add_argument("--fail-if", action="append", metavar="EXPR", help="e.g. 'accuracy.delta.value < -0.01'")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (recorded with the result)")
    add_db(p)
    add_json(p)
    p.set_defaults(func=cmd_compare)
