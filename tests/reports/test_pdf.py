"""The PDF: printed by headless Chromium, the summary (verdict, sentences, risks) on page one, the evidence
from page two. Skips without Chromium or pypdf on a developer machine; fails under CI (`CI=true`)."""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path
from typing import Any

import pytest

from routelab.reports.pdf import CHROMIUM, html_to_pdf

HEADINGS = (
    "Cost–quality frontier",
    "Where requests moved",
    "Accuracy by slice",
    "Drift and silent",
    "Policy and privacy flags",
    "Privacy and residency",
    "Worst regressions",
    "Label coverage",
    "Operations",
    "Method notes",
)


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"the PDF test cannot run under CI: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def pages(html: str, tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """The text of each page of the printed report."""
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is missing: apt-get install chromium")
    try:
        from pypdf import PdfReader
    except ImportError:
        _unavailable("pypdf is not installed: pip install -e '.[dev]'")
    pdf = html_to_pdf(html, tmp_path_factory.mktemp("pdf") / "report.pdf")
    # NFKC: the PDF's fonts set "fl" and "fi" as ligatures
    return [
        re.sub(r"\s+", " ", unicodedata.normalize("NFKC", p.extract_text())) for p in PdfReader(pdf).pages
    ]


def test_page_one_holds_the_summary(pages: list[str]) -> None:
    first = pages[0]
    assert "Verdict: do not ship" in first
    assert "accuracy.delta.ci_high < 0 holds" in first
    assert "In short" in first
    assert "Cost per 1,000 requests falls from" in first
    assert "McNemar's test" in first
    assert "Top risks" in first
    assert "Key numbers" not in first  # the evidence starts on a new page


def test_the_evidence_follows_with_every_section(pages: list[str]) -> None:
    assert len(pages) >= 3
    rest = " ".join(pages[1:])
    assert pages[1].lstrip().startswith("Key numbers")
    for heading in HEADINGS:
        assert heading in rest, heading


def test_a_missing_chromium_names_the_fix(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, bundle: Any
) -> None:
    from routelab.reports import pdf
    from routelab.reports.errors import ChromiumMissingError

    monkeypatch.setattr(pdf, "CHROMIUM", tmp_path / "no-chromium")
    monkeypatch.setattr(pdf.shutil, "which", lambda name: None)
    with pytest.raises(ChromiumMissingError, match=r"apt-get install chromium"):
        html_to_pdf("<html></html>", tmp_path / "x.pdf")
