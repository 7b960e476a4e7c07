"""The HTML report in Debian's Chromium with networking off: it asks for nothing beyond its own file, logs
no console error, draws every plotly chart, and runs no script from the data. Saves a screenshot."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from routelab.reports.render import render_html


def _builders() -> Any:
    """tests/reports/builders.py (this folder is a package of its own, so it cannot import it relatively)."""
    name = "report_builders"  # the name tests/conftest.py loads it under, for the session's `bundle`
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, Path(__file__).parents[1] / "reports" / "builders.py"
        )
        assert spec
        assert spec.loader
        sys.modules[name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules[name])
    return sys.modules[name]


builders = _builders()
PAYLOAD = builders.PAYLOAD


@pytest.fixture(scope="module")
def report_bundle(bundle: dict[str, Any]) -> dict[str, Any]:
    """The report tests' bundle (tests/conftest.py: the demo store of seed 4, built once per session)."""
    return bundle


def _open_offline(new_session: Any, page_file: Path) -> tuple[Any, list[str], list[str]]:
    """The report opened from disk with the network off; requests to anything but the file are aborted
    and recorded, and so are dialogs (an `alert` would be one)."""
    session = new_session()
    context = session.page.context
    context.set_offline(True)
    attempted: list[str] = []
    dialogs: list[str] = []

    def guard(route: Any) -> None:
        if route.request.url == page_file.as_uri():
            route.continue_()
        else:
            attempted.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    session.page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    session.page.goto(page_file.as_uri())
    session.page.wait_for_selector("html[data-charts=drawn]", timeout=30_000)
    return session, attempted, dialogs


def test_the_report_opens_offline_and_draws_every_chart(
    new_session: Any, report_bundle: dict[str, Any], tmp_path: Path, artifacts: Path
) -> None:
    html = render_html(report_bundle)
    page_file = tmp_path / "report.html"
    page_file.write_text(html, encoding="utf-8")
    session, attempted, dialogs = _open_offline(new_session, page_file)
    page = session.page
    figures = json.loads(page.locator("#report-figures").text_content())
    plots = page.locator(".js-plotly-plot")
    assert plots.count() == len(figures) >= 5
    for i in range(plots.count()):
        assert plots.nth(i).locator("svg.main-svg").count() >= 1
    assert page.locator("#verdict").get_attribute("data-decision") == "do not ship"
    assert "Verdict: do not ship" in page.locator("#verdict").inner_text()
    page.screenshot(path=str(artifacts / "report.png"))
    assert not attempted, attempted
    assert not dialogs
    assert not session.console.errors, session.console.errors


def test_text_from_the_data_shows_as_text_and_runs_nothing(
    new_session: Any, report_bundle: dict[str, Any], tmp_path: Path, artifacts: Path
) -> None:
    page_file = tmp_path / "hostile.html"
    page_file.write_text(render_html(builders.hostile(report_bundle)), encoding="utf-8")
    session, attempted, dialogs = _open_offline(new_session, page_file)
    page = session.page
    assert page.locator("pre").first.inner_text().startswith(PAYLOAD)
    assert page.locator("#page-one").locator("img, svg, b").count() == 0
    assert page.evaluate("document.querySelectorAll('script').length") == 3
    page.locator("#fig-slices").scroll_into_view_if_needed()  # the payload is a slice's label there
    page.screenshot(path=str(artifacts / "report-escaping.png"))
    assert not dialogs, dialogs
    assert not attempted, attempted
    assert not session.console.errors, session.console.errors
