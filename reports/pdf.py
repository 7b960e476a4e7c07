"""The PDF report: the HTML printed by headless Chromium (Debian's `chromium`), for mail.

Chromium gets a virtual-time budget so plotly draws every chart before printing; the print CSS of the
HTML puts the summary on page one and starts the evidence on a new page.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from routelab.reports.errors import ChromiumMissingError, PdfError

CHROMIUM = Path("/usr/bin/chromium")
#: Seconds Chromium may take before the print is abandoned.
TIMEOUT_S = 120
#: Virtual milliseconds the page may run (plotly draws) before printing.
VIRTUAL_TIME_MS = 15_000


def chromium() -> Path:
    """Debian's Chromium, else a `chromium` on PATH; raise `ChromiumMissingError` naming the fix."""
    if CHROMIUM.exists():
        return CHROMIUM
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return Path(found)
    raise ChromiumMissingError(
        "no Chromium to print the PDF with: install Debian's chromium (apt-get install chromium), "
        "or write HTML (--format html) and print it from a browser"
    )


def command(browser: Path, html: Path, pdf: Path) -> list[str]:
    """The Chromium command line printing `html` to `pdf` (offline: no network services start)."""
    return [
        str(browser),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--no-pdf-header-footer",
        f"--virtual-time-budget={VIRTUAL_TIME_MS}",
        f"--print-to-pdf={pdf}",
        html.resolve().as_uri(),
    ]


def html_to_pdf(html: str, pdf: Path, timeout: float = TIMEOUT_S) -> Path:
    """Print an HTML report to `pdf` with headless Chromium; returns `pdf`.

    Raises:
        ChromiumMissingError: no Chromium (the message says how to install it).
        PdfError: Chromium failed, timed out or wrote no PDF (the message carries its last output).
    """
    browser = chromium()
    pdf = Path(pdf).resolve()
    pdf.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="routelab-report-") as tmp:
        page = Path(tmp) / "report.html"
        page.write_text(html, encoding="utf-8")
        try:
            done = subprocess.run(
                command(browser, page, pdf),
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
                cwd=tmp,
                env={"HOME": tmp, "PATH": "/usr/bin:/bin"},
            )
        except subprocess.TimeoutExpired as exc:
            raise PdfError(f"{browser} did not print {pdf} within {timeout:.0f} s") from exc
        except OSError as exc:
            raise PdfError(f"cannot run {browser}: {exc}") from exc
    if done.returncode != 0 or not pdf.exists() or pdf.stat().st_size == 0:
        tail = "\n".join((done.stderr or done.stdout or "").strip().splitlines()[-5:])
        raise PdfError(f"{browser} exited with {done.returncode} and wrote no PDF to {pdf}: {tail}")
    return pdf
