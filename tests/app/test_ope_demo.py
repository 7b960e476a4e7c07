"""Off-policy estimates on the demo: each version's quality from the production logs against full information.

The demo (`routelab demo`: seed 7, 20,000 requests) logs one outcome per request from the production policy
(v1's lanes, 10 % uniform exploration over the allowed models) with its propensity, and also scores every
request on every model (`kind='full'`). The truth of a version is the mean full-information quality of the
models it picks. The issue's claim, read as "the truth lies within the doubly robust estimate's 95 %
interval", is checked for acme-gateway@1, @2 and @3. The other reading, the DR estimate within a Wilson
interval of the truth, does not hold for @1 and @3, nor should it: the truth's interval reflects 20,000
fully observed requests, the estimate's error the few hundred requests its weights rest on (the ESS).

Why the full demo and not a smaller one: the claim is about the shipped demo. On other demo seeds this is a
95 % interval's check (v2 and v3 pick the same models, so they pass or miss together), and the logged
outcomes carry server errors and fallbacks the full-information rows do not (about −0.005 quality).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, NamedTuple

import pandas as pd
import pytest

from routelab.datasets import queries
from routelab.datasets.store import open_store
from routelab.evaluators.offpolicy import OffPolicyResult, off_policy

if TYPE_CHECKING:
    from ..conftest import DemoStores

VERSIONS = ("acme-gateway@1", "acme-gateway@2", "acme-gateway@3")
FEATURES = ("workflow", "task")


class Checked(NamedTuple):
    """One version's full-information truth and its off-policy estimate."""

    truth: float
    result: OffPolicyResult


@pytest.fixture(scope="module")
def checked(
    tmp_path_factory: pytest.TempPathFactory, demo_stores: DemoStores
) -> Iterator[dict[str, Checked]]:
    path = demo_stores.copy(tmp_path_factory.mktemp("ope") / "demo.duckdb", seed=7, n_requests=20_000)
    with open_store(path) as store:
        logged = queries.outcomes(store, "logged").merge(
            queries.requests(store, FEATURES), on="request_id", validate="one_to_one"
        )
        full = queries.outcomes(store, "full")
        decisions = {ref: queries.decisions(store, ref) for ref in VERSIONS}
    out = {}
    for ref, chosen in decisions.items():
        picked = chosen[["request_id", "model"]].merge(
            full, on=["request_id", "model"], validate="one_to_one"
        )
        assert len(picked) == len(chosen)  # every version picks a model the full outcomes score
        result = off_policy(logged, chosen, metrics=("quality",), features=FEATURES, seed=0)
        out[ref] = Checked(truth=float(picked["quality"].mean()), result=result)
    yield out
    print(report(out))


def report(checked: dict[str, Checked]) -> str:
    """A table of truth, IPS, SNIPS and DR with intervals, ESS and support, for `pytest -s`."""
    rows = []
    for ref, (truth, result) in checked.items():
        row = {"version": ref, "truth": f"{truth:.4f}"}
        for name, est in result.estimates["quality"].items():
            row[name] = f"{est.value:.4f} [{est.ci_low:.4f}, {est.ci_high:.4f}]"
        row |= {"ess": f"{result.ess:,.0f}", "matched": result.n_matched, "support": result.support_share}
        rows.append(row)
    return pd.DataFrame(rows).to_string(index=False)


@pytest.mark.parametrize("ref", VERSIONS)
def test_the_truth_lies_within_the_doubly_robust_interval(checked: dict[str, Checked], ref: str) -> None:
    truth, result = checked[ref]
    dr = result.estimates["quality"]["dr"]
    assert dr.ci_low <= truth <= dr.ci_high, report(checked)
    assert result.n == 20_000
    assert (result.params.seed, result.params.n_resamples) == (0, 1000)


def test_v1_rests_on_the_logged_choices_and_v2_v3_on_exploration(checked: dict[str, Checked]) -> None:
    v1, v2, v3 = (checked[ref].result for ref in VERSIONS)
    # v1 takes the production policy's model on most requests; v2 and v3 mostly where production explored
    assert v1.n_matched > 0.75 * v1.n
    assert v1.ess > 4 * max(v2.ess, v3.ess)
    assert not any("no logged support" in w for w in v1.warnings)
    for cheaper in (v2, v3):
        assert cheaper.support_share < 1
        assert any("no logged support" in w for w in cheaper.warnings)
        assert any("effective sample size" in w for w in cheaper.warnings)
