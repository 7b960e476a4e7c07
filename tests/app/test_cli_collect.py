"""`routelab collect` in-process, through litellm.completion itself patched to answer with `mock_response`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import pandas as pd
import pytest

from routelab.app.cli import main
from routelab.app.commands.collect import human_verdicts, judge_agreement, parse_models
from routelab.app.commands.common import CliError
from routelab.datasets.collect_litellm import litellm_module
from routelab.datasets.store import open_store

if TYPE_CHECKING:
    from ..conftest import DemoStores

REF = "acme-gateway@2"


class Run(NamedTuple):
    code: int
    out: str
    err: str


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory: pytest.TempPathFactory, demo_stores: DemoStores) -> Path:
    path = demo_stores.copy(tmp_path_factory.mktemp("cli-collect") / "demo.duckdb", seed=9, n_requests=300)
    with open_store(path) as store:
        store.execute("DELETE FROM outcomes")  # a team without outcome data
    return path


@pytest.fixture
def db(demo_file: Path, tmp_path: Path) -> str:
    path = tmp_path / "demo.duckdb"
    shutil.copy(demo_file, path)
    return str(path)


class Mocked:
    """litellm.completion with a mock answer (the judge gets `judge_reply`); counts calls; can interrupt."""

    def __init__(self, judge_reply: str = "Score: 8", interrupt_at: int | None = None) -> None:
        real = litellm_module().completion
        self.real = real.real if isinstance(real, Mocked) else real  # a test may patch twice
        self.judge_reply, self.interrupt_at = judge_reply, interrupt_at
        self.calls: list[dict[str, Any]] = []

    def __call__(self, **kwargs: Any) -> Any:
        self.calls.append(kwargs)
        if self.interrupt_at is not None and len(self.calls) >= self.interrupt_at:
            raise KeyboardInterrupt
        judge = kwargs["messages"][0]["role"] == "system"
        return self.real(
            **kwargs, mock_response=self.judge_reply if judge else "Open Settings, then Billing."
        )


@pytest.fixture
def mocked(monkeypatch: pytest.MonkeyPatch) -> Mocked:
    fake = Mocked()
    monkeypatch.setattr(litellm_module(), "completion", fake)
    return fake


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Any:
    def run(*argv: str) -> Run:
        code = main(list(argv))
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run


def test_collect_prints_the_run_and_its_spend(cli: Any, db: str, mocked: Mocked) -> None:
    res = cli("collect", REF, "--sample", "5", "--db", db)
    assert res.code == 0, res.err
    assert "collection run" in res.out
    assert "5 logged" in res.out
    assert "remaining $" in res.out
    assert len(mocked.calls) == 5


def test_json_output_matches_the_store(cli: Any, db: str, mocked: Mocked) -> None:
    res = cli(
        "collect", REF, "--sample", "4", "--models", "gpt-4o-mini,ollama/llama3.1", "--json", "--db", db
    )
    assert res.code == 0, res.err
    data = json.loads(res.out)
    assert data["status"] == "finished"
    assert data["outcomes_logged"] == 4
    assert data["outcomes_full"] == 8
    assert data["spent_usd"] <= data["budget_usd"] == 1.0
    assert data["remaining_usd"] == pytest.approx(1.0 - data["spent_usd"])
    with open_store(db, read_only=True) as store:
        n = store.scalar("SELECT count(*) FROM outcomes WHERE import_id = ?", [data["run_id"]])
        spent = store.scalar("SELECT spent_usd FROM collection_runs WHERE run_id = ?", [data["run_id"]])
    assert n == 12
    assert spent == pytest.approx(data["spent_usd"])


def test_the_budget_stops_the_run_and_a_resume_finishes_it(cli: Any, db: str, mocked: Mocked) -> None:
    res = cli("collect", REF, "--sample", "30", "--budget", "0.005", "--json", "--db", db)
    assert res.code == 0, res.err
    data = json.loads(res.out)
    assert data["status"] == "budget"
    assert data["spent_usd"] <= 0.005
    assert data["outcomes_logged"] < 30
    text = cli("collect", REF, "--resume", data["run_id"], "--budget", "0.0051", "--db", db)
    assert "stopped: budget cap reached" in text.out
    assert "--resume" in text.out
    done = cli("collect", REF, "--resume", data["run_id"], "--budget", "5", "--json", "--db", db)
    assert json.loads(done.out)["outcomes_logged"] == 30
    assert len(mocked.calls) == 30  # nothing paid twice


def test_ctrl_c_keeps_finished_calls_and_names_the_resume(
    cli: Any, db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(litellm_module(), "completion", Mocked(interrupt_at=4))
    res = cli("collect", REF, "--sample", "10", "--concurrency", "1", "--db", db)
    assert res.code == 130
    assert "--resume" in res.err
    run_id = res.err.split("--resume ")[1].split("`")[0]
    with open_store(db, read_only=True) as store:
        assert store.scalar("SELECT count(*) FROM outcomes WHERE import_id = ?", [run_id]) == 3
    again = Mocked()
    monkeypatch.setattr(litellm_module(), "completion", again)
    done = cli("collect", REF, "--resume", run_id, "--json", "--db", db)
    assert done.code == 0, done.err
    assert json.loads(done.out)["outcomes_logged"] == 10
    assert len(again.calls) == 7


def test_the_judge_agreement_with_annotations_is_reported(
    cli: Any, db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with open_store(db) as store:
        ids = [r[0] for r in store.execute("SELECT request_id FROM requests ORDER BY 1").fetchall()]
        for i, rid in enumerate(ids):
            store.execute(
                "INSERT INTO annotations (annotation_id, request_id, router, annotator, kind, verdict, "
                "created_at) VALUES (?, ?, ?, 'ann', 'judgement', ?, now())",
                [f"a{i}", rid, REF, "correct" if i % 3 else "incorrect"],
            )
    monkeypatch.setattr(litellm_module(), "completion", Mocked(judge_reply="Good. Score: 9"))
    res = cli("collect", REF, "--sample", "6", "--judge", "gpt-4o-mini", "--json", "--db", db)
    data = json.loads(res.out)
    assert data["judged"] == 6
    assert data["judge_usd"] > 0
    agreement = data["judge_agreement"]
    assert agreement["n"] == 6
    assert agreement["threshold"] == 7.0
    text = cli("collect", REF, "--resume", data["run_id"], "--db", db)
    assert "judge vs annotators" in text.out


def test_human_verdicts_prefer_adjudication_then_majority() -> None:
    ann = pd.DataFrame(
        {
            "request_id": ["r1", "r1", "r1", "r2", "r2", "r3", "r3", "r4"],
            "kind": [
                "judgement",
                "judgement",
                "adjudication",
                "judgement",
                "judgement",
                "judgement",
                "judgement",
                "judgement",
            ],
            "verdict": [
                "correct",
                "correct",
                "incorrect",
                "correct",
                "incorrect",
                "correct",
                "correct",
                "unsure",
            ],
            "created_at": pd.to_datetime(["2026-01-01"] * 8),
        }
    )
    verdicts = human_verdicts(ann).set_index("request_id")["verdict"].to_dict()
    assert verdicts == {"r1": "incorrect", "r3": "correct"}  # r2 is a tie, r4 unsure
    scores = pd.DataFrame({"request_id": ["r1", "r3"], "quality": [2.0, 9.0]})
    result = judge_agreement(scores, ann, threshold=7)
    assert result["observed"] == 1.0
    assert result["n"] == 2


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([REF], "give --sample N"),
        ([REF, "--sample", "2", "--models", "nope"], "nope not in acme-gateway@2"),
        ([REF, "--sample", "2", "--budget", "0"], "--budget must be more than 0"),
        ([REF, "--sample", "2", "--concurrency", "0"], "--concurrency must be at least 1"),
        (["acme-gateway@9", "--sample", "2"], "no router version acme-gateway@9"),
        ([REF, "--resume", "nope"], "no collection run 'nope'"),
    ],
    ids=["no-sample", "unknown-model", "zero-budget", "zero-concurrency", "unknown-version", "unknown-run"],
)
def test_bad_input_exits_2_with_one_line(
    cli: Any, db: str, mocked: Mocked, argv: list[str], message: str
) -> None:
    res = cli("collect", *argv, "--db", db)
    assert res.code == 2
    assert message in res.err
    assert mocked.calls == []


def test_a_resume_refuses_different_options(cli: Any, db: str, mocked: Mocked) -> None:
    data = json.loads(cli("collect", REF, "--sample", "2", "--json", "--db", db).out)
    res = cli("collect", REF, "--resume", data["run_id"], "--sample", "3", "--db", db)
    assert res.code == 2
    assert "was started with --sample 2" in res.err
    other = cli("collect", "acme-gateway@1", "--resume", data["run_id"], "--db", db)
    assert other.code == 2
    assert f"collects {REF}" in other.err


def test_parse_models() -> None:
    assert parse_models(["a,b", "c"]) == ("a", "b", "c")
    assert parse_models(["all"]) == ("all",)
    assert parse_models(None) == ()
    with pytest.raises(CliError):
        parse_models(["all", "a"])
