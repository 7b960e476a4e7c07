"""`routelab frontier [NAME@VER ...] [--group FIELD] [--sweep KNOB] [--json]` and `routelab ope NAME@VER`."""

from __future__ import annotations

import argparse
from typing import Any

from routelab.app.commands.common import CliError, add_db, add_json, open_store, print_json


def _point(p: dict[str, Any]) -> str:
    return f"quality {p['quality']:.4f}  cost/1k ${p['cost_per_1k_usd']:,.4f}  (n={p['n']:,})"


def _print_frontier(doc: dict[str, Any]) -> None:
    for name, g in doc["groups"].items():
        print(
            f"group {name}: {g['n_requests']:,} requests with every model scored ({g['n_dropped']:,} dropped)"
        )
        for model, p in sorted(g["models"].items(), key=lambda kv: kv[1]["cost_per_1k_usd"]):
            best = "  best single" if model == g["best_single"] else ""
            print(f"  {model:<52} {_point(p)}{best}")
        print(f"  {'oracle':<52} {_point(g['oracle'])}")
        print(f"  {'random (uniform, expected)':<52} {_point(g['random'])}")
        if g["zero_router_aiq"] is not None:
            print(f"  zero router AIQ ({g['aiq_variant']}): {g['zero_router_aiq']:.4f}")
        for ref, v in g["versions"].items():
            if len(v["points"]) == 1:
                q = v["quality"]
                print(
                    f"  {ref:<52} quality {q['value']:.4f} [{q['ci_low']:.4f}, {q['ci_high']:.4f}]  cost/1k "
                    f"${v['points'][0]['cost_per_1k_usd']:,.4f}  oracle gap {v['oracle_gap']:+.4f}  vs best "
                    f"single {v['improvement_over_best_single']:+.4f}"
                )
            else:
                aiq = f"  AIQ {v['aiq']:.4f}" if v["aiq"] is not None else ""
                knob = v.get("knob") or {"name": "knob", "values": list(range(len(v["points"])))}
                print(f"  {ref} sweep of {knob['name']}: {len(v['points'])} points{aiq}")
                for value, p in zip(knob["values"], v["points"], strict=True):
                    print(f"    {knob['name']} = {value:<10g} {_point(p)}")
            t = v.get("threshold")
            if t:
                cpt = ", ".join(
                    f"CPT({k}) {c:.2f} %" if c is not None else f"CPT({k}) n/a" for k, c in t["cpt"].items()
                )
                print(f"    APGR {t['apgr']:.4f}  AUC {t['auc']:.4f}  {cpt}  (strong {t['strong']})")
        print(f"  Pareto frontier: {', '.join(g['pareto'])}")
    for warning in doc.get("warnings", []):
        print(f"note: {warning}")


def cmd_frontier(args: argparse.Namespace) -> int:
    """The cost–quality frontier with baselines, and the versions on it."""
    from routelab.app.frontier_flow import frontier_stored
    from routelab.evaluators.errors import EvaluatorError

    with open_store(args.db) as store:
        try:
            doc = frontier_stored(
                store, args.versions, group=args.group, sweep=args.sweep, aiq_variant=args.aiq, seed=args.seed
            )
        except EvaluatorError as exc:
            raise CliError(str(exc)) from exc
    if args.json:
        print_json(doc)
    else:
        _print_frontier(doc)
    return 0


def _print_ope(doc: dict[str, Any], ref: str) -> None:
    print(
        f"{ref} from production logs: {doc['n']:,} requests, {doc['n_matched']:,} where the logged model "
        f"is the version's; effective sample size {doc['ess']:,.0f}; support {doc['support_share']:.1%}"
    )
    truth = doc.get("truth") or {}
    for metric, estimates in doc["estimates"].items():
        known = f"  full-information truth {truth[metric]:.5g}" if truth.get(metric) is not None else ""
        print(f"  {metric}: logged policy {doc['logged_value'][metric]:.5g}{known}")
        for name, e in estimates.items():
            print(f"    {name:<6} {e['value']:.5g}  [{e['ci_low']:.5g}, {e['ci_high']:.5g}]  ({e['method']})")
    for warning in doc["warnings"]:
        print(f"note: {warning}")


def cmd_ope(args: argparse.Namespace) -> int:
    """Off-policy estimates of a version's quality and cost from logged outcomes."""
    from routelab.app.frontier_flow import ope_stored
    from routelab.evaluators.errors import EvaluatorError

    with open_store(args.db) as store:
        try:
            doc = ope_stored(
                store,
                args.version,
                features=args.feature or ("workflow", "task"),
                seed=args.seed,
                n_resamples=args.resamples,
            )
        except EvaluatorError as exc:
            raise CliError(str(exc)) from exc
    if args.json:
        print_json(doc)
    else:
        _print_ope(doc, args.version)
    return 0


def register(sub: Any) -> None:
    """Add `frontier` and `ope`."""
    p = sub.add_parser("frontier", help="cost–quality frontier: single models, oracle, random, versions, AIQ")
    p.add_argument("versions", nargs="*", metavar="NAME@VERSION", help="default: every replayed version")
    p.add_argument(
        "--group", metavar="FIELD", help="evaluation group: eval_group (default) or a request field"
    )
    p.add_argument("--sweep", metavar="KNOB", help="draw each version with this knob as a curve")
    p.add_argument(
        "--aiq", choices=("paper", "routerbench"), default="paper", help="AIQ definition (default paper)"
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the random-router draws")
    add_db(p)
    add_json(p)
    p.set_defaults(func=cmd_frontier)
    p = sub.add_parser("ope", help="a version's quality and cost from production logs (IPS, SNIPS, DR)")
    p.add_argument("version", metavar="NAME@VERSION")
    p.add_argument(
        "--feature", action="append", metavar="FIELD", help="direct-model cells (default workflow, task)"
    )
    p.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples (default 1000)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (recorded)")
    add_db(p)
    add_json(p)
    p.set_defaults(func=cmd_ope)
