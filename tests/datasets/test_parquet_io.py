"""Traffic as Parquet: export → import round trip, hive folders, the manifest, errors naming file and row."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from routelab.datasets.demo import generate, write_demo
from routelab.datasets.errors import DatasetError, ImportFileError
from routelab.datasets.importers import import_file
from routelab.datasets.parquet import MANIFEST, export_requests
from routelab.datasets.replay import REQUEST_FIELDS
from routelab.datasets.store import Store, open_store

N = 600


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """A store holding the demo traffic (no replays: these tests read requests only)."""
    with open_store(tmp_path_factory.mktemp("source") / "demo.duckdb") as store:
        write_demo(store, generate(seed=5, n_requests=N))
        yield store


def rows(store: Store, where: str = "TRUE") -> list[tuple[Any, ...]]:
    """Every request column, attrs as a sorted item list (a MAP compares by key order)."""
    cols = [c if c != "attrs" else "list_sort(map_entries(attrs)) AS attrs" for c in REQUEST_FIELDS]
    return store.execute(
        f"SELECT {', '.join(cols)} FROM requests WHERE {where} ORDER BY request_id"
    ).fetchall()


def imported(tmp_path: Path, path: Path) -> Store:
    store = open_store(tmp_path / "fresh.duckdb")
    import_file(store, path, "requests", progress=False)
    return store


@pytest.mark.parametrize("partition_by", ["week", "none"])
def test_export_then_import_gives_identical_rows(source: Store, tmp_path: Path, partition_by: str) -> None:
    done = export_requests(source, tmp_path / "pq", partition_by=partition_by)
    assert done.rows == N
    with imported(tmp_path, tmp_path / "pq") as fresh:
        assert rows(fresh) == rows(source)
        assert fresh.scalar("SELECT count(DISTINCT import_id) FROM requests") == 1


def test_week_export_writes_hive_folders_and_a_manifest(source: Store, tmp_path: Path) -> None:
    done = export_requests(source, tmp_path / "pq")
    weeks = source.scalar("SELECT count(DISTINCT date_trunc('week', ts)) FROM requests")
    assert len(done.files) == weeks > 1
    assert all(f.startswith("week=") and f.endswith(".parquet") for f in done.files)
    manifest = json.loads((tmp_path / "pq" / MANIFEST).read_text())
    assert manifest["derived_columns"] == ["week"]
    assert sum(f["rows"] for f in manifest["files"]) == manifest["rows"] == N
    assert done.bytes == sum((tmp_path / "pq" / f).stat().st_size for f in done.files)
    assert "week" not in pq.read_schema(tmp_path / "pq" / done.files[0]).names


def test_export_where_selects_requests(source: Store, tmp_path: Path) -> None:
    done = export_requests(source, tmp_path / "pq", where='workflow == "support"')
    assert done.rows == len(rows(source, "workflow = 'support'")) > 0
    with imported(tmp_path, tmp_path / "pq") as fresh:
        assert rows(fresh) == rows(source, "workflow = 'support'")


def test_export_refuses_a_directory_with_files(source: Store, tmp_path: Path) -> None:
    (tmp_path / "pq").mkdir()
    (tmp_path / "pq" / "old.parquet").write_bytes(b"x")
    with pytest.raises(DatasetError, match="is not empty"):
        export_requests(source, tmp_path / "pq")
    with pytest.raises(DatasetError, match="--partition-by 'month'"):
        export_requests(source, tmp_path / "other", partition_by="month")


def test_importing_the_same_directory_again_writes_nothing(source: Store, tmp_path: Path) -> None:
    export_requests(source, tmp_path / "pq")
    with imported(tmp_path, tmp_path / "pq") as fresh:
        again = import_file(fresh, tmp_path / "pq", "requests", progress=False)
        assert again.already_imported


#: Rows whose attrs keys are not in sorted order.
UNSORTED = (
    "SELECT count(*) FROM requests "
    "WHERE attrs IS DISTINCT FROM map_from_entries(list_sort(map_entries(attrs)))"
)


def test_writers_store_attrs_keys_sorted(source: Store) -> None:
    """The stored form of a map is key-sorted whatever order the writer's dicts had (the demo's do not)."""
    assert source.scalar("SELECT count(*) FROM requests WHERE cardinality(attrs) > 1") > N / 2
    assert source.scalar(UNSORTED) == 0


@pytest.mark.parametrize("engine", ["auto", "python"])
def test_a_store_export_imports_into_the_same_store_adding_and_refusing_nothing(
    tmp_path: Path, engine: str
) -> None:
    """Key order is not content: a store written before every writer sorted the keys (simulated by
    reversing them) still takes its own export back as identical rows, on the SQL and the Python path."""
    with open_store(tmp_path / "old.duckdb") as store:
        write_demo(store, generate(seed=5, n_requests=N))
        store.execute("UPDATE requests SET attrs = map_from_entries(list_reverse(map_entries(attrs)))")
        assert store.scalar(UNSORTED) > N / 2
        before = rows(store)
        export_requests(store, tmp_path / "pq")
        done = import_file(store, tmp_path / "pq", "requests", progress=False, engine=engine)  # type: ignore[arg-type]
        counts = done.tables["requests"]
        assert (counts.inserted, counts.replaced, counts.skipped_identical) == (0, 0, N)
        assert rows(store) == before


def write_part(path: Path, **columns: list[Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(columns), path)


def test_hive_folders_become_columns_and_errors_name_the_file_and_row(tmp_path: Path) -> None:
    root = tmp_path / "traffic"
    when = datetime(2024, 5, 1, 12)
    write_part(root / "team=growth" / "a.parquet", request_id=["a1", "a2"], ts=[when, when])
    write_part(root / "team=search" / "b.parquet", request_id=["b1", "b2"], ts=["2024-05-01", "yesterday"])
    with open_store(tmp_path / "s.duckdb") as store:
        with pytest.raises(ImportFileError) as err:
            import_file(store, root, "requests", progress=False)
        assert str(err.value).startswith(f"{root}/team=search/b.parquet:2: ts: expected an ISO 8601 time")
        assert store.scalar("SELECT count(*) FROM requests") == 0  # all or nothing
        (root / "team=search" / "b.parquet").unlink()
        import_file(store, root, "requests", progress=False)
        assert store.execute("SELECT request_id, team FROM requests ORDER BY 1").fetchall() == [
            ("a1", "growth"),
            ("a2", "growth"),
        ]


def test_a_duplicate_id_names_both_files(tmp_path: Path) -> None:
    root = tmp_path / "traffic"
    write_part(root / "x=1" / "a.parquet", request_id=["r1", "r2"])
    write_part(root / "x=2" / "b.parquet", request_id=["r3", "r1"])
    with open_store(tmp_path / "s.duckdb") as store, pytest.raises(ImportFileError) as err:
        import_file(store, root, "requests", progress=False)
    assert str(err.value) == (
        f"{root}/x=2/b.parquet:2: request_id: duplicate request_id 'r1' (first at {root}/x=1/a.parquet:1)"
    )


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        ("delete", "listed in _routelab.json but missing"),
        ("add", "not part of the export _routelab.json describes"),
        ("truncate", "rows, _routelab.json says"),
    ],
    ids=["missing-file", "extra-file", "rows-differ"],
)
def test_a_directory_that_differs_from_its_manifest_is_refused(
    source: Store, tmp_path: Path, damage: str, problem: str
) -> None:
    done = export_requests(source, tmp_path / "pq")
    first = tmp_path / "pq" / done.files[0]
    if damage == "delete":
        first.unlink()
    elif damage == "add":
        shutil.copy(first, first.with_name("copy.parquet"))
    else:
        pq.write_table(pq.read_table(first).slice(0, 3), first)
    with open_store(tmp_path / "fresh.duckdb") as fresh:
        with pytest.raises(ImportFileError, match=problem):
            import_file(fresh, tmp_path / "pq", "requests", progress=False)
        assert fresh.scalar("SELECT count(*) FROM requests") == 0


def test_a_directory_without_parquet_files_is_refused(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with (
        open_store(tmp_path / "s.duckdb") as store,
        pytest.raises(ImportFileError, match=r"no \.parquet files"),
    ):
        import_file(store, tmp_path / "empty", "requests", progress=False)
