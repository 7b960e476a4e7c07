"""Bad input, for every import format: a clear error naming file, line and field, and an unchanged store."""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from routelab.datasets.errors import ImportFileError
from routelab.datasets.importers import import_file
from routelab.datasets.store import Store, open_store

from ..format_rows import QUESTIONS, chat_rows, routerbench_rows, spend_rows

BIG = "x" * (10 * 1024 * 1024)


@dataclass(frozen=True)
class Spec:
    """A format's minimal valid file (3 rows) and which fields the bad-input cases break."""

    fmt: str
    name: str
    """File name (its extension picks the reader)."""
    rows: Callable[[], list[dict[str, Any]]]
    wrong: tuple[str, Any, str]
    """(field, bad value, expected problem text) for a wrong-type cell."""
    required: str
    key: str | None
    """The id field whose repeat is an error (None: the format disambiguates repeats)."""
    big: str
    """A field to blow up to 10 MB."""
    options: dict[str, str] = field(default_factory=dict)


SPECS = [
    Spec(
        "requests",
        "traffic.jsonl",
        lambda: [
            {"request_id": f"r{i}", "prompt": f"hello {i}", "prompt_tokens": 2, "team": "a"} for i in range(3)
        ],
        ("prompt_tokens", "abc", "expected an integer, got 'abc'"),
        "request_id",
        "request_id",
        "prompt",
    ),
    Spec(
        "labels",
        "labels.csv",
        lambda: [{"request_id": f"r{i}", "model": "m1", "context_tokens": 100} for i in range(3)],
        ("context_tokens", "lots", "expected an integer, got 'lots'"),
        "request_id",
        "request_id",
        "model",
    ),
    Spec(
        "outcomes",
        "outcomes.csv",
        lambda: [{"request_id": f"r{i}", "model": "m1", "quality": 0.5, "cost_usd": 0.002} for i in range(3)],
        ("cost_usd", "cheap", "expected a number, got 'cheap'"),
        "model",
        "request_id/model/kind",
        "model",
    ),
    Spec(
        "routerbench",
        "bench.csv",
        routerbench_rows,
        ("m1", "abc", "expected a number"),
        "eval_name",
        None,
        "prompt",
    ),
    Spec(
        "routellm",
        "mmlu_responses.csv",
        lambda: [
            {"subject": "econ", "prompt": f"Q{i}?", "weak": "True", "strong": "False"} for i in range(3)
        ],
        ("strong", "maybe", "expected true or false, got 'maybe'"),
        "prompt",
        None,
        "prompt",
    ),
    Spec(
        "routellm",
        "mt_bench_scores.csv",
        lambda: [{"question_id": q, "model": "m1", "turn": 1, "score": 8.0} for q in (1, 2, 3)],
        ("score", "abc", "expected a number, got 'abc'"),
        "score",
        "question_id/model/turn",
        "model",
        {"questions": "QUESTIONS"},
    ),
    Spec(
        "litellm-spend",
        "spend.jsonl",
        spend_rows,
        ("spend", "abc", "expected a number"),
        "startTime",
        "request_id",
        "messages",
    ),
    Spec(
        "openai-chat",
        "chat.jsonl",
        chat_rows,
        ("created", "yesterday", "expected a number"),
        "messages",
        "id",
        "messages",
    ),
]
IDS = [f"{s.fmt}-{s.name.split('.')[0]}" if s.fmt == "routellm" else s.fmt for s in SPECS]


def render(name: str, rows: list[dict[str, Any]]) -> bytes:
    """Rows as JSON Lines or CSV (nested values as JSON text), by the file name."""
    if ".csv" in name:
        out = io.StringIO()
        writer = csv.DictWriter(
            out, fieldnames=list(dict.fromkeys(k for r in rows for k in r)), lineterminator="\n"
        )
        writer.writeheader()
        for row in rows:
            writer.writerow({k: json.dumps(v) if isinstance(v, list | dict) else v for k, v in row.items()})
        return out.getvalue().encode("utf-8")
    return "".join(json.dumps(r) + "\n" for r in rows).encode("utf-8")


def bad_row(spec: Spec) -> int:
    """Index of the row that starts on line 3 (CSV has a header on line 1)."""
    return 1 if ".csv" in spec.name else 2


def counts(store: Store) -> dict[str, int]:
    tables = store.df("SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE'")
    return {t: int(store.scalar(f'SELECT count(*) FROM "{t}"')) for t in tables["table_name"]}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = open_store(tmp_path / "t.duckdb")
    seed = tmp_path / "seed.jsonl"
    seed.write_text(json.dumps({"request_id": "seed", "prompt": "already here", "prompt_tokens": 2}) + "\n")
    import_file(s, seed, "requests", progress=False)
    yield s
    s.close()


def expect_error(store: Store, tmp_path: Path, spec: Spec, name: str, data: bytes) -> str:
    """Import `data` as `name`, expecting an ImportFileError and an unchanged store; return the message."""
    file = tmp_path / name
    file.write_bytes(data)
    options = {
        k: str(tmp_path / "questions.jsonl") if v == "QUESTIONS" else v for k, v in spec.options.items()
    }
    (tmp_path / "questions.jsonl").write_text("".join(json.dumps(q) + "\n" for q in QUESTIONS))
    before = counts(store)
    with pytest.raises(ImportFileError) as info:
        import_file(store, file, spec.fmt, options=options, progress=False)
    assert counts(store) == before
    message = str(info.value)
    assert message.startswith(str(file)), message
    return message


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_valid_file_imports(store: Store, tmp_path: Path, spec: Spec) -> None:
    file = tmp_path / spec.name
    file.write_bytes(render(spec.name, spec.rows()))
    (tmp_path / "questions.jsonl").write_text("".join(json.dumps(q) + "\n" for q in QUESTIONS))
    options = {
        k: str(tmp_path / "questions.jsonl") if v == "QUESTIONS" else v for k, v in spec.options.items()
    }
    report = import_file(store, file, spec.fmt, options=options, progress=False)
    assert report.n_rows == 3
    assert report.n_loaded >= 3


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_wrong_type_names_line_and_field(store: Store, tmp_path: Path, spec: Spec) -> None:
    rows = spec.rows()
    name, value, problem = spec.wrong
    rows[bad_row(spec)][name] = value
    message = expect_error(store, tmp_path, spec, spec.name, render(spec.name, rows))
    assert f"{spec.name}:3: {name}: {problem}" in message


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_missing_required_column_lists_columns_found(store: Store, tmp_path: Path, spec: Spec) -> None:
    rows = [{k: v for k, v in r.items() if k != spec.required} for r in spec.rows()]
    message = expect_error(store, tmp_path, spec, spec.name, render(spec.name, rows))
    assert spec.required in message
    assert "columns found: " + ", ".join(rows[0]) in message


@pytest.mark.parametrize(
    "spec", [s for s in SPECS if s.key], ids=[i for s, i in zip(SPECS, IDS, strict=True) if s.key]
)
def test_duplicate_id_names_both_lines(store: Store, tmp_path: Path, spec: Spec) -> None:
    rows = spec.rows()
    rows[bad_row(spec)] = rows[0]
    message = expect_error(store, tmp_path, spec, spec.name, render(spec.name, rows))
    assert f"{spec.name}:3: {spec.key}: duplicate" in message
    assert "(first at line 1)" in message or "(first at line 2)" in message


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_invalid_utf8_names_the_line(store: Store, tmp_path: Path, spec: Spec) -> None:
    lines = render(spec.name, spec.rows()).split(b"\n")
    lines[2] = lines[2][:4] + b"\xff\xfe" + lines[2][4:]
    message = expect_error(store, tmp_path, spec, spec.name, b"\n".join(lines))
    assert f"{spec.name}:3: invalid UTF-8 (byte 0xff at column 5)" in message


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_ten_megabyte_field_names_line_and_field(store: Store, tmp_path: Path, spec: Spec) -> None:
    rows = spec.rows()
    row = rows[bad_row(spec)]
    row[spec.big] = [{"role": "user", "content": BIG}] if spec.big == "messages" else BIG
    message = expect_error(store, tmp_path, spec, spec.name, render(spec.name, rows))
    assert f"{spec.name}:3: {spec.big}: value is 10,48" in message
    assert "the limit is 1,048,576 bytes" in message


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
@pytest.mark.parametrize("header_only", [False, True], ids=["empty", "header-only"])
def test_empty_file_says_no_rows(store: Store, tmp_path: Path, spec: Spec, header_only: bool) -> None:
    data = (
        render(spec.name, spec.rows()).split(b"\n")[0] + b"\n" if header_only and ".csv" in spec.name else b""
    )
    message = expect_error(store, tmp_path, spec, spec.name, data)
    assert "no rows" in message


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_file_cut_mid_row_names_the_last_line(store: Store, tmp_path: Path, spec: Spec) -> None:
    text = render(spec.name, spec.rows()).decode().rstrip("\n")
    last = text.rfind("\n") + 1
    # JSON Lines: cut the last object in half; CSV: drop the last row's last field
    cut = text[: last + (len(text) - last) // 2] if ".jsonl" in spec.name else text[: text.rfind(",")]
    message = expect_error(store, tmp_path, spec, spec.name, cut.encode())
    line = 3 if ".jsonl" in spec.name else 4
    assert f"{spec.name}:{line}: " in message
    assert "truncated" in message or "fields, the header has" in message


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_gzip_cut_short(store: Store, tmp_path: Path, spec: Spec) -> None:
    packed = gzip.compress(render(spec.name, spec.rows() * 200), mtime=0)
    message = expect_error(store, tmp_path, spec, spec.name + ".gz", packed[: len(packed) * 2 // 3])
    assert "the gzip stream ends early (file truncated?)" in message
