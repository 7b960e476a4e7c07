"""The workbench's Reports page under Streamlit's AppTest: pick two versions, type a gate condition,
Generate, and the verdict and the HTML, Markdown and bundle downloads appear."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from ..workbench_app import workbench


@pytest.fixture
def app(report_db: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[AppTest]:
    with workbench(report_db, monkeypatch, timeout=180) as at:
        yield at


def test_generate_offers_the_reports_for_download(app: AppTest) -> None:
    app.run()
    app.switch_page("views/reports.py").run()
    assert not app.exception
    assert app.title[0].value == "Reports for leaders"
    app.selectbox(key="report_versions_0").set_value("acme-gateway@1")
    app.selectbox(key="report_versions_1").set_value("acme-gateway@2")
    app.text_area(key="report_conditions").input("accuracy.delta.ci_high < 0\n# a comment\n").run()
    app.button(key="report_generate").click().run()
    assert not app.exception, [e.value for e in app.exception]
    assert not app.error, [e.value for e in app.error]
    assert any("do not ship" in m.value for m in app.markdown)
    downloads = app.get("download_button")
    assert len(downloads) == 3


def test_an_unknown_gate_path_is_an_error_on_the_page(app: AppTest) -> None:
    app.run()
    app.switch_page("views/reports.py").run()
    app.text_area(key="report_conditions").input("accuracy.delta.nope < 0").run()
    app.button(key="report_generate").click().run()
    assert not app.exception
    assert "no key 'nope'" in app.error[0].value
    assert not app.get("download_button")
