"""Library flow of `routelab ops`, the workbench's Operations page and the report: store → `evaluators.ops`.

The store's logged outcomes (`kind = 'logged'`, one per production call) are joined with their requests in
DuckDB, filtered by day, and only narrow columns leave the database: the prompt is normalised to its prompt
group inside DuckDB by the same rules the evaluator documents (`ops_fields.TEMPLATE_RULES`, compiled to
`regexp_replace` calls by `template_sql`), so prompt text never reaches pandas. A call's time is its
request's `ts`, else the outcome's; with `since`/`until` a call without either is left out.
Labels and annotations are read only for the window's cache hits (the only calls they are needed for).
"""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

#: Fields the frame derives (or always carries); any other slice field must be a request field or attr.
FRAME_FIELDS = ("workflow", "team", "model", "provider", "error_class", "week", "day", "prompt_group")
SUMMARY_ROWS = 5


def template_sql(column: str) -> str:
    """The DuckDB expression of `ops_fields.prompt_template` over `column` (trusted, code-given)."""
    from routelab.evaluators.ops_fields import TEMPLATE_CHARS, TEMPLATE_RULES, TEMPLATE_SOURCE_CHARS

    upper, lower = string.ascii_uppercase, string.ascii_lowercase
    expr = f"translate(left({column}, {TEMPLATE_SOURCE_CHARS}), '{upper}', '{lower}')"
    for rule in TEMPLATE_RULES:
        pattern, replacement = rule.pattern.replace("'", "''"), rule.replacement.replace("'", "''")
        expr = f"regexp_replace({expr}, '{pattern}', '{replacement}', 'g')"
    return f"nullif(left(trim({expr}, ' '), {TEMPLATE_CHARS}), '')"


def _extra_fields(by: Sequence[str]) -> list[str]:
    """Request fields (and `attrs.KEY`) the slices name beyond the frame's own columns.

    Raises:
        DatasetError: a field that is neither (naming the known ones).
    """
    from routelab.datasets.errors import DatasetError
    from routelab.datasets.queries import REQUEST_FIELDS

    extra = []
    for part in (p for field in by for p in field.split("*")):
        if part in FRAME_FIELDS or part in extra:
            continue
        if part in REQUEST_FIELDS or (part.startswith("attrs.") and len(part) > len("attrs.")):
            extra.append(part)
        else:
            known = ", ".join([*FRAME_FIELDS, *(f for f in REQUEST_FIELDS if f not in FRAME_FIELDS)])
            raise DatasetError(f"ops: no field {part!r} to slice by; known: {known}, attrs.KEY")
    return extra


def window(since: date | None, until: date | None) -> tuple[list[str], list[Any]]:
    """SQL conditions and parameters of the day window on `coalesce(r.ts, o.ts)` (both ends inclusive)."""
    where, params = ["o.kind = 'logged'"], []
    if since is not None:
        where.append("coalesce(r.ts, o.ts) >= ?")
        params.append(datetime.combine(since, time.min))
    if until is not None:
        where.append("coalesce(r.ts, o.ts) < ?")
        params.append(datetime.combine(until + timedelta(days=1), time.min))
    return where, params


def logged_frame(
    store: Any, since: date | None = None, until: date | None = None, by: Sequence[str] = ()
) -> Any:
    """One row per logged call in the window: `ops_frame.OPS_COLUMNS`, `prompt_group` and the slice fields."""
    from routelab.datasets.queries import Query, run
    from routelab.evaluators.ops_frame import OPS_COLUMNS

    extra = _extra_fields(by)
    exprs, params = [], []
    for field in extra:
        if field.startswith("attrs."):
            exprs.append(f'map_extract(r.attrs, ?)[1] AS "{field}"')
            params.append(field[len("attrs.") :])
        else:
            exprs.append(f"r.{field}")
    where, window_params = window(since, until)
    outcome = ("model", "cost_usd", "latency_ms", "input_tokens", "output_tokens", "error", "fallback_model")
    sql = (
        "SELECT o.request_id, coalesce(r.ts, o.ts) AS ts, r.workflow, r.team, "
        + "".join(f"{e}, " for e in exprs)
        + ", ".join(f"o.{c}" for c in outcome)
        + f", o.cache_hit, {template_sql('r.prompt')} AS prompt_group "
        "FROM outcomes o LEFT JOIN requests r USING (request_id) WHERE "
        + " AND ".join(where)
        + " ORDER BY o.request_id, o.model"
    )
    return run(store, Query(sql, params + window_params), [*OPS_COLUMNS, "prompt_group"], "logged outcomes")


def _judgements(store: Any, since: date | None, until: date | None) -> tuple[Any, Any]:
    """Resolved gold and current annotations of the window's cache hits."""
    from routelab.datasets.queries import ANNOTATION_COLUMNS, LABEL_COLUMNS, Query, run
    from routelab.evaluators.gold import resolve_gold

    where, params = window(since, until)
    hits = (
        "SELECT o.request_id FROM outcomes o LEFT JOIN requests r USING (request_id) WHERE "
        + " AND ".join([*where, "o.cache_hit"])
    )
    labels = run(
        store,
        Query(f"SELECT {', '.join(LABEL_COLUMNS)} FROM labels WHERE request_id IN ({hits})", params),
        LABEL_COLUMNS,
        "labels of cache hits",
    )
    annotations = run(
        store,
        Query(
            f"SELECT {', '.join(ANNOTATION_COLUMNS)} FROM annotations_current WHERE request_id IN ({hits}) "
            "ORDER BY request_id, created_at",
            params,
        ),
        ANNOTATION_COLUMNS,
        "annotations of cache hits",
    )
    return resolve_gold(labels, annotations), annotations


def ops_stored(
    store: Any,
    since: date | None = None,
    until: date | None = None,
    *,
    by: Sequence[str] | None = None,
    budgets: Mapping[str, float] | None = None,
    top: int = 10,
    n_examples: int = 5,
) -> Any:
    """The `OpsResult` of the store's logged traffic between `since` and `until` (days, inclusive).

    `by` replaces the default slices of both the reliability and the traffic tables.
    """
    from routelab.evaluators.ops import RELIABILITY_BY, TRAFFIC_BY, operations

    fields = list(by or [])
    frame = logged_frame(store, since, until, fields)
    gold, annotations = _judgements(store, since, until)
    return operations(
        frame,
        since=since,
        until=until,
        reliability_by=fields or RELIABILITY_BY,
        traffic_by=fields or TRAFFIC_BY,
        budgets=budgets,
        gold=gold,
        annotations=annotations,
        top=top,
        n_examples=n_examples,
    )


class BudgetFileError(ValueError):
    """A budget file that is not a mapping of team → monthly USD; the message names the file and the team."""


def load_budgets(text: str, source: str) -> dict[str, float]:
    """Budgets from YAML text: a mapping of team → monthly budget in USD (e.g. ``support-eu: 1500``).

    Raises:
        BudgetFileError: not YAML, not a mapping, or a budget that is not a non-negative number.
    """
    import math

    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark is not None else source
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise BudgetFileError(f"{where}: not valid YAML: {problem}") from exc
    if not isinstance(data, dict) or not data:
        raise BudgetFileError(f"{source}: expected a mapping of team to monthly USD, e.g. `support-eu: 1500`")
    out = {}
    for team, value in data.items():
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if not ok or not math.isfinite(value) or value < 0:
            raise BudgetFileError(
                f"{source}: team {team!r}: budget {value!r} is not a non-negative number of USD"
            )
        out[str(team)] = float(value)
    return out


def logged_span(store: Any) -> tuple[int, Any, Any]:
    """Logged calls in the store: count, first and last timestamp."""
    row = store.execute(
        "SELECT count(*), min(coalesce(r.ts, o.ts)), max(coalesce(r.ts, o.ts)) "
        "FROM outcomes o LEFT JOIN requests r USING (request_id) WHERE o.kind = 'logged'"
    ).fetchone()
    return int(row[0]), row[1], row[2]


def _top(rows: list[dict[str, Any]], keys: Sequence[str], n: int = SUMMARY_ROWS) -> list[dict[str, Any]]:
    return [{k: r[k] for k in keys} for r in rows[:n]]


def ops_summary(
    store: Any,
    since: date | None = None,
    until: date | None = None,
    budgets: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """Headline numbers of the operations view, JSON-ready, for the leaders' report.

    Keys: window, n, cost_usd, tokens, comparison (weeks compared), expensive_prompts, failing_workflows,
    failing_models, fallbacks, fallback_spikes, teams, caching, cache_judged_different, budget (spend per team
    against `budgets`, from `load_budgets`), notes. Each list holds the top five rows of the matching
    `routelab ops` table (fewer columns, same definitions).
    """
    doc = ops_stored(store, since, until, budgets=budgets, n_examples=3).model_dump(mode="json")
    reliability = ("value", "requests", "error_rate", "timeout_rate", "failure_rate", "latency_p95_ms")
    rel = [r for r in doc["reliability"]["rows"] if r["field"] == "workflow"]
    rel_models = [r for r in doc["reliability"]["rows"] if r["field"] == "model"]
    budget = doc["budget"]
    return {
        "window": {"since": doc["params"]["since"], "until": doc["params"]["until"]},
        "first_ts": doc["first_ts"],
        "last_ts": doc["last_ts"],
        "n": doc["n"],
        "cost_usd": doc["cost_usd"],
        "tokens": doc["tokens"],
        "comparison": doc["comparison"],
        "expensive_prompts": _top(
            doc["prompts"]["by_total"],
            ("prompt_group", "requests", "cost_usd", "cost_share", "workflow", "team", "cost_change"),
        ),
        "failing_workflows": _top(rel, reliability),
        "failing_models": _top(rel_models, reliability),
        "fallbacks": _top(
            doc["fallbacks"]["rows"],
            ("model", "workflow", "fallbacks", "fallback_rate", "served_by", "cost_ratio", "extra_cost_usd"),
        ),
        "fallback_spikes": [
            {k: d[k] for k in ("model", "day", "requests", "fallbacks", "fallback_rate")}
            for d in doc["fallbacks"]["daily"]
            if d["spike"]
        ],
        "teams": _top(
            [r for r in doc["traffic"]["rows"] if r["field"] == "team"],
            ("value", "requests", "tokens", "cost_usd", "cost_share", "requests_change", "cost_change"),
        ),
        "caching": _top(
            doc["caching"]["rows"],
            ("workflow", "hits", "hit_rate", "tokens_saved", "saved_usd", "judged_bypass"),
        ),
        "cache_judged_different": len(doc["caching"]["judged"]),
        "budget": None
        if budget is None
        else {
            "month": budget["month"],
            "as_of": budget["as_of"],
            # every team the budget file lists (in the view's order), then the biggest spenders without one
            "teams": _top(
                [r for r in budget["rows"] if r["status"] != "no budget"]
                + [r for r in budget["rows"] if r["status"] == "no budget"],
                ("team", "spent_usd", "projected_usd", "budget_usd", "status"),
                max(10, sum(r["status"] != "no budget" for r in budget["rows"])),
            ),
        },
        "notes": doc["notes"],
    }
