"""`routelab report BASE CAND [--out PATH] [--format F] [--gate FILE] [--fail-if E] [--budget FILE]`.

Builds the report bundle from the store (`report_flow.report_bundle`), renders it with `routelab.reports`
and writes the report and, next to it, the bundle as `<out>.json` so anyone can check the numbers.

Exit codes: 0 ship or ship with caveats, 1 do not ship (a gate condition held), 2 bad input.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

from routelab.app.commands.common import CliError, add_db, open_store
from routelab.app.commands.compare import gate_conditions
from routelab.app.commands.ops import read_budgets

FORMATS = ("html", "pdf", "md")
UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def default_out(base: str, candidate: str, fmt: str) -> Path:
    """`report-<base>-<cand>.<ext>` in the working directory, '@', '/' and the like made filename-safe."""
    return Path(f"report-{UNSAFE.sub('_', base)}-{UNSAFE.sub('_', candidate)}.{fmt}")


def write_report(bundle: dict[str, Any], out: Path, fmt: str) -> Path:
    """Render `bundle` as `fmt` to `out` and save the bundle as `<out>.json`; returns the bundle's path."""
    from routelab.reports.bundle import dumps
    from routelab.reports.markdown import render_markdown
    from routelab.reports.pdf import html_to_pdf
    from routelab.reports.render import render_html

    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "md":
        out.write_text(render_markdown(bundle), encoding="utf-8")
    elif fmt == "pdf":
        html_to_pdf(render_html(bundle), out)
    else:
        out.write_text(render_html(bundle), encoding="utf-8")
    saved = out.with_name(out.name + ".json")
    saved.write_text(dumps(bundle), encoding="utf-8")
    return saved


def cmd_report(args: argparse.Namespace) -> int:
    """Write the report of BASE → CAND; exit 1 when the verdict is do not ship."""
    from datetime import UTC, datetime

    from routelab.app.report_flow import report_bundle
    from routelab.evaluators.errors import EvaluatorError
    from routelab.reports.bundle import clean
    from routelab.reports.errors import ReportError
    from routelab.reports.formatting import plain
    from routelab.reports.verdict import decide

    conditions = gate_conditions(args)
    budgets = read_budgets(args.budget)
    out = Path(args.out) if args.out else default_out(args.base, args.candidate, args.format)
    with open_store(args.db, read_only=True) as store:
        try:
            raw = report_bundle(
                store,
                args.base,
                args.candidate,
                conditions=conditions,
                seed=args.seed,
                at=datetime.now(UTC),
                budgets=budgets,
            )
        except EvaluatorError as exc:
            raise CliError(str(exc)) from exc
    # the report is rendered from the JSON-exact bundle it saves, so the two always agree
    bundle = clean(raw)
    try:
        saved = write_report(bundle, out, args.format)
    except ReportError as exc:
        raise CliError(str(exc)) from exc
    except OSError as exc:
        raise CliError(f"{out}: cannot write: {exc}") from exc
    verdict = decide(bundle)
    print(f"report: {out}")
    print(f"bundle: {saved}")
    print(f"verdict: {verdict.decision}")
    for reason in verdict.reasons:
        print(f"  - {plain(reason.text)}")
    if verdict.failures:
        for caveat in verdict.caveats:
            print(f"  caveat: {plain(caveat.text)}")
    return verdict.exit_code


def register(sub: Any) -> None:
    """Add `report`."""
    p = sub.add_parser("report", help="write the leaders' report of BASE → CAND (HTML, PDF or Markdown)")
    p.add_argument("base", metavar="BASE")
    p.add_argument("candidate", metavar="CANDIDATE")
    p.add_argument("--out", metavar="PATH", help="report file (default: report-BASE-CAND.EXT here)")
    p.add_argument("--format", choices=FORMATS, default="html", help="html (default), pdf or md")
    p.add_argument("--gate", metavar="FILE", help="gate YAML: conditions that fail the release")
    p.add_argument("--fail-if", action="append", metavar="EXPR", help="e.g. 'accuracy.delta.ci_high < 0'")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (recorded in the report)")
    p.add_argument(
        "--budget", metavar="FILE", help="YAML of team: monthly budget in USD, for the operations section"
    )
    add_db(p)
    p.set_defaults(func=cmd_report)
