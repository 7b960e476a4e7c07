"""`routelab bench replay`: decisions per second of both engines on the same data, and peak memory."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from routelab.datasets import prices as price_store
from routelab.datasets import replay, routers
from routelab.datasets.store import open_store
from routelab.datasets.workspace import example_config, example_prices

BENCH_ROUTER = "acme_v3.yaml"


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
    `n_requests`; the store is a temporary DuckDB file.
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
        py_run = replay.replay(store, ref, engine="python", price_table_id=pid, progress=progress)
        replicate(store, n_requests)
        prompt_chars = float(store.scalar("SELECT avg(length(prompt)) FROM requests") or 0.0)
        path = store.path
        store.close()
        # the SQL replay runs in a fresh process, so its peak memory is its own
        child = subprocess.run(
            [sys.executable, "-c", _SQL_CHILD, str(path), ref, pid],
            capture_output=True,
            text=True,
            check=True,
        )
        sql = json.loads(child.stdout.strip().splitlines()[-1])
        return {
            "n_requests": sql["n_decisions"],
            "router": ref,
            "mean_prompt_chars": prompt_chars,
            "sql_seconds": sql["seconds"],
            "sql_decisions_per_s": sql["n_decisions"] / sql["seconds"],
            "sql_peak_rss_mb": sql["peak_rss_mb"],
            "python_sample": py_run.n_decisions,
            "python_seconds": py_run.duration_s,
            "python_decisions_per_s": py_run.decisions_per_s,
            "ratio": (sql["n_decisions"] / sql["seconds"]) / py_run.decisions_per_s,
            "peak_rss_mb": _peak_rss_mb(),
        }


_SQL_CHILD = """
import json, resource, sys, time
from routelab.datasets import replay
from routelab.datasets.store import open_store
path, ref, pid = sys.argv[1:4]
with open_store(path) as store:
    t0 = time.perf_counter()
    run = replay.replay(store, ref, engine="sql", price_table_id=pid)
    seconds = time.perf_counter() - t0
# VmHWM is this process's own high-water mark (ru_maxrss would carry the parent's over fork and exec)
hwm = [int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:")]
peak = hwm[0] / 1024.0 if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
print(json.dumps({"n_decisions": run.n_decisions, "seconds": seconds, "peak_rss_mb": peak}))
"""
