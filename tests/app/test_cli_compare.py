"""`routelab compare`: the JSON contract, the release gate's exit codes, and the demo's story."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from routelab.app.cli import main
from routelab.datasets.store import open_store
from routelab.reports.formatting import p_text

if TYPE_CHECKING:
    from ..conftest import DemoStores

KEYS = {"baseline", "candidate", "n", "accuracy", "cost", "latency", "flips", "slices", "attribution", "gate"}


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory, demo_stores: DemoStores) -> str:
    path = tmp_path_factory.mktemp("compare") / "demo.duckdb"
    return str(demo_stores.copy(path, seed=11, n_requests=1500))


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_json_has_the_documented_keys_and_metric_shape(capsys: pytest.CaptureFixture[str], db: str) -> None:
    code, out, _ = run(
        capsys, "compare", "acme-gateway@1", "acme-gateway@2", "--by", "task", "--db", db, "--json"
    )
    doc = json.loads(out)
    assert code == 0
    assert set(doc) >= KEYS
    delta = doc["accuracy"]["delta"]
    assert {"value", "ci_low", "ci_high", "n", "p_value"} <= set(delta)
    assert delta["ci_low"] <= delta["value"] <= delta["ci_high"]
    assert doc["cost"]["delta_pct"]["ci_high"] < 0  # v2 is cheaper
    refund = next(r for r in doc["slices"]["by"]["task"] if r["value"] == "refund")
    assert refund["significant"]
    assert refund["accuracy"]["delta"]["value"] < 0
    moved = [c for c in doc["attribution"]["changes"] if c["change"]["item"] == "support-billing-faq"]
    assert moved
    assert any(c["shared"]["broken"] for c in moved)


@pytest.mark.parametrize(
    ("condition", "code"),
    [("accuracy.delta.ci_high < 0", 1), ("accuracy.delta.value > 0.5", 0)],
    ids=["regression-fails-the-gate", "condition-not-met-passes"],
)
def test_fail_if_sets_the_exit_code(
    capsys: pytest.CaptureFixture[str], db: str, condition: str, code: int
) -> None:
    got, out, _ = run(
        capsys, "compare", "acme-gateway@1", "acme-gateway@2", "--fail-if", condition, "--db", db
    )
    assert got == code
    assert ("GATE FAILED" in out) == (code == 1)


def test_gate_file_and_its_errors(capsys: pytest.CaptureFixture[str], db: str, tmp_path: Path) -> None:
    gate = tmp_path / "gate.yaml"
    gate.write_text(
        "conditions:\n"
        "  - name: accuracy-regression\n    when: accuracy.delta.ci_high < 0\n"
        "  - name: cost-up-5pct\n    when: cost.delta_pct.ci_low > 5\n"
    )
    code, out, _ = run(capsys, "compare", "acme-gateway@2", "acme-gateway@3", "--gate", str(gate), "--db", db)
    assert (code, "gate passed (2 conditions)" in out) == (0, True)  # v3 fixes v2 for under 5 % more cost
    gate.write_text("conditions:\n  - when: accuracy.delta.vlaue < 0\n")
    code, _, err = run(capsys, "compare", "acme-gateway@2", "acme-gateway@3", "--gate", str(gate), "--db", db)
    assert code == 2
    assert "did you mean 'value'" in err


def test_stored_results_carry_versions_price_tables_and_data_fingerprint(
    capsys: pytest.CaptureFixture[str], db: str
) -> None:
    run(capsys, "compare", "acme-gateway@1", "acme-gateway@3", "--seed", "5", "--db", db)
    with open_store(db, read_only=True) as store:
        params, seed = store.execute(
            "SELECT params, seed FROM eval_results WHERE kind = 'compare' ORDER BY created_at DESC LIMIT 1"
        ).fetchone()  # type: ignore[misc]
    stamp = json.loads(params)
    assert seed == 5
    assert len(stamp["data_fingerprint"]) == 16
    assert set(stamp["versions"]) == {"acme-gateway@1", "acme-gateway@3"}
    assert all(v["price_table_id"] and v["router_hash"] for v in stamp["versions"].values())


def test_text_output_writes_the_p_values_of_the_json(capsys: pytest.CaptureFixture[str], db: str) -> None:
    argv = ["compare", "acme-gateway@1", "acme-gateway@2", "--by", "task", "--db", db]
    _, out, _ = run(capsys, *argv, "--json")
    doc = json.loads(out)
    _, text, _ = run(capsys, *argv)
    delta_line = next(line for line in text.splitlines() if line.strip().startswith("accuracy delta"))
    assert p_text(doc["accuracy"]["delta"]["p_value"]) in delta_line
    assert " p=0 " not in text
