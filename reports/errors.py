"""Errors raised by the report builder. Every message names what is wrong and the fix."""

from __future__ import annotations


class ReportError(Exception):
    """Base class of every error the report builder raises."""


class BundleError(ReportError):
    """A report bundle lacks a key the report needs, or holds a value of the wrong shape."""


class PdfError(ReportError):
    """Printing the HTML report to PDF failed."""


class ChromiumMissingError(PdfError):
    """No Chromium to print with."""
