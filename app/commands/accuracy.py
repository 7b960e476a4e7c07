"""`routelab eval NAME@VER [--by FIELD ...] [--baseline MODEL] [--json]`: routing accuracy of one version."""

from __future__ import annotations

import argparse
from typing import Any

from routelab.app.commands.common import CliError, add_db, add_json, open_store, print_json


def _rate(est: Any) -> str:
    if est.value is None:
        return "   n/a" + f"  (n={est.n})"
    return f"{est.value:6.1%}  [{est.ci_low:.1%}, {est.ci_high:.1%}]  n={est.n:,}"


def _print_summary(s: Any, indent: str = "  ") -> None:
    c = s.counts
    print(
        f"{indent}decisions {c.decisions:,}: labelled {c.labelled:,}, abstain {c.abstain:,}, "
        f"unresolved {c.unresolved:,}, unlabelled {c.unlabelled:,}"
    )
    print(f"{indent}acceptable-set accuracy  {_rate(s.acceptable_set)}")
    print(f"{indent}exact-path accuracy      {_rate(s.exact_path)}")
    for name, est in s.components.items():
        print(f"{indent}  {name:<12}           {_rate(est)}")
    for label, mis in (("over-routing", s.over_routing), ("under-routing", s.under_routing)):
        money = f"  ${mis.spend_usd:,.2f}" if mis.spend_usd is not None else ""
        print(f"{indent}{label:<24} {_rate(mis.rate)}{money}")
    if s.cost_per_1k_usd is not None:
        print(f"{indent}cost per 1,000 requests  ${s.cost_per_1k_usd:,.2f}")
    if s.latency_p50_ms is not None:
        p50, p95 = s.latency_p50_ms, s.latency_p95_ms
        print(f"{indent}latency p50 / p95        {p50:,.0f} / {p95:,.0f} ms (estimated)")
    if s.savings is not None:
        sv = s.savings
        print(
            f"{indent}savings vs {sv.baseline_model}: ${sv.savings_usd:,.2f} "
            f"(${sv.router_cost_usd:,.2f} vs ${sv.baseline_cost_usd:,.2f}, {sv.basis}, n={sv.n:,})"
        )


def cmd_eval(args: argparse.Namespace) -> int:
    """Routing accuracy of a replayed version, overall and by slice, with Wilson intervals."""
    from routelab.app.workflows import evaluate_stored_version
    from routelab.evaluators.errors import EvaluatorError

    with open_store(args.db) as store:
        try:
            result = evaluate_stored_version(
                store, args.version, by=args.by or (), baseline_model=args.baseline
            )
        except EvaluatorError as exc:
            raise CliError(str(exc)) from exc
    if args.json:
        print_json(result.model_dump(mode="json"))
        return 0
    sources = ", ".join(f"{k} {v:,}" for k, v in result.params.gold_counts.items() if v)
    print(f"{args.version}: routing accuracy, 95 % Wilson intervals (gold labels: {sources})")
    _print_summary(result.overall)
    for field, slices in result.breakdowns.items():
        print(f"by {field}:")
        for sl in slices:
            print(f"  {sl.value:<24} {_rate(sl.summary.acceptable_set)}")
    for warning in result.warnings:
        print(f"note: {warning}")
    return 0


def register(sub: Any) -> None:
    """Add `eval`."""
    p = sub.add_parser("eval", help="routing accuracy, misrouting, cost and latency of one replayed version")
    p.add_argument("version", metavar="NAME@VERSION")
    p.add_argument("--by", action="append", metavar="FIELD", help="break down by a request field or `week`")
    p.add_argument("--baseline", metavar="MODEL", help="savings against sending everything to this model")
    add_db(p)
    add_json(p)
    p.set_defaults(func=cmd_eval)
