"""`routelab drift NAME@VER [--reference RANGE] [--current RANGE | --by week|day] [--versus BASE] [--json]`.

Exit codes: 0 no alarm stands (or `--fail-on-alarm` was not given), 1 an alarm stands with
`--fail-on-alarm`, 2 bad input.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from routelab.app.commands.common import CliError, add_db, add_json, open_store, print_json
from routelab.reports.formatting import p_text

SHOWN_FLAGS = 8
SHOWN_ALARMS = 15


def _rate(est: dict[str, Any]) -> str:
    if est.get("value") is None:
        return "n/a"
    return f"{est['value']:.1%} [{est['ci_low']:.1%}, {est['ci_high']:.1%}]"


def _harm(h: dict[str, Any]) -> str:
    if h["metric"] == "cost_per_request":
        before, after = f"${1000 * h['reference']:,.2f}", f"${1000 * h['current']:,.2f}"
        return f"cost/1k {before} → {after} ({h['test']} {p_text(h['p_value'])})"
    return f"{h['metric']} {h['reference']:.1%} → {h['current']:.1%} ({h['test']} {p_text(h['p_value'])})"


def _print_alarms(alarms: list[dict[str, Any]], n_tests: int, fdr: float) -> None:
    print(
        f"silent routing failures: {len(alarms)} alarm(s) (Benjamini–Hochberg over {n_tests:,} slice tests, "
        f"FDR {fdr:g}; most impact first)"
    )
    for i, a in enumerate(alarms[:SHOWN_ALARMS], 1):
        impact = []
        if a["extra_wrong"] is not None:
            impact.append(f"~{a['extra_wrong']:,.0f} more wrong")
        if a["extra_cost_usd"] is not None:
            impact.append(f"+${a['extra_cost_usd']:,.2f}")
        print(
            f"  {i:>2}. {a['window']}  {a['slice_field']}={a['slice_value']}  n {a['n_reference']:,}→"
            f"{a['n_current']:,}  {a['shift']:.0%} on another path  {', '.join(impact)}  "
            f"{p_text(a['p_adjusted'], 'p_adj')}"
        )
        for h in a["harms"]:
            print(f"        {_harm(h)}")
        top = a["moves"][0] if a["moves"] else None
        if top:
            print(f"        most moved: {top['value']}  {top['reference']:.0%} → {top['current']:.0%}")
        print(f"        e.g. {', '.join(a['examples'])}")
    if len(alarms) > SHOWN_ALARMS:
        print(f"  … {len(alarms) - SHOWN_ALARMS} more (--json for all)")


def _print_timeline(timeline: dict[str, Any]) -> None:
    print(f"timeline by {timeline['period']}:")
    print(
        f"  {'period':<11} {'n':>7} {'cost/1k':>9} {'p95 ms':>8} {'fallback':>9} {'cache':>7} {'accuracy':>9}"
    )
    for p in timeline["periods"]:
        cost = f"${p['cost_per_1k_usd']:,.2f}" if p["cost_per_1k_usd"] is not None else "-"
        p95 = f"{p['latency_p95_ms']:,.0f}" if p["latency_p95_ms"] is not None else "-"
        fb = f"{p['fallback_rate']['value']:.1%}" if p.get("fallback_rate") else "-"
        ch = f"{p['cache_hit_rate']['value']:.1%}" if p.get("cache_hit_rate") else "-"
        acc = f"{p['accuracy']['value']:.1%}" if p["accuracy"]["value"] is not None else "-"
        print(f"  {p['label']:<11} {p['n']:>7,} {cost:>9} {p95:>8} {fb:>9} {ch:>7} {acc:>9}")


def _print_window(w: dict[str, Any]) -> None:
    """The drifted measures of one window, grouped by kind, most telling first."""
    print(f"{w['window']['label']}: {len(w['flagged'])} drifted measure(s)")
    mix = sorted((r for r in w["route_mix"] if r["drifted"]), key=lambda r: -r["psi"])
    if mix:
        top = ", ".join(
            f"{r['component']} in {r['slice_field']}={r['slice_value']} (PSI {r['psi']:.2f})" for r in mix[:3]
        )
        print(f"  route mix: {len(mix)} drifted, most: {top}")
    inputs = [i for i in w["inputs"] if i["drift"]["drifted"]]
    if inputs:
        print("  inputs: " + ", ".join(f"{i['feature']} ({i['drift']['test']})" for i in inputs))
    conf = w["confidence"]
    if conf and conf["drifted"]:
        print(
            f"  confidence: mean {conf['reference_mean']:.2f} → {conf['current_mean']:.2f} "
            f"(KS {p_text(conf['p_value'])})"
        )
    outcomes = sorted((o for o in w["outcomes"] if o["drifted"]), key=lambda o: o["p_adjusted"])
    for o in outcomes[:SHOWN_FLAGS]:
        rel = f" ({o['relative_change']:+.0%})" if o["relative_change"] is not None else ""
        where = "" if o["slice_field"] == "all" else f" for {o['slice_field']}={o['slice_value']}"
        print(
            f"  {o['source']} {o['metric']}{where}: {o['reference']:.4g} → {o['current']:.4g}{rel} "
            f"({o['test']} {p_text(o['p_adjusted'], 'p_adj')})"
        )
    if len(outcomes) > SHOWN_FLAGS:
        print(f"  … {len(outcomes) - SHOWN_FLAGS} more outcome changes (--json for all)")
    acc = w["accuracy"]
    if acc["drifted"]:
        print(
            f"  accuracy: {_rate(acc['reference'])} → {_rate(acc['current'])} "
            f"(z-test {p_text(acc['p_value'])})"
        )
    for c in w["chunks"]:
        if c["outside"]:
            band = c["band"]
            print(
                f"  {c['metric']}: {c['current']:.4g} outside the reference chunks' "
                f"[{band['lower']:.4g}, {band['upper']:.4g}]"
            )


def _print_time(doc: dict[str, Any]) -> None:
    params, windows = doc["params"], doc["windows"]
    ref = windows[0]["reference"]["label"] if windows else "-"
    mode = f"every {params['by']}" if params["by"] else "one window"
    gold = ", ".join(f"{k} {v:,}" for k, v in params["gold_counts"].items() if v) or "none"
    print(f"{params['router']}: drift of {mode} against the reference {ref} (gold: {gold})")
    print(f"  {'window':<24} {'n':>7} {'accuracy (95 % Wilson)':<28} {'reference':<10} {'flags':>5}")
    for w in windows:
        mark = "*" if w["excluded"] else " "
        acc = w["accuracy"]
        ref_acc = f"{acc['reference']['value']:.1%}" if acc["reference"]["value"] is not None else "n/a"
        label = w["window"]["label"] + mark
        current = _rate(acc["current"])
        print(f"  {label:<24} {w['n_current']:>7,} {current:<28} {ref_acc:<10} {len(w['flagged']):>5}")
    if any(w["excluded"] for w in windows):
        print("  * inside the reference: compared with the reference minus itself")
    for w in windows:
        if w["flagged"]:
            _print_window(w)
    for warning in doc["warnings"]:
        print(f"note: {warning}")
    _print_timeline(doc["timeline"])
    _print_alarms(doc["alarms"], doc["n_slices_tested"], params["alarms"]["fdr"])
    _print_compliance_alarms(doc.get("compliance_alarms") or [], doc.get("compliance_tests", 0))


def _print_compliance_alarms(alarms: list[dict[str, Any]], tested: int) -> None:
    if not alarms:
        print(f"compliance: no window's privacy or residency breach rate rose ({tested} tests)")
        return
    print(f"compliance: {len(alarms)} alarm(s) of {tested} tests (breach rate above the reference's)")
    for a in alarms:
        ref, cur = a["reference_rate"], a["current_rate"]
        print(
            f"  {a['window']:<10} {a['kind']:<9} {ref['value']:.1%} → {cur['value']:.1%} "
            f"(+{a['change']:.1%}, Fisher {p_text(a['p_adjusted'], 'p_adj')}) "
            f"e.g. {', '.join(a['examples'][:3])}"
        )


def _print_versions(doc: dict[str, Any]) -> None:
    shares = doc["route_shares"]
    print(f"{doc['base']} → {doc['candidate']} on the same {doc['n']:,} requests: route-share shifts")
    top = sorted(
        (r for r in shares["rows"] if r["significant"]), key=lambda r: -abs(r["delta"]["value"]) * r["n"]
    )[:SHOWN_ALARMS]
    print(f"  {'slice':<34} {'component':<10} {'value':<34} {'base':>6} {'cand':>6}  delta [95 % CI]")
    for r in top:
        d = r["delta"]
        where = f"{r['slice_field']}={r['slice_value']}"[:34]
        print(
            f"  {where:<34} {r['component']:<10} {r['value'][:34]:<34} {r['share_base']:>6.1%} "
            f"{r['share_candidate']:>6.1%}  {d['value']:+.1%} [{d['ci_low']:+.1%}, {d['ci_high']:+.1%}]"
        )
    print(f"  ({shares['method_note']})")
    _print_alarms(doc["alarms"], doc["n_slices_tested"], doc["settings"]["fdr"])


def _thresholds(args: argparse.Namespace) -> Any:
    from routelab.evaluators.drift_stats import DriftThresholds

    try:
        return DriftThresholds(p_value=args.p_value, distance=args.distance, small_sample=args.small_sample)
    except ValueError as exc:
        error = exc.errors()[0]  # type: ignore[attr-defined]
        option = {"p_value": "--p-value", "distance": "--distance", "small_sample": "--small-sample"}
        raise CliError(f"{option.get(error['loc'][0], 'thresholds')}: {error['msg']}") from exc


def cmd_drift(args: argparse.Namespace) -> int:
    """Drift over time (or between two versions) and the silent failures it hides."""
    from routelab.app.workflows import drift_between_versions, drift_stored_version
    from routelab.evaluators.errors import EvaluatorError

    if args.versus and (args.reference or args.by):
        raise CliError("--versus compares two versions on the same traffic; drop --reference/--by")
    thresholds = _thresholds(args)
    if not args.json:
        print("measuring drift …", file=sys.stderr, flush=True)
    with open_store(args.db) as store:
        try:
            if args.versus:
                doc = drift_between_versions(
                    store, args.versus, args.version, window=args.current, slices=args.slice, fdr=args.fdr
                )
            else:
                doc = drift_stored_version(
                    store,
                    args.version,
                    reference=args.reference,
                    current=args.current,
                    by=args.by or "week",
                    features=args.feature,
                    slices=args.slice,
                    chunks=args.chunks,
                    thresholds=thresholds,
                    min_change=args.min_change,
                    fdr=args.fdr,
                )
        except EvaluatorError as exc:
            raise CliError(str(exc)) from exc
    if args.json:
        print_json(doc)
    elif args.versus:
        _print_versions(doc)
    else:
        _print_time(doc)
    return 1 if args.fail_on_alarm and (doc["alarms"] or doc.get("compliance_alarms")) else 0


def register(sub: Any) -> None:
    """Add `drift`."""
    p = sub.add_parser(
        "drift",
        help="route-mix, input, outcome and accuracy drift over time; silent routing failures",
        description="Windows: a day 2026-09-07, an ISO week 2026-W37, or START..END of those (inclusive; "
        "either end may be open). Without --reference: the first half of the traffic's weeks (at most 4).",
    )
    p.add_argument("version", metavar="NAME@VERSION")
    p.add_argument("--reference", metavar="RANGE", help="reference window (default: the first weeks)")
    when = p.add_mutually_exclusive_group()
    when.add_argument("--current", metavar="RANGE", help="one current window (with --versus: the traffic)")
    when.add_argument(
        "--by", choices=("week", "day"), help="every week or day against the reference (default)"
    )
    p.add_argument("--versus", metavar="BASE@VERSION", help="what switching from BASE to this version moves")
    p.add_argument("--feature", action="append", metavar="FIELD", help="input feature (default: every field)")
    p.add_argument(
        "--slice",
        action="append",
        metavar="FIELD",
        help="slice field, `a*b` crosses two (default: workflow, workflow*task, team, region, data_class)",
    )
    p.add_argument("--chunks", type=int, metavar="N", help="data-driven thresholds over N reference chunks")
    p.add_argument("--p-value", type=float, default=0.05, help="test threshold (default 0.05)")
    p.add_argument("--distance", type=float, default=0.1, help="distance threshold (default 0.1)")
    p.add_argument(
        "--small-sample",
        type=int,
        default=1000,
        metavar="N",
        help="reference rows up to which input drift uses a test, above a distance (default 1000)",
    )
    p.add_argument(
        "--min-change", type=float, default=0.1, help="least relative outcome change (default 0.1)"
    )
    p.add_argument(
        "--fdr", type=float, default=0.05, help="false discovery rate of the alarms (default 0.05)"
    )
    p.add_argument("--fail-on-alarm", action="store_true", help="exit 1 when any alarm stands")
    add_db(p)
    add_json(p)
    p.set_defaults(func=cmd_drift)
