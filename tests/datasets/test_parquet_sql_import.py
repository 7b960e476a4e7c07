"""The SQL path of `import --format requests` from Parquet stores what the Python path stores, and hands the
Python path every input it must word an error for (or convert itself)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from routelab.datasets import pii_cache
from routelab.datasets.demo import generate, write_demo
from routelab.datasets.errors import DatasetError, ImportFileError
from routelab.datasets.importers import ImportReport, import_file, parquet_rows, parquet_sql
from routelab.datasets.parquet import HIVE_NULL, export_requests
from routelab.datasets.store import Store, open_store
from routelab.datasets.tables import ConflictError
from routelab.router_core.pii import PiiType

N = 1_500
ALL = list(PiiType)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """A store of demo traffic (requests only)."""
    with open_store(tmp_path_factory.mktemp("demo") / "demo.duckdb") as store:
        write_demo(store, generate(seed=11, n_requests=N))
        yield store


class Paths:
    """Which path each import took: the `stage` results, in order."""

    def __init__(self) -> None:
        self.staged: list[Any] = []


@pytest.fixture
def paths(monkeypatch: pytest.MonkeyPatch) -> Paths:
    """Record what `parquet_sql.stage` returns to `import_file`."""
    seen, real = Paths(), parquet_sql.stage

    def spy(*args: Any, **kwargs: Any) -> Any:
        out = real(*args, **kwargs)
        seen.staged.append(out)
        return out

    monkeypatch.setattr(parquet_sql, "stage", spy)
    return seen


def table(store: Store) -> list[tuple[Any, ...]]:
    """Every column of every request, attrs as its entries in stored order (a MAP's order is its value)."""
    return store.execute(
        "SELECT * EXCLUDE (attrs), map_entries(attrs) FROM requests ORDER BY request_id"
    ).fetchall()


def recorded(store: Store) -> list[tuple[Any, ...]]:
    """What `imports` records, without the clock."""
    return store.execute(
        "SELECT * EXCLUDE (started_at, finished_at) FROM imports ORDER BY started_at"
    ).fetchall()


def both(tmp_path: Path, path: Path, **kwargs: Any) -> tuple[Store, ImportReport, Store, ImportReport]:
    """Import `path` into a fresh store by the SQL path, then into another by the Python path."""
    sql_store = open_store(tmp_path / "sql.duckdb")
    sql = import_file(sql_store, path, "requests", progress=False, **kwargs)
    py_store = open_store(tmp_path / "python.duckdb")
    py = import_file(py_store, path, "requests", progress=False, engine="python", **kwargs)
    return sql_store, sql, py_store, py


def same_import(sql: ImportReport, py: ImportReport) -> None:
    """Two reports that differ only in time taken."""
    assert {**sql.to_dict(), "duration_s": 0} == {**py.to_dict(), "duration_s": 0}


@pytest.mark.parametrize("partition_by", ["week", "none"])
def test_the_demo_export_imports_as_the_python_path_imports_it(
    demo: Store, tmp_path: Path, paths: Paths, partition_by: str
) -> None:
    export_requests(demo, tmp_path / "pq", partition_by=partition_by)
    sql_store, sql, py_store, py = both(tmp_path, tmp_path / "pq")
    assert isinstance(paths.staged[0], parquet_sql.Staged)
    with sql_store, py_store:
        assert len(table(sql_store)) == N
        assert table(sql_store) == table(py_store)
        assert recorded(sql_store) == recorded(py_store)
    same_import(sql, py)


def write_part(path: Path, columns: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(columns), path)
    return path


def handmade(root: Path) -> Path:
    """A hive directory mixing types, NULLs, missing columns, attrs, extras and prompts without counts."""
    text_map = pa.map_(pa.string(), pa.string())
    write_part(
        root / "source=web" / "a.parquet",
        {
            "request_id": ["a1", "a2", "a3", "a4"],
            "ts": pa.array(
                [datetime(2024, 5, 1, 12, 30, tzinfo=UTC), None, datetime(1500, 1, 1, tzinfo=UTC), None],
                pa.timestamp("ms", tz="Europe/Paris"),
            ),
            "team": ["growth", None, "", "search"],
            "prompt": ["Hello there, how are you?", None, "ünïcödé prompt 日本語", "short"],
            "prompt_tokens": pa.array([7.0, None, float("nan"), 3.0]),
            "attrs": pa.array(
                [[("zeta", "1"), ("alpha", None), ("Beta", "x")], None, [], [("é", "e"), ("e", "f")]],
                text_map,
            ),
            "tier": pa.array([3, None, -1, 0], pa.int16()),
            "beta_user": [True, False, None, True],
            "note": ["n1", None, "n3", ""],
        },
    )
    write_part(
        root / f"source={HIVE_NULL}" / "b.parquet",
        {
            "request_id": pa.array([17, 18], pa.int64()),  # integers become their digits
            "ts": pa.array([datetime(2024, 5, 2), datetime(2024, 5, 3, 1, 2, 3, 456789)], pa.timestamp("us")),
            "workflow": ["support", "coding"],
            "expected_output_tokens": pa.array([None, 250], pa.int32()),
            "prompt": ["count my tokens please", None],
            "dropme": [b"\x00binary", b"x"],
        },
    )
    return root


def test_a_handmade_directory_imports_as_the_python_path_imports_it(tmp_path: Path, paths: Paths) -> None:
    root = handmade(tmp_path / "in")
    options = {"id_prefix": "hm:"}
    mapping = {"dropme": "-", "note": "comment"}
    sql_store, sql, py_store, py = both(tmp_path, root, options=options, mapping=mapping)
    assert isinstance(paths.staged[0], parquet_sql.Staged), paths.staged[0]
    assert paths.staged[0].tokens.num_rows == 2  # a3 (NaN count) and 17 lack a count and have a prompt
    with sql_store, py_store:
        assert table(sql_store) == table(py_store)
        assert recorded(sql_store) == recorded(py_store)
        got = dict(sql_store.execute("SELECT request_id, attrs FROM requests").fetchall())
        assert list(got["hm:a1"]) == ["Beta", "beta_user", "comment", "source", "tier", "zeta"]
        assert got["hm:a1"]["tier"] == "3"
        assert got["hm:a1"]["beta_user"] == "true"
        assert got["hm:17"] == {}  # hive's NULL folder gives no source
    same_import(sql, py)


def test_a_single_file_without_optional_columns(tmp_path: Path, paths: Paths) -> None:
    file = write_part(tmp_path / "r.parquet", {"request_id": ["x", "y"], "prompt": ["one two three", None]})
    sql_store, sql, py_store, py = both(tmp_path, file, collect_errors=True)
    assert isinstance(paths.staged[0], parquet_sql.Staged)
    with sql_store, py_store:
        assert table(sql_store) == table(py_store)
        assert table(sql_store)[0][8] > 0  # prompt_tokens counted
    same_import(sql, py)
    assert Path(sql.rejects_path or "").read_text() == ""  # --collect-errors on a clean file: no rejects


def requests_file(path: Path, team: str, ids: tuple[str, ...] = ("r0", "r1", "r2")) -> Path:
    prompts = {
        "r0": "mail me at jane@example.com",
        "r1": "plain text",
        "r2": "call +1 415 555 0100",
        "r3": "new",
    }
    return write_part(
        path, {"request_id": list(ids), "team": [team] * len(ids), "prompt": [prompts[i] for i in ids]}
    )


def test_the_same_directory_twice_adds_nothing_and_same_rows_are_skipped(
    tmp_path: Path, paths: Paths
) -> None:
    file = requests_file(tmp_path / "d" / "a.parquet", "a")
    copy = tmp_path / "e" / "a.parquet"
    copy.parent.mkdir()
    pq.write_table(pq.read_table(file), copy, row_group_size=1)  # the same rows in other bytes
    with open_store(tmp_path / "s.duckdb") as store:
        first = import_file(store, file.parent, "requests", progress=False)
        again = import_file(store, file.parent, "requests", progress=False)
        other = import_file(store, copy.parent, "requests", progress=False)
        assert store.scalar("SELECT count(*) FROM imports") == 2
        assert store.scalar("SELECT count(DISTINCT import_id) FROM requests") == 1
    assert [type(s).__name__ for s in paths.staged] == ["Staged", "Staged"]  # `again` stops before
    assert (first.tables["requests"].inserted, again.already_imported) == (3, True)
    counts = other.tables["requests"]
    assert (counts.inserted, counts.skipped_identical, counts.skipped_conflicting) == (0, 3, 0)


@pytest.mark.parametrize("on_conflict", ["error", "replace", "skip"])
def test_conflicts_resolve_as_in_the_python_path(tmp_path: Path, on_conflict: Any) -> None:
    first = requests_file(tmp_path / "a.parquet", "a", ("r0", "r1"))
    second = requests_file(tmp_path / "b.parquet", "b", ("r0", "r1", "r3"))
    outcomes = []
    for engine in ("auto", "python"):
        with open_store(tmp_path / f"{engine}.duckdb") as store:
            import_file(store, first, "requests", progress=False)
            pii_cache.pii_types(store, ALL)  # fill the cache that a replace must clear
            try:
                report = import_file(
                    store, second, "requests", on_conflict=on_conflict, progress=False, engine=engine
                )
                result: Any = {**report.to_dict(), "duration_s": 0}
            except ConflictError as exc:
                result = str(exc).split(" (e.g.")[0]
            cache = store.execute("SELECT request_id FROM request_pii ORDER BY 1").fetchall()
            outcomes.append((result, table(store), cache))
    assert outcomes[0] == outcomes[1]
    if on_conflict == "error":
        assert outcomes[0][0] == f"{second}: requests: 2 row(s) already in the store with different content"
    if on_conflict == "replace":
        assert outcomes[0][2] == []  # the replaced prompts' PII types are forgotten


def test_redact_takes_the_python_path(tmp_path: Path, paths: Paths) -> None:
    file = requests_file(tmp_path / "a.parquet", "a")
    with open_store(tmp_path / "s.duckdb") as store:
        import_file(store, file, "requests", redact=True, progress=False)
        assert store.scalar("SELECT prompt FROM requests WHERE request_id = 'r0'") == "mail me at [email]"
    assert paths.staged == []


# ---- bad input: the SQL check flags it, the Python path words the error, the store is unchanged ----------


def rows(path: Path, **columns: list[Any]) -> Path:
    return write_part(path, {"request_id": columns.pop("request_id", ["a", "b", "c"]), **columns})


BAD = [
    pytest.param(
        {"request_id": ["a", None, "c"]},
        "request_id missing or blank",
        "x=2/b.parquet:2: request_id: missing (a value is required)",
        id="null-id",
    ),
    pytest.param(
        {"request_id": ["a", "\u3000 ", "c"]},
        "request_id missing or blank",
        "x=2/b.parquet:2: request_id: empty text",
        id="blank-id",
    ),
    pytest.param(
        {"request_id": ["a", "b", "r1"]},
        "a request_id repeats",
        "x=2/b.parquet:3: request_id: duplicate request_id 'r1' (first at {root}/x=1/a.parquet:2)",
        id="duplicate-id",
    ),
    pytest.param(
        {"prompt_tokens": ["1", "x", "3"]},
        "column 'prompt_tokens': text values as tokens are converted by the Python path",
        "x=2/b.parquet:2: prompt_tokens: expected an integer, got 'x'",
        id="tokens-as-text",
    ),
    pytest.param(
        {"ts": [1, 2, 3]},
        "column 'ts': int values as ts are converted by the Python path",
        "x=2/b.parquet:1: ts: expected an ISO 8601 time such as 2024-05-01T12:00:00Z, got 1",
        id="ts-as-int",
    ),
    pytest.param(
        {"prompt_tokens": pa.array([5, -1, 2], pa.int64())},
        "prompt_tokens out of range",
        "x=2/b.parquet:2: prompt_tokens: must be ≥ 0, got -1",
        id="negative-tokens",
    ),
    pytest.param(
        {"prompt": ["ok", "x" * (1 << 20 | 1), "ok"]},
        "a field over 1 MiB",
        "x=2/b.parquet:2: prompt: value is 1,048,577 bytes; the limit is 1,048,576 bytes (1 MiB)",
        id="oversize-prompt",
    ),
]


@pytest.mark.parametrize(("columns", "reason", "message"), BAD)
def test_bad_rows_fall_back_to_the_python_message(
    tmp_path: Path, columns: dict[str, Any], reason: str, message: str
) -> None:
    root = tmp_path / "in"
    rows(root / "x=1" / "a.parquet", request_id=["r0", "r1"])
    rows(root / "x=2" / "b.parquet", **columns)
    with open_store(tmp_path / "s.duckdb") as store:
        staged = parquet_sql.stage(store.cursor(), root, {}, {})
        assert isinstance(staged, parquet_sql.Fallback)
        assert reason in staged.reason
        before = table(store), recorded(store)
        with pytest.raises(ImportFileError) as err:
            import_file(store, root, "requests", progress=False)
        assert str(err.value) == f"{root}/{message.format(root=root)}"
        assert (table(store), recorded(store)) == before


@pytest.mark.parametrize("damage", ["truncate", "delete"])
def test_a_directory_that_lost_rows_or_a_file_is_refused(demo: Store, tmp_path: Path, damage: str) -> None:
    done = export_requests(demo, tmp_path / "pq")
    part = tmp_path / "pq" / done.files[1]
    if damage == "truncate":
        pq.write_table(pq.read_table(part).slice(0, 3), part)
    else:
        part.unlink()
    problem = "rows, _routelab.json says" if damage == "truncate" else "listed in _routelab.json but missing"
    with open_store(tmp_path / "s.duckdb") as store:
        if damage == "truncate":
            staged = parquet_sql.stage(store.cursor(), tmp_path / "pq", {}, {})
            assert isinstance(staged, parquet_sql.Fallback)
            assert "the manifest says" in staged.reason
        with pytest.raises(ImportFileError, match=problem) as err:
            import_file(store, tmp_path / "pq", "requests", progress=False)
        assert str(err.value).startswith(f"{tmp_path / 'pq'}/{done.files[1]}")
        assert store.scalar("SELECT count(*) FROM requests") == 0
        assert store.scalar("SELECT count(*) FROM imports") == 0


def test_a_map_repeating_a_key_goes_to_the_python_path(tmp_path: Path) -> None:
    attrs = pa.array([[("k", "1"), ("k", "2")]], pa.map_(pa.string(), pa.string()))
    file = write_part(tmp_path / "r.parquet", {"request_id": ["a"], "attrs": attrs})
    with open_store(tmp_path / "probe.duckdb") as store:
        staged = parquet_sql.stage(store.cursor(), file, {}, {})
    assert isinstance(staged, parquet_sql.Fallback)  # DuckDB refuses the map; Python keeps the last value
    sql_store, _, py_store, _ = both(tmp_path, file)
    with sql_store, py_store:
        assert table(sql_store) == table(py_store)
        assert table(sql_store)[0][-1] == [{"key": "k", "value": "2"}]


def test_whitespace_is_what_python_strips() -> None:
    assert "".join(chr(c) for c in range(0x110000) if chr(c).isspace()) == parquet_rows.WHITESPACE


def test_the_json_of_a_recorded_import_names_no_engine(tmp_path: Path) -> None:
    file = requests_file(tmp_path / "a.parquet", "a")
    with open_store(tmp_path / "s.duckdb") as store:
        import_file(store, file, "requests", progress=False)
        metadata = json.loads(store.scalar("SELECT options FROM imports"))
    assert set(metadata) == {
        "mapping", "options", "option_files_sha256", "on_conflict", "collect_errors", "excluded",
        "ignored_columns",
    }  # fmt: skip


def test_map_renames_an_integer_column_onto_request_id(tmp_path: Path, paths: Paths) -> None:
    file = write_part(
        tmp_path / "r.parquet", {"idx": [3, 1, 2], "prompt": ["a b", "c", "d e f"], "Team": list("xyz")}
    )
    sql_store, sql, py_store, py = both(tmp_path, file, mapping={"idx": "request_id"})
    assert isinstance(paths.staged[0], parquet_sql.Staged)
    with sql_store, py_store:
        assert table(sql_store) == table(py_store)
        assert [r[0] for r in table(sql_store)] == ["1", "2", "3"]
    same_import(sql, py)


def test_names_differing_only_in_case_go_to_the_python_path(tmp_path: Path, paths: Paths) -> None:
    file = write_part(tmp_path / "r.parquet", {"request_id": ["a"], "team": ["x"], "Team": ["y"]})
    sql_store, _, py_store, _ = both(tmp_path, file)
    assert isinstance(paths.staged[0], parquet_sql.Fallback)
    with sql_store, py_store:
        assert table(sql_store) == table(py_store)
        assert table(sql_store)[0][4] == "x"
        assert table(sql_store)[0][-1] == [{"key": "Team", "value": "y"}]


def test_an_unknown_engine_is_refused(tmp_path: Path) -> None:
    file = requests_file(tmp_path / "a.parquet", "a")
    with (
        open_store(tmp_path / "s.duckdb") as store,
        pytest.raises(DatasetError, match="choose auto or python"),
    ):
        import_file(store, file, "requests", engine="duckdb")  # type: ignore[arg-type]


def maps(rows: list[list[tuple[str, str | None]]]) -> pa.Array:
    return pa.array(rows, pa.map_(pa.string(), pa.string()))


STRATEGIES = [
    pytest.param([[("a", "1"), ("b", "2")], None, []] * 4, "as_read", id="sorted-maps-kept-as-read"),
    pytest.param([[("b", "2"), ("a", "1")], [("a", None)], [("a", "1")]] * 4, "lookup", id="few-unsorted"),
    pytest.param([[("z", str(i)), ("a", None), ("m", "x")] for i in range(12)], "rebuild", id="all-distinct"),
]


@pytest.mark.parametrize(("attrs", "strategy"), STRATEGIES)
def test_each_attrs_strategy_stores_the_python_maps(
    tmp_path: Path, paths: Paths, attrs: list[Any], strategy: str
) -> None:
    ids = [f"r{i:02d}" for i in range(len(attrs))]
    file = write_part(tmp_path / "r.parquet", {"request_id": ids, "attrs": maps(attrs)})
    sql_store, sql, py_store, py = both(tmp_path, file)
    assert paths.staged[0].attrs == strategy
    with sql_store, py_store:
        assert table(sql_store) == table(py_store)
    same_import(sql, py)


def settings(store: Store) -> list[tuple[Any, ...]]:
    return store.execute(
        "SELECT current_setting('memory_limit'), current_setting('preserve_insertion_order')"
    ).fetchall()


def test_duckdb_settings_are_restored_after_an_import_and_after_a_refused_one(tmp_path: Path) -> None:
    with open_store(tmp_path / "s.duckdb") as store:
        before = settings(store)
        import_file(store, requests_file(tmp_path / "a.parquet", "a"), "requests", progress=False)
        assert settings(store) == before
        with pytest.raises(ConflictError):
            import_file(store, requests_file(tmp_path / "b.parquet", "b"), "requests", progress=False)
        assert settings(store) == before


def test_a_truncated_file_gets_the_python_message(tmp_path: Path) -> None:
    file = requests_file(tmp_path / "a.parquet", "a")
    file.write_bytes(file.read_bytes()[:-20])
    with open_store(tmp_path / "s.duckdb") as store:
        staged = parquet_sql.stage(store.cursor(), file, {}, {})
        assert isinstance(staged, parquet_sql.Fallback)
        with pytest.raises(ImportFileError, match="not a readable Parquet file"):
            import_file(store, file, "requests", progress=False)
        assert store.scalar("SELECT count(*) FROM imports") == 0
