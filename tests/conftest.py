"""Session-wide test setup: offline litellm, the hypothesis profiles, and shared demo stores."""

import copy
import importlib.util
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

# Before anything can import litellm: use its bundled price map instead of fetching one over the network.
# Subprocesses started by tests inherit it.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from hypothesis import settings  # after the environment set-up above, on purpose

# No deadlines anywhere: speed is measured by `routelab bench`, never asserted in tests, and a loaded
# CI machine must not turn a slow example into a failure. CI prints the blob to reproduce a failure.
settings.register_profile("ci", derandomize=False, deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI", "").lower() in {"1", "true", "yes"} else "dev")


class DemoStores:
    """Demo stores (`build_demo`) built once per session for each (seed, n_requests), handed out as copies.

    Building a demo generates the traffic and replays acme v1-v3; copying the closed DuckDB file takes a
    fraction of that. Every caller gets a private copy, so a test module can write to its store as before.
    """

    def __init__(self, root: Path) -> None:
        self._root = root
        self._built: dict[tuple[int, int], tuple[Path, dict[str, Any]]] = {}

    def _template(self, seed: int, n_requests: int) -> tuple[Path, dict[str, Any]]:
        key = (seed, n_requests)
        if key not in self._built:
            from routelab.datasets.store import open_store
            from routelab.datasets.workspace import build_demo

            path = self._root / f"demo-{seed}-{n_requests}.duckdb"
            with open_store(path) as store:
                summary = build_demo(store, seed=seed, n_requests=n_requests)
            assert not path.with_name(path.name + ".wal").exists()  # closed and checkpointed: one file
            self._built[key] = (path, summary)
        return self._built[key]

    def copy(self, dest: Path, *, seed: int, n_requests: int) -> Path:
        """A copy at `dest` of the demo store of `seed` and `n_requests`."""
        template, _ = self._template(seed, n_requests)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(template, dest)
        return dest

    def summary(self, *, seed: int, n_requests: int) -> dict[str, Any]:
        """What `build_demo` returned for the template (its runs are the copies' runs)."""
        return copy.deepcopy(self._template(seed, n_requests)[1])


@pytest.fixture(scope="session")
def demo_stores(tmp_path_factory: pytest.TempPathFactory) -> DemoStores:
    """Copies of demo stores, each (seed, n_requests) built once per session."""
    return DemoStores(tmp_path_factory.mktemp("demo-stores"))


# --- the report tests' demo store and bundle, shared by tests/reports and tests/browser ------------------


def report_builders() -> Any:
    """tests/reports/builders.py as the module `report_builders` (tests/browser is a package of its own and
    cannot import it relatively)."""
    name = "report_builders"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).parent / "reports" / "builders.py")
        assert spec
        assert spec.loader
        sys.modules[name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules[name])
    return sys.modules[name]


@pytest.fixture(scope="session")
def report_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo store: 2,000 requests, acme-gateway@1..3 replayed, 24 requests judged by alice and bob."""
    path: Path = report_builders().build_store(tmp_path_factory.mktemp("reports") / "demo.duckdb")
    return path


@pytest.fixture(scope="session")
def bundle(report_db: Path) -> dict[str, Any]:
    """The bundle of acme-gateway@1 → @2 with the gate `accuracy.delta.ci_high < 0` (it fails)."""
    return dict(report_builders().build_bundle(report_db))
