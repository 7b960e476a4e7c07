"""Replay a registered router version over stored requests, writing its decisions atomically.

One replay is one transaction: the version's previous decisions for the selected requests are deleted and the
new ones inserted, so re-running replaces and never duplicates, and a replay killed midway leaves the previous
state intact. Every run is stamped with the router hash and the price table it used.

The SQL engine first stores the text signals' values the selected requests lack (`signal_cache`: computed
once per request and signal definition, shared by every version with that signal, kept in columns of
`requests`), then decides every request with one ``INSERT ... SELECT`` that reads them instead of the prompts
and writes each decision's path as one integer key (`decisions`: the distinct paths are stored once).
The progress bar of a SQL replay moves once, at the end: a single statement streams all requests.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd

from routelab.datasets import decisions as decision_store
from routelab.datasets import prices as price_store
from routelab.datasets import routers, signal_cache
from routelab.datasets.errors import DatasetError, NotFoundError
from routelab.datasets.store import Store, memory_limit, now_utc
from routelab.router_core.engine import route_many
from routelab.router_core.errors import PriceError, RuleSyntaxError
from routelab.router_core.identity import config_hash
from routelab.router_core.pricing import PriceTable
from routelab.router_core.request import Request
from routelab.router_core.rules import parse_condition
from routelab.router_core.sql import DECISION_COLUMNS, REQUEST_COLUMNS, compile_packed_sql, compile_sql
from routelab.router_core.sql_expr import where_sql
from routelab.router_core.validate import Router, field_resolver

Engine = Literal["sql", "python"]
#: DuckDB's memory limit while the SQL engine replays: the cache fill and the write spill beyond it, which
#: keeps a replay of 10M requests under 2 GB of resident memory.
REPLAY_MEMORY_LIMIT = "1GB"
REQUEST_FIELDS = [name for name, _ in REQUEST_COLUMNS]
_STORED_COLUMNS = [
    "router",
    "request_id",
    "run_id",
    *[c for c in DECISION_COLUMNS if c not in ("router", "request_id")],
]


@dataclass(frozen=True)
class ReplayRun:
    """What one replay did."""

    run_id: str
    router: str
    router_hash: str
    price_table_id: str
    engine: str
    where: str | None
    n_decisions: int
    duration_s: float

    @property
    def decisions_per_s(self) -> float:
        """Throughput of the run."""
        return self.n_decisions / self.duration_s if self.duration_s > 0 else float("inf")


def request_filter(where: str | None) -> str:
    """SQL predicate for `--where` (a rule-language condition over request fields and attrs)."""
    if not where:
        return "TRUE"
    try:
        return where_sql(parse_condition(where, field_resolver()))
    except RuleSyntaxError as exc:
        raise DatasetError(f"--where: {exc}") from exc


def rows_to_requests(rows: list[tuple[Any, ...]]) -> list[Request]:
    """Stored request rows (columns in `REQUEST_COLUMNS` order) → Request models."""
    out = []
    for row in rows:
        data = dict(zip(REQUEST_FIELDS, row, strict=True))
        data["attrs"] = data["attrs"] or {}
        out.append(Request.model_validate(data))
    return out


def iter_requests(store: Store, where: str | None = None, batch: int = 10_000) -> Iterator[list[Request]]:
    """Stored requests (optionally filtered) in batches, ordered by request id."""
    cur = store.con.cursor()
    cur.execute(
        f"SELECT {', '.join(REQUEST_FIELDS)} FROM requests WHERE {request_filter(where)} ORDER BY request_id"
    )
    while rows := cur.fetchmany(batch):
        yield rows_to_requests(rows)
    cur.close()


def _progress(total: int, enabled: bool, desc: str) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, disable=not enabled, unit="req", desc=desc, leave=False)


def _sql_insert(
    cur: Any, router: Router, table: PriceTable, run_id: str, relation: signal_cache.CachedRelation
) -> int:
    """Decide every request of `relation` with one INSERT ... SELECT; the rows inserted.

    Each decision's path is written as the packed key of its state (`decisions.insert_packed`); a router
    whose state does not fit a key is decided with its paths as text, reading the requests twice."""
    packed = compile_packed_sql(router, table, relation.source, cache=relation.cache)
    if packed is not None:
        return decision_store.insert_packed(cur, router, packed, run_id)
    cols = ", ".join(c for c in DECISION_COLUMNS if c not in ("router", "request_id"))
    query = compile_sql(router, table, relation.source, cache=relation.cache)
    source = f"(SELECT router, request_id, $run_id AS run_id, {cols} FROM ({query}))"
    return decision_store.insert_text(cur, source, {"run_id": run_id})


def _sql_decide(cur: Any, router: Router, table: PriceTable, run_id: str, pred: str) -> int:
    """Decide with the SQL engine in the caller's transaction: fill the signal cache, then one INSERT that
    reads the cached values instead of the prompts (`signal_cache`). The rows inserted."""
    tokens_complete = signal_cache.tokens_complete(cur, pred)
    values = signal_cache.needed(router, tokens_complete)
    signal_cache.fill(cur, router, values, pred)
    relation = signal_cache.source(values, pred, tokens_complete=tokens_complete)
    return _sql_insert(cur, router, table, run_id, relation)


@contextmanager
def _streaming(cur: Any) -> Iterator[None]:
    """DuckDB settings under which a replay of millions of requests streams in bounded memory.

    Decisions need no order (`preserve_insertion_order`, this cursor only), and the memory limit makes the
    cache fill and the write spill to disk rather than grow: it is the process's DuckDB instance's setting,
    lowered for the replay and restored after it.
    """
    cur.execute("SET SESSION preserve_insertion_order = false")
    try:
        with memory_limit(cur, REPLAY_MEMORY_LIMIT):
            yield
    finally:
        cur.execute("RESET SESSION preserve_insertion_order")


def _python_batches(
    store: Store, cur: Any, router: Router, table: PriceTable, run_id: str, where: str | None, bar: Any
) -> None:
    for batch in iter_requests(store, where):
        decisions = route_many(router, batch, table)
        frame = pd.DataFrame([d.model_dump(mode="json", exclude={"trace"}) for d in decisions])
        frame["run_id"] = run_id
        frame = frame[_STORED_COLUMNS]
        cur.register("_py_decisions", frame)
        decision_store.insert_text(cur, "_py_decisions")
        cur.unregister("_py_decisions")
        bar.update(len(batch))


def replay(
    store: Store,
    ref: str,
    engine: Engine = "sql",
    where: str | None = None,
    price_table_id: str | None = None,
    progress: bool = False,
) -> ReplayRun:
    """Decide every (or every selected) stored request with a registered version and store the decisions.

    Args:
        store: the open store.
        ref: `name@version` of a registered router version.
        engine: `sql` (the whole version as one DuckDB query) or `python` (one request at a time).
        where: a rule-language condition selecting requests (default: all).
        price_table_id: a stored price table (default: the most recent).
        progress: show a progress bar on stderr.

    Raises:
        NotFoundError: unknown version or price table.
        DatasetError: a bad `where`, or a model without a price.
    """
    router = routers.get(store, ref)
    pid, table = price_store.load_stored(store, price_table_id)
    pred = request_filter(where)
    run_id = uuid.uuid4().hex[:16]
    started = now_utc()
    t0 = time.perf_counter()
    total = int(store.scalar(f"SELECT count(*) FROM requests WHERE {pred}") or 0)
    try:
        with store.transaction() as cur, _progress(total, progress, f"replay {ref} ({engine})") as bar:
            # every request (no --where): no need to join the requests to find the decisions
            decision_store.delete(cur, ref, None if pred == "TRUE" else f"requests WHERE {pred}")
            if engine == "sql":
                with _streaming(cur):
                    n = _sql_decide(cur, router, table, run_id, pred)
                bar.update(n)
            elif engine == "python":
                _python_batches(store, cur, router, table, run_id, where, bar)
                n = int(
                    cur.execute("SELECT count(*) FROM decision_rows WHERE run_id = ?", [run_id]).fetchone()[0]
                )  # type: ignore[index]
            else:
                raise DatasetError(f"unknown engine {engine!r}; use sql or python")
            duration = time.perf_counter() - t0
            run = ReplayRun(run_id, ref, config_hash(router), pid, engine, where, n, duration)
            record_run(cur, run, started)
    except PriceError as exc:
        raise DatasetError(f"{ref} with price table {pid}: {exc}") from exc
    return run


#: The columns of `replay_runs` a run writes, by name (migration 9 added the directories).
RUN_COLUMNS = (
    "run_id, router, router_hash, price_table_id, engine, where_clause, n_decisions, started_at, "
    "finished_at, duration_s, input_dir, output_dir"
)


def record_run(
    cur: Any, run: ReplayRun, started: Any, input_dir: str | None = None, output_dir: str | None = None
) -> None:
    """Record a finished replay in `replay_runs`, in the caller's transaction (finished now).

    `input_dir` and `output_dir` are the directories a replay read its requests from and wrote its
    decisions to when those were files (`--engine ray`); None when it read and wrote only the store.
    """
    cur.execute(
        f"INSERT INTO replay_runs ({RUN_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            run.run_id,
            run.router,
            run.router_hash,
            run.price_table_id,
            run.engine,
            run.where,
            run.n_decisions,
            started,
            now_utc(),
            run.duration_s,
            input_dir,
            output_dir,
        ],
    )


def explain(store: Store, request_id: str, ref: str, price_table_id: str | None = None) -> Any:
    """The Python engine's decision with its trace for one stored request.

    Uses the price table of the version's latest replay (else the most recent one), so the estimate matches
    the stored decision.
    """
    router = routers.get(store, ref)
    if price_table_id is None:
        price_table_id = store.scalar(
            "SELECT price_table_id FROM replay_runs WHERE router = ? ORDER BY finished_at DESC LIMIT 1", [ref]
        )
    _, table = price_store.load_stored(store, price_table_id)
    row = store.execute(
        f"SELECT {', '.join(REQUEST_FIELDS)} FROM requests WHERE request_id = ?", [request_id]
    ).fetchone()
    if row is None:
        raise NotFoundError(f"no request {request_id!r} in {store.path}")
    from routelab.router_core.engine import route

    return route(router, rows_to_requests([row])[0], table)
