"""`routelab compliance` on the demo, and what it feeds: compare's JSON and gate, drift, the report.

The demo's planted flaw: version 2 narrowed its privacy policy to `... and workflow != "sales"`, so
confidential sales context and PII in sales prompts reach external models. Versions 1 and 3 apply the
policy to every workflow with the same detector the compliance check uses, so they have no breach at all.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from routelab.app.cli import main
from routelab.app.compliance_flow import compliance_stored
from routelab.datasets import replay, routers
from routelab.datasets.store import Store, open_store
from routelab.datasets.workspace import build_demo, example_config

V1, V2, V3 = "acme-gateway@1", "acme-gateway@2", "acme-gateway@3"
NO_EU = "acme-gateway@2-no-eu"


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The demo (seed 7, 4,000 requests) plus a v2 variant without the EU residency policy."""
    path = tmp_path_factory.mktemp("compliance") / "demo.duckdb"
    with open_store(path) as store:
        build_demo(store, seed=7, n_requests=4000)
        config = yaml.safe_load(example_config("acme_v2.yaml"))
        config["version"] = "2-no-eu"
        config["policies"] = [p for p in config["policies"] if p["kind"] != "region"]
        routers.add(store, yaml.safe_dump(config, sort_keys=False), source="test")
        replay.replay(store, NO_EU)
    return str(path)


@pytest.fixture
def store(db: str, tmp_path: Path) -> Any:
    """A private copy of the demo store, for tests that write results."""
    copy = tmp_path / "copy.duckdb"
    shutil.copy(db, copy)
    with open_store(copy) as s:
        yield s


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def versions(db: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """`compliance --json` of v1, v2, v3 (computed once, through the CLI)."""
    copy = tmp_path_factory.mktemp("compliance-json") / "demo.duckdb"
    shutil.copy(db, copy)
    out = io.StringIO()  # capsys is function-scoped: capture the module-wide run by hand
    with contextlib.redirect_stdout(out):
        code = main(["compliance", V1, V2, V3, "--db", str(copy), "--json"])
    assert code == 0
    return {v["version"]: v for v in json.loads(out.getvalue())["versions"]}


def test_v2_sends_confidential_sales_context_and_pii_outside_v1_and_v3_never(
    versions: dict[str, dict[str, Any]],
) -> None:
    v1, v2, v3 = versions[V1]["totals"], versions[V2]["totals"], versions[V3]["totals"]
    assert v1["privacy"]["count"] == v3["privacy"]["count"] == 0
    assert v2["privacy"]["count"] >= 100
    assert v2["privacy"]["rate"]["ci_low"] > v1["privacy"]["rate"]["ci_high"]
    sales = {s["value"]: s["privacy"]["count"] for s in versions[V2]["slices"]["workflow"]}
    assert sales.pop("sales") == v2["privacy"]["count"]  # the flaw exempts sales, and only sales
    assert not any(sales.values())
    causes = versions[V2]["causes"]
    assert causes["data_class:confidential"] > 0
    assert any(c.startswith("pii:") for c in causes)
    assert {m["boundary"] for m in versions[V2]["models"]} == {"external"}
    assert sum(p["privacy"]["count"] for p in versions[V2]["periods"]) == v2["privacy"]["count"]
    assert all(p["period"].startswith("2026-W") for p in versions[V2]["periods"])
    for doc in versions.values():  # every shipped version keeps the EU residency policy
        assert doc["totals"]["residency"]["count"] == 0
        assert doc["params"]["pii_source"] == "column"


def test_every_v2_example_is_sensitive_and_reached_an_external_model(
    versions: dict[str, dict[str, Any]], db: str
) -> None:
    from routelab.router_core.pii import PiiType, has_pii

    examples = versions[V2]["totals"]["privacy"]["examples"]
    assert len(examples) == 5
    assert examples == sorted(examples)
    with open_store(db, read_only=True) as store:
        for rid in examples:
            data_class, prompt, workflow, model = store.execute(
                "SELECT r.data_class, r.prompt, r.workflow, d.model FROM requests r JOIN decisions d "
                "USING (request_id) WHERE d.router = ? AND r.request_id = ?",
                [V2, rid],
            ).fetchone()
            assert workflow == "sales"
            assert data_class == "confidential" or any(has_pii(prompt, t) for t in PiiType)
            assert routers.get(store, V2).models[model].boundary == "external"


def test_pii_found_in_duckdb_equals_pii_found_in_python(db: str) -> None:
    with open_store(db, read_only=True) as store:
        by_sql = compliance_stored(store, [V2], pii="sql", save=False)["versions"][0]
        by_python = compliance_stored(store, [V2], pii="python", save=False)["versions"][0]
    assert by_python["params"]["pii_source"] == "prompt"
    for key in ("totals", "periods", "slices", "models", "causes"):
        assert by_sql[key] == by_python[key], key


def test_residency_rule_on_eu_requests_without_the_residency_policy(db: str) -> None:
    with open_store(db, read_only=True) as store:
        doc = compliance_stored(store, [NO_EU], save=False)["versions"][0]
        eu_capable = {m for m, spec in routers.get(store, NO_EU).models.items() if "eu" in spec.regions}
        expected = store.execute(
            "SELECT count(*) FROM decisions d JOIN requests r USING (request_id) WHERE d.router = ? "
            "AND r.region = 'eu' AND d.action <> 'block' AND (NOT list_contains(?, d.model) "
            "OR len(list_filter(d.fallbacks, lambda f: NOT list_contains(?, f))) > 0)",
            [NO_EU, sorted(eu_capable), sorted(eu_capable)],
        ).fetchone()[0]
        example_regions = {
            store.scalar("SELECT region FROM requests WHERE request_id = ?", [rid])
            for rid in doc["totals"]["residency"]["examples"]
        }
    residency = doc["totals"]["residency"]
    assert residency["count"] == expected > 100
    assert example_regions == {"eu"}
    assert residency["rate_at_risk"]["n"] == doc["totals"]["n_regional"]
    assert all("eu" not in m["regions"] for m in doc["models"] if m["residency"])


def test_text_output_and_exit_codes(capsys: pytest.CaptureFixture[str], db: str, tmp_path: Path) -> None:
    copy = tmp_path / "copy.duckdb"
    shutil.copy(db, copy)
    code, out, _ = run(capsys, "compliance", V2, "--db", str(copy))
    assert code == 0
    assert f"{V2}: 4,000 decisions" in out
    assert "privacy breaches" in out
    assert "by week:" in out
    assert "sales" in out
    code, out, _ = run(capsys, "compliance", V2, "--by", "day", "--fail-on-breach", "--db", str(copy))
    assert code == 1
    assert "by day:" in out
    assert run(capsys, "compliance", V1, V3, "--fail-on-breach", "--db", str(copy))[0] == 0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["acme-gateway@9"], "acme-gateway@9"),
        ([V2, "--slice", "nope"], "no field 'nope'"),
        ([V2, "--slice", "workflow; DROP TABLE requests"], "no field"),
        ([V2, "--examples", "-1"], "--examples"),
    ],
    ids=["unknown-version", "unknown-slice", "hostile-slice", "negative-examples"],
)
def test_bad_input_exits_2_with_one_clean_line(
    capsys: pytest.CaptureFixture[str], db: str, tmp_path: Path, argv: list[str], message: str
) -> None:
    copy = tmp_path / "copy.duckdb"
    shutil.copy(db, copy)
    code, _, err = run(capsys, "compliance", *argv, "--db", str(copy))
    assert code == 2
    assert message in err
    assert "Traceback" not in err


def test_results_are_saved_with_their_rules(store: Store) -> None:
    compliance_stored(store, [V2])
    row = store.execute("SELECT routers, params FROM eval_results WHERE kind = 'compliance'").fetchone()
    assert row[0] == [V2]
    assert json.loads(row[1])["rules"]["sensitive_classes"] == ["confidential", "restricted"]


def test_compare_carries_both_totals_and_the_gate_reads_them(
    capsys: pytest.CaptureFixture[str], db: str, tmp_path: Path
) -> None:
    from routelab.evaluators.gate import evaluate_gate
    from routelab.evaluators.gate_syntax import UnknownPathError

    copy = tmp_path / "copy.duckdb"
    shutil.copy(db, copy)
    path = "compliance.candidate.privacy.count"
    code, out, _ = run(capsys, "compare", V1, V2, "--fail-if", f"{path} > 0", "--db", str(copy), "--json")
    doc = json.loads(out)
    assert code == 1
    compliance = doc["compliance"]
    breaches = compliance["candidate"]["privacy"]["count"]
    assert compliance["baseline"]["privacy"]["count"] == 0
    assert compliance["delta"]["privacy"]["count"] == breaches > 0
    assert compliance["delta"]["privacy"]["introduced"] == breaches
    assert compliance["delta"]["privacy"]["rate"]["ci_low"] > 0
    assert doc["gate"]["failures"][0]["values"] == {path: breaches}
    assert evaluate_gate(doc, ["compliance.baseline.any.count > 0"]).passed
    with pytest.raises(UnknownPathError, match="did you mean 'privacy'"):
        evaluate_gate(doc, ["compliance.candidate.privcy.count > 0"])
    code, out, _ = run(
        capsys, "compare", V1, V3, "--fail-if", "compliance.delta.any.count > 0", "--db", str(copy)
    )
    assert code == 0
    assert "privacy breaches   0 → 0" in out


def test_drift_document_has_the_compliance_timeline(store: Store) -> None:
    from routelab.app.workflows import drift_stored_version

    doc = drift_stored_version(store, V2, features=["workflow"], slices=["workflow"], save=False)
    timeline = doc["compliance_timeline"]
    assert [p["period"] for p in timeline] == sorted(p["period"] for p in timeline)
    assert sum(p["privacy"]["count"] for p in timeline) > 0
    assert {"period", "n", "privacy", "residency", "any"} <= set(timeline[0])


def test_report_bundle_has_both_versions_compliance(tmp_path: Path) -> None:
    from routelab.app.report_flow import report_bundle

    with open_store(tmp_path / "small.duckdb") as store:
        build_demo(store, seed=7, n_requests=600)
        bundle = report_bundle(store, V1, V2, at=datetime(2026, 11, 1))
    compliance = bundle["compliance"]
    assert compliance["base"]["version"] == V1
    assert compliance["candidate"]["version"] == V2
    assert (
        compliance["candidate"]["totals"]["privacy"]["count"]
        > compliance["base"]["totals"]["privacy"]["count"]
    )
    assert compliance["delta"] == bundle["compare"]["compliance"]["delta"]
    json.dumps(bundle)
