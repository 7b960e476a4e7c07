"""The store commands end to end through `main`: router add/list/show/diff, prices, replay, explain."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from routelab.app.cli import main
from routelab.datasets import prices
from routelab.datasets.store import open_store
from routelab.datasets.tables import write
from routelab.datasets.workspace import example_prices

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "router_core" / "examples"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def db(tmp_path: Path) -> str:
    """A store with the example requests and the example price table (no router versions yet)."""
    path = tmp_path / "cli.duckdb"
    from tests.datasets.conftest import example_requests  # the same frame the datasets tests use

    with open_store(path) as store:
        with store.transaction() as cur:
            write(cur, "requests", example_requests(), "examples")
        prices.save_price_table(store, example_prices())
    return str(path)


def test_router_add_list_and_replay(capsys: pytest.CaptureFixture[str], db: str) -> None:
    files = [str(EXAMPLES / f"acme_v{v}.yaml") for v in (1, 2, 3)]
    code, out, _ = run(capsys, "router", "add", *files, "--db", db)
    assert code == 0
    assert out.count("registered") == 3
    code, out, _ = run(capsys, "router", "add", files[0], "--db", db)
    assert "already registered (same content)" in out
    code, out, _ = run(capsys, "replay", "acme-gateway@2", "--db", db, "--json")
    result = json.loads(out)
    assert (code, result["n_decisions"], result["engine"]) == (0, 8, "sql")
    code, out, _ = run(capsys, "router", "list", "--db", db, "--json")
    listed = {row["ref"]: row for row in json.loads(out)}
    assert listed["acme-gateway@2"]["n_decisions"] == 8
    assert listed["acme-gateway@1"]["last_run"] is None


def test_show_and_diff_read_registered_versions(capsys: pytest.CaptureFixture[str], db: str) -> None:
    run(capsys, "router", "add", str(EXAMPLES / "acme_v2.yaml"), str(EXAMPLES / "acme_v3.yaml"), "--db", db)
    code, out, _ = run(capsys, "router", "show", "acme-gateway@3", "--db", db, "--json")
    assert (code, json.loads(out)["router"]) == (0, "acme-gateway@3")
    code, out, _ = run(capsys, "router", "diff", "acme-gateway@2", "acme-gateway@3", "--db", db, "--json")
    changed = {(c["section"], c["item"]) for c in json.loads(out)["changes"]}
    assert ("policies", "privacy") in changed


def test_explain_prints_the_trace(capsys: pytest.CaptureFixture[str], db: str) -> None:
    run(capsys, "router", "add", str(EXAMPLES / "acme_v2.yaml"), "--db", db)
    run(capsys, "replay", "acme-gateway@2", "--db", db)
    code, out, _ = run(capsys, "explain", "ex-refund", "--version", "acme-gateway@2", "--db", db)
    assert code == 0
    assert "MATCH support-billing-faq" in out
    code, out, _ = run(capsys, "explain", "ex-refund", "--version", "acme-gateway@2", "--db", db, "--json")
    assert json.loads(out)["rule_id"] == "support-billing-faq"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["replay", "acme-gateway@9"], "no router version acme-gateway@9"),
        (["replay", "acme-gateway@2", "--where", "wrkflow == 1"], "unknown name `wrkflow`"),
        (["explain", "nope", "--version", "acme-gateway@2"], "no request 'nope'"),
        (["router", "show", "acme-gateway"], "NAME@VERSION"),
    ],
    ids=["unknown-version", "bad-where", "unknown-request", "ref-without-version"],
)
def test_bad_input_is_one_clean_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], db: str, argv: list[str], message: str
) -> None:
    run(capsys, "router", "add", str(EXAMPLES / "acme_v2.yaml"), "--db", db)
    code, out, err = run(capsys, *argv, "--db", db)
    assert (code, out) == (2, "")
    assert err.startswith("routelab: error: ")
    assert message in err


def test_prices_snapshot_records_litellm(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    overrides = tmp_path / "overrides.csv"
    overrides.write_text("model,input_per_token,output_per_token\nollama/llama3.1,1e-8,2e-8\n")
    db = str(tmp_path / "p.duckdb")
    code, out, _ = run(capsys, "prices", "snapshot", "--overrides", str(overrides), "--db", db, "--json")
    snap = json.loads(out)
    assert code == 0
    assert snap["source"].startswith("litellm ")
    assert snap["models"] > 1000
    with open_store(db, read_only=True) as store:
        row = store.execute(
            "SELECT input_per_token, origin FROM prices WHERE model = 'ollama/llama3.1'"
        ).fetchone()
        version = store.scalar("SELECT litellm_version FROM price_tables")
    assert row == (1e-8, str(overrides))
    assert version


def test_import_reports_and_refuses_bad_rows(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    db = str(tmp_path / "i.duckdb")
    good = tmp_path / "requests.jsonl"
    good.write_text('{"request_id": "a", "prompt": "hello there", "workflow": "support"}\n')
    code, out, _ = run(capsys, "import", str(good), "--format", "requests", "--db", db, "--json")
    report = json.loads(out)
    assert (code, report["tables"]["requests"]["inserted"]) == (0, 1)
    code, out, _ = run(capsys, "import", str(good), "--format", "requests", "--db", db)
    assert (code, "already imported" in out) == (0, True)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"request_id": "b", "prompt": "x"}\n{"request_id": "c", "prompt_tokens": "many"}\n')
    code, out, err = run(capsys, "import", str(bad), "--format", "requests", "--db", db)
    assert (code, out) == (2, "")
    assert f"{bad}:2: prompt_tokens:" in err
    with open_store(db, read_only=True) as store:
        assert store.scalar("SELECT count(*) FROM requests") == 1
    code, _, err = run(capsys, "import", str(bad), "--format", "nope", "--db", db)
    assert code == 2
    assert "requests" in err  # the known formats are listed


def test_demo_builds_a_small_workspace(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    db = tmp_path / "demo.duckdb"
    code, out, _ = run(capsys, "demo", "--db", str(db), "--requests", "400", "--json")
    summary = json.loads(out)
    assert code == 0
    assert summary["counts"]["requests"] == 400
    assert [r["router"] for r in summary["runs"]] == [f"acme-gateway@{v}" for v in (1, 2, 3)]
    code, _, err = run(capsys, "demo", "--db", str(db), "--requests", "400")
    assert (code, "pass --force" in err) == (2, True)


def test_eval_reports_accuracy_with_intervals_and_saves_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db = str(tmp_path / "e.duckdb")
    run(capsys, "demo", "--db", db, "--requests", "600", "--json")
    code, out, _ = run(capsys, "eval", "acme-gateway@2", "--by", "workflow", "--db", db, "--json")
    result = json.loads(out)
    overall = result["overall"]["acceptable_set"]
    assert code == 0
    assert overall["ci_low"] <= overall["value"] <= overall["ci_high"]
    assert overall["n"] == result["overall"]["counts"]["labelled"] > 0
    assert {s["value"] for s in result["breakdowns"]["workflow"]} >= {"support", "coding"}
    with open_store(db, read_only=True) as store:
        assert store.scalar("SELECT count(*) FROM eval_results WHERE kind = 'accuracy'") == 1
    code, out, _ = run(capsys, "eval", "acme-gateway@2", "--db", db)
    assert "acceptable-set accuracy" in out
    assert "[" in out  # every rate is printed with its interval
    code, _, err = run(capsys, "eval", "acme-gateway@7", "--db", db)
    assert (code, "replayed: acme-gateway@1" in err) == (2, True)


@pytest.mark.parametrize(
    "argv",
    [["eval", "acme-gateway@1"], ["compare", "a@1", "b@1"], ["replay", "acme-gateway@1"]],
    ids=["eval", "compare", "replay"],
)
def test_commands_that_read_data_do_not_create_a_store(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: list[str]
) -> None:
    missing = tmp_path / "typo.duckdb"
    code, out, err = run(capsys, *argv, "--db", str(missing))
    assert (code, out) == (2, "")
    assert "no store here" in err
    assert not missing.exists()


def test_router_add_checks_every_file_before_touching_the_store(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nversion: 1\nmodels: []\n")
    db = tmp_path / "new.duckdb"
    code, _, err = run(capsys, "router", "add", str(EXAMPLES / "acme_v1.yaml"), str(bad), "--db", str(db))
    assert code == 2
    assert f"{bad}: models (line 3)" in err
    assert not db.exists()  # nothing registered, no store created
    code, _, err = run(
        capsys, "import", str(tmp_path / "nope.jsonl"), "--format", "requests", "--db", str(db)
    )
    assert (code, "no such file" in err, db.exists()) == (2, True, False)
