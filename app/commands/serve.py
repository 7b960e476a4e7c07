"""`routelab app [--db PATH] [--port N] [--annotator NAME ...]`: start the workbench (Streamlit)."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from routelab.app.commands.common import CliError, add_db

#: Streamlit options the workbench always runs with: no browser, no telemetry, no file watcher.
STREAMLIT_FLAGS = (
    "--server.headless",
    "true",
    "--browser.gatherUsageStats",
    "false",
    "--server.fileWatcherType",
    "none",
)


def streamlit_command(port: int, address: str) -> list[str]:
    """The command that runs the workbench script with this Python's Streamlit."""
    script = Path(__file__).resolve().parent.parent / "workbench.py"
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(script),
        "--server.port",
        str(port),
        "--server.address",
        address,
        *STREAMLIT_FLAGS,
    ]


def workbench_env(
    db: Path, annotators: list[str], lease_minutes: float, double_share: float
) -> dict[str, str]:
    """The environment that carries the options to the workbench (`app/views/context.py` reads it)."""
    from routelab.app.workbench_env import ENV_ANNOTATORS, ENV_DB, ENV_DOUBLE_SHARE, ENV_LEASE_MINUTES

    return {
        **os.environ,
        ENV_DB: str(db),
        ENV_ANNOTATORS: ",".join(annotators),
        ENV_LEASE_MINUTES: str(lease_minutes),
        ENV_DOUBLE_SHARE: str(double_share),
    }


def cmd_app(args: argparse.Namespace) -> int:
    """Check the store, then run the workbench until interrupted."""
    from routelab.datasets.errors import DatasetError
    from routelab.datasets.store import open_store, resolve_db_path

    db = resolve_db_path(args.db)
    if not db.exists():
        raise CliError(f"{db}: no store here; build the demo with `routelab demo --db {db}` or pass --db")
    if not 0 <= args.double_share <= 1:
        raise CliError(f"--double-share: {args.double_share} is not a share between 0 and 1")
    if args.lease_minutes <= 0:
        raise CliError(f"--lease-minutes: {args.lease_minutes} must be positive")
    try:  # fail now, with the store's message, rather than on the first page load
        open_store(db).close()
    except DatasetError as exc:
        raise CliError(str(exc)) from exc
    env = workbench_env(db, args.annotator or [], args.lease_minutes, args.double_share)
    shown = "localhost" if args.address in ("0.0.0.0", "127.0.0.1") else args.address
    print(f"routelab workbench: http://{shown}:{args.port}  (store {db}; Ctrl-C stops it)", flush=True)
    return _run(streamlit_command(args.port, args.address), env)


def _run(command: list[str], env: dict[str, str]) -> int:
    """Run the server until it exits; SIGTERM and Ctrl-C stop it (and wait for it to close the store)."""
    child = subprocess.Popen(command, env=env)

    def stop(signum: int, _frame: object) -> None:
        child.terminate()

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        while True:
            try:
                child.wait()
                return 0 if child.returncode in (0, -signal.SIGTERM, -signal.SIGINT) else child.returncode
            except KeyboardInterrupt:  # the terminal sent SIGINT to the server too; let it shut down
                child.terminate()
    finally:
        signal.signal(signal.SIGTERM, previous)


def register(sub: Any) -> None:
    """Add `app`."""
    p = sub.add_parser("app", help="start the annotation workbench (Streamlit) on a store")
    p.add_argument("--port", type=int, default=8501, help="port to listen on (default 8501)")
    p.add_argument("--address", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--annotator", action="append", metavar="NAME", help="who may sign in (default: anyone)")
    p.add_argument("--lease-minutes", type=float, default=15.0, help="an item's lease goes stale after this")
    p.add_argument("--double-share", type=float, default=0.1, help="share of items judged by two annotators")
    add_db(p)
    p.set_defaults(func=cmd_app)
