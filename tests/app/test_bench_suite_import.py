"""`routelab bench suite --steps import`: the SQL import path on all N requests, Python on the sample."""

from __future__ import annotations

import pytest

from routelab.app.bench_suite import run_suite


def test_the_import_step_times_both_paths() -> None:
    n, sample = 1_200, 300
    (entry,) = run_suite([n], steps=["import"], sample=sample)["sizes"]
    figures = entry["steps"]["import"]
    assert figures["path"] == "sql"
    assert (figures["rows"], figures["python_rows"]) == (n, sample)
    assert figures["rows_per_s"] == pytest.approx(n / figures["seconds"])
    assert figures["python_rows_per_s"] == pytest.approx(sample / figures["python_seconds"])
    assert figures["sql_over_python"] == pytest.approx(figures["rows_per_s"] / figures["python_rows_per_s"])
    assert figures["peak_rss_mb"] > 0
    assert figures["peak_rss_from"] in ("import", "export and import")
