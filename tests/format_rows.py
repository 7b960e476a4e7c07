"""Minimal valid rows of the importers' public formats, shared by the import-error and fuzzing tests."""

from __future__ import annotations

from typing import Any

#: MT-Bench questions the routellm judgement format needs beside its file.
QUESTIONS = [
    {"question_id": q, "category": "writing", "turns": [f"Q{q} turn 1", f"Q{q} turn 2"]} for q in (1, 2, 3)
]


def routerbench_rows() -> list[dict[str, Any]]:
    return [
        {"sample_id": f"s{i}", "prompt": f"p{i}", "eval_name": "mbpp", "m1": 1.0, "m1|total_cost": 0.01,
         "m2": 0.0, "m2|total_cost": 0.002, "oracle_model_to_route_to": "m1"}
        for i in range(3)
    ]  # fmt: skip


def spend_rows() -> list[dict[str, Any]]:
    return [
        {"request_id": f"r{i}", "model": "gpt-4o-mini", "startTime": "2025-03-03T09:00:00Z",
         "endTime": "2025-03-03T09:00:01.5Z", "spend": 0.0001, "cache_hit": "False",
         "messages": [{"role": "user", "content": f"hi {i}"}], "metadata": {"user_api_key_team_alias": "t"}}
        for i in range(3)
    ]  # fmt: skip


def chat_rows() -> list[dict[str, Any]]:
    return [
        {"id": f"c{i}", "created": 1740993242 + i, "model": "gpt-4o-mini",
         "messages": [{"role": "user", "content": f"hi {i}"}],
         "usage": {"prompt_tokens": 3, "completion_tokens": 5}}
        for i in range(3)
    ]  # fmt: skip
