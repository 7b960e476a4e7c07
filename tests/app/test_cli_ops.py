"""`routelab ops` on a small LiteLLM spend log written here, and the flow's SQL prompt groups.

The log is imported with `routelab import FILE --format litellm-spend`; every expected number is computed
from the rows below with pandas. Two rows were served by a fallback, which LiteLLM records in the row's
metadata (`attempted_fallbacks`, `original_model_group`). The demo's answers are checked in
`test_cli_ops_demo.py`.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from routelab.app.cli import main
from routelab.app.ops_flow import template_sql
from routelab.evaluators.ops_fields import prompt_template

T0 = datetime(2025, 3, 3, 9)  # a Monday


def spend_row(
    i: int, day: int, team: str, workflow: str, model: str, spend: float, text: str, **kw: Any
) -> dict:
    """One SpendLogs row in the shape LiteLLM exports (see tests/datasets/data/litellm_spend.jsonl).

    `fallback_from=GROUP`: GROUP failed and `model` answered as its fallback, as LiteLLM's router logs it.
    """
    start = T0 + timedelta(days=day, minutes=i)
    latency = kw.pop("latency_s", 2.0)
    row = {
        "request_id": f"chatcmpl-{i:04d}",
        "call_type": "acompletion",
        "spend": spend,
        "prompt_tokens": 100 + i,
        "completion_tokens": 20,
        "startTime": start.isoformat() + "Z",
        "endTime": (start + timedelta(seconds=latency)).isoformat() + "Z",
        "completionStartTime": (start + timedelta(seconds=0.3)).isoformat() + "Z",
        "model": model,
        "model_group": workflow,
        "user": "agent-1",
        "metadata": {
            "user_api_key_team_alias": team,
            "spend_logs_metadata": {"workflow": workflow},
            "status": "success",
        },
        "cache_hit": "False",
        "request_tags": [f"team:{team}"],
        "team_id": f"team-{team}",
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": text}],
        "status": "success",
    }
    fallback_from = kw.pop("fallback_from", None)
    if fallback_from:
        row["metadata"] |= {"attempted_fallbacks": 1, "original_model_group": fallback_from}
    error = kw.pop("error", None)
    if error:
        row["status"] = row["metadata"]["status"] = "failure"
        row["metadata"]["error_information"] = {"error_class": error[0], "error_message": error[1]}
    return row | kw


ROWS = [
    spend_row(1, 0, "support", "triage", "gpt-4o-mini", 0.002, "Where is order #1001?"),
    spend_row(2, 1, "support", "triage", "gpt-4o-mini", 0.003, "Where is order #2002?"),
    spend_row(3, 2, "support", "triage", "gpt-4o-mini", 0.0, "Where is order #3003?", cache_hit="True"),
    spend_row(4, 2, "legal", "contracts", "claude-3-5-sonnet-20241022", 0.05, "Review clause 7 of NDA-77"),
    spend_row(
        5, 3, "legal", "contracts", "claude-3-5-sonnet-20241022", 0.0, "Review clause 9 of NDA-78",
        error=("RateLimitError", "litellm.RateLimitError: AnthropicException - rate limit exceeded"),
    ),
    spend_row(6, 7, "support", "triage", "gpt-4o-mini", 0.004, "Where is order #4004?"),
    spend_row(7, 8, "support", "triage", "gpt-4o", 0.02, "Refund order #5005 please", latency_s=30.0),
    spend_row(
        8, 8, "support", "triage", "gpt-4o", 0.0, "Refund order #6006 please", latency_s=600.0,
        error=("Timeout", "litellm.Timeout: Request timed out"),
    ),
    spend_row(9, 9, "legal", "contracts", "claude-3-5-sonnet-20241022", 0.07, "Review clause 2 of NDA-79"),
    spend_row(10, 9, "legal", "contracts", "claude-3-5-sonnet-20241022", 0.06, "Review clause 3 of NDA-80"),
    # model group = model name (`model_name: claude-3-5-sonnet-20241022`); gpt-4o answers when it fails
    spend_row(11, 4, "legal", "summaries", "claude-3-5-sonnet-20241022", 0.03, "Summarise meeting 12",
              model_group="claude-3-5-sonnet-20241022"),
    spend_row(12, 5, "legal", "summaries", "gpt-4o", 0.01, "Summarise meeting 13",
              model_group="gpt-4o", fallback_from="claude-3-5-sonnet-20241022"),
    spend_row(13, 8, "legal", "summaries", "claude-3-5-sonnet-20241022", 0.04, "Summarise meeting 14",
              model_group="claude-3-5-sonnet-20241022"),
    spend_row(14, 9, "legal", "summaries", "gpt-4o", 0.012, "Summarise meeting 15",
              model_group="gpt-4o", fallback_from="claude-3-5-sonnet-20241022"),
]  # fmt: skip


def frame() -> pd.DataFrame:
    """The rows as the test reads them: team, workflow, primary model, what served a fallback, spend, ..."""
    fell = [r["metadata"].get("original_model_group") for r in ROWS]
    return pd.DataFrame(
        {
            "id": [r["request_id"] for r in ROWS],
            "team": [r["metadata"]["user_api_key_team_alias"] for r in ROWS],
            "workflow": [r["metadata"]["spend_logs_metadata"]["workflow"] for r in ROWS],
            "model": [group or r["model"] for group, r in zip(fell, ROWS, strict=True)],
            "served": [r["model"] if group else None for group, r in zip(fell, ROWS, strict=True)],
            "spend": [r["spend"] for r in ROWS],
            "tokens": [r["prompt_tokens"] + r["completion_tokens"] for r in ROWS],
            "ts": pd.to_datetime([r["startTime"][:-1] for r in ROWS]),
            "failed": [r["status"] == "failure" for r in ROWS],
            "hit": [r["cache_hit"] == "True" for r in ROWS],
        }
    )


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("ops_litellm")
    log = folder / "spend.jsonl"
    log.write_text("\n".join(json.dumps(r) for r in ROWS) + "\n")
    labels = folder / "labels.csv"
    labels.write_text(f"request_id,cache\n{ROWS[2]['request_id']},bypass\n")
    path = str(folder / "store.duckdb")
    assert main(["import", str(log), "--format", "litellm-spend", "--db", path]) == 0
    assert main(["import", str(labels), "--format", "labels", "--db", path]) == 0
    return path


@pytest.fixture(scope="module")
def doc(db: str) -> dict[str, Any]:
    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        assert main(["ops", "--db", db, "--json"]) == 0
    return dict(json.loads(buffer.getvalue()))


def test_spend_log_totals_and_teams(doc: dict[str, Any]) -> None:
    f = frame()
    assert (doc["n"], doc["cost_usd"], doc["tokens"]) == (
        len(f),
        pytest.approx(f["spend"].sum()),
        f["tokens"].sum(),
    )
    teams = {r["value"]: r for r in doc["traffic"]["rows"] if r["field"] == "team"}
    assert teams["legal"]["cost_usd"] == pytest.approx(f.loc[f["team"] == "legal", "spend"].sum())
    # the logs end on the Wednesday of the second week: its Monday to Wednesday against the first week's
    assert (doc["comparison"]["last_week"], doc["comparison"]["days"]) == ("2025-W11", 3)
    last = f[f["ts"] >= T0 + timedelta(days=7)]
    prev = f[(f["ts"] >= T0) & (f["ts"] < T0 + timedelta(days=3))]
    for team in ("support", "legal"):
        n_last, n_prev = (last["team"] == team).sum(), (prev["team"] == team).sum()
        assert teams[team]["requests_change"] == pytest.approx(n_last / n_prev - 1)


def test_spend_log_prompt_groups_collapse_order_numbers(doc: dict[str, Any]) -> None:
    groups = {g["prompt_group"]: g for g in doc["prompts"]["by_total"]}
    where = groups["system: be brief. user: where is order #<n>?"]
    f = frame()
    triage = f[f["id"].isin([ROWS[i]["request_id"] for i in (0, 1, 2, 5)])]
    assert (where["requests"], where["cost_usd"]) == (4, pytest.approx(triage["spend"].sum()))
    review = groups["system: be brief. user: review clause <n> of <id>"]
    assert (review["requests"], review["team"], review["workflow"]) == (4, "legal", "contracts")
    top = doc["prompts"]["top_requests"][0]
    assert top["request_id"] == f.loc[f["spend"].idxmax(), "id"]


def test_spend_log_errors_timeouts_and_providers(doc: dict[str, Any]) -> None:
    rows = {(r["field"], r["value"]): r for r in doc["reliability"]["rows"]}
    contracts = rows[("workflow", "contracts")]
    assert (contracts["requests"], contracts["errors"], contracts["error_classes"]) == (
        4,
        1,
        {"rate_limited": 1},
    )
    triage = rows[("workflow", "triage")]
    assert (triage["timeouts"], triage["failed"]) == (1, 1)
    assert triage["error_rate"]["value"] == pytest.approx(1 / 6)
    # latency without the cache hit: 2 s × 3, 30 s and 600 s
    expected = np.quantile([2000.0] * 3 + [30_000.0, 600_000.0], [0.5, 0.95, 0.99])
    assert [triage[f"latency_p{q}_ms"] for q in (50, 95, 99)] == pytest.approx(expected)
    f = frame()
    anthropic = f["model"].str.startswith("claude")  # the primary's provider, also when a fallback answered
    assert rows[("provider", "anthropic")]["requests"] == anthropic.sum() == 8
    assert rows[("provider", "openai")]["requests"] == (~anthropic).sum() == 6


def test_spend_log_fallback_rate_per_primary_model(doc: dict[str, Any]) -> None:
    fb = doc["fallbacks"]
    assert fb["recorded"]
    assert not any("no fallback is recorded" in n for n in doc["notes"])
    f = frame()
    primaries = set(f.loc[f["served"].notna(), "model"])
    rows = {(r["model"], r["workflow"]): r for r in fb["rows"]}
    scope = f[f["model"].isin(primaries)]
    assert set(rows) == set(scope.groupby(["model", "workflow"]).groups)
    for (model, workflow), g in scope.groupby(["model", "workflow"]):
        row, fell = rows[(model, workflow)], g["served"].notna()
        assert (row["requests"], row["fallbacks"]) == (len(g), fell.sum())
        rate = row["fallback_rate"]
        assert rate["value"] == pytest.approx(fell.mean())
        assert rate["ci_low"] <= rate["value"] <= rate["ci_high"]
        assert row["served_by"] == g.loc[fell, "served"].value_counts().to_dict()
    summaries = rows[("claude-3-5-sonnet-20241022", "summaries")]
    assert (summaries["requests"], summaries["fallbacks"], summaries["served_by"]) == (4, 2, {"gpt-4o": 2})
    assert summaries["primary_cost_median"] == pytest.approx(0.035)  # claude's clean calls: 0.03 and 0.04
    assert summaries["fallback_cost_median"] == pytest.approx(0.011)
    assert rows[("claude-3-5-sonnet-20241022", "contracts")]["fallbacks"] == 0
    days = {(d["model"], d["day"]): d for d in fb["daily"]}
    assert days[("claude-3-5-sonnet-20241022", "2025-03-12")]["served_by"] == {"gpt-4o": 1}


def test_spend_log_cache_value_and_the_hit_judged_different(doc: dict[str, Any]) -> None:
    (triage,) = [r for r in doc["caching"]["rows"] if r["workflow"] == "triage"]
    assert (triage["hits"], triage["hit_rate"]["value"]) == (1, pytest.approx(1 / 6))
    # saved: the median cost of gpt-4o-mini's other triage calls (0.002, 0.003, 0.004)
    assert triage["saved_usd"] == pytest.approx(0.003)
    assert triage["judged_bypass"] == 1
    assert doc["caching"]["judged"][0]["request_id"] == ROWS[2]["request_id"]


def test_spend_log_budget_and_month_end_projection(db: str, tmp_path: Path, capsys: Any) -> None:
    budget = tmp_path / "budget.yaml"
    budget.write_text("legal: 3.0\nsupport: 0.05\nresearch: 10\n")
    code, out, _ = run(capsys, "ops", "--db", db, "--budget", str(budget), "--json")
    assert code == 0
    b = json.loads(out)["budget"]
    f = frame()
    assert (b["month"], b["as_of"], b["days_elapsed"], b["days_in_month"]) == (
        "2025-03",
        "2025-03-12",
        12,
        31,
    )
    rows = {r["team"]: r for r in b["rows"]}
    legal = f.loc[f["team"] == "legal", "spend"].sum()
    assert rows["legal"]["projected_usd"] == pytest.approx(legal / 12 * 31)
    assert rows["legal"]["status"] == "on track"
    assert rows["support"]["status"] == "projected over"  # 0.029 so far, 0.075 by the 31st
    assert rows["research"]["spent_usd"] == 0.0


def test_text_output_and_csv_tables(db: str, tmp_path: Path, capsys: Any) -> None:
    code, out, _ = run(capsys, "ops", "--db", db, "--csv", str(tmp_path / "tables"))
    assert code == 0
    for heading in (
        "1. Expensive prompts",
        "2. Errors",
        "3. Fallbacks",
        "4. Traffic",
        "5. Caching",
        "6. Budget",
    ):
        assert heading in out
    written = sorted(p.name for p in (tmp_path / "tables").iterdir())
    assert len(written) == 13
    assert "reliability_weekly.csv" in written
    rel = pd.read_csv(tmp_path / "tables" / "reliability.csv")
    assert {"error_rate", "error_rate_low", "error_rate_high", "examples"} <= set(rel.columns)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--since", "2025-13-01"), "--since '2025-13-01': not a date"),
        (("--since", "2025-03-05", "--until", "2025-03-04"), "is after --until"),
        (("--since", "2030-01-01"), "no logged calls between 2030-01-01 and the end"),
        (("--by", "colour"), "no field 'colour' to slice by"),
    ],
    ids=["bad-date", "since-after-until", "empty-window", "unknown-field"],
)
def test_bad_input_exits_2(db: str, capsys: Any, argv: tuple[str, ...], message: str) -> None:
    code, _, err = run(capsys, "ops", "--db", db, *argv)
    assert code == 2
    assert message in err


def test_bad_budget_file_exits_2(db: str, tmp_path: Path, capsys: Any) -> None:
    budget = tmp_path / "budget.yaml"
    budget.write_text("legal: lots\n")
    code, _, err = run(capsys, "ops", "--db", db, "--budget", str(budget))
    assert code == 2
    assert "team 'legal': budget 'lots' is not a non-negative number" in err


def test_a_budget_file_that_is_not_yaml_names_its_line(db: str, tmp_path: Path, capsys: Any) -> None:
    budget = tmp_path / "budget.yaml"
    budget.write_text("legal: 100\nsupport: [1\n")
    code, _, err = run(capsys, "ops", "--db", db, "--budget", str(budget))
    assert code == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1  # one line, not the YAML parser's multi-line dump
    assert f"{budget}:3:1: not valid YAML: expected ',' or ']'" in lines[0]


def test_window_and_slices(db: str, capsys: Any) -> None:
    code, out, _ = run(capsys, "ops", "--db", db, "--since", "2025-03-10", "--by", "team*model", "--json")
    assert code == 0
    d = json.loads(out)
    f = frame()
    assert d["n"] == int((f["ts"] >= datetime(2025, 3, 10)).sum())
    assert {r["field"] for r in d["reliability"]["rows"]} == {"team*model"}
    assert "legal × claude-3-5-sonnet-20241022" in {r["value"] for r in d["traffic"]["rows"]}


_TEXT = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=500)
_PROMPTISH = st.lists(
    st.sampled_from(
        ["Order", "#12", " ", "\t", "\n", "a1-b2", "x@y.io", "https://a.b/c", "3.5", "-", "Ü", "_9"]
    ),
    max_size=120,
).map("".join)


@given(st.one_of(_TEXT, _PROMPTISH))
def test_sql_prompt_groups_equal_the_python_definition(text: str) -> None:
    with duckdb.connect() as con:
        row = con.execute(f"SELECT {template_sql('t')} FROM (SELECT ?::VARCHAR AS t)", [text]).fetchone()
    assert row is not None
    assert row[0] == prompt_template(text)
