"""`routelab drift` on the demo: the planted story is found, the quiet weeks stay quiet, bad input exits 2.

The demo plants (datasets/demo/story.py): the ACME Fleet launch on the Monday of week 6 (new segments,
more EU traffic; Fleet activation tickets fall into the billing FAQ lane of v1 and v3), a +25 % Claude Haiku
price change on the Thursday of week 6, and v2's refund and billing-dispute tickets misrouted to the FAQ lane.
Week labels are computed from the story's constants, not written down.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest

from routelab.app.cli import main
from routelab.datasets.demo import LAUNCH_DAY, PRICE_MODEL
from routelab.datasets.store import open_store
from routelab.datasets.workspace import build_demo

START = date(2026, 9, 7)  # the demo's default first day, a Monday


def week(day: int) -> str:
    """ISO week label of the demo's day `day`."""
    year, number, _ = (START + timedelta(days=day)).isocalendar()
    return f"{year}-W{number:02d}"


LAUNCH_WEEK = week(LAUNCH_DAY)
QUIET_WEEKS = [week(7 * k) for k in range(5)]  # weeks 1-5
AFTER_LAUNCH = [week(LAUNCH_DAY + 7 * k) for k in range(3)]  # weeks 6-8


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("drift") / "demo.duckdb"
    with open_store(path) as store:
        build_demo(store, seed=11, n_requests=8000)
    return str(path)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def v3(db: str) -> dict[str, Any]:
    """`routelab drift acme-gateway@3 --json --fail-on-alarm`, run once for the module."""
    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        code = main(["drift", "acme-gateway@3", "--db", db, "--json", "--fail-on-alarm"])
    document: dict[str, Any] = json.loads(buffer.getvalue())
    document["exit_code"] = code
    return document


def test_weeks_one_to_five_raise_no_alarm_and_the_launch_weeks_do(v3: dict[str, Any]) -> None:
    windows = [w["window"]["label"] for w in v3["windows"]]
    assert windows == [*QUIET_WEEKS, *AFTER_LAUNCH]
    alarmed = {a["window"] for a in v3["alarms"]}
    assert alarmed.isdisjoint(QUIET_WEEKS)
    assert LAUNCH_WEEK in alarmed
    assert v3["exit_code"] == 1  # --fail-on-alarm with alarms standing


def test_the_fleet_activation_tickets_are_a_silent_failure_in_the_launch_week(v3: dict[str, Any]) -> None:
    hits = [
        a for a in v3["alarms"] if a["window"] == LAUNCH_WEEK and a["slice_value"] == "support × troubleshoot"
    ]
    assert len(hits) == 1
    alarm = hits[0]
    accuracy = next(h for h in alarm["harms"] if h["metric"] == "accuracy")
    assert accuracy["current"] < accuracy["reference"] - 0.1
    assert accuracy["test"] == "z-test"
    assert alarm["p_adjusted"] < 0.05
    assert alarm["examples"]
    assert all(e.startswith("demo11-") for e in alarm["examples"])
    assert alarm["shift"] >= 0.1


def test_the_launch_shows_as_input_drift_only_after_it(v3: dict[str, Any]) -> None:
    by_week = {w["window"]["label"]: w for w in v3["windows"]}
    for label in AFTER_LAUNCH:
        drifted = {i["feature"] for i in by_week[label]["inputs"] if i["drift"]["drifted"]}
        assert {"task", "attrs.product"} <= drifted, label
    for label in QUIET_WEEKS:
        drifted = {i["feature"] for i in by_week[label]["inputs"] if i["drift"]["drifted"]}
        assert not {"task", "attrs.product", "region"} & drifted, label


def test_the_price_change_shows_in_the_haiku_unit_cost_from_the_week_after(v3: dict[str, Any]) -> None:
    def haiku(label: str) -> dict[str, Any]:
        window = next(w for w in v3["windows"] if w["window"]["label"] == label)
        return next(
            o
            for o in window["outcomes"]
            if o["metric"] == "unit_cost_per_1k_tokens" and o["slice_value"] == PRICE_MODEL
        )

    for label in AFTER_LAUNCH[1:]:  # the whole week at the new price
        row = haiku(label)
        assert row["drifted"], label
        assert 0.15 < row["relative_change"] < 0.35  # +25 %, give or take the token mix
    for label in QUIET_WEEKS:
        assert not haiku(label)["drifted"], label


def test_the_timeline_has_every_week_with_its_rates(v3: dict[str, Any]) -> None:
    periods = v3["timeline"]["periods"]
    assert [p["label"] for p in periods] == [*QUIET_WEEKS, *AFTER_LAUNCH]
    assert sum(p["n"] for p in periods) == 8000
    for p in periods:
        assert p["accuracy"]["ci_low"] <= p["accuracy"]["value"] <= p["accuracy"]["ci_high"]
        assert p["fallback_rate"] is not None
        assert p["cache_hit_rate"] is not None


def test_v2s_misrouted_support_segment_is_flagged_against_v1(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "drift", "acme-gateway@2", "--versus", "acme-gateway@1", "--db", db, "--json")
    assert code == 0  # no --fail-on-alarm
    doc = json.loads(out)
    flagged = {a["slice_value"]: a for a in doc["alarms"] if a["slice_field"] == "workflow*task"}
    for segment in ("support × refund", "support × billing_dispute"):
        harms = {h["metric"]: h for h in flagged[segment]["harms"]}
        assert harms["accuracy"]["test"] == "mcnemar-exact"
        assert harms["accuracy"]["current"] < harms["accuracy"]["reference"]
    shares = doc["route_shares"]
    assert shares["base_version"] == "acme-gateway@1"
    assert shares["candidate_version"] == "acme-gateway@2"
    moved = [r for r in shares["rows"] if r["significant"]]
    assert moved
    assert all(r["delta"]["ci_low"] <= r["delta"]["value"] <= r["delta"]["ci_high"] for r in moved)


def test_text_output_names_windows_alarms_and_the_method(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        "drift",
        "acme-gateway@3",
        "--db",
        db,
        "--reference",
        QUIET_WEEKS[0] + ".." + QUIET_WEEKS[3],
        "--current",
        LAUNCH_WEEK,
        "--chunks",
        "10",
    )
    assert code == 0
    assert f"{LAUNCH_WEEK} " in out
    assert "silent routing failures:" in out
    assert "Benjamini–Hochberg" in out
    assert "support × troubleshoot" in out
    assert "outside the reference chunks'" in out


def test_a_quiet_week_passes_the_gate(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        "drift",
        "acme-gateway@1",
        "--db",
        db,
        "--reference",
        f"{QUIET_WEEKS[0]}..{QUIET_WEEKS[2]}",
        "--current",
        QUIET_WEEKS[4],
        "--fail-on-alarm",
        "--json",
    )
    assert code == 0
    assert json.loads(out)["alarms"] == []


def test_results_are_saved_with_their_parameters(db: str) -> None:
    with open_store(db, read_only=True) as store:
        rows = store.execute(
            "SELECT kind, routers, params FROM eval_results WHERE kind LIKE 'drift%'"
        ).fetchall()
    kinds = {r[0] for r in rows}
    assert {"drift", "drift-versions"} <= kinds
    params = json.loads(next(r[2] for r in rows if r[0] == "drift"))
    assert params["thresholds"]["p_value"] == 0.05
    assert "data_fingerprint" in params


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--reference", "2026-13-01"], "not a calendar date"),
        (["--current", "last week"], "cannot read 'last week'"),
        (["--reference", "2027-W01"], "holds no request"),
        (["--slice", "colour"], "no field 'colour'"),
        (["--versus", "acme-gateway@1", "--by", "day"], "drop --reference/--by"),
        (["--p-value", "1.5"], "--p-value"),
        (["--chunks", "1"], "at least 2"),
    ],
    ids=[
        "bad-date",
        "unreadable",
        "empty-reference",
        "unknown-slice",
        "versus-with-by",
        "bad-p",
        "one-chunk",
    ],
)
def test_bad_input_exits_2_with_the_fix(
    db: str, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, _, err = run(capsys, "drift", "acme-gateway@3", "--db", db, *argv)
    assert code == 2
    assert message in err


def test_a_version_never_replayed_is_named(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "drift", "acme-gateway@9", "--db", db)
    assert code == 2
    assert "acme-gateway@9" in err
    assert "routelab replay" in err


def test_v3_keeps_its_breach_rate_so_no_compliance_alarm(v3: dict[str, Any]) -> None:
    """v3 fixes v2's privacy flaw from the start: every week is tested, none rises above its reference."""
    weeks = [p["period"] for p in v3["compliance_timeline"]]
    assert v3["compliance_tests"] == 2 * len([w for w in v3["windows"] if w["window"]["label"] in weeks])
    assert v3["compliance_alarms"] == []
