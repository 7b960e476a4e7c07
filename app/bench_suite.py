"""`routelab bench suite`: the speed figures of import, replay, compare and drift at one or more sizes.

For each size N the suite builds a store of demo traffic copied to N requests (`datasets.bench.replicate`),
then times each step in a child process of its own, so every step's peak memory (VmHWM) is its own:

| step | what is timed |
|---|---|
| `import` | `routelab import DIR --format requests` of a Parquet export of all N requests (the SQL path) |
| `scan` | DuckDB's bare evaluation of the router's compiled query, no write: cold and warm (see below) |
| `replay_sql` | `routelab replay` with the SQL engine over all N requests (decisions written): cold, warm |
| `replay_python` | the Python engine over a sample |
| `replay_ray` | `--engine ray`, local 2-CPU Ray, on a Parquet export of the sample (if Ray is installed) |
| `compare` | the PII cache filled (once per store, timed apart), then `compare` v1 → v2 by task, twice |
| `drift` | `drift` of acme v3, week by week |

Cold and warm: the text signals' values are kept per request in the store's signal cache
(`datasets.signal_cache`). `scan` times the query computing them from the prompts (cold) and reading them
from the cache the build's replays filled (warm), and the warm query once more with every decision column
computed, not only counted (`warm_all_columns_seconds`: a replay's time over it is the write's); `replay_sql`
empties the cache, replays v3 (cold: it fills the cache again), then v2, a version with the same signals
(warm). Each reports both, with its peak memory.
`scan` runs under the memory limit a replay runs under (`replay.REPLAY_MEMORY_LIMIT`), so the two compare
like with like.

Each size also gets `targets`: issue 11's targets (set for 10M requests on a 2-core machine) checked on its
figures, each with its value, limit and whether it is met, or unmeasured when a step it reads failed
(`TARGETS`, `targets`; `bench suite` prints them last).

`import` also times the Python import path (`python_*`) on the sample's export: it converts cell by cell.
Samples keep the slow steps (Python engine, Ray start-up, the Python import path) bounded; each result says
how many requests it covered, so rates are comparable. The JSON document lists every step per size.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

#: The steps, in the order they run (a later step may need an earlier one's replays).
STEPS = ("import", "scan", "replay_sql", "replay_python", "replay_ray", "compare", "drift")
#: The router versions every store gets (compare needs v1 and v2, drift v3).
VERSIONS = (1, 2, 3)
#: The targets the suite checks at every size (set for 10M requests on a 2-core machine): what, the figure,
#: its limit (the figure must be at most it), its unit, and the steps it is read from (None: every step).
TARGETS = (
    ("cold SQL replay within 2x of the cold bare scan", "replay_over_scan", 2.0, "x", ("scan", "replay_sql")),
    (
        "warm SQL replay within 2x of the warm bare scan",
        "warm_replay_over_scan",
        2.0,
        "x",
        ("scan", "replay_sql"),
    ),
    ("compare under 30 s", "compare_seconds", 30.0, "s", ("compare",)),
    ("peak RSS under 4 GB in every step", "max_peak_rss_mb", 4000.0, "MB", None),
)


def targets(entry: dict[str, Any]) -> list[dict[str, Any]]:
    """`TARGETS` checked on one size's figures.

    A target whose steps were not chosen is left out. One whose step failed is listed unmeasured (value and
    ``met`` None, ``failed`` naming the steps): a step killed for its memory must not read as a target met.
    ``compare_seconds`` is the first compare after the PII cache (the one a user waits for).
    """
    steps = entry.get("steps", {})
    figures = dict(entry)
    if "seconds" in steps.get("compare", {}):
        figures["compare_seconds"] = steps["compare"]["seconds"]
    peaks = [float(s["peak_rss_mb"]) for s in steps.values() if "peak_rss_mb" in s]  # a step's whole peak
    if peaks:
        figures["max_peak_rss_mb"] = max(peaks)
    out = []
    for name, key, limit, unit, read_from in TARGETS:
        failed = [s for s in (read_from or steps) if "error" in steps.get(s, {})]
        if key not in figures and not failed:
            continue
        value = None if failed else figures[key]
        met = None if value is None else value <= limit
        out.append({"target": name, "figure": key, "value": value, "limit": limit, "unit": unit, "met": met})
        if failed:
            out[-1]["failed"] = failed
    return out


# ---- the steps, each in a child process of its own: (db, sample, work dir) -> figures -------------------


def _step_import(db: Path, sample: int, work: Path) -> dict[str, Any]:
    """All N requests through the SQL path (`parquet_sql`), the sample through the Python path."""
    from routelab.datasets.importers import import_file, parquet_sql
    from routelab.datasets.parquet import export_requests
    from routelab.datasets.store import open_store

    with open_store(db, read_only=True) as store:
        export_requests(store, work / "traffic", where=None, partition_by="week")
    with open_store(_sample_db(db), read_only=True) as store:
        export_requests(store, work / "sample", where=None, partition_by="week")
    peak_from = "import" if _reset_peak_rss() else "export and import"  # the export sorts in memory
    with open_store(work / "import.duckdb") as target:
        # which path import_file takes (untimed: its own check runs again inside the timed import)
        staged = parquet_sql.stage(target.cursor(), work / "traffic", {}, {})
        t0 = time.perf_counter()
        report = import_file(target, work / "traffic", "requests", progress=False)
        seconds = time.perf_counter() - t0
    with open_store(work / "python.duckdb") as target:
        t0 = time.perf_counter()
        slow = import_file(target, work / "sample", "requests", progress=False, engine="python")
        py_seconds = time.perf_counter() - t0
    rate, py_rate = report.n_rows / seconds, slow.n_rows / py_seconds
    return {
        "rows": report.n_rows,
        "seconds": seconds,
        "rows_per_s": rate,
        "path": "sql" if isinstance(staged, parquet_sql.Staged) else f"python: {staged.reason}",
        "python_rows": slow.n_rows,
        "python_seconds": py_seconds,
        "python_rows_per_s": py_rate,
        "sql_over_python": rate / py_rate,
        "peak_rss_from": peak_from,
    }


def _reset_peak_rss() -> bool:
    """Restart this process's peak RSS (VmHWM) from its current RSS (Linux: `clear_refs` 5); False if not."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _step_scan(db: Path, sample: int, work: Path) -> dict[str, Any]:
    from routelab.datasets import prices as price_store
    from routelab.datasets import routers, signal_cache
    from routelab.datasets.replay import REPLAY_MEMORY_LIMIT, REQUEST_FIELDS
    from routelab.datasets.store import memory_limit, open_store
    from routelab.router_core.sql import DECISION_COLUMNS, compile_sql

    def timed(sql: str) -> tuple[int, float]:
        t0 = time.perf_counter()
        n = store.scalar(f"SELECT count(*) FROM ({sql}) WHERE rule_id IS NOT NULL AND model IS NOT NULL")
        return int(n or 0), time.perf_counter() - t0

    def every_column(sql: str) -> float:
        """The query with every decision column computed (hashed into one value), nothing written: what a
        replay computes, so that a replay's time over it is the write's."""
        t0 = time.perf_counter()
        store.scalar(f"SELECT max(hash({', '.join(DECISION_COLUMNS)})) FROM ({sql})")
        return time.perf_counter() - t0

    with open_store(db, read_only=True) as store, memory_limit(store.cursor(), REPLAY_MEMORY_LIMIT):
        # the memory a replay runs under (`replay.REPLAY_MEMORY_LIMIT`): the same budget on both sides
        router = routers.get(store, "acme-gateway@3")
        _pid, table = price_store.load_stored(store, None)
        # cold: every text signal computed from the prompts, as before the signal cache
        n_total, seconds = timed(
            compile_sql(router, table, f"(SELECT {', '.join(REQUEST_FIELDS)} FROM requests)")
        )
        # warm: the values the build's replays (v1, v2: the same signals) left in the cache
        cached = signal_cache.relation(store, router)
        warm_sql = compile_sql(router, table, cached.source, cache=cached.cache)
        _n, warm = timed(warm_sql)
        all_columns = every_column(warm_sql)
    return {
        "requests": n_total,
        "seconds": seconds,
        "decisions_per_s": n_total / seconds,
        "warm_seconds": warm,
        "warm_decisions_per_s": n_total / warm,
        "warm_values_computed": cached.computed,
        "warm_all_columns_seconds": all_columns,
        "note": "seconds: signals computed from the prompts; warm_seconds: read from the signal cache "
        "(count of the decided rows: DuckDB prunes the other output columns); warm_all_columns_seconds: "
        "the warm query with every decision column computed, nothing written",
    }


def _step_replay_sql(db: Path, sample: int, work: Path) -> dict[str, Any]:
    from routelab.app.benchmarks import vm_hwm_mb
    from routelab.datasets import replay, signal_cache
    from routelab.datasets.bench import reset_peak_rss
    from routelab.datasets.store import open_store

    with open_store(db) as store:
        with store.transaction() as cur:  # untimed: the cold replay starts from an empty cache
            signal_cache.clear(cur)
        t0 = time.perf_counter()
        run = replay.replay(store, "acme-gateway@3", engine="sql", progress=False)
        seconds = time.perf_counter() - t0
        cold_peak = vm_hwm_mb()
        reset = reset_peak_rss()
        # warm: v2 has v3's signals, read from the cache the cold replay filled (its decisions come out
        # the same as the build's, which `compare` reads later)
        t0 = time.perf_counter()
        warm = replay.replay(store, "acme-gateway@2", engine="sql", progress=False)
        warm_seconds = time.perf_counter() - t0
        warm_peak = vm_hwm_mb() if reset else None
    return {
        "requests": run.n_decisions,
        "seconds": seconds,
        "decisions_per_s": run.n_decisions / seconds,
        "cold_peak_rss_mb": cold_peak,
        "warm_requests": warm.n_decisions,
        "warm_seconds": warm_seconds,
        "warm_decisions_per_s": warm.n_decisions / warm_seconds,
        "warm_peak_rss_mb": warm_peak,
        "peak_rss_mb": max(cold_peak, warm_peak or 0.0),
        "note": "seconds: the cold replay of v3 (computes the text signals, fills the signal cache); "
        "warm_seconds: v2 (same signals) reading them from the cache; peak_rss_mb: the whole step",
    }


def _step_replay_python(db: Path, sample: int, work: Path) -> dict[str, Any]:
    from routelab.datasets import replay
    from routelab.datasets.store import open_store

    with open_store(_sample_db(db)) as store:
        t0 = time.perf_counter()
        run = replay.replay(store, "acme-gateway@3", engine="python", progress=False)
        seconds = time.perf_counter() - t0
    return {"requests": run.n_decisions, "seconds": seconds, "decisions_per_s": run.n_decisions / seconds}


def _step_replay_ray(db: Path, sample: int, work: Path) -> dict[str, Any]:
    from routelab.datasets.parquet import export_requests
    from routelab.datasets.replay_ray import RayMissingError, replay_ray
    from routelab.datasets.store import open_store

    with open_store(_sample_db(db)) as store:
        export_requests(store, work / "traffic", where=None, partition_by="week")
        t0 = time.perf_counter()
        try:
            done = replay_ray(store, "acme-gateway@3", work / "traffic", work / "decisions")
        except RayMissingError as exc:
            return {"skipped": str(exc)}
        seconds = time.perf_counter() - t0
    n = done.run.n_decisions
    running = max(seconds - done.start_seconds, 1e-9)
    return {
        "requests": n,
        "seconds": seconds,
        "start_seconds": done.start_seconds,
        "decisions_per_s": n / running,
        "note": "decisions/s leave out starting the local Ray (start_seconds)",
    }


def _step_compare(db: Path, sample: int, work: Path) -> dict[str, Any]:
    from routelab.app.workflows import compare_stored_versions
    from routelab.datasets import pii_cache
    from routelab.datasets.store import open_store
    from routelab.router_core.pii import PiiType

    with open_store(db) as store:  # read-write: the PII cache is filled once per store, then kept
        t0 = time.perf_counter()
        pii_cache.pii_types(store, tuple(PiiType))
        pii_seconds = time.perf_counter() - t0
        times = []
        for _ in range(2):
            t0 = time.perf_counter()
            doc = compare_stored_versions(
                store, "acme-gateway@1", "acme-gateway@2", by=["task"], seed=7, save=False
            )
            times.append(time.perf_counter() - t0)
    return {
        "requests": doc["n"],
        "labelled": doc["flips"]["labelled"],
        "pii_cache_seconds": pii_seconds,
        "seconds": times[0],
        "seconds_warm": times[1],
        "note": (
            "pii_cache_seconds: the store's PII cache filled (once per store); seconds: the first compare "
            "after it; seconds_warm: the second, in the same process"
        ),
    }


def _step_drift(db: Path, sample: int, work: Path) -> dict[str, Any]:
    from routelab.app.workflows import drift_stored_version
    from routelab.datasets.store import open_store

    with open_store(db, read_only=True) as store:
        t0 = time.perf_counter()
        doc = drift_stored_version(store, "acme-gateway@3", by="week", save=False)
        seconds = time.perf_counter() - t0
    alarms = doc.get("alarms", [])
    return {"seconds": seconds, "alarms": len(alarms) if isinstance(alarms, list) else None}


def _sample_db(db: Path) -> Path:
    """The sample store next to the bench store (`_build` writes both)."""
    return db.with_name("sample.duckdb")


STEP_FUNCTIONS: dict[str, Callable[[Path, int, Path], dict[str, Any]]] = {
    "import": _step_import,
    "scan": _step_scan,
    "replay_sql": _step_replay_sql,
    "replay_python": _step_replay_python,
    "replay_ray": _step_replay_ray,
    "compare": _step_compare,
    "drift": _step_drift,
}


def child(argv: Sequence[str]) -> None:
    """Entry point of a step's child process: `python -m routelab.app.bench_suite STEP DB SAMPLE WORK`."""
    from routelab.app.benchmarks import vm_hwm_mb

    step, db, sample, work = argv
    out = STEP_FUNCTIONS[step](Path(db), int(sample), Path(work))
    out.setdefault("peak_rss_mb", vm_hwm_mb())  # a step that reset its peak reports its own
    print(json.dumps(out))


def _build(path: Path, n_requests: int, seed: int, sample: int) -> dict[str, Any]:
    """A store of demo traffic copied to `n_requests`, with acme v1–v3 registered and v1, v2 replayed."""
    from routelab.datasets import demo, replay, routers
    from routelab.datasets.bench import replicate
    from routelab.datasets.prices import save_price_table
    from routelab.datasets.store import open_store
    from routelab.datasets.workspace import example_config, example_prices

    t0 = time.perf_counter()
    with open_store(path) as store:
        demo.write_demo(store, demo.generate(seed=seed, n_requests=min(n_requests, 20_000)))
        replicate(store, n_requests)
        pid = save_price_table(store, example_prices())
        for v in VERSIONS:
            routers.add(store, example_config(f"acme_v{v}.yaml"))
        for v in (1, 2):  # v3 is replayed by the timed replay_sql step
            replay.replay(store, f"acme-gateway@{v}", price_table_id=pid, progress=False)
        n = int(store.scalar("SELECT count(*) FROM requests"))
        chars = float(store.scalar("SELECT avg(length(prompt)) FROM requests") or 0.0)
    # the sampled steps (import, Python engine, Ray) read a store of `sample` demo requests of their own
    with open_store(_sample_db(path)) as store:
        demo.write_demo(store, demo.generate(seed=seed, n_requests=min(n_requests, sample)))
        save_price_table(store, example_prices())
        routers.add(store, example_config("acme_v3.yaml"))
    return {"requests": n, "mean_prompt_chars": chars, "setup_seconds": time.perf_counter() - t0}


def run_suite(
    sizes: Sequence[int],
    *,
    steps: Sequence[str] = STEPS,
    sample: int = 20_000,
    seed: int = 7,
    workdir: str | None = None,
    report: Callable[[str], None] = lambda _m: None,
) -> dict[str, Any]:
    """Run `steps` at every size in `sizes`; returns ``{"machine": ..., "sizes": [{...}, ...]}``.

    Args:
        sizes: Request counts, e.g. (1_000_000, 10_000_000).
        steps: A subset of `STEPS`, run in `STEPS` order (`compare` needs nothing else; `drift` reads v3's
            decisions, so it runs after `replay_sql` or replays v3 itself).
        sample: Requests for the sampled steps (import, Python engine, Ray).
        seed: Demo generator seed.
        workdir: Where the stores go (default: a temporary directory, removed afterwards).
        report: Called with a line of progress per step.
    """
    import os
    import platform

    unknown = [s for s in steps if s not in STEPS]
    if unknown:
        raise ValueError(f"unknown step(s) {', '.join(unknown)}; known: {', '.join(STEPS)}")
    chosen = [s for s in STEPS if s in steps]
    if "drift" in chosen and "replay_sql" not in chosen:
        chosen.insert(chosen.index("drift"), "replay_sql")  # drift reads v3's decisions
    machine = {
        "cpus": os.cpu_count(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_1m_at_start": os.getloadavg()[0],
    }
    out: dict[str, Any] = {"machine": machine, "sample": sample, "sizes": []}
    with tempfile.TemporaryDirectory(prefix="routelab-bench-", dir=workdir) as tmp:
        for n in sizes:
            base = Path(tmp) / f"n{n}"
            base.mkdir()
            report(f"{n:,} requests: building the store (demo traffic copied, v1 and v2 replayed)")
            entry: dict[str, Any] = {
                "n_requests": n,
                **_build(base / "bench.duckdb", n, seed, sample),
                "steps": {},
            }
            for step in chosen:
                report(f"{n:,} requests: {step}")
                work = base / step
                work.mkdir()
                done = subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "routelab.app.bench_suite",
                        step,
                        str(base / "bench.duckdb"),
                        str(sample),
                        str(work),
                    ],
                    capture_output=True,
                    text=True,
                    check=False,
                )
                if done.returncode != 0:
                    tail = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
                    entry["steps"][step] = {"error": tail}
                    continue
                entry["steps"][step] = json.loads(done.stdout.strip().splitlines()[-1])
            steps_out = entry["steps"]
            scan, sql = steps_out.get("scan", {}), steps_out.get("replay_sql", {})
            if "seconds" in scan and "seconds" in sql:
                entry["replay_over_scan"] = sql["seconds"] / scan["seconds"]
            if "warm_seconds" in scan and "warm_seconds" in sql:
                entry["warm_replay_over_scan"] = sql["warm_seconds"] / scan["warm_seconds"]
            if "warm_all_columns_seconds" in scan and "warm_seconds" in sql:  # the part that is the write
                entry["warm_replay_over_all_columns"] = sql["warm_seconds"] / scan["warm_all_columns_seconds"]
            py = steps_out.get("replay_python", {})
            if "decisions_per_s" in sql and "decisions_per_s" in py:
                entry["sql_over_python"] = sql["decisions_per_s"] / py["decisions_per_s"]
            if "warm_decisions_per_s" in sql and "decisions_per_s" in py:
                entry["sql_warm_over_python"] = sql["warm_decisions_per_s"] / py["decisions_per_s"]
            entry["targets"] = targets(entry)
            out["sizes"].append(entry)
    return out


if __name__ == "__main__":
    child(sys.argv[1:])
