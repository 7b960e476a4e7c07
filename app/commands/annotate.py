"""`routelab annotate export | import`: the annotation log as JSON Lines, between stores."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from routelab.app.commands.common import CliError, add_db, add_json, open_store, print_json

#: Errors listed before the count (the rest are counted, not printed).
MAX_ERRORS = 20


def cmd_annotate_export(args: argparse.Namespace) -> int:
    """Write every annotation row (judgements, adjudications, undos) to a JSON Lines file."""
    from routelab.datasets.annotation_io import export_annotations

    if args.router and "@" not in args.router:
        raise CliError(f"--router {args.router!r}: write NAME@VERSION, e.g. acme-gateway@2")
    with open_store(args.db, read_only=True) as store:
        n = export_annotations(store, Path(args.out), router=args.router)
    if args.json:
        print_json({"path": args.out, "router": args.router, "n_rows": n})
    else:
        which = f" of {args.router}" if args.router else ""
        print(f"exported {n} annotation rows{which} to {args.out}")
    return 0


def cmd_annotate_import(args: argparse.Namespace) -> int:
    """Append the rows of an export the store lacks; all-or-nothing, idempotent."""
    from routelab.datasets.annotation_io import import_annotations

    if not Path(args.path).is_file():  # before the store is opened
        raise CliError(f"{args.path}: no such file")
    with open_store(args.db) as store:
        result = import_annotations(store, Path(args.path))
    if args.json:
        print_json(result.model_dump())
        return 2 if result.errors else 0
    if result.errors:
        shown = result.errors[:MAX_ERRORS]
        more = f" (the first {MAX_ERRORS} shown)" if len(result.errors) > MAX_ERRORS else ""
        count = f"{len(result.errors)} error(s) in {args.path}{more}; nothing was imported"
        raise CliError("\n".join([*shown, count]))
    print(
        f"{args.path}: {result.n_read} rows read, {result.n_added} added, "
        f"{result.n_skipped_existing} already in the store"
    )
    return 0


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def register(sub: Any) -> None:
    """Add the `annotate` command group."""
    annotate = sub.add_parser("annotate", help="export and import annotations (JSON Lines)")
    asub = annotate.add_subparsers(dest="annotate_command", metavar="SUBCOMMAND")
    annotate.set_defaults(func=lambda _args: _usage(annotate))
    p = asub.add_parser("export", help="write every annotation row to a JSON Lines file")
    p.add_argument("--out", required=True, metavar="FILE", help="the file to write")
    p.add_argument("--router", metavar="NAME@VER", help="only this router version's annotations")
    add_db(p)
    add_json(p)
    p.set_defaults(func=cmd_annotate_export)
    p = asub.add_parser("import", help="append the rows of an export (all-or-nothing, idempotent)")
    p.add_argument("path", metavar="FILE")
    add_db(p)
    add_json(p)
    p.set_defaults(func=cmd_annotate_import)
