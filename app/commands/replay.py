"""`routelab replay` (decide stored requests, or request Parquet on Ray) and `routelab bench`."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from routelab.app.bench_suite import STEPS as SUITE_STEPS
from routelab.app.commands.common import CliError, add_db, add_json, open_store, print_json


def cmd_replay(args: argparse.Namespace) -> int:
    """Replay a registered version over stored requests."""
    from routelab.datasets import replay
    from routelab.datasets.errors import DatasetError

    if args.engine == "ray":
        return cmd_replay_ray(args)
    if args.input or args.output or args.address:
        raise CliError("--input, --output and --address go with --engine ray")
    with open_store(args.db) as store:
        try:
            run = replay.replay(
                store,
                args.version,
                engine=args.engine,
                where=args.where,
                price_table_id=args.prices,
                progress=not args.json and sys.stderr.isatty(),
            )
        except DatasetError as exc:
            raise CliError(f"{exc} (previous decisions kept)") from exc
    if args.json:
        print_json({**run.__dict__, "decisions_per_s": run.decisions_per_s})
        return 0
    print(
        f"{run.router}: {run.n_decisions:,} decisions with the {run.engine} engine in {run.duration_s:.2f} s "
        f"({run.decisions_per_s:,.0f}/s); run {run.run_id}, price table {run.price_table_id}"
    )
    return 0


def cmd_replay_ray(args: argparse.Namespace) -> int:
    """Replay a version over request Parquet on Ray; the run and its decisions land in the store."""
    from routelab.datasets import replay_ray
    from routelab.datasets.errors import DatasetError

    if not args.input or not args.output:
        raise CliError(
            "--engine ray needs --input DIR (request Parquet: `routelab export requests --parquet DIR`) "
            "and --output DIR (a new directory for the decisions)"
        )
    try:
        replay_ray.require_ray()  # before the store is opened: nothing to undo
    except replay_ray.RayMissingError as exc:
        raise CliError(str(exc)) from exc
    with open_store(args.db) as store:
        try:
            done = replay_ray.replay_ray(
                store,
                args.version,
                args.input,
                args.output,
                address=args.address,
                where=args.where,
                price_table_id=args.prices,
                progress=not args.json and sys.stderr.isatty(),
            )
        except DatasetError as exc:
            raise CliError(f"{exc} (previous decisions kept)") from exc
    if args.json:
        print_json(done.to_dict())
        return 0
    run = done.run
    print(
        f"{run.router}: {run.n_decisions:,} decisions with the ray engine in {run.duration_s:.2f} s "
        f"({run.decisions_per_s:,.0f}/s; on Ray {done.ray_seconds:.2f} s, loading into the store "
        f"{done.load_seconds:.2f} s; starting Ray took {done.start_seconds:.2f} s more); "
        f"run {run.run_id}, price table {run.price_table_id}"
    )
    print(f"  decisions as Parquet: {done.output_dir} ({done.n_files} file(s), {done.bytes / 1e6:,.1f} MB)")
    if done.unknown_requests:
        print(
            f"  {done.unknown_requests:,} decisions are for requests this store lacks; to evaluate them: "
            f"routelab import {done.input_dir} --format requests"
        )
    return 0


def cmd_bench_replay(args: argparse.Namespace) -> int:
    """Decisions per second of the SQL and Python engines on the same data, and peak memory."""
    from routelab.datasets.bench import bench_replay

    result = bench_replay(
        n_requests=args.requests, python_sample=args.python_sample, seed=args.seed, progress=not args.json
    )
    if args.json:
        print_json(result)
        return 0
    print(f"replay benchmark: {result['n_requests']:,} requests (demo traffic), router {result['router']}")
    print(
        f"  sql, cold      {result['sql_cold_decisions_per_s']:>14,.0f} decisions/s  "
        f"({result['sql_cold_seconds']:.2f} s, peak RSS {result['sql_cold_peak_rss_mb']:,.0f} MB; "
        "first replay: fills the signal cache)"
    )
    print(
        f"  sql, warm      {result['sql_warm_decisions_per_s']:>14,.0f} decisions/s  "
        f"({result['sql_warm_seconds']:.2f} s, peak RSS {result['sql_warm_peak_rss_mb']:,.0f} MB; "
        f"{result['sql_warm_router']}, same signals, read from the cache)"
    )
    print(
        f"  python engine  {result['python_decisions_per_s']:>14,.0f} decisions/s  "
        f"(sample of {result['python_sample']:,})"
    )
    print(f"  ratio          {result['ratio']:>14,.1f}x cold, {result['warm_ratio']:,.1f}x warm")
    print("  (each SQL replay runs in a process of its own: the peak RSS is its own)")
    print(f"  mean prompt    {result['mean_prompt_chars']:>14,.0f} characters")
    return 0


def cmd_bench_compare(args: argparse.Namespace) -> int:
    """Seconds for `compare` at N requests, and peak memory."""
    from routelab.app.benchmarks import bench_compare

    result = bench_compare(n_requests=args.requests, seed=args.seed, progress=not args.json)
    if args.json:
        print_json(result)
        return 0
    print(f"compare benchmark: {result['n_requests']:,} requests ({result['labelled']:,} labelled), by task")
    print(f"  PII cache      {result['pii_cache_seconds']:>10.2f} s  (once per store: prompts scanned, kept)")
    print(f"  compare        {result['compare_seconds']:>10.2f} s  (flip rate {result['flip_rate']:.1%})")
    print(f"  again          {result['compare_seconds_warm']:>10.2f} s  (same process, imports done)")
    print(f"  peak RSS       {result['peak_rss_mb']:>10,.0f} MB  (whole process, replays included)")
    return 0


def cmd_bench_queue(args: argparse.Namespace) -> int:
    """Server time of the annotation queue (next item, progress) at N requests."""
    from routelab.datasets.bench import bench_queue

    result = bench_queue(n_requests=args.requests, calls=args.calls, seed=args.seed, progress=not args.json)
    if args.json:
        print_json(result)
        return 0
    print(f"annotation queue benchmark: {result['n_requests']:,} requests, two replayed versions")
    for name, t in result["strategies"].items():
        print(f"  next item ({name:<10}) median {t['median_ms']:>7.1f} ms   p95 {t['p95_ms']:>7.1f} ms")
    t = result["queue_stats"]
    print(f"  progress (queue_stats)  median {t['median_ms']:>7.1f} ms   p95 {t['p95_ms']:>7.1f} ms")
    print(f"  peak RSS       {result['peak_rss_mb']:>10,.0f} MB  (whole process, replays included)")
    return 0


def _sizes(text: str) -> list[int]:
    """`1000000,10000000` (or 1e6, 1M, 10M) as request counts."""
    sizes = []
    for part in text.split(","):
        token = part.strip().lower().replace("_", "")
        mult = {"k": 1_000, "m": 1_000_000}.get(token[-1:], 1)
        number = token[:-1] if mult > 1 else token
        try:
            value = int(float(number) * mult)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{part.strip()!r} is not a request count; give e.g. 1000000,10000000 or 1M,10M"
            ) from None
        if value < 1:
            raise argparse.ArgumentTypeError(f"{part.strip()!r} must be at least 1")
        sizes.append(value)
    return sizes


def cmd_bench_suite(args: argparse.Namespace) -> int:
    """Import, replay (SQL, Python, Ray), compare and drift figures at each size, as JSON."""
    from routelab.app.bench_suite import run_suite

    def report(line: str) -> None:
        print(f"bench: {line}", file=sys.stderr, flush=True)

    try:
        result = run_suite(
            args.requests,
            steps=[t.strip() for t in args.steps.split(",")] if args.steps else SUITE_STEPS,
            sample=args.sample,
            seed=args.seed,
            workdir=args.workdir,
            report=report,
        )
    except ValueError as exc:
        raise CliError(f"bench suite: {exc}") from exc
    if args.json:
        print_json(result)
        return 0
    print_suite(result)
    return 0


#: The suite's ratios, in the order the text output lists them.
SUITE_RATIOS = (
    "replay_over_scan",
    "sql_over_python",
    "warm_replay_over_scan",
    "warm_replay_over_all_columns",
    "sql_warm_over_python",
)


def print_suite(result: dict[str, Any]) -> None:
    """`bench suite`'s figures as text: per size, each step's rate, time and peak RSS (cold, then warm, and
    the scan's warm query with every column computed), then the ratios."""
    for entry in result["sizes"]:
        print(f"{entry['n_requests']:,} requests (mean prompt {entry['mean_prompt_chars']:,.0f} characters):")
        for step, figures in entry["steps"].items():
            if "error" in figures or "skipped" in figures:
                print(f"  {step:<14} {figures.get('error') or figures.get('skipped')}")
                continue
            rate = figures.get("decisions_per_s") or figures.get("rows_per_s")
            unit = "decisions/s" if "decisions_per_s" in figures else "rows/s"
            shown = f"{rate:>12,.0f} {unit}" if rate else " " * 24
            peak = figures["peak_rss_mb"]
            cold = " (cold)" if "warm_seconds" in figures else ""
            print(f"  {step:<14} {shown}  {figures['seconds']:>8.1f} s   peak RSS {peak:>7,.0f} MB{cold}")
            if "warm_seconds" in figures:
                warm = f"{figures['warm_decisions_per_s']:>12,.0f} decisions/s"
                warm_peak = figures.get("warm_peak_rss_mb")
                shown_peak = f"peak RSS {warm_peak:>7,.0f} MB" if warm_peak else " " * 19
                print(f"  {'':<14} {warm}  {figures['warm_seconds']:>8.1f} s   {shown_peak} (warm)")
            if "warm_all_columns_seconds" in figures:
                label = "all columns, no write"
                print(f"  {'':<14} {label:>24}  {figures['warm_all_columns_seconds']:>8.1f} s")
        ratios = [key for key in SUITE_RATIOS if key in entry]
        width = max((len(key) for key in ratios), default=0)
        for key in ratios:
            print(f"  {key:<{width}} {entry[key]:>6.1f}x")
        if entry.get("targets"):
            print("  targets (set for 10M requests on a 2-core machine; `targets` in the JSON):")
        for t in entry.get("targets", []):
            if t["value"] is None:
                print(f"  target: {t['target']}: not measured ({', '.join(t['failed'])} failed)")
                continue
            value = f"{t['value']:,.2f}x" if t["unit"] == "x" else f"{t['value']:,.1f} {t['unit']}"
            print(f"  target: {t['target']}: {value} ({'met' if t['met'] else 'NOT MET'})")


def register(sub: Any) -> None:
    """Add `replay` and `bench`."""
    p = sub.add_parser("replay", help="decide stored requests with a registered router version")
    p.add_argument("version", metavar="NAME@VERSION")
    p.add_argument("--engine", choices=["sql", "python", "ray"], default="sql", help="default: sql")
    p.add_argument(
        "--input", metavar="DIR", help="ray: request Parquet (`routelab export requests --parquet`)"
    )
    p.add_argument("--output", metavar="DIR", help="ray: a new directory for the decision Parquet")
    p.add_argument("--address", metavar="ADDR", help="ray: a cluster to join (default: a local 2-CPU Ray)")
    p.add_argument("--where", metavar="CONDITION", help="select requests, e.g. 'workflow == \"support\"'")
    p.add_argument("--prices", metavar="PRICE_TABLE_ID", help="a stored price table (default: the newest)")
    add_db(p)
    add_json(p)
    p.set_defaults(func=cmd_replay)

    bench = sub.add_parser("bench", help="benchmarks that print figures")
    bsub = bench.add_subparsers(dest="bench_command", metavar="SUBCOMMAND")
    bench.set_defaults(func=lambda _a: (bench.print_help(), 2)[1])
    p = bsub.add_parser("compare", help="time `compare` (by task, with attribution) of two versions")
    p.add_argument("--requests", type=int, default=1_000_000, metavar="N", help="default 1,000,000")
    p.add_argument("--seed", type=int, default=7, metavar="S")
    add_json(p)
    p.set_defaults(func=cmd_bench_compare)
    p = bsub.add_parser("replay", help="SQL vs Python engine decisions/s and peak memory")
    p.add_argument("--requests", type=int, default=1_000_000, metavar="N", help="default 1,000,000")
    p.add_argument(
        "--python-sample", type=int, default=20_000, metavar="N", help="requests for the Python engine"
    )
    p.add_argument("--seed", type=int, default=7, metavar="S")
    add_json(p)
    p.set_defaults(func=cmd_bench_replay)
    p = bsub.add_parser(
        "suite", help="import, replay (sql, python, ray), compare and drift at 1M and 10M requests (JSON)"
    )
    p.add_argument(
        "--requests",
        type=_sizes,
        default=[1_000_000, 10_000_000],
        metavar="N[,N...]",
        help="sizes, e.g. 1M,10M (default)",
    )
    p.add_argument("--steps", metavar="S[,S...]", help="a subset of: " + ", ".join(SUITE_STEPS))
    p.add_argument(
        "--sample", type=int, default=20_000, metavar="N", help="requests for import, python and ray"
    )
    p.add_argument("--seed", type=int, default=7, metavar="S")
    p.add_argument("--workdir", metavar="DIR", help="where the temporary stores go (default: the system's)")
    add_json(p)
    p.set_defaults(func=cmd_bench_suite)
    p = bsub.add_parser("queue", help="annotation queue: server time of the next item and the progress bar")
    p.add_argument("--requests", type=int, default=1_000_000, metavar="N", help="default 1,000,000")
    p.add_argument("--calls", type=int, default=20, metavar="K", help="calls timed per strategy (default 20)")
    p.add_argument("--seed", type=int, default=7, metavar="S")
    add_json(p)
    p.set_defaults(func=cmd_bench_queue)
