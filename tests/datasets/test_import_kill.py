"""A process killed during an import leaves the store as it was; the rerun completes."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from routelab.datasets.importers import import_file
from routelab.datasets.store import open_store

TABLES = ("requests", "labels", "outcomes", "imports")
#: Rows of the big file: its import takes several seconds (about 80 µs a row on a 2-core machine), well past
#: the kill 1.5 s after the child started; the rerun imports it all again.
BIG_ROWS = 100_000


def counts(path: Path) -> dict[str, int]:
    with open_store(path, read_only=True) as store:
        return {t: int(store.scalar(f"SELECT count(*) FROM {t}")) for t in TABLES}


def test_an_import_killed_midway_changes_nothing_and_the_rerun_completes(tmp_path: Path) -> None:
    db = tmp_path / "kill.duckdb"
    small = tmp_path / "small.jsonl"
    small.write_text(json.dumps({"request_id": "keep-1", "prompt": "already here"}) + "\n")
    with open_store(db) as store:
        import_file(store, small, "requests", progress=False)
    before = counts(db)
    big = tmp_path / "big.jsonl"
    with big.open("w") as fh:  # prompts without token counts: the importer tokenises every one
        for i in range(BIG_ROWS):
            fh.write(
                json.dumps({"request_id": f"r{i}", "workflow": "support", "prompt": f"refund order {i} " * 8})
            )
            fh.write("\n")
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                from pathlib import Path
                from routelab.datasets.importers import import_file
                from routelab.datasets.store import open_store
                store = open_store({str(db)!r})
                print("started", flush=True)
                import_file(store, Path({str(big)!r}), "requests", progress=False)
                print("finished", flush=True)
                """
            ),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "started"
    time.sleep(1.5)
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    assert counts(db) == before
    with open_store(db) as store:
        report = import_file(store, big, "requests", progress=False)
    assert report.tables["requests"].inserted == BIG_ROWS
    assert counts(db)["requests"] == before["requests"] + BIG_ROWS
