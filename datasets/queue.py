"""The annotation queue: which decision an annotator judges next, under a lease so two never collide.

Rules of `next_item`:

- Candidates are the decisions of one router version, less the requests this annotator already judged for
  it, the requests in `skip`, and the requests another annotator holds a live lease on (`expires_at > at`).
- The annotator's own live lease comes back first, renewed, so a page reload shows the same item. An
  annotator holds at most one lease per router version: taking a new item drops the previous lease.
- Fresh items (judged by nobody) come in the strategy's order, ties in a hash order of request id and `seed`
  (DuckDB's `hash`: stable within a DuckDB version). `disagree`: first the requests where `other_router`
  decided another model, retrieval, escalation or action (cached per pair of versions until either is
  replayed), then the rest. `confidence`: lowest first, unknown last. `stratified`: from the value of
  `slice_field` with the fewest judged requests (ties: hash of the value). `random`: hash order only.
- Double annotation: the requests with `double_key(request_id, seed) < double_share` may get a second,
  independent judge; never a third, never after an adjudication. When such an item waits, the annotator is
  served it if a draw seeded by (seed, annotator, items they judged so far) falls below `double_share`, so
  about that share of their items are second opinions; once no fresh item is left, waiting second opinions
  are served regardless. The queue does not say who judged first (the second opinion stays blind).
- Atomic: picking and writing the lease happen in one transaction, holding the database's lease lock.
  Snapshot isolation alone would let two transactions lease one item under different keys (each sees no
  lease, each inserts its own row), so leasing is serialised per database inside the process; DuckDB allows
  one writing process per file, so that covers every writer. Write conflicts with other threads'
  transactions (`duckdb.TransactionException`) are retried. Every pick is SQL ending in `ORDER BY ... LIMIT`.
"""

from __future__ import annotations

import hashlib
import random
import re
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, TypeVar, get_args

import duckdb
from pydantic import BaseModel, ConfigDict, Field

from routelab.datasets import queue_sql
from routelab.datasets.errors import DatasetError, NotFoundError, StoreError
from routelab.datasets.store import Store, now_utc

Strategy = Literal["disagree", "confidence", "stratified", "random"]
STRATEGIES: tuple[str, ...] = get_args(Strategy)
_RETRIES = 6
_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()
T = TypeVar("T")


class QueueItem(BaseModel):
    """One decision to judge next, and why the queue chose it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    request_id: str = Field(description="The request whose decision is to be judged.")
    router: str = Field(description="The router version whose decision it is, `name@version`.")
    other_router: str | None = Field(
        default=None, description="The version compared against (strategy `disagree`)."
    )
    reason: str = Field(description="Why it was picked, e.g. `acme@1 and acme@2 disagree (model)`.")
    second_opinion: bool = Field(
        default=False, description="Another annotator judged it already; this is the independent second look."
    )


class QueueStats(BaseModel):
    """How far the annotation of one router version has come."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    router: str = Field(description="The router version, `name@version`.")
    annotator: str | None = Field(description="The annotator `judged_by_annotator` counts for.")
    total: int = Field(description="Decisions of the version.")
    judged: int = Field(description="Decisions judged by at least one annotator.")
    double_judged: int = Field(description="Decisions judged by two or more annotators.")
    judged_by_annotator: int | None = Field(
        description="Decisions this annotator judged (None: no annotator)."
    )
    leased: int = Field(description="Live leases now (items someone has open).")
    remaining: int = Field(description="Decisions nobody has judged yet.")


def double_key(request_id: str, seed: int = 0) -> float:
    """The request's stable position in [0, 1): it may get a second judge when below `double_share`.

    The SQL twin is `queue_sql.double_key_sql`; both read the first 13 hex digits of sha256("ID:SEED").
    """
    digest = hashlib.sha256(f"{request_id}:{seed}".encode()).hexdigest()
    return int(digest[:13], 16) / 2**52


def next_item(
    store: Store,
    annotator: str,
    router: str,
    *,
    strategy: Strategy = "disagree",
    other_router: str | None = None,
    lease_minutes: float = 15,
    double_share: float = 0.1,
    seed: int = 0,
    slice_field: str = "workflow",
    at: datetime | None = None,
    skip: Sequence[str] = (),
) -> QueueItem | None:
    """Lease and return the next decision `annotator` should judge (None when nothing is left).

    Raises:
        NotFoundError: `router` or `other_router` has no decisions (naming the versions that have some).
        DatasetError: an unknown strategy or slice field, or `disagree` without `other_router`.
    """
    if not annotator:
        raise DatasetError("annotator: give the annotator's name")
    if strategy not in STRATEGIES:
        raise DatasetError(f"strategy {strategy!r} unknown; known: {', '.join(STRATEGIES)}")
    if not 0 <= double_share <= 1:
        raise DatasetError(f"double_share {double_share} must lie between 0 and 1")
    _check_versions(store, router, other_router if strategy == "disagree" else None, strategy)
    now = _naive_utc(at) if at else now_utc()
    other = other_router if strategy == "disagree" else None
    params: dict[str, Any] = {
        "router": router,
        "annotator": annotator,
        "at": now,
        "expires": now + timedelta(minutes=lease_minutes),
        "seed": seed,
        "skip": list(skip),
        "other": other,
        "share": double_share,
        "limit": 8,
    }
    slice_sql = queue_sql.slice_expr(slice_field) if strategy == "stratified" else ""

    def pick(cur: duckdb.DuckDBPyConnection) -> QueueItem | None:
        _run(cur, queue_sql.EXPIRE_SQL, params)
        own = _run(cur, queue_sql.OWN_LEASE_SQL, params).fetchone()
        if own is not None:
            _run(cur, queue_sql.RENEW_SQL, {**params, "request_id": own[0]})
            return QueueItem(
                request_id=own[0], router=router, other_router=own[1], reason=own[2], second_opinion=own[3]
            )
        _run(cur, queue_sql.DROP_OWN_SQL, params)
        judged = _run(cur, queue_sql.JUDGED_COUNT_SQL, params).fetchone()
        draw = random.Random(f"{seed}:{annotator}:{judged[0] if judged else 0}").random()
        rows = _second_opinions(cur, params) if draw < double_share else []
        rows = rows or _fresh(cur, strategy, params, slice_field, slice_sql)
        rows = rows or (_second_opinions(cur, params) if double_share > 0 else [])
        for request_id, reason, second in rows:
            lease = {**params, "request_id": request_id, "reason": reason, "second": second}
            inserted = _run(cur, queue_sql.LEASE_SQL, lease).fetchone()
            if inserted and inserted[0]:
                return QueueItem(
                    request_id=request_id,
                    router=router,
                    other_router=other,
                    reason=reason,
                    second_opinion=second,
                )
        return None

    return _atomically(store, pick)


Row = tuple[str, str, bool]  # request id, reason, second opinion
_SECOND = "second opinion on an item another annotator judged"


def _second_opinions(cur: duckdb.DuckDBPyConnection, params: dict[str, Any]) -> list[Row]:
    ids = [r[0] for r in _run(cur, queue_sql.SECOND_OPINION_SQL, params).fetchall()]
    decided = (
        {r[0] for r in _run(cur, queue_sql.DECIDED_SQL, {**params, "ids": ids}).fetchall()} if ids else set()
    )
    return [(i, _SECOND, True) for i in ids if i in decided]


def _fresh(
    cur: duckdb.DuckDBPyConnection, strategy: str, params: dict[str, Any], slice_field: str, slice_sql: str
) -> list[Row]:
    """Items nobody judged, best first for the strategy."""
    router, other = params["router"], params["other"]
    if strategy == "confidence":
        rows = _run(cur, queue_sql.CONFIDENCE_SQL, params).fetchall()
        return [
            (r[0], "confidence unknown" if r[1] is None else f"confidence {r[1]:.2f}", False) for r in rows
        ]
    if strategy == "stratified":
        for value, n in _run(cur, queue_sql.slice_order_sql(slice_sql), params).fetchall():
            sql = queue_sql.slice_candidates_sql(slice_sql)
            rows = _run(cur, sql, {**params, "value": value}).fetchall()
            reason = f"slice {slice_field}={'(none)' if value is None else value} has {n} judged"
            if rows:
                return [(r[0], reason, False) for r in rows]
        return []
    if strategy == "disagree":
        _refresh_pair(cur, params)
        rows = _run(cur, queue_sql.DISAGREE_SQL, params).fetchall()
        if rows:
            return [(r[0], f"{router} and {other} disagree ({', '.join(r[1])})", False) for r in rows]
        reason = f"no disagreement with {other} left"
    else:
        reason = "random"
    return [(r[0], reason, False) for r in _run(cur, queue_sql.RANDOM_SQL, params).fetchall()]


def _refresh_pair(cur: duckdb.DuckDBPyConnection, params: dict[str, Any]) -> None:
    """Recompute the cached disagreements of ($router, $other) if either version was replayed since."""
    state_row = _run(cur, queue_sql.PAIR_STATE_SQL, params).fetchone()
    state = state_row[0] if state_row else ""
    cached = _run(cur, queue_sql.PAIR_CACHED_SQL, params).fetchone()
    if cached is not None and cached[0] == state:
        return
    _run(cur, queue_sql.PAIR_CLEAR_SQL, params)
    _run(cur, queue_sql.PAIR_FILL_SQL, params)
    _run(cur, queue_sql.PAIR_MARK_SQL, {**params, "state": state})


def release(store: Store, request_id: str, router: str, annotator: str) -> None:
    """Drop `annotator`'s lease on the item (they submitted or skipped it); no lease is no error."""
    params = {"request_id": request_id, "router": router, "annotator": annotator}
    _atomically(store, lambda cur: _run(cur, queue_sql.RELEASE_SQL, params))


def queue_stats(
    store: Store, router: str, annotator: str | None = None, at: datetime | None = None
) -> QueueStats:
    """Counts for a progress bar: decisions, judged by anyone / twice / by `annotator`, leased, remaining."""
    params = {"router": router, "annotator": annotator or "", "at": _naive_utc(at) if at else now_utc()}
    row = _run(store.cursor(), queue_sql.STATS_SQL, params).fetchone()
    total, judged, double, mine, leased = row if row else (0, 0, 0, 0, 0)
    return QueueStats(
        router=router,
        annotator=annotator,
        total=total,
        judged=judged,
        double_judged=double,
        judged_by_annotator=mine if annotator else None,
        leased=leased,
        remaining=total - judged,
    )


def _check_versions(store: Store, router: str, other: str | None, strategy: str) -> None:
    def has(ref: str) -> bool:
        return store.scalar("SELECT 1 FROM decisions WHERE router = ? LIMIT 1", [ref]) is not None

    def known() -> str:
        rows = store.execute("SELECT DISTINCT router FROM decisions ORDER BY 1").fetchall()
        return ", ".join(r[0] for r in rows) or "none"

    if not has(router):
        raise NotFoundError(f"no decisions of {router} to annotate; replayed: {known()}")
    if strategy != "disagree":
        return
    if other is None or other == router:
        raise DatasetError(
            f"strategy `disagree` compares {router} with another version: pass other_router, one of {known()}"
        )
    if not has(other):
        raise NotFoundError(f"no decisions of {other} to compare {router} with; replayed: {known()}")


def _naive_utc(at: datetime) -> datetime:
    """Stored times are naive UTC: convert an aware time, keep a naive one."""
    return at.astimezone(UTC).replace(tzinfo=None) if at.tzinfo else at


def _lock(store: Store) -> threading.Lock:
    key = str(store.path.resolve())
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(key, threading.Lock())


def _atomically(store: Store, fn: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
    """Run `fn` in one transaction holding the database's lease lock; retry write conflicts."""
    last: duckdb.TransactionException | None = None
    for attempt in range(_RETRIES):
        try:
            with _lock(store), store.transaction() as cur:
                return fn(cur)
        except duckdb.TransactionException as exc:  # another thread's transaction touched the same rows
            last = exc
            time.sleep(0.005 * 2**attempt)
    raise StoreError(
        f"{store.path}: the annotation queue met {_RETRIES} write conflicts in a row ({last}); try again"
    ) from last


_PARAM = re.compile(r"\$([a-z_]+)")


def _run(cur: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any]) -> duckdb.DuckDBPyConnection:
    """Execute with the named parameters `sql` uses; errors carry the SQL, conflicts pass through."""
    used = {name: params[name] for name in _PARAM.findall(sql)}
    try:
        return cur.execute(sql, used)
    except duckdb.TransactionException:
        raise
    except duckdb.Error as exc:
        raise StoreError(f"{exc}\n  SQL: {sql.strip()[:2000]}\n  parameters: {used!r}") from exc
