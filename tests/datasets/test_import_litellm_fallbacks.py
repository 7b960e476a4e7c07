"""`litellm-spend` fallbacks: LiteLLM's `attempted_fallbacks` / `original_model_group` become the primary
model and `fallback_model`; a malformed fallback key is a `file:line: field: problem` error."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from routelab.datasets.errors import ImportFileError
from routelab.datasets.importers import import_file
from routelab.datasets.store import Store


def spend(i: int, model: str, model_group: str, **meta: Any) -> dict[str, Any]:
    """One SpendLogs row as LiteLLM writes it; `meta` goes into the row's `metadata`."""
    status = meta.pop("status", "success")
    return {
        "request_id": f"chatcmpl-{i}",
        "call_type": "acompletion",
        "spend": 0.001 * i,
        "prompt_tokens": 10,
        "completion_tokens": 5,
        "startTime": f"2025-03-03T09:00:0{i}Z",
        "endTime": f"2025-03-03T09:00:0{i}.5Z",
        "model": model,
        "model_group": model_group,
        "cache_hit": "False",
        "messages": [{"role": "user", "content": f"question {i}"}],
        "metadata": {"user_api_key_team_alias": "support", "status": status, **meta},
        "status": status,
    }


NORMAL = spend(1, "gpt-4o", "gpt-4o", attempted_fallbacks=0, original_model_group="gpt-4o")
# gpt-4o failed; the router fell back to the claude group, whose deployment answered
FALLBACK = spend(
    2, "claude-3-5-sonnet-20241022", "claude", attempted_fallbacks=1, original_model_group="gpt-4o"
)
# both the primary and its fallback failed: the caller got an error, no fallback answered
FAILED = spend(
    3,
    "claude-3-5-sonnet-20241022",
    "claude",
    attempted_fallbacks=1,
    original_model_group="gpt-4o",
    status="failure",
    error_information={"error_class": "RateLimitError", "error_message": "rate limited"},
)
OLD_PROXY = spend(4, "gpt-4o-mini", "small")  # written before LiteLLM logged the fallback keys


def write(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def counts(store: Store) -> dict[str, int]:
    return {t: int(store.scalar(f"SELECT count(*) FROM {t}")) for t in ("requests", "outcomes", "imports")}


def test_a_fallback_row_names_the_primary_and_what_served(store: Store, tmp_path: Path) -> None:
    import_file(
        store,
        write(tmp_path / "spend.jsonl", [NORMAL, FALLBACK, FAILED, OLD_PROXY]),
        "litellm-spend",
        progress=False,
    )
    out = store.df(
        "SELECT o.request_id, o.model, o.fallback_model, o.error, o.path, r.attrs "
        "FROM outcomes o JOIN requests r USING (request_id) ORDER BY o.request_id"
    ).set_index("request_id")
    cells = out[["model", "fallback_model", "error"]].astype(object)
    cells = cells.where(cells.notna(), None)
    got = {
        rid: (*row, json.loads(out.loc[rid, "path"])["model"])
        for rid, row in zip(cells.index, cells.itertuples(index=False, name=None), strict=True)
    }
    assert got == {
        "chatcmpl-1": ("gpt-4o", None, None, "gpt-4o"),
        "chatcmpl-2": ("gpt-4o", "claude-3-5-sonnet-20241022", None, "gpt-4o"),
        "chatcmpl-3": ("gpt-4o", None, "RateLimitError: rate limited", "gpt-4o"),
        "chatcmpl-4": ("gpt-4o-mini", None, None, "gpt-4o-mini"),
    }
    # the request's model_group attr is the group the client asked for, not the one that served
    assert dict(out.loc["chatcmpl-2", "attrs"])["model_group"] == "gpt-4o"
    assert dict(out.loc["chatcmpl-4", "attrs"])["model_group"] == "small"


def test_csv_export_with_json_metadata_cells(store: Store, tmp_path: Path) -> None:
    import pandas as pd

    rows = [
        {k: json.dumps(v) if isinstance(v, dict | list) else v for k, v in r.items()}
        for r in (NORMAL, FALLBACK)
    ]
    pd.DataFrame(rows).to_csv(tmp_path / "spend.csv", index=False)
    import_file(store, tmp_path / "spend.csv", "litellm-spend", progress=False)
    served = store.df("SELECT model, fallback_model FROM outcomes WHERE fallback_model IS NOT NULL")
    assert served.to_dict("records") == [{"model": "gpt-4o", "fallback_model": "claude-3-5-sonnet-20241022"}]


@pytest.mark.parametrize(
    ("meta", "message"),
    [
        ({"attempted_fallbacks": "two", "original_model_group": "gpt-4o"},
         "metadata.attempted_fallbacks: expected a whole number of fallbacks ≥ 0, got 'two'"),
        ({"attempted_fallbacks": -1, "original_model_group": "gpt-4o"},
         "metadata.attempted_fallbacks: expected a whole number of fallbacks ≥ 0, got -1"),
        ({"attempted_fallbacks": 1.5, "original_model_group": "gpt-4o"},
         "metadata.attempted_fallbacks: expected a whole number of fallbacks ≥ 0, got 1.5"),
        ({"attempted_fallbacks": True, "original_model_group": "gpt-4o"},
         "metadata.attempted_fallbacks: expected a whole number of fallbacks ≥ 0, got True"),
        ({"attempted_fallbacks": 2},
         "metadata.original_model_group: missing while attempted_fallbacks is 2: name the model group"),
        ({"attempted_fallbacks": 1, "original_model_group": ["gpt-4o"]},
         "metadata.original_model_group: expected a model group name, got ['gpt-4o']"),
    ],
    ids=["text-count", "negative", "fraction", "boolean", "no-original-group", "group-not-text"],
)  # fmt: skip
def test_a_malformed_fallback_field_names_file_line_and_field(
    store: Store, tmp_path: Path, meta: dict[str, Any], message: str
) -> None:
    import_file(store, write(tmp_path / "before.jsonl", [OLD_PROXY]), "litellm-spend", progress=False)
    before = counts(store)
    bad = spend(2, "claude-3-5-sonnet-20241022", "claude", **meta)
    file = write(tmp_path / "spend.jsonl", [NORMAL, bad, FALLBACK | {"request_id": "chatcmpl-9"}])
    with pytest.raises(ImportFileError) as info:
        import_file(store, file, "litellm-spend", progress=False)
    assert f"{file}:2: {message}" in str(info.value)
    assert counts(store) == before
