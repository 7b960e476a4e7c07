"""`routelab report`: writes HTML, Markdown or PDF and the bundle next to it; exit 1 on do not ship (so CI
can gate on the report), 0 otherwise, 2 on bad input."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from routelab.app.cli import main
from routelab.reports.pdf import CHROMIUM

from .builders import BASE, CAND, matches, parse_page


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_markdown_with_a_failing_condition_exits_1(
    capsys: pytest.CaptureFixture[str], report_db: Path, tmp_path: Path
) -> None:
    out = tmp_path / "sub" / "report.md"
    code, stdout, _ = run(
        capsys, "report", BASE, CAND, "--format", "md", "--out", str(out), "--db", str(report_db),
        "--fail-if", "accuracy.delta.ci_high < 0",
    )  # fmt: skip
    assert code == 1
    assert "verdict: do not ship" in stdout
    assert f"report: {out}" in stdout
    assert out.read_text().startswith(f"# {CAND} against {BASE}: DO NOT SHIP")
    saved = json.loads((tmp_path / "sub" / "report.md.json").read_text())
    assert saved["compare"]["gate"]["failures"][0]["condition"] == "accuracy.delta.ci_high < 0"
    assert saved["meta"]["base"] == BASE


def test_html_by_default_in_the_working_directory_with_a_passing_gate(
    capsys: pytest.CaptureFixture[str], report_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, stdout, _ = run(
        capsys, "report", BASE, CAND, "--db", str(report_db), "--fail-if", "accuracy.delta.value > 0.5"
    )
    assert code == 0
    assert "verdict: ship with caveats" in stdout
    html = (tmp_path / "report-acme-gateway_1-acme-gateway_2.html").read_text()
    bundle = json.loads((tmp_path / "report-acme-gateway_1-acme-gateway_2.html.json").read_text())
    metrics = parse_page(html).metrics
    assert metrics
    assert all(matches(bundle, p, u, t) for p, u, t in metrics)


def test_pdf_through_chromium_with_a_gate_file(
    capsys: pytest.CaptureFixture[str], report_db: Path, tmp_path: Path
) -> None:
    if not CHROMIUM.exists():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{CHROMIUM} is missing under CI", pytrace=False)
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium")
    gate = tmp_path / "gate.yaml"
    gate.write_text("conditions:\n  - name: accuracy-regression\n    when: accuracy.delta.ci_high < 0\n")
    out = tmp_path / "report.pdf"
    code, stdout, _ = run(
        capsys, "report", BASE, CAND, "--format", "pdf", "--out", str(out), "--gate", str(gate),
        "--db", str(report_db),
    )  # fmt: skip
    assert code == 1
    assert "Gate condition accuracy-regression" in stdout
    assert out.read_bytes().startswith(b"%PDF")
    assert (tmp_path / "report.pdf.json").exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ((BASE, "acme-gateway@9"), "no decisions of acme-gateway@9"),
        ((BASE, CAND, "--fail-if", "accuracy.delta.nope < 0"), "no key 'nope'"),
        ((BASE, CAND, "--gate", "missing-gate.yaml"), "missing-gate.yaml: no such file"),
        ((BASE, CAND, "--budget", "missing-budget.yaml"), "missing-budget.yaml: no such file"),
    ],
    ids=["unknown-version", "unknown-gate-path", "missing-gate-file", "missing-budget-file"],
)
def test_bad_input_exits_2_and_writes_nothing(
    capsys: pytest.CaptureFixture[str],
    report_db: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    argv: tuple[str, ...],
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "report", *argv, "--db", str(report_db))
    assert code == 2
    assert message in err
    assert not list(tmp_path.glob("report-*"))


def test_a_budget_file_fills_the_operations_budget(
    capsys: pytest.CaptureFixture[str], report_db: Path, tmp_path: Path
) -> None:
    import duckdb

    with duckdb.connect(str(report_db), read_only=True) as con:
        teams = [
            r[0]
            for r in con.execute(
                "SELECT DISTINCT team FROM requests WHERE team IS NOT NULL ORDER BY 1"
            ).fetchall()
        ]
        models = {r[0] for r in con.execute("SELECT DISTINCT model FROM outcomes").fetchall()}
    budgets = {team: 100.0 * (k + 1) for k, team in enumerate(teams[:3])}
    budget = tmp_path / "budget.yaml"
    budget.write_text("".join(f"{t}: {v}\n" for t, v in budgets.items()), encoding="utf-8")
    out = tmp_path / "report.md"
    code, _, _ = run(
        capsys, "report", BASE, CAND, "--format", "md", "--out", str(out), "--db", str(report_db),
        "--budget", str(budget),
    )  # fmt: skip
    assert code in (0, 1)
    ops = json.loads((tmp_path / "report.md.json").read_text())["ops"]
    rows = {r["team"]: r for r in ops["budget"]["teams"]}
    assert set(budgets) <= set(rows)
    for team, amount in budgets.items():
        given = rows[team]["budget_usd"]
        assert (given["value"] if isinstance(given, dict) else given) == pytest.approx(amount)
    assert ops["failing_models"]  # the demo logs errors and timeouts per model
    assert {r["value"] for r in ops["failing_models"]} <= models
    text = out.read_text()
    assert all(team in text for team in budgets)
