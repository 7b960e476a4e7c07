"""The `routelab` command line. Thin: parse arguments, call the library, print; heavy imports stay inside.

Exit codes: 0 ok, 1 a gate failed, 2 bad input (one clean line per problem on stderr).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from routelab.app.commands import (
    access,
    accuracy,
    annotate,
    collect,
    compare,
    compliance,
    data,
    drift,
    frontier,
    ops,
    redact,
    replay,
    report,
    route,
    router,
    serve,
)
from routelab.app.commands.common import CliError, error_lines
from routelab.datasets.errors import DatasetError
from routelab.router_core.errors import RouterError


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (subcommands register their handler as `func`)."""
    parser = argparse.ArgumentParser(
        prog="routelab",
        description="Measure whether an LLM router makes the right decisions.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in (
        data,
        router,
        replay,
        collect,
        route,
        accuracy,
        compare,
        drift,
        compliance,
        frontier,
        ops,
        report,
        annotate,
        serve,
        redact,
        access,
    ):
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int] | None = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    try:
        return func(args)
    except (CliError, DatasetError, RouterError) as exc:
        for line in error_lines(str(exc)):
            print(f"routelab: error: {line}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head` and the like: stop quietly
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("routelab: interrupted; the store is unchanged by the unfinished step", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
