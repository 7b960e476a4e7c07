"""`routelab ops [--since DATE] [--until DATE] [--by FIELD ...] [--budget FILE] [--csv DIR] [--json]`.

The operations view of the store's logged traffic (definitions: `evaluators/ops.py` and its modules).
Exit codes: 0 ok, 2 bad input (a bad date or budget file, an unknown field, no logged calls in the window).
"""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path
from typing import Any

from routelab.app.commands.common import CliError, add_db, add_json, open_store, print_json, read_file
from routelab.reports.formatting import p_text

SHOWN = 10


def _date(option: str, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CliError(f"{option} {value!r}: not a date; write YYYY-MM-DD, e.g. 2026-09-07") from None


def _pct(est: dict[str, Any] | None) -> str:
    if not est or est.get("value") is None:
        return "n/a"
    return f"{est['value']:.1%} [{est['ci_low']:.1%}, {est['ci_high']:.1%}]"


def _chg(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.0%}"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def _usd(value: float | None) -> str:
    return "-" if value is None else f"${value:,.2f}"


def _print_prompts(doc: dict[str, Any]) -> None:
    p = doc["prompts"]
    print(f"\n1. Expensive prompts ({p['n_groups']:,} prompt groups)")
    for title, rows in (
        ("by total cost", p["by_total"]),
        (f"by cost per request (groups of >= {p['min_requests']} calls)", p["by_cost_per_request"]),
    ):
        print(f"  prompt groups {title}:" + ("" if rows else " none"))
        for g in rows:
            share = f"{g['cost_share']:.1%}" if g["cost_share"] is not None else "-"
            print(
                f"    {_usd(g['cost_usd']):>10} {share:>6} {g['requests']:>6,} calls "
                f"${g['cost_per_request'] or 0:,.4f}/call  {g['workflow']}/{g['team']}  "
                f"wow {_chg(g['cost_change'])}  {g['prompt_group'][:60]!r}"
            )
    print("  top requests:")
    for r in p["top_requests"]:
        print(f"    ${r['cost_usd']:,.4f}  {r['request_id']}  {r['workflow']}/{r['team']}  {r['model']}")


def _print_reliability(doc: dict[str, Any]) -> None:
    print("\n2. Errors, timeouts and latency (Wilson 95 %; latency without cache hits)")
    print(f"  {'slice':<40} {'calls':>7} {'error rate':<24} {'timeouts':>8} {'failed':>6} p50/p95/p99 ms")
    worst: dict[tuple[str, str], dict[str, Any]] = {}
    for w in doc["reliability"]["weekly"]:
        key = (w["field"], w["value"])
        if key not in worst or (w["error_rate"]["value"] or 0) > (worst[key]["error_rate"]["value"] or 0):
            worst[key] = w
    for r in doc["reliability"]["rows"]:
        lat = "/".join(_ms(r[f"latency_p{q}_ms"]) for q in (50, 95, 99))
        w = worst.get((r["field"], r["value"]))
        peak = f"  worst week {w['period']} {w['error_rate']['value']:.1%}" if w and w["errors"] else ""
        name = f"{r['field']}={r['value']}"[:40]
        print(
            f"  {name:<40} {r['requests']:>7,} {_pct(r['error_rate']):<24} {r['timeouts']:>8,} "
            f"{r['failed']:>6,} {lat}{peak}"
        )


def _print_fallbacks(doc: dict[str, Any]) -> None:
    fb = doc["fallbacks"]
    print("\n3. Fallbacks per primary model and workflow")
    if not fb["recorded"]:
        print("  no fallback recorded in these logs")
    for r in fb["rows"][:SHOWN]:
        served = ", ".join(f"{m} {n}" for m, n in r["served_by"].items()) or "-"
        ratio = f"×{r['cost_ratio']:.1f}" if r["cost_ratio"] is not None else "n/a"
        print(
            f"  {r['model']} in {r['workflow']}: {r['fallbacks']:,} of {r['requests']:,} "
            f"({_pct(r['fallback_rate'])}) served by {served}; median cost {_usd(r['fallback_cost_median'])} "
            f"vs primary {_usd(r['primary_cost_median'])} ({ratio}), extra {_usd(r['extra_cost_usd'])}"
        )
    spikes = [d for d in fb["daily"] if d["spike"]]
    print(f"  spikes (binomial test per model and day, Benjamini–Hochberg FDR {fb['fdr']:g}): {len(spikes)}")
    for d in spikes:
        served = ", ".join(d["served_by"])
        print(
            f"    {d['day']} {d['model']}: {d['fallbacks']} of {d['requests']} "
            f"({d['fallback_rate']['value']:.1%}, usual {d['expected_rate']:.1%}, "
            f"{p_text(d['p_adjusted'], 'p_adj', spaced=True)}) "
            f"served by {served}"
        )


def _print_traffic(doc: dict[str, Any]) -> None:
    c = doc["comparison"]
    when = f"{c['last_week']} vs {c['previous_week']}, first {c['days']} day(s)" if c else "n/a"
    print(f"\n4. Traffic (week over week: {when})")
    print(
        f"  {'slice':<36} {'calls':>7} {'tokens':>13} {'cost':>11} {'share':>6} {'Δ calls':>8} {'Δ cost':>7}"
    )
    shown: dict[str, int] = {}
    for r in doc["traffic"]["rows"]:
        shown[r["field"]] = shown.get(r["field"], 0) + 1
        if shown[r["field"]] > SHOWN:
            continue
        share = f"{r['cost_share']:.1%}" if r["cost_share"] is not None else "-"
        print(
            f"  {(r['field'] + '=' + r['value'])[:36]:<36} {r['requests']:>7,} {r['tokens']:>13,} "
            f"{_usd(r['cost_usd']):>11} {share:>6} {_chg(r['requests_change']):>8} "
            f"{_chg(r['cost_change']):>7}"
        )


def _print_caching(doc: dict[str, Any]) -> None:
    c = doc["caching"]
    print("\n5. Caching (saved: median cost of the same model's uncached calls in the workflow)")
    for r in c["rows"]:
        print(
            f"  {r['workflow']:<16} hit rate {_pct(r['hit_rate']):<24} {r['hits']:>6,} hits  "
            f"{r['tokens_saved']:>12,.0f} tokens  {_usd(r['saved_usd']):>10} saved  "
            f"judged different: {r['judged_bypass']} gold bypass, {r['disputed']} disputed"
        )
    print(
        f"  cache hits with gold: {c['labelled_hits']:,}, annotated: {c['annotated_hits']:,}; "
        f"judged different: {len(c['judged'])}"
    )


def _print_budget(doc: dict[str, Any]) -> None:
    b = doc["budget"]
    if b is None:
        return
    print(
        f"\n6. Budget {b['month']} as of {b['as_of']} ({b['days_elapsed']} of {b['days_in_month']} days; "
        "projection linear in the days so far)"
    )
    rows = b["rows"] if b["budget_given"] else b["rows"][:SHOWN]
    for r in rows:
        used = f"{r['used']:.0%}" if r["used"] is not None else "-"
        print(
            f"  {r['team']:<24} spent {_usd(r['spent_usd']):>10}  "
            f"budget {_usd(r['budget_usd']):>10} ({used:>4})"
            f"  projected {_usd(r['projected_usd']):>10}  {r['status']}"
        )
    if len(rows) < len(b["rows"]):
        print(f"  … {len(b['rows']) - len(rows)} more teams (--json or --csv for all)")


def _write_csv(result: Any, folder: str) -> dict[str, str]:
    out = Path(folder)
    try:
        out.mkdir(parents=True, exist_ok=True)
        written = {}
        for name, table in result.tables().items():
            path = out / f"{name}.csv"
            table.to_csv(path, index=False)
            written[name] = str(path)
    except OSError as exc:
        raise CliError(f"--csv {folder}: cannot write: {exc}") from exc
    return written


def read_budgets(path: str | None) -> dict[str, float] | None:
    """The budget file of `--budget` (team: monthly USD), or None without one; a bad file is a CliError."""
    from routelab.app.ops_flow import BudgetFileError, load_budgets

    if not path:
        return None
    try:
        return load_budgets(read_file(path), path)
    except BudgetFileError as exc:
        raise CliError(str(exc)) from exc


def cmd_ops(args: argparse.Namespace) -> int:
    """The operations view: spend, failures, fallbacks, traffic, caching and budgets from logged calls."""
    from routelab.app.ops_flow import logged_span, ops_stored
    from routelab.evaluators.errors import EvaluatorError

    since, until = _date("--since", args.since), _date("--until", args.until)
    if since and until and since > until:
        raise CliError(f"--since {since} is after --until {until}")
    budgets = read_budgets(args.budget)
    with open_store(args.db) as store:
        try:
            result = ops_stored(store, since, until, by=args.by, budgets=budgets, top=args.top)
        except EvaluatorError as exc:
            raise CliError(str(exc)) from exc
        if result.n == 0:
            n, first, last = logged_span(store)
            span = f"the store's {n:,} run from {first} to {last}" if n else "the store has none"
            raise CliError(
                f"no logged calls between {since or 'the start'} and {until or 'the end'}; {span} "
                "(import production logs: routelab import FILE --format litellm-spend or openai-chat)"
            )
    doc: dict[str, Any] = result.model_dump(mode="json")
    if args.csv:
        doc["csv"] = _write_csv(result, args.csv)
    if args.json:
        print_json(doc)
        return 0
    c = doc["first_ts"], doc["last_ts"]
    print(
        f"logged traffic {c[0]} … {c[1]}: {doc['n']:,} calls, {_usd(doc['cost_usd'])}, "
        f"{doc['tokens']:,} tokens"
    )
    _print_prompts(doc)
    _print_reliability(doc)
    _print_fallbacks(doc)
    _print_traffic(doc)
    _print_caching(doc)
    _print_budget(doc)
    for note in doc["notes"]:
        print(f"note: {note}")
    if args.csv:
        print(f"wrote {len(doc['csv'])} CSV tables to {args.csv}")
    return 0


def register(sub: Any) -> None:
    """Add `ops`."""
    p = sub.add_parser(
        "ops",
        help="operations view of logged traffic: spend, failures, fallbacks, traffic, caching, budgets",
        description="Answers from the store's logged outcomes (production logs or the demo). Dates are days "
        "(YYYY-MM-DD), both ends inclusive.",
    )
    p.add_argument("--since", metavar="DATE", help="first day (inclusive)")
    p.add_argument("--until", metavar="DATE", help="last day (inclusive)")
    p.add_argument(
        "--by",
        action="extend",
        nargs="+",
        metavar="FIELD",
        help="slice fields of the reliability and traffic tables, `a*b` crosses two "
        "(default: workflow, model, provider; and team, workflow)",
    )
    p.add_argument("--budget", metavar="FILE", help="YAML mapping of team to monthly budget in USD")
    p.add_argument("--csv", metavar="DIR", help="write every table as DIR/NAME.csv")
    p.add_argument(
        "--top", type=int, default=SHOWN, metavar="N", help=f"rows of the top tables (default {SHOWN})"
    )
    add_db(p)
    add_json(p)
    p.set_defaults(func=cmd_ops)
