"""Helpers shared by the CLI subcommands: errors, files, JSON output, the store."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


class CliError(Exception):
    """Bad input: printed as one clean line per problem, exit code 2."""


def error_lines(message: str) -> list[str]:
    """A message's problems, one per line, each safe to print as one terminal line.

    Splits on newlines only (`str.splitlines` would also split inside a quoted value holding U+2028 or
    U+0085) and escapes control characters, line separators and lone surrogates (`\\x00`, `\\u2028`), so a
    hostile value in a message can neither break its line nor fail to encode.
    """
    import unicodedata

    def visible(c: str) -> str:
        if c == "\t" or unicodedata.category(c) not in ("Cc", "Zl", "Zp", "Cs"):
            return c
        return c.encode("unicode_escape").decode("ascii")

    return ["".join(map(visible, line)) for line in message.split("\n")]


def read_file(path: str) -> str:
    """A UTF-8 text file, or a CliError naming it."""
    p = Path(path)
    if not p.is_file():
        raise CliError(f"{path}: no such file")
    try:
        return p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"{path}: cannot read: {exc}") from exc


def load_router_file(path: str) -> Any:
    """A router config file, validated and compiled."""
    from routelab.router_core.errors import ConfigError
    from routelab.router_core.validate import load_router

    try:
        return load_router(read_file(path), source=path)
    except ConfigError as exc:
        raise CliError(str(exc)) from exc


def load_router_ref(value: str, db: str | None) -> Any:
    """A router from a config file path, or a registered `NAME@VERSION` in the store."""
    if Path(value).is_file() or value.endswith((".yaml", ".yml")):
        return load_router_file(value)
    from routelab.datasets import routers

    with open_store(db, read_only=True) as store:
        return routers.get(store, value)


def print_json(data: Any) -> None:
    """Machine-readable output."""
    text = json.dumps(data, indent=2, ensure_ascii=False, default=str)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate (a `\ud800` escape in the input): escape it in JSON
        text = json.dumps(data, indent=2, ensure_ascii=True, default=str)
    print(text)


def add_db(parser: argparse.ArgumentParser) -> None:
    """The `--db` option (else $ROUTELAB_DB, else ./routelab.duckdb)."""
    parser.add_argument(
        "--db", metavar="PATH", help="store file (default: $ROUTELAB_DB or ./routelab.duckdb)"
    )


def add_json(parser: argparse.ArgumentParser) -> None:
    """The `--json` option."""
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def open_store(db: str | None, read_only: bool = False, create: bool = False) -> Any:
    """Open the store named by `--db` (errors become CliError).

    Only commands that put data in (`import`, `router add`, `prices snapshot`, `demo`) pass `create`: the
    others need data that is already there, so a mistyped `--db` is an error, not a new empty file.
    """
    from routelab.datasets.errors import StoreError
    from routelab.datasets.store import open_store as _open
    from routelab.datasets.store import resolve_db_path

    path = resolve_db_path(db)
    if not create and not path.exists():
        raise CliError(
            f"{path}: no store here; build one with `routelab demo` or `routelab import`, or pass --db"
        )
    try:
        return _open(db, read_only=read_only)
    except StoreError as exc:
        raise CliError(str(exc)) from exc
