"""`routelab annotate export | import` end to end through `main`: exit codes, --json, clean error lines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from routelab.app.cli import main
from routelab.datasets import annotations, replay, routers
from routelab.datasets.annotations import Judgement
from routelab.datasets.store import open_store
from routelab.datasets.tables import write
from routelab.datasets.workspace import example_config

V2 = "acme-gateway@2"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def db(tmp_path: Path) -> str:
    """A store with acme v2 replayed over the example requests and three annotation rows (one an undo)."""
    from routelab.datasets import prices
    from routelab.datasets.workspace import example_prices
    from tests.datasets.conftest import example_requests

    path = tmp_path / "a.duckdb"
    with open_store(path) as store:
        with store.transaction() as cur:
            write(cur, "requests", example_requests(), "examples")
        prices.save_price_table(store, example_prices())
        routers.add(store, example_config("acme_v2.yaml"))
        replay.replay(store, V2)
        first = annotations.record(
            store, Judgement(request_id="ex-refund", router=V2, annotator="ana", verdict="correct")
        )
        annotations.record(
            store, Judgement(request_id="ex-debug", router=V2, annotator="bo", verdict="unsure")
        )
        annotations.undo(store, first, "ana")
    return str(path)


def test_export_then_import_round_trips(capsys: pytest.CaptureFixture[str], db: str, tmp_path: Path) -> None:
    out = tmp_path / "ann.jsonl"
    code, stdout, _ = run(capsys, "annotate", "export", "--out", str(out), "--db", db, "--json")
    assert (code, json.loads(stdout)) == (0, {"path": str(out), "router": None, "n_rows": 3})
    code, stdout, _ = run(capsys, "annotate", "export", "--out", str(out), "--router", V2, "--db", db)
    assert (code, stdout) == (0, f"exported 3 annotation rows of {V2} to {out}\n")

    fresh = str(tmp_path / "fresh.duckdb")
    open_store(fresh).close()
    code, stdout, _ = run(capsys, "annotate", "import", str(out), "--db", fresh, "--json")
    result = json.loads(stdout)
    assert code == 0
    assert (result["n_read"], result["n_added"], result["n_skipped_existing"], result["errors"]) == (
        3,
        3,
        0,
        [],
    )
    code, stdout, _ = run(capsys, "annotate", "import", str(out), "--db", fresh)
    assert (code, stdout) == (0, f"{out}: 3 rows read, 0 added, 3 already in the store\n")
    with open_store(fresh, read_only=True) as store:
        assert store.scalar("SELECT count(*) FROM annotations_current") == 1


def test_a_bad_file_exits_2_listing_errors_and_imports_nothing(
    capsys: pytest.CaptureFixture[str], db: str, tmp_path: Path
) -> None:
    good = {
        "annotation_id": "x1",
        "request_id": "ex-refund",
        "router": V2,
        "annotator": "cy",
        "kind": "judgement",
        "verdict": "correct",
        "created_at": "2026-11-01T09:00:00",
    }
    lines = [json.dumps(good)] + [
        json.dumps({**good, "annotation_id": f"b{i}", "verdict": "maybe"}) for i in range(24)
    ]
    lines.append('{"annotation_id": ')
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, stdout, err = run(capsys, "annotate", "import", str(bad), "--db", db)
    assert (code, stdout) == (2, "")
    errors = err.splitlines()
    assert (
        errors[0] == f"routelab: error: {bad}:2: verdict: Input should be 'correct', 'incorrect' or 'unsure'"
    )
    assert len(errors) == 21
    assert errors[-1] == f"routelab: error: 25 error(s) in {bad} (the first 20 shown); nothing was imported"
    code, stdout, _ = run(capsys, "annotate", "import", str(bad), "--db", db, "--json")
    result = json.loads(stdout)
    assert (code, result["n_added"], len(result["errors"])) == (2, 0, 25)
    assert result["errors"][-1].startswith(f"{bad}:26: column")
    with open_store(db, read_only=True) as store:
        assert store.scalar("SELECT count(*) FROM annotations") == 3


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["annotate", "import", "nope.jsonl"], "nope.jsonl: no such file"),
        (["annotate", "export", "--out", "x.jsonl", "--router", "acme"], "write NAME@VERSION"),
        (["annotate", "export", "--out", "/no/such/dir/x.jsonl"], "cannot write the export"),
    ],
    ids=["import-missing-file", "router-without-version", "unwritable-output"],
)
def test_bad_input_is_one_clean_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], db: str, argv: list[str], message: str
) -> None:
    code, stdout, err = run(capsys, *argv, "--db", db)
    assert (code, stdout) == (2, "")
    assert err.startswith("routelab: error: ")
    assert message in err


def test_commands_need_an_existing_store(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    missing = tmp_path / "typo.duckdb"
    ann = tmp_path / "a.jsonl"
    ann.write_text("")
    for argv in (["export", "--out", str(tmp_path / "o.jsonl")], ["import", str(ann)]):
        code, _, err = run(capsys, "annotate", *argv, "--db", str(missing))
        assert (code, "no store here" in err) == (2, True)
    assert not missing.exists()
