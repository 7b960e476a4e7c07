"""What an import does to the store: once only, all-or-nothing, conflicts, collected rejects, the registry."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from routelab.datasets.errors import DatasetError, ImportFileError
from routelab.datasets.importers import FORMATS, import_file, register
from routelab.datasets.importers.progress import progress_bar
from routelab.datasets.importers.registry import UnknownFormatError, get_format
from routelab.datasets.store import Store
from routelab.datasets.tables import ConflictError


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def make_requests(n: int = 3, team: str = "a") -> list[dict[str, Any]]:
    return [
        {"request_id": f"r{i}", "prompt": f"hello {i}", "prompt_tokens": 2, "team": team} for i in range(n)
    ]


def counts(store: Store) -> dict[str, int]:
    tables = store.df("SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE'")
    return {t: int(store.scalar(f'SELECT count(*) FROM "{t}"')) for t in tables["table_name"]}


def test_reimporting_the_same_file_adds_nothing(store: Store, tmp_path: Path) -> None:
    file = write_jsonl(tmp_path / "a.jsonl", make_requests())
    first = import_file(store, file, "requests", progress=False)
    before = counts(store)
    again = import_file(store, file, "requests", progress=False)
    assert (first.already_imported, again.already_imported) == (False, True)
    assert again.import_id == first.import_id
    assert len(first.import_id) == 16
    assert again.tables == {}
    assert again.n_rows == 3
    assert counts(store) == before
    assert before["imports"] == 1


def test_same_content_elsewhere_is_the_same_import(store: Store, tmp_path: Path) -> None:
    a = write_jsonl(tmp_path / "a.jsonl", make_requests())
    b = tmp_path / "sub" / "b.jsonl"
    b.parent.mkdir()
    b.write_bytes(a.read_bytes())
    import_file(store, a, "requests", progress=False)
    assert import_file(store, b, "requests", progress=False).already_imported


def test_other_options_make_another_import_whose_identical_rows_are_skipped(
    store: Store, tmp_path: Path
) -> None:
    file = write_jsonl(tmp_path / "a.jsonl", [{**r, "tid": r["team"]} for r in make_requests()])
    import_file(store, file, "requests", mapping={"tid": "-"}, progress=False)
    report = import_file(store, file, "requests", mapping={"team": "-", "tid": "team"}, progress=False)
    assert not report.already_imported
    assert report.tables["requests"].skipped_identical == 3
    assert report.tables["requests"].inserted == 0
    assert counts(store)["imports"] == 2


def test_conflicting_id_is_an_error_and_changes_nothing(store: Store, tmp_path: Path) -> None:
    import_file(store, write_jsonl(tmp_path / "a.jsonl", make_requests(team="a")), "requests", progress=False)
    before = counts(store)
    file = write_jsonl(tmp_path / "b.jsonl", make_requests(n=4, team="b"))
    with pytest.raises(ConflictError, match=r"b\.jsonl: requests: 3 row\(s\) already in the store") as info:
        import_file(store, file, "requests", progress=False)
    assert "--on-conflict replace" in str(info.value)
    assert counts(store) == before


@pytest.mark.parametrize(
    ("on_conflict", "team", "replaced", "skipped"),
    [("replace", "b", 3, 0), ("skip", "a", 0, 3)],
    ids=["replace", "skip"],
)
def test_on_conflict(
    store: Store, tmp_path: Path, on_conflict: Any, team: str, replaced: int, skipped: int
) -> None:
    import_file(store, write_jsonl(tmp_path / "a.jsonl", make_requests(team="a")), "requests", progress=False)
    file = write_jsonl(tmp_path / "b.jsonl", make_requests(n=4, team="b"))
    report = import_file(store, file, "requests", on_conflict=on_conflict, progress=False)
    counts_ = report.tables["requests"]
    assert (counts_.inserted, counts_.replaced, counts_.skipped_conflicting) == (1, replaced, skipped)
    assert store.scalar("SELECT team FROM requests WHERE request_id = 'r0'") == team
    assert store.scalar("SELECT team FROM requests WHERE request_id = 'r3'") == "b"


def test_bad_on_conflict_value(store: Store, tmp_path: Path) -> None:
    file = write_jsonl(tmp_path / "a.jsonl", make_requests())
    with pytest.raises(DatasetError, match="choose error, replace or skip"):
        import_file(store, file, "requests", on_conflict="merge", progress=False)  # type: ignore[arg-type]


def bad_rows() -> list[dict[str, Any]]:
    rows = make_requests(5)
    rows[1]["prompt_tokens"] = "abc"  # line 2
    rows[3]["ts"] = "last tuesday"  # line 4
    rows.append(dict(rows[0]))  # line 6 repeats line 1
    return rows


def test_first_bad_row_fails_the_whole_import(store: Store, tmp_path: Path) -> None:
    before = counts(store)
    with pytest.raises(ImportFileError, match=r"a\.jsonl:2: prompt_tokens: expected an integer, got 'abc'"):
        import_file(store, write_jsonl(tmp_path / "a.jsonl", bad_rows()), "requests", progress=False)
    assert counts(store) == before


def test_collect_errors_loads_the_rest_and_writes_rejects(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    report = import_file(
        store, write_jsonl(tmp_path / "a.jsonl", bad_rows()), "requests", collect_errors=True, progress=False
    )
    assert report.n_rejected == 3
    assert report.rejects_path == str(tmp_path / "a.jsonl.rejects.jsonl")
    rejects = [json.loads(line) for line in Path(report.rejects_path).read_text().splitlines()]
    assert [(r["line"], r["field"]) for r in rejects] == [(2, "prompt_tokens"), (4, "ts"), (6, "request_id")]
    assert rejects[0]["row"] == {"request_id": "r1", "prompt": "hello 1", "prompt_tokens": "abc", "team": "a"}
    assert rejects[2]["problem"] == "duplicate request_id 'r0' (first at line 1)"
    assert report.tables["requests"].inserted == 3
    assert store.scalar("SELECT n_rejected FROM imports") == 3


def test_collect_errors_to_a_given_rejects_path(store: Store, tmp_path: Path) -> None:
    target = tmp_path / "out" / "bad.jsonl"
    file = write_jsonl(tmp_path / "a.jsonl", bad_rows())
    report = import_file(store, file, "requests", collect_errors=True, rejects_path=target, progress=False)
    assert report.rejects_path == str(target)
    assert len(target.read_text().splitlines()) == 3


def test_collect_errors_still_fails_on_a_bad_file(store: Store, tmp_path: Path) -> None:
    (tmp_path / "empty.jsonl").write_text("")
    with pytest.raises(ImportFileError, match="no rows"):
        import_file(store, tmp_path / "empty.jsonl", "requests", collect_errors=True, progress=False)


def test_rejects_shorten_huge_values(store: Store, tmp_path: Path) -> None:
    rows = make_requests()
    rows[1]["prompt"] = "y" * (2 << 20)
    file = write_jsonl(tmp_path / "a.jsonl", rows)
    report = import_file(
        store, file, "requests", collect_errors=True, rejects_path=tmp_path / "r.jsonl", progress=False
    )
    (reject,) = [json.loads(line) for line in (tmp_path / "r.jsonl").read_text().splitlines()]
    assert reject["field"] == "prompt"
    assert reject["row"]["prompt"].endswith("… (2,097,152 characters)")
    assert report.n_rejected == 1


def test_missing_file(store: Store, tmp_path: Path) -> None:
    with pytest.raises(ImportFileError, match=r"nope\.jsonl: no such file"):
        import_file(store, tmp_path / "nope.jsonl", "requests", progress=False)


def test_unknown_extension(store: Store, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("x")
    with pytest.raises(ImportFileError, match=r"unknown file type; expected \.jsonl"):
        import_file(store, tmp_path / "a.txt", "requests", progress=False)


def test_unknown_format_lists_the_known_ones(store: Store, tmp_path: Path) -> None:
    with pytest.raises(
        UnknownFormatError, match=r"unknown import format 'csvv'; known formats: .*routerbench"
    ):
        import_file(store, write_jsonl(tmp_path / "a.jsonl", make_requests()), "csvv", progress=False)


def test_unknown_option_lists_the_format_options(store: Store, tmp_path: Path) -> None:
    file = write_jsonl(tmp_path / "a.jsonl", make_requests())
    with pytest.raises(
        UnknownFormatError, match="format 'requests' has no option colour; its options: id_prefix"
    ):
        import_file(store, file, "requests", options={"colour": "red"}, progress=False)


def test_registry_rejects_a_duplicate_name() -> None:
    with pytest.raises(ValueError, match="'requests' is already registered"):
        register("requests", "again")(get_format("requests").load)
    assert set(FORMATS) >= {
        "requests",
        "labels",
        "outcomes",
        "routerbench",
        "routellm",
        "litellm-spend",
        "openai-chat",
    }


def test_mapping_errors(store: Store, tmp_path: Path) -> None:
    file = write_jsonl(tmp_path / "a.jsonl", make_requests())
    with pytest.raises(
        ImportFileError, match="id: --map names a column the file lacks; columns found: request_id"
    ):
        import_file(store, file, "requests", mapping={"id": "request_id"}, progress=False)
    with pytest.raises(ImportFileError, match="the file already has a column 'team'"):
        import_file(store, file, "requests", mapping={"prompt": "team"}, progress=False)


def test_imports_row_records_the_import(store: Store, tmp_path: Path) -> None:
    report = import_file(
        store, write_jsonl(tmp_path / "a.jsonl", make_requests()), "requests", progress=False
    )
    row = store.df("SELECT * FROM imports").iloc[0]
    assert row["import_id"] == report.import_id
    assert (row["format"], row["n_rows"], row["n_loaded"], row["n_rejected"]) == ("requests", 3, 3, 0)
    assert json.loads(row["options"])["on_conflict"] == "error"
    assert json.dumps(report.to_dict())  # JSON-ready for --json
    assert report.summary().endswith("3 rows as requests (requests +3)")


def test_progress_bar_only_on_a_terminal_for_large_files(monkeypatch: pytest.MonkeyPatch) -> None:
    assert type(progress_bar(50_000, True, "x")).__name__ == "_Silent"  # pytest's stderr is not a TTY
    monkeypatch.setattr("sys.stderr.isatty", lambda: True)
    bar = progress_bar(50_000, True, "x")
    assert type(bar).__name__ == "tqdm"
    bar.close()
    assert type(progress_bar(5_000, True, "x")).__name__ == "_Silent"
    assert type(progress_bar(50_000, False, "x")).__name__ == "_Silent"
