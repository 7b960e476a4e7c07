"""The workbench under Streamlit's AppTest, for every test module that drives its views."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from routelab.app.workbench_env import ENV_ANNOTATORS, ENV_DB

WORKBENCH = Path(__file__).resolve().parents[1] / "app" / "workbench.py"
#: Seconds per script run: the drift view measures every week on a cold cache.
TIMEOUT = 120


@contextmanager
def workbench(
    db: str | Path, monkeypatch: pytest.MonkeyPatch, annotators: str | None = None, timeout: float = TIMEOUT
) -> Iterator[AppTest]:
    """An AppTest of the workbench on `db` (`annotators`: the sign-in list, None: none configured).

    The store's connection is cached process-wide by the workbench: it is closed afterwards, so the next
    test (or the test itself, after the run) can open the file.
    """
    monkeypatch.setenv(ENV_DB, str(db))
    if annotators is None:
        monkeypatch.delenv(ENV_ANNOTATORS, raising=False)
    else:
        monkeypatch.setenv(ENV_ANNOTATORS, annotators)
    try:
        yield AppTest.from_file(str(WORKBENCH), default_timeout=timeout)
    finally:
        from routelab.app.views import context

        context._open.clear()


def assert_clean(at: AppTest) -> None:
    """No exception and no error box on the page."""
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
