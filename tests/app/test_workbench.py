"""The workbench's views under Streamlit's AppTest, on a small demo store: every view renders without an
exception with its key widgets, an annotation round trip reaches the store, and a review adjudicates."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
from streamlit.testing.v1 import AppTest

from routelab.datasets.annotations import Judgement, record
from routelab.datasets.store import open_store

from ..workbench_app import assert_clean as _ok
from ..workbench_app import workbench

if TYPE_CHECKING:
    from ..conftest import DemoStores


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory, demo_stores: DemoStores) -> str:
    path = tmp_path_factory.mktemp("workbench") / "demo.duckdb"
    return str(demo_stores.copy(path, seed=5, n_requests=1200))


@pytest.fixture
def app(db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[AppTest]:
    """A fresh AppTest of the workbench on the demo store, signed-in list alice and bob."""
    with workbench(db, monkeypatch, "alice,bob") as at:
        yield at


def test_overview_shows_traffic_versions_and_coverage(app: AppTest) -> None:
    app.run()
    _ok(app)
    assert app.title[0].value == "Overview"
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Requests"] == "1,200"
    assert len(app.dataframe) >= 2  # versions and coverage
    versions = app.dataframe[0].value
    assert set(versions["version"]) == {"acme-gateway@1", "acme-gateway@2", "acme-gateway@3"}


@pytest.mark.parametrize(
    ("page", "title"),
    [
        ("views/compare.py", "Compare two versions"),
        ("views/drift.py", "Drift and silent routing failures"),
        ("views/frontier.py", "Cost–quality frontier"),
        ("views/review.py", "Review disagreements"),
        ("views/annotate.py", "Annotate routing decisions"),
    ],
    ids=["compare", "drift", "frontier", "review", "annotate"],
)
def test_every_view_renders(app: AppTest, page: str, title: str) -> None:
    app.run()
    app.switch_page(page).run()
    _ok(app)
    assert app.title[0].value == title


def test_compare_shows_the_deltas_and_the_requests_behind_a_slice(app: AppTest) -> None:
    app.run()
    app.switch_page("views/compare.py").run()
    _ok(app)
    labels = [m.label for m in app.metric]
    assert labels == ["Accuracy", "Cost", "Latency p95 delta", "Flip rate"]
    assert any("Newcombe" in c.value for c in app.caption)
    assert any("Requests behind" in m.value for m in app.markdown)


def test_drift_lists_windows_and_alarm_section(app: AppTest) -> None:
    app.run()
    app.switch_page("views/drift.py").run()
    _ok(app)
    assert any(s.value.startswith("Silent routing failures") for s in app.subheader)
    windows = app.dataframe[0].value
    assert len(windows) == 8  # the demo's eight weeks


def test_frontier_places_versions_models_and_the_oracle(app: AppTest) -> None:
    app.run()
    app.switch_page("views/frontier.py").run()
    _ok(app)
    table = next(d.value for d in app.dataframe if "kind" in d.value.columns)
    assert {"router version", "single model", "baseline"} == set(table["kind"])
    oracle = table[table["name"] == "oracle"].iloc[0]
    assert oracle["quality"] >= table[table["kind"] == "single model"]["quality"].max()


def test_review_adjudicates_a_disagreement(app: AppTest, db: str) -> None:
    with open_store(db) as store:
        rid = store.scalar("SELECT min(request_id) FROM decisions WHERE router = 'acme-gateway@2'")
        record(
            store, Judgement(request_id=rid, router="acme-gateway@2", annotator="alice", verdict="correct")
        )
        record(
            store,
            Judgement(
                request_id=rid,
                router="acme-gateway@2",
                annotator="bob",
                verdict="incorrect",
                corrected={"tier": "large"},
            ),
        )
    app.run()
    app.switch_page("views/review.py").run()
    _ok(app)
    app.sidebar.selectbox(key="annotator_choice").select("alice").run()
    assert any(rid in str(o) for o in app.selectbox(key="review_item").options)
    app.radio(key="review_verdict").set_value("incorrect").run()
    app.button(key="review_submit").click().run()
    assert "needs the path" in app.error[0].value  # nothing changed yet: refused, nothing written
    app.selectbox(key="review_action").select("block").run()
    app.button(key="review_submit").click().run()
    _ok(app)
    with open_store(db) as store:
        kinds = store.execute(
            "SELECT kind, verdict FROM annotations_current WHERE request_id = ? AND annotator = 'alice'",
            [rid],
        ).fetchall()
    assert ("adjudication", "incorrect") in kinds
    # the two judgements now show as agreement on the Overview (verdicts differ: kappa/alpha below 1)
    app.switch_page("views/overview.py").run()
    _ok(app)
    assert any(s.value == "Annotator agreement" for s in app.subheader)
    alpha = next(d.value for d in app.dataframe if "alpha" in d.value.columns)
    assert "verdict" in set(alpha["component"])


def test_annotate_round_trip_with_undo(app: AppTest, db: str) -> None:
    app.run()
    app.switch_page("views/annotate.py").run()
    app.sidebar.selectbox(key="annotator_choice").select("bob").run()
    _ok(app)
    app.button(key="verdict_correct").click().run()
    _ok(app)
    with open_store(db) as store:
        judged = store.execute(
            "SELECT request_id, verdict, time_spent_s FROM annotations_current WHERE annotator = 'bob' "
            "AND kind = 'judgement' AND router = 'acme-gateway@3'"
        ).fetchall()
    assert len(judged) == 1
    assert judged[0][1] == "correct"
    assert judged[0][2] is not None
    app.button(key="undo").click().run()
    _ok(app)
    with open_store(db) as store:
        left = store.scalar(
            "SELECT count(*) FROM annotations_current WHERE annotator = 'bob' AND router = 'acme-gateway@3'"
        )
        log = store.scalar("SELECT count(*) FROM annotations WHERE annotator = 'bob' AND kind = 'undo'")
    assert left == 0
    assert log == 1  # the undo is a row of its own: nothing is deleted
    # an incorrect verdict with a correction
    app.button(key="verdict_incorrect").click().run()
    app.selectbox(key="annotate_action").select("block").run()
    app.multiselect(key="annotate_tags").select("privacy violation").run()
    app.button(key="submit_correction").click().run()
    _ok(app)
    with open_store(db) as store:
        row = store.execute(
            "SELECT verdict, corrected, reason_tags FROM annotations_current WHERE annotator = 'bob' "
            "AND router = 'acme-gateway@3'"
        ).fetchone()
    assert row[0] == "incorrect"
    assert json.loads(row[1])["action"] == "block"
    assert list(row[2]) == ["privacy violation"]
