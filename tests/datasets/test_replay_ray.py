"""Replay on Ray: a local 2-CPU Ray decides the exported demo traffic exactly as the SQL engine does.

One Ray session for the module (starting Ray takes seconds); `replay_ray` joins it and leaves it running.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from routelab.app.cli import main
from routelab.datasets.errors import DatasetError
from routelab.datasets.parquet import export_requests
from routelab.datasets.replay_ray import RayReplay, input_files, replay_ray, task_error
from routelab.datasets.store import Store, open_store
from routelab.datasets.workspace import build_demo
from routelab.router_core.sql import DECISION_COLUMNS

ray = pytest.importorskip("ray")
# Ray Data re-sets its own deprecated context fields when it copies the context; not ours to fix
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:ray.data.context")

N = 2000
REF = "acme-gateway@3"
COLUMNS = [c for c in DECISION_COLUMNS if c != "router"]


@dataclass(frozen=True)
class Workspace:
    """The demo store, its traffic as Parquet, and acme v3's SQL-engine decisions taken before Ray ran."""

    db: str
    parquet: Path
    tmp: Path
    by_sql: pd.DataFrame


def decisions(store: Store, ref: str = REF) -> pd.DataFrame:
    sql = f"SELECT {', '.join(COLUMNS)} FROM decisions WHERE router = ? ORDER BY request_id"
    return store.df(sql, [ref])


@pytest.fixture(scope="module")
def ray_session() -> Iterator[None]:
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory, ray_session: None) -> Workspace:
    tmp = tmp_path_factory.mktemp("ray")
    db = tmp / "demo.duckdb"
    with open_store(db) as store:
        build_demo(store, seed=11, n_requests=N)
        export_requests(store, tmp / "traffic")
    assert main(["replay", REF, "--engine", "sql", "--db", str(db)]) == 0
    with open_store(db) as store:
        by_sql = decisions(store)
    return Workspace(str(db), tmp / "traffic", tmp, by_sql)


@pytest.fixture(scope="module")
def ray_run(ws: Workspace) -> RayReplay:
    """acme v3 replayed on Ray over the exported traffic (the library call the CLI makes)."""
    with open_store(ws.db) as store:
        return replay_ray(store, REF, ws.parquet, ws.tmp / "decisions")


def test_ray_decisions_equal_the_sql_engines_for_every_request_and_column(
    ws: Workspace, ray_run: RayReplay
) -> None:
    assert (ray_run.run.engine, ray_run.run.n_decisions, ray_run.unknown_requests) == ("ray", N, 0)
    written = pd.read_parquet(ws.tmp / "decisions").sort_values("request_id", ignore_index=True)
    assert set(written["run_id"]) == {ray_run.run.run_id}
    with open_store(ws.db) as store:
        stored = decisions(store)
        runs = store.df("SELECT * FROM replay_runs WHERE router = ? ORDER BY finished_at", [REF])
    assert len(stored) == N == len(ws.by_sql)
    # every column, compared exactly: floats too (the same compiled query over the same values)
    pd.testing.assert_frame_equal(stored, ws.by_sql, check_exact=True)
    pd.testing.assert_frame_equal(written[COLUMNS], ws.by_sql, check_exact=True, check_dtype=False)
    ray_row, sql_row = runs.iloc[-1], runs.iloc[-2]
    assert (ray_row["engine"], sql_row["engine"]) == ("ray", "sql")
    assert ray_row["run_id"] == ray_run.run.run_id
    assert ray_row["router_hash"] == sql_row["router_hash"]
    assert ray_row["price_table_id"] == sql_row["price_table_id"]
    assert ray_row["n_decisions"] == N
    # the run names the files it read and wrote (absolute); the SQL engine's run read only the store
    assert (ray_row["input_dir"], ray_row["output_dir"]) == (
        str(ws.parquet.resolve()),
        str((ws.tmp / "decisions").resolve()),
    )
    assert pd.isna(sql_row["input_dir"])
    assert pd.isna(sql_row["output_dir"])


def test_compare_reads_a_ray_run(
    ws: Workspace, ray_run: RayReplay, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["compare", "acme-gateway@2", REF, "--db", ws.db, "--json"])
    out = capsys.readouterr().out
    assert code == 0
    assert json.loads(out)["n"] > 0


def test_router_list_names_the_input_of_a_ray_run(
    ws: Workspace, ray_run: RayReplay, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["router", "list", "--db", ws.db]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith(REF))
    assert f"(ray from {ws.parquet.resolve()}, " in line
    assert main(["router", "list", "--db", ws.db, "--json"]) == 0
    row = next(r for r in json.loads(capsys.readouterr().out) if r["ref"] == REF)
    assert (row["engine"], row["input_dir"]) == ("ray", str(ws.parquet.resolve()))


def test_where_selects_the_same_requests_as_the_sql_engine(
    ws: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    where = 'workflow == "support"'
    args = ["--input", str(ws.parquet), "--output", str(ws.tmp / "support"), "--where", where]
    code = main(["replay", REF, "--engine", "ray", *args, "--db", ws.db, "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    run = json.loads(captured.out)
    with open_store(ws.db) as store:
        support = store.scalar("SELECT count(*) FROM requests WHERE workflow = 'support'")
        assert run["n_decisions"] == support > 0
        assert store.scalar("SELECT count(*) FROM decisions WHERE router = ?", [REF]) == N  # others kept
        latest = store.scalar("SELECT where_clause FROM replay_runs ORDER BY finished_at DESC LIMIT 1")
    assert latest == where


def test_a_used_output_directory_is_refused_before_ray_runs(
    ws: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    (ws.tmp / "used").mkdir()
    (ws.tmp / "used" / "old.parquet").write_bytes(b"")
    args = ["--input", str(ws.parquet), "--output", str(ws.tmp / "used"), "--db", ws.db]
    assert main(["replay", REF, "--engine", "ray", *args]) == 2
    assert "--output" in capsys.readouterr().err


def test_input_without_a_request_column_names_file_and_column(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"request_id": ["r1"], "prompt": ["hi"]}), tmp_path / "x.parquet")
    with pytest.raises(DatasetError, match=r"x\.parquet: missing request column\(s\) ts, workflow"):
        input_files(tmp_path)


def test_the_batch_function_runs_where_routelab_is_not_installed(tmp_path: Path) -> None:
    """Ray ships the batch function by value: a cluster's workers need duckdb and pyarrow only."""
    import subprocess
    import sys

    from ray import cloudpickle

    from routelab.datasets.replay_ray import batch_function

    (tmp_path / "fn.pkl").write_bytes(cloudpickle.dumps(batch_function("SELECT count(*) AS n FROM batch")))
    code = f"""
import pickle, sys
class NoRoutelab:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "routelab":
            raise ImportError(name)
sys.meta_path.insert(0, NoRoutelab())
import pyarrow as pa
fn = pickle.loads(open({str(tmp_path / "fn.pkl")!r}, "rb").read())
print(fn(pa.table({{"a": [1, 2, 3]}})).to_pylist())
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[{'n': 3}]"


def test_input_with_a_column_of_another_type_is_refused_before_ray(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from routelab.datasets.replay import REQUEST_FIELDS

    columns = {c: pa.array([None], pa.string()) for c in REQUEST_FIELDS}
    pq.write_table(pa.table({**columns, "request_id": ["r1"], "ts": ["yesterday"]}), tmp_path / "x.parquet")
    with pytest.raises(DatasetError, match=r"x\.parquet: ts: is string; the SQL engine reads a timestamp"):
        input_files(tmp_path)


def test_a_failed_task_reports_its_root_cause_in_one_line() -> None:
    remote = (
        "\x1b[36mray::MapBatches(decide)()\x1b[39m (pid=1, ip=10.0.0.1)\n"
        '  File "replay_ray.py", line 106, in decide\n'
        "_duckdb.BinderException: Binder Error: No function matches 'hour(VARCHAR)'\n"
        "\tCandidate functions:\n\n"
        "ray.exceptions.UserCodeException: UDF failed to process a data block."
    )
    assert (
        task_error(RuntimeError(remote))
        == "BinderException: Binder Error: No function matches 'hour(VARCHAR)'"
    )
