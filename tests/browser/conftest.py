"""Browser-test fixtures: a demo store, a real `routelab app` server on it, and Debian's Chromium.

The server runs in its own process group: `routelab app` starts Streamlit as a child process, and stopping
the group stops both, so the DuckDB write lock is free again when `Workbench.stop` returns.

Without a runnable Chromium (or Playwright) the tests skip on a developer machine and fail under CI
(`CI=true`), where `.ci/run` installs Debian's `chromium` first.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from ..conftest import DemoStores

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ANNOTATORS = ("alice", "bob")
STARTUP_TIMEOUT_S = 60
STOP_TIMEOUT_S = 10
#: Tall enough that a screenshot shows the progress bar, the item and the verdict buttons together
#: (Streamlit scrolls inside its main container, so `full_page` screenshots add nothing).
VIEWPORT = {"width": 1440, "height": 1800}

#: Console errors that say nothing about the workbench:
#: - the favicon of `page_icon=":material/route:"` is fetched from fonts.gstatic.com, unreachable offline;
#: - opening a page's URL directly (`/drift`) makes Streamlit's frontend probe `/drift/_stcore/health` and
#:   `/drift/_stcore/host-config` (404) before it settles on the server's base path.
BENIGN_CONSOLE = (
    re.compile(r"^https://fonts\.gstatic\.com/"),
    re.compile(r"^http://127\.0\.0\.1:\d+/[a-z_]+/_stcore/(health|host-config)$"),
)


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def _unavailable(reason: str) -> None:
    """Skip on a developer machine; fail under CI, where the browser must be there."""
    if _in_ci():
        pytest.fail(f"browser tests cannot run under CI: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where screenshots go: `$ROUTELAB_TEST_ARTIFACTS/browser` (default `build/test-artifacts/browser`)."""
    root = Path(os.environ.get("ROUTELAB_TEST_ARTIFACTS", "build/test-artifacts"))
    path = root / "browser"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, driven by Playwright (which never downloads a browser here)."""
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is missing: apt-get install chromium")
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        _unavailable(f"playwright is not installed ({exc}): pip install -e '.[dev]'")
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
    except PlaywrightError as exc:
        playwright.stop()
        _unavailable(f"Playwright cannot launch {CHROMIUM}: {str(exc).splitlines()[0]}")
    yield chromium
    chromium.close()
    playwright.stop()


@dataclass
class Console:
    """Errors the page reported: console messages of type `error` and uncaught exceptions."""

    errors: list[str] = field(default_factory=list)
    benign: list[str] = field(default_factory=list)

    def on_console(self, message: Any) -> None:
        if message.type != "error":
            return
        url = (message.location or {}).get("url", "")
        entry = f"{message.text} ({url})" if url else message.text
        (self.benign if any(p.match(url) for p in BENIGN_CONSOLE) else self.errors).append(entry)

    def on_pageerror(self, error: Any) -> None:
        self.errors.append(f"uncaught: {error}")


@dataclass
class Session:
    """One browser context (one Streamlit session) and the console errors of its pages."""

    page: Any
    console: Console


@pytest.fixture
def new_session(browser: Any) -> Iterator[Any]:
    """A factory of fresh browser sessions (each its own context: own cookies, own Streamlit session)."""
    contexts: list[Any] = []

    def make() -> Session:
        context = browser.new_context(viewport=VIEWPORT)
        context.set_default_timeout(30_000)
        contexts.append(context)
        page = context.new_page()
        console = Console()
        page.on("console", console.on_console)
        page.on("pageerror", console.on_pageerror)
        return Session(page=page, console=console)

    yield make
    for context in contexts:
        context.close()


@pytest.fixture(scope="module")
def demo_template(tmp_path_factory: pytest.TempPathFactory, demo_stores: DemoStores) -> Path:
    """The demo store (seed 5, 1,200 requests; built once per session); each server works on a copy of it."""
    return demo_stores.copy(tmp_path_factory.mktemp("browser-demo") / "demo.duckdb", seed=5, n_requests=1200)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Workbench:
    """A running `routelab app` server on a store of its own."""

    db: Path
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        """Stop the server and Streamlit under it (its own process group); kill what outlives the timeout."""
        group = self.process.pid  # `start_new_session=True`: the group is named after the server
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGTERM)
        if not _group_gone(self.process, STOP_TIMEOUT_S):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGKILL)
            _group_gone(self.process, STOP_TIMEOUT_S)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=STOP_TIMEOUT_S)

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


def _group_gone(process: subprocess.Popen[bytes], timeout: float) -> bool:
    """Wait until no process of the server's group is left (Streamlit under it included); False on timeout."""
    group = process.pid
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        process.poll()  # reap the server itself, or its zombie would keep the group alive
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.read().decode().strip() == "ok"
    except (urllib.error.URLError, OSError):
        return False


@pytest.fixture
def workbench(demo_template: Path, tmp_path: Path) -> Iterator[Workbench]:
    """`routelab app` on a copy of the demo store, annotators alice and bob, every item double-judged."""
    db = tmp_path / "demo.duckdb"
    shutil.copy(demo_template, db)
    port = _free_port()
    log = tmp_path / "server.log"
    command = [sys.executable, "-m", "routelab.app.cli", "app", "--db", str(db), "--port", str(port)]
    for name in ANNOTATORS:
        command += ["--annotator", name]
    command += ["--double-share", "1.0"]
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command, stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )
    server = Workbench(db=db, url=f"http://127.0.0.1:{port}", process=process, log=log)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not _healthy(server.url):
            if process.poll() is not None:
                pytest.fail(f"`routelab app` exited with {process.returncode}:\n{server.output()}")
            if time.monotonic() > deadline:
                pytest.fail(f"`routelab app` not healthy after {STARTUP_TIMEOUT_S} s:\n{server.output()}")
            time.sleep(0.25)
        yield server
    finally:
        server.stop()
        print(f"--- {command} output ---\n{server.output()}")  # shown by pytest when the test failed
