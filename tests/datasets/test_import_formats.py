"""Each import format on small files: what lands in requests, labels and outcomes."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from routelab.datasets.errors import ImportFileError
from routelab.datasets.importers import import_file
from routelab.datasets.importers.logs import messages_text
from routelab.datasets.importers.tokens import count_tokens
from routelab.datasets.store import Store

FIXTURES = Path(__file__).resolve().parent / "data"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def jsonl(rows: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(r) + "\n" for r in rows)


def load(store: Store, path: Path, fmt: str, **kwargs: Any) -> Any:
    return import_file(store, path, fmt, progress=False, **kwargs)


# ---- requests -----------------------------------------------------------------------------------------

REQUESTS_CSV = """request_id,ts,team,prompt,prompt_tokens,attrs,tier,vip
r1,2025-03-03T10:00:00+02:00,search,hello world,,"{""lang"": ""en"", ""n"": 3}",gold,true
r2,2025-03-03 09:30:00,search,hello world,40,,silver,
"""


def test_requests_csv_attrs_time_and_tokens(store: Store, tmp_path: Path) -> None:
    load(store, write(tmp_path / "r.csv", REQUESTS_CSV), "requests")
    got = store.df("SELECT * FROM requests ORDER BY request_id")
    assert got["ts"].tolist() == [pd.Timestamp("2025-03-03 08:00:00"), pd.Timestamp("2025-03-03 09:30:00")]
    assert got["prompt_tokens"].tolist() == [2, 40]  # counted with cl100k_base when absent; kept when given
    assert dict(got["attrs"][0]) == {"lang": "en", "n": "3", "tier": "gold", "vip": "true"}
    assert dict(got["attrs"][1]) == {"tier": "silver"}


@pytest.mark.parametrize("suffix", [".jsonl.gz", ".csv.gz", ".parquet"])
def test_requests_in_other_containers(store: Store, tmp_path: Path, suffix: str) -> None:
    frame = pd.DataFrame({"request_id": ["a", "b"], "prompt": ["x", "y"], "task": ["code", "chat"]})
    file = tmp_path / f"r{suffix}"
    if suffix == ".parquet":
        frame.to_parquet(file)
    else:
        text = frame.to_csv(index=False) if ".csv" in suffix else frame.to_json(orient="records", lines=True)
        file.write_bytes(gzip.compress(text.encode()))
    assert load(store, file, "requests").tables["requests"].inserted == 2
    assert store.df("SELECT task FROM requests ORDER BY request_id")["task"].tolist() == ["code", "chat"]


def test_parquet_rows_are_numbered_from_one(store: Store, tmp_path: Path) -> None:
    pd.DataFrame({"request_id": ["a", "b", "c"], "prompt_tokens": ["1", "2", "x"]}).to_parquet(
        tmp_path / "r.parquet"
    )
    with pytest.raises(ImportFileError, match=r"r\.parquet:3: prompt_tokens: expected an integer, got 'x'"):
        load(store, tmp_path / "r.parquet", "requests")


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"attrs": {"deep": {"a": 1}}}, "attrs: attr values must be strings, numbers or booleans, not dict"),
        ({"attrs": {"tier": "a"}, "tier": "b"}, "attrs: 'tier' is both a column and a key of attrs"),
        ({"attrs": "[1]"}, "attrs: expected a JSON object"),
        ({"ts": 1740993242}, "ts: expected an ISO 8601 time"),
        ({"prompt_tokens": -1}, "prompt_tokens: must be ≥ 0"),
        ({"prompt_tokens": 2.5}, "prompt_tokens: expected an integer, got 2.5"),
        ({"request_id": " "}, "request_id: empty text"),
        ({"team": ["a"]}, "team: expected text, got ['a']"),
    ],
    ids=[
        "nested-attr",
        "attr-twice",
        "attrs-not-object",
        "ts-number",
        "negative",
        "fraction",
        "blank-id",
        "list",
    ],
)
def test_requests_bad_cells(store: Store, tmp_path: Path, row: dict[str, Any], message: str) -> None:
    file = write(tmp_path / "r.jsonl", jsonl([{"request_id": "r1"}, {"request_id": "r2", **row}]))
    with pytest.raises(
        ImportFileError, match="r.jsonl:2: " + message.replace("[", r"\[").replace("]", r"\]")
    ):
        load(store, file, "requests")


def test_a_one_megabyte_prompt_is_fine(store: Store, tmp_path: Path) -> None:
    prompt = ("lorem ipsum dolor sit amet " * 40_000)[:1_000_000]
    load(store, write(tmp_path / "r.jsonl", jsonl([{"request_id": "big", "prompt": prompt}])), "requests")
    assert store.scalar("SELECT length(prompt) FROM requests") == 1_000_000


def test_id_prefix_and_drop_mapping(store: Store, tmp_path: Path) -> None:
    file = write(tmp_path / "r.jsonl", jsonl([{"idx": 0, "text": "hi", "secret": "x"}]))
    load(
        store,
        file,
        "requests",
        mapping={"idx": "request_id", "text": "prompt", "secret": "-"},
        options={"id_prefix": "d:"},
    )
    got = store.df("SELECT request_id, prompt, attrs FROM requests")
    assert got.iloc[0]["request_id"] == "d:0"
    assert dict(got.iloc[0]["attrs"]) == {}


def test_token_counts_are_offline_and_leave_the_environment_alone() -> None:
    before = os.environ.get("TIKTOKEN_CACHE_DIR")
    assert count_tokens(["hello world", "Bonjour à tous", "<|endoftext|>", ""]) == [2, 3, 7, 0]
    assert os.environ.get("TIKTOKEN_CACHE_DIR") == before


# ---- labels -------------------------------------------------------------------------------------------

LABELS = [
    {"request_id": "a", "acceptable": [{"model": "m1", "cache": "serve"}, {"model": "m2"}], "source": "team"},
    {"request_id": "b", "model": "m3", "retrieval": "none", "context_tokens": 4000},
    {"request_id": "c", "abstain": True, "note": "unclear"},
]


def test_labels_acceptable_gold_columns_and_abstain(store: Store, tmp_path: Path) -> None:
    load(store, write(tmp_path / "l.jsonl", jsonl(LABELS)), "labels")
    got = store.df("SELECT * FROM labels ORDER BY request_id").set_index("request_id")
    assert json.loads(got.loc["a", "acceptable"]) == LABELS[0]["acceptable"]
    assert (got.loc["a", "model"], got.loc["a", "cache"], got.loc["a", "source"]) == ("m1", "serve", "team")
    assert json.loads(got.loc["b", "acceptable"]) == [
        {"context_tokens": 4000, "model": "m3", "retrieval": "none"}
    ]
    assert got.loc["b", "source"] == "import:l.jsonl"
    assert bool(got.loc["c", "abstain"])
    assert got.loc["c", "note"] == "unclear"


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"cache": "sometimes"}, "cache: cache must be one of serve, bypass, got 'sometimes'"),
        ({"acceptable": [{"modle": "x"}]}, "acceptable: unknown path component 'modle'; components: model"),
        (
            {"acceptable": [{"model": "x"}], "model": "y"},
            "acceptable: give either acceptable or the gold columns",
        ),
        ({"escalation": "manager"}, "escalation: escalation must be none, human_review or model:<model>"),
        ({}, "acceptable: no label: give acceptable, a gold column, or abstain=true"),
        ({"abstain": "perhaps"}, "abstain: expected true or false, got 'perhaps'"),
    ],
    ids=["bad-cache", "unknown-component", "both", "bad-escalation", "empty", "bad-abstain"],
)
def test_labels_bad_rows(store: Store, tmp_path: Path, row: dict[str, Any], message: str) -> None:
    file = write(tmp_path / "l.jsonl", jsonl([{"request_id": "a", "model": "m"}, {"request_id": "b", **row}]))
    with pytest.raises(ImportFileError, match="l.jsonl:2: " + message):
        load(store, file, "labels")


# ---- outcomes -----------------------------------------------------------------------------------------


def test_outcomes_long_format(store: Store, tmp_path: Path) -> None:
    rows = [
        {
            "request_id": "a",
            "model": "m1",
            "quality": 1,
            "cost_usd": 0.01,
            "path": {"model": "m1", "cache": "bypass"},
        },
        {
            "request_id": "a",
            "model": "m1",
            "kind": "logged",
            "propensity": 0.25,
            "cache_hit": "yes",
            "ts": "2025-01-01",
        },
        {"request_id": "b", "model": "m2", "error": "timeout", "latency_ms": 30000, "extra": 1},
    ]
    report = load(
        store, write(tmp_path / "o.jsonl", jsonl(rows)), "outcomes", options={"quality_scale": "0_1"}
    )
    assert report.ignored_columns == ("extra",)
    got = store.df("SELECT * FROM outcomes ORDER BY request_id, kind")
    assert got["kind"].tolist() == ["full", "logged", "full"]
    assert got["path"][0] == '{"cache": "bypass", "model": "m1"}'
    assert got["propensity"][1] == 0.25
    assert bool(got["cache_hit"][1])
    assert set(got["quality_scale"]) == {"0_1"}


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"propensity": 0.5}, "propensity: a propensity belongs to logged outcomes only"),
        ({"kind": "logged", "propensity": 0}, "propensity: must be > 0, got 0"),
        ({"kind": "logged", "propensity": 1.5}, "propensity: must be ≤ 1, got 1.5"),
        ({"kind": "sampled"}, "kind: expected full or logged, got 'sampled'"),
        ({"cost_usd": -1}, "cost_usd: must be ≥ 0, got -1"),
        ({"quality": "NaN"}, "quality: expected a number, got 'NaN'"),
    ],
    ids=["propensity-on-full", "propensity-zero", "propensity-above-one", "kind", "negative-cost", "nan"],
)
def test_outcomes_bad_rows(store: Store, tmp_path: Path, row: dict[str, Any], message: str) -> None:
    file = write(
        tmp_path / "o.jsonl",
        jsonl([{"request_id": "a", "model": "m"}, {"request_id": "b", "model": "m", **row}]),
    )
    with pytest.raises(ImportFileError, match="o.jsonl:2: " + message):
        load(store, file, "outcomes")


# ---- routerbench --------------------------------------------------------------------------------------

BENCH = """\
sample_id,prompt,eval_name,routerdc_split,m1,m1|total_cost,m2,m2|total_cost,m2|model_response,oracle_model_to_route_to
s1,p1,mmlu-astronomy,train,1,0.1,0,0.01,x,m1
s1,p1 again,mmlu-astronomy,test,,0.1,1,0.01,y,m2
s2,p2,mbpp,train,0,0.1,0,0.01,z,no_model_correct
s1,p1 third,mmlu-astronomy,test,1,0.1,1,0.01,w,m2
"""


def test_routerbench_small(store: Store, tmp_path: Path) -> None:
    report = load(store, write(tmp_path / "b.csv", BENCH), "routerbench")
    assert report.ignored_columns == ("m2|model_response",)
    reqs = store.df("SELECT request_id, task, attrs FROM requests ORDER BY request_id")
    assert reqs["request_id"].tolist() == ["s1", "s1#2", "s1#3", "s2"]
    assert set(reqs["task"]) == {"mmlu", "mbpp"}
    assert dict(reqs["attrs"][1]) == {
        "eval_name": "mmlu-astronomy",
        "routerdc_split": "test",
        "sample_id": "s1",
    }
    out = store.df("SELECT request_id, model, quality, cost_usd FROM outcomes ORDER BY 1, 2")
    assert len(out) == 8
    assert pd.isna(
        out.set_index(["request_id", "model"]).loc[("s1#2", "m1"), "quality"]
    )  # cost kept, grade missing
    labels = store.df("SELECT request_id, model, abstain FROM labels ORDER BY 1").set_index("request_id")
    assert labels.loc["s1", "model"] == "m1"
    assert bool(labels.loc["s2", "abstain"])
    assert pd.isna(labels.loc["s2", "model"])


def test_routerbench_unknown_oracle(store: Store, tmp_path: Path) -> None:
    text = BENCH.replace("z,no_model_correct", "z,m9")
    with pytest.raises(
        ImportFileError, match=r"b\.csv:4: oracle_model_to_route_to: 'm9' is not one of the 2 models"
    ):
        load(store, write(tmp_path / "b.csv", text), "routerbench")


def test_routerbench_without_model_columns(store: Store, tmp_path: Path) -> None:
    with pytest.raises(
        ImportFileError, match=r"no model columns: expected <model> and <model>\|total_cost pairs"
    ):
        load(store, write(tmp_path / "b.csv", "sample_id,prompt,eval_name\ns,p,e\n"), "routerbench")


# ---- routellm -----------------------------------------------------------------------------------------


def test_routellm_responses_decontaminated(store: Store, tmp_path: Path) -> None:
    text = (
        "subject,prompt,weak,strong,weak_response\nx,A?,True,True,r\nx,B?,False,True,r\ny,A?,False,False,r\n"
    )
    dirty = write(tmp_path / "dirty.jsonl", jsonl([{"train_prompt": "b", "eval_prompt": "B?"}]))
    report = load(
        store, write(tmp_path / "quiz_responses.csv", text), "routellm", options={"decontaminate": str(dirty)}
    )
    assert [(e.line, e.reason) for e in report.excluded] == [
        (3, "contaminated prompt (listed in the decontaminate file)")
    ]
    got = store.df("SELECT request_id, task, attrs['subject'] AS subject FROM requests ORDER BY request_id")
    assert got["task"].tolist() == ["quiz", "quiz"]
    assert got["request_id"].str.match(r"^quiz:[0-9a-f]{16}(#2)?$").all()
    assert got["request_id"].str.endswith("#2").sum() == 1  # the repeated prompt
    assert store.scalar("SELECT count(*) FROM outcomes WHERE quality_scale = 'correct_0_1'") == 4
    assert report.ignored_columns == ("weak_response",)


def test_routellm_bench_name_needed(store: Store, tmp_path: Path) -> None:
    with pytest.raises(ImportFileError, match="pass option bench=<name>"):
        load(store, write(tmp_path / "answers.csv", "prompt,m\nq,True\n"), "routellm")
    load(store, write(tmp_path / "answers.csv", "prompt,m\nq,True\n"), "routellm", options={"bench": "quiz"})


def mt_bench_files(tmp_path: Path) -> Path:
    questions = [
        {"question_id": q, "category": c, "turns": [f"{q}a", f"{q}b"]}
        for q, c in ((1, "math"), (2, "coding"))
    ]
    write(tmp_path / "mt_bench_question.jsonl", jsonl(questions))
    scores = "question_id,model,turn,score,judge\n1,m,1,8,j\n1,m,2,6,j\n2,m,1,10,j\n2,m,2,-1,j\n"
    return write(tmp_path / "scores.csv", scores)


def test_mt_bench_question_granularity_uses_sibling_questions(store: Store, tmp_path: Path) -> None:
    report = load(store, mt_bench_files(tmp_path), "routellm")
    assert report.options["questions"] == str(tmp_path / "mt_bench_question.jsonl")
    assert [(e.line, e.reason.split(" (")[0]) for e in report.excluded] == [(5, "judge score -1")]
    got = store.df(
        "SELECT r.request_id, r.task, r.prompt, o.quality FROM requests r JOIN outcomes o USING (request_id)"
    )
    rows = {r.request_id: (r.task, r.prompt, r.quality) for r in got.itertuples()}
    assert rows == {"mt_bench:1": ("math", "1a", 7.0), "mt_bench:2": ("coding", "2a", 10.0)}


def test_mt_bench_turn_granularity(store: Store, tmp_path: Path) -> None:
    load(store, mt_bench_files(tmp_path), "routellm", options={"granularity": "turn"})
    got = store.df(
        "SELECT request_id, prompt, quality FROM requests JOIN outcomes USING (request_id) ORDER BY 1"
    )
    assert got.to_dict("list") == {
        "request_id": ["mt_bench:1/1", "mt_bench:1/2", "mt_bench:2/1"],
        "prompt": ["1a", "1b", "2a"],
        "quality": [8.0, 6.0, 10.0],
    }


@pytest.mark.parametrize(
    ("line", "message"),
    [("9,m,1,8,j", "question_id: not in the questions file"), ("1,m,3,8,j", "turn: the question has 2 turns"),
     ("1,m,1,11,j", "score: expected a judge score 1-10 (or -1), got 11.0")],
    ids=["unknown-question", "turn-too-far", "score-out-of-range"],
)  # fmt: skip
def test_mt_bench_bad_rows(store: Store, tmp_path: Path, line: str, message: str) -> None:
    file = mt_bench_files(tmp_path)
    file.write_text(file.read_text().replace("2,m,1,10,j", line))
    with pytest.raises(
        ImportFileError, match=r"scores\.csv:4: " + message.replace("(", r"\(").replace(")", r"\)")
    ):
        load(store, file, "routellm")


def test_mt_bench_bad_granularity(store: Store, tmp_path: Path) -> None:
    with pytest.raises(Exception, match="option granularity='turns': choose one of question, turn"):
        load(store, mt_bench_files(tmp_path), "routellm", options={"granularity": "turns"})


# ---- logs ---------------------------------------------------------------------------------------------


def test_litellm_spend_fixture(store: Store) -> None:
    report = load(store, FIXTURES / "litellm_spend.jsonl", "litellm-spend")
    assert (report.tables["requests"].inserted, report.tables["outcomes"].inserted) == (20, 20)
    assert "api_key" in report.ignored_columns
    req = store.df("SELECT * FROM requests ORDER BY ts")
    first = req.iloc[0]
    assert (first["team"], first["region"], first["workflow"], first["data_class"]) == (
        "support",
        "eu",
        "ticket_triage",
        "internal",
    )
    assert req["prompt"].iloc[0].startswith("system: You are Acme's support assistant.")
    assert "\n\nuser: My order #48213" in req["prompt"].iloc[0]
    assert dict(req["attrs"].iloc[0])["tags"] == "region:eu,team:support"
    out = store.df("SELECT * FROM outcomes ORDER BY ts")
    assert set(out["kind"]) == {"logged"}
    assert out["latency_ms"].iloc[0] == pytest.approx(3266.0)
    assert out["ttft_ms"].iloc[0] == pytest.approx(229.0)
    hits = out[out["cache_hit"].astype(bool)]
    assert len(hits) == 1
    assert hits["cost_usd"].iloc[0] == 0.0
    assert hits["latency_ms"].iloc[0] < 100
    errors = out[out["error"].notna()]
    assert len(errors) == 1
    assert errors["error"].iloc[0].startswith("RateLimitError: litellm.RateLimitError")
    assert store.scalar("SELECT sum(cost_usd) FROM outcomes") == pytest.approx(out["cost_usd"].sum())


def test_litellm_spend_csv_with_json_cells(store: Store, tmp_path: Path) -> None:
    rows = [json.loads(line) for line in (FIXTURES / "litellm_spend.jsonl").read_text().splitlines()[:3]]
    frame = pd.DataFrame(
        [{k: json.dumps(v) if isinstance(v, list | dict) else v for k, v in r.items()} for r in rows]
    )
    frame.to_csv(tmp_path / "spend.csv", index=False)
    report = load(store, tmp_path / "spend.csv", "litellm-spend")
    assert report.tables["outcomes"].inserted == 3
    assert store.scalar("SELECT count(*) FROM requests WHERE prompt LIKE 'system: %'") == 3


def test_openai_chat_fixture(store: Store) -> None:
    report = load(store, FIXTURES / "openai_chat.jsonl", "openai-chat")
    assert report.ignored_columns == ("object", "system_fingerprint")
    req = store.df("SELECT * FROM requests ORDER BY ts")
    assert len(req) == 12
    assert req["ts"].iloc[0] == pd.Timestamp("2025-03-03 11:00:00")
    assert req["team"].iloc[0] == "support"
    assert dict(req["attrs"].iloc[0]) == {"app_version": "2.4.1"}
    assert "assistant: [tool call]\n\ntool: " in req["prompt"].iloc[3]
    assert "[image_url]" in req["prompt"].iloc[5]
    out = store.df("SELECT * FROM outcomes ORDER BY ts")
    assert out["cost_usd"].notna().sum() == 2  # no cost unless given
    assert out["input_tokens"].iloc[0] == req["prompt_tokens"].iloc[0]
    assert out["error"].notna().sum() == 1


def test_messages_text() -> None:
    msgs = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": [{"type": "text", "text": "hi"}]},
    ]
    assert messages_text(msgs) == "system: be brief\n\nuser: hi"
    assert messages_text({}) is None
    assert messages_text("plain prompt") == "plain prompt"
    with pytest.raises(ValueError, match="expected a list of chat messages"):
        messages_text([1, 2])
