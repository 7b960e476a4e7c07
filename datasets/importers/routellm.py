"""The `routellm` format: RouteLLM's evaluation files, in two layouts told apart by their columns.

Response files (`mmlu_responses_all57.csv.gz`, `gsm8k_responses.csv.gz`): `prompt`, optionally `subject`,
and per model a boolean column (answered correctly); `<model>_response` columns are ignored. Each row is a
request `<bench>:<first 16 hex of sha256(prompt)>` (a repeated prompt: `#<n>` for its n-th occurrence in
file order; MMLU repeats 105 prompts, graded separately), `task` = bench, attrs `subject`; each model gives a
full outcome with quality 1/0 (`correct_0_1`), `eval_group` = bench. Ids come from the text, not the row
order, so they survive re-sorted or filtered exports and do not move when decontamination drops rows.

MT-Bench judgement files (`mt_bench_judgement_scores.csv`, `mt_bench_commercial_routers_scores.csv`):
`question_id, model, turn, score` (GPT-4 grade 1–10), joined to the questions file (option `questions`,
default `mt_bench_question.jsonl` next to the file) for prompts and category. A score of -1 is the judge's
parse failure: the row is excluded and reported (`ImportReport.excluded`), not an error.
- `granularity=question` (default): request `mt_bench:<question_id>` with the turn-1 prompt (what a router
  sees first), `task` = category; quality = mean of the model's valid turn scores (`mt_bench_1_10`).
- `granularity=turn`: request `mt_bench:<question_id>/<turn>` with that turn's prompt alone; quality = the
  turn's score. The published "mean over both turns" is a per-turn mean, so only this granularity
  reproduces it when a turn is excluded (Unify: 8.757862 per turn vs 8.765625 per question).

Option `decontaminate=<file>` (RouteLLM's `*_contaminated_prompts.jsonl`) drops prompts listed as
`eval_prompt`; an MT-Bench question is dropped when either turn is listed. Dropped rows are reported as
excluded.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from routelab.datasets.errors import ImportFileError
from routelab.datasets.importers import convert
from routelab.datasets.importers.generic import valid_rows
from routelab.datasets.importers.readers import read_bytes, read_table
from routelab.datasets.importers.registry import OptionSpec, register
from routelab.datasets.importers.routerbench import occurrence_ids
from routelab.datasets.importers.source import Exclusion, Loaded, Source

JUDGEMENT_FIELDS = ("question_id", "model", "turn", "score")
JUDGE_FAILURE = -1.0
OPTIONS = {
    "bench": OptionSpec(
        "Benchmark name used in ids and task; default from the file name (`<bench>_responses…`)."
    ),
    "decontaminate": OptionSpec(
        "A *_contaminated_prompts.jsonl file: drop the prompts it lists.", kind="path"
    ),
    "questions": OptionSpec(
        "MT-Bench questions (JSON Lines).", kind="path", sibling="mt_bench_question.jsonl"
    ),
    "granularity": OptionSpec(
        "MT-Bench: one request per question or per turn.",
        kind="choice",
        default="question",
        choices=("question", "turn"),
    ),
}


@register(
    "routellm",
    "RouteLLM eval files: per-prompt model correctness (MMLU, GSM8K) or MT-Bench judge scores.",
    OPTIONS,
)
def load_routellm(src: Source, options: Mapping[str, Any]) -> Loaded:
    """Load a RouteLLM response file or MT-Bench judgement file (layout chosen by the columns)."""
    contaminated = _eval_prompts(Path(options["decontaminate"])) if "decontaminate" in options else set()
    # The layout with more of its columns present decides; its missing columns are then named.
    if sum(src.has(c) for c in JUDGEMENT_FIELDS) >= 2 and not src.has("prompt"):
        src.require(*JUDGEMENT_FIELDS)
        return _judgements(src, options, contaminated)
    src.require("prompt")
    return _responses(src, options, contaminated)


def _bench(src: Source, options: Mapping[str, Any], default: str | None = None) -> str:
    name = Path(src.name).name
    bench = options.get("bench") or (name.split("_responses")[0] if "_responses" in name else default)
    if not bench:
        raise ImportFileError(
            src.name, None, "cannot tell the benchmark from the file name; pass option bench=<name>"
        )
    return str(bench)


def _responses(src: Source, options: Mapping[str, Any], contaminated: set[str]) -> Loaded:
    bench = _bench(src, options)
    cols = set(src.columns)
    models = [c for c in src.columns if c not in ("prompt", "subject") and not _is_response(c, cols)]
    if not models:
        raise ImportFileError(src.name, None, "no model columns besides prompt and subject")
    prompt = convert.text(src, "prompt", required=True)
    grades = {m: convert.boolean(src, m) for m in models}
    digests = prompt.map(lambda p: hashlib.sha256((p or "").encode("utf-8")).hexdigest()[:16])
    rid = occurrence_ids(bench + ":" + digests)
    dropped = prompt.isin(sorted(contaminated)).to_numpy(dtype=bool)
    excluded = _exclude(src, dropped, "contaminated prompt (listed in the decontaminate file)")
    subject = convert.text(src, "subject")
    attrs = [convert.as_map({} if s is None else {"subject": s}) for s in subject]
    requests = valid_rows(
        src, {"request_id": rid, "task": bench, "prompt": prompt, "attrs": attrs, "_keep": ~dropped}
    )
    wide = valid_rows(src, {"request_id": rid, "_keep": ~dropped, **{m: grades[m] for m in models}})
    wide = wide[wide.pop("_keep")]
    outcomes = wide.melt(id_vars="request_id", value_vars=models, var_name="model", value_name="correct")
    outcomes = outcomes[outcomes["correct"].notna()]
    outcomes = outcomes.assign(
        kind="full",
        eval_group=bench,
        quality_scale="correct_0_1",
        quality=outcomes.pop("correct").astype(float),
    )
    return Loaded(
        requests=requests[requests.pop("_keep")].reset_index(drop=True),
        outcomes=outcomes.reset_index(drop=True),
        excluded=excluded,
        ignored_columns=tuple(c for c in src.columns if _is_response(c, cols)),
    )


def _is_response(column: str, columns: set[str]) -> bool:
    return column.endswith("_response") and column.removesuffix("_response") in columns


def _exclude(src: Source, mask: np.ndarray, reason: str) -> list[Exclusion]:
    return [Exclusion(src.line(int(p)), reason) for p in np.flatnonzero(mask & src.valid())]


def _judgements(src: Source, options: Mapping[str, Any], contaminated: set[str]) -> Loaded:
    bench = _bench(src, options, default="mt_bench")
    if "questions" not in options:
        raise ImportFileError(
            src.name, None, "MT-Bench scores need the questions: pass option questions=<file>"
        )
    questions = _questions(Path(options["questions"]))
    qid = convert.number(src, "question_id", integer=True, required=True)
    model = convert.text(src, "model", required=True)
    turn = convert.number(src, "turn", lo=1, integer=True, required=True)
    score = convert.number(src, "score", required=True)
    failed = (score == JUDGE_FAILURE).fillna(False).to_numpy(dtype=bool)
    out_of_range = (~failed & ((score < 1) | (score > 10)).fillna(False)).to_numpy(dtype=bool)
    src.fail(
        out_of_range, "score", [f"expected a judge score 1-10 (or -1), got {s}" for s in score[out_of_range]]
    )
    known = qid.map(lambda q: not pd.isna(q) and int(q) in questions).to_numpy(dtype=bool)
    src.fail(~known & qid.notna().to_numpy(dtype=bool), "question_id", "not in the questions file")
    n_turns = qid.map(lambda q: len(questions[int(q)][1]) if not pd.isna(q) and int(q) in questions else 99)
    n_turns = n_turns.astype("Int64")
    too_far = (turn > n_turns).fillna(False).to_numpy(dtype=bool)
    src.fail(too_far, "turn", [f"the question has {n} turns" for n in n_turns[too_far]])
    src.unique(pd.DataFrame({"question_id": qid, "model": model, "turn": turn}), "question_id/model/turn")
    bad_q = {q for q, (_, turns) in questions.items() if any(t in contaminated for t in turns)}
    dropped = qid.isin(sorted(bad_q)).to_numpy(dtype=bool)
    excluded = _exclude(src, dropped, "contaminated question (a turn is listed in the decontaminate file)")
    excluded += _exclude(src, failed & ~dropped, "judge score -1 (the judge's output could not be parsed)")
    rows = valid_rows(
        src, {"q": qid, "model": model, "turn": turn, "score": score, "_keep": ~dropped & ~failed}
    )
    rows = rows[rows.pop("_keep")]
    by_turn = options.get("granularity") == "turn"
    keys = ["q", "turn"] if by_turn else ["q"]
    rows["request_id"] = [
        f"{bench}:{k[0]}/{k[1]}" if by_turn else f"{bench}:{k[0]}" for k in rows[keys].itertuples(index=False)
    ]
    outcomes = rows.groupby(["request_id", "model"], as_index=False, sort=False)["score"].mean()
    outcomes = outcomes.rename(columns={"score": "quality"}).assign(
        kind="full", eval_group=bench, quality_scale="mt_bench_1_10"
    )
    reqs = rows.drop_duplicates("request_id")
    requests = pd.DataFrame(
        {
            "request_id": reqs["request_id"].to_numpy(),
            "task": [questions[int(q)][0] for q in reqs["q"]],
            "prompt": [
                questions[int(q)][1][int(t) - 1 if by_turn else 0]
                for q, t in zip(reqs["q"], reqs["turn"], strict=True)
            ],
            "attrs": [
                convert.as_map({"question_id": str(q), **({"turn": str(t)} if by_turn else {})})
                for q, t in zip(reqs["q"], reqs["turn"], strict=True)
            ],
        }
    )
    ignored = tuple(c for c in src.columns if c not in JUDGEMENT_FIELDS)
    return Loaded(requests=requests, outcomes=outcomes, excluded=excluded, ignored_columns=ignored)


def _aux(path: Path) -> Source:
    return Source(str(path), read_table(path, read_bytes(path)))


def _eval_prompts(path: Path) -> set[str]:
    """The `eval_prompt` texts of a RouteLLM contaminated-prompts file."""
    src = _aux(path)
    src.require("eval_prompt")
    prompts = convert.text(src, "eval_prompt", required=True)
    if (error := src.first_error()) is not None:
        raise error
    return set(prompts)


def _questions(path: Path) -> dict[int, tuple[str | None, list[str]]]:
    """MT-Bench questions: question_id → (category, turns)."""
    src = _aux(path)
    src.require("question_id", "turns")
    qid = convert.number(src, "question_id", integer=True, required=True)
    category = convert.text(src, "category")
    turns = convert.json_column(src, "turns", list)
    bad = turns.map(lambda t: t is not None and not all(isinstance(x, str) for x in t)).to_numpy(dtype=bool)
    src.fail(bad, "turns", "expected a list of prompt texts")
    src.unique(pd.DataFrame({"question_id": qid}), "question_id")
    if (error := src.first_error()) is not None:
        raise error
    return {int(q): (c, list(t or [])) for q, c, t in zip(qid, category, turns, strict=True)}
