"""Eight annotators writing at once through the workbench's write path lose nothing.

The workbench keeps one Store per process and a cursor per session thread; an annotator's loop is
`queue.next_item` (lease) → `annotations.record` → `queue.release`. 8 threads × 50 judgements must leave
exactly 400 new rows, every annotation id unique, every request judged once (no lease handed out twice),
no lease left behind, and no exception in any thread.

50 writes a thread keep all eight threads interleaving for the whole run (a write takes tens of
milliseconds, each a few statements in three transactions); 500 a thread proved nothing more and took
4-5 minutes on a 2-core CI machine.
"""

from __future__ import annotations

import shutil
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from routelab.datasets import annotations, queue, replay
from routelab.datasets.annotations import Judgement
from routelab.datasets.store import open_store

THREADS, WRITES = 8, 50
REF = "acme-gateway@1"


@pytest.mark.slow  # about 20-40 s on 2 cores: the queue serialises its picks (deselect with -m "not slow")
def test_eight_threads_times_50_annotation_writes_lose_nothing(template_db: Path, tmp_path: Path) -> None:
    path = tmp_path / "busy.duckdb"
    shutil.copy(template_db, path)
    with open_store(path) as store:  # enough fresh decisions for every write to judge its own request
        store.execute(
            "INSERT INTO requests (request_id, workflow, task, region, prompt, attrs) "
            "SELECT 'bulk-' || lpad(i::VARCHAR, 5, '0'), 'support', 'refund', 'us', "
            "'I want a refund for order ' || i, MAP {} FROM range(?) t(i)",
            [THREADS * WRITES + 100],
        )
        replay.replay(store, REF)
        before = int(store.scalar("SELECT count(*) FROM annotations"))

        returned: list[list[str]] = [[] for _ in range(THREADS)]
        start = threading.Barrier(THREADS)

        def annotate(k: int) -> None:
            name = f"annotator-{k}"
            start.wait()
            for i in range(WRITES):
                item = queue.next_item(store, name, REF, strategy="random", double_share=0.0)
                assert item is not None, f"{name} found nothing to judge after {i} items"
                judgement = Judgement(
                    request_id=item.request_id,
                    router=REF,
                    annotator=name,
                    verdict="correct" if i % 3 else "unsure",
                    note=f"{k}/{i}",
                    time_spent_s=1.0,
                )
                returned[k].append(annotations.record(store, judgement))
                queue.release(store, item.request_id, REF, name)

        with ThreadPoolExecutor(max_workers=THREADS) as pool:
            futures = [pool.submit(annotate, k) for k in range(THREADS)]
        for future in futures:
            future.result()  # re-raises a thread's exception here

        written = store.df("SELECT * FROM annotations WHERE annotator LIKE 'annotator-%'")
        assert len(written) == THREADS * WRITES
        assert int(store.scalar("SELECT count(*) FROM annotations")) == before + THREADS * WRITES
        assert written["annotation_id"].is_unique
        assert set(written["annotation_id"]) == {a for ids in returned for a in ids}
        assert set(written["note"]) == {f"{k}/{i}" for k in range(THREADS) for i in range(WRITES)}
        assert written["request_id"].is_unique  # each lease went to one annotator only
        assert written["decision_path"].notna().all()
        assert int(store.scalar("SELECT count(*) FROM annotation_leases")) == 0
        current = store.scalar("SELECT count(*) FROM annotations_current WHERE annotator LIKE 'annotator-%'")
        assert current == THREADS * WRITES
