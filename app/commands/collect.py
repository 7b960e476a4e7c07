"""`routelab collect`: call models on a seeded sample of stored requests through litellm, store the outcomes.

The library (`routelab.datasets.collect`) does the calls and the bookkeeping; this command parses options,
prints the run's figures, and reports how far the LLM judge agrees with the annotators (Cohen's kappa from
the evaluators, which the datasets layer may not import).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from routelab.app.commands.common import CliError, add_db, add_json, open_store, print_json

#: A judge score at or above this counts as "correct" when compared with the annotators' verdicts.
DEFAULT_THRESHOLD = 7.0


def parse_models(values: list[str] | None) -> tuple[str, ...]:
    """`--models all`, `--models a,b` or `--models a b` → the model names (`("all",)` for all)."""
    names = [n.strip() for v in values or [] for n in v.split(",") if n.strip()]
    if "all" in names and len(names) > 1:
        raise CliError("--models: give `all` alone, or a list of model ids")
    return tuple(names)


def human_verdicts(annotations: Any) -> Any:
    """One verdict per request from the current annotations: the adjudication, else the majority of the
    judgements (ties and `unsure` dropped). A frame of request_id, verdict."""
    import pandas as pd

    ann = annotations[annotations["verdict"].isin(["correct", "incorrect"])]
    adjudicated = ann[ann["kind"] == "adjudication"].sort_values("created_at").groupby("request_id").tail(1)
    rest = ann[(ann["kind"] == "judgement") & ~ann["request_id"].isin(adjudicated["request_id"])]
    counts = rest.groupby(["request_id", "verdict"]).size().unstack(fill_value=0)
    for verdict in ("correct", "incorrect"):
        if verdict not in counts.columns:
            counts[verdict] = 0
    majority = counts[counts["correct"] != counts["incorrect"]]
    voted = pd.DataFrame(
        {
            "request_id": majority.index,
            "verdict": [
                "correct" if c > i else "incorrect"
                for c, i in zip(majority["correct"], majority["incorrect"], strict=True)
            ],
        }
    )
    return pd.concat([adjudicated[["request_id", "verdict"]], voted], ignore_index=True)


def judge_agreement(scores: Any, annotations: Any, threshold: float) -> dict[str, Any]:
    """Cohen's kappa of the annotators' verdicts and the judge (score ≥ threshold → correct)."""
    from routelab.evaluators.agreement import cohen_kappa

    both = scores.merge(human_verdicts(annotations), on="request_id")
    if both.empty:
        return {
            "n": 0,
            "threshold": threshold,
            "note": "no request has both a judge score and a human verdict",
        }
    judge = ["correct" if q >= threshold else "incorrect" for q in both["quality"]]
    result = cohen_kappa(list(both["verdict"]), judge)
    return {"threshold": threshold, **result.model_dump()}


def _check_resume(run: Any, args: argparse.Namespace) -> None:
    """A resume collects what the run was started with: a different option is an error, not a surprise."""
    if run.router != args.version:
        raise CliError(f"run {args.resume} collects {run.router}, not {args.version}")
    opts = run.options
    given = {
        "--sample": (args.sample, opts.sample),
        "--seed": (args.seed, opts.seed),
        "--judge": (args.judge, opts.judge),
        "--models": (parse_models(args.models) or None, tuple(opts.models) or None),
    }
    if args.replace and not opts.replace:
        raise CliError(f"run {args.resume} was started without --replace; drop --replace when resuming")
    for flag, (value, stored) in given.items():
        if value is not None and value != stored and not (flag == "--models" and value == ("all",)):
            raise CliError(f"run {args.resume} was started with {flag} {stored}; drop {flag} when resuming")


def cmd_collect(args: argparse.Namespace) -> int:
    """Start (or resume) a collection run and print its figures."""
    from routelab.datasets import collect, queries
    from routelab.datasets.collect_litellm import CollectError

    if args.concurrency < 1:
        raise CliError(f"--concurrency must be at least 1 (got {args.concurrency})")
    with open_store(args.db) as store:
        try:
            if args.resume:
                _check_resume(collect.load_run(store, args.resume), args)
                run_id = args.resume
            else:
                if args.sample is None:
                    raise CliError("give --sample N (requests to sample), or --resume RUN_ID")
                options = collect.CollectOptions(
                    sample=args.sample,
                    models=parse_models(args.models),
                    judge=args.judge,
                    seed=args.seed or 0,
                    replace=args.replace,
                )
                budget = collect.DEFAULT_BUDGET_USD if args.budget is None else args.budget
                run_id = collect.start(store, args.version, options, budget)
            hint = f"`routelab collect {args.version} --resume {run_id}`"
            try:
                rep = collect.run(
                    store,
                    run_id,
                    budget_usd=args.budget if args.resume else None,
                    concurrency=args.concurrency,
                    progress=not args.json and sys.stderr.isatty(),
                )
            except KeyboardInterrupt:
                print(
                    f"routelab: interrupted: run {run_id} keeps its finished calls; resume with {hint}",
                    file=sys.stderr,
                )
                return 130
            except CollectError as exc:
                raise CliError(
                    f"{exc}\nrun {run_id} stopped; its finished calls are stored; resume with {hint}"
                ) from exc
        except CollectError as exc:
            raise CliError(str(exc)) from exc
        agreement = None
        if collect.load_run(store, run_id).options.judge:
            agreement = judge_agreement(
                collect.judged(store, run_id), queries.annotations(store, args.version), args.threshold
            )
    data = {**rep.__dict__, "remaining_usd": rep.remaining_usd, "judge_agreement": agreement, "resume": hint}
    if args.json:
        print_json(data)
        return 0
    for line in _lines(rep, agreement, hint):
        print(line)
    return 0


def _lines(rep: Any, agreement: dict[str, Any] | None, hint: str) -> list[str]:
    lines = [
        f"{rep.router}: collection run {rep.run_id} {rep.status} (price table {rep.price_table_id})",
        f"  {rep.sample} requests sampled; outcomes: {rep.outcomes_logged} logged "
        f"(chosen path, propensity 1.0), {rep.outcomes_full} full",
        f"  {rep.calls} calls, {rep.failed_calls} failed, {rep.retries} retries; "
        f"{rep.fallbacks_taken} fallbacks taken",
        f"  spent ${rep.spent_usd:.4f} of ${rep.budget_usd:.2f} (remaining ${rep.remaining_usd:.4f}); "
        f"judge ${rep.judge_usd:.4f}; litellm's own figure "
        + ("n/a" if rep.litellm_usd is None else f"${rep.litellm_usd:.4f}"),
    ]
    if rep.skipped_existing:
        lines.append(
            f"  {rep.skipped_existing} outcomes were already in the store and left alone (--replace to redo)"
        )
    if rep.judged or rep.unscored:
        lines.append(
            f"  judge: {rep.judged} outcomes scored 1-10, {rep.unscored} judge replies without a score"
        )
    if agreement is not None:
        if agreement.get("n"):
            kappa = "n/a" if agreement["kappa"] is None else f"{agreement['kappa']:.2f}"
            lines.append(
                f"  judge vs annotators (score >= {agreement['threshold']:g} = correct): kappa {kappa} "
                f"({agreement['band']}) on {agreement['n']} requests, "
                f"raw agreement {agreement['observed']:.0%}"
            )
        else:
            lines.append(f"  judge vs annotators: {agreement['note']}")
    if rep.stopped:
        lines.append(f"  stopped: {rep.stopped}; raise --budget and resume with {hint}")
    return lines


def register(sub: Any) -> None:
    """Add `collect`."""
    p = sub.add_parser(
        "collect",
        help="call models on a sample of stored requests through litellm and store the outcomes",
        description=(
            "Send a seeded sample of stored requests down a router version's chosen paths (and optionally "
            "every candidate model) through litellm; record latency, time to first token, tokens, cost, "
            "errors and fallbacks as outcomes. API keys are read from the environment only."
        ),
    )
    p.add_argument("version", metavar="NAME@VERSION")
    p.add_argument("--sample", type=int, metavar="N", help="requests to sample (required for a new run)")
    p.add_argument(
        "--models",
        nargs="+",
        metavar="MODEL",
        help="also call these candidate models (or `all`) for full outcomes",
    )
    p.add_argument("--judge", metavar="MODEL", help="score every answer 1-10 with this model (LLM as judge)")
    p.add_argument(
        "--threshold",
        type=float,
        default=DEFAULT_THRESHOLD,
        metavar="SCORE",
        help=f"judge score counted as correct when compared with annotations (default {DEFAULT_THRESHOLD:g})",
    )
    p.add_argument(
        "--concurrency", type=int, default=4, metavar="K", help="calls in flight at once (default 4)"
    )
    p.add_argument("--budget", type=float, metavar="USD", help="hard cap on the run's spend (default 1.00)")
    p.add_argument("--seed", type=int, metavar="S", help="seed of the sample (default 0)")
    p.add_argument(
        "--resume", metavar="RUN_ID", help="continue an interrupted or capped run; nothing is paid twice"
    )
    p.add_argument(
        "--replace",
        action="store_true",
        help="also call where the store already holds that outcome, and overwrite it",
    )
    add_db(p)
    add_json(p)
    p.set_defaults(func=cmd_collect)
