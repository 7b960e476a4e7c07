"""`routelab bench replay`: decisions per second of both engines on the same data, and peak memory.

The SQL engine is timed cold (the first replay: it computes the text signals and fills the signal cache) and
warm (a second version with the same signals, read from the cache); see `bench_replay`.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from routelab.datasets import prices as price_store
from routelab.datasets import replay, routers, signal_cache
from routelab.datasets.store import open_store
from routelab.datasets.workspace import example_config, example_prices

BENCH_ROUTER = "acme_v3.yaml"
#: The warm replay's version: acme v2 has v3's signals (same phrases and patterns), so it reads them from the
#: cache the cold replay of v3 filled.
WARM_ROUTER = "acme_v2.yaml"


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def replicate(store: Any, n_requests: int) -> None:
    """Grow the store to `n_requests` requests by copying the traffic and its labels under new ids `id~k`."""
    base_n = int(store.scalar("SELECT count(*) FROM requests"))
    if base_n == 0 or n_requests <= base_n:
        return
    factor = -(-n_requests // base_n)
    with store.transaction() as cur:
        for table in ("requests", "labels"):
            cols = [
                r[0]
                for r in cur.execute(
                    "SELECT column_name FROM information_schema.columns "
                    "WHERE table_name = ? ORDER BY ordinal_position",
                    [table],
                ).fetchall()
            ]
            rest = ", ".join(c for c in cols if c != "request_id")
            cur.execute(f"CREATE TEMP TABLE base AS SELECT * FROM {table}")
            cur.execute(
                f"INSERT INTO {table} (request_id, {rest}) SELECT request_id || '~' || i, {rest} "
                f"FROM base, range(1, {factor}) t(i)"
            )
            cur.execute("DROP TABLE base")
        cur.execute(
            "DELETE FROM requests WHERE rowid IN "
            f"(SELECT rowid FROM requests ORDER BY rowid OFFSET {n_requests})"
        )
        cur.execute("DELETE FROM labels WHERE request_id NOT IN (SELECT request_id FROM requests)")


def bench_replay(
    n_requests: int = 1_000_000, python_sample: int = 20_000, seed: int = 7, progress: bool = False
) -> dict[str, Any]:
    """Replay the example router with the Python engine on a sample and the SQL engine on `n_requests`.

    The base traffic is the demo generator's (up to 20,000 distinct requests), copied under new ids up to
    `n_requests`; the store is a temporary DuckDB file. The SQL engine replays twice, each time in a fresh
    process (so each peak memory is its own): **cold**, acme v3 on a store whose signal cache is empty (the
    replay computes every text signal from the prompts and fills the cache), then **warm**, acme v2, a
    second version with the same signals, which reads them from the cache. The `sql_*` keys are the cold
    replay's, as before the cache existed; `sql_warm_*` the warm one's.
    """
    from routelab.datasets import demo

    with (
        tempfile.TemporaryDirectory(prefix="routelab-bench-") as tmp,
        open_store(Path(tmp) / "bench.duckdb") as store,
    ):
        base_n = min(n_requests, max(python_sample, 1), 20_000)
        demo.write_demo(store, demo.generate(seed=seed, n_requests=base_n))
        pid = price_store.save_price_table(store, example_prices())
        ref = routers.add(store, example_config(BENCH_ROUTER), source=BENCH_ROUTER).ref
        warm_ref = routers.add(store, example_config(WARM_ROUTER), source=WARM_ROUTER).ref
        py_run = replay.replay(store, ref, engine="python", price_table_id=pid, progress=progress)
        replicate(store, n_requests)
        with store.transaction() as cur:  # cold means cold, whatever the store held before
            signal_cache.clear(cur)
        prompt_chars = float(store.scalar("SELECT avg(length(prompt)) FROM requests") or 0.0)
        path = store.path
        store.close()
        cold = _sql_child(path, ref, pid)
        warm = _sql_child(path, warm_ref, pid)
        cold_rate = cold["n_decisions"] / cold["seconds"]
        warm_rate = warm["n_decisions"] / warm["seconds"]
        return {
            "n_requests": cold["n_decisions"],
            "router": ref,
            "mean_prompt_chars": prompt_chars,
            "sql_seconds": cold["seconds"],
            "sql_decisions_per_s": cold_rate,
            "sql_peak_rss_mb": cold["peak_rss_mb"],
            "sql_cold_seconds": cold["seconds"],
            "sql_cold_decisions_per_s": cold_rate,
            "sql_cold_peak_rss_mb": cold["peak_rss_mb"],
            "sql_warm_router": warm_ref,
            "sql_warm_seconds": warm["seconds"],
            "sql_warm_decisions_per_s": warm_rate,
            "sql_warm_peak_rss_mb": warm["peak_rss_mb"],
            "signal_cache_rows": cold["cache_rows"],
            "python_sample": py_run.n_decisions,
            "python_seconds": py_run.duration_s,
            "python_decisions_per_s": py_run.decisions_per_s,
            "ratio": cold_rate / py_run.decisions_per_s,
            "warm_ratio": warm_rate / py_run.decisions_per_s,
            "peak_rss_mb": _peak_rss_mb(),
            "note": "sql_*: the cold replay (fills the signal cache); sql_warm_*: a second version with the "
            "same signals, read from the cache; each replay in a fresh process",
        }


def _sql_child(path: Path, ref: str, pid: str) -> dict[str, Any]:
    """One SQL replay in a fresh process: its decisions, seconds, peak RSS and the cache's rows after it."""
    child = subprocess.run(
        [sys.executable, "-c", _SQL_CHILD, str(path), ref, pid],
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(child.stdout.strip().splitlines()[-1]))


_SQL_CHILD = """
import json, resource, sys, time
from routelab.datasets import replay, signal_cache
from routelab.datasets.store import open_store
path, ref, pid = sys.argv[1:4]
with open_store(path) as store:
    t0 = time.perf_counter()
    run = replay.replay(store, ref, engine="sql", price_table_id=pid)
    seconds = time.perf_counter() - t0
    cache_rows = signal_cache.stored_values(store.cursor())
# VmHWM is this process's own high-water mark (ru_maxrss would carry the parent's over fork and exec)
hwm = [int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:")]
peak = hwm[0] / 1024.0 if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
out = {"n_decisions": run.n_decisions, "seconds": seconds, "peak_rss_mb": peak, "cache_rows": cache_rows}
print(json.dumps(out))
"""


def reset_peak_rss() -> bool:
    """Reset this process's peak resident memory (VmHWM) to its current size, so a later reading is the peak
    of what ran in between. False where Linux's ``/proc/self/clear_refs`` is not writable."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        return False
    return True


def bench_queue(
    n_requests: int = 1_000_000, calls: int = 20, seed: int = 7, progress: bool = False
) -> dict[str, Any]:
    """Server time of the annotation queue with `n_requests` requests and two replayed versions in the store.

    Per strategy: the median and p95 over `calls` calls of `next_item` (each for a fresh annotator, so every
    call leases a new item rather than returning a held one), and of `queue_stats` (the progress bar). 1,000
    judgements are recorded first so the exclusions and second opinions have rows to read.
    """
    import statistics
    import time

    from routelab.datasets import demo
    from routelab.datasets.annotations import Judgement, record
    from routelab.datasets.queue import STRATEGIES, next_item, queue_stats

    def pct(values: list[float], q: float) -> float:
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]

    with (
        tempfile.TemporaryDirectory(prefix="routelab-bench-") as tmp,
        open_store(Path(tmp) / "q.duckdb") as store,
    ):
        demo.write_demo(store, demo.generate(seed=seed, n_requests=min(n_requests, 20_000)))
        replicate(store, n_requests)
        pid = price_store.save_price_table(store, example_prices())
        refs = [routers.add(store, example_config(f"acme_v{v}.yaml")).ref for v in (1, 2)]
        for ref in refs:
            replay.replay(store, ref, price_table_id=pid, progress=progress)
        ids = [
            r[0] for r in store.execute("SELECT request_id FROM requests USING SAMPLE 1000 ROWS").fetchall()
        ]
        for i, rid in enumerate(ids):
            record(
                store, Judgement(request_id=rid, router=refs[1], annotator=f"seed{i % 5}", verdict="correct")
            )
        out: dict[str, Any] = {
            "n_requests": int(store.scalar("SELECT count(*) FROM requests")),
            "strategies": {},
        }
        for strategy in STRATEGIES:
            times = []
            for k in range(calls):
                t0 = time.perf_counter()
                next_item(store, f"{strategy}-{k}", refs[1], strategy=strategy, other_router=refs[0])  # type: ignore[arg-type]
                times.append(1000 * (time.perf_counter() - t0))
            out["strategies"][strategy] = {"median_ms": statistics.median(times), "p95_ms": pct(times, 0.95)}
        stats = []
        for _ in range(calls):
            t0 = time.perf_counter()
            queue_stats(store, refs[1], "seed0")
            stats.append(1000 * (time.perf_counter() - t0))
        out["queue_stats"] = {"median_ms": statistics.median(stats), "p95_ms": pct(stats, 0.95)}
        out["peak_rss_mb"] = _peak_rss_mb()
    return out
