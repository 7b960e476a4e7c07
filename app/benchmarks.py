"""Benchmarks that need both the store and the evaluators (the replay benchmark lives in `datasets.bench`)."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any


def vm_hwm_mb() -> float:
    """This process's peak resident memory (VmHWM), in MB."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def bench_compare(n_requests: int = 1_000_000, seed: int = 7, progress: bool = False) -> dict[str, Any]:
    """Time `compare` (by task, with attribution) of acme v1 and v2 over `n_requests` demo requests.

    The demo traffic (up to 20,000 distinct requests, ~60 % labelled) is copied under new ids up to
    `n_requests`; both versions are replayed with the SQL engine first (not timed). The store's PII cache
    (`datasets.pii_cache`: every prompt scanned once per store, kept) is filled next and timed on its own,
    `pii_cache_seconds`; without this step the first compare would fill it. `compare_seconds` is the first
    compare after it, `compare_seconds_warm` the second (imports done, versions parsed).
    """
    from routelab.app.workflows import compare_stored_versions
    from routelab.datasets import demo, pii_cache, replay, routers
    from routelab.datasets.bench import replicate
    from routelab.datasets.prices import save_price_table
    from routelab.datasets.store import open_store
    from routelab.datasets.workspace import example_config, example_prices

    with (
        tempfile.TemporaryDirectory(prefix="routelab-bench-") as tmp,
        open_store(Path(tmp) / "b.duckdb") as store,
    ):
        demo.write_demo(store, demo.generate(seed=seed, n_requests=min(n_requests, 20_000)))
        replicate(store, n_requests)
        pid = save_price_table(store, example_prices())
        refs = [routers.add(store, example_config(f"acme_v{v}.yaml")).ref for v in (1, 2)]
        for ref in refs:
            replay.replay(store, ref, price_table_id=pid, progress=progress)
        from routelab.router_core.pii import PiiType

        t0 = time.perf_counter()
        pii_cache.pii_types(store, tuple(PiiType))
        pii_seconds = time.perf_counter() - t0
        t0 = time.perf_counter()
        doc = compare_stored_versions(store, refs[0], refs[1], by=["task"], seed=seed, save=False)
        seconds = time.perf_counter() - t0
        t0 = time.perf_counter()
        compare_stored_versions(store, refs[0], refs[1], by=["task"], seed=seed, save=False)
        warm = time.perf_counter() - t0
    return {
        "n_requests": doc["n"],
        "labelled": doc["flips"]["labelled"],
        "pii_cache_seconds": pii_seconds,
        "compare_seconds": seconds,
        "compare_seconds_warm": warm,
        "flip_rate": doc["flips"]["rate"]["value"],
        "peak_rss_mb": vm_hwm_mb(),
    }
