"""The DuckDB store: one file, schema by numbered migrations, one connection per process.

DuckDB allows one writing process per file. Inside a process routelab keeps one connection and hands each
thread its own cursor (`Store.cursor()`); a second process gets a `StoreBusyError` naming the holder after a
few retries.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from routelab.datasets.errors import StoreBusyError, StoreError

DEFAULT_DB = "routelab.duckdb"
ENV_DB = "ROUTELAB_DB"


def resolve_db_path(cli_value: str | os.PathLike[str] | None = None) -> Path:
    """The store path: `--db`, else `$ROUTELAB_DB`, else `./routelab.duckdb`."""
    if cli_value:
        return Path(cli_value)
    env = os.environ.get(ENV_DB)
    return Path(env) if env else Path(DEFAULT_DB)


@dataclass(frozen=True)
class Migration:
    """One numbered schema migration."""

    number: int
    name: str
    sql: str


def migrations() -> list[Migration]:
    """All migrations shipped with routelab, in order."""
    out = []
    for entry in resources.files("routelab.datasets").joinpath("migrations").iterdir():
        m = re.fullmatch(r"(\d{4})_(\w+)\.sql", entry.name)
        if m:
            out.append(Migration(int(m.group(1)), m.group(2), entry.read_text(encoding="utf-8")))
    return sorted(out, key=lambda mig: mig.number)


def now_utc() -> datetime:
    """The current time, UTC, naive (as stored)."""
    return datetime.now(UTC).replace(tzinfo=None)


@contextmanager
def memory_limit(cur: Any, limit: str) -> Iterator[None]:
    """DuckDB's memory limit set to `limit` for a block, restored after.

    The limit belongs to the process's DuckDB instance (every cursor of the store), so the work of the block
    spills to disk beyond it instead of growing, and the blocks of the store it read are evicted. The setting
    reads back rounded ("18.8 GiB"): DuckDB's default is restored by RESET, not by its rounded text.
    """
    read = "SELECT current_setting('memory_limit')"
    (before,) = cur.execute(read).fetchone()
    cur.execute("RESET memory_limit")
    default = cur.execute(read).fetchone()[0] == before
    cur.execute(f"SET memory_limit = '{limit}'")
    try:
        yield
    finally:
        cur.execute("RESET memory_limit" if default else f"SET memory_limit = '{before}'")


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    """The highest migration applied to a connection's database (0 for an empty one).

    Both results are read to the end (`fetchall`): a result left pending keeps its transaction open, and an
    open transaction on the store's main connection stops DuckDB from checkpointing after any later change
    to the catalog (a cache column added by a replay): "Cannot CHECKPOINT: there are other write
    transactions active". The writes then pile up in the WAL and later reads in the process slow down.
    """
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_migrations'"
    ).fetchall()
    if not exists or not exists[0][0]:
        return 0
    rows = con.execute("SELECT max(number) FROM schema_migrations").fetchall()
    return int(rows[0][0]) if rows and rows[0][0] is not None else 0


def migrate(con: duckdb.DuckDBPyConnection, target: int | None = None) -> list[int]:
    """Apply pending migrations up to `target` (default: all), each in its own transaction.

    Returns:
        The numbers of the migrations applied.
    """
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations "
        "(number INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)"
    )
    current = schema_version(con)
    known = migrations()
    if known and current > known[-1].number:
        raise StoreError(
            f"the store is at schema version {current}, newer than this routelab knows ({known[-1].number}); "
            "upgrade routelab"
        )
    applied = []
    for mig in known:
        if mig.number <= current or (target is not None and mig.number > target):
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(mig.sql)
            con.execute("INSERT INTO schema_migrations VALUES (?, ?, ?)", [mig.number, mig.name, now_utc()])
            con.execute("COMMIT")
        except duckdb.Error as exc:
            con.execute("ROLLBACK")
            raise StoreError(f"migration {mig.number:04d}_{mig.name} failed: {exc}") from exc
        applied.append(mig.number)
    return applied


def _connect(path: Path, read_only: bool, retries: int, wait_s: float) -> duckdb.DuckDBPyConnection:
    last: Exception | None = None
    for attempt in range(retries + 1):
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise StoreError(f"{path}: cannot open the store: {exc}") from exc
            last = exc
            if attempt < retries:
                time.sleep(wait_s * (2**attempt))
    holder = re.search(r"PID (\d+)", str(last))
    who = f"process {holder.group(1)}" if holder else "another process"
    raise StoreBusyError(
        f"{path}: {who} is writing this store (DuckDB allows one writer per file); "
        "close it (for example the workbench) or pass another --db"
    ) from last


class Store:
    """An open store: one DuckDB connection for the process, a cursor per thread."""

    def __init__(self, path: Path, con: duckdb.DuckDBPyConnection, read_only: bool) -> None:
        self.path = path
        self.con = con
        self.read_only = read_only
        self._local = threading.local()

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """This thread's cursor (DuckDB connections are not shared across threads)."""
        cur = getattr(self._local, "cursor", None)
        if cur is None:
            cur = self.con.cursor()
            self._local.cursor = cur
        return cur

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A transaction on this thread's cursor: committed on success, rolled back on any error."""
        cur = self.cursor()
        cur.execute("BEGIN TRANSACTION")
        try:
            yield cur
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        cur.execute("COMMIT")

    def execute(self, sql: str, params: list[Any] | None = None) -> duckdb.DuckDBPyConnection:
        """Execute one statement on this thread's cursor; errors carry the SQL and parameters."""
        try:
            return self.cursor().execute(sql, params or [])
        except duckdb.Error as exc:
            raise StoreError(f"{exc}\n  SQL: {sql.strip()[:2000]}\n  parameters: {params!r}") from exc

    def df(self, sql: str, params: list[Any] | None = None) -> pd.DataFrame:
        """Run a query and return a DataFrame."""
        return self.execute(sql, params).df()

    def scalar(self, sql: str, params: list[Any] | None = None) -> Any:
        """Run a query and return the first column of the first row (None when no row)."""
        row = self.execute(sql, params).fetchone()
        return None if row is None else row[0]

    def close(self) -> None:
        """Close the connection."""
        self.con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_store(
    path: str | os.PathLike[str] | None = None,
    read_only: bool = False,
    retries: int = 5,
    wait_s: float = 0.2,
) -> Store:
    """Open (creating and migrating as needed) the store at `path` (see `resolve_db_path`).

    Raises:
        StoreBusyError: another process holds the write lock after the retries.
        StoreError: the file is not a DuckDB database, or a migration failed.
    """
    db = resolve_db_path(path)
    if read_only and not db.exists():
        raise StoreError(f"{db}: no store here; create one with `routelab demo` or `routelab import`")
    if not read_only:
        db.parent.mkdir(parents=True, exist_ok=True)
    con = _connect(db, read_only, retries, wait_s)
    try:
        if read_only:
            version = schema_version(con)
            latest = migrations()[-1].number
            if version < latest:
                raise StoreError(
                    f"{db}: schema version {version} is older than {latest}; "
                    "open it once read-write to upgrade"
                )
        else:
            migrate(con)
    except BaseException:
        con.close()
        raise
    return Store(db, con, read_only)
