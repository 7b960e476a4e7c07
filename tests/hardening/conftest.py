"""Fixtures of the hardening tests: a small store with something in every table that matters."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from routelab.datasets import annotations, prices, replay, routers
from routelab.datasets.annotations import Judgement
from routelab.datasets.store import open_store
from routelab.datasets.tables import write
from routelab.datasets.workspace import example_config, example_prices


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with the example requests, a price table, acme v1 replayed and one annotation."""
    from tests.datasets.conftest import example_requests  # the frame the datasets tests use

    path = tmp_path_factory.mktemp("hardening") / "template.duckdb"
    with open_store(path) as store:
        with store.transaction() as cur:
            write(cur, "requests", example_requests(), "examples")
        prices.save_price_table(store, example_prices())
        ref = routers.add(store, example_config("acme_v1.yaml"), source="acme_v1.yaml").ref
        replay.replay(store, ref)
        first = store.scalar("SELECT request_id FROM decisions ORDER BY request_id LIMIT 1")
        annotations.record(store, Judgement(request_id=first, router=ref, annotator="ana", verdict="correct"))
    return path


@pytest.fixture(scope="session")
def template_fingerprint(template_db: Path) -> dict[str, tuple[int, str]]:
    """The template store's fingerprint (every copy starts with it)."""
    from .helpers import fingerprint

    return fingerprint(template_db)


@pytest.fixture
def fresh_db(template_db: Path, tmp_path: Path) -> Callable[[], Path]:
    """Make a new copy of the template store (one per call, so hypothesis examples do not share one)."""
    counter = iter(range(1_000_000))

    def make() -> Path:
        path = tmp_path / f"store-{next(counter)}.duckdb"
        shutil.copy(template_db, path)
        return path

    return make
