"""`routelab app` checks its store and options before starting anything (the server itself: tests/browser)."""

from __future__ import annotations

from pathlib import Path

import pytest

from routelab.app.cli import main
from routelab.datasets.store import open_store


def test_app_refuses_a_missing_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["app", "--db", str(tmp_path / "nothing.duckdb")]) == 2
    assert "routelab demo" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("option", "value"), [("--double-share", "1.5"), ("--lease-minutes", "0")], ids=["share", "lease"]
)
def test_app_checks_its_options(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str, value: str
) -> None:
    db = tmp_path / "s.duckdb"
    open_store(db).close()
    assert main(["app", "--db", str(db), option, value]) == 2
    assert option in capsys.readouterr().err
