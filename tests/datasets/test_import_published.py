"""Importers over the real public data in ../shared/data reproduce the published numbers, from the store.

The data is never copied into the repository. Without the folder these tests skip (a user's clone);
in CI (`CI=true`) they fail instead.
"""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import pytest

from routelab.datasets.importers import import_file
from routelab.datasets.store import Store, open_store

from ..public_data import shared

STRONG, WEAK = "gpt-4-1106-preview", "mistralai/Mixtral-8x7B-Instruct-v0.1"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    s = open_store(tmp_path_factory.mktemp("published") / "t.duckdb")
    yield s
    s.close()


# ---- RouterBench (RouterDC re-split) -------------------------------------------------------------------


@pytest.fixture(scope="module")
def routerbench(store: Store) -> str:
    report = import_file(
        store, shared("routerbench_subset", "routerbench_0shot_arc_mbpp_winogrande.csv.gz"), "routerbench"
    )
    assert report.n_rows == 3178
    return report.import_id


def test_routerbench_imports_every_row(store: Store, routerbench: str) -> None:
    assert store.scalar("SELECT count(*) FROM requests WHERE import_id = ?", [routerbench]) == 3178
    assert store.scalar("SELECT count(*) FROM labels WHERE import_id = ?", [routerbench]) == 3178
    tasks = store.df(
        "SELECT task, count(DISTINCT attrs['sample_id']) AS n FROM requests "
        "WHERE import_id = ? GROUP BY task",
        [routerbench],
    )
    assert dict(zip(tasks["task"], tasks["n"], strict=True)) == {
        "arc-challenge": 1470,
        "winogrande": 1267,
        "mbpp": 427,
    }


def test_routerbench_repeated_sample_ids_get_occurrence_suffixes(store: Store, routerbench: str) -> None:
    ids = store.df(
        "SELECT request_id, attrs['routerdc_split'] AS split FROM requests "
        "WHERE attrs['sample_id'] = 'arc-challenge.val.172' ORDER BY request_id"
    )
    # both copies sit in the test split, so the split could not tell them apart
    assert ids["request_id"].tolist() == ["arc-challenge.val.172", "arc-challenge.val.172#2"]
    assert set(ids["split"]) == {"arc_challenge_test"}
    assert store.scalar("SELECT count(*) FROM requests WHERE request_id LIKE '%#2'") == 14


@pytest.mark.parametrize(
    ("task", "accuracy", "cost"),
    [("arc-challenge", 95.4, 7.528), ("mbpp", 68.6, 4.004), ("winogrande", 85.9, 4.473)],
    ids=["arc-challenge", "mbpp", "winogrande"],
)
def test_routerbench_gpt4_accuracy_and_cost(
    store: Store, routerbench: str, task: str, accuracy: float, cost: float
) -> None:
    row = store.execute(
        "SELECT avg(o.quality) * 100, sum(o.cost_usd) FROM outcomes o JOIN requests r USING (request_id) "
        "WHERE o.import_id = ? AND o.model = 'gpt-4-1106-preview' AND r.task = ?",
        [routerbench, task],
    ).fetchone()
    assert row is not None
    assert round(row[0], 1) == accuracy
    assert round(row[1], 3) == cost


def test_routerbench_oracle_labels(store: Store, routerbench: str) -> None:
    first = store.df(
        "SELECT model, abstain, acceptable FROM labels WHERE request_id = 'arc-challenge.test.1'"
    )
    assert first["model"].tolist() == ["mistralai/mistral-7b-chat"]
    n_abstain = store.scalar("SELECT count(*) FROM labels WHERE import_id = ? AND abstain", [routerbench])
    assert n_abstain > 0  # rows whose oracle reads no_model_correct


# ---- RouteLLM -----------------------------------------------------------------------------------------


def routellm(store: Store, name: str, bench: str, **options: str) -> pd.DataFrame:
    options["decontaminate"] = str(shared("routellm", f"{bench}_contaminated_prompts.jsonl"))
    report = import_file(store, shared("routellm", name), "routellm", options=options)
    return store.df(
        "SELECT model, count(*) AS n, avg(quality) AS mean FROM outcomes WHERE import_id = ? GROUP BY model",
        [report.import_id],
    ).set_index("model")


@pytest.mark.parametrize(
    ("name", "bench", "n", "strong", "weak"),
    [
        ("mmlu_responses_all57.csv.gz", "mmlu", 14037, 80.587, 68.091),
        ("gsm8k_responses.csv.gz", "gsm8k", 1307, 85.769, 63.734),
    ],
    ids=["mmlu", "gsm8k"],
)
def test_routellm_correctness_after_decontamination(
    store: Store, name: str, bench: str, n: int, strong: float, weak: float
) -> None:
    got = routellm(store, name, bench)
    assert got.loc[STRONG, "n"] == got.loc[WEAK, "n"] == n
    assert round(got.loc[STRONG, "mean"] * 100, 3) == strong
    assert round(got.loc[WEAK, "mean"] * 100, 3) == weak


@pytest.mark.parametrize("granularity", ["question", "turn"])
def test_mt_bench_scores_after_decontamination(store: Store, granularity: str) -> None:
    got = routellm(store, "mt_bench_judgement_scores.csv", "mt_bench", granularity=granularity)
    questions = 72 if granularity == "question" else 144
    assert got.loc[STRONG, "n"] == got.loc[WEAK, "n"] == questions
    # published to 4 decimals (weak: 8.28125 exactly)
    assert got.loc[STRONG, "mean"] == pytest.approx(9.2118, abs=5e-5)
    assert got.loc[WEAK, "mean"] == pytest.approx(8.2813, abs=5e-5)


def test_mt_bench_commercial_routers_per_turn(store: Store) -> None:
    file = shared("routellm", "mt_bench_commercial_routers_scores.csv")
    report = import_file(store, file, "routellm", options={"granularity": "turn"})
    assert [(e.line, e.reason.split(" (")[0]) for e in report.excluded] == [(223, "judge score -1")]
    got = store.df(
        "SELECT model, count(*) AS n, avg(quality) AS mean FROM outcomes WHERE import_id = ? GROUP BY model",
        [report.import_id],
    ).set_index("model")
    assert got.loc["martian", "mean"] == pytest.approx(8.3125, abs=1e-9)
    assert got.loc["unify", "mean"] == pytest.approx(8.757862, abs=5e-7)
    assert got.loc["unify", "n"] == 159


def test_mt_bench_commercial_routers_per_question(store: Store) -> None:
    file = shared("routellm", "mt_bench_commercial_routers_scores.csv")
    report = import_file(store, file, "routellm")
    got = store.df(
        "SELECT model, avg(quality) AS mean FROM outcomes WHERE import_id = ? GROUP BY model",
        [report.import_id],
    ).set_index("model")["mean"]
    assert got["martian"] == pytest.approx(8.3125, abs=1e-9)
    # question 131 keeps only unify's turn 1, so the per-question mean weighs it double
    assert got["unify"] == pytest.approx(8.765625, abs=1e-9)
    stored = store.execute(
        "SELECT quality FROM outcomes WHERE request_id = 'mt_bench:131' AND model = 'unify'"
    ).fetchone()
    assert stored is not None
    assert report.excluded[0].line == 223


# ---- AlpacaEval ---------------------------------------------------------------------------------------


def test_alpacaeval_win_rates_match_the_leaderboard(store: Store) -> None:
    report = import_file(
        store,
        shared("alpacaeval", "preferences_vs_gpt4_1106_preview.csv.gz"),
        "outcomes",
        mapping={"idx": "request_id", "preference": "quality"},
        options={
            "id_prefix": "alpacaeval:",
            "quality_scale": "alpacaeval_preference_1_2",
            "eval_group": "alpacaeval",
        },
    )
    assert set(report.ignored_columns) == {
        "output_chars",
        "baseline_output_chars",
        "judge_price_usd",
        "judge_time_s",
    }
    ours = store.df(
        "SELECT model, avg(quality - 1) * 100 AS win_rate FROM outcomes WHERE import_id = ? GROUP BY model",
        [report.import_id],
    ).set_index("model")["win_rate"]
    board = pd.read_csv(shared("alpacaeval", "leaderboard_weighted_alpaca_eval_gpt4_turbo.csv"), index_col=0)
    common = ours.index.intersection(board.index)
    assert len(common) == 57
    diff = (ours[common] - board.loc[common, "win_rate"]).abs()
    assert diff.max() < 1e-6, diff.sort_values().tail(3)
