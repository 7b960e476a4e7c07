"""Users, purge and the audit log from the CLI: hashes never plain, purges keep everything but the text."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from pathlib import Path

import pytest

from routelab.app.cli import main
from routelab.datasets import access
from routelab.datasets.purge import purge
from routelab.datasets.store import open_store
from routelab.datasets.workspace import build_demo


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("access") / "demo.duckdb"
    with open_store(path) as store:
        build_demo(store, seed=6, n_requests=400)
    return path


@pytest.fixture
def db(template: Path, tmp_path: Path) -> str:
    path = tmp_path / "demo.duckdb"
    path.write_bytes(template.read_bytes())
    return str(path)


def add(monkeypatch: pytest.MonkeyPatch, db: str, name: str, role: str, password: str) -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(password + "\n"))
    return main(["users", "add", name, "--role", role, "--password-stdin", "--db", db])


def test_users_are_stored_hashed_and_verified(
    monkeypatch: pytest.MonkeyPatch, db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert add(monkeypatch, db, "rita", "reviewer", "correct horse battery") == 0
    capsys.readouterr()
    assert main(["users", "list", "--db", db, "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(u["username"], u["role"]) for u in listed] == [("rita", "reviewer")]
    with open_store(db) as store:
        stored = store.execute("SELECT salt, password_hash FROM users").fetchone()
        assert "correct horse battery" not in str(stored)
        assert access.verify(store, "rita", "correct horse battery") == "reviewer"
        assert access.verify(store, "rita", "wrong password!") is None
        assert access.verify(store, "nobody", "correct horse battery") is None
        actions = [e["action"] for e in access.audit_events(store)]
    assert actions == ["user_add"]


@pytest.mark.parametrize(
    ("name", "role", "password", "message"),
    [
        ("bad name!", "viewer", "long enough", "user name"),
        ("ok", "viewer", "short", "at least 8"),
    ],
    ids=["name", "password"],
)
def test_bad_users_are_refused(
    monkeypatch: pytest.MonkeyPatch,
    db: str,
    capsys: pytest.CaptureFixture[str],
    name: str,
    role: str,
    password: str,
    message: str,
) -> None:
    assert add(monkeypatch, db, name, role, password) == 2
    assert message in capsys.readouterr().err


def test_remove_and_a_second_add_of_the_same_name(
    monkeypatch: pytest.MonkeyPatch, db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert add(monkeypatch, db, "ann", "annotator", "password one") == 0
    assert add(monkeypatch, db, "ann", "admin", "password two") == 2
    assert "exists" in capsys.readouterr().err
    assert main(["users", "remove", "ann", "--db", db]) == 0
    assert main(["users", "remove", "ann", "--db", db]) == 2
    with open_store(db) as store:
        assert [e["action"] for e in access.audit_events(store)] == ["user_add", "user_remove"]


def test_roles_are_ordered() -> None:
    assert access.at_least("admin", "reviewer")
    assert access.at_least("reviewer", "annotator")
    assert not access.at_least("annotator", "reviewer")
    assert not access.at_least("viewer", "annotator")


def test_purge_removes_only_old_prompt_text(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    with open_store(db) as store:
        first, last = store.execute("SELECT min(ts), max(ts) FROM requests").fetchone()
        middle = first + (last - first) / 2
        before = {
            t: store.scalar(f"SELECT count(*) FROM {t}")
            for t in ("requests", "decisions", "labels", "outcomes")
        }
        old = store.scalar("SELECT count(*) FROM requests WHERE ts < ?", [middle])
        result = purge(store, older_than=last - middle, actor="test", now=last)
        assert result.n_requests == old
        assert (
            store.scalar("SELECT count(*) FROM requests WHERE ts < ? AND prompt IS NOT NULL", [middle]) == 0
        )
        assert store.scalar("SELECT count(*) FROM requests WHERE ts >= ? AND prompt IS NULL", [middle]) == 0
        assert {t: store.scalar(f"SELECT count(*) FROM {t}") for t in before} == before
        tagged = store.scalar(
            "SELECT count(*) FROM requests WHERE prompt IS NULL AND attrs['pii_types'] IS NOT NULL"
        )
        assert tagged == old
        (event,) = [e for e in access.audit_events(store) if e["action"] == "purge"]
        assert event["details"]["requests"] == old
        assert event["actor"] == "test"


def test_purge_cli_dry_run_keep_redacted_and_bad_duration(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["purge", "--older-than", "1d", "--dry-run", "--db", db, "--json"]) == 0
    dry = json.loads(capsys.readouterr().out)
    assert dry["dry_run"] is True
    assert dry["requests"] == 400  # the demo's traffic is in 2026, long before "now"
    with open_store(db) as store:
        assert store.scalar("SELECT count(*) FROM requests WHERE prompt IS NULL") == 0
    assert main(["purge", "--older-than", "1d", "--keep-redacted", "--db", db]) == 0
    assert "recorded as audit event" in capsys.readouterr().out
    with open_store(db) as store:
        assert store.scalar("SELECT count(*) FROM requests WHERE prompt IS NULL") == 0
        masked = store.scalar("SELECT count(*) FROM requests WHERE prompt LIKE '%[email]%'")
        assert masked > 0
        assert (
            store.scalar(
                "SELECT count(*) FROM requests WHERE regexp_matches(prompt, '[a-z]+@[a-z]+\\.[a-z]+')"
            )
            == 0
        )
    assert main(["purge", "--older-than", "soon", "--db", db]) == 2
    assert "90d, 12w, 36h" in capsys.readouterr().err
    assert main(["audit", "--db", db]) == 0
    assert "purge" in capsys.readouterr().out


def test_purge_keeps_evaluations_working(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    with open_store(db) as store:
        purge(store, older_than=timedelta(days=1), actor="test")
    assert main(["eval", "acme-gateway@2", "--db", db, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["overall"]["counts"]["decisions"] == 400
