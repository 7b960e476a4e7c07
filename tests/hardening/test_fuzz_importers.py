"""Every importer, through `routelab import`, under bad and hostile input.

Whatever the file holds: no traceback. Bad input exits 2 with one `routelab: error:` line per problem naming
the file (and its line and field where there is one) and leaves the store byte for byte as it was (row
counts and an md5 of every table). Hostile but well-formed values (quotes, SQL, NUL, U+2028, 100 kB ids)
either load exactly as written or are refused the same way; they never reach SQL as code.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from routelab.datasets.store import open_store

from .helpers import FORMATS, HOSTILE, FormatCase, assert_refused, fingerprint, render, run_cli

FUZZ = settings(max_examples=50, suppress_health_check=[HealthCheck.function_scoped_fixture])
DEEP = 10_000
BIG = 10 * 1024 * 1024
#: Tables an import writes to; every other table must stay as it was even when an import succeeds.
IMPORT_TABLES = {"requests", "labels", "outcomes", "imports"}
FORMAT_IDS = [c.id for c in FORMATS]
ENCODINGS = ["latin-1", "cp1252", "mac_roman", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "cp037"]


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def accented(case: FormatCase) -> list[dict[str, Any]]:
    """The valid rows with non-ASCII text: in the prompts, and in an extra column of every row."""
    rows = case.rows()
    for row in rows:
        if "prompt" in row:
            row["prompt"] += " café Grüße naïve"
        row["note"] = "Grüße aus Köln, ½ €"
    return rows


@pytest.fixture
def db(fresh_db: Callable[[], Path]) -> Path:
    return fresh_db()


# --- random bytes, mutations, wrong encodings ---------------------------------------------------------------


@FUZZ
@given(
    case=st.sampled_from(FORMATS),
    packing=st.sampled_from(["plain", "gzip", "parquet"]),
    data=st.binary(max_size=3000),
)
def test_random_bytes_are_refused(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    db: Path,
    template_fingerprint: dict[str, tuple[int, str]],
    case: FormatCase,
    packing: str,
    data: bytes,
) -> None:
    name = {"plain": case.name, "gzip": case.name + ".gz", "parquet": case.name.split(".")[0] + ".parquet"}
    path = write(tmp_path, name[packing], data)
    assert_refused(run_cli(capsys, *case.argv(path, db)), path.name)
    assert fingerprint(db) == template_fingerprint


@FUZZ
@given(case=st.sampled_from(FORMATS), data=st.data())
def test_mutated_files_load_or_are_refused_cleanly(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    fresh_db: Callable[[], Path],
    case: FormatCase,
    data: st.DataObject,
) -> None:
    raw = bytearray(render(case.name, case.rows()).encode("utf-8"))
    for _ in range(data.draw(st.integers(1, 4), label="mutations")):
        pos = data.draw(st.integers(0, len(raw) - 1), label="position")
        action = data.draw(st.sampled_from(["flip", "insert", "delete"]), label="action")
        byte = data.draw(st.integers(0, 255), label="byte")
        if action == "flip":
            raw[pos] = byte
        elif action == "insert":
            raw.insert(pos, byte)
        elif len(raw) > 1:
            del raw[pos]
    db = fresh_db()
    path = write(tmp_path, case.name, bytes(raw))
    before = fingerprint(db)
    run = run_cli(capsys, *case.argv(path, db))
    if run.code == 0:  # a harmless mutation (a letter of a prompt): only the import tables moved
        after = fingerprint(db)
        assert {t: v for t, v in after.items() if t not in IMPORT_TABLES} == {
            t: v for t, v in before.items() if t not in IMPORT_TABLES
        }
    else:
        assert_refused(run, path.name)
        assert fingerprint(db) == before


@FUZZ
@given(case=st.sampled_from(FORMATS), encoding=st.sampled_from(ENCODINGS))
def test_wrong_encodings_are_refused(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    db: Path,
    template_fingerprint: dict[str, tuple[int, str]],
    case: FormatCase,
    encoding: str,
) -> None:
    text = render(case.name, accented(case))
    path = write(tmp_path, case.name, text.encode(encoding, errors="replace"))
    assert_refused(run_cli(capsys, *case.argv(path, db)), path.name)
    assert fingerprint(db) == template_fingerprint


@pytest.mark.parametrize("case", [c for c in FORMATS if c.fmt == "requests"], ids=lambda c: c.id)
def test_utf8_with_a_byte_order_mark_loads(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, db: Path, case: FormatCase
) -> None:
    path = write(tmp_path, case.name, render(case.name, accented(case)).encode("utf-8-sig"))
    assert run_cli(capsys, *case.argv(path, db)).code == 0
    with open_store(db, read_only=True) as store:
        assert (
            store.scalar("SELECT prompt FROM requests WHERE request_id = 'r0'") == "hello 0 café Grüße naïve"
        )


# --- deep nesting, huge lines -------------------------------------------------------------------------------


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


DEEP_CASES = [
    *((c, "field") for c in FORMATS if c.json_field),
    *((c, "line") for c in FORMATS if c.name.endswith(".jsonl")),
]


@pytest.mark.parametrize(("case", "where"), DEEP_CASES, ids=[f"{c.id}-{w}" for c, w in DEEP_CASES])
def test_json_nested_ten_thousand_levels_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, db: Path, case: FormatCase, where: str
) -> None:
    text = render(case.name, case.rows())
    lines = text.split("\n")
    if where == "line":
        lines[1] = nested(DEEP)
    else:
        marker = "DEEP-MARKER"
        rows = case.rows()
        rows[1][str(case.json_field)] = marker
        lines = render(case.name, rows).split("\n")
        lines = [
            line.replace(json.dumps(marker), nested(DEEP)).replace(marker, nested(DEEP)) for line in lines
        ]
    path = write(tmp_path, case.name, "\n".join(lines).encode())
    before = fingerprint(db)
    run = run_cli(capsys, *case.argv(path, db))
    assert_refused(run, path.name)
    assert "nested too deeply" in run.err
    assert f"{case.name}:{2 if where == 'line' or '.jsonl' in case.name else 3}:" in run.err
    assert fingerprint(db) == before


HUGE_CASES = [
    (FORMATS[0], "value"),
    (FORMATS[1], "value"),
    (FORMATS[7], "value"),
    (FORMATS[0], "line"),
    (FORMATS[2], "line"),
    (FORMATS[0], "column"),
    (FORMATS[1], "column"),
]


@pytest.mark.parametrize(("case", "what"), HUGE_CASES, ids=[f"{c.id}-{w}" for c, w in HUGE_CASES])
def test_ten_megabyte_lines_are_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, db: Path, case: FormatCase, what: str
) -> None:
    rows = case.rows()
    if what == "value":
        field = "messages" if case.fmt == "litellm-spend" else "prompt"
        rows[0][field] = [{"role": "user", "content": "x" * BIG}] if field == "messages" else "x" * BIG
        text = render(case.name, rows)
    elif what == "column":
        rows[0]["k" * BIG] = "v"
        text = render(case.name, rows)
    else:  # one 10 MB line with no structure at all, and no newline at its end
        text = render(case.name, rows) + "x" * BIG
    path = write(tmp_path, case.name, text.encode())
    before = fingerprint(db)
    run = run_cli(capsys, *case.argv(path, db))
    assert_refused(run, path.name)
    assert len(run.err) < 2000  # the message names the problem, it does not repeat the 10 MB
    assert fingerprint(db) == before


# --- hostile strings ----------------------------------------------------------------------------------------

#: Every hostile string in one value.
ALL_IN_ONE = "'; DROP TABLE requests; --\"$$\\\x00\u2028\u2029\x85\r\n😀İ%s${x}</x>"
FIELD_CASES = [(c, f) for c in FORMATS for f in c.rows()[0]]


def _load_or_refuse(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, db: Path, case: FormatCase, rows: list[dict[str, Any]]
) -> int:
    """Import `rows`; on exit 2 check a clean refusal and an unchanged store; return the exit code."""
    path = write(tmp_path, case.name, render(case.name, rows).encode("utf-8"))
    before = fingerprint(db)
    run = run_cli(capsys, *case.argv(path, db))
    after = fingerprint(db)
    if run.code == 2:
        assert_refused(run, path.name)
        assert after == before
    else:
        assert run.code == 0, run.err
        assert "Traceback" not in run.err
        assert {t: v for t, v in after.items() if t not in IMPORT_TABLES} == {
            t: v for t, v in before.items() if t not in IMPORT_TABLES
        }
        assert after["requests"][0] >= before["requests"][0]  # nothing dropped, nothing deleted
    return run.code


@pytest.mark.parametrize(("case", "field"), FIELD_CASES, ids=[f"{c.id}-{f}" for c, f in FIELD_CASES])
def test_hostile_value_in_every_field(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, db: Path, case: FormatCase, field: str
) -> None:
    rows = case.rows()
    rows[1][field] = ALL_IN_ONE
    code = _load_or_refuse(capsys, tmp_path, db, case, rows)
    if code == 0 and case.fmt == "requests" and field in ("request_id", "prompt", "workflow", "team"):
        with open_store(db, read_only=True) as store:  # stored exactly as written
            key = ALL_IN_ONE if field == "request_id" else "r1"
            row = store.execute(f"SELECT {field} FROM requests WHERE request_id = ?", [key]).fetchone()
            assert row is not None
            assert row[0] == ALL_IN_ONE


@FUZZ
@given(
    case=st.sampled_from(FORMATS),
    data=st.data(),
    hostile=st.one_of(st.sampled_from(HOSTILE), st.text(max_size=40)),
    as_key=st.booleans(),
)
def test_random_hostile_strings_never_break_an_import(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    fresh_db: Callable[[], Path],
    case: FormatCase,
    data: st.DataObject,
    hostile: str,
    as_key: bool,
) -> None:
    rows = case.rows()
    if as_key:  # a hostile column name: an attr key for requests, an ignored column elsewhere
        for row in rows:
            row[hostile or "unnamed"] = "v"
    else:
        field = data.draw(st.sampled_from(sorted(rows[0])), label="field")
        rows[data.draw(st.integers(0, 2), label="row")][field] = hostile
    _load_or_refuse(capsys, tmp_path, fresh_db(), case, rows)


def test_hostile_request_ids_and_attrs_round_trip(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, db: Path
) -> None:
    rows = [
        {"request_id": value, "prompt": value, "workflow": value, "attrs": {"k": value, value: "v"}}
        for value in HOSTILE
        if value.strip()  # an empty or blank id is refused (tested above); the rest must load
    ]
    path = write(tmp_path, "hostile.jsonl", "".join(json.dumps(r) + "\n" for r in rows).encode())
    run = run_cli(capsys, "import", str(path), "--format", "requests", "--db", str(db))
    assert run.code == 0, run.err
    with open_store(db, read_only=True) as store:
        for row in rows:
            got = store.execute(
                "SELECT prompt, workflow, map_extract(attrs, 'k')[1], map_extract(attrs, ?)[1] "
                "FROM requests WHERE request_id = ?",
                [row["request_id"], row["request_id"]],
            ).fetchone()
            assert got == (row["prompt"], row["workflow"], row["request_id"], "v"), repr(row["request_id"])
        assert store.scalar("SELECT count(*) FROM router_versions") == 1


def test_annotation_import_refuses_deep_nesting_and_lone_surrogates(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, db: Path
) -> None:
    before = fingerprint(db)
    for name, text in (
        ("deep.jsonl", '{"annotation_id": ' + nested(DEEP) + "}\n"),
        ("surrogate.jsonl", '{"annotation_id": "a\\ud800"}\n'),
    ):
        path = write(tmp_path, name, text.encode())
        assert_refused(run_cli(capsys, "annotate", "import", str(path), "--db", str(db)), name)
    assert fingerprint(db) == before


def test_gzip_of_a_deep_file_is_refused_too(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, db: Path
) -> None:
    path = write(tmp_path, "traffic.jsonl.gz", gzip.compress((nested(DEEP) + "\n").encode(), mtime=0))
    before = fingerprint(db)
    assert_refused(run_cli(capsys, "import", str(path), "--format", "requests", "--db", str(db)), path.name)
    assert fingerprint(db) == before
