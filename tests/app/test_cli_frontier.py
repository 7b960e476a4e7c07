"""`routelab frontier` and `routelab ope` from the CLI: the demo's frontier with its baselines and the
off-policy estimates, and a knob sweep that reproduces RouteLLM's published APGR through the router engine."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from routelab.app.cli import main
from routelab.datasets import routers
from routelab.datasets.prices import save_price_table
from routelab.datasets.store import open_store
from routelab.datasets.workspace import build_demo
from routelab.evaluators.threshold import threshold_curve
from routelab.router_core.pricing import ModelPrice, PriceTable

from ..evaluators.test_routellm_published import REFERENCE, STRONG, WEAK, contaminated
from ..public_data import shared


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    assert main([*argv, "--json"]) == 0
    document: dict[str, Any] = json.loads(capsys.readouterr().out)
    return document


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("frontier") / "demo.duckdb"
    with open_store(path) as store:
        build_demo(store, seed=3, n_requests=1500)
    return str(path)


def test_the_demo_frontier_has_every_baseline(demo: str, capsys: pytest.CaptureFixture[str]) -> None:
    doc = run_json(capsys, "frontier", "--db", demo)
    assert set(doc["groups"]) == {"support", "coding", "research", "sales"}  # the demo's eval groups
    for group in doc["groups"].values():
        models = group["models"]
        assert len(models) == 11
        assert group["best_single"] == max(
            models, key=lambda m: (models[m]["quality"], -models[m]["cost_usd"])
        )
        assert group["oracle"]["quality"] >= max(p["quality"] for p in models.values())
        assert group["zero_router_aiq"] is not None
        assert set(group["versions"]) == {"acme-gateway@1", "acme-gateway@2", "acme-gateway@3"}
        for version in group["versions"].values():
            assert version["oracle_gap"] >= 0
            assert (
                version["quality"]["ci_low"] <= version["quality"]["value"] <= version["quality"]["ci_high"]
            )
    assert main(["frontier", "--db", demo]) == 0
    assert "Pareto frontier" in capsys.readouterr().out


def test_ope_reports_every_estimator_next_to_the_truth(demo: str, capsys: pytest.CaptureFixture[str]) -> None:
    doc = run_json(capsys, "ope", "acme-gateway@1", "--db", demo, "--resamples", "200")
    assert set(doc["estimates"]["quality"]) == {"ips", "snips", "dr"}
    assert doc["truth"]["n"] > 0
    assert 0 < doc["ess"] <= doc["n"]
    assert main(["ope", "acme-gateway@1", "--db", demo, "--resamples", "200"]) == 0
    assert "effective sample size" in capsys.readouterr().out


def test_a_sweep_of_a_version_without_the_knob_is_refused(
    demo: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["frontier", "--db", demo, "--sweep", "threshold"]) == 2
    assert "has a knob 'threshold'" in capsys.readouterr().err


def length_router(thresholds: list[float]) -> str:
    """A two-model router that sends prompts of at least `knobs.t` characters to the strong model."""

    def model(ident: str, tier: str, input_price: float, output_price: float) -> dict[str, Any]:
        return {
            "id": ident,
            "tier": tier,
            "boundary": "external",
            "context_window": 128000,
            "latency": {"p50_ms": 500, "p95_ms": 1500, "output_tokens_per_s": 80},
            "price": {"input_per_token": input_price, "output_per_token": output_price},
        }

    config = {
        "name": "length-router",
        "version": "1",
        "tiers": ["small", "frontier"],
        "knobs": {"t": {"value": thresholds[len(thresholds) // 2], "sweep": thresholds}},
        "models": [model(WEAK, "small", 6e-7, 6e-7), model(STRONG, "frontier", 1e-5, 3e-5)],
        "rules": [{"id": "long", "when": "len(prompt) >= knobs.t", "route": {"model": STRONG}}],
        "default": {"route": {"model": WEAK}},
    }
    return yaml.safe_dump(config, sort_keys=False)


def test_a_knob_sweep_reproduces_routellms_apgr_on_gsm8k(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The prompt-length router of the data README, as a routelab config with a knob, swept over the decile
    edges of the prompt lengths (the top edge + 1 stands for "strictly above the top edge")."""
    rows = pd.read_csv(shared("routellm", "gsm8k_responses.csv.gz"))
    rows = rows[~rows["prompt"].isin(contaminated("gsm8k_contaminated_prompts.jsonl"))].reset_index(drop=True)
    rows["request_id"] = [f"gsm8k-{i:05d}" for i in range(len(rows))]
    rows[["request_id", "prompt"]].assign(prompt_tokens=rows["prompt"].str.len() // 4).to_csv(
        tmp_path / "requests.csv", index=False
    )
    outcomes = pd.concat(
        [
            pd.DataFrame(
                {
                    "request_id": rows["request_id"],
                    "model": model,
                    "kind": "full",
                    "quality": rows[model].astype(str).map({"True": 1.0, "False": 0.0}),
                    "cost_usd": cost,
                }
            )
            for model, cost in ((STRONG, 0.01), (WEAK, 0.0006))
        ]
    )
    outcomes.to_csv(tmp_path / "outcomes.csv", index=False)
    db = str(tmp_path / "gsm8k.duckdb")
    assert main(["import", str(tmp_path / "requests.csv"), "--format", "requests", "--db", db]) == 0
    assert main(["import", str(tmp_path / "outcomes.csv"), "--format", "outcomes", "--db", db]) == 0
    scores = rows["prompt"].str.len().to_numpy()
    edges = [float(e) for e in threshold_curve(scores, scores * 0.0, scores * 0.0).thresholds]
    top = max(edges)
    sweep = sorted({e for e in edges if e != top} | {top + 1})
    with open_store(db) as store:
        routers.add(store, length_router(sweep))
        prices = {m: ModelPrice(input_per_token=1e-6, output_per_token=1e-6) for m in (STRONG, WEAK)}
        save_price_table(store, PriceTable(prices=prices, source="test", as_of="2026-11-29"))
    capsys.readouterr()
    doc = run_json(capsys, "frontier", "--db", db, "--sweep", "t")
    (group,) = doc["groups"].values()
    threshold = group["versions"]["length-router@1"]["threshold"]
    reference = REFERENCE["gsm8k"]
    assert threshold["strong"] == STRONG
    assert threshold["apgr"] == pytest.approx(reference.apgr, abs=1e-6)
    assert [f"{threshold['cpt'][k]:.2f}%" for k in ("20%", "50%", "80%")] == list(reference.cpt)
    assert group["versions"]["length-router@1"]["knob"]["values"] == sweep
