"""`routelab users add|remove|list`, `routelab purge --older-than DURATION` and `routelab audit`."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from typing import Any

from routelab.app.commands.common import CliError, add_db, add_json, open_store, print_json


def cli_actor() -> str:
    """Who acts from the command line, for the audit log: `cli:<os user>`."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no passwd entry (some containers)
        return f"cli:uid{os.getuid()}"


def _password(args: argparse.Namespace) -> str:
    """The new user's password: from stdin with --password-stdin, else typed twice (never an argument)."""
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    if not sys.stdin.isatty():
        raise CliError("no terminal to type a password on: pipe it with --password-stdin")
    first = getpass.getpass(f"password for {args.name}: ")
    if first != getpass.getpass("again: "):
        raise CliError("the two passwords differ; nothing was changed")
    return first


def cmd_users(args: argparse.Namespace) -> int:
    """Manage the workbench's local users."""
    from routelab.datasets import access

    action = args.users_command
    with open_store(args.db) as store:
        if action == "add":
            access.add_user(store, args.name, args.role, _password(args), cli_actor())
            print(f"user {args.name} ({args.role}) added")
        elif action == "remove":
            access.remove_user(store, args.name, cli_actor())
            print(f"user {args.name} removed (their annotations stay)")
        else:
            users = access.list_users(store)
            if args.json:
                print_json(users)
            elif not users:
                print(
                    "no local users: the workbench signs in by name only (`routelab users add NAME --role R`)"
                )
            for u in users if not args.json else []:
                print(f"  {u['username']:<20} {u['role']:<10} since {u['created_at']:%Y-%m-%d}")
    return 0


def cmd_purge(args: argparse.Namespace) -> int:
    """Remove the raw prompt text of old requests; every purge is recorded in the audit log."""
    from routelab.datasets.purge import parse_duration, purge

    older = parse_duration(args.older_than)
    with open_store(args.db) as store:
        result = purge(store, older, cli_actor(), keep_redacted=args.keep_redacted, dry_run=args.dry_run)
    doc = {
        "cutoff": result.cutoff.isoformat(sep=" "),
        "requests": result.n_requests,
        "keep_redacted": result.keep_redacted,
        "dry_run": result.dry_run,
        "audit_event": result.event_id,
    }
    if args.json:
        print_json(doc)
    else:
        verb = "would remove" if result.dry_run else "removed"
        what = "replaced by its PII-masked text" if result.keep_redacted else "removed"
        print(
            f"{verb} the prompt text of {result.n_requests:,} request(s) older than {doc['cutoff']} ({what})"
        )
        if result.event_id:
            print(f"recorded as audit event {result.event_id}")
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    """List the audit log (purges, PII reveals, user changes)."""
    from routelab.datasets.access import audit_events

    with open_store(args.db) as store:
        events = audit_events(store)
    if args.json:
        print_json(events)
        return 0
    for e in events:
        print(f"{e['at']:%Y-%m-%d %H:%M:%S}  {e['actor']:<18} {e['action']:<12} {e['subject'] or ''}")
    if not events:
        print("the audit log is empty")
    return 0


def register(sub: Any) -> None:
    """Add `users`, `purge` and `audit`."""
    users = sub.add_parser("users", help="workbench users: add, remove, list (roles viewer..admin)")
    usub = users.add_subparsers(dest="users_command", metavar="SUBCOMMAND")
    users.set_defaults(func=lambda _a: (users.print_help(), 2)[1])
    p = usub.add_parser("add", help="add a user (the password is asked for, or read with --password-stdin)")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--role", required=True, choices=("viewer", "annotator", "reviewer", "admin"))
    p.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    add_db(p)
    p.set_defaults(func=cmd_users)
    p = usub.add_parser("remove", help="remove a user")
    p.add_argument("name", metavar="NAME")
    add_db(p)
    p.set_defaults(func=cmd_users)
    p = usub.add_parser("list", help="list users and roles")
    add_db(p)
    add_json(p)
    p.set_defaults(func=cmd_users)
    p = sub.add_parser("purge", help="remove the raw prompt text of old requests (recorded in the audit log)")
    p.add_argument("--older-than", required=True, metavar="DURATION", help="e.g. 90d, 12w, 36h")
    p.add_argument("--keep-redacted", action="store_true", help="keep the PII-masked text instead of none")
    p.add_argument("--dry-run", action="store_true", help="count only; change nothing")
    add_db(p)
    add_json(p)
    p.set_defaults(func=cmd_purge)
    p = sub.add_parser("audit", help="the audit log: purges, PII reveals, user changes")
    add_db(p)
    add_json(p)
    p.set_defaults(func=cmd_audit)
