"""`routelab bench suite`: every step runs in its own process and reports figures that add up."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from routelab.app.bench_suite import STEPS, TARGETS, run_suite, targets
from routelab.app.cli import main
from routelab.app.commands.replay import SUITE_RATIOS, _sizes, print_suite


def test_sizes_read_counts_and_suffixes() -> None:
    assert _sizes("1000000,10000000") == [1_000_000, 10_000_000]
    assert _sizes("1M, 2.5k") == [1_000_000, 2_500]
    for bad in ("ten", "0", "1M,x"):
        with pytest.raises(argparse.ArgumentTypeError, match=r"request count|at least 1"):
            _sizes(bad)


def test_an_unknown_step_is_refused_with_the_known_ones(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "suite", "--requests", "100", "--steps", "replay_sql,warp"]) == 2
    err = capsys.readouterr().err
    assert "warp" in err
    assert "replay_sql" in err


def test_a_small_suite_reports_each_step(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    n, sample = 1_500, 400
    args = ["bench", "suite", "--requests", str(n), "--sample", str(sample), "--json"]
    assert main([*args, "--steps", "scan,replay_sql,replay_python,compare", "--workdir", str(tmp_path)]) == 0
    doc = json.loads(capsys.readouterr().out)
    (entry,) = doc["sizes"]
    assert entry["n_requests"] == entry["requests"] == n
    steps = entry["steps"]
    assert (
        list(steps) == [s for s in STEPS if s in steps] == ["scan", "replay_sql", "replay_python", "compare"]
    )
    assert steps["scan"]["requests"] == steps["replay_sql"]["requests"] == n
    assert steps["replay_python"]["requests"] == sample
    assert steps["compare"]["requests"] == n
    assert steps["compare"]["pii_cache_seconds"] > 0
    for figures in steps.values():
        assert figures["seconds"] > 0
        assert figures["peak_rss_mb"] > 0
    sql, py = steps["replay_sql"], steps["replay_python"]
    assert entry["sql_over_python"] == pytest.approx(sql["decisions_per_s"] / py["decisions_per_s"])
    assert entry["replay_over_scan"] == pytest.approx(sql["seconds"] / steps["scan"]["seconds"])
    scan = steps["scan"]
    assert scan["warm_seconds"] > 0
    assert scan["warm_all_columns_seconds"] > 0
    assert entry["warm_replay_over_scan"] == pytest.approx(sql["warm_seconds"] / scan["warm_seconds"])
    assert entry["warm_replay_over_all_columns"] == pytest.approx(
        sql["warm_seconds"] / scan["warm_all_columns_seconds"]
    )
    checked = {t["figure"]: t for t in entry["targets"]}
    assert set(checked) == {target[1] for target in TARGETS}  # these steps measure every one
    assert checked["compare_seconds"]["value"] == steps["compare"]["seconds"]
    assert checked["max_peak_rss_mb"]["value"] == max(f["peak_rss_mb"] for f in steps.values())
    assert doc["machine"]["cpus"] >= 1
    assert not list(tmp_path.iterdir())  # the temporary stores are gone


def test_targets_are_checked_against_their_limits_and_printed(capsys: pytest.CaptureFixture[str]) -> None:
    steps = {
        "scan": {"seconds": 107.0, "warm_seconds": 6.15, "peak_rss_mb": 1391.0},
        "replay_sql": {
            "seconds": 122.0,
            "warm_seconds": 15.1,
            "cold_peak_rss_mb": 1673.0,
            "peak_rss_mb": 1673.0,
        },
        "compare": {"seconds": 31.3, "seconds_warm": 22.6, "peak_rss_mb": 4100.0},
        "replay_ray": {"skipped": "Ray is not installed"},  # not a failure: no figure, no verdict
    }
    entry = {"steps": steps, "replay_over_scan": 122.0 / 107.0, "warm_replay_over_scan": 15.1 / 6.15}
    got = {t["figure"]: (t["value"], t["met"]) for t in targets(entry)}
    assert got == {
        "replay_over_scan": (122.0 / 107.0, True),
        "warm_replay_over_scan": (15.1 / 6.15, False),
        "compare_seconds": (31.3, False),  # the first compare, the one a user waits for
        "max_peak_rss_mb": (4100.0, False),
    }
    assert targets({"steps": {"scan": steps["scan"]}}) == [
        {
            "target": TARGETS[3][0],
            "figure": "max_peak_rss_mb",
            "value": 1391.0,
            "limit": 4000.0,
            "unit": "MB",
            "met": True,
        }
    ]  # only what the steps measured
    checked = targets(entry)
    entry |= {"n_requests": 10, "mean_prompt_chars": 1.0, "steps": {}, "targets": checked}
    print_suite({"sizes": [entry]})
    lines = [line.strip() for line in capsys.readouterr().out.splitlines() if "target:" in line]
    assert lines == [
        "target: cold SQL replay within 2x of the cold bare scan: 1.14x (met)",
        "target: warm SQL replay within 2x of the warm bare scan: 2.46x (NOT MET)",
        "target: compare under 30 s: 31.3 s (NOT MET)",
        "target: peak RSS under 4 GB in every step: 4,100.0 MB (NOT MET)",
    ]


def test_a_failed_step_leaves_its_targets_unmeasured_not_met(capsys: pytest.CaptureFixture[str]) -> None:
    steps = {
        "scan": {"seconds": 107.0, "warm_seconds": 6.15, "peak_rss_mb": 1391.0},
        "replay_sql": {"seconds": 122.0, "warm_seconds": 15.1, "peak_rss_mb": 1673.0},
        "compare": {"error": "Killed"},  # e.g. out of memory: its peak is unknown
    }
    entry = {"steps": steps, "replay_over_scan": 122.0 / 107.0, "warm_replay_over_scan": 15.1 / 6.15}
    got = {t["figure"]: (t["value"], t["met"], t.get("failed")) for t in targets(entry)}
    assert got == {
        "replay_over_scan": (122.0 / 107.0, True, None),
        "warm_replay_over_scan": (15.1 / 6.15, False, None),
        "compare_seconds": (None, None, ["compare"]),
        "max_peak_rss_mb": (None, None, ["compare"]),  # 1,673 MB of the others would read as met
    }
    entry |= {"n_requests": 10, "mean_prompt_chars": 1.0, "steps": {}, "targets": targets(entry)}
    print_suite({"sizes": [entry]})
    out = capsys.readouterr().out
    assert "target: compare under 30 s: not measured (compare failed)" in out
    assert "target: peak RSS under 4 GB in every step: not measured (compare failed)" in out


def test_drift_brings_the_replay_it_needs() -> None:
    lines: list[str] = []
    out = run_suite([1_200], steps=["drift"], sample=300, report=lines.append)
    assert list(out["sizes"][0]["steps"]) == ["replay_sql", "drift"]
    assert out["sizes"][0]["steps"]["drift"]["seconds"] > 0
    assert any("drift" in line for line in lines)


def test_bench_compare_times_the_pii_cache_apart_from_the_compare(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "compare", "--requests", "1500", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["n_requests"] == 1_500
    assert 0 < doc["labelled"] < doc["n_requests"]
    assert 0 < doc["flip_rate"] < 1  # v1 and v2 route the demo differently
    for key in ("pii_cache_seconds", "compare_seconds", "compare_seconds_warm", "peak_rss_mb"):
        assert doc[key] > 0, key
    assert main(["bench", "compare", "--requests", "1200"]) == 0
    out = capsys.readouterr().out
    assert "PII cache" in out
    assert "1,200 requests" in out


def test_the_text_output_shows_the_write_share_and_aligns_the_ratios(
    capsys: pytest.CaptureFixture[str],
) -> None:
    scan = {"decisions_per_s": 1e5, "seconds": 10.0, "peak_rss_mb": 900.0, "warm_seconds": 0.8}
    scan |= {"warm_decisions_per_s": 1.25e6, "warm_all_columns_seconds": 0.93}
    sql = {"decisions_per_s": 8e4, "seconds": 12.5, "peak_rss_mb": 1000.0, "warm_seconds": 1.71}
    sql |= {"warm_decisions_per_s": 5.8e5, "warm_peak_rss_mb": 950.0}
    entry = {"n_requests": 1000, "mean_prompt_chars": 1800.0, "steps": {"scan": scan, "replay_sql": sql}}
    entry |= {
        "replay_over_scan": 1.25,
        "warm_replay_over_scan": 1.71 / 0.8,
        "warm_replay_over_all_columns": 1.71 / 0.93,
    }
    print_suite({"sizes": [entry]})
    lines = capsys.readouterr().out.splitlines()
    assert any("all columns, no write" in line and "0.9 s" in line for line in lines)
    shown = [line for line in lines if line.split() and line.split()[0] in SUITE_RATIOS]
    assert [line.split()[0] for line in shown] == [
        "replay_over_scan",
        "warm_replay_over_scan",
        "warm_replay_over_all_columns",
    ]
    assert (
        len({line.index("x", len(line.split()[0]) + 2) for line in shown}) == 1
    )  # one column for the ratios
    assert shown[2].split()[1] == f"{1.71 / 0.93:.1f}x"
