"""Live outcome collection: send a seeded sample of stored requests down a router version's paths through
litellm and store what happened as outcomes.

A run (`start`) samples N requests the version decided to send to a model and keeps the sample and the
options; `run` makes the calls and can be called again with the run id to resume. For each request:

- the chosen path (kind `logged`, propensity 1.0: a router version is a deterministic logging policy):
  the chosen model, then its fallbacks in order until one answers; every failed attempt's error is kept in
  `error`, the model that answered in `fallback_model`;
- with `models`, every candidate model alone (kind `full`); the chosen model's first try doubles as its
  full outcome, so it is not paid twice;
- with `judge`, the judge model's 1–10 score of each answer as `quality` (scale `judge_1_10`).

Costs: `outcomes.cost_usd` is the stamped price table's cost (the version's latest replay, with the config's
`price:` overrides) of the usage tokens of every attempt on the path; litellm's own figure for each call is
kept next to it in `collection_calls.litellm_cost_usd`, with the judge's calls, retries and errors. Safe by
default: a hard budget (a call is sent only if its upper-bound estimate fits), a thread-pool concurrency
limit, retries with backoff on rate limits and timeouts, PII masked unless the model is `private`, keys read
by litellm from the environment and scrubbed from every recorded error. The worker threads never touch the
store: the main thread writes finished outcomes with their calls, one transaction per batch, so an
interrupted run keeps every finished call and a resume pays for none twice.

Retrieval, context, cache and escalation of the path are recorded as decided but not executed: the
request's prompt is sent as the only message, with `max_tokens` = its expected output tokens (else the
version's default). Answers are not stored.
"""

from __future__ import annotations

import json
import queue
import threading
import time
import uuid
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from routelab.datasets import prices as price_store
from routelab.datasets import routers
from routelab.datasets.collect_litellm import CollectError, Completion, Sleep, default_completion
from routelab.datasets.collect_plan import (
    CollectOptions,
    candidate_models,
    needed_prices,
    plan_work,
    sample_json,
    sample_paths,
)
from routelab.datasets.collect_runs import CollectReport, RunRecord, flush, judged, load_run, report
from routelab.datasets.collect_worker import Budget, Emitted, Worker
from routelab.datasets.store import Store, now_utc

__all__ = [
    "CollectError",
    "CollectOptions",
    "CollectReport",
    "RunRecord",
    "collect",
    "judged",
    "load_run",
    "report",
    "run",
    "start",
]

DEFAULT_BUDGET_USD = 1.0
DEFAULT_CONCURRENCY = 4
#: Longest time finished outcomes wait in memory before they are written.
FLUSH_EVERY_S = 5.0


def _price_table_of(store: Store, ref: str) -> str:
    pid = store.scalar(
        "SELECT price_table_id FROM replay_runs WHERE router = ? ORDER BY finished_at DESC LIMIT 1", [ref]
    )
    if pid is None:
        raise CollectError(f"{ref} has not been replayed in {store.path}; run `routelab replay {ref}` first")
    return str(pid)


def start(store: Store, ref: str, options: CollectOptions, budget_usd: float = DEFAULT_BUDGET_USD) -> str:
    """Check the options, draw the seeded sample and record a new run; no model is called. Returns its id.

    Raises:
        NotFoundError: the version is not registered.
        CollectError: no replay of the version, an unknown model, a model without a price, a bad budget.
    """
    if budget_usd <= 0:
        raise CollectError(f"--budget must be more than 0 USD (got {budget_usd})")
    router = routers.get(store, ref)
    pid = _price_table_of(store, ref)
    _, table = price_store.load_stored(store, pid)
    sample = sample_paths(store, ref, options.sample, options.seed)
    models = candidate_models(router, options.models)
    needed_prices(router, table, sample, models, options.judge)
    run_id = uuid.uuid4().hex[:16]
    stored = {**options.__dict__, "models": list(models)}
    at = now_utc()
    store.execute(
        "INSERT INTO collection_runs VALUES (?, ?, ?, ?, ?, ?, 0, 0, 'running', ?, ?)",
        [run_id, ref, pid, json.dumps(stored, sort_keys=True), sample_json(sample), budget_usd, at, at],
    )
    return run_id


def _status(budget: Budget, failure: BaseException | None) -> str:
    """How a run ended: interrupted (Ctrl-C), failed (any other exception), budget (capped) or finished."""
    if isinstance(failure, KeyboardInterrupt):
        return "interrupted"
    if failure is not None:
        return "failed"
    return "budget" if budget.refused else "finished"


def _drain(sink: queue.Queue[Emitted], into: list[Emitted]) -> None:
    while True:
        try:
            into.append(sink.get_nowait())
        except queue.Empty:
            return


def run(
    store: Store,
    run_id: str,
    budget_usd: float | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    completion: Completion | None = None,
    sleep: Sleep = time.sleep,
    progress: bool = False,
    batch_size: int = 20,
) -> CollectReport:
    """Make the calls a run still needs (a first run, or a resume) and store what happened.

    Args:
        store: the open store.
        run_id: the id `start` returned.
        budget_usd: a new cap for the run (default: the one it was started with).
        concurrency: calls in flight at once (worker threads).
        completion: the call site, `litellm.completion` by default (tests wrap it, e.g. with `mock_response`).
        sleep: how backoff waits between retries.
        progress: show a progress bar on stderr.
        batch_size: finished outcomes per write transaction.

    Raises:
        CollectError: an unknown run or bad option; CredentialsError (a subclass) when a provider refuses
            the credentials. Anything a call raises that is not a provider error (and KeyboardInterrupt)
            stops the run too: finished calls are stored first, then the exception propagates.
    """
    if concurrency < 1:
        raise CollectError(f"--concurrency must be at least 1 (got {concurrency})")
    rec = load_run(store, run_id)
    ref, options, sample, cap = rec.router, rec.options, rec.sample, rec.budget_usd
    if budget_usd is not None:
        if budget_usd <= 0:
            raise CollectError(f"--budget must be more than 0 USD (got {budget_usd})")
        cap = budget_usd
        store.execute("UPDATE collection_runs SET budget_usd = ? WHERE run_id = ?", [cap, run_id])
    router = routers.get(store, ref)
    _, table = price_store.load_stored(store, rec.price_table_id)
    models = candidate_models(router, options.models)
    prices = needed_prices(router, table, sample, models, options.judge)
    remaining = plan_work(store, run_id, router, sample, options)
    budget = Budget(cap, rec.spent_usd)
    sink: queue.Queue[Emitted] = queue.Queue()
    stop = threading.Event()
    boundaries = {m: spec.boundary for m, spec in router.models.items()}
    call = completion or default_completion
    worker = Worker(run_id, prices, boundaries, options.judge, call, sleep, budget, stop, sink)
    store.execute(
        "UPDATE collection_runs SET status = 'running', updated_at = ? WHERE run_id = ?", [now_utc(), run_id]
    )
    failure: BaseException | None = None
    pending: list[Emitted] = []
    flushed_at = time.monotonic()
    from tqdm import tqdm

    pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="routelab-collect")
    bar = tqdm(
        total=len(remaining.works), disable=not progress, unit="req", desc=f"collect {ref}", leave=False
    )
    try:
        futures: set[Future[None]] = {pool.submit(worker.process, w) for w in remaining.works}
        while futures:
            done, futures = wait(futures, timeout=0.5, return_when=FIRST_COMPLETED)
            for fut in done:
                bar.update(1)
                if fut.exception() is not None and failure is None:
                    failure = fut.exception()
                    stop.set()
            _drain(sink, pending)
            # a batch is written when full, when the run ends, and at least every few seconds: a process
            # killed outright (not Ctrl-C) loses no more than that
            if len(pending) >= batch_size or not futures or time.monotonic() - flushed_at >= FLUSH_EVERY_S:
                flush(store, run_id, pending, options.replace)
                pending, flushed_at = [], time.monotonic()
    except BaseException as exc:  # noqa: BLE001 -- Ctrl-C: let the calls in flight finish, keep them, re-raise
        stop.set()
        failure = failure or exc
        pool.shutdown(wait=True, cancel_futures=True)
    finally:
        pool.shutdown(wait=True)
        bar.close()
        _drain(sink, pending)
        flush(store, run_id, pending, options.replace)
        store.execute(
            "UPDATE collection_runs SET status = ?, updated_at = ? WHERE run_id = ?",
            [_status(budget, failure), now_utc(), run_id],
        )
    if failure is not None:
        raise failure
    stopped = f"budget cap reached: the next {budget.refused}" if budget.refused else None
    return report(store, run_id, stopped=stopped)


def collect(
    store: Store, ref: str, options: CollectOptions, budget_usd: float = DEFAULT_BUDGET_USD, **kwargs: Any
) -> CollectReport:
    """`start` a run and `run` it (keyword arguments go to `run`)."""
    return run(store, start(store, ref, options, budget_usd), **kwargs)
