"""Where the public routing data lives (`../shared/data/`), for tests that reproduce published numbers.

Such a test skips, with the reason, on a developer's clone without the folder, and fails in CI
(`CI=true`), where the data must be present.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


def shared(*parts: str, root: Path | None = None) -> Path:
    """A file under ../shared/data (or `root`); skip (fail in CI) when the folder is absent."""
    base = DATA if root is None else root
    if not base.is_dir():
        message = f"public test data not found at {base.resolve()} (see ../shared/data/README.md)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return base.joinpath(*parts)
