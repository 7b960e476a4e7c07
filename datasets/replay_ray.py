"""Replay on Ray: the SQL engine over a Parquet directory, one batch at a time on Ray Data workers.

`replay_ray` compiles the router version once (`router_core.sql.compile_sql`) in the driver. Ray Data reads
the request Parquet (`routelab export requests --parquet DIR` writes it), and `map_batches` runs the query
over each Arrow batch in an in-process DuckDB on the worker (the batch registered as a relation, the result
returned as Arrow), then writes the decisions as Parquet to the output directory. Workers need duckdb and
pyarrow only: the batch function travels by value, so routelab itself need not be installed on a cluster.

The decisions become visible to evaluators the simple way: the driver loads the output Parquet into the
store's `decisions` table in one transaction (replacing the version's previous decisions for those requests,
as `replay` does) and records the run in `replay_runs` with engine `ray`, so `eval`, `compare`, `drift`, the
queue and the workbench read a Ray run exactly like a SQL run. The Parquet stays as the run's portable output.
DuckDB loads millions of decision rows per second from Parquet, small next to the replay itself.

Ray is optional (`pip install 'routelab[ray]'`) and imported here only, inside the functions that need it.
Without `address` a local Ray instance with `num_cpus` CPUs is started and shut down afterwards; with one,
the driver joins that cluster (input and output must then be paths every node can read and write).
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from routelab.datasets import decisions as decision_store
from routelab.datasets.errors import DatasetError

if TYPE_CHECKING:
    from routelab.datasets.replay import ReplayRun

RAY_MISSING = "Ray is not installed: pip install 'routelab[ray]'"


class RayMissingError(DatasetError):
    """`--engine ray` without Ray installed."""


@dataclass(frozen=True)
class RayReplay:
    """What one Ray replay did: the registered run, and where its Parquet went."""

    run: ReplayRun
    """The run recorded in the store (engine `ray`)."""
    input_dir: str
    output_dir: str
    n_files: int
    """Decision Parquet files written."""
    bytes: int
    start_seconds: float
    """Starting (or joining) Ray: not part of the run's duration."""
    ray_seconds: float
    """Reading, deciding and writing on Ray."""
    load_seconds: float
    """Loading the decisions into the store."""
    unknown_requests: int
    """Decisions for request ids the store does not hold (import the input to evaluate them)."""

    def to_dict(self) -> dict[str, Any]:
        """The `--json` output: the run's fields, its throughput, and these."""
        out = {**self.run.__dict__, "decisions_per_s": self.run.decisions_per_s}
        return {**out, **{k: v for k, v in asdict(self).items() if k != "run"}}


def require_ray() -> Any:
    """The `ray` module with Ray Data.

    Raises:
        RayMissingError: Ray is not installed (the message says how to install it).
    """
    try:
        import ray
        import ray.data  # Ray Data comes with the ray[data] extra
    except ImportError as exc:
        raise RayMissingError(RAY_MISSING) from exc
    return ray


def batch_sql(router: Any, prices: Any, run_id: str, predicate: str = "TRUE") -> str:
    """The query each batch runs: the compiled router over the relation `batch`, as `decisions` rows."""
    from routelab.datasets.replay import REQUEST_FIELDS
    from routelab.router_core.sql import DECISION_COLUMNS, compile_sql

    source = f"(SELECT {', '.join(REQUEST_FIELDS)} FROM batch WHERE {predicate})"
    cols = ", ".join(c for c in DECISION_COLUMNS if c not in ("router", "request_id"))
    query = compile_sql(router, prices, source)
    return f"SELECT router, request_id, '{run_id}' AS run_id, {cols} FROM ({query})"


def batch_function(sql: str) -> Callable[[Any], Any]:
    """The `map_batches` function: `sql` over one Arrow batch in an in-process DuckDB, Arrow out.

    Defined in here so that Ray ships it by value: workers need duckdb and pyarrow, not routelab.
    """

    def decide(batch: Any) -> Any:
        import duckdb

        con = duckdb.connect(config={"threads": 1})  # Ray gives each task one CPU
        try:
            con.register("batch", batch)
            rel = con.sql(sql)
            return (getattr(rel, "to_arrow_table", None) or rel.arrow)()  # the name before DuckDB 1.4
        finally:
            con.close()

    return decide


def type_problem(arrow_type: Any, duckdb_type: str) -> str | None:
    """Why an Arrow column cannot stand for a request column of `duckdb_type` (None: it can)."""
    import pyarrow as pa

    t = pa.types
    text = (t.is_string, t.is_large_string, t.is_string_view)
    ok = {
        "VARCHAR": any(f(arrow_type) for f in text),
        "BIGINT": t.is_integer(arrow_type),
        "TIMESTAMP": t.is_timestamp(arrow_type) and arrow_type.tz is None,
        "MAP(VARCHAR, VARCHAR)": t.is_map(arrow_type)
        and any(f(arrow_type.key_type) for f in text)
        and any(f(arrow_type.item_type) for f in text),
    }
    if t.is_null(arrow_type) or ok.get(duckdb_type, True):
        return None
    want = {
        "TIMESTAMP": "a timestamp without time zone (UTC)",
        "MAP(VARCHAR, VARCHAR)": "a map of text to text",
    }
    return f"is {arrow_type}; the SQL engine reads {want.get(duckdb_type, duckdb_type)}"


def input_files(directory: Path) -> list[Path]:
    """The request Parquet files of `directory`, each checked for the columns the SQL engine reads.

    Checked in the driver, so a bad file fails before Ray starts, with its name and column.

    Raises:
        DatasetError: no Parquet file, or a file without a request column or with one of another type.
    """
    import pyarrow.parquet as pq

    from routelab.datasets.parquet import parquet_files
    from routelab.router_core.sql import REQUEST_COLUMNS

    if not directory.is_dir():
        raise DatasetError(f"--input {directory}: no such directory")
    files = parquet_files(directory)
    if not files:
        raise DatasetError(
            f"--input {directory}: no .parquet files; write them with "
            f"`routelab export requests --parquet {directory}`"
        )
    for file in files:
        schema = pq.read_schema(file)
        missing = [c for c, _ in REQUEST_COLUMNS if c not in schema.names]
        if missing:
            raise DatasetError(
                f"{file}: missing request column(s) {', '.join(missing)}; "
                "`routelab export requests --parquet DIR` writes every one"
            )
        for name, duckdb_type in REQUEST_COLUMNS:
            problem = type_problem(schema.field(name).type, duckdb_type)
            if problem:
                raise DatasetError(f"{file}: {name}: {problem}")
    return files


def task_error(exc: BaseException) -> str:
    """The root cause of a failed Ray task in one line (Ray's message carries the whole remote traceback)."""
    import re

    lines = str(exc).splitlines()
    causes = [ln for ln in lines if re.match(r"[\w.]+(Error|Exception): ", ln) and not ln.startswith("ray.")]
    return re.sub(r"^_?duckdb\.", "", causes[0]) if causes else (lines[0] if lines else type(exc).__name__)


def _start(ray: Any, address: str | None, num_cpus: int) -> bool:
    """Connect to `address`, or start a quiet local instance; True when this call started Ray."""
    if ray.is_initialized():
        return False
    quiet = {"include_dashboard": False, "log_to_driver": False, "logging_level": logging.ERROR}
    try:
        if address:
            ray.init(address=address, **quiet)
        else:
            ray.init(address="local", num_cpus=num_cpus, **quiet)
    except ConnectionError as exc:
        raise DatasetError(f"--address {address}: cannot connect to a Ray cluster: {exc}") from exc
    return True


def _run_ray(ray: Any, files: list[Path], output: Path, sql: str, progress: bool) -> None:
    from ray.data import DataContext

    from routelab.datasets.replay import REQUEST_FIELDS

    ctx = DataContext.get_current()
    ctx.enable_progress_bars = progress
    ctx.print_on_execution_start = False
    # quiet unless asked: a failure comes back as our error, with its root cause
    logging.getLogger("ray.data").setLevel(logging.INFO if progress else logging.CRITICAL)
    ds = ray.data.read_parquet([str(f) for f in files], partitioning=None).select_columns(REQUEST_FIELDS)
    ds = ds.map_batches(batch_function(sql), batch_format="pyarrow", batch_size=None)
    try:
        ds.write_parquet(str(output))
    except ray.exceptions.RayError as exc:
        raise DatasetError(f"the Ray replay failed: {task_error(exc)}") from exc


def _load(cur: Any, ref: str, files: list[str]) -> tuple[int, int]:
    """Replace `ref`'s decisions for the decided requests with the Parquet's; (decisions, unknown ids)."""
    if not files:
        return 0, 0
    src = "read_parquet($files)"
    total, distinct = cur.execute(
        f"SELECT count(*), count(DISTINCT request_id) FROM {src}", {"files": files}
    ).fetchone()
    if total != distinct:
        dup = cur.execute(
            f"SELECT request_id FROM {src} GROUP BY 1 HAVING count(*) > 1 ORDER BY 1 LIMIT 1",
            {"files": files},
        ).fetchone()
        raise DatasetError(
            f"request id {dup[0]!r} occurs more than once in the input; a request is decided once per run"
        )
    decision_store.delete(cur, ref, src, {"files": files})
    decision_store.insert_text(cur, src, {"files": files})
    unknown = cur.execute(
        f"SELECT count(*) FROM {src} d "
        "WHERE NOT EXISTS (SELECT 1 FROM requests r WHERE r.request_id = d.request_id)",
        {"files": files},
    ).fetchone()
    return int(total), int(unknown[0]) if unknown else 0


def replay_ray(
    store: Any,
    ref: str,
    input_dir: str | os.PathLike[str],
    output_dir: str | os.PathLike[str],
    address: str | None = None,
    where: str | None = None,
    price_table_id: str | None = None,
    num_cpus: int = 2,
    progress: bool = False,
) -> RayReplay:
    """Decide the requests of a Parquet directory on Ray, write decision Parquet, register the run.

    Args:
        store: the open store (read-write): it holds the version and prices, and receives the run.
        ref: `name@version` of a registered router version.
        input_dir: request Parquet (`routelab export requests --parquet DIR`).
        output_dir: a new or empty directory for the decision Parquet.
        address: a Ray cluster to join (default: start a local instance with `num_cpus` CPUs).
        where: a rule-language condition selecting requests (default: all).
        price_table_id: a stored price table (default: the most recent).
        num_cpus: CPUs of the local instance.
        progress: show Ray Data's progress bars.

    Raises:
        RayMissingError: Ray is not installed.
        NotFoundError: unknown version or price table.
        DatasetError: a bad input or output directory, a bad `where`, a model without a price, a request id
            twice in the input, a failed Ray task or an unreachable cluster. The store is then unchanged.
    """
    from routelab.datasets import prices as price_store
    from routelab.datasets import routers
    from routelab.datasets.parquet import parquet_files, require_empty_dir
    from routelab.datasets.replay import ReplayRun, record_run, request_filter
    from routelab.datasets.store import now_utc
    from routelab.router_core.errors import PriceError
    from routelab.router_core.identity import config_hash

    ray = require_ray()
    router = routers.get(store, ref)
    pid, table = price_store.load_stored(store, price_table_id)
    run_id = uuid.uuid4().hex[:16]
    try:
        sql = batch_sql(router, table, run_id, request_filter(where))
    except PriceError as exc:
        raise DatasetError(f"{ref} with price table {pid}: {exc}") from exc
    source, output = Path(input_dir), Path(output_dir)
    files = input_files(source)
    require_empty_dir(output, "--output")
    t_start = time.perf_counter()
    owned = _start(ray, address, num_cpus)
    started, t0 = now_utc(), time.perf_counter()
    try:
        _run_ray(ray, files, output, sql, progress)
        ray_s = time.perf_counter() - t0
    finally:
        if owned:
            ray.shutdown()
    t_load = time.perf_counter()
    written = parquet_files(output) if output.is_dir() else []
    with store.transaction() as cur:
        n, unknown = _load(cur, ref, [str(f) for f in written])
        load_s = time.perf_counter() - t_load
        duration = ray_s + load_s
        run = ReplayRun(run_id, ref, config_hash(router), pid, "ray", where, n, duration)
        record_run(cur, run, started, str(source.resolve()), str(output.resolve()))
    size = sum(f.stat().st_size for f in written)
    start_s = t0 - t_start
    return RayReplay(run, str(source), str(output), len(written), size, start_s, ray_s, load_s, unknown)
