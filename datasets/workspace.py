"""The demo workspace: the demo traffic, prices, the three example router versions and their replays.

`routelab demo` and the tests' demo fixture both call `build_demo`, so the demo is what the tests check.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

from routelab.datasets import prices as price_store
from routelab.datasets import replay, routers
from routelab.datasets.store import Store
from routelab.router_core.pricing import PriceTable

EXAMPLE_VERSIONS = ("acme_v1.yaml", "acme_v2.yaml", "acme_v3.yaml")


def example_config(name: str) -> str:
    """The text of a shipped example router config (`router_core/examples/NAME`)."""
    return resources.files("routelab.router_core").joinpath("examples", name).read_text(encoding="utf-8")


def example_prices() -> PriceTable:
    """The fixed price table shipped with the examples (external models, copied from litellm's map)."""
    import yaml

    text = (
        resources.files("routelab.router_core")
        .joinpath("examples", "prices.yaml")
        .read_text(encoding="utf-8")
    )
    return PriceTable.model_validate(yaml.safe_load(text))


def build_demo(
    store: Store, seed: int = 7, n_requests: int = 20_000, progress: bool = False
) -> dict[str, Any]:
    """Generate and store the demo traffic, snapshot prices, register and replay acme v1–v3.

    Returns:
        Counts, price table ids, replay runs, the planted story, and `lines` for a human summary.
    """
    from routelab.datasets import demo

    data = demo.generate(seed=seed, n_requests=n_requests)
    counts = demo.write_demo(store, data)
    before_id = price_store.snapshot(store)
    _, base = price_store.load_stored(store, before_id)
    after_id = before_id
    if data.price_change is not None and data.price_change.model in base.prices:
        after_id = price_store.save_price_table(store, data.price_change.apply(base))
    runs = []
    for name in EXAMPLE_VERSIONS:
        reg = routers.add(store, example_config(name), source=f"router_core/examples/{name}")
        runs.append(replay.replay(store, reg.ref, engine="sql", price_table_id=after_id, progress=progress))
    example = store.scalar(
        "SELECT d.request_id FROM decisions d JOIN requests r USING (request_id) "
        "WHERE d.router = 'acme-gateway@2' AND d.rule_id = 'support-billing-faq' "
        "AND r.task IN ('refund', 'billing_dispute') ORDER BY d.request_id LIMIT 1"
    )
    lines = [f"{counts.get(t, 0):,} {t}" for t in ("requests", "labels", "outcomes")]
    lines.append(
        f"price tables: {before_id} (litellm bundled map), {after_id} (after the provider price change)"
    )
    lines += [
        f"{r.router}: {r.n_decisions:,} decisions in {r.duration_s:.2f} s (run {r.run_id})" for r in runs
    ]
    lines += [f"story: {s}" for s in data.story]
    return {
        "counts": counts,
        "price_tables": [before_id, after_id],
        "runs": [r.__dict__ for r in runs],
        "story": list(data.story),
        "example_request": example,
        "lines": lines,
    }
