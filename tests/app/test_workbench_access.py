"""Sign-in and roles in the workbench, enforced on the server for every view and action (AppTest)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from streamlit.testing.v1 import AppTest

from routelab.datasets import access
from routelab.datasets.store import open_store
from routelab.datasets.workspace import build_demo

from ..workbench_app import workbench

USERS = {"vika": "viewer", "ann": "annotator", "rita": "reviewer", "ada": "admin"}
PASSWORD = "long enough password"


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("access-wb") / "demo.duckdb"
    with open_store(path) as store:
        build_demo(store, seed=8, n_requests=600)
        for name, role in USERS.items():
            access.add_user(store, name, role, PASSWORD, actor="test")
    return str(path)


@pytest.fixture
def app(db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[AppTest]:
    with workbench(db, monkeypatch) as at:
        yield at


def sign_in(app: AppTest, name: str, password: str = PASSWORD) -> None:
    app.text_input(key="sign_in_user").input(name)
    app.text_input(key="sign_in_password").input(password)
    submit = next(b for b in app.button if b.label == "Sign in")
    submit.click().run()


def messages(app: AppTest) -> str:
    return " ".join(m.value for m in [*app.info, *app.error])


def test_every_view_asks_for_a_sign_in_once_users_exist(app: AppTest) -> None:
    app.run()
    assert not app.exception
    assert "Sign in" in messages(app)
    assert not app.metric  # the Overview's numbers are not shown before sign-in
    for page in ("views/annotate.py", "views/review.py", "views/compare.py", "views/drift.py"):
        app.switch_page(page).run()
        assert "Sign in" in messages(app), page


def test_a_wrong_password_is_refused(app: AppTest) -> None:
    app.run()
    sign_in(app, "rita", "not the password")
    assert "wrong password" in messages(app)
    assert not app.metric


@pytest.mark.parametrize(
    ("name", "page", "allowed"),
    [
        ("vika", "views/overview.py", True),
        ("vika", "views/annotate.py", False),
        ("ann", "views/annotate.py", True),
        ("ann", "views/review.py", False),
        ("rita", "views/review.py", True),
        ("ada", "views/review.py", True),
    ],
    ids=lambda v: str(v).replace("views/", ""),
)
def test_roles_open_the_pages_they_may(app: AppTest, name: str, page: str, allowed: bool) -> None:
    app.run()
    sign_in(app, name)
    app.switch_page(page).run()
    assert not app.exception
    refused = "needs the" in messages(app)
    assert refused is not allowed, messages(app)


def test_a_reviewer_reveals_pii_and_the_reveal_is_audited(app: AppTest, db: str) -> None:
    app.run()
    sign_in(app, "rita")
    app.switch_page("views/annotate.py").run()
    assert not app.exception
    toggle = next(t for t in app.toggle if t.label == "Reveal PII")
    toggle.set_value(True).run()
    assert not app.exception
    with open_store(db) as store:
        events = [e for e in access.audit_events(store) if e["action"] == "reveal_pii"]
    assert len(events) == 1
    assert events[0]["actor"] == "rita"


def test_an_annotator_sees_no_reveal_switch(app: AppTest) -> None:
    app.run()
    sign_in(app, "ann")
    app.switch_page("views/annotate.py").run()
    assert not app.exception
    assert not [t for t in app.toggle if t.label == "Reveal PII"]
