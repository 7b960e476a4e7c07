"""A process killed with SIGKILL leaves a consistent store.

`tests/datasets/test_import_kill.py` kills an import and `tests/datasets/test_replay.py` a Python-engine
replay; these add the missing cases: an annotator's write loop (next_item → record → release) killed
mid-stream, and a SQL-engine replay killed while DuckDB runs its one big statement.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from routelab.datasets import annotations, queue, replay
from routelab.datasets.annotations import Judgement
from routelab.datasets.store import open_store

REF = "acme-gateway@1"
NOT_NULL = (
    "annotation_id",
    "request_id",
    "router",
    "annotator",
    "kind",
    "verdict",
    "decision_path",
    "created_at",
)


def spawn(code: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def kill(child: subprocess.Popen[str]) -> None:
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL, child.stderr.read() if child.stderr else ""


def test_annotation_writes_killed_midway_leave_complete_rows(template_db: Path, tmp_path: Path) -> None:
    path = tmp_path / "annotating.duckdb"
    shutil.copy(template_db, path)
    with open_store(path) as store:
        store.execute(
            "INSERT INTO requests (request_id, workflow, task, region, prompt, attrs) "
            "SELECT 'bulk-' || lpad(i::VARCHAR, 5, '0'), 'support', 'refund', 'us', 'refund ' || i, MAP {} "
            "FROM range(3000) t(i)"
        )
        replay.replay(store, REF)
        before = int(store.scalar("SELECT count(*) FROM annotations"))
    child = spawn(
        f"""
        from routelab.datasets import annotations, queue
        from routelab.datasets.annotations import Judgement
        from routelab.datasets.store import open_store
        store = open_store({str(path)!r})
        i = 0
        while True:  # an annotator who never stops: killed from outside
            item = queue.next_item(store, "kim", {REF!r}, strategy="random", double_share=0.0)
            note = "n" * (i % 5000)  # rows of different sizes, some large
            aid = annotations.record(store, Judgement(request_id=item.request_id, router={REF!r},
                annotator="kim", verdict="correct", note=note, reason_tags=["tag"] * (i % 7)))
            print(aid, flush=True)  # after the commit: every id printed is durable
            queue.release(store, item.request_id, {REF!r}, "kim")
            i += 1
        """
    )
    assert child.stdout is not None
    committed = [child.stdout.readline().strip() for _ in range(40)]
    time.sleep(0.3)  # let it run on, mid-transaction or not
    kill(child)
    committed += [line.strip() for line in child.stdout.read().splitlines() if line.strip()]
    assert all(committed)

    with open_store(path) as store:  # opens (replaying the WAL), read-write
        rows = store.df("SELECT * FROM annotations WHERE annotator = 'kim'")
        assert set(committed) <= set(rows["annotation_id"])  # nothing committed is lost
        assert len(rows) <= len(committed) + 1  # at most the one being printed when killed
        assert int(store.scalar("SELECT count(*) FROM annotations")) == before + len(rows)
        for column in NOT_NULL:
            assert rows[column].notna().all(), column
        for path_json, note, tags in zip(
            rows["decision_path"], rows["note"], rows["reason_tags"], strict=True
        ):
            assert json.loads(path_json)["model"]
            assert set(note) <= {"n"}
            assert list(tags) == ["tag"] * len(tags)
        current = store.df("SELECT * FROM annotations_current WHERE annotator = 'kim'")
        assert len(current) == len(rows)
        # the killed annotator comes back to a working queue: the lease left behind is theirs or none
        item = queue.next_item(store, "kim", REF, strategy="random", double_share=0.0)
        assert item is not None
        assert item.request_id not in set(rows["request_id"])
        annotations.record(
            store, Judgement(request_id=item.request_id, router=REF, annotator="kim", verdict="correct")
        )


def test_a_sql_replay_killed_midway_leaves_the_previous_decisions(template_db: Path, tmp_path: Path) -> None:
    path = tmp_path / "replaying.duckdb"
    shutil.copy(template_db, path)
    with open_store(path) as store:
        store.execute(
            "INSERT INTO requests (request_id, workflow, task, team, region, data_class, prompt, attrs) "
            "SELECT 'bulk-' || i, 'support', 'refund', 'team-' || (i % 50), CASE WHEN i % 3 = 0 THEN 'eu' "
            "ELSE 'us' END, 'internal', 'I was charged twice for invoice ' || i || ', refund please', MAP {} "
            "FROM range(1500000) t(i)"
        )
        before = store.df(f"SELECT * FROM decisions WHERE router = '{REF}' ORDER BY request_id")
        runs = store.scalar("SELECT count(*) FROM replay_runs")
    child = spawn(
        f"""
        from routelab.datasets import replay
        from routelab.datasets.store import open_store
        store = open_store({str(path)!r})
        print("started", flush=True)
        replay.replay(store, {REF!r}, engine="sql")
        print("finished", flush=True)
        """
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "started"
    time.sleep(1.0)
    kill(child)
    assert "finished" not in child.stdout.read()
    with open_store(path) as store:
        after = store.df(f"SELECT * FROM decisions WHERE router = '{REF}' ORDER BY request_id")
        assert after.astype(str).equals(before.astype(str))
        assert store.scalar("SELECT count(*) FROM replay_runs") == runs
        assert store.scalar("SELECT count(*) FROM requests") == 1_500_000 + len(before)
