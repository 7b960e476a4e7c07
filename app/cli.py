"""The `routelab` command line."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    """Run the CLI."""
    parser = argparse.ArgumentParser(prog="routelab")
    parser.parse_args(argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
