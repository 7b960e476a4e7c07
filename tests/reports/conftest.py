"""The rendered HTML report of the report tests' demo bundle.

The demo store and its bundle (`report_db`, `bundle`: a few seconds, built once per session) live in
tests/conftest.py, which tests/browser shares.
"""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(scope="session")
def html(bundle: dict[str, Any]) -> str:
    """The rendered HTML report of `bundle`."""
    from routelab.reports.render import render_html

    return render_html(bundle)
