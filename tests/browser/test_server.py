"""`routelab app` as a real server and the CLI beside it: the workbench opens the store on the first page
load; from then on a replay fails with a clear message and changes nothing, and works again once the
workbench stops."""

from __future__ import annotations

from typing import Any

import pytest

from routelab.app.cli import main
from routelab.datasets.store import open_store

from .conftest import Workbench
from .test_workbench_browser import settle


def decisions(db: Any) -> int:
    with open_store(db) as store:
        return int(store.scalar("SELECT count(*) FROM decisions WHERE router = 'acme-gateway@1'"))


def test_the_server_prints_its_address(workbench: Workbench) -> None:
    assert f"http://localhost:{workbench.url.rsplit(':', 1)[1]}" in workbench.output()


def test_the_cli_writes_until_a_page_opens_then_fails_clearly(
    workbench: Workbench, new_session: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["replay", "acme-gateway@1", "--db", str(workbench.db), "--json"]) == 0  # no page yet
    capsys.readouterr()
    session = new_session()
    session.page.goto(workbench.url)
    settle(session.page)
    session.page.get_by_text("Requests").first.wait_for()
    code = main(["replay", "acme-gateway@1", "--db", str(workbench.db)])
    err = capsys.readouterr().err
    assert code == 2
    assert "is writing this store" in err
    assert "workbench" in err
    workbench.stop()
    assert decisions(workbench.db) == 1200  # the refused replay changed nothing
    assert main(["replay", "acme-gateway@1", "--db", str(workbench.db), "--json"]) == 0
