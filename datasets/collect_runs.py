"""Collection runs in the store: the run record, the batch writer, and the run's figures.

`collect.run` calls `flush` from the main thread only (one transaction per batch: finished outcomes, the
calls behind them, and the run's ledger totals), so the store always agrees with what was paid.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pandas as pd

from routelab.datasets import routers
from routelab.datasets.collect_litellm import CollectError
from routelab.datasets.collect_plan import CollectOptions, candidate_models, existing_elsewhere
from routelab.datasets.collect_worker import Emitted
from routelab.datasets.store import Store, now_utc
from routelab.datasets.tables import write

_CALL_COLUMNS = (
    "run_id",
    "request_id",
    "kind",
    "outcome_model",
    "role",
    "model",
    "cost_usd",
    "litellm_cost_usd",
    "input_tokens",
    "output_tokens",
    "latency_ms",
    "ttft_ms",
    "retries",
    "redacted",
    "error",
    "ts",
)


@dataclass(frozen=True)
class CollectReport:
    """A collection run so far (every figure covers the whole run, resumes included)."""

    run_id: str
    router: str
    price_table_id: str
    status: str
    """running, finished, budget (stopped by the cap), interrupted or failed."""
    stopped: str | None
    """Why the run stopped early, if it did."""
    sample: int
    """Requests in the sample."""
    skipped_existing: int
    """Outcomes of the sample already in the store from elsewhere, left as they were (no `replace`)."""
    outcomes_logged: int
    outcomes_full: int
    fallbacks_taken: int
    """Logged outcomes a fallback model answered."""
    calls: int
    """Calls sent (answers, fallbacks and judge calls; retries counted apart)."""
    failed_calls: int
    retries: int
    judged: int
    """Outcomes with a judge score."""
    unscored: int
    """Judge calls that returned no usable score."""
    spent_usd: float
    """Price-table cost of every call, judge calls included."""
    judge_usd: float
    litellm_usd: float | None
    """litellm's own cost figure summed over the calls that have one."""
    budget_usd: float

    @property
    def remaining_usd(self) -> float:
        """What is left of the budget."""
        return max(0.0, self.budget_usd - self.spent_usd)


@dataclass(frozen=True)
class RunRecord:
    """A stored collection run."""

    router: str
    price_table_id: str
    options: CollectOptions
    sample: list[dict[str, Any]]
    budget_usd: float
    spent_usd: float
    status: str


def load_run(store: Store, run_id: str) -> RunRecord:
    """A stored run by id.

    Raises:
        CollectError: no such run (naming the stored ones).
    """
    row = store.execute(
        "SELECT router, price_table_id, options, sample, budget_usd, spent_usd, status FROM collection_runs "
        "WHERE run_id = ?",
        [run_id],
    ).fetchone()
    if row is None:
        known = [
            r[0] for r in store.execute("SELECT run_id FROM collection_runs ORDER BY started_at").fetchall()
        ]
        raise CollectError(
            f"no collection run {run_id!r} in {store.path}; runs: {', '.join(known) or 'none'}"
        )
    opts = json.loads(row[2])
    options = CollectOptions(**{**opts, "models": tuple(opts["models"])})
    return RunRecord(row[0], row[1], options, json.loads(row[3]), float(row[4]), float(row[5]), row[6])


def flush(store: Store, run_id: str, batch: list[Emitted], replace: bool) -> None:
    """Write finished outcomes and their calls, and the run's ledger totals, in one transaction."""
    outcomes = [o for e in batch for o in e.outcomes]
    calls = [c for e in batch for c in e.calls]
    if not outcomes and not calls:
        return
    with store.transaction() as cur:
        if outcomes:
            write(
                cur, "outcomes", pd.DataFrame(outcomes), run_id, on_conflict="replace" if replace else "skip"
            )
        if calls:
            marks = ", ".join("?" for _ in _CALL_COLUMNS)
            cur.executemany(
                f"INSERT INTO collection_calls ({', '.join(_CALL_COLUMNS)}) VALUES ({marks})",
                [[c[k] for k in _CALL_COLUMNS] for c in calls],
            )
        cur.execute(
            "UPDATE collection_runs SET spent_usd = t.spent, n_calls = t.n, updated_at = ? FROM "
            "(SELECT coalesce(sum(cost_usd), 0) AS spent, count(*) AS n FROM collection_calls "
            "WHERE run_id = ?) t WHERE run_id = ?",
            [now_utc(), run_id, run_id],
        )


def report(store: Store, run_id: str, stopped: str | None = None) -> CollectReport:
    """The figures of a run, read from its outcomes and its call ledger."""
    rec = load_run(store, run_id)
    models = candidate_models(routers.get(store, rec.router), rec.options.models)
    calls = store.execute(
        "SELECT count(*), count(*) FILTER (WHERE error IS NOT NULL AND role <> 'judge'), "
        "coalesce(sum(retries), 0), coalesce(sum(cost_usd), 0), "
        "coalesce(sum(cost_usd) FILTER (WHERE role = 'judge'), 0), sum(litellm_cost_usd), "
        "count(*) FILTER (WHERE role = 'judge' AND error IS NOT NULL) "
        "FROM collection_calls WHERE run_id = ?",
        [run_id],
    ).fetchone()
    outs = store.execute(
        "SELECT count(*) FILTER (WHERE kind = 'logged'), count(*) FILTER (WHERE kind = 'full'), "
        "count(*) FILTER (WHERE kind = 'logged' AND fallback_model IS NOT NULL), count(quality) "
        "FROM outcomes WHERE import_id = ?",
        [run_id],
    ).fetchone()
    if calls is None or outs is None:  # aggregates always return one row
        raise CollectError(f"collection run {run_id}: the store returned no totals")
    return CollectReport(
        run_id=run_id,
        router=rec.router,
        price_table_id=rec.price_table_id,
        status=rec.status,
        stopped=stopped,
        sample=len(rec.sample),
        skipped_existing=existing_elsewhere(store, run_id, rec.sample, models),
        outcomes_logged=int(outs[0]),
        outcomes_full=int(outs[1]),
        fallbacks_taken=int(outs[2]),
        calls=int(calls[0]),
        failed_calls=int(calls[1]),
        retries=int(calls[2]),
        judged=int(outs[3]) if rec.options.judge else 0,
        unscored=int(calls[6]),
        spent_usd=float(calls[3]),
        judge_usd=float(calls[4]),
        litellm_usd=None if calls[5] is None else float(calls[5]),
        budget_usd=rec.budget_usd,
    )


def judged(store: Store, run_id: str) -> pd.DataFrame:
    """The judge's scores of a run's logged outcomes: request_id, model, quality (for agreement checks)."""
    return store.df(
        "SELECT request_id, model, quality FROM outcomes WHERE import_id = ? AND kind = 'logged' "
        "AND quality IS NOT NULL ORDER BY request_id",
        [run_id],
    )
