"""A progress bar on stderr for long imports, and a silent stand-in otherwise."""

from __future__ import annotations

import sys
from typing import Any, Protocol

#: Files with more rows than this get a progress bar (when enabled and stderr is a terminal).
PROGRESS_MIN_ROWS = 10_000


class Bar(Protocol):
    """What the importers use of a progress bar."""

    def update(self, n: int = 1) -> Any:
        """Advance by `n` steps."""

    def close(self) -> None:
        """Finish the bar."""


class _Silent:
    def update(self, n: int = 1) -> None:
        return None

    def close(self) -> None:
        return None


def progress_bar(total: int, enabled: bool, desc: str) -> Bar:
    """A tqdm bar on stderr when `enabled`, stderr is a terminal and `total` exceeds `PROGRESS_MIN_ROWS`."""
    if not enabled or total <= PROGRESS_MIN_ROWS or not sys.stderr.isatty():
        return _Silent()
    from tqdm import tqdm

    bar: Bar = tqdm(total=total, desc=desc, unit="rows", file=sys.stderr, leave=False)
    return bar
