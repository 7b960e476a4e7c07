"""`routelab import`, `export`, `prices` and `demo`: data into the store, traffic and decisions out of it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from routelab.app.commands.common import CliError, add_db, add_json, open_store, print_json


def _mapping(pairs: list[str] | None) -> dict[str, str]:
    out = {}
    for pair in pairs or []:
        src, sep, dst = pair.partition("=")
        if not sep or not src or not dst:
            raise CliError(f"--map {pair!r}: write SOURCE_COLUMN=FIELD, e.g. --map idx=request_id")
        out[src] = dst
    return out


def _options(pairs: list[str] | None) -> dict[str, str]:
    out = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise CliError(f"--option {pair!r}: write NAME=VALUE, e.g. --option decontaminate=FILE")
        out[name] = value
    return out


def cmd_import(args: argparse.Namespace) -> int:
    """Import a file into the store, all-or-nothing unless --collect-errors."""
    from routelab.datasets.errors import DatasetError
    from routelab.datasets.importers import import_file

    if not Path(args.path).exists():  # before the store is opened, so a typo creates nothing
        raise CliError(f"{args.path}: no such file or directory")
    with open_store(args.db, create=True) as store:
        try:
            report = import_file(
                store,
                Path(args.path),
                args.format,
                mapping=_mapping(args.map),
                options=_options(args.option),
                collect_errors=args.collect_errors,
                on_conflict=args.on_conflict,
                rejects_path=Path(args.rejects) if args.rejects else None,
                progress=not args.json and sys.stderr.isatty(),
                redact=args.redact,
            )
        except DatasetError as exc:
            raise CliError(f"{exc} (nothing was imported)") from exc
    if args.json:
        print_json(report.to_dict())
    else:
        print(report.summary())
    return 0


def cmd_export_requests(args: argparse.Namespace) -> int:
    """Write the stored requests as Parquet (hive folders by week), for `import` or `replay --engine ray`."""
    from routelab.datasets.parquet import export_requests

    with open_store(args.db, read_only=True) as store:
        if not args.json:
            n = store.scalar("SELECT count(*) FROM requests")
            print(f"exporting requests ({n:,} stored) to {args.parquet} ...", file=sys.stderr, flush=True)
        done = export_requests(store, args.parquet, where=args.where, partition_by=args.partition_by)
    return _exported(
        args, done, "requests", f"routelab import {done.directory} --format requests --db OTHER.duckdb"
    )


def cmd_export_decisions(args: argparse.Namespace) -> int:
    """Write a version's stored decisions as Parquet (hive folders by the request's week)."""
    from routelab.datasets.parquet import export_decisions

    with open_store(args.db, read_only=True) as store:
        done = export_decisions(
            store, args.version, args.parquet, where=args.where, partition_by=args.partition_by
        )
    read = f"SELECT * FROM read_parquet('{done.directory}/**/*.parquet', hive_partitioning = true)"
    return _exported(args, done, f"decisions of {args.version}", f"read them with DuckDB: {read}")


def _exported(args: argparse.Namespace, done: Any, what: str, next_step: str) -> int:
    if args.json:
        print_json(done.to_dict())
        return 0
    print(
        f"{done.rows:,} {what} → {len(done.files)} Parquet file(s), {done.bytes / 1e6:,.1f} MB in "
        f"{done.directory} (partitioned by {done.partition_by}) in {done.duration_s:.2f} s"
    )
    print(f"  next: {next_step}")
    return 0


def cmd_prices_snapshot(args: argparse.Namespace) -> int:
    """Snapshot litellm's bundled price map (plus overrides) into the store."""
    from routelab.datasets import prices
    from routelab.datasets.prices import PriceFileError

    with open_store(args.db, create=True) as store:
        try:
            pid = prices.snapshot(store, Path(args.overrides) if args.overrides else None)
        except PriceFileError as exc:
            raise CliError(str(exc)) from exc
        _, table = prices.load_stored(store, pid)
    if args.json:
        print_json(
            {"price_table_id": pid, "source": table.source, "as_of": table.as_of, "models": len(table.prices)}
        )
    else:
        print(f"price table {pid}: {len(table.prices)} models from {table.source}, as of {table.as_of}")
    return 0


def cmd_prices_list(args: argparse.Namespace) -> int:
    """List stored price tables."""
    with open_store(args.db, read_only=True) as store:
        rows = store.df("SELECT * FROM price_tables ORDER BY created_at").to_dict(orient="records")
    if args.json:
        print_json(rows)
    for r in [] if args.json else rows:
        print(f"{r['price_table_id']}  {r['n_models']:>5} models  {r['source']}  as of {r['as_of']}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Build the demo workspace: traffic, labels, outcomes, prices, three router versions, their replays."""
    from routelab.datasets.workspace import build_demo

    db = Path(args.db) if args.db else Path("routelab-demo.duckdb")
    if db.exists() and not args.force:
        raise CliError(f"{db} exists; pass --force to rebuild it, or another --db")
    if db.exists():
        db.unlink()
        Path(str(db) + ".wal").unlink(missing_ok=True)
    with open_store(str(db), create=True) as store:
        summary = build_demo(
            store, seed=args.seed, n_requests=args.requests, progress=not args.json and sys.stderr.isatty()
        )
    if args.json:
        print_json({"db": str(db), **summary})
        return 0
    print(f"demo workspace: {db}")
    for line in summary.get("lines", []):
        print(f"  {line}")
    print("next:")
    print(f"  routelab router list --db {db}")
    example = summary.get("example_request") or "<request id>"
    print(f"  routelab router diff acme-gateway@1 acme-gateway@2 --db {db}")
    print(f"  routelab explain {example} --version acme-gateway@2 --db {db}   # a refund in v2's FAQ lane")
    print(f"  routelab compare acme-gateway@1 acme-gateway@2 --by task --db {db}")
    print(f"  routelab drift acme-gateway@3 --db {db}   # the week-6 launch and the price change")
    return 0


def register(sub: Any) -> None:
    """Add `import`, `prices` and `demo`."""
    p = sub.add_parser("import", help="import requests, labels or outcomes from a file")
    p.add_argument("path", metavar="PATH", help="a file, or a directory of Parquet files (hive partitions)")
    p.add_argument(
        "--format",
        required=True,
        metavar="F",
        help="requests, labels, outcomes, routerbench, routellm, litellm-spend or openai-chat",
    )
    p.add_argument(
        "--map",
        action="append",
        metavar="SRC=FIELD",
        help="rename a source column; SRC=- drops it (repeatable)",
    )
    p.add_argument(
        "--option", action="append", metavar="NAME=VALUE", help="a format option, e.g. decontaminate=FILE"
    )
    p.add_argument("--collect-errors", action="store_true", help="load valid rows, write rejects to a file")
    p.add_argument(
        "--redact",
        action="store_true",
        help="store prompts with PII masked; the detected types go to attrs.pii_types",
    )
    p.add_argument("--rejects", metavar="FILE", help="where --collect-errors writes rejected rows")
    p.add_argument(
        "--on-conflict",
        choices=["error", "replace", "skip"],
        default="error",
        help="what to do with ids already stored with different content (default: error)",
    )
    add_db(p)
    add_json(p)
    p.set_defaults(func=cmd_import)

    export = sub.add_parser("export", help="write stored traffic or decisions as partitioned Parquet")
    esub = export.add_subparsers(dest="export_command", metavar="TABLE")
    export.set_defaults(func=lambda _a: (export.print_help(), 2)[1])
    p = esub.add_parser("requests", help="the requests table, for `import` or `replay --engine ray`")
    p.add_argument("--parquet", required=True, metavar="DIR", help="a new or empty directory")
    p.add_argument("--where", metavar="CONDITION", help="select requests, e.g. 'workflow == \"support\"'")
    p.add_argument(
        "--partition-by", choices=["week", "none"], default="week", help="hive folders by week (default)"
    )
    add_db(p)
    add_json(p)
    p.set_defaults(func=cmd_export_requests)
    p = esub.add_parser("decisions", help="a version's stored decisions, in the columns a Ray replay writes")
    p.add_argument("version", metavar="NAME@VER", help="a replayed router version")
    p.add_argument("--parquet", required=True, metavar="DIR", help="a new or empty directory")
    p.add_argument("--where", metavar="CONDITION", help="select requests, e.g. 'workflow == \"support\"'")
    p.add_argument(
        "--partition-by",
        choices=["week", "none"],
        default="week",
        help="hive folders by the request's week (default)",
    )
    add_db(p)
    add_json(p)
    p.set_defaults(func=cmd_export_decisions)

    prices = sub.add_parser("prices", help="price tables: snapshot litellm's bundled map, list")
    psub = prices.add_subparsers(dest="prices_command", metavar="SUBCOMMAND")
    prices.set_defaults(func=lambda _a: (prices.print_help(), 2)[1])
    p = psub.add_parser("snapshot", help="store litellm's bundled price map plus overrides")
    p.add_argument(
        "--overrides", metavar="FILE", help="YAML/JSON/CSV prices for self-hosted or negotiated models"
    )
    add_db(p)
    add_json(p)
    p.set_defaults(func=cmd_prices_snapshot)
    p = psub.add_parser("list", help="stored price tables")
    add_db(p)
    add_json(p)
    p.set_defaults(func=cmd_prices_list)

    p = sub.add_parser("demo", help="build the demo workspace (deterministic for a seed)")
    p.add_argument("--db", metavar="PATH", help="store file to create (default: ./routelab-demo.duckdb)")
    p.add_argument(
        "--requests", type=int, default=20_000, metavar="N", help="number of requests (default 20000)"
    )
    p.add_argument("--seed", type=int, default=7, metavar="S", help="random seed (default 7)")
    p.add_argument("--force", action="store_true", help="replace an existing file")
    add_json(p)
    p.set_defaults(func=cmd_demo)
