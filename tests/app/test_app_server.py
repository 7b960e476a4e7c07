"""`routelab app` as a real server: it starts on a store and answers, refuses a missing store, and a replay
from the CLI while it runs fails with a clear message and leaves the store intact."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from routelab.app.cli import main
from routelab.datasets.store import open_store
from routelab.datasets.workspace import build_demo


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(port: int, server: subprocess.Popen[bytes], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(
                f"routelab app exited with {server.returncode}: {server.stderr.read().decode()[-2000:]}"
            )  # type: ignore[union-attr]
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as resp:
                if resp.read().decode().strip() == "ok":
                    return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"routelab app did not answer on port {port} within {timeout} s")


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("server") / "demo.duckdb"
    with open_store(path) as store:
        build_demo(store, seed=2, n_requests=400)
    return path


@pytest.fixture
def server(db: Path) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "routelab.app.cli", "app", "--db", str(db), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        wait_healthy(port, proc)
        yield proc, port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_the_server_answers_and_prints_its_address(server: tuple[subprocess.Popen[bytes], int]) -> None:
    proc, port = server
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as resp:
        assert resp.status == 200
    proc.terminate()
    out, _ = proc.communicate(timeout=15)
    assert f"http://localhost:{port}" in out.decode()


def test_a_replay_works_while_no_page_is_open(server: tuple[subprocess.Popen[bytes], int], db: Path) -> None:
    """The workbench opens the store on the first page load: until then the CLI can write.

    With a page open the workbench holds DuckDB's write lock and a replay fails with a clear message instead
    (tests/browser checks that with a real browser session).
    """
    assert main(["replay", "acme-gateway@1", "--db", str(db), "--json"]) == 0
    proc, _ = server
    proc.terminate()
    proc.wait(timeout=15)
    with open_store(db) as store:
        assert store.scalar("SELECT count(*) FROM decisions WHERE router = 'acme-gateway@1'") == 400


def test_app_refuses_a_missing_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["app", "--db", str(tmp_path / "nothing.duckdb")]) == 2
    assert "routelab demo" in capsys.readouterr().err


def test_app_checks_its_options(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["app", "--db", str(db), "--double-share", "1.5"]) == 2
    assert "--double-share" in capsys.readouterr().err
