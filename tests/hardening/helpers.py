"""Shared pieces of the hardening tests: the CLI runner, store fingerprints, formats, hostile strings."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from routelab.app.cli import main
from routelab.datasets.store import open_store

from ..format_rows import QUESTIONS, chat_rows, routerbench_rows, spend_rows

#: Strings an attacker or a broken exporter may put in any field.
HOSTILE = [
    '"',
    "'",
    "'; DROP TABLE requests; --",
    '"; DROP TABLE requests; --',
    "') OR ('1'='1",
    "\\",
    "\\'",
    '\\"',
    "$$",
    "$$; DROP TABLE requests; $$",
    "$1",
    "?",
    "-- comment",
    "/* comment */",
    "\x00",
    "a\x00b",
    "\u2028",
    "a\u2029b\x85c",
    "\r",
    "line\nbreak",
    "\ufeff",
    "\u202e",
    "😀",
    "İı",
    "%s%n%x",
    "{0}{}",
    "${HOME}",
    "NULL",
    "null",
    "NaN",
    "1e999",
    "<script>alert(1)</script>",
    "../../etc/passwd",
    "\t",
    " ",
    "",
    "x" * 100_000,
]


@dataclass(frozen=True)
class Run:
    """One CLI run: exit code and captured output."""

    code: int
    out: str
    err: str


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> Run:
    """`routelab ARGV` in this process; an exception escaping `main` fails the test with its traceback."""
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return Run(code, out, err)


def assert_refused(run: Run, name: str) -> None:
    """Exit 2 and one clean `routelab: error:` line per problem, the first naming the file."""
    assert run.code == 2, (run.code, run.err[-2000:])
    lines = run.err.rstrip("\n").split("\n")
    assert lines
    assert lines[0]
    assert all(line.startswith("routelab: error: ") for line in lines), run.err[-2000:]
    assert name in lines[0], lines[0][:500]
    assert "Traceback" not in run.err
    assert not any(c in run.err for c in "\x00\u2028\u2029\x85\r"), "a problem line was broken"


def fingerprint(path: Path) -> dict[str, tuple[int, str]]:
    """Row count and md5 of the sorted rows of every table in the store (views excluded)."""
    if not path.exists():
        return {}
    with open_store(path, read_only=True) as store:
        tables = [
            r[0]
            for r in store.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' "
                "ORDER BY table_name"
            ).fetchall()
        ]
        if not tables:
            return {}
        # one statement for every table (fuzz tests take two fingerprints an example)
        sql = " UNION ALL ".join(
            f"SELECT {k} AS k, count(*) AS n, md5(coalesce(string_agg(CAST(t AS VARCHAR), chr(30) "
            f"ORDER BY CAST(t AS VARCHAR)), '')) AS h FROM \"{table}\" t"
            for k, table in enumerate(tables)
        )
        rows = store.execute(sql).fetchall()
        assert sorted(r[0] for r in rows) == list(range(len(tables)))
        return {tables[k]: (int(n), str(h)) for k, n, h in rows}


# --- the import formats -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FormatCase:
    """A format's minimal valid file (3 rows) and where its JSON-holding fields are."""

    fmt: str
    name: str
    """File name (its extension picks the reader)."""
    rows: Callable[[], list[dict[str, Any]]]
    json_field: str | None = None
    """A field holding a JSON object or list (deep nesting goes there)."""
    options: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        """A readable test id."""
        return f"{self.fmt}-{self.name}"

    def argv(self, path: Path, db: Path) -> list[str]:
        """`import` arguments for `path` into `db` (option files written next to `path`)."""
        args = ["import", str(path), "--format", self.fmt, "--db", str(db)]
        for key, value in self.options.items():
            if value == "QUESTIONS":
                questions = path.parent / "questions.jsonl"
                questions.write_text("".join(json.dumps(q) + "\n" for q in QUESTIONS))
                value = str(questions)
            args += ["--option", f"{key}={value}"]
        return args


def _requests() -> list[dict[str, Any]]:
    return [
        {"request_id": f"r{i}", "prompt": f"hello {i}", "workflow": "support", "team": "a",
         "ts": "2026-09-07T10:00:00Z", "attrs": {"tier": "gold"}}
        for i in range(3)
    ]  # fmt: skip


FORMATS = [
    FormatCase("requests", "traffic.jsonl", _requests, "attrs"),
    FormatCase("requests", "traffic.csv", _requests, "attrs"),
    FormatCase(
        "labels",
        "labels.csv",
        lambda: [
            {"request_id": f"r{i}", "acceptable": [{"model": "m1", "context_tokens": 100}], "note": "n"}
            for i in range(3)
        ],
        "acceptable",
    ),
    FormatCase(
        "outcomes",
        "outcomes.jsonl",
        lambda: [
            {"request_id": f"r{i}", "model": "m1", "quality": 0.5, "cost_usd": 0.002, "path": {"model": "m1"}}
            for i in range(3)
        ],
        "path",
    ),
    FormatCase("routerbench", "bench.csv", routerbench_rows),
    FormatCase(
        "routellm",
        "mmlu_responses.csv",
        lambda: [
            {"subject": "econ", "prompt": f"Q{i}?", "weak": "True", "strong": "False"} for i in range(3)
        ],
    ),
    FormatCase(
        "routellm",
        "mt_bench_scores.csv",
        lambda: [{"question_id": q, "model": "m1", "turn": 1, "score": 8.0} for q in (1, 2, 3)],
        options={"questions": "QUESTIONS"},
    ),
    FormatCase("litellm-spend", "spend.jsonl", spend_rows, "messages"),
    FormatCase("openai-chat", "chat.jsonl", chat_rows, "messages"),
]


def render(name: str, rows: list[dict[str, Any]]) -> str:
    """Rows as JSON Lines or CSV (nested values as JSON text), by the file name."""
    if ".csv" in name:
        out = io.StringIO()
        writer = csv.DictWriter(
            out, fieldnames=list(dict.fromkeys(k for r in rows for k in r)), lineterminator="\n"
        )
        writer.writeheader()
        for row in rows:
            writer.writerow({k: json.dumps(v) if isinstance(v, list | dict) else v for k, v in row.items()})
        return out.getvalue()
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
