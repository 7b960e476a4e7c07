"""One demo store and its report bundle for the report tests (a few seconds, built once per session)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .builders import build_bundle, build_store


@pytest.fixture(scope="session")
def report_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo store: 2,000 requests, acme-gateway@1..3 replayed, 24 requests judged by alice and bob."""
    return build_store(tmp_path_factory.mktemp("reports") / "demo.duckdb")


@pytest.fixture(scope="session")
def bundle(report_db: Path) -> dict[str, Any]:
    """The bundle of acme-gateway@1 → @2 with the gate `accuracy.delta.ci_high < 0` (it fails)."""
    return build_bundle(report_db)


@pytest.fixture(scope="session")
def html(bundle: dict[str, Any]) -> str:
    """The rendered HTML report of `bundle`."""
    from routelab.reports.render import render_html

    return render_html(bundle)
