"""`routelab router validate | show | diff | add | list`: router versions as files or in the store."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from routelab.app.commands.common import (
    CliError,
    add_db,
    add_json,
    error_lines,
    load_router_file,
    load_router_ref,
    open_store,
    print_json,
    read_file,
)


def cmd_router_validate(args: argparse.Namespace) -> int:
    """Validate router config files; report every problem."""
    from routelab.router_core.errors import ConfigError
    from routelab.router_core.identity import config_hash
    from routelab.router_core.validate import load_router

    results = []
    failed = False
    for path in args.files:
        try:
            router = load_router(read_file(path), source=path)
        except (ConfigError, CliError) as exc:
            failed = True
            problems = (
                [{"path": p.path, "line": p.line, "message": p.message} for p in exc.problems]
                if isinstance(exc, ConfigError)
                else [{"path": "", "line": None, "message": str(exc)}]
            )
            results.append({"file": path, "ok": False, "problems": problems})
            if not args.json:
                for line in error_lines(str(exc)):
                    print(line if line.startswith(path) else f"{path}: {line}", file=sys.stderr)
            continue
        results.append({"file": path, "ok": True, "router": router.ref, "hash": config_hash(router)})
        if not args.json:
            print(f"{path}: ok ({router.ref}, {config_hash(router)[:12]})")
    if args.json:
        print_json(results)
    return 2 if failed else 0


def cmd_router_show(args: argparse.Namespace) -> int:
    """Show a router version: identity, models, signals, rules and policies."""
    from routelab.router_core.canonical import unparse
    from routelab.router_core.identity import canonical, config_hash

    router = load_router_ref(args.file, args.db)
    if args.json:
        print_json({"router": router.ref, "hash": config_hash(router), "config": canonical(router)})
        return 0
    cfg = router.config
    print(f"{router.ref}  sha256:{config_hash(router)}")
    if cfg.description:
        print(f"  {cfg.description.strip()}")
    print(f"models ({len(cfg.models)}):")
    for m in cfg.models:
        regions = ",".join(m.regions) or "any region"
        print(f"  {m.id:<45} {m.tier:<9} {m.boundary:<9} {regions}")
    print(f"rules ({len(router.rules)}), first match wins:")
    for cr in router.rules:
        print(f"  {cr.rule.id:<28} when {unparse(cr.when)}  →  {cr.rule.route.model}")
    print(f"  {'default':<28} →  {cfg.default.route.model}")
    print(f"policies ({len(router.policies)}), in order:")
    for cp in router.policies:
        print(f"  {cp.policy.id:<28} {cp.policy.kind:<17} when {unparse(cp.when)}")
    return 0


_SINGULAR = {
    "models": "model",
    "indexes": "index",
    "signals": "signal",
    "rules": "rule",
    "policies": "policy",
}


def cmd_router_diff(args: argparse.Namespace) -> int:
    """Diff two router versions."""
    from routelab.router_core.identity import diff

    result = diff(load_router_ref(args.base, args.db), load_router_ref(args.candidate, args.db))
    if args.json:
        print_json(result.model_dump(mode="json"))
        return 0
    print(f"{result.base} → {result.candidate}")
    if not result.changes:
        print("  no routing changes")
    for c in result.changes:
        extra = f" ({', '.join(c.fields)})" if c.fields else ""
        if c.change == "moved":
            extra = f" (position {c.before} → {c.after})"
        print(f"  {c.change:<8} {_SINGULAR.get(c.section, c.section)} {c.item}{extra}")
    return 0


def cmd_router_add(args: argparse.Namespace) -> int:
    """Register router config files as immutable versions in the store."""
    from routelab.datasets import routers
    from routelab.datasets.errors import DatasetError
    from routelab.router_core.errors import ConfigError

    for path in args.files:  # every file valid before the store is touched (or created)
        load_router_file(path)
    added = []
    with open_store(args.db, create=True) as store:
        for path in args.files:
            try:
                reg = routers.add(store, read_file(path), source=path)
            except (ConfigError, DatasetError) as exc:
                raise CliError(str(exc)) from exc
            added.append({"file": path, "router": reg.ref, "hash": reg.hash, "created": reg.created})
            if not args.json:
                state = "registered" if reg.created else "already registered (same content)"
                print(f"{reg.ref}  {state}  sha256:{reg.hash[:12]}")
    if args.json:
        print_json(added)
    return 0


def cmd_router_list(args: argparse.Namespace) -> int:
    """List registered versions with their latest replay."""
    from routelab.datasets import routers

    with open_store(args.db, read_only=True) as store:
        rows = routers.list_versions(store)
    if args.json:
        print_json(rows)
        return 0
    if not rows:
        print("no router versions registered; add one with `routelab router add FILE`")
    for r in rows:
        source = f" from {r['input_dir']}" if r.get("input_dir") else ""
        replayed = (
            f"{r['n_decisions']} decisions ({r['engine']}{source}, {r['replayed_at']:%Y-%m-%d %H:%M})"
            if r["last_run"]
            else "not replayed"
        )
        print(f"{r['ref']:<28} sha256:{str(r['hash'])[:12]}  {replayed}")
    return 0


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def register(sub: Any) -> None:
    """Add the `router` command group."""
    router = sub.add_parser("router", help="validate, show, diff, register and list router versions")
    rsub = router.add_subparsers(dest="router_command", metavar="SUBCOMMAND")
    router.set_defaults(func=lambda _args: _usage(router))
    p = rsub.add_parser("validate", help="check router config files; exit 2 listing every problem")
    p.add_argument("files", nargs="+", metavar="FILE")
    add_json(p)
    p.set_defaults(func=cmd_router_validate)
    p = rsub.add_parser("show", help="show a router version (a file or NAME@VERSION in the store)")
    p.add_argument("file", metavar="FILE_OR_REF")
    add_db(p)
    add_json(p)
    p.set_defaults(func=cmd_router_show)
    p = rsub.add_parser("diff", help="added, removed, changed and moved rules, policies, signals, models")
    p.add_argument("base", metavar="BASE")
    p.add_argument("candidate", metavar="CANDIDATE")
    add_db(p)
    add_json(p)
    p.set_defaults(func=cmd_router_diff)
    p = rsub.add_parser("add", help="register config files as versions in the store")
    p.add_argument("files", nargs="+", metavar="FILE")
    add_db(p)
    add_json(p)
    p.set_defaults(func=cmd_router_add)
    p = rsub.add_parser("list", help="registered versions and their latest replay")
    add_db(p)
    add_json(p)
    p.set_defaults(func=cmd_router_list)
