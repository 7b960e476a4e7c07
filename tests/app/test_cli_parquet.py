"""`routelab export requests --parquet`, `routelab import DIR`, and the argument checks of `--engine ray`."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from routelab.app.cli import main
from routelab.datasets import routers
from routelab.datasets.demo import generate, write_demo
from routelab.datasets.prices import save_price_table
from routelab.datasets.replay_ray import RAY_MISSING
from routelab.datasets.store import open_store
from routelab.datasets.workspace import example_config, example_prices

N = 300


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("parquet") / "demo.duckdb"
    with open_store(path) as store:
        write_demo(store, generate(seed=3, n_requests=N))
    return str(path)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_export_json_then_import_the_directory(
    capsys: pytest.CaptureFixture[str], db: str, tmp_path: Path
) -> None:
    target = tmp_path / "traffic"
    code, out, err = run(capsys, "export", "requests", "--parquet", str(target), "--db", db, "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert {"files", "rows", "bytes", "n_files", "partition_by", "directory"} <= set(summary)
    assert summary["rows"] == N
    assert summary["n_files"] == len(summary["files"]) > 1
    code, out, err = run(
        capsys, "import", str(target), "--format", "requests", "--db", str(tmp_path / "new.db")
    )
    assert code == 0, err
    assert f"{N} rows as requests" in out


def test_export_prints_progress_and_a_summary(
    capsys: pytest.CaptureFixture[str], db: str, tmp_path: Path
) -> None:
    code, out, err = run(
        capsys, "export", "requests", "--parquet", str(tmp_path / "t"), "--partition-by", "none", "--db", db
    )
    assert code == 0
    assert "exporting requests" in err
    assert f"{N:,} requests → 1 Parquet file(s)" in out


def test_export_into_a_used_directory_exits_2(
    capsys: pytest.CaptureFixture[str], db: str, tmp_path: Path
) -> None:
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "keep.txt").write_text("x")
    code, _, err = run(capsys, "export", "requests", "--parquet", str(tmp_path / "t"), "--db", db, "--json")
    assert code == 2
    assert "is not empty" in err


def test_ray_missing_says_how_to_install_it(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, db: str, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now raises ImportError
    args = ["--input", str(tmp_path / "in"), "--output", str(tmp_path / "out"), "--db", db]
    code, _, err = run(capsys, "replay", "acme-gateway@3", "--engine", "ray", *args)
    assert code == 2
    assert err.strip() == f"routelab: error: {RAY_MISSING}"
    assert RAY_MISSING == "Ray is not installed: pip install 'routelab[ray]'"


@pytest.mark.parametrize(
    ("argv", "problem"),
    [
        (["--engine", "ray", "--input", "x"], "--engine ray needs --input DIR"),
        (["--input", "x", "--output", "y"], "--input, --output and --address go with --engine ray"),
    ],
    ids=["ray-without-output", "input-without-ray"],
)
def test_ray_arguments_are_checked(
    capsys: pytest.CaptureFixture[str], db: str, argv: list[str], problem: str
) -> None:
    code, _, err = run(capsys, "replay", "acme-gateway@3", *argv, "--db", db)
    assert code == 2
    assert problem in err


def test_export_decisions_of_a_replayed_version(
    capsys: pytest.CaptureFixture[str], db: str, tmp_path: Path
) -> None:
    db = str(shutil.copy(db, tmp_path / "own.duckdb"))  # the replay below stays out of the shared store
    with open_store(db) as store:
        routers.add(store, example_config("acme_v3.yaml"))
        save_price_table(store, example_prices())
    code, _, err = run(
        capsys, "export", "decisions", "acme-gateway@3", "--parquet", str(tmp_path / "a"), "--db", db
    )
    assert code == 2
    assert "no decisions of acme-gateway@3" in err
    assert "run `routelab replay acme-gateway@3` first" in err
    assert run(capsys, "replay", "acme-gateway@3", "--db", db)[0] == 0
    code, out, err = run(
        capsys,
        "export",
        "decisions",
        "acme-gateway@3",
        "--parquet",
        str(tmp_path / "d"),
        "--db",
        db,
        "--json",
    )
    assert code == 0, err
    summary = json.loads(out)
    assert summary["rows"] == N
    assert summary["n_files"] == len(summary["files"]) > 1
    code, out, _ = run(
        capsys,
        "export",
        "decisions",
        "acme-gateway@3",
        "--parquet",
        str(tmp_path / "e"),
        "--db",
        db,
        "--where",
        'workflow == "coding"',
        "--partition-by",
        "none",
    )
    assert code == 0
    assert "decisions of acme-gateway@3 → 1 Parquet file(s)" in out
    assert "read_parquet(" in out
